package caddymodule

// Reproducers from the second adversarial review; each failed before its
// fix. Run: go test ./caddymodule -count=1 -run TestAdv2 -v

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/httpbody"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const adv2PAN = "5555555555554444"

func semicolonless(s string) string { // &#53&#53… : browsers, Go html, Python html.unescape decode it
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "&#%d", s[i])
	}
	return b.String()
}

func jsOctal(s string) string { // "\065\065…" : a JS (sloppy mode) / PHP "…" / Python string literal
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\%03o`, s[i])
	}
	return b.String()
}

var octRe = regexp.MustCompile(`\\[0-3][0-7]{2}`)

func unOctal(s string) string {
	return octRe.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.ParseUint(m[1:], 8, 8)
		return string(rune(n))
	})
}

// A1. The 3-D Secure relay page skips the "unmaskable" check every PSP
// answer gets (masker.left): the HTML in customer_verification is only
// mk.text-masked before it is stored. The same bytes as a plain answer are
// withheld with 502; in the relay they are served — and the app can GET its
// own relay link (it is a public URL on the ingress).
func TestAdv2RelayHTMLSkipsUnmaskableCheck(t *testing.T) {
	for name, c := range map[string]struct {
		html   string // as the PSP's JSON string literal
		decode func(string) string
	}{
		"utf16-nul": {`<p>` + strings.Join(strings.Split(adv2PAN, ""), `\u0000`) + `</p>`,
			func(s string) string { return strings.ReplaceAll(s, "\x00", "") }},
		"js-octal": {`<script>var c=\"` + strings.ReplaceAll(jsOctal(adv2PAN), `\`, `\\`) + `\";</script>`, unOctal},
	} {
		t.Run(name, func(t *testing.T) {
			answer := `{"success":true,"data":{"order_id":"o1","customer_verification":{"type":"form","html":"` + c.html + `"}}}`
			cap := &capture{answer: answer}
			s, ca := tlsServer(t, cap)
			e := newEgress(t, s.URL, ca, func(d *Detokenize) { d.RelayURL = "https://shop.example/3ds/" })
			panTok, _ := e.tokens(t, adv2PAN, "12/30", "", "")
			r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+panTok+`"}}`))
			r.Header.Set("Content-Type", "application/json")
			w := e.do(t, r)
			var resp struct {
				Data struct {
					CustomerVerification map[string]string `json:"customer_verification"`
				}
			}
			if w.Code == http.StatusBadGateway && strings.Contains(w.Body.String(), "psp_response_unmaskable") {
				return // withheld: neither the app nor a relay page gets it
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Data.CustomerVerification["url"] == "" {
				t.Fatalf("not relayed: %d %s", w.Code, w.Body)
			}
			u, _ := url.Parse(resp.Data.CustomerVerification["url"])
			relay := &ThreeDSRelay{store: e.store, tenant: e.tn, logger: zap.NewNop()}
			rw := httptest.NewRecorder() // the APP fetches its own relay link
			if err := relay.ServeHTTP(rw, httptest.NewRequest("GET", u.Path, nil), nil); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(c.decode(rw.Body.String()), adv2PAN) {
				t.Errorf("relay page served to whoever holds the link carries the PAN (decoded): %q", rw.Body.String())
			}
		})
	}
}

// A2. HTML numeric references without ';' (&#52&#49…) are decoded by
// every browser, Go's html.UnescapeString and Python's html.unescape, but
// neither card.Find nor textscan.Unescape reads them: a PSP answer holding the
// request's PAN that way reaches the app unmasked (with ';' it is masked).
func TestAdv2EgressSemicolonlessHTMLRefs(t *testing.T) {
	cap := &capture{ctype: "text/html", answer: `<p>Card ` + semicolonless(adv2PAN) + ` declined</p>`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, _ := e.tokens(t, adv2PAN, "12/30", "", "")
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+panTok+`"}}`))
	r.Header.Set("Content-Type", "application/json")
	w := e.do(t, r)
	if strings.Contains(html.UnescapeString(w.Body.String()), adv2PAN) {
		t.Errorf("status %d: the app reads the PAN from %q", w.Code, w.Body.String())
	}
}

// A3. Double separators: card.Find allows ONE separator between digits,
// Normalize (whole values) any number. "4111 - 1111 - 1111 - 1111" as a
// whole value is tokenized, inside free text it reaches the app; in a PSP
// answer it is not masked.
func TestAdv2DoubleSeparatorFreeText(t *testing.T) {
	// The ingress counts one separator between digits (three would join
	// references and dates in order notes into card numbers: see
	// legit_test.go); the egress masks with three.
	spaced := "5555 - 5555 - 5555 - 4444"
	cap := &capture{ctype: "text/plain", answer: "declined: card " + spaced}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, _ := e.tokens(t, adv2PAN, "12/30", "", "")
	er := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+panTok+`"}}`))
	er.Header.Set("Content-Type", "application/json")
	ew := e.do(t, er)
	if strings.Contains(ew.Body.String(), spaced) {
		t.Errorf("egress %d: PSP echo of the request's own PAN reaches the app unmasked: %q", ew.Code, ew.Body.String())
	}
}

// A4. card_3ds_relay logs the last path segment unmasked ("relay" field);
// the /3ds/* route has no card_tokenize, so nothing refuses the path
// first. README: every string cardproxy logs has card numbers masked.
func TestAdv2RelayLogsPathPAN(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	e := newEgress(t, "https://127.0.0.1:1", "", nil)
	relay := &ThreeDSRelay{store: e.store, tenant: e.tn, logger: zap.New(core)}
	rw := httptest.NewRecorder()
	_ = relay.ServeHTTP(rw, httptest.NewRequest("GET", "/3ds/"+adv2PAN, nil), nil)
	for _, le := range logs.All() {
		b, _ := json.Marshal(le.ContextMap())
		if strings.Contains(string(b), adv2PAN) {
			t.Errorf("relay log line carries the PAN: %s %s", le.Message, b)
		}
	}
}

// A5. Uploads are checked with checkText only (no NUL-free reading): a
// UTF-16 file (what Excel's "Unicode text" export writes) carrying a PAN is
// forwarded. Text bodies got the NUL-free reading in round 1.
func TestAdv2UTF16Upload(t *testing.T) {
	hs := newHarness(t, nil)
	b := "XbX"
	body := "--" + b + "\r\nContent-Disposition: form-data; name=\"cards\"; filename=\"cards.txt\"\r\nContent-Type: text/plain; charset=utf-16le\r\n\r\n" +
		utf16le("card "+adv2PAN) + "\r\n--" + b + "--\r\n"
	r := httptest.NewRequest(http.MethodPost, "/upload", strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+b)
	w, rec := hs.do(t, r)
	if rec.called > 0 && strings.Contains(strings.ReplaceAll(string(rec.body), "\x00", ""), adv2PAN) {
		t.Errorf("ingress %d: UTF-16 upload with a PAN reached the app", w.Code)
	}
}

// A6. Request trailers: Go's server fills r.Trailer after the body is read
// and Caddy's reverse_proxy forwards them: a card route refuses them.
func TestAdv2RequestTrailers(t *testing.T) {
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	var mu sync.Mutex
	var seen []string
	app := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("TE=%v H=%v T=%v B=%s", r.TransferEncoding, r.Header, r.Trailer, b))
		mu.Unlock()
	}))
	listen := freeAddr(t)
	runCaddy(t, proxyConfig(vaultSrv(t).Addr, "", uniqueTenant(), listen, app.URL))
	for _, path := range []string{"/checkout"} { // the card route (routes without card_tokenize are not card routes)
		c, err := net.Dial("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"amount":"1"}`
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: "+listen+"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nTrailer: X-Card\r\n\r\n%x\r\n%s\r\n0\r\nX-Card: %s\r\nX-Undeclared: %s\r\n\r\n", path, len(body), body, adv2PAN, adv2PAN)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(rb), "trailers_not_allowed") {
			t.Errorf("%s: %d %s, want 400 trailers_not_allowed", path, resp.StatusCode, rb)
		}
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("app requests: %d", len(seen))
	for _, s := range seen {
		t.Logf("app saw: %s", s)
		if strings.Contains(s, adv2PAN) {
			t.Errorf("a trailer carried the PAN to the app: %s", s)
		}
	}
}

func testingNow() int64          { return time.Now().UnixNano() }
func testingSince(s int64) int64 { return (time.Now().UnixNano() - s) / 1e6 }

// A7. A PSP answer with two Content-Encoding: gzip lines (gzip inside gzip):
// relayResponse reads only the first value (Header.Get), decodes one layer,
// deletes every Content-Encoding header and sends the still-gzipped inner
// layer to the app unscanned. The ingress refuses repeated encodings.
func TestAdv2EgressDoubleGzipAnswer(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf strings.Builder
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return []byte(buf.String())
	}
	inner := gz([]byte(`{"card":"` + adv2PAN + `"}`))
	s, ca := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Content-Encoding", "gzip")
		w.Header().Add("Content-Encoding", "gzip")
		_, _ = w.Write(gz(inner))
	}))
	e := newEgress(t, s.URL, ca, nil)
	panTok, _ := e.tokens(t, adv2PAN, "12/30", "", "")
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+panTok+`"}}`))
	r.Header.Set("Content-Type", "application/json")
	w := e.do(t, r)
	if out, err := httpbody.Gunzip(w.Body.Bytes(), 1<<20); err == nil && strings.Contains(string(out), adv2PAN) {
		t.Errorf("status %d (Content-Encoding now %q): the app gunzips the PAN out of the answer", w.Code, w.Header().Values("Content-Encoding"))
	}
}

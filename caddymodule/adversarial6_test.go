package caddymodule

// Reproducers from the sixth adversarial review (card numbers in Host, the
// method and Caddy's access log; qs bracket names); each failed before its
// fix. Run: go test ./caddymodule -count=1 -run TestAdv6 -v

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adv6Caddy runs the Caddyfile.example ingress shape on plain HTTP (see
// exampleSite).
func adv6Caddy(t *testing.T) (addr string, app *merchantApp, access, all string) {
	return exampleSite(t, false)
}

// exampleSite runs the Caddyfile.example ingress shape (its access log,
// Cardproxy-* stripped, card_tokenize on every route, auto_detect on) in
// front of a recording app, with the access log and every other log
// (cardproxy's and Caddy's, DEBUG) written to files. With tlsOn the site is
// *.shop.test with `tls internal` (HTTP/2 on; certificates come
// asynchronously).
func exampleSite(t *testing.T, tlsOn bool) (addr string, app *merchantApp, access, all string) {
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	app = newMerchantApp(t)
	addr = freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	access, all = filepath.Join(dir, "access.log"), filepath.Join(dir, "all.log")
	g := globalOptions(vaultSrv(t).Addr, uniqueTenant(), "")
	g = strings.Replace(g, "admin off", fmt.Sprintf("admin off\n\tlog {\n\t\toutput file %s\n\t\tformat json\n\t\tlevel DEBUG\n\t}", all), 1)
	site, tlsLine := ":"+port, ""
	if tlsOn {
		g = strings.Replace(g, "auto_https off", "auto_https disable_redirects", 1)
		g = strings.Replace(g, "admin off", "admin off\n\tskip_install_trust\n\tstorage file_system "+t.TempDir(), 1)
		site, tlsLine = "*.shop.test:"+port, "\ttls internal"
	}
	runCaddy(t, g+fmt.Sprintf(`
%s {
	bind 127.0.0.1
%s
%s
	request_header -Cardproxy-*
	handle {
		card_tokenize {
			pan card_number
			cvc cvc
			expiry card_expiry
			holder card_holder
			format opaque
			auto_detect on
			max_body 1MiB
			max_cards 2
		}
		reverse_proxy %s
	}
}
`, site, tlsLine, exampleAccessLog(t, access), strings.TrimPrefix(app.URL, "http://")))
	return addr, app, access, all
}

// rawDo sends one raw HTTP/1.1 request and returns the status line.
func rawDo(t *testing.T, addr, req string) string {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

func fileHas(t *testing.T, path, s string) []string {
	time.Sleep(300 * time.Millisecond) // log flush
	b, _ := os.ReadFile(path)
	var hits []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			hits = append(hits, l)
		}
	}
	return hits
}

// G1. The Host header (r.Host, which Go removes from r.Header) is never
// checked: a PAN there reaches the app in Host and in the X-Forwarded-Host
// reverse_proxy adds, and Caddy's access log (request>host, unfiltered by
// the example's log block).
func TestAdv6PANInHostHeader(t *testing.T) {
	const pan = "4111111111111111"
	addr, app, access, _ := adv6Caddy(t)
	st := rawDo(t, addr, "POST /checkout HTTP/1.1\r\nHost: "+pan+"\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"amount\":\"1\"}\n")
	if seen := app.everything(); strings.Contains(string(seen), pan) {
		t.Errorf("%s: the app got the PAN: %s", st, seen)
	}
	if hits := fileHas(t, access, pan); len(hits) > 0 {
		t.Errorf("access log carries the PAN: %s", hits[0])
	}
}

// G2. The request method is not checked either: reverse_proxy forwards it
// (the app's access log, morgan/Apache, writes it); Caddy's access log too.
func TestAdv6PANAsMethod(t *testing.T) {
	const pan = "4111111111111111"
	addr, app, access, _ := adv6Caddy(t)
	st := rawDo(t, addr, pan+" /checkout HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
	if seen := app.everything(); strings.Contains(string(seen), pan) {
		t.Errorf("%s: the app got the PAN as the method: %q", st, seen)
	}
	if hits := fileHas(t, access, pan); len(hits) > 0 {
		t.Errorf("access log carries the PAN: %s", hits[0])
	}
}

// G3. A PAN in the URL path is refused (card_number_in_path), and
// cardproxy's own line masks it, but Caddy's access log — with the example's
// filter, which only strips the query — logs the refused URI in clear.
func TestAdv6RefusedPathInAccessLog(t *testing.T) {
	const pan = "4111111111111111"
	addr, app, access, _ := adv6Caddy(t)
	st := rawDo(t, addr, "GET /orders/"+pan+" HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
	if len(app.requests()) != 0 {
		t.Fatalf("passed: %s", st)
	}
	if hits := fileHas(t, access, pan); len(hits) > 0 {
		t.Errorf("%s; access log carries the PAN: %s", st, hits[0])
	}
}

// G4. qs (express.urlencoded({extended: true}), body-parser 1.20.3 / qs
// 6.13.0) reads a name that starts with '[' as its first bracket group:
// "[card_number]=…" is req.body.card_number, and "[card_number][x=…" too
// (an unclosed group is dropped). cardproxy splits them to ["",
// "card_number"] / ["", "card_number", "[x"], which no rule names. A 13-digit
// card (exempt outside named card fields) reaches the app's card field in
// clear; with auto_detect off, so do any card and the CVC.
//
//	node -e 'console.log(require("qs").parse("[card_number]=4222222222222&[cvc]=123"))'
//	→ { card_number: '4222222222222', cvc: '123' }
func TestAdv6QsLeadingBracketName(t *testing.T) {
	for name, c := range map[string]struct {
		body, secret string
		auto         bool
	}{
		"13-digit PAN, auto on":    {"%5Bcard_number%5D=4222222222222&amount=1", "4222222222222", true},
		"13-digit PAN, unclosed [": {"%5Bcard_number%5D%5Bx=4222222222222&amount=1", "4222222222222", true},
		"16-digit PAN, auto off":   {"%5Bcard_number%5D=4111111111111111&amount=1", "4111111111111111", false},
		"CVC, auto off":            {"card_number=4111111111111111&%5Bcvc%5D=739", "739", false},
	} {
		auto := c.auto
		hs := newHarness(t, func(h *Tokenize) { h.AutoDetect = &auto })
		r := newFormRequest(c.body)
		w, rec := hs.do(t, r)
		if rec.called > 0 && strings.Contains(string(rec.body), c.secret) {
			t.Errorf("%s: %d, the app (qs) reads the card field in clear: %s", name, w.Code, rec.body)
		}
	}
}

func newFormRequest(body string) *http.Request {
	r := httptest.NewRequest("POST", "/checkout", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// exampleAccessLog is the ingress `log` block of Caddyfile.example, verbatim
// but for an `output file` line: the tests check the log config users copy.
func exampleAccessLog(t *testing.T, output string) string {
	t.Helper()
	raw, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "\tlog {\n")
	j := strings.Index(s[i:], "\n\t}\n")
	if i < 0 || j < 0 {
		t.Fatal("Caddyfile.example has no site log block")
	}
	return "\tlog {\n\t\toutput file " + output + "\n" + s[i+len("\tlog {\n"):i+j] + "\n\t}"
}

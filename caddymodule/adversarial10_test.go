package caddymodule

// Reproducers from the tenth adversarial review (WebSocket tunnels on card
// routes; HTTP/2 over TLS; numbers JavaScript prints as a card). Run:
// go test ./caddymodule -count=1 -run TestAdv10 -v

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// upgradeApp answers every Upgrade request with 101 and records every byte
// it then reads from the tunnel — a shop with a WebSocket endpoint (Phoenix
// LiveView, Blazor Server, Socket.IO, Rails Action Cable, …).
type upgradeApp struct {
	ln   net.Listener
	mu   sync.Mutex
	seen bytes.Buffer
}

func newUpgradeApp(t *testing.T) *upgradeApp {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &upgradeApp{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Logf("app: %s %s %v", r.Method, r.RequestURI, r.Header)
		if r.Header.Get("Upgrade") == "" {
			b, _ := io.ReadAll(r.Body)
			a.mu.Lock()
			fmt.Fprintf(&a.seen, "%s %s %v %s\n", r.Method, r.RequestURI, r.Header, b)
			a.mu.Unlock()
			return
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 4096)
		for {
			n, err := brw.Read(buf)
			a.mu.Lock()
			a.seen.Write(buf[:n])
			a.mu.Unlock()
			if err != nil {
				return
			}
		}
	}))
	return a
}

func (a *upgradeApp) everything() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen.String()
}

// F1. An HTTP/1.1 Upgrade (WebSocket) on a card route: the GET has no
// body, card_tokenize passes it, reverse_proxy switches protocols when the
// app answers 101, and from then on every byte the client sends is tunnelled
// to the app uninspected. A LiveView/Blazor/Socket.IO checkout sends the
// typed card number and CVC that way; so can any shopper.
func TestAdv10WebSocketTunnelBypassesInspection(t *testing.T) {
	const pan = "4111111111111111"
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	app := newUpgradeApp(t)
	listen := freeAddr(t)
	runCaddy(t, globalOptions(vaultSrv(t).Addr, uniqueTenant(), "")+fmt.Sprintf(`
http://%s {
	request_header -Cardproxy-*
	handle {
		card_tokenize {
			pan card_number
			cvc cvc
			auto_detect on
		}
		reverse_proxy %s
	}
}
`, listen, app.ln.Addr()))
	c, err := net.DialTimeout("tcp", listen, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("GET /live/websocket HTTP/1.1\r\nHost: " + listen + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
	line, _ := bufio.NewReader(c).ReadString('\n')
	// (An unmasked text frame; a real client masks it, the app unmasks it.)
	msg := `{"event":"submit","card_number":"` + pan + `","cvc":"739"}`
	c.Write(append([]byte{0x81, byte(len(msg))}, msg...))
	time.Sleep(500 * time.Millisecond)
	t.Logf("status %q app %q", line, app.everything())
	if seen := app.everything(); strings.Contains(seen, pan) {
		t.Errorf("%s: the app got the PAN and CVC through the upgraded connection: %q", strings.TrimSpace(line), seen)
	}
}

// h2Caddy is an HTTPS site with `tls internal` (HTTP/2 on), the example's
// access-log filter, and a catch-all log at INFO.
func h2Caddy(t *testing.T) (addr string, app *merchantApp, access, all string) {
	addr, app, access, all = exampleSite(t, true)
	for i := 0; i < 50; i++ { // the internal CA issues the certificate asynchronously
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.shop.test", InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err == nil {
			c.Close()
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return addr, app, access, all
}

// h2Raw sends one request on a fresh HTTP/2 connection, frame by frame:
// headers as given (any case, pseudo-headers first), then data, then
// optional trailers. It returns the :status (or the error).
func h2Raw(t *testing.T, addr string, hdrs [][2]string, data string, trailers [][2]string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.shop.test", InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if c.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("no h2: %q", c.ConnectionState().NegotiatedProtocol)
	}
	c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	enc := func(hs [][2]string) []byte {
		var b bytes.Buffer
		e := hpack.NewEncoder(&b)
		for _, h := range hs {
			e.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
		}
		return b.Bytes()
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(hdrs), EndHeaders: true, EndStream: data == "" && trailers == nil})
	if data != "" {
		fr.WriteData(1, trailers == nil, []byte(data))
	}
	if trailers != nil {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(trailers), EndHeaders: true, EndStream: true})
	}
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return "read: " + err.Error()
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			hf, _ := dec.DecodeFull(f.HeaderBlockFragment())
			for _, h := range hf {
				if h.Name == ":status" {
					return h.Value
				}
			}
		case *http2.RSTStreamFrame:
			return "RST " + f.ErrCode.String()
		case *http2.GoAwayFrame:
			return "GOAWAY " + f.ErrCode.String()
		}
	}
}

// F2. HTTP/2 over TLS: pseudo-headers, header case, trailers, no length.
func TestAdv10HTTP2(t *testing.T) {
	const pan = "4111111111111111"
	addr, app, access, all := h2Caddy(t)
	base := func(extra ...[2]string) [][2]string {
		h := [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "www.shop.test"}, {":path", "/checkout"}}
		return append(h, extra...)
	}
	ct := [2]string{"content-type", "application/json"}
	body := `{"note":"x","card_number":"` + pan + `","cvc":"739"}`
	for _, c := range []struct {
		name     string
		hdrs     [][2]string
		data     string
		trailers [][2]string
	}{
		{"authority PAN", [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", pan + ".shop.test"}, {":path", "/"}}, "", nil},
		{"authority PAN + host", [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", pan + ".shop.test"}, {":path", "/"}, {"host", "www.shop.test"}}, "", nil},
		{"host header PAN", [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "www.shop.test"}, {":path", "/"}, {"host", pan}}, "", nil},
		{"no authority, host PAN", [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", pan + ".shop.test"}}, "", nil},
		{"uppercase header name", base(ct, [2]string{"X-Note", pan}), `{"a":1}`, nil},
		{"uppercase name, card value", base(ct, [2]string{"Card_Number", pan}), `{"a":1}`, nil},
		{"no content-length body", base(ct), body, nil},
		{"undeclared trailer", base(ct), `{"a":1}`, [][2]string{{"x-note", pan}}},
		{"declared trailer", base(ct, [2]string{"trailer", "x-note"}), `{"a":1}`, [][2]string{{"x-note", pan}}},
		{"trailer content-type", base([2]string{"trailer", "content-type"}), body, [][2]string{{"content-type", "text/plain"}}},
		{"short content-length", base(ct, [2]string{"content-length", "5"}), body, nil},
		{"method PAN", [][2]string{{":method", pan}, {":scheme", "https"}, {":authority", "www.shop.test"}, {":path", "/"}}, "", nil},
		{"scheme PAN", [][2]string{{":method", "GET"}, {":scheme", pan}, {":authority", "www.shop.test"}, {":path", "/"}}, "", nil},
		{"cookie crumbs", base([2]string{"cookie", "a=1"}, [2]string{"cookie", "card_number=" + pan}), "", nil},
	} {
		st := h2Raw(t, addr, c.hdrs, c.data, c.trailers)
		time.Sleep(100 * time.Millisecond)
		if seen := app.everything(); strings.Contains(string(seen), pan) {
			t.Errorf("%s: %s: the app got the PAN: %s", c.name, st, seen)
		} else {
			t.Logf("%s: %s", c.name, st)
		}
		app.mu.Lock()
		app.seen = nil
		app.mu.Unlock()
	}
	for _, f := range []string{access, all} {
		if hits := fileHas(t, f, pan); len(hits) > 0 {
			t.Errorf("%s carries the PAN: %s", filepath.Base(f), hits[0])
		}
	}
	if b, _ := os.ReadFile(access); len(b) == 0 {
		t.Error("empty access log")
	}
}

// jsString is how JavaScript's String(n) / JSON.stringify print a double
// in [1e-6, 1e21): the shortest round-trip digits, no exponent.
func jsString(lit string) string {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// F3. JSON numbers that JSON.parse reads as the card: JS (Express's
// express.json(), then String(v) / JSON.stringify(req.body)) prints the PAN.
func TestAdv10JSONNumberJSPrintsPAN(t *testing.T) {
	const pan = "4111111111111111"
	for _, lit := range []string{
		"4111111111111111.2", "4111111111111111.25", "4111111111111111.0000000001",
		"4111111111111110.8", "4111111111111111.49999", "4111111111111110.75",
		"411111111111111.1e1", "0.4111111111111111e16", "41111111111111110e-1",
		"4111111111111111e0", "-4111111111111111", "4111111111111111.000",
		"4111111111111111.3", "4111111111111111.1", "4111111111111110.6",
	} {
		js := jsString(lit)
		if !strings.Contains(strings.TrimPrefix(js, "-"), pan) {
			t.Logf("%s: JS prints %s (not the card)", lit, js)
			continue
		}
		for _, field := range []string{"note", "amount"} {
			hs := newHarness(t, nil)
			r := httptest.NewRequest("POST", "/checkout", strings.NewReader(`{"`+field+`":`+lit+`}`))
			r.Header.Set("Content-Type", "application/json")
			w, rec := hs.do(t, r)
			if rec.called > 0 && strings.Contains(string(rec.body), lit) {
				t.Errorf("%s in %q: %d, forwarded as sent; JSON.parse + String() gives %s", lit, field, w.Code, js)
			} else {
				t.Logf("%s in %q: %d %s", lit, field, w.Code, rec.body)
			}
		}
	}
}

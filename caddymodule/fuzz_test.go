package caddymodule

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
)

// FuzzIngress drives the whole ingress (real Vault) with arbitrary method,
// Content-Type and body, and asserts the promise: whatever it forwards holds
// none of the card numbers the request carried (as textscan.Cards counts them, in
// any reading; in any representation card.FindLoose decodes) and no
// cardproxy token but those it issued; whatever it refuses is a 4xx with a
// code (or 503 with Vault away), never a crash.
//
//	scripts/test.sh -run '^$' -fuzz FuzzIngress -fuzztime 60s ./caddymodule
func FuzzIngress(f *testing.F) {
	seeds := []struct{ method, ct, body string }{
		{"POST", "application/json", `{"card_number":"4111111111111111","cvc":"123","note":"hi"}`},
		{"post", "application/json; x", `{"x":{"MD":"4111111111111111"},"n":4.111111111111111e15}`},
		{"PUT", "application/x-www-form-urlencoded; charset=utf-8", "card.number=4111+1111+1111+1111&cvc[]=123&a=1;b=5555555555554444"},
		{"DELETE", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n4111111111111111\r\n--b--\r\n"},
		{"POST", "multipart/form-data; boundary=b", "--b\nContent-Disposition: form-data; name=\"x\"; filename=\"\"\n\n4111111111111111\n--b--\n"},
		{"FOO", "text/plain", "%34111111111111111"},
		{"POST", "", `{"c":"４１１１１１１１１１１１１１１１"}`},
		{"POST", "application/json", `{"4111111111111111":"x","y":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{"POST", "application/x-www-form-urlencoded", "PaRes=abc&MD=4111111111111111"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.ct, []byte(s.body))
	}
	hs := newHarness(f, func(h *Tokenize) { h.MaxBody = 64 << 10 })
	f.Fuzz(func(t *testing.T, method, ct string, body []byte) {
		if !validMethod(method) || strings.ContainsAny(ct, "\r\n\x00") {
			return
		}
		// The card numbers cardproxy counts in the request, in every
		// reading of it (textscan.Cards: as people type them, not digits inside
		// identifiers).
		var pans []string
		for _, t := range textscan.Readings(string(body)) {
			textscan.Cards(t, func(h card.Hit) bool { pans = append(pans, h.PAN); return true })
		}
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Method = method
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w, app := hs.do(t, r)
		if app.called == 0 {
			if w.Code < 400 || (w.Code > 499 && w.Code != 503) || !bytes.Contains(w.Body.Bytes(), []byte(`"error"`)) {
				t.Fatalf("refusal without a code: %d %s", w.Code, w.Body)
			}
			return
		}
		out := string(app.body)
		if httpbody.MediaKind(httpbody.Essence(ct)) == httpbody.Form {
			if fs, err := bodyrewrite.ScanForm(body, bodyrewrite.DefaultLimits); err == nil && fieldmap.Is3DSReturn(fs) {
				return // a 3-D Secure return passes byte for byte by design
			}
		}
		if len(pans) > 0 && card.ContainsLoose(out, card.OneOf(pans...)) {
			t.Fatalf("a card number of the request reached the app")
		}
		issued := app.header.Get("Cardproxy-Card-Token") + "," + app.header.Get("Cardproxy-Cvc-Token")
		for _, tok := range token.Pattern.FindAllString(textscan.Unescape(out), -1) {
			if !strings.Contains(issued, tok) {
				t.Fatalf("a token cardproxy did not issue reached the app")
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

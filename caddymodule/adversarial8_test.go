package caddymodule

// Reproducers from the eighth adversarial review (auto_detect off: numeric
// forms and CVC-named fields; preserving tokens in the path; UTF-7 text
// bodies); each failed before its fix. Run: go test ./caddymodule -count=1 -run TestAdv8 -v

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/token"
)

func adv8Send(t *testing.T, hs *harness, method, target, ctype, body string) (int, int, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w, rec := hs.do(t, r)
	return w.Code, rec.called, string(rec.body)
}

// F1. auto_detect off: "a card number outside the named fields is refused".
// A JSON number in exponent/decimal form (or a numeric string) in an unnamed
// field is not — JSON.parse, json_decode, json.loads + int() read
// 4111111111111111. With auto_detect on the same bodies are tokenized.
func TestAdv8AutoDetectOffNumericForms(t *testing.T) {
	off := false
	hs := newHarness(t, func(tk *Tokenize) { tk.AutoDetect = &off })
	for _, body := range []string{
		`{"note":4.111111111111111e15}`,
		`{"note":4111111111111110.9}`,
		`{"note":"4.111111111111111e15"}`,
		`{"card_number":"4111111111111111","note":4.111111111111111e15}`, // the request's own card, final check misses it too
	} {
		if code, called, got := adv8Send(t, hs, "POST", "/pay", "application/json", body); called > 0 {
			t.Errorf("%s: %d, app got %s", body, code, got)
		}
	}
}

// F2. preserving_tokens on: a format-preserving token in the URL path
// (POST /saved-cards/{token}/charge) reaches the app; checkPath only looks
// for opaque tokens. The query, headers and body values refuse the same.
func TestAdv8PreservingTokenInPath(t *testing.T) {
	hs := newHarness(t, nil)
	on := true
	hs.app.PreservingTokens = &on
	tok := "0412345678901234"
	if !token.IsPreserving(tok) {
		t.Fatal("not preserving-shaped")
	}
	if code, called, _ := adv8Send(t, hs, "GET", "/pay?saved="+tok, "", ""); called > 0 {
		t.Fatalf("query control passed: %d", code)
	}
	for _, target := range []string{"/saved-cards/" + tok + "/charge", "/saved-cards/" + tok[:4] + "-" + tok[4:] + "/charge"} {
		if code, called, _ := adv8Send(t, hs, "POST", target, "application/json", `{"amount":1000}`); called > 0 {
			t.Errorf("%s: %d, the app got a preserving token in its path", target, code)
		}
	}
}

// F3. text/plain; charset=utf-7 is scanned as raw bytes, but express.text()
// (body-parser → iconv-lite) and Django's request.encoding honour the
// charset: the app reads {"note":"4111111111111111","cvc":"739"}.
func TestAdv8UTF7TextBody(t *testing.T) {
	hs := newHarness(t, nil)
	for _, body := range []string{
		"+ADQAMQAxADEAMQAxADEAMQAxADEAMQAxADEAMQAxADE-",
		`{"note":"+ADQAMQAxADEAMQAxADEAMQAxADEAMQAxADEAMQAxADE-"}`,
		"cvc+AD0ANwAzADk-",
	} {
		if code, called, _ := adv8Send(t, hs, "POST", "/pay", "text/plain; charset=utf-7", body); called > 0 {
			t.Errorf("%q: %d, passed", body, code)
		}
	}
}

// F4. auto_detect off: a CVC in a field named like a CVC (cvv) that is not
// the configured CVC field passes to the app; the same cvv=739 in the
// query, a header or a text body is refused.
func TestAdv8AutoDetectOffCVCField(t *testing.T) {
	off := false
	hs := newHarness(t, func(tk *Tokenize) { tk.AutoDetect = &off; tk.CVC = []string{"card_cvc"} })
	for _, c := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "card_number=4111111111111111&cvv=739"},
		{"application/json", `{"card_number":"4111111111111111","card_cvc":"739","cvv":"739"}`},
	} {
		if code, called, got := adv8Send(t, hs, "POST", "/pay", c.ct, c.body); called > 0 {
			t.Errorf("%s: %d, app got %s", c.body, code, got)
		}
	}
}

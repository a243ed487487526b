package caddymodule

// Reproducers from the ninth adversarial review (JavaScript's shortest-double
// reading; Connection naming the metadata headers); each failed before its
// fix. Run:
// go test ./caddymodule -count=1 -run TestAdv9 -v

import (
	"net/http"
	"strings"
	"testing"
)

// F1. A 19-digit JSON number one away from a Luhn-valid 19-digit card that
// ends in "000": cardproxy reads it exactly (4111111111111117001, Luhn-invalid)
// and as the exact double (4111111111111116800, Luhn-invalid), so it passes.
// JavaScript reads the same double and prints its *shortest* form padded with
// zeros: JSON.parse + String()/JSON.stringify/template literal in Express give
// "4111111111111117000" — a Luhn-valid 19-digit Visa. Same for a numeric string
// (Number("…")). UnionPay 19-digit cards (62…) behave the same.
func TestAdv9JSShortestDouble(t *testing.T) {
	hs := newHarness(t, nil)
	for _, c := range []struct{ ctype, body string }{
		{"application/json", `{"order_ref":4111111111111117001}`},
		{"application/json", `{"order_ref":"4111111111111117001"}`},
		{"application/x-www-form-urlencoded", `order_ref=4111111111111117001`},
		{"application/json", `{"order_ref":4.111111111111117001e18}`},
	} {
		// Tokenized or refused; never the number as sent.
		if code, called, got := adv8Send(t, hs, "POST", "/pay", c.ctype, c.body); called > 0 && (strings.Contains(got, "4111111111111117") || strings.Contains(got, "4.111111111111117")) {
			t.Errorf("%s: %d, app got %s (JS reads 4111111111111117000, a Luhn-valid Visa)", c.body, code, got)
		}
	}
	if code, called, _ := adv8Send(t, hs, "GET", "/pay?ref=4111111111111117001", "", ""); called > 0 {
		t.Errorf("query: %d, app got it", code)
	}
}

// F2. "Connection: Cardproxy-Card-Token, Cardproxy-Tokenized": reverse_proxy
// drops the headers the client's Connection header names — after
// card_tokenize set them — so the app gets tokens in the body but none of the
// metadata headers the README says it can trust (the shopper decides which
// ones it sees).
func TestAdv9ConnectionStripsMetadata(t *testing.T) {
	addr, app, _, _ := adv6Caddy(t)
	body := `{"card_number":"4111111111111111","cvc":"737"}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/pay", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connection", "Cardproxy-Card-Token, Cardproxy-Tokenized, Cardproxy-Cvc-Token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.seen) != 1 {
		t.Fatalf("status %d, app saw %d", resp.StatusCode, len(app.seen))
	}
	h := app.seen[0].Header
	for _, k := range []string{"Cardproxy-Card-Token", "Cardproxy-Tokenized", "Cardproxy-Cvc-Token"} {
		if h.Get(k) == "" {
			t.Errorf("app did not get %s (body: %s)", k, app.seen[0].Body)
		}
	}
}

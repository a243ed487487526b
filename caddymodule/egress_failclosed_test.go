package caddymodule

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Tokens are replaced only in the route's card fields: anywhere else (a
// description, a return URL the PSP reflects into its 3-D Secure form, a
// field name, the query) the request is refused and nothing reaches the PSP.
func TestEgressTokensOnlyInCardFields(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, cvcTok := e.tokens(t, "5555555555554444", "12/30", "Jan", "739")
	for name, body := range map[string]string{
		"pan token in term_url":    `{"gateway_info":{"card_number":"` + panTok + `","term_url":"` + panTok + `"}}`,
		"cvc token in description": `{"description":"` + cvcTok + `","gateway_info":{"card_number":"` + panTok + `","card_cvc":"` + cvcTok + `"}}`,
		"pan token in free text":   `{"description":"order for ` + panTok + `"}`,
		"cvc token in pan field":   `{"gateway_info":{"card_number":"` + cvcTok + `"}}`,
		"token as a key":           `{"` + panTok + `":1}`,
	} {
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := e.do(t, r)
		var er struct{ Error string }
		_ = json.Unmarshal(w.Body.Bytes(), &er)
		if w.Code != 400 || er.Error != "token_outside_card_field" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/v1/json/orders?ref="+panTok, nil)
	if w := e.do(t, r); w.Code != 400 {
		t.Errorf("token in query: %d %s", w.Code, w.Body)
	}
	if n := len(cap.got()); n != 0 {
		t.Fatalf("the PSP received %d refused requests", n)
	}
}

// Whatever the PSP echoes — headers, Location, 3xx bodies, HTML, escaped or
// spaced digits, the CVC — the app gets it masked.
func TestEgressAnswerNeverCarriesTheRequestsCardData(t *testing.T) {
	const pan, cvc = "5555555555554444", "739"
	echo := map[string]string{
		"X-Echo":   "card=" + pan + "&cvc=" + cvc,
		"Location": "https://shop.example/ok?c=5555%205555%205555%204444",
	}
	for name, c := range map[string]struct {
		status        int
		ctype, answer string
	}{
		"json cvc echo":   {200, "application/json", `{"card_cvc":"` + cvc + `","description":"cvc ` + cvc + `","amount":739}`},
		"3xx body":        {302, "text/html", `<a href="/x?pan=` + pan + `">moved</a>`},
		"html escaped":    {200, "text/html", `<input value="&#53;555555555554444"> cvc ` + cvc},
		"json \\u digits": {200, "application/json", `{"n":"\u0035555 5555 5555 4444"}`},
	} {
		t.Run(name, func(t *testing.T) {
			cap := &capture{status: c.status, ctype: c.ctype, answer: c.answer, header: echo}
			w := payThroughEgress(t, cap, pan, cvc)
			if w.Code != c.status {
				t.Fatalf("status %d %s", w.Code, w.Body)
			}
			if got := string(cap.got()[0].Body); !strings.Contains(got, pan) || !strings.Contains(got, `"`+cvc+`"`) {
				t.Fatalf("PSP did not get the card data: %s", got)
			}
			all := answerText(w)
			for _, bad := range []string{pan, "5555 5555 5555 4444", "5555%205555", "=" + cvc, " " + cvc, `"` + cvc + `"`, "&#53;555555555554444"} {
				if strings.Contains(all, bad) {
					t.Errorf("the app got %q back:\n%s", bad, all)
				}
			}
			if strings.Contains(c.answer, `"amount":739`) && !strings.Contains(all, `"amount":739`) {
				t.Errorf("a number that merely equals the CVC was masked: %s", all)
			}
		})
	}
}

// answerText is everything the app gets back: body and headers.
func answerText(w *httptest.ResponseRecorder) string {
	all := w.Body.String()
	for k, vs := range w.Header() {
		all += "\n" + k + ": " + strings.Join(vs, ",")
	}
	return all
}

// payThroughEgress sends a MultiSafepay order with the tokens of pan and cvc
// through a card_detokenize whose upstream answers as cap says.
func payThroughEgress(t *testing.T, cap *capture, pan, cvc string) *httptest.ResponseRecorder {
	t.Helper()
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, cvcTok := e.tokens(t, pan, "12/30", "", cvc)
	body := `{"gateway_info":{"card_number":"` + panTok + `","card_cvc":"` + cvcTok + `"}}`
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return e.do(t, r)
}

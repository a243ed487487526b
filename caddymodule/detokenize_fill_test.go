package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEgressFillsExpiryAndHolder(t *testing.T) {
	cap := &capture{answer: `{"success":true,"data":{}}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, _ := e.tokens(t, "5500000000000004", "07/2031", "A. Shopper", "")
	body := `{"type":"direct","gateway_info":{"card_number":"` + panTok + `","card_expiry_date":"` + panTok + `","card_holder_name":null}}`
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if w := e.do(t, r); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := `{"type":"direct","gateway_info":{"card_number":"5500000000000004","card_expiry_date":"3107","card_holder_name":"A. Shopper"}}`
	if got := string(cap.got()[0].Body); got != want {
		t.Fatalf("PSP got %s\nwant %s", got, want)
	}
}

// A token in an expiry field is validated like any other and fills in its own
// card's expiry, not another card's.
func TestEgressExpiryTokenIsItsOwnCard(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	tokA, _ := e.tokens(t, "4111111111111111", "01/31", "", "")
	tokB, _ := e.tokens(t, "5500000000000004", "09/32", "", "")
	body := `{"gateway_info":{"card_number":"` + tokA + `","card_expiry_date":"` + tokB + `"}}`
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if w := e.do(t, r); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got := string(cap.got()[0].Body); got != `{"gateway_info":{"card_number":"4111111111111111","card_expiry_date":"3209"}}` {
		t.Fatalf("PSP got %s", got)
	}
	r = httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(
		`{"gateway_info":{"card_number":"`+tokA+`","card_expiry_date":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}}`))
	r.Header.Set("Content-Type", "application/json")
	if w := e.do(t, r); w.Code != 400 || !strings.Contains(w.Body.String(), "unknown_token") {
		t.Fatalf("unknown token in an expiry field: %d %s", w.Code, w.Body)
	}
	if len(cap.got()) != 1 {
		t.Fatal("request with an unknown token reached the PSP")
	}
}

// TestEgressExpiryUnknownKeepsCVC: a refusal found from the cards (an expiry
// field holding a token whose card has no expiry) comes before any CVC is
// used up: the CVC token still works afterwards.
func TestEgressExpiryUnknownKeepsCVC(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, cvcTok := e.tokens(t, "4111111111111111", "", "", "739")
	send := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return e.do(t, r)
	}
	w := send(`{"gateway_info":{"card_number":"` + panTok + `","card_cvc":"` + cvcTok + `","card_expiry_date":"` + panTok + `"}}`)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `"error":"expiry_unknown"`) || len(cap.got()) != 0 {
		t.Fatalf("%d %s; PSP got %d", w.Code, w.Body, len(cap.got()))
	}
	w = send(`{"gateway_info":{"card_number":"` + panTok + `","card_cvc":"` + cvcTok + `"}}`)
	if w.Code != http.StatusOK || len(cap.got()) != 1 || !strings.Contains(string(cap.got()[0].Body), `"card_cvc":"739"`) {
		t.Fatalf("CVC used up by the refused request: %d %s", w.Code, w.Body)
	}
}

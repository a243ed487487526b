package caddymodule

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// A shopper who knows only someone's card number cannot borrow what the card
// owner stored with it: another expiry or holder is another token, and the
// egress fills in only what that token's own shopper sent.
func TestDedupeCannotBorrowAnotherShoppersData(t *testing.T) {
	hs := newHarness(t, nil)
	tokenOf := func(body string) string {
		r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w, app := hs.do(t, r)
		var got struct {
			CardNumber string `json:"card_number"`
		}
		if w.Code != 200 || json.Unmarshal(app.body, &got) != nil {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		return got.CardNumber
	}
	owner := tokenOf(`{"card_number":"5555555555554444","card_expiry":"12/30","card_holder":"Card Owner"}`)
	if again := tokenOf(`{"card_number":"5555555555554444","card_expiry":"12/30","card_holder":"Card Owner"}`); again != owner {
		t.Fatalf("the same card data was not deduplicated")
	}
	thief := tokenOf(`{"card_number":"5555555555554444"}`)
	poison := tokenOf(`{"card_number":"5555555555554444","card_expiry":"01/20","card_holder":"X"}`)
	if thief == owner || poison == owner || thief == poison {
		t.Fatalf("different card data shared a token")
	}

	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	e.tn, e.h.tenant = hs.tn, hs.tn
	pay := func(tok string) string {
		body := `{"gateway_info":{"card_number":"` + tok + `","card_expiry_date":"","card_holder_name":""}}`
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if w := e.do(t, r); w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		got := cap.got()
		return string(got[len(got)-1].Body)
	}
	if got := pay(thief); strings.Contains(got, "3012") || strings.Contains(got, "Card Owner") {
		t.Fatalf("the thief's payment carried the owner's data: %s", got)
	}
	if got := pay(owner); !strings.Contains(got, `"card_expiry_date":"3012"`) || !strings.Contains(got, "Card Owner") {
		t.Fatalf("the owner's payment lost its data after the poisoning attempt: %s", got)
	}
}

// `request_header -Cardproxy-*` keeps client-sent Cardproxy-* headers from
// every route of the site, also those without card_tokenize.
func TestCardproxyHeadersStrippedOnEveryRoute(t *testing.T) {
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	app := newMerchantApp(t)
	listen := freeAddr(t)
	runCaddy(t, globalOptions(vaultSrv(t).Addr, uniqueTenant(), "")+`
http://`+listen+` {
	request_header -Cardproxy-*
	handle /pages/* {
		reverse_proxy `+strings.TrimPrefix(app.URL, "http://")+`
	}
}
`)
	req, _ := http.NewRequest(http.MethodGet, "http://"+listen+"/pages/x", nil)
	req.Header.Set("Cardproxy-Card-Token", "cp_pan_forgedforgedforgedforged")
	req.Header.Set("cardproxy-tokenized", "cards=1")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	seen := app.requests()
	if len(seen) != 1 {
		t.Fatalf("app saw %d requests", len(seen))
	}
	for k := range seen[0].Header {
		if strings.HasPrefix(strings.ToLower(k), "cardproxy-") {
			t.Errorf("client-sent %s reached the app", k)
		}
	}
}

// Format-preserving tokens are detokenized only where they are in use (an
// ingress of the config issues them, or preserving_tokens is set); elsewhere
// their shape — that of many phone numbers and barcodes — is plain data, on
// both legs.
func TestPreservingTokensOnlyWhereInUse(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	toks, err := e.store.Tokenize(t.Context(), e.tn, token.FormatPreserveLast4, []card.Card{{PAN: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"gateway_info":{"card_number":"` + toks[0].Token + `"}}`
	send := func() string {
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if w := e.do(t, r); w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		got := cap.got()
		return string(got[len(got)-1].Body)
	}
	if got := send(); got != body {
		t.Fatalf("a preserving-shaped value was detokenized with preserving tokens off: %s", got)
	}
	on := true
	e.app.PreservingTokens = &on
	if got := send(); !strings.Contains(got, "4111111111111111") {
		t.Fatalf("preserving_tokens on: not detokenized: %s", got)
	}

	hs := newHarness(t, nil) // opaque tokens only
	r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(`{"phone":"0031612345678","ean":"0012345678905"}`))
	r.Header.Set("Content-Type", "application/json")
	if w, app := hs.do(t, r); w.Code != 200 || app.called != 1 {
		t.Fatalf("phone and barcode refused without preserving tokens: %d %s", w.Code, w.Body)
	}
}

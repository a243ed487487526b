package egress

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
)

// These tests run the egress core without Vault: Plan on a request body,
// then Apply with the card data a lookup would return, and the answer's
// masking.

var (
	panTok = token.PANPrefix + strings.Repeat("P", 24)
	cvcTok = token.CVCPrefix + strings.Repeat("C", 24)
)

func mspConfig(preserving bool) *Config {
	p := fieldmap.Presets["multisafepay"]
	return &Config{Rules: fieldmap.Compile(p.Fields, nil), Preset: p, Preserving: func() bool { return preserving }}
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

func secrets(c card.Card, cvc string) Secrets {
	return Secrets{cards: map[string]card.Card{panTok: c}, cvcs: map[string]string{cvcTok: cvc}, PANs: []string{c.PAN}, CVCs: []string{cvc}}
}

func TestPlanAndApply(t *testing.T) {
	c := mspConfig(false)
	body := `{"type":"direct","gateway_info":{"card_number":"` + panTok + `","card_cvc":"` + cvcTok +
		`","card_expiry_date":"","card_holder_name":null}}`
	p, rerr := c.Plan(jsonHeader(), []byte(body))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !slices.Equal(p.cards, []string{panTok}) || !slices.Equal(p.cvcs, []string{cvcTok}) {
		t.Fatalf("plan: cards %v, cvcs %v", p.cards, p.cvcs)
	}
	out, rerr := c.Apply(p, secrets(card.Card{PAN: "4111111111111111", Expiry: "12/30", Holder: "A B"}, "123"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	want := `{"type":"direct","gateway_info":{"card_number":"4111111111111111","card_cvc":"123","card_expiry_date":"3012","card_holder_name":"A B"}}`
	if string(out) != want {
		t.Errorf("PSP gets\n%s\nwant\n%s", out, want)
	}
}

func TestPlanRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		want           refusal.Code
	}{
		{"PAN token in a description", "application/json", `{"description":"` + panTok + `"}`, refusal.TokenOutsideCardField},
		{"CVC token in the card number field", "application/json", `{"gateway_info":{"card_number":"` + cvcTok + `"}}`, refusal.TokenOutsideCardField},
		{"token in a key", "application/json", `{"` + panTok + `":1}`, refusal.TokenOutsideCardField},
		{"token inside a URL", "application/json", `{"payment_options":{"redirect_url":"https://x/?t=` + panTok + `"}}`, refusal.TokenOutsideCardField},
		{"token in an unparsed body", "text/plain", panTok, refusal.UnsupportedMediaType},
		{"broken JSON", "application/json", `{"a":`, refusal.MalformedBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rerr := mspConfig(false).Plan(http.Header{"Content-Type": {tc.ct}}, []byte(tc.body))
			if rerr == nil || rerr.Code != tc.want {
				t.Fatalf("got %v, want %s", rerr, tc.want)
			}
		})
	}
	// Format-preserving tokens are detokenized only when in use, and only in
	// card number fields.
	pres := `{"gateway_info":{"card_number":"0412345678901234"}}`
	if p, _ := mspConfig(false).Plan(jsonHeader(), []byte(pres)); !p.Empty() {
		t.Error("preserving-shaped value planned with preserving tokens off")
	}
	if p, _ := mspConfig(true).Plan(jsonHeader(), []byte(pres)); p.Empty() {
		t.Error("preserving token not planned with preserving tokens on")
	}
}

// TestFills: expiry and holder fields take the card's data, formatted as
// the preset says; an expiry field holding a token whose card has no expiry
// is refused (Exchange runs this before any CVC is used up).
func TestFills(t *testing.T) {
	c := mspConfig(false)
	body := `{"gateway_info":{"card_number":"` + panTok + `","card_expiry_date":"` + panTok + `"}}`
	p, rerr := c.Plan(jsonHeader(), []byte(body))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if _, rerr := c.fills(p, secrets(card.Card{PAN: "4111111111111111"}, "")); rerr == nil || rerr.Code != refusal.ExpiryUnknown {
		t.Fatalf("no expiry stored: %v", rerr)
	}
	out, rerr := c.Apply(p, secrets(card.Card{PAN: "4111111111111111", Expiry: "0731"}, ""))
	if rerr != nil || string(out) != `{"gateway_info":{"card_number":"4111111111111111","card_expiry_date":"3107"}}` {
		t.Fatalf("%s (%v)", out, rerr)
	}
	adyen := fieldmap.Presets["adyen"]
	ca := &Config{Rules: fieldmap.Compile(adyen.Fields, nil), Preset: adyen, Preserving: func() bool { return false }}
	p, _ = ca.Plan(jsonHeader(), []byte(`{"paymentMethod":{"number":"`+panTok+`","expiryMonth":"","expiryYear":null,"holderName":""}}`))
	out, rerr = ca.Apply(p, secrets(card.Card{PAN: "4111111111111111", Expiry: "03/30", Holder: "J Doe"}, ""))
	if rerr != nil || string(out) != `{"paymentMethod":{"number":"4111111111111111","expiryMonth":"03","expiryYear":"2030","holderName":"J Doe"}}` {
		t.Fatalf("adyen: %s (%v)", out, rerr)
	}
}

func TestAnswerMasking(t *testing.T) {
	c := mspConfig(false)
	s := secrets(card.Card{PAN: "4111111111111111"}, "739")
	for _, tc := range []struct {
		name, kind, body, want string
	}{
		{"JSON echo", "application/json", `{"card":"4111111111111111","n":5555555555554444,"cvc":"739","amount":739}`,
			`{"card":"************1111","n":"************4444","cvc":"***","amount":739}`},
		{"text", "text/html", "<p>4111 1111 1111 1111 cvc 739</p>", "<p>**** **** **** 1111 cvc ***</p>"},
		{"no card data", "application/json", `{"status":"completed"}`, `{"status":"completed"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := c.NewMasker(s)
			a, rerr := m.Answer([]byte(tc.body), httpbody.MediaKind(tc.kind), false)
			if rerr != nil {
				t.Fatal(rerr)
			}
			out, rerr := a.Bytes(nil)
			if rerr != nil || string(out) != tc.want {
				t.Errorf("got %s (%v), want %s", out, rerr, tc.want)
			}
		})
	}
	// What masking cannot reach withholds the answer.
	m := c.NewMasker(s)
	a, rerr := m.Answer([]byte("4\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x00"), httpbody.Other, false)
	if rerr == nil {
		_, rerr = a.Bytes(nil)
	}
	if rerr == nil || rerr.Code != refusal.PSPResponseUnmaskable {
		t.Fatalf("UTF-16 echo: %v", rerr)
	}
	// Headers: a Location echo is masked, a header name with the card dropped.
	h := http.Header{"Location": {"https://shop/return?pan=4111111111111111&cvc=739"}, "X-4111111111111111": {"1"}}
	if rerr := c.NewMasker(s).Headers(h); rerr != nil || len(h) != 1 || strings.Contains(h.Get("Location"), "4111111111111111") ||
		strings.Contains(h.Get("Location"), "739") {
		t.Errorf("headers %v (%v)", h, rerr)
	}
}

func TestAnswerRelays(t *testing.T) {
	c := mspConfig(false)
	body := `{"success":true,"data":{"order_id":"1","customer_verification":{"type":"form","html":"<form action=https://acs/>PAN 4111111111111111</form>"}}}`
	a, rerr := c.NewMasker(secrets(card.Card{PAN: "4111111111111111"}, "739")).Answer([]byte(body), httpbody.JSON, true)
	if rerr != nil || len(a.Relays) != 1 {
		t.Fatalf("relays %d (%v)", len(a.Relays), rerr)
	}
	if html := a.Relays[0].Redirect.HTML; strings.Contains(html, "4111111111111111") || !strings.Contains(html, "1111") {
		t.Errorf("relay not masked: %s", html)
	}
	out, rerr := a.Bytes([]string{"https://shop/3ds/cp_3ds_x"})
	if rerr != nil || string(out) != `{"success":true,"data":{"order_id":"1","customer_verification":{"type":"redirect","url":"https://shop/3ds/cp_3ds_x"}}}` {
		t.Errorf("with link: %s (%v)", out, rerr)
	}
	// Not stored: the redirect passes, masked.
	out, rerr = a.Bytes([]string{""})
	if rerr != nil || strings.Contains(string(out), "4111111111111111") || !strings.Contains(string(out), `"type":"form"`) {
		t.Errorf("without link: %s (%v)", out, rerr)
	}
}

// TestAnswerRelayCVCLeft: a CVC the masking cannot reach inside a relayed
// redirect (full-width digits, a key) withholds the answer: the relay page
// is public. (Before the egress core, fields inside a relayed object skipped
// this check, and the page served the CVC.)
func TestAnswerRelayCVCLeft(t *testing.T) {
	c := mspConfig(false)
	for _, data := range []string{`"MD":"１２３"`, `"cvc 123":"x"`} {
		body := `{"resultCode":"RedirectShopper","action":{"type":"redirect","method":"POST","url":"https://acs.example/acs",` +
			`"data":{"PaReq":"xyz",` + data + `,"TermUrl":"https://shop/ret"}}}`
		_, rerr := c.NewMasker(secrets(card.Card{PAN: "4111111111111111"}, "123")).Answer([]byte(body), httpbody.JSON, true)
		if rerr == nil || rerr.Code != refusal.PSPResponseUnmaskable {
			t.Errorf("%s: %v", data, rerr)
		}
	}
}

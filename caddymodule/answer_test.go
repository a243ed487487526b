package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestEgressMasksResponses(t *testing.T) {
	cases := []struct{ ctype, answer, want string }{
		{"application/json", `{"data":{"card":"4111111111111111","n":5500000000000004,"note":"card 4111 1111 1111 1111 ok","last4":1111,"payment_url":"https://psp/acs/1"}}`,
			`{"data":{"card":"************1111","n":"************0004","note":"card **** **** **** 1111 ok","last4":1111,"payment_url":"https://psp/acs/1"}}`},
		{"text/plain", "declined 4111-1111-1111-1111 sorry", "declined ****-****-****-1111 sorry"},
		{"application/x-www-form-urlencoded", "a=1&pan=4111111111111111", "a=1&pan=************1111"},
		{"text/html", "<p>4111111111111111</p>", "<p>************1111</p>"},
		{"application/xml", "<pan>4111111111111111</pan>", "<pan>************1111</pan>"},
		{"application/octet-stream", "\x00 4111111111111111 \x01", "\x00 ************1111 \x01"},
		{"text/plain", "card 5555555555554444 1230", "card ***************4 1230"}, // a window ending in 1230 overlaps: one block
		{"application/json", `{"4111111111111111":1,"mir":"2200000000000004","e":"\u0034111111111111111"}`, `{"************1111":1,"mir":"************0004","e":"************1111"}`},
	}
	for _, c := range cases {
		t.Run(c.ctype, func(t *testing.T) {
			cap := &capture{ctype: c.ctype, answer: c.answer}
			s, ca := tlsServer(t, cap)
			e := newEgress(t, s.URL, ca, nil)
			r := httptest.NewRequest(http.MethodGet, "/v1/json/orders/1", nil)
			w := e.do(t, r)
			if w.Body.String() != c.want {
				t.Fatalf("app got %s\nwant       %s", w.Body, c.want)
			}
			if w.Header().Get("Content-Length") != "" && w.Header().Get("Content-Length") != fmt.Sprint(len(c.want)) {
				t.Errorf("Content-Length %s", w.Header().Get("Content-Length"))
			}
		})
	}
}

func TestEgressRelay3DS(t *testing.T) {
	sim, s, ca := startSim(t)
	e := newEgress(t, s.URL, ca, func(d *Detokenize) {
		d.Preset = "adyen"
		d.APIKey = simKey
		d.RelayURL = "https://shop.example/3ds/"
	})
	panTok, cvcTok := e.tokens(t, "4761340000000019", "03/30", "J Doe", "737")
	body := `{"amount":{"currency":"EUR","value":1000},"reference":"ady-1","merchantAccount":"Shop","returnUrl":"https://shop.example/adyen-return",
"paymentMethod":{"type":"scheme","number":"` + panTok + `","expiryMonth":"03","expiryYear":"2030","cvc":"` + cvcTok + `","holderName":"J Doe"}}`
	r := httptest.NewRequest(http.MethodPost, "/v71/payments", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := e.do(t, r)
	var resp struct {
		ResultCode string
		Action     map[string]string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.ResultCode != "RedirectShopper" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if resp.Action["method"] != "GET" || !strings.HasPrefix(resp.Action["url"], "https://shop.example/3ds/cp_3ds_") || strings.Contains(w.Body.String(), "PaReq") {
		t.Fatalf("POST redirect not relayed: %s", w.Body)
	}
	if len(sim.Received()) != 1 || !strings.Contains(string(sim.Received()[0].Body), `"number":"4761340000000019"`) {
		t.Fatal("PSP did not get the card")
	}

	// The ingress relay serves the form once.
	relay := &ThreeDSRelay{store: e.store, tenant: e.tn, logger: zap.NewNop()}
	u, _ := url.Parse(resp.Action["url"])
	rw := httptest.NewRecorder()
	if err := relay.ServeHTTP(rw, httptest.NewRequest(http.MethodGet, u.Path, nil), nil); err != nil {
		t.Fatal(err)
	}
	page := rw.Body.String()
	if rw.Code != 200 || !strings.Contains(page, `action="`+s.URL+`/acs/ady-1"`) || !strings.Contains(page, `name="PaReq"`) ||
		!strings.Contains(page, `name="TermUrl" value="https://shop.example/adyen-return"`) {
		t.Fatalf("relay page %d:\n%s", rw.Code, page)
	}
	if csp := rw.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'nonce-") || rw.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", rw.Header())
	}
	rw = httptest.NewRecorder()
	_ = relay.ServeHTTP(rw, httptest.NewRequest(http.MethodGet, u.Path, nil), nil)
	if rw.Code != 404 {
		t.Fatalf("relay served twice: %d", rw.Code)
	}
}

// GET-style 3DS redirects of every PSP reach the app byte for byte.
func TestEgressThreeDSRedirectsUntouched(t *testing.T) {
	answers := []string{
		`{"success":true,"data":{"order_id":"o1","status":"initialized","reason":"3D Secure Authorization","payment_url":"https://testpayv2.multisafepay.com/connect/82Xl6LXm7fn0tbeOeJhBZR3vmnXe9V0VRuw/?lang=nl_NL"}}`,
		`{"id":"pi_3N","status":"requires_action","next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1&payment_intent=pi_3N&payment_intent_client_secret=pi_3N_secret_x&publishable_key=pk_test&source=payatt_1","return_url":"https://shop.example/return"}}}`,
		`{"id":"pay_mbabizu24mvu3mela5njyhpit4","status":"Pending","_links":{"self":{"href":"https://api.sandbox.checkout.com/payments/pay_mbabizu24mvu3mela5njyhpit4"},"redirect":{"href":"https://3ds2-sandbox.ckotech.co/interceptor/3ds_4f5b8c2e/device-information"}}}`,
		`{"resultCode":"RedirectShopper","action":{"paymentMethodType":"scheme","url":"https://checkoutshopper-test.adyen.com/checkoutshopper/threeDS/redirect?MD=M2RzLXRlc3Q%3D&PaReq=BQABAgA","method":"GET","type":"redirect"}}`,
	}
	for i, a := range answers {
		cap := &capture{answer: a, status: []int{200, 200, 202, 200}[i]}
		s, ca := tlsServer(t, cap)
		e := newEgress(t, s.URL, ca, func(d *Detokenize) { d.RelayURL = "https://shop.example/3ds" })
		w := e.do(t, httptest.NewRequest(http.MethodGet, "/pay", nil))
		if w.Body.String() != a || w.Code != cap.status {
			t.Errorf("answer %d changed:\n%s", i, w.Body)
		}
	}
}

// An answer too large to scan is withheld, never passed on unscanned.
func TestEgressWithholdsUnscannableAnswers(t *testing.T) {
	big := `{"data":"` + strings.Repeat("x", 5000) + `","card":"4111111111111111"}`
	cap := &capture{answer: big}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, func(d *Detokenize) { d.MaxResponse = 4096 })
	w := e.do(t, httptest.NewRequest(http.MethodGet, "/v1/json/orders/1", nil))
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "psp_response_too_large") || strings.Contains(w.Body.String(), "4111") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	cap2 := &capture{answer: "x", header: map[string]string{"Content-Encoding": "br"}}
	s2, ca2 := tlsServer(t, cap2)
	e2 := newEgress(t, s2.URL, ca2, nil)
	if w := e2.do(t, httptest.NewRequest(http.MethodGet, "/v1/json/orders/1", nil)); w.Code != http.StatusBadGateway {
		t.Fatalf("brotli answer: %d %s", w.Code, w.Body)
	}
	// identity is no encoding: the answer and its header pass as sent.
	cap3 := &capture{answer: `{"ok":true}`, header: map[string]string{"Content-Encoding": "identity"}}
	s3, ca3 := tlsServer(t, cap3)
	e3 := newEgress(t, s3.URL, ca3, nil)
	if w := e3.do(t, httptest.NewRequest(http.MethodGet, "/v1/json/orders/1", nil)); w.Code != 200 ||
		w.Header().Get("Content-Encoding") != "identity" || w.Body.String() != `{"ok":true}` {
		t.Fatalf("identity answer: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/pspsim"
	"github.com/cardproxy/cardproxy/token"
	"github.com/cardproxy/cardproxy/vault"
)

const simKey = "sim-api-key-0123456789"

// tlsServer starts h over HTTPS with a fresh CA and returns it with the CA
// file cardproxy trusts.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, string) {
	return testcaddy.TLSServer(t, h)
}

func startSim(t *testing.T) (*pspsim.Sim, *httptest.Server, string) {
	sim := pspsim.New(pspsim.Config{APIKey: simKey})
	s, ca := tlsServer(t, sim.Handler())
	sim.SetPublicURL(s.URL)
	return sim, s, ca
}

// capture is an HTTPS upstream that records requests and answers with a
// fixed response.
type capture struct {
	mu     sync.Mutex
	reqs   []seenRequest
	status int
	ctype  string
	answer string
	header map[string]string
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, seenRequest{r.Method, r.URL.RequestURI(), r.Header.Clone(), b})
	c.reqs[len(c.reqs)-1].Header.Set("X-Seen-Host", r.Host)
	status, ctype, answer := c.status, c.ctype, c.answer
	for k, v := range c.header {
		w.Header().Set(k, v)
	}
	c.mu.Unlock()
	if status == 0 {
		status = 200
	}
	if ctype == "" {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func (c *capture) got() []seenRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]seenRequest(nil), c.reqs...)
}

type egressHarness struct {
	h     *Detokenize
	app   *App
	store *vault.Store
	tn    string
	logs  *observer.ObservedLogs
}

func newEgress(t *testing.T, upstream, ca string, mut func(*Detokenize)) *egressHarness {
	t.Helper()
	store, err := vault.New(vault.Config{Address: vaultSrv(t).Addr, Token: vaultSrv(t).Token})
	if err != nil {
		t.Fatal(err)
	}
	tn := uniqueTenant()
	d := &Detokenize{Upstream: upstream, CACert: ca, Preset: "multisafepay"}
	if mut != nil {
		mut(d)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	app := testApp(tn, store)
	if err := d.setup(app, zap.New(core), prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return &egressHarness{h: d, app: app, store: store, tn: tn, logs: logs}
}

func (e *egressHarness) do(t *testing.T, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Fatal("card_detokenize called the next handler")
		return nil
	})
	if err := e.h.ServeHTTP(w, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w
}

func (e *egressHarness) tokens(t *testing.T, pan, expiry, holder, cvc string) (string, string) {
	t.Helper()
	ctx := context.Background()
	toks, err := e.store.Tokenize(ctx, e.tn, token.FormatOpaque, []card.Card{{PAN: pan, Expiry: expiry, Holder: holder}})
	if err != nil {
		t.Fatal(err)
	}
	ct := ""
	if cvc != "" {
		ct, _, err = e.store.TokenizeCVC(ctx, e.tn, cvc)
		if err != nil {
			t.Fatal(err)
		}
	}
	return toks[0].Token, ct
}

func mspBody(pan, expiry, cvc string) string {
	return `{"type":"direct","gateway":"VISA","order_id":"ord-` + fmt.Sprint(time.Now().UnixNano()) + `","currency":"EUR","amount":1000,
"description":"Order","payment_options":{"notification_url":"https://shop.example/webhook","redirect_url":"https://shop.example/ok","cancel_url":"https://shop.example/cancel"},
"customer":{"locale":"nl_NL","browser":{"user_agent":"x"}},
"gateway_info":{"card_number":"` + pan + `","card_holder_name":"Jan Janssen","card_expiry_date":` + expiry + `,"card_cvc":"` + cvc + `","cvc":"` + cvc + `","flexible_3d":null}}`
}

func TestEgressMultiSafepayDirect(t *testing.T) {
	sim, s, ca := startSim(t)
	e := newEgress(t, s.URL, ca, nil)
	panTok, cvcTok := e.tokens(t, "4111111111111111", "12/30", "Jan Janssen", "123")

	for _, expiry := range []string{`2812`, `"2812"`} {
		// card_expiry_date both as a number and as a string (SDKs send both).
		if expiry == `"2812"` {
			_, cvcTok = e.tokens(t, "4111111111111111", "", "", "123")
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(mspBody(panTok, expiry, cvcTok)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("api_key", simKey)
		r.Host = "evil.example" // spoofed Host: ignored
		w := e.do(t, r)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var resp struct {
			Success bool
			Data    map[string]any
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || !resp.Success || resp.Data["status"] != "completed" {
			t.Fatalf("PSP answer: %s", w.Body)
		}
		if strings.Contains(w.Body.String(), "4111111111111111") {
			t.Fatal("PAN in the answer to the app")
		}
	}
	got := sim.Received()
	if len(got) != 2 {
		t.Fatalf("PSP received %d requests", len(got))
	}
	for i, rq := range got {
		var o map[string]map[string]any
		_ = json.Unmarshal(rq.Body, &o)
		gi := o["gateway_info"]
		if gi["card_number"] != "4111111111111111" || gi["card_cvc"] != "123" || gi["cvc"] != "123" {
			t.Errorf("request %d: PSP got %v", i, gi)
		}
		if !strings.Contains(string(rq.Body), `"card_expiry_date":`+[]string{`2812`, `"2812"`}[i]) {
			t.Errorf("request %d: expiry changed: %s", i, rq.Body)
		}
		if rq.Header.Get("Cardproxy-Card-Token") != "" || rq.Header.Get("X-Forwarded-For") != "" {
			t.Errorf("internal headers leaked to the PSP: %v", rq.Header)
		}
	}
	// The CVC token is spent: a replay is refused and nothing reaches the PSP.
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(mspBody(panTok, "2812", cvcTok)))
	r.Header.Set("Content-Type", "application/json")
	w := e.do(t, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"unknown_token"`) || len(sim.Received()) != 2 {
		t.Fatalf("reused CVC: %d %s (PSP got %d)", w.Code, w.Body, len(sim.Received()))
	}
	// Audit: every detokenization logged with token, route, upstream, result — no card data.
	var okLines, refused int
	for _, en := range e.logs.All() {
		m := en.ContextMap()
		b, _ := json.Marshal(m)
		noCardData(t, "log", b, "4111111111111111", `"123"`)
		if en.Message == "detokenized" && m["token"] != "" && m["route"] == "/v1/json/orders" && m["upstream"] == s.Listener.Addr().String() {
			okLines++
		}
		if en.Message == "detokenize refused" && m["result"] == "unknown" {
			refused++
		}
	}
	if okLines != 5 || refused != 1 { // 2×(pan+cvc) + the PAN of the replayed request; the replayed CVC
		t.Errorf("audit lines: %d ok, %d refused", okLines, refused)
	}
}

func TestEgressPresets(t *testing.T) {
	cases := []struct {
		preset, ctype, body, want string
		auth                      [2]string
	}{
		{"adyen", "application/json",
			`{"amount":{"currency":"EUR","value":1000},"reference":"r1","paymentMethod":{"type":"scheme","number":"PAN","expiryMonth":"PAN","expiryYear":"PAN","cvc":"CVC","holderName":"PAN"},"returnUrl":"https://shop/ret"}`,
			`{"amount":{"currency":"EUR","value":1000},"reference":"r1","paymentMethod":{"type":"scheme","number":"4111111111111111","expiryMonth":"03","expiryYear":"2030","cvc":"737","holderName":"J Doe"},"returnUrl":"https://shop/ret"}`,
			[2]string{"X-Api-Key", "k-adyen"}},
		{"adyen", "application/json", // classic API
			`{"card":{"number":"PAN","expiryMonth":"03","expiryYear":"2030","cvc":"CVC","holderName":"J Doe"},"reference":"r2"}`,
			`{"card":{"number":"4111111111111111","expiryMonth":"03","expiryYear":"2030","cvc":"737","holderName":"J Doe"},"reference":"r2"}`,
			[2]string{"X-Api-Key", "k-adyen"}},
		{"stripe", "application/x-www-form-urlencoded",
			`type=card&card%5Bnumber%5D=PAN&card%5Bexp_month%5D=&card%5Bexp_year%5D=&card%5Bcvc%5D=CVC&billing_details%5Bname%5D=J+Doe`,
			`type=card&card%5Bnumber%5D=4111111111111111&card%5Bexp_month%5D=03&card%5Bexp_year%5D=2030&card%5Bcvc%5D=737&billing_details%5Bname%5D=J+Doe`,
			[2]string{"Authorization", "Bearer k-stripe"}},
		{"stripe", "application/x-www-form-urlencoded",
			`amount=1000&payment_method_data[type]=card&payment_method_data[card][number]=PAN&payment_method_data[card][cvc]=CVC`,
			`amount=1000&payment_method_data[type]=card&payment_method_data[card][number]=4111111111111111&payment_method_data[card][cvc]=737`,
			[2]string{"Authorization", "Bearer k-stripe"}},
		{"checkout", "application/json",
			`{"source":{"type":"card","number":"PAN","expiry_month":null,"expiry_year":null,"cvv":"CVC","name":"J Doe"},"3ds":{"enabled":true}}`,
			`{"source":{"type":"card","number":"4111111111111111","expiry_month":"03","expiry_year":"2030","cvv":"737","name":"J Doe"},"3ds":{"enabled":true}}`,
			[2]string{"Authorization", "Bearer k-checkout"}},
		{"checkout", "application/json",
			`{"source":{"type":"card","number":"PAN","expiry_month":6,"expiry_year":2029,"cvv":"CVC"}}`,
			`{"source":{"type":"card","number":"4111111111111111","expiry_month":6,"expiry_year":2029,"cvv":"737"}}`,
			[2]string{"Authorization", "Bearer k-checkout"}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(c.preset, i), func(t *testing.T) {
			cap := &capture{answer: `{}`}
			s, ca := tlsServer(t, cap)
			key := strings.TrimPrefix(c.auth[1], "Bearer ")
			e := newEgress(t, s.URL, ca, func(d *Detokenize) { d.Preset = c.preset; d.APIKey = key })
			panTok, cvcTok := e.tokens(t, "4111111111111111", "03/30", "J Doe", "737")
			body := strings.ReplaceAll(strings.ReplaceAll(c.body, "PAN", panTok), "CVC", cvcTok)
			r := httptest.NewRequest(http.MethodPost, "/v1/pay?x=1", strings.NewReader(body))
			r.Header.Set("Content-Type", c.ctype)
			r.Header.Set("Authorization", "Bearer app-should-not-pass")
			if w := e.do(t, r); w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			got := cap.got()[0]
			if string(got.Body) != c.want {
				t.Fatalf("PSP got  %s\nwant     %s", got.Body, c.want)
			}
			if got.Header.Get(c.auth[0]) != c.auth[1] {
				t.Errorf("credential: %s = %q", c.auth[0], got.Header.Get(c.auth[0]))
			}
			if c.auth[0] != "Authorization" && got.Header.Get("Authorization") != "" {
				t.Errorf("app credential passed along with the injected one")
			}
			if got.URI != "/v1/pay?x=1" {
				t.Errorf("uri %s", got.URI)
			}
		})
	}
}

func TestEgressRefusals(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, _ := e.tokens(t, "4111111111111111", "12/30", "", "")
	other := newEgress(t, s.URL, ca, nil) // another tenant
	otherTok, _ := other.tokens(t, "5500000000000004", "", "", "")

	// An expired record, written as the store writes it.
	expired := token.PANPrefix + "EXPIREDEXPIREDEXPIRED000"
	if _, err := e.store.Client().Logical().Write("cardproxy/data/"+e.tn+"/pan/"+expired,
		map[string]any{"data": map[string]any{"ct": "vault:v1:x", "expires_at": 1}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"unknown token", `{"gateway_info":{"card_number":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}}`, 400, "unknown_token"},
		{"other tenant's token", `{"gateway_info":{"card_number":"` + otherTok + `"}}`, 400, "unknown_token"},
		{"expired token", `{"gateway_info":{"card_number":"` + expired + `"}}`, 400, "token_expired"},
		{"unknown cvc token", `{"gateway_info":{"card_number":"` + panTok + `","cvc":"cp_cvc_AAAAAAAAAAAAAAAAAAAAAAAA"}}`, 400, "unknown_token"},
		{"malformed", `{"gateway_info":`, 400, "malformed_body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/json")
			w := e.do(t, r)
			if w.Code != c.status || !strings.Contains(w.Body.String(), `"error":"`+c.code+`"`) {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
		})
	}
	t.Run("token in an unscannable body", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader("card="+panTok))
		r.Header.Set("Content-Type", "text/plain")
		if w := e.do(t, r); w.Code != 415 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	if n := len(cap.got()); n != 0 {
		t.Fatalf("PSP received %d refused requests", n)
	}
	// A request refused for its card token (or its fill-ins) uses no CVC:
	// the CVC is read at the same time as the cards but used only once
	// they are good, so the app can send the payment again.
	_, cvcTok := e.tokens(t, "4111111111111111", "12/30", "", "321")
	for _, pan := range []string{"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA", expired, panTok} {
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+pan+`","cvc":"`+cvcTok+`"}}`))
		r.Header.Set("Content-Type", "application/json")
		w := e.do(t, r)
		if want := map[bool]int{true: 200, false: 400}[pan == panTok]; w.Code != want {
			t.Fatalf("card %s: %d %s", pan[:7], w.Code, w.Body)
		}
	}
	if got := cap.got(); len(got) != 1 || !strings.Contains(string(got[0].Body), `"cvc":"321"`) {
		t.Fatalf("PSP received %d requests, want 1 with the CVC", len(got))
	}
}

// With preset stripe a refusal tells Stripe's SDKs not to retry it (they
// retry 5xx by themselves; the CVC may be used up by then).
func TestEgressStripeNoRetry(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	for preset, want := range map[string]string{"stripe": "false", "multisafepay": ""} {
		e := newEgress(t, s.URL, ca, func(d *Detokenize) { d.Preset = preset })
		r := httptest.NewRequest(http.MethodPost, "/v1/payment_intents", strings.NewReader("payment_method_data[card][number]=cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := e.do(t, r)
		if w.Code != 400 || w.Header().Get("Stripe-Should-Retry") != want {
			t.Errorf("%s: %d, Stripe-Should-Retry %q", preset, w.Code, w.Header().Get("Stripe-Should-Retry"))
		}
	}
}

// A PAN token bound (bind_upstream) to another PSP is refused by this
// egress: 403 token_wrong_upstream, nothing sent, the refusal audited; one
// bound to this egress's upstream goes through.
func TestEgressTokenBoundElsewhere(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	ctx := context.Background()
	issue := func(host string) string {
		p, err := token.NewPurpose([]string{host})
		if err != nil {
			t.Fatal(err)
		}
		toks, err := e.store.TokenizeFor(ctx, e.tn, token.FormatOpaque, p, []card.Card{{PAN: "4111111111111111", Expiry: "12/30"}})
		if err != nil {
			t.Fatal(err)
		}
		return toks[0].Token
	}
	post := func(tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+tok+`"}}`))
		r.Header.Set("Content-Type", "application/json")
		return e.do(t, r)
	}
	if w := post(issue("api.other-psp.example")); w.Code != 403 || !strings.Contains(w.Body.String(), `"error":"token_wrong_upstream"`) {
		t.Fatalf("token bound elsewhere: %d %s", w.Code, w.Body)
	}
	if n := len(cap.got()); n != 0 {
		t.Fatalf("the PSP got %d requests", n)
	}
	if e.logs.FilterMessage("detokenize refused").FilterField(zap.String("result", "not_allowed")).Len() != 1 ||
		e.logs.FilterMessage("egress request refused").FilterField(zap.String("code", "token_wrong_upstream")).Len() != 1 {
		t.Error("the refusal is not in the audit trail")
	}
	if w := post(issue(s.Listener.Addr().String())); w.Code != 200 || len(cap.got()) != 1 {
		t.Fatalf("token bound to this upstream: %d %s", w.Code, w.Body)
	}
}

// The app chooses the egress path: a card number in it is masked in the
// audit trail (and so in the scope report).
func TestEgressRouteMasked(t *testing.T) {
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	for _, path := range []string{"/v1/json/orders/4111111111111111", "/v1/json/orders/4111-1111-1111-1111"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"gateway_info":{"card_number":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}}`))
		r.Header.Set("Content-Type", "application/json")
		if w := e.do(t, r); w.Code != 400 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	n := 0
	for _, en := range e.logs.All() {
		b, _ := json.Marshal(en.ContextMap())
		if strings.Contains(string(b), "4111111111111111") || strings.Contains(string(b), "4111-1111-1111-1111") {
			t.Errorf("%q carries the card number: %s", en.Message, b)
		}
		if en.LoggerName == auditLoggerName {
			n++
		}
	}
	if n < 4 {
		t.Fatalf("%d audit events for two refused requests", n)
	}
}

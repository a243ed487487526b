package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cardproxy/cardproxy/token"
	"github.com/cardproxy/cardproxy/vault"
)

var tenantSeq atomic.Int64

// uniqueTenant isolates tests sharing the package's Vault.
func uniqueTenant() string { return fmt.Sprintf("h%d", tenantSeq.Add(1)) }

// recorder is the merchant app: it records what it receives.
type recorder struct {
	called  int
	body    []byte
	header  http.Header
	reqBody io.ReadCloser
	length  int64
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	rec.called++
	rec.reqBody = r.Body
	rec.header = r.Header.Clone()
	rec.length = r.ContentLength
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	rec.body = b
	w.WriteHeader(http.StatusOK)
	return nil
}

type harness struct {
	h     *Tokenize
	app   *App
	store *vault.Store
	tn    string
	logs  *observer.ObservedLogs
}

func newHarness(t testing.TB, mut func(*Tokenize)) *harness {
	t.Helper()
	return newHarnessAt(t, vaultSrv(t).Addr, vaultSrv(t).Token, mut)
}

func newHarnessAt(t testing.TB, addr, token string, mut func(*Tokenize)) *harness {
	t.Helper()
	store, err := vault.New(vault.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	tn := uniqueTenant()
	app := testApp(tn, store)
	h := &Tokenize{
		PAN:         []string{"card_number", "gateway_info.card_number", "payment[cc_number]"},
		CVC:         []string{"cvc", "card_cvc", "gateway_info.cvc", "gateway_info.card_cvc", "payment[cc_cid]"},
		Expiry:      []string{"card_expiry", "gateway_info.card_expiry_date"},
		Holder:      []string{"gateway_info.card_holder_name", "card_holder"},
		ExpiryMonth: []string{"payment[cc_exp_month]"},
		ExpiryYear:  []string{"payment[cc_exp_year]"},
	}
	if mut != nil {
		mut(h)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	if err := h.setup(app, zap.New(core), prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return &harness{h: h, app: app, store: store, tn: tn, logs: logs}
}

func (hs *harness) do(t testing.TB, r *http.Request) (*httptest.ResponseRecorder, *recorder) {
	t.Helper()
	rec := &recorder{}
	w := httptest.NewRecorder()
	if err := hs.h.ServeHTTP(w, r, caddyhttp.HandlerFunc(rec.ServeHTTP)); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w, rec
}

// noCardData fails if any of the secrets occurs in b.
func noCardData(t *testing.T, what string, b []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && bytes.Contains(b, []byte(s)) {
			t.Errorf("%s contains card data (%d chars)", what, len(s))
		}
	}
}

func (hs *harness) logsClean(t *testing.T, secrets ...string) {
	t.Helper()
	for _, e := range hs.logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		noCardData(t, "log entry "+e.Message, append([]byte(e.Message), b...), secrets...)
	}
}

const mspOrder = `{
  "type": "direct",
  "gateway": "CREDITCARD",
  "order_id": "order-1001",
  "currency": "EUR",
  "amount": 1000,
  "description": "Test <order> & more",
  "customer": {"locale": "nl_NL", "browser": {"user_agent": "Mozilla/5.0", "screen_width": 1920}},
  "payment_options": {"notification_url": "https://shop.example/webhook", "redirect_url": "https://shop.example/ok?x=1&y=2", "cancel_url": "https://shop.example/cancel"},
  "gateway_info": {
    "card_number": "4111 1111 1111 1111",
    "card_holder_name": "Jan Janssen",
    "card_expiry_date": 2812,
    "card_cvc": "123",
    "cvc": "123",
    "flexible_3d": null,
    "term_url": null
  }
}`

func TestTokenizeMultiSafepayOrder(t *testing.T) {
	hs := newHarness(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(mspOrder))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Cardproxy-Card-Brand", "forged") // client-sent: must be removed
	w, app := hs.do(t, r)
	if w.Code != http.StatusOK || app.called != 1 {
		t.Fatalf("status %d, app called %d: %s", w.Code, app.called, w.Body)
	}
	noCardData(t, "app body", app.body, "4111 1111 1111 1111", "4111111111111111", `"123"`)
	var got struct {
		GatewayInfo map[string]any `json:"gateway_info"`
		Description string         `json:"description"`
	}
	if err := json.Unmarshal(app.body, &got); err != nil {
		t.Fatalf("app got invalid JSON: %v", err)
	}
	panTok, _ := got.GatewayInfo["card_number"].(string)
	cvcTok, _ := got.GatewayInfo["card_cvc"].(string)
	if !token.IsPAN(panTok) || !token.IsCVC(cvcTok) {
		t.Fatalf("tokens: %q %q", panTok, cvcTok)
	}
	if got.GatewayInfo["cvc"] != cvcTok {
		t.Errorf("the same CVC in two fields should carry one token")
	}
	// Every other byte is unchanged.
	want := strings.NewReplacer(`"4111 1111 1111 1111"`, `"`+panTok+`"`, `"123"`, `"`+cvcTok+`"`).Replace(mspOrder)
	if string(app.body) != want {
		t.Errorf("body changed beyond the card fields:\n%s", app.body)
	}
	if app.length != int64(len(app.body)) || app.header.Get("Content-Length") != fmt.Sprint(len(app.body)) {
		t.Errorf("Content-Length %d / %q for a %d-byte body", app.length, app.header.Get("Content-Length"), len(app.body))
	}
	if app.header.Get("Cardproxy-Card-Brand") != "visa" || app.header.Get("Cardproxy-Card-Last4") != "1111" ||
		app.header.Get("Cardproxy-Card-Token") != panTok || app.header.Get("Cardproxy-Cvc-Token") != cvcTok {
		t.Errorf("metadata headers: %v", app.header)
	}
	if app.header.Get("Cardproxy-Card-Bin") != "" {
		t.Errorf("BIN exposed without expose_bin")
	}
	// The vault holds what the shopper typed.
	c, err := hs.store.Detokenize(context.Background(), hs.tn, panTok)
	if err != nil || c.PAN != "4111111111111111" || c.Expiry != "2812" || c.Holder != "Jan Janssen" {
		t.Fatalf("detokenize: %v %q %q", err, c.Expiry, c.Holder)
	}
	cvc, err := hs.store.DetokenizeCVC(context.Background(), hs.tn, cvcTok)
	if err != nil || cvc != "123" {
		t.Fatalf("cvc: %v", err)
	}
	hs.logsClean(t, "4111111111111111", "4111 1111 1111 1111", `"123"`)
	entries := hs.logs.FilterMessage("tokenized request").All()
	if len(entries) != 1 || !strings.Contains(fmt.Sprint(entries[0].ContextMap()["tokens"]), panTok) {
		t.Errorf("audit log line missing or without tokens: %v", entries)
	}

	// Same card again: same token (dedupe), fresh CVC token.
	r2 := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(mspOrder))
	r2.Header.Set("Content-Type", "application/json; charset=utf-8")
	_, app2 := hs.do(t, r2)
	if !bytes.Contains(app2.body, []byte(panTok)) || bytes.Contains(app2.body, []byte(cvcTok)) {
		t.Errorf("second request: PAN token should repeat, CVC token should not")
	}
}

func TestTokenizeForm(t *testing.T) {
	hs := newHarness(t, nil)
	body := "amount=10.00&payment%5Bcc_number%5D=5500+0000+0000+0004&payment%5Bcc_cid%5D=321&payment[cc_exp_month]=07&payment[cc_exp_year]=2029&note=hello"
	r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w, app := hs.do(t, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	noCardData(t, "app body", app.body, "5500", "321")
	v, err := url.ParseQuery(string(app.body))
	if err != nil {
		t.Fatal(err)
	}
	tok := v.Get("payment[cc_number]")
	if !token.IsPAN(tok) || !token.IsCVC(v.Get("payment[cc_cid]")) || v.Get("note") != "hello" || v.Get("amount") != "10.00" {
		t.Fatalf("form after tokenizing: %v", v)
	}
	if !strings.HasPrefix(string(app.body), "amount=10.00&payment%5Bcc_number%5D=cp_pan_") {
		t.Errorf("field order or key encoding changed: %s", app.body)
	}
	c, err := hs.store.Detokenize(context.Background(), hs.tn, tok)
	if err != nil || c.PAN != "5500000000000004" || c.Expiry != "07/2029" {
		t.Fatalf("detokenize: %v %q", err, c.Expiry)
	}
	if app.header.Get("Cardproxy-Card-Brand") != "mastercard" {
		t.Errorf("brand header %q", app.header.Get("Cardproxy-Card-Brand"))
	}
}

func TestTokenizeMultipart(t *testing.T) {
	hs := newHarness(t, nil)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("card_number", "374500000000015")
	_ = mw.WriteField("cvc", "1234")
	_ = mw.WriteField("card_expiry", "12/30")
	fw, _ := mw.CreateFormFile("attachment", "notes.txt")
	_, _ = fw.Write([]byte("file content stays"))
	_ = mw.Close()
	r := httptest.NewRequest(http.MethodPost, "/checkout", bytes.NewReader(buf.Bytes()))
	r.Header.Set("Content-Type", mw.FormDataContentType())
	w, app := hs.do(t, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	noCardData(t, "app body", app.body, "374500000000015", "1234")
	mr := multipart.NewReader(bytes.NewReader(app.body), mw.Boundary())
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		got[p.FormName()] = string(b)
	}
	if !token.IsPAN(got["card_number"]) || !token.IsCVC(got["cvc"]) || got["attachment"] != "file content stays" || got["card_expiry"] != "12/30" {
		t.Fatalf("multipart after tokenizing: %v", got)
	}
	if app.header.Get("Cardproxy-Card-Brand") != "amex" {
		t.Errorf("brand %q", app.header.Get("Cardproxy-Card-Brand"))
	}
}

func TestAutoDetect(t *testing.T) {
	body := `{"order_ref":"4111111111111111","items":[{"n":5500000000000004}],"phone":"+31 20 123 4567","zip":"1234AB"}`
	post := func(hs *harness, body string) (*httptest.ResponseRecorder, *recorder) {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return hs.do(t, r)
	}
	t.Run("on", func(t *testing.T) {
		hs := newHarness(t, func(h *Tokenize) { h.Ignore = []string{"order_ref"} })
		_, app := post(hs, body)
		var got map[string]any
		if err := json.Unmarshal(app.body, &got); err != nil {
			t.Fatal(err)
		}
		if got["order_ref"] != "4111111111111111" {
			t.Errorf("ignored field was tokenized")
		}
		item := got["items"].([]any)[0].(map[string]any)["n"]
		if s, _ := item.(string); !token.IsPAN(s) {
			t.Errorf("PAN as a JSON number in an array not tokenized: %v", item)
		}
		// A card number inside free text cannot be replaced: refused.
		if w, app := post(hs, `{"comment":"card 4111 1111 1111 1111 inline"}`); w.Code != 400 || app.called != 0 ||
			!strings.Contains(w.Body.String(), "card_number_in_text") {
			t.Errorf("free text with a card: %d %s", w.Code, w.Body)
		}
	})
	t.Run("off", func(t *testing.T) {
		off := false
		hs := newHarness(t, func(h *Tokenize) { h.AutoDetect = &off; h.Ignore = []string{"order_ref"} })
		// Without auto-detect a card number outside the named fields is
		// refused, not forwarded; ignored fields stay as they are.
		if w, app := post(hs, body); w.Code != 400 || app.called != 0 || !strings.Contains(w.Body.String(), "card_number_in_text") {
			t.Errorf("card in an unnamed field with auto_detect off: %d %s", w.Code, w.Body)
		}
		plain := `{"order_ref":"4111111111111111","zip":"1234AB"}`
		if _, app := post(hs, plain); string(app.body) != plain {
			t.Errorf("auto_detect off changed the body")
		}
	})
}

func TestPreserveLast4Format(t *testing.T) {
	hs := newHarness(t, func(h *Tokenize) { h.Format = "preserve_last4" })
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(`{"card_number":4111111111111111,"x":1}`))
	r.Header.Set("Content-Type", "application/json")
	_, app := hs.do(t, r)
	var got map[string]any
	if err := json.Unmarshal(app.body, &got); err != nil {
		t.Fatalf("%v: %s", err, app.body)
	}
	tok, _ := got["card_number"].(string)
	// A leading 0 cannot be a JSON number, so the token becomes a string.
	if !token.IsPreserving(tok) || !strings.HasSuffix(tok, "1111") || len(tok) != 16 {
		t.Fatalf("token %q", tok)
	}
}

func TestFormatPerField(t *testing.T) {
	hs := newHarness(t, func(h *Tokenize) {
		h.PAN = append(h.PAN, "legacy_cc")
		h.FieldFormats = map[string]string{"legacy_cc": "preserve_last4"}
	})
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(`{"card_number":"4111111111111111","legacy_cc":"4111111111111111"}`))
	r.Header.Set("Content-Type", "application/json")
	_, app := hs.do(t, r)
	var got map[string]string
	if err := json.Unmarshal(app.body, &got); err != nil {
		t.Fatal(err)
	}
	if !token.IsPAN(got["card_number"]) || !token.IsPreserving(got["legacy_cc"]) || !strings.HasSuffix(got["legacy_cc"], "1111") {
		t.Fatalf("per-field formats: %v", got)
	}
	for _, tok := range []string{got["card_number"], got["legacy_cc"]} {
		if c, err := hs.store.Detokenize(context.Background(), hs.tn, tok); err != nil || c.PAN != "4111111111111111" {
			t.Fatalf("detokenize %s: %v", tok, err)
		}
	}
	bad := &Tokenize{PAN: []string{"x"}, FieldFormats: map[string]string{"x": "weird"}}
	if err := bad.setup(testApp("t", hs.store), zap.NewNop(), nil); err == nil {
		t.Fatal("unknown field format accepted")
	}
}

// testApp is an App whose every side uses store.
func testApp(tenant string, store *vault.Store) *App {
	return &App{Tenant: tenant, stores: []*vault.Store{store}, names: []string{"vault"}, ingress: store, egress: store}
}

// bind_upstream binds the tokens a card_tokenize route issues.
func TestTokenizeBindUpstream(t *testing.T) {
	hs := newHarness(t, func(tk *Tokenize) { tk.BindUpstream = []string{"testapi.multisafepay.com"} })
	r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(`{"card_number":"4111111111111111"}`))
	r.Header.Set("Content-Type", "application/json")
	w, app := hs.do(t, r)
	var got struct {
		CardNumber string `json:"card_number"`
	}
	if err := json.Unmarshal(app.body, &got); w.Code != 200 || err != nil {
		t.Fatalf("%d %v", w.Code, err)
	}
	if c, err := hs.store.DetokenizeFor(t.Context(), hs.tn, got.CardNumber, "testapi.multisafepay.com"); err != nil || c.PAN != "4111111111111111" {
		t.Fatalf("bound upstream: %v", err)
	}
	if _, err := hs.store.DetokenizeFor(t.Context(), hs.tn, got.CardNumber, "api.stripe.com"); !errors.Is(err, vault.ErrNotAllowed) {
		t.Fatalf("other upstream: %v", err)
	}
}

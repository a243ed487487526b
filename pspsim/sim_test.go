package pspsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/msp"
)

func orderJSON(id, pan, expiry, cvc string) string {
	return `{"type":"direct","gateway":"CREDITCARD","order_id":"` + id + `","currency":"EUR","amount":1000,
"payment_options":{"notification_url":"","redirect_url":"https://shop/ok","cancel_url":"https://shop/cancel"},
"gateway_info":{"card_number":"` + pan + `","card_expiry_date":` + expiry + `,"card_cvc":"` + cvc + `"}}`
}

func post(t *testing.T, h http.Handler, path, body string, auth func(*http.Request)) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if auth != nil {
		auth(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func TestTestCards(t *testing.T) {
	sim := New(Config{APIKey: "k", PublicURL: "https://sim", Now: func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }})
	h := sim.Handler()
	key := func(r *http.Request) { r.Header.Set("api_key", "k") }
	cases := []struct {
		pan, status string
		threeDS     bool
	}{
		{"4111111111111111", "completed", false},
		{"5500000000000004", "completed", false},
		{"4761340000000019", "initialized", true},
		{"4012001037461114", "initialized", true},
		{"4917300000000008", "uncleared", false},
		{"4012001038488884", "declined", false},
	}
	for i, c := range cases {
		code, out := post(t, h, "/v1/json/orders", orderJSON("o"+string(rune('a'+i)), c.pan, `"3012"`, "123"), key)
		data, _ := out["data"].(map[string]any)
		if code != 200 || data["status"] != c.status {
			t.Errorf("%s: %d %v", c.pan[:6], code, out)
			continue
		}
		if _, has := data["payment_url"]; has != c.threeDS {
			t.Errorf("%s: payment_url present=%v", c.pan[:6], has)
		}
		pd := data["payment_details"].(map[string]any)
		if pd["last4"].(float64) < 0 || strings.Contains(mustJSON(out), c.pan) {
			t.Errorf("%s: answer carries the PAN", c.pan[:6])
		}
	}
	// Amex needs 4 CVC digits; expired cards and bad Luhn are refused.
	if code, out := post(t, h, "/v1/json/orders", orderJSON("x1", "374500000000015", `3012`, "123"), key); code != 400 {
		t.Errorf("amex with 3-digit cvc: %d %v", code, out)
	}
	if code, _ := post(t, h, "/v1/json/orders", orderJSON("x2", "374500000000015", `3012`, "1234"), key); code != 200 {
		t.Errorf("amex with 4-digit cvc: %d", code)
	}
	if code, _ := post(t, h, "/v1/json/orders", orderJSON("x3", "4111111111111111", `"2510"`, "123"), key); code != 400 {
		t.Errorf("expired card accepted")
	}
	if code, _ := post(t, h, "/v1/json/orders", orderJSON("x4", "4111111111111112", `"3012"`, "123"), key); code != 400 {
		t.Errorf("Luhn-invalid card accepted")
	}
	if code, _ := post(t, h, "/v1/json/orders", orderJSON("x5", "4111111111111111", `"3012"`, "999"), key); code != 200 {
		t.Errorf("wrong cvc should be a declined order, got %d", code)
	}
	if len(sim.Received()) != len(cases)+5 {
		t.Errorf("recorded %d requests", len(sim.Received()))
	}
}

func TestAPIKeyWays(t *testing.T) {
	h := New(Config{APIKey: "secret"}).Handler()
	body := orderJSON("k1", "4111111111111111", `"3012"`, "123")
	for name, auth := range map[string]func(*http.Request){
		"header": func(r *http.Request) { r.Header.Set("api_key", "secret") },
		"query":  func(r *http.Request) { r.URL.RawQuery = "api_key=secret" },
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer secret") },
	} {
		if code, out := post(t, h, "/v1/json/orders", strings.Replace(body, "k1", "k-"+name, 1), auth); code != 200 {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	if code, _ := post(t, h, "/v1/json/orders", body, func(r *http.Request) { r.Header.Set("api_key", "wrong") }); code != 401 {
		t.Errorf("wrong key: %d", code)
	}
}

func TestOrderLookupAndRefund(t *testing.T) {
	h := New(Config{}).Handler()
	post(t, h, "/v1/json/orders", orderJSON("r1", "4111111111111111", `"3012"`, "123"), nil)
	r := httptest.NewRequest(http.MethodGet, "/v1/json/orders/r1", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"completed"`) {
		t.Fatalf("lookup: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/json/orders/nope", nil))
	if w.Code != 404 {
		t.Fatalf("unknown order: %d", w.Code)
	}
	if code, _ := post(t, h, "/v1/json/orders/r1/refunds", `{"currency":"EUR","amount":500}`, nil); code != 200 {
		t.Fatalf("refund: %d", code)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestErrorsDoNotEchoCards(t *testing.T) {
	h := New(Config{}).Handler()
	code, out := post(t, h, "/v1/json/orders", `{"type":"direct","order_id":"e1","currency":"EUR","amount":1,"gateway_info":{"card_number":4111111111111111}}`, nil)
	if code != 400 || strings.Contains(mustJSON(out), "4111111111111111") {
		t.Fatalf("%d %v", code, out)
	}
}

// TestChallengeWebhook: after the 3-D Secure challenge the shop gets a
// webhook that msp.Verify accepts, whose body is the settled order, and the
// browser goes back to redirect_url.
func TestChallengeWebhook(t *testing.T) {
	var got struct {
		query url.Values
		auth  string
		body  []byte
	}
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.query, got.auth = r.URL.Query(), r.Header.Get(msp.AuthHeader)
		got.body, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "OK")
	}))
	defer shop.Close()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sim := New(Config{APIKey: "k", PublicURL: "https://sim", Now: func() time.Time { return now }})
	h := sim.Handler()
	body := strings.Replace(orderJSON("w1", "4761340000000019", `"3012"`, "123"), `"notification_url":""`, `"notification_url":"`+shop.URL+`/hook"`, 1)
	if code, out := post(t, h, "/v1/json/orders", body, func(r *http.Request) { r.Header.Set("api_key", "k") }); code != 200 {
		t.Fatalf("order: %d %v", code, out)
	}
	r := httptest.NewRequest(http.MethodPost, "/acs/w1/result", strings.NewReader("outcome=authenticate"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://shop/ok?transactionid=w1" {
		t.Fatalf("challenge result: %d %q", w.Code, w.Header().Get("Location"))
	}
	if err := msp.Verify("k", got.auth, got.body, now, time.Minute); err != nil {
		t.Fatalf("webhook signature: %v", err)
	}
	if got.query.Get("transactionid") != "w1" || got.query.Get("timestamp") != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("webhook query: %v", got.query)
	}
	var o msp.Order
	if err := json.Unmarshal(got.body, &o); err != nil || o.Status != "completed" ||
		o.PaymentDetails.CardAuthenticationResult == nil || o.PaymentDetails.CardAuthenticationResult.ECI != "05" {
		t.Errorf("webhook body: %v %s", err, got.body)
	}
	if whs := sim.Webhooks(); len(whs) != 1 || whs[0].Status != 200 || whs[0].Auth != got.auth {
		t.Errorf("recorded webhooks: %+v", whs)
	}
}

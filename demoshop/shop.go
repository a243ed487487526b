// Package demoshop is the demo merchant app: a small web shop that knows
// nothing about card security. Its checkout form posts card data to the
// shop's own URL; cardproxy, in front of it, swaps the card data for tokens
// before the shop sees the request. The shop then creates a MultiSafepay
// direct card order through cardproxy's egress with the token, sends the
// shopper to the 3-D Secure page, confirms the order when the shopper
// returns, and verifies the PSP's signed webhooks.
//
// It logs every request it receives — headers and bodies — to a file: the
// evidence that it never saw a card number.
package demoshop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardproxy/cardproxy/msp"
)

// Config configures the shop.
type Config struct {
	// PublicURL is the shop as shoppers reach it: through cardproxy's
	// ingress (e.g. http://127.0.0.1:8080).
	PublicURL string
	// Egress is cardproxy's egress route to the PSP API
	// (e.g. http://127.0.0.1:8081/v1/json).
	Egress string
	// APIKey is the MultiSafepay API key, used here only to verify webhook
	// signatures (cardproxy adds it to API calls).
	APIKey string
	// RequestLog is the file every received request is appended to.
	RequestLog string
	// Client calls the egress (default: 30 s timeout).
	Client *http.Client
}

// Shop is the demo shop (an http.Handler).
type Shop struct {
	cfg Config
	mux *http.ServeMux
	seq atomic.Int64

	logMu sync.Mutex
	log   *os.File

	mu       sync.Mutex
	webhooks map[string]string // order id → verified status from webhook
}

// New builds the shop.
func New(cfg Config) (*Shop, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.Egress = strings.TrimRight(cfg.Egress, "/")
	s := &Shop{cfg: cfg, mux: http.NewServeMux(), webhooks: map[string]string{}}
	if cfg.RequestLog != "" {
		f, err := os.OpenFile(cfg.RequestLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, err
		}
		s.log = f
	}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("POST /checkout", s.checkout)
	s.mux.HandleFunc("GET /ok", s.result)
	s.mux.HandleFunc("GET /cancel", s.result)
	s.mux.HandleFunc("POST /webhook", s.webhook)
	return s, nil
}

// Close closes the request log.
func (s *Shop) Close() error {
	if s.log != nil {
		return s.log.Close()
	}
	return nil
}

// ServeHTTP logs the request as received, then serves it.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if s.log != nil {
		line, _ := json.Marshal(map[string]any{
			"time": time.Now().UTC().Format(time.RFC3339Nano), "method": r.Method, "uri": r.RequestURI,
			"headers": r.Header, "body": string(body),
		})
		s.logMu.Lock()
		_, _ = s.log.Write(append(line, '\n'))
		s.logMu.Unlock()
	}
	s.mux.ServeHTTP(w, r)
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} — Demo Shop</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:26em;margin:3em auto;background:#fff;padding:2em;border-radius:8px;box-shadow:0 1px 4px #0002}
label{display:block;margin:.8em 0 .2em;font-size:.9em;color:#444}
input{width:100%;box-sizing:border-box;padding:.5em;font-size:1em;border:1px solid #bbb;border-radius:4px}
.row{display:flex;gap:1em}.row>div{flex:1}
button{margin-top:1.2em;width:100%;padding:.7em;font-size:1.05em;background:#2b6cb0;color:#fff;border:0;border-radius:4px}
.ok{color:#276749}.fail{color:#c53030}.muted{color:#777;font-size:.85em}
</style></head><body><main>
{{if .Checkout}}
<h1>Demo Shop</h1>
<p>Cardproxy T-shirt</p>
<form method="POST" action="/checkout" id="checkout">
<input type="hidden" name="order_id" value="{{.OrderID}}">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" autocomplete="cc-number" inputmode="numeric" placeholder="4111 1111 1111 1111">
<label for="card_holder">Name on card</label>
<input id="card_holder" name="card_holder" autocomplete="cc-name">
<div class="row"><div><label for="card_expiry">Expiry (MM/YY)</label>
<input id="card_expiry" name="card_expiry" autocomplete="cc-exp" placeholder="12/30"></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" autocomplete="cc-csc" inputmode="numeric"></div></div>
<label for="amount">Amount (EUR)</label>
<input id="amount" name="amount" value="25.00" inputmode="decimal">
<button type="submit" id="pay">Pay</button>
</form>
<p class="muted">Sandbox: 4761 3400 0000 0019 (3-D Secure), 4111 1111 1111 1111, 4012 0010 3746 1114 (declined); CVC 123.</p>
{{else}}
<h1 class="{{.Class}}" id="result">{{.Title}}</h1>
<p id="detail">{{.Detail}}</p>
<p><a href="/">Back to the shop</a></p>
{{end}}
</main></body></html>`))

func (s *Shop) render(w http.ResponseWriter, status int, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = page.Execute(w, data)
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("demo-%d-%d", time.Now().Unix(), s.seq.Add(1))
	s.render(w, 200, map[string]any{"Checkout": true, "Title": "Checkout", "OrderID": id})
}

func (s *Shop) fail(w http.ResponseWriter, status int, title, detail string) {
	s.render(w, status, map[string]any{"Title": title, "Detail": detail, "Class": "fail"})
}

// checkout receives the form — with tokens, never card data — and creates the
// order through cardproxy's egress.
func (s *Shop) checkout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, 400, "Checkout failed", "The form could not be read.")
		return
	}
	tok := r.PostForm.Get("card_number")
	orderID := r.PostForm.Get("order_id")
	amount, err := parseAmount(r.PostForm.Get("amount"))
	if err != nil {
		s.fail(w, 400, "Checkout failed", "The amount must be a positive number of euros, like 25.00.")
		return
	}
	order := msp.OrderRequest{
		Type: "direct", Gateway: "CREDITCARD", OrderID: orderID, Currency: "EUR", Amount: json.Number(strconv.Itoa(amount)),
		Description: "Cardproxy T-shirt",
		PaymentOptions: msp.PaymentOptions{
			NotificationURL: s.cfg.PublicURL + "/webhook", NotificationMethod: "POST",
			RedirectURL: s.cfg.PublicURL + "/ok", CancelURL: s.cfg.PublicURL + "/cancel",
		},
		Customer: map[string]any{
			"locale": "en_US", "ip_address": strings.Split(r.RemoteAddr, ":")[0],
			"browser": map[string]any{
				"user_agent": r.UserAgent(), "accept_header": r.Header.Get("Accept"), "language": r.Header.Get("Accept-Language"),
				"java_enabled": false, "javascript_enabled": true, "screen_color_depth": 24, "screen_height": 1080, "screen_width": 1920,
				"time_zone": "0",
			},
		},
		GatewayInfo: msp.GatewayInfo{
			CardNumber:     tok,
			CardHolderName: r.PostForm.Get("card_holder"),
			// cardproxy fills in the expiry stored with the token, as YYMM.
			CardExpiryDate: msp.YYMM(tok),
			CardCVC:        r.PostForm.Get("cvc"),
		},
	}
	out, err := s.callPSP(http.MethodPost, "/orders", order)
	if err != nil {
		s.fail(w, 502, "Payment failed", "The payment service could not be reached.")
		return
	}
	if !out.Success {
		detail := out.ErrorInfo
		if detail == "" {
			detail = out.Message // a refusal by cardproxy
		}
		s.fail(w, 402, "Payment failed", detail)
		return
	}
	if cv := out.Data.CustomerVerification; cv != nil && cv.Type == "redirect" {
		http.Redirect(w, r, cv.URL, http.StatusSeeOther)
		return
	}
	if out.Data.PaymentURL != "" {
		http.Redirect(w, r, out.Data.PaymentURL, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, s.cfg.PublicURL+"/ok?transactionid="+url.QueryEscape(orderID), http.StatusSeeOther)
}

// pspAnswer is MultiSafepay's envelope (or cardproxy's JSON refusal).
type pspAnswer struct {
	msp.Response[msp.Order]
	// Message is the reason of a refusal by cardproxy.
	Message string `json:"message"`
}

// callPSP calls the MultiSafepay API through cardproxy's egress. An answer
// that is not JSON counts as unsuccessful.
func (s *Shop) callPSP(method, path string, body any) (*pspAnswer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.cfg.Egress+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out pspAnswer
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		out.Success = false
	}
	return &out, nil
}

var brands = map[string]string{"VISA": "Visa", "MASTERCARD": "Mastercard", "AMEX": "American Express", "MAESTRO": "Maestro"}

// result confirms the order with the PSP (the redirect alone proves nothing).
func (s *Shop) result(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("transactionid")
	if id == "" {
		s.fail(w, 400, "Unknown order", "No transaction id.")
		return
	}
	out, err := s.callPSP(http.MethodGet, "/orders/"+url.PathEscape(id), nil)
	if err != nil {
		s.fail(w, 502, "Payment status unknown", "The payment service could not be reached.")
		return
	}
	if !out.Success {
		s.fail(w, 404, "Unknown order", "The payment service does not know this order.")
		return
	}
	pd := out.Data.PaymentDetails
	brand := brands[pd.Type]
	if brand == "" {
		brand = "Card"
	}
	last4 := fmt.Sprintf("%04d", pd.Last4) // a number in the answer: 0042 is 42
	status := out.Data.Status
	if status == "completed" {
		s.render(w, 200, map[string]any{"Title": "Payment complete", "Class": "ok",
			"Detail": fmt.Sprintf("Order %s is paid: %s ending in %s.", id, brand, last4)})
		return
	}
	s.fail(w, 200, "Payment failed", fmt.Sprintf("Order %s was not paid (%s, %s ending in %s).", id, status, brand, last4))
}

// webhook verifies the PSP's signature over the raw body.
func (s *Shop) webhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := msp.Verify(s.cfg.APIKey, r.Header.Get(msp.AuthHeader), body, time.Now(), 10*time.Minute); err != nil {
		http.Error(w, "invalid signature", http.StatusForbidden)
		return
	}
	var o msp.Order // the body is the order
	_ = json.Unmarshal(body, &o)
	s.mu.Lock()
	s.webhooks[o.OrderID] = o.Status
	s.mu.Unlock()
	_, _ = io.WriteString(w, "OK")
}

// WebhookStatus reports the status a verified webhook announced for an order.
func (s *Shop) WebhookStatus(orderID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.webhooks[orderID]
	return st, ok
}

// parseAmount turns "25", "25.5" or "25.00" euros into cents.
func parseAmount(s string) (int, error) {
	s = strings.TrimSpace(strings.Replace(s, ",", ".", 1))
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, fmt.Errorf("too many decimals")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.Atoi(whole + frac)
	if err != nil || n <= 0 || strings.HasPrefix(whole, "-") {
		return 0, fmt.Errorf("invalid amount")
	}
	return n, nil
}

// Package pspsim is a MultiSafepay-compatible payment service provider
// sandbox for cardproxy's tests and demo (the real PSP cannot be reached from
// here). It speaks the documented wire format of MultiSafepay's JSON API for
// direct card orders, with its published test cards and their outcomes, a
// 3-D Secure challenge page, signed webhooks and order lookups; and an
// Adyen-style /v71/payments endpoint whose 3DS answer is a POST redirect.
//
// It records every API request it receives, so tests can prove that the PSP
// got the real card data while the merchant app never did.
package pspsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cardproxy/cardproxy/card"
)

// Config configures the simulator.
type Config struct {
	// APIKey is the merchant API key the simulator accepts (header
	// "api_key", query parameter api_key, or "Authorization: Bearer").
	APIKey string
	// PublicURL is where browsers reach the simulator (for payment_url and
	// the ACS pages), e.g. https://127.0.0.1:9443.
	PublicURL string
	// WebhookClient sends webhooks (default: 10 s timeout, no redirects).
	WebhookClient *http.Client
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Received is one API request as the simulator got it.
type Received struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Webhook is one notification the simulator sent.
type Webhook struct {
	URL    string
	Body   []byte
	Auth   string
	Status int
	Err    string
}

// Sim is the simulator. Use Handler() to serve it.
type Sim struct {
	cfg Config

	mu       sync.Mutex
	orders   map[string]*order
	received []Received
	webhooks []Webhook
}

type order struct {
	data     map[string]any // the order as returned in "data"
	pan      string
	notify   string
	redirect string
	cancel   string
	threeDS  string // "", "pending", "done"
	outcome  string // status after a successful challenge
	adyen    bool
	termURL  string
	md       string
}

// New returns a simulator.
func New(cfg Config) *Sim {
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sim{cfg: cfg, orders: map[string]*order{}}
}

// SetPublicURL sets the browser-facing base URL (after the listener is known).
func (s *Sim) SetPublicURL(u string) {
	s.mu.Lock()
	s.cfg.PublicURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// Received returns a copy of the API requests received so far.
func (s *Sim) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Webhooks returns the notifications sent so far.
func (s *Sim) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Webhook(nil), s.webhooks...)
}

// Handler serves the API, the ACS pages and /_sim/requests (a JSON dump of
// what was received, for demos).
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/json/orders", s.api(s.createOrder))
	mux.HandleFunc("GET /v1/json/orders/{id}", s.api(s.getOrder))
	mux.HandleFunc("POST /v1/json/orders/{id}/refunds", s.api(s.refund))
	mux.HandleFunc("POST /v71/payments", s.adyenAPI(s.adyenPayment))
	mux.HandleFunc("GET /acs/{id}", s.acsPage)
	mux.HandleFunc("POST /acs/{id}", s.acsPage) // 3DS1 form post (PaReq, MD, TermUrl)
	mux.HandleFunc("POST /acs/{id}/result", s.acsResult)
	mux.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		type dump struct {
			Method, Path, Query string
			Header              http.Header
			Body                string
		}
		var out []dump
		for _, rq := range s.Received() {
			out = append(out, dump{rq.Method, rq.Path, rq.Query, rq.Header, string(rq.Body)})
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	})
	return mux
}

type apiFunc func(r *http.Request, body []byte) (int, any)

func (s *Sim) record(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.received = append(s.received, Received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	s.mu.Unlock()
	return body, nil
}

func (s *Sim) apiKeyOK(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	for _, k := range []string{r.Header.Get("api_key"), r.URL.Query().Get("api_key"), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")} {
		if k != "" && hmac.Equal([]byte(k), []byte(s.cfg.APIKey)) {
			return true
		}
	}
	return false
}

func (s *Sim) api(f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := s.record(r)
		if err != nil {
			writeJSON(w, 400, mspError(1000, "could not read body"))
			return
		}
		if !s.apiKeyOK(r) {
			writeJSON(w, 401, mspError(1032, "Invalid API key"))
			return
		}
		status, out := f(r, body)
		writeJSON(w, status, out)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func mspError(code int, info string) map[string]any {
	return map[string]any{"success": false, "data": []any{}, "error_code": code, "error_info": info}
}

func ok(data any) map[string]any { return map[string]any{"success": true, "data": data} }

// Test-card outcomes (MultiSafepay test environment).
var threeDSCards = map[string]string{
	"4761340000000019": "completed",
	"4012001037461114": "declined", // 3DS fails
	"374200000000004":  "declined", // 3DS fails
}

var directOutcome = map[string]string{
	"4917300000000008": "uncleared",
	"4012001038488884": "declined", // insufficient funds
}

type mspOrderReq struct {
	Type           string      `json:"type"`
	Gateway        string      `json:"gateway"`
	OrderID        string      `json:"order_id"`
	Currency       string      `json:"currency"`
	Amount         json.Number `json:"amount"`
	Description    string      `json:"description"`
	RecurringID    string      `json:"recurring_id"`
	PaymentOptions struct {
		NotificationURL string `json:"notification_url"`
		RedirectURL     string `json:"redirect_url"`
		CancelURL       string `json:"cancel_url"`
	} `json:"payment_options"`
	Customer    map[string]any `json:"customer"`
	GatewayInfo struct {
		CardNumber     *string         `json:"card_number"`
		CardHolderName *string         `json:"card_holder_name"`
		CardExpiryDate json.RawMessage `json:"card_expiry_date"`
		CardCVC        *string         `json:"card_cvc"`
		CVC            *string         `json:"cvc"`
		TermURL        *string         `json:"term_url"`
	} `json:"gateway_info"`
}

func (s *Sim) newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Sim) createOrder(r *http.Request, body []byte) (int, any) {
	var req mspOrderReq
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		// Not err.Error(): a type error quotes the value, which may be a card.
		return 400, mspError(1000, "Invalid JSON body")
	}
	if req.OrderID == "" || req.Currency == "" || req.Amount == "" {
		return 400, mspError(1001, "order_id, currency and amount are required")
	}
	amount, err := req.Amount.Int64()
	if err != nil || amount <= 0 {
		return 400, mspError(1001, "Invalid amount")
	}
	if req.Type != "direct" {
		return 400, mspError(1000, "this sandbox implements type direct only")
	}
	gi := req.GatewayInfo
	if gi.CardNumber == nil || *gi.CardNumber == "" {
		return 400, mspError(1024, "card_number is required for a direct card order")
	}
	pan := *gi.CardNumber
	if !card.Valid(pan) {
		return 400, mspError(1024, "Invalid card number")
	}
	expiry := strings.Trim(string(gi.CardExpiryDate), `"`)
	if !validYYMM(expiry, s.cfg.Now()) {
		return 400, mspError(1024, "Invalid or expired card_expiry_date (YYMM)")
	}
	cvc := ""
	if gi.CardCVC != nil {
		cvc = *gi.CardCVC
	}
	if gi.CVC != nil && *gi.CVC != "" {
		if cvc != "" && cvc != *gi.CVC {
			return 400, mspError(1024, "card_cvc and cvc differ")
		}
		cvc = *gi.CVC
	}
	brand := card.BrandOf(pan)
	if brand != card.Bancontact && (len(cvc) != card.CVCLen(brand) || !digits(cvc)) {
		return 400, mspError(1024, "Invalid CVC")
	}
	if cvc != "" && cvc != "123" && cvc != "1234" {
		return 200, ok(s.store(req, pan, expiry, holder(gi.CardHolderName), "declined", "", r))
	}
	if outcome, is3DS := threeDSCards[pan]; is3DS {
		o := s.store(req, pan, expiry, holder(gi.CardHolderName), "initialized", outcome, r)
		return 200, ok(o)
	}
	status := "completed"
	if st, ok := directOutcome[pan]; ok {
		status = st
	}
	return 200, ok(s.store(req, pan, expiry, holder(gi.CardHolderName), status, "", r))
}

func holder(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validYYMM(s string, now time.Time) bool {
	if len(s) != 4 || !digits(s) {
		return false
	}
	yy, _ := strconv.Atoi(s[:2])
	mm, _ := strconv.Atoi(s[2:])
	if mm < 1 || mm > 12 {
		return false
	}
	y := 2000 + yy
	return y > now.Year() || (y == now.Year() && mm >= int(now.Month()))
}

func schemeName(b card.Brand) string {
	switch b {
	case card.Visa:
		return "VISA"
	case card.Mastercard:
		return "MASTERCARD"
	case card.Amex:
		return "AMEX"
	case card.Maestro:
		return "MAESTRO"
	}
	return "CREDITCARD"
}

// store creates the order; status "initialized" with a 3DS outcome sets the
// payment_url (and, for 3DS1 term_url requests, the POST form).
func (s *Sim) store(req mspOrderReq, pan, expiry, holderName, status, outcome string, r *http.Request) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.OrderID
	now := s.cfg.Now().UTC().Format("2006-01-02T15:04:05")
	last4, _ := strconv.Atoi(card.Last4(pan))
	data := map[string]any{
		"order_id":       id,
		"transaction_id": s.newID(),
		"amount":         json.Number(req.Amount.String()),
		"currency":       req.Currency,
		"description":    req.Description,
		"status":         status,
		"financial_status": map[string]string{
			"completed": "completed", "initialized": "initialized", "uncleared": "uncleared", "declined": "declined",
		}[status],
		"created":  now,
		"modified": now,
		"customer": req.Customer,
		"payment_details": map[string]any{
			"type":                schemeName(card.BrandOf(pan)),
			"last4":               last4,
			"card_expiry_date":    expiry,
			"account_holder_name": holderName,
		},
	}
	o := &order{data: data, pan: pan, notify: req.PaymentOptions.NotificationURL,
		redirect: req.PaymentOptions.RedirectURL, cancel: req.PaymentOptions.CancelURL, outcome: outcome}
	if status == "initialized" {
		o.threeDS = "pending"
		data["reason"] = "3D Secure Authorization"
		data["payment_url"] = s.cfg.PublicURL + "/acs/" + url.PathEscape(id)
		if req.GatewayInfo.TermURL != nil && *req.GatewayInfo.TermURL != "" {
			o.termURL = *req.GatewayInfo.TermURL
			o.md = s.newID()
			data["customer_verification"] = map[string]any{
				"type": "form",
				"html": s.autoPostHTML(s.cfg.PublicURL+"/acs/"+url.PathEscape(id), map[string]string{
					"PaReq": base64.StdEncoding.EncodeToString([]byte("pareq:" + id)), "MD": o.md, "TermUrl": o.termURL,
				}),
			}
		}
	}
	s.orders[id] = o
	return data
}

var autoPost = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>3-D Secure</title></head>
<body onload="document.forms[0].submit()">
<form method="POST" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<noscript><button type="submit">Continue</button></noscript>
</form></body></html>`))

func (s *Sim) autoPostHTML(action string, fields map[string]string) string {
	var b bytes.Buffer
	_ = autoPost.Execute(&b, map[string]any{"Action": action, "Fields": fields})
	return b.String()
}

func (s *Sim) getOrder(r *http.Request, _ []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[r.PathValue("id")]
	if !found {
		return 404, mspError(1006, "Invalid transaction ID")
	}
	return 200, ok(o.data)
}

func (s *Sim) refund(r *http.Request, body []byte) (int, any) {
	var req struct {
		Currency string      `json:"currency"`
		Amount   json.Number `json:"amount"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return 400, mspError(1000, "Invalid JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[r.PathValue("id")]
	if !found {
		return 404, mspError(1006, "Invalid transaction ID")
	}
	if o.data["status"] != "completed" {
		return 400, mspError(1025, "Order cannot be refunded in its current status")
	}
	return 200, ok(map[string]any{"transaction_id": s.newID(), "refund_id": s.newID()})
}

var acsPage = template.Must(template.New("acs").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>3-D Secure challenge (pspsim)</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}button{font-size:1.1em;margin:.3em}</style></head>
<body><h1>3-D Secure challenge</h1>
<p>Sandbox issuer. Order <b>{{.ID}}</b>, {{.Amount}} {{.Currency}}, card ending in {{.Last4}}.</p>
<form method="POST" action="/acs/{{.ID}}/result">
<input type="hidden" name="MD" value="{{.MD}}">
<button id="authenticate" name="outcome" value="authenticate" type="submit">Authenticate</button>
<button id="fail" name="outcome" value="fail" type="submit">Fail authentication</button>
</form></body></html>`))

func (s *Sim) acsPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, found := s.orders[r.PathValue("id")]
	var view map[string]any
	if found {
		view = map[string]any{"ID": o.data["order_id"], "Amount": o.data["amount"], "Currency": o.data["currency"], "Last4": card.Last4(o.pan), "MD": o.md}
	}
	s.mu.Unlock()
	if !found || o.threeDS != "pending" {
		http.Error(w, "no 3-D Secure challenge pending for this order", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = acsPage.Execute(w, view)
}

// acsResult finishes the challenge: order status, signed webhook, then the
// browser goes back to the shop (redirect_url, or cancel_url on failure), or
// for 3DS1 an auto-posted PaRes+MD to the TermUrl.
func (s *Sim) acsResult(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id := r.PathValue("id")
	s.mu.Lock()
	o, found := s.orders[id]
	if !found || o.threeDS != "pending" {
		s.mu.Unlock()
		http.Error(w, "no 3-D Secure challenge pending for this order", http.StatusNotFound)
		return
	}
	o.threeDS = "done"
	authenticated := r.PostForm.Get("outcome") == "authenticate"
	status := o.outcome
	if !authenticated {
		status = "declined"
	}
	o.data["status"] = status
	o.data["financial_status"] = status
	o.data["modified"] = s.cfg.Now().UTC().Format("2006-01-02T15:04:05")
	auth := map[string]any{"version": "2.2.0", "ds_transaction_id": s.newID(), "acs_transaction_id": s.newID()}
	if authenticated && status == "completed" {
		auth["eci"], auth["status"], auth["cavv"] = "05", "Y", base64.StdEncoding.EncodeToString([]byte("cavv-"+id))
	} else {
		auth["eci"], auth["status"] = "07", "N"
	}
	o.data["payment_details"].(map[string]any)["card_authentication_result"] = auth
	body, _ := json.Marshal(o.data)
	notify, redirect, cancel, adyen, term, md := o.notify, o.redirect, o.cancel, o.adyen, o.termURL, o.md
	s.mu.Unlock()

	if notify != "" && !adyen {
		s.sendWebhook(notify, id, body)
	}
	if term != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, s.autoPostHTML(term, map[string]string{
			"PaRes": base64.StdEncoding.EncodeToString([]byte("pares:" + id + ":" + status)), "MD": md,
		}))
		return
	}
	target := redirect
	if status != "completed" && cancel != "" {
		target = cancel
	}
	if target == "" {
		_, _ = io.WriteString(w, "3-D Secure finished: "+status)
		return
	}
	http.Redirect(w, r, appendQuery(target, "transactionid", id), http.StatusSeeOther)
}

func appendQuery(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
}

// Sign returns the MultiSafepay webhook Auth header for a body:
// base64("<timestamp>:<hex HMAC-SHA512(api_key, "<timestamp>:<body>")>").
func Sign(apiKey string, timestamp int64, body []byte) string {
	ts := strconv.FormatInt(timestamp, 10)
	m := hmac.New(sha512.New, []byte(apiKey))
	m.Write([]byte(ts + ":"))
	m.Write(body)
	return base64.StdEncoding.EncodeToString([]byte(ts + ":" + hex.EncodeToString(m.Sum(nil))))
}

// Verify checks a webhook Auth header against the raw body (what a merchant
// app does). maxAge bounds the timestamp's age (0: no check).
func Verify(apiKey, auth string, body []byte, now time.Time, maxAge time.Duration) error {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return fmt.Errorf("auth header is not base64")
	}
	ts, _, found := strings.Cut(string(raw), ":")
	if !found {
		return fmt.Errorf("auth header has no timestamp")
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp")
	}
	if maxAge > 0 && now.Sub(time.Unix(n, 0)) > maxAge {
		return fmt.Errorf("webhook too old")
	}
	want := Sign(apiKey, n, body)
	if !hmac.Equal([]byte(want), []byte(auth)) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

func (s *Sim) sendWebhook(notify, id string, body []byte) {
	ts := s.cfg.Now().Unix()
	u := appendQuery(appendQuery(notify, "transactionid", id), "timestamp", strconv.FormatInt(ts, 10))
	auth := Sign(s.cfg.APIKey, ts, body)
	wh := Webhook{URL: u, Body: body, Auth: auth}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Auth", auth)
		req.Header.Set("User-Agent", "MultiSafepay Plugin Notification")
		resp, derr := s.cfg.WebhookClient.Do(req)
		if derr != nil {
			wh.Err = derr.Error()
		} else {
			wh.Status = resp.StatusCode
			resp.Body.Close()
		}
	} else {
		wh.Err = err.Error()
	}
	s.mu.Lock()
	s.webhooks = append(s.webhooks, wh)
	s.mu.Unlock()
}

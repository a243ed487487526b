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
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cardproxy/cardproxy/msp"
)

// The simulator's files, one job each: this one the server (configuration,
// routes, request recording, API-key check); orders.go the MultiSafepay
// order API and order state; acs.go the 3-D Secure pages; webhook.go the
// signed notifications; adyen.go the Adyen-style endpoint; tls.go the
// throwaway CA.

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
	orders   map[string]*order // by order_id (Adyen: reference)
	received []Received
	webhooks []Webhook
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
			writeJSON(w, 400, msp.Error(1000, "could not read body"))
			return
		}
		if !s.apiKeyOK(r) {
			writeJSON(w, 401, msp.Error(1032, "Invalid API key"))
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

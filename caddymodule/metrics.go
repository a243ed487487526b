package caddymodule

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are registered on every config load (Caddy builds a fresh registry
// each time). Labels are fixed small sets: never anything derived from a card
// or a token.
type metrics struct {
	requests     *prometheus.CounterVec
	tokens       *prometheus.CounterVec
	vaultSeconds prometheus.Histogram
}

func registerMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cardproxy", Name: "tokenize_requests_total",
			Help: "Requests seen by card_tokenize, by outcome (passed, no_card, tokenized, or the refusal code).",
		}, []string{"result"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cardproxy", Name: "tokens_issued_total",
			Help: "Tokens handed out by card_tokenize (pan includes dedupe hits).",
		}, []string{"kind"}),
		vaultSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "cardproxy", Name: "tokenize_vault_seconds",
			Help:    "Time spent in Vault per tokenized request.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.tokens, err = register(reg, m.tokens)
	if err != nil {
		return nil, err
	}
	m.vaultSeconds, err = register(reg, m.vaultSeconds)
	return m, err
}

// register adds c, or returns the collector already registered under the same
// name (several handlers in one config share it).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

type egressMetrics struct {
	requests    *prometheus.CounterVec
	detokenized *prometheus.CounterVec
	masked      prometheus.Counter
}

func registerEgressMetrics(reg prometheus.Registerer) (*egressMetrics, error) {
	m := &egressMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cardproxy", Name: "detokenize_requests_total",
			Help: "Egress requests by outcome (forwarded, psp_unreachable, or the refusal code).",
		}, []string{"result"}),
		detokenized: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cardproxy", Name: "detokenizations_total",
			Help: "Token lookups on the egress by kind (pan, cvc) and result (ok, unknown, expired, tampered, vault_error).",
		}, []string{"kind", "result"}),
		masked: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "cardproxy", Name: "psp_response_pans_masked_total",
			Help: "Card numbers found and masked in PSP answers.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.detokenized, err = register(reg, m.detokenized); err != nil {
		return nil, err
	}
	m.masked, err = register(reg, m.masked)
	return m, err
}

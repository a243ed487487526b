package caddymodule

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/ingress"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	caddy.RegisterModule(Tokenize{})
}

// Tokenize is the ingress handler: it finds card numbers and CVCs in checkout
// request bodies (JSON, URL-encoded forms, multipart forms), stores them in
// Vault and passes the request on with tokens in their place. The app behind
// it never sees card data.
//
// Field rules name fields by path: "card_number", "gateway_info.card_number",
// "payment[cc_number]" (same as "payment.cc_number"), "cards.*.number",
// "**.cvc" (cvc at any depth). Auto-detect (on by default) also tokenizes any
// other string or JSON number value that is, after removing spaces and dashes,
// a 12–19 digit Luhn-valid number with a known card IIN.
type Tokenize struct {
	// Tenant overrides the app's tenant for tokens made here.
	Tenant string `json:"tenant,omitempty"`

	PAN         []string `json:"pan,omitempty"`
	CVC         []string `json:"cvc,omitempty"`
	Expiry      []string `json:"expiry,omitempty"`
	ExpiryMonth []string `json:"expiry_month,omitempty"`
	ExpiryYear  []string `json:"expiry_year,omitempty"`
	Holder      []string `json:"holder,omitempty"`
	// Ignore lists fields auto-detect must leave alone (e.g. an order
	// number that happens to pass Luhn). Fields named as PAN or CVC are
	// never ignored.
	Ignore []string `json:"ignore,omitempty"`

	// Format of PAN tokens: "opaque" (default, cp_pan_…) or
	// "preserve_last4" (same length as the PAN, last 4 kept, fails Luhn).
	Format string `json:"format,omitempty"`
	// FieldFormats overrides Format for some fields: field pattern →
	// "opaque" or "preserve_last4" (e.g. a legacy field that must keep a
	// card number's shape).
	FieldFormats map[string]string `json:"field_formats,omitempty"`
	// AutoDetect finds card numbers in fields not named above (default
	// true).
	AutoDetect *bool `json:"auto_detect,omitempty"`
	// MaxBody limits the body in bytes, before and after gzip decoding
	// (default 1 MiB). Larger bodies get 413.
	MaxBody int64 `json:"max_body,omitempty"`
	// MaxFields and MaxDepth bound the values and the nesting of one body
	// (defaults 1000 and 32; over them: 413 body_too_complex). MaxCards and MaxCVCs
	// bound the distinct card numbers and CVCs of one request (default 5
	// each; over them: 400).
	MaxFields int `json:"max_fields,omitempty"`
	MaxDepth  int `json:"max_depth,omitempty"`
	MaxCards  int `json:"max_cards,omitempty"`
	MaxCVCs   int `json:"max_cvcs,omitempty"`
	// Metadata: "headers" (default) adds Cardproxy-Card-* request headers
	// with token, brand, last 4 (and BIN if ExposeBIN) for the app; "none"
	// adds nothing. Client-sent Cardproxy-* headers are always removed.
	Metadata string `json:"metadata,omitempty"`
	// BindUpstream binds the PAN tokens this route issues to these PSP
	// hosts (host or host:port of card_detokenize's upstream): an egress
	// to any other upstream refuses them (403 token_not_allowed). Dedupe
	// keeps bindings apart: the same card under another binding is another
	// token. Unset: any egress of the tenant may use them.
	BindUpstream []string `json:"bind_upstream,omitempty"`
	ExposeBIN    bool     `json:"expose_bin,omitempty"`

	core    ingress.Config
	store   ingress.Tokenizer
	tenant  string
	logger  *zap.Logger
	audit   auditor
	metrics *metrics
}

// CaddyModule returns the Caddy module information.
func (Tokenize) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.card_tokenize",
		New: func() caddy.Module { return new(Tokenize) },
	}
}

// DefaultMaxBody is the default body limit.
const DefaultMaxBody = 1 << 20

// Provision connects the handler to the cardproxy app and compiles its rules.
func (t *Tokenize) Provision(ctx caddy.Context) error {
	app, err := appFrom(ctx, "card_tokenize")
	if err != nil {
		return err
	}
	if err := t.setup(app, ctx.Logger(), ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	t.audit.log = auditLogger(ctx)
	return nil
}

func (t *Tokenize) setup(app *App, logger *zap.Logger, reg prometheus.Registerer) error {
	t.logger = logger
	t.store = app.IngressStore()
	t.tenant = app.tenant(t.Tenant)
	t.audit = newAuditor(logger, "ingress", t.tenant, app.identityOf(app.IngressStore()))
	format, err := token.ParseFormat(t.Format)
	if err != nil {
		return fmt.Errorf("card_tokenize: %w", err)
	}
	var formats []ingress.FieldFormat
	for field, name := range t.FieldFormats {
		f, err := token.ParseFormat(name)
		if err != nil {
			return fmt.Errorf("card_tokenize: field %q: %w", field, err)
		}
		formats = append(formats, ingress.FieldFormat{Pattern: bodyrewrite.ParsePattern(field), Format: f})
	}
	if format == token.FormatPreserveLast4 || len(formats) > 0 {
		app.issuesPreserving = true
	}
	if t.MaxBody == 0 {
		t.MaxBody = DefaultMaxBody
	}
	if t.MaxCards == 0 {
		t.MaxCards = 5
	}
	if t.MaxCVCs == 0 {
		t.MaxCVCs = 5
	}
	purpose, err := token.NewPurpose(t.BindUpstream)
	if err != nil {
		return fmt.Errorf("card_tokenize: %w", err)
	}
	t.core = ingress.Config{
		Purpose: purpose,
		// Order matters: PAN and CVC rules win over ignore.
		Rules: fieldmap.Compile(fieldmap.Set{PAN: t.PAN, CVC: t.CVC, Expiry: t.Expiry, ExpiryMonth: t.ExpiryMonth,
			ExpiryYear: t.ExpiryYear, Holder: t.Holder}, t.Ignore),
		Auto:         t.AutoDetect == nil || *t.AutoDetect,
		Format:       format,
		FieldFormats: formats,
		MaxBody:      t.MaxBody,
		Limits:       bodyrewrite.Limits{MaxDepth: t.MaxDepth, MaxFields: t.MaxFields},
		MaxCards:     t.MaxCards,
		MaxCVCs:      t.MaxCVCs,
		Preserving:   app.preservingTokens,
	}
	t.metrics, err = registerMetrics(reg)
	return err
}

// Validate checks the configuration.
func (t *Tokenize) Validate() error {
	if !vault.ValidTenant(t.tenant) {
		return fmt.Errorf("card_tokenize: invalid tenant %q", t.tenant)
	}
	if t.MaxBody < 0 || t.MaxFields < 0 || t.MaxDepth < 0 || t.MaxCards < 0 || t.MaxCVCs < 0 {
		return fmt.Errorf("card_tokenize: max_body, max_fields, max_depth, max_cards and max_cvcs must be positive")
	}
	switch t.Metadata {
	case "", "headers", "none":
	default:
		return fmt.Errorf("card_tokenize: metadata must be headers or none, not %q", t.Metadata)
	}
	if len(t.PAN) == 0 && len(t.CVC) == 0 && !t.core.Auto {
		return fmt.Errorf("card_tokenize: nothing to do: no pan or cvc fields and auto_detect off")
	}
	return nil
}

// ServeHTTP walks the request through the ingress core — check (scan and
// plan), exchange with Vault, apply — and calls the next handler, or refuses
// the request: nothing cardproxy cannot read with certainty reaches the app
// if it may carry card data.
func (t *Tokenize) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	token.StripMetaHeaders(r.Header)
	req, rerr := t.core.Check(r) // scan → plan
	if rerr != nil {
		return t.refuse(w, r, rerr)
	}
	if req.Plan.Empty() {
		result := "no_card"
		if req.Plan == nil {
			result = "passed"
		}
		t.metrics.requests.WithLabelValues(result).Inc()
		return next.ServeHTTP(w, r)
	}
	start := time.Now()
	toks, rerr := ingress.Exchange(r.Context(), t.store, t.tenant, req.Plan) // → Vault
	vaultTime := time.Since(start)
	t.metrics.vaultSeconds.Observe(vaultTime.Seconds())
	if rerr == nil {
		rerr = req.Apply(toks) // → tokens in the body, final check
	}
	if rerr != nil {
		return t.refuse(w, r, rerr)
	}
	if t.Metadata != "none" {
		ingress.MetaHeaders(r.Header, req.Plan, toks, t.ExposeBIN)
	}
	t.metrics.requests.WithLabelValues("tokenized").Inc()
	t.metrics.tokens.WithLabelValues("pan").Add(float64(len(toks.Cards)))
	t.metrics.tokens.WithLabelValues("cvc").Add(float64(len(toks.CVCs)))
	t.audit.event(r, evTokenize, "tokenized request",
		zap.String("method", card.Redact(r.Method)), zap.String("uri", logURI(r)),
		zap.Int("cards", len(toks.Cards)), zap.Int("cvcs", len(toks.CVCs)),
		zap.Strings("tokens", toks.All()), zap.Strings("fields", req.Plan.FieldNames()),
		zap.Int("reused", toks.Reused()), zap.Duration("vault_time", vaultTime))
	return next.ServeHTTP(w, r) // → the app
}

// refuse answers a refusal; the request never reaches the app. It is written
// here, not returned to Caddy's handle_errors: see the README (Refusals).
func (t *Tokenize) refuse(w http.ResponseWriter, r *http.Request, rerr *refusal.Error) error {
	t.metrics.requests.WithLabelValues(string(rerr.Code)).Inc()
	t.audit.failed(r, evRefuse, "card request refused",
		zap.String("code", string(rerr.Code)), zap.Int("status", rerr.Status()),
		zap.String("reason", card.Redact(rerr.Message)),
		zap.String("method", card.Redact(r.Method)), zap.String("uri", logURI(r)),
		zap.String("cause", maskErr(rerr.Cause)))
	return rerr.Write(w)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Tokenize)(nil)
	_ caddy.Validator             = (*Tokenize)(nil)
	_ caddyhttp.MiddlewareHandler = (*Tokenize)(nil)
)

// logURI is the request path for logs, card numbers masked. The query is
// left out ("?…"): a shopper can put a CVC there, which no mask recognises.
func logURI(r *http.Request) string {
	p := card.Printable(card.Redact(r.URL.EscapedPath()), 256) // the client chose it: masked and bounded
	if r.URL.RawQuery != "" {
		p += "?…"
	}
	return p
}

// maskErr is an error for a log line, card numbers masked.
func maskErr(err error) string {
	if err == nil {
		return ""
	}
	return card.Redact(err.Error())
}

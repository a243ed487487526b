package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/egress"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/relay"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	caddy.RegisterModule(Detokenize{})
}

// Detokenize is the egress handler: the app sends its PSP request with
// cardproxy tokens; Detokenize swaps the card data back in and sends the
// request to ONE fixed upstream (the PSP), then scans the answer for card
// numbers before the app sees it.
//
// It proxies by itself instead of handing over to reverse_proxy, so the card
// data it restores can only ever go to the upstream in its own config: no
// placeholder, Host header, absolute-form URI or redirect can send it
// elsewhere. Redirects are never followed; proxy environment variables are
// ignored.
type Detokenize struct {
	// Upstream is the PSP base URL, e.g. https://testapi.multisafepay.com.
	// The request path is appended to its path. Must be https://.
	Upstream string `json:"upstream"`
	// InsecurePlainHTTPUpstream allows an http:// upstream (local tests
	// only). Card data would cross the network unencrypted.
	InsecurePlainHTTPUpstream bool `json:"insecure_plain_http_upstream,omitempty"`
	// CACert is a PEM file of CAs to trust for the upstream (default: the
	// system pool). TLSServerName overrides the name checked.
	CACert        string `json:"ca_cert,omitempty"`
	TLSServerName string `json:"tls_server_name,omitempty"`

	// Preset names a PSP field map: multisafepay, adyen, stripe, checkout.
	Preset      string   `json:"preset,omitempty"`
	PAN         []string `json:"pan,omitempty"`
	CVC         []string `json:"cvc,omitempty"`
	Expiry      []string `json:"expiry,omitempty"`
	ExpiryMonth []string `json:"expiry_month,omitempty"`
	ExpiryYear  []string `json:"expiry_year,omitempty"`
	Holder      []string `json:"holder,omitempty"`

	Tenant string `json:"tenant,omitempty"`
	// MaxBody limits the app's request body (default 1 MiB); MaxResponse
	// the PSP answers cardproxy scans (default 4 MiB; larger → 502).
	MaxBody     int64 `json:"max_body,omitempty"`
	MaxResponse int64 `json:"max_response,omitempty"`
	// Timeout for the whole upstream exchange (default 60s).
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// APIKey, when set, is added to every upstream request (and any key
	// the app sent is removed), so the app need not hold it. Use an
	// {env.*} or {file.*} placeholder. APIKeyHeader defaults to the
	// preset's: "api_key" (MultiSafepay), "X-API-Key" (Adyen), "bearer".
	APIKey       string `json:"api_key,omitempty"`
	APIKeyHeader string `json:"api_key_header,omitempty"`

	// RelayURL, when set, is the public base URL of a card_3ds_relay route
	// on the ingress (e.g. https://shop.example/3ds). POST-style 3-D Secure
	// redirects in PSP answers (Adyen action.method POST, MultiSafepay
	// customer_verification form) are stored in Vault for RelayTTL (default
	// 10m) and replaced by a plain GET redirect to that URL.
	RelayURL string         `json:"relay_3ds,omitempty"`
	RelayTTL caddy.Duration `json:"relay_ttl,omitempty"`

	core     egress.Config
	store    egress.Detokenizer
	relays   relay.Store
	tenant   string
	upstream *url.URL
	client   *http.Client
	apiKey   string
	logger   *zap.Logger
	audit    auditor
	metrics  *egressMetrics
}

// CaddyModule returns the Caddy module information.
func (Detokenize) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.card_detokenize",
		New: func() caddy.Module { return new(Detokenize) },
	}
}

// Provision builds the upstream client and the field rules.
func (d *Detokenize) Provision(ctx caddy.Context) error {
	app, err := appFrom(ctx, "card_detokenize")
	if err != nil {
		return err
	}
	if err := d.setup(app, ctx.Logger(), ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	d.audit.log = auditLogger(ctx)
	return nil
}

func (d *Detokenize) setup(app *App, logger *zap.Logger, reg prometheus.Registerer) error {
	d.logger = logger
	d.store = app.EgressStore()
	d.relays = app.EgressStore()
	d.tenant = app.tenant(d.Tenant)
	d.audit = newAuditor(logger, "egress", d.tenant, app.identityOf(app.EgressStore()))
	if d.MaxBody == 0 {
		d.MaxBody = DefaultMaxBody
	}
	if d.MaxResponse == 0 {
		d.MaxResponse = 4 << 20
	}
	if d.Timeout == 0 {
		d.Timeout = caddy.Duration(60 * time.Second)
	}
	if d.RelayTTL == 0 {
		d.RelayTTL = caddy.Duration(10 * time.Minute)
	}
	var preset fieldmap.Preset
	if d.Preset != "" {
		p, ok := fieldmap.Presets[d.Preset]
		if !ok {
			return fmt.Errorf("card_detokenize: unknown preset %q (have multisafepay, adyen, stripe, checkout)", d.Preset)
		}
		preset = p
	}
	repl := caddy.NewReplacer()
	d.apiKey = repl.ReplaceKnown(d.APIKey, "")
	if d.APIKey != "" && d.apiKey == "" {
		return fmt.Errorf("card_detokenize: api_key resolved to an empty value")
	}
	if d.APIKeyHeader == "" {
		d.APIKeyHeader = preset.APIKeyHeader
	}
	if d.apiKey != "" && d.APIKeyHeader == "" {
		return fmt.Errorf("card_detokenize: api_key needs api_key_header (or a preset)")
	}

	u, err := url.Parse(repl.ReplaceKnown(d.Upstream, ""))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("card_detokenize: upstream must be a plain base URL like https://api.psp.example, got %q", d.Upstream)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && d.InsecurePlainHTTPUpstream:
		logger.Warn("card_detokenize: INSECURE plain-HTTP upstream: card data will cross the network unencrypted; never use this outside local tests",
			zap.String("upstream", u.Redacted()))
	default:
		return fmt.Errorf("card_detokenize: refusing upstream %q: card data only goes to an https:// upstream (insecure_plain_http_upstream allows http:// for local tests)", d.Upstream)
	}
	d.upstream = u

	if d.client, err = d.upstreamClient(repl); err != nil {
		return err
	}

	d.core = egress.Config{
		Rules: fieldmap.Compile(preset.Fields.Plus(fieldmap.Set{PAN: d.PAN, CVC: d.CVC, Expiry: d.Expiry,
			ExpiryMonth: d.ExpiryMonth, ExpiryYear: d.ExpiryYear, Holder: d.Holder}), nil),
		Preset:     preset,
		Preserving: app.preservingTokens,
		Upstream:   d.upstream.Host,
	}
	if d.RelayURL != "" {
		ru, err := url.Parse(d.RelayURL)
		if err != nil || (ru.Scheme != "https" && ru.Scheme != "http") || ru.Host == "" {
			return fmt.Errorf("card_detokenize: relay_3ds must be an absolute URL, got %q", d.RelayURL)
		}
	}
	d.metrics, err = registerEgressMetrics(reg)
	return err
}

// Validate checks the tenant.
func (d *Detokenize) Validate() error {
	if !vault.ValidTenant(d.tenant) {
		return fmt.Errorf("card_detokenize: invalid tenant %q", d.tenant)
	}
	return nil
}

// ServeHTTP detokenizes and proxies. It is a terminal handler: next is not
// called.
func (d *Detokenize) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	reqID := requestID(r)
	body, rerr := d.readRequest(r)
	if rerr == nil && textscan.HasToken(r.URL.RawQuery) {
		rerr = egress.TokenOutsideCardField("the query string")
	}
	var plan *egress.Plan
	if rerr == nil && len(body) > 0 {
		plan, rerr = d.core.Plan(r.Header, body) // scan → plan
	}
	var sent egress.Secrets
	if rerr == nil && !plan.Empty() {
		var audit []egress.Lookup
		sent, audit, rerr = d.core.Exchange(r.Context(), d.store, d.tenant, plan) // → Vault
		d.logAudit(r, audit)
		if rerr == nil {
			body, rerr = d.core.Apply(plan, sent) // → card data in the body
		}
	}
	if rerr != nil {
		return d.refuse(w, r, reqID, rerr)
	}

	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(d.Timeout))
	defer cancel()
	up, err := d.outbound(ctx, r, body)
	if err != nil {
		return d.refuse(w, r, reqID, refusal.New(refusal.BadRequest, err.Error()))
	}
	resp, err := d.client.Do(up) // → the PSP, and nowhere else
	if err != nil {
		// The error text can hold the URL (and so a query api_key): log
		// the upstream host only.
		d.logger.Error("PSP request failed", zap.String("upstream", d.upstream.Host), zap.String("request_id", reqID),
			zap.Bool("timeout", errors.Is(err, context.DeadlineExceeded)))
		return d.refuse(w, r, reqID, refusal.New(refusal.PSPUnreachable, "the payment provider could not be reached; the request may not have been processed. Check the order status before retrying."))
	}
	defer resp.Body.Close()
	d.metrics.requests.WithLabelValues("forwarded").Inc()
	return d.answer(w, r, resp, reqID, sent) // → the answer, masked, to the app
}

func (d *Detokenize) refuse(w http.ResponseWriter, r *http.Request, reqID string, e *refusal.Error) error {
	d.metrics.requests.WithLabelValues(string(e.Code)).Inc()
	d.audit.failed(r, evRefuse, "egress request refused", zap.String("code", string(e.Code)), zap.Int("status", e.Status()),
		zap.String("reason", card.Redact(e.Message)), zap.String("route", logURI(r)),
		zap.String("upstream", d.upstream.Host), zap.String("cause", maskErr(e.Cause)))
	if d.Preset == "stripe" {
		// Stripe's SDKs retry 5xx answers by themselves; a retry of a
		// refused payment cannot succeed once its CVC is used (and a
		// refusal before that is the app's to retry, not the SDK's).
		w.Header().Set("Stripe-Should-Retry", "false")
	}
	return e.Write(w)
}

// logAudit writes one audit event per token looked up: detokenize (a card)
// or cvc_use (a CVC used up), with its result.
func (d *Detokenize) logAudit(r *http.Request, audit []egress.Lookup) {
	for _, a := range audit {
		d.metrics.detokenized.WithLabelValues(a.Kind, a.Result).Inc()
		ev := evDetokenize
		if a.Kind == "cvc" {
			ev = evCVCUse
		}
		fields := []zap.Field{zap.String("kind", a.Kind), zap.String("token", a.Token), zap.String("result", a.Result),
			zap.String("route", logURI(r)), zap.String("upstream", d.upstream.Host)}
		if a.Result == "ok" {
			d.audit.event(r, ev, "detokenized", fields...)
		} else {
			d.audit.failed(r, ev, "detokenize refused", fields...)
		}
	}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Detokenize)(nil)
	_ caddy.Validator             = (*Detokenize)(nil)
	_ caddyhttp.MiddlewareHandler = (*Detokenize)(nil)
)

package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
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
	Metadata  string `json:"metadata,omitempty"`
	ExposeBIN bool   `json:"expose_bin,omitempty"`

	app     *App
	store   *vault.Store
	tenant  string
	format  token.Format
	formats []fieldFormat
	auto    bool
	rules   fieldmap.Rules
	limits  bodyrewrite.Limits
	logger  *zap.Logger
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
	return t.setup(app, ctx.Logger(), ctx.GetMetricsRegistry())
}

func (t *Tokenize) setup(app *App, logger *zap.Logger, reg prometheus.Registerer) error {
	var err error
	t.logger = logger
	t.app = app
	t.store = app.Store()
	t.tenant = app.tenant(t.Tenant)
	if t.format, err = token.ParseFormat(t.Format); err != nil {
		return fmt.Errorf("card_tokenize: %w", err)
	}
	t.formats = nil
	for field, name := range t.FieldFormats {
		f, err := token.ParseFormat(name)
		if err != nil {
			return fmt.Errorf("card_tokenize: field %q: %w", field, err)
		}
		t.formats = append(t.formats, fieldFormat{bodyrewrite.ParsePattern(field), f})
	}
	if t.format == token.FormatPreserveLast4 || len(t.formats) > 0 {
		app.issuesPreserving = true
	}
	t.auto = t.AutoDetect == nil || *t.AutoDetect
	if t.MaxBody == 0 {
		t.MaxBody = DefaultMaxBody
	}
	t.limits = bodyrewrite.Limits{MaxDepth: t.MaxDepth, MaxFields: t.MaxFields}
	if t.MaxCards == 0 {
		t.MaxCards = 5
	}
	if t.MaxCVCs == 0 {
		t.MaxCVCs = 5
	}
	// Order matters: PAN and CVC rules win over ignore.
	t.rules = fieldmap.Compile(fieldmap.Set{PAN: t.PAN, CVC: t.CVC, Expiry: t.Expiry, ExpiryMonth: t.ExpiryMonth,
		ExpiryYear: t.ExpiryYear, Holder: t.Holder}, t.Ignore)
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
	if len(t.PAN) == 0 && len(t.CVC) == 0 && !t.auto {
		return fmt.Errorf("card_tokenize: nothing to do: no pan or cvc fields and auto_detect off")
	}
	return nil
}

// MetaHeaderPrefix starts every header cardproxy adds for the app. Any header
// with this prefix that the client sent is removed first, so the app can
// trust them.
const MetaHeaderPrefix = "Cardproxy-"

func stripMetaHeaders(h http.Header) {
	// A client's "Connection: Cardproxy-Card-Token" would make
	// reverse_proxy drop cardproxy's own header.
	if vs := h.Values("Connection"); len(vs) > 0 {
		var keep []string
		for _, v := range vs {
			for _, tok := range strings.Split(v, ",") {
				n := strings.ReplaceAll(strings.TrimSpace(tok), "_", "-")
				if len(n) < len(MetaHeaderPrefix) || !strings.EqualFold(n[:len(MetaHeaderPrefix)], MetaHeaderPrefix) {
					keep = append(keep, strings.TrimSpace(tok))
				}
			}
		}
		h.Del("Connection")
		if len(keep) > 0 {
			h.Set("Connection", strings.Join(keep, ", "))
		}
	}
	for k := range h {
		// Cardproxy_Card_Last4 too: PHP maps '-' and '_' both to '_'.
		if n := strings.ReplaceAll(k, "_", "-"); len(n) >= len(MetaHeaderPrefix) && strings.EqualFold(n[:len(MetaHeaderPrefix)], MetaHeaderPrefix) {
			delete(h, k)
		}
	}
}

// ServeHTTP inspects the request — query, headers and, whatever the method,
// any body — tokenizes the card data in it and calls the next handler, or
// refuses the request: nothing cardproxy cannot read with certainty reaches
// the app if it may carry card data.
func (t *Tokenize) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	stripMetaHeaders(r.Header)
	res, rerr := t.inspect(r)
	if rerr != nil {
		t.metrics.requests.WithLabelValues(string(rerr.Code)).Inc()
		t.logger.Warn("card request refused",
			zap.String("code", string(rerr.Code)), zap.Int("status", rerr.Status()),
			zap.String("reason", maskLog(rerr.Message)), zap.String("tenant", t.tenant),
			zap.String("method", maskLog(r.Method)), zap.String("uri", logURI(r)),
			zap.String("cause", maskErr(rerr.Cause)))
		return rerr.Write(w)
	}
	switch {
	case res == nil:
		t.metrics.requests.WithLabelValues("passed").Inc()
	case res.pans == 0 && res.cvcs == 0:
		t.metrics.requests.WithLabelValues("no_card").Inc()
	default:
		t.metrics.requests.WithLabelValues("tokenized").Inc()
		t.metrics.tokens.WithLabelValues("pan").Add(float64(res.pans))
		t.metrics.tokens.WithLabelValues("cvc").Add(float64(res.cvcs))
		t.logger.Info("tokenized request",
			zap.String("tenant", t.tenant), zap.String("method", maskLog(r.Method)), zap.String("uri", logURI(r)),
			zap.Int("cards", res.pans), zap.Int("cvcs", res.cvcs),
			zap.Strings("tokens", res.tokens), zap.Strings("fields", res.fields),
			zap.Int("reused", res.reused), zap.Duration("vault_time", res.vaultTime))
	}
	return next.ServeHTTP(w, r)
}

type result struct {
	pans, cvcs, reused int
	tokens, fields     []string
	vaultTime          time.Duration
}

// inspect checks the query and headers, then reads, checks and rewrites the
// body. It returns nil when there was no body, and a result without cards
// when the body had none (the original bytes are passed on).
func (t *Tokenize) inspect(r *http.Request) (*result, *refusal.Error) {
	if r.Header.Get("Upgrade") != "" || strings.EqualFold(r.Method, http.MethodConnect) {
		// After a 101 (WebSocket) or a CONNECT, reverse_proxy pipes bytes
		// both ways uninspected: a card route cannot carry a tunnel.
		return nil, refusal.New(refusal.UpgradeNotAllowed, "card routes do not carry WebSocket or other upgraded connections (nor CONNECT); serve them on a route without card_tokenize and send card data in request bodies")
	}
	if herr := checkRequestLine(r, t.app.preservingTokens()); herr != nil {
		return nil, herr
	}
	if herr := checkPath(r.URL.EscapedPath(), t.app.preservingTokens()); herr != nil {
		return nil, herr
	}
	if herr := t.checkQuery(r.URL.RawQuery); herr != nil {
		return nil, herr
	}
	if herr := checkHeaders(r.Header, t.app.preservingTokens()); herr != nil {
		return nil, herr
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	kind, params, herr := httpbody.Classify(r.Header)
	if herr != nil {
		return nil, herr
	}
	gz, herr := httpbody.ContentEncoding(r.Header)
	if herr != nil {
		return nil, herr
	}
	raw, herr := httpbody.Read(r, t.MaxBody)
	if herr != nil {
		return nil, herr
	}
	body := raw
	if gz {
		var err error
		if body, err = httpbody.Gunzip(raw, t.MaxBody); errors.Is(err, httpbody.ErrDecodedTooLarge) {
			return nil, httpbody.TooLarge(t.MaxBody)
		} else if err != nil {
			return nil, refusal.New(refusal.MalformedBody, "Content-Encoding is gzip but the body is not valid gzip")
		}
		// The app always gets the decoded body: a gzip header's file name,
		// comment and extra field are bytes no check reads.
		raw = body
		r.Header.Del("Content-Encoding")
	}
	if len(r.Trailer) > 0 {
		// Go's r.Trailer, Node's req.trailers: headers after the body,
		// which reverse_proxy forwards.
		return nil, refusal.New(refusal.TrailersNotAllowed, "card requests cannot carry HTTP trailers; send every header before the body")
	}
	if kind == httpbody.None || kind == httpbody.Other || (kind == httpbody.Form && httpbody.LooksJSON(body)) {
		if json.Valid(body) {
			// JSON without a JSON type (fetch() sends text/plain), or under
			// a form type: PHP's json_decode(php://input), Werkzeug's
			// get_json(force=True) and friends read it anyway, so
			// cardproxy does too.
			kind = httpbody.JSON
		} else if herr := checkUnparsed(body, t.app.preservingTokens()); herr != nil {
			return nil, herr
		} else {
			// Not a format cardproxy parses and provably no card data.
			setBody(r, raw)
			return &result{}, nil
		}
	}
	fields, herr := httpbody.Scan(kind, params, body, t.limits)
	if herr != nil {
		return nil, herr
	}
	plan, herr := t.plan(fields)
	if herr != nil {
		return nil, herr
	}
	threeDS := fieldmap.Is3DSReturn(fields)
	if herr := residualCheck(body, fields, plan, func(f *bodyrewrite.Field) bool {
		return (threeDS && fieldmap.Numeric(f.Value)) || t.roleOf(*f) == fieldmap.Ignore
	}); herr != nil {
		return nil, herr
	}
	if len(plan.pans) == 0 && len(plan.cvcs) == 0 {
		setBody(r, raw) // untouched, still encoded as sent
		return &result{}, nil
	}

	start := time.Now()
	edits, res, herr := t.exchange(r.Context(), plan)
	res.vaultTime = time.Since(start)
	t.metrics.vaultSeconds.Observe(res.vaultTime.Seconds())
	if herr != nil {
		return nil, herr
	}
	out := bodyrewrite.Apply(body, edits)
	if herr := finalCheck(out, plan, res); herr != nil {
		return nil, herr
	}
	setBody(r, out)
	if t.Metadata != "none" {
		t.setMetaHeaders(r.Header, plan, res)
	}
	return res, nil
}

func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.TransferEncoding = nil
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
	p := maskLog(r.URL.EscapedPath())
	if r.URL.RawQuery != "" {
		p += "?…"
	}
	return p
}

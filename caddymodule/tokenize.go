package caddymodule

import (
	"bytes"
	"context"
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
	"github.com/cardproxy/cardproxy/card"
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
	// Metadata: "headers" (default) adds Cardproxy-Card-* request headers
	// with token, brand, last 4 (and BIN if ExposeBIN) for the app; "none"
	// adds nothing. Client-sent Cardproxy-* headers are always removed.
	Metadata  string `json:"metadata,omitempty"`
	ExposeBIN bool   `json:"expose_bin,omitempty"`

	app     *App
	store   *vault.Store
	tenant  string
	format  vault.Format
	formats []fieldFormat
	auto    bool
	rules   []rule
	logger  *zap.Logger
	metrics *metrics
}

type fieldRole int

const (
	roleNone fieldRole = iota
	rolePAN
	roleCVC
	roleExpiry
	roleExpiryMonth
	roleExpiryYear
	roleHolder
	roleIgnore
)

type rule struct {
	pat  bodyrewrite.Pattern
	role fieldRole
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
	if t.format, err = vault.ParseFormat(t.Format); err != nil {
		return fmt.Errorf("card_tokenize: %w", err)
	}
	t.formats = nil
	for field, name := range t.FieldFormats {
		f, err := vault.ParseFormat(name)
		if err != nil {
			return fmt.Errorf("card_tokenize: field %q: %w", field, err)
		}
		t.formats = append(t.formats, fieldFormat{bodyrewrite.ParsePattern(field), f})
	}
	t.auto = t.AutoDetect == nil || *t.AutoDetect
	if t.MaxBody == 0 {
		t.MaxBody = DefaultMaxBody
	}
	// Order matters: PAN and CVC rules win over ignore.
	// 3-D Secure return payloads are never card data: keep auto-detect off
	// them (a numeric MD can pass Luhn), so they reach the app untouched.
	ignore := append([]string{}, t.Ignore...)
	for _, n := range threeDSFields {
		ignore = append(ignore, "**."+n)
	}
	t.rules = compileRules(fieldSet{PAN: t.PAN, CVC: t.CVC, Expiry: t.Expiry, ExpiryMonth: t.ExpiryMonth,
		ExpiryYear: t.ExpiryYear, Holder: t.Holder}, ignore)
	t.metrics, err = registerMetrics(reg)
	return err
}

// threeDSFields are the 3-D Secure and PSP return fields auto-detect skips.
var threeDSFields = []string{"PaRes", "PaReq", "MD", "TermUrl", "cres", "creq", "threeDSSessionData",
	"redirectResult", "transactionid", "payload", "payment_intent", "payment_intent_client_secret", "cko-session-id"}

// Validate checks the configuration.
func (t *Tokenize) Validate() error {
	if !vault.ValidTenant(t.tenant) {
		return fmt.Errorf("card_tokenize: invalid tenant %q", t.tenant)
	}
	if t.MaxBody < 0 {
		return fmt.Errorf("card_tokenize: max_body must be positive")
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
	for k := range h {
		if len(k) >= len(MetaHeaderPrefix) && strings.EqualFold(k[:len(MetaHeaderPrefix)], MetaHeaderPrefix) {
			delete(h, k)
		}
	}
}

// ServeHTTP tokenizes the request body and calls the next handler.
func (t *Tokenize) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	stripMetaHeaders(r.Header)
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		t.metrics.requests.WithLabelValues("passed").Inc()
		return next.ServeHTTP(w, r)
	}
	kind, params := classify(r.Header.Get("Content-Type"))
	if kind == kindNone || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		// Not a body cardproxy inspects: untouched and unbuffered.
		t.metrics.requests.WithLabelValues("passed").Inc()
		return next.ServeHTTP(w, r)
	}
	res, rerr := t.tokenize(r, kind, params)
	if rerr != nil {
		t.metrics.requests.WithLabelValues(rerr.Code).Inc()
		t.logger.Warn("card request refused",
			zap.String("code", rerr.Code), zap.Int("status", rerr.Status),
			zap.String("reason", rerr.Message), zap.String("tenant", t.tenant),
			zap.String("method", r.Method), zap.String("uri", logURI(r)),
			zap.NamedError("cause", rerr.cause))
		return writeError(w, rerr)
	}
	if res == nil {
		t.metrics.requests.WithLabelValues("no_card").Inc()
	} else {
		t.metrics.requests.WithLabelValues("tokenized").Inc()
		t.metrics.tokens.WithLabelValues("pan").Add(float64(res.pans))
		t.metrics.tokens.WithLabelValues("cvc").Add(float64(res.cvcs))
		t.logger.Info("tokenized request",
			zap.String("tenant", t.tenant), zap.String("method", r.Method), zap.String("uri", logURI(r)),
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

// tokenize reads, rewrites and replaces the body. It returns (nil, nil) when
// the body had no card data (the original bytes are passed on).
func (t *Tokenize) tokenize(r *http.Request, kind bodyKind, params map[string]string) (*result, *httpError) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity", "gzip", "x-gzip":
	default:
		return nil, &httpError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_content_encoding",
			Message: fmt.Sprintf("Content-Encoding %q is not supported on card requests; send identity or gzip", enc)}
	}
	raw, herr := readBody(r, t.MaxBody)
	if herr != nil {
		return nil, herr
	}
	body := raw
	if enc == "gzip" || enc == "x-gzip" {
		var err error
		if body, err = gunzip(raw, t.MaxBody); errors.Is(err, errDecodedTooLarge) {
			return nil, errTooLarge(t.MaxBody)
		} else if err != nil {
			return nil, &httpError{Status: http.StatusBadRequest, Code: "malformed_body", Message: "Content-Encoding is gzip but the body is not valid gzip"}
		}
	}
	fields, herr := scanBody(kind, params, body)
	if herr != nil {
		return nil, herr
	}

	plan, herr := t.plan(fields)
	if herr != nil {
		return nil, herr
	}
	if len(plan.pans) == 0 && len(plan.cvcs) == 0 {
		setBody(r, raw) // untouched, still encoded as sent
		return nil, nil
	}

	start := time.Now()
	edits, res, herr := t.exchange(r.Context(), plan)
	res.vaultTime = time.Since(start)
	t.metrics.vaultSeconds.Observe(res.vaultTime.Seconds())
	if herr != nil {
		return nil, herr
	}
	out := bodyrewrite.Apply(body, edits)
	if enc != "" && enc != "identity" {
		r.Header.Del("Content-Encoding") // the app gets the decoded, rewritten body
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

// panGroup is one distinct card in the body (the same PAN in several fields
// is one card) and the fields that hold it.
type panGroup struct {
	pan    string
	format vault.Format
	fields []*bodyrewrite.Field
	parent string
	vault.Card
	token vault.Token
}

type cvcGroup struct {
	cvc    string
	fields []*bodyrewrite.Field
	token  string
}

type plan struct {
	pans    []*panGroup
	cvcs    []*cvcGroup
	expiry  map[string]string // parent path → expiry
	month   map[string]string
	year    map[string]string
	holders map[string]string
}

func (t *Tokenize) roleOf(path []string) fieldRole { return roleOf(t.rules, path) }

type fieldFormat struct {
	pat    bodyrewrite.Pattern
	format vault.Format
}

// formatOf is the token format for a PAN found at path.
func (t *Tokenize) formatOf(path []string) vault.Format {
	for _, ff := range t.formats {
		if ff.pat.Match(path) {
			return ff.format
		}
	}
	return t.format
}

// fieldSet names the card fields of a body, by role.
type fieldSet struct {
	PAN, CVC, Expiry, ExpiryMonth, ExpiryYear, Holder []string
}

// compileRules turns field names into ordered rules: card roles first (so a
// named PAN or CVC field is never ignored), then the ignore list.
func compileRules(f fieldSet, ignore []string) []rule {
	var rules []rule
	for _, g := range []struct {
		names []string
		role  fieldRole
	}{
		{f.PAN, rolePAN}, {f.CVC, roleCVC}, {f.Expiry, roleExpiry}, {f.ExpiryMonth, roleExpiryMonth},
		{f.ExpiryYear, roleExpiryYear}, {f.Holder, roleHolder}, {ignore, roleIgnore},
	} {
		for _, n := range g.names {
			rules = append(rules, rule{pat: bodyrewrite.ParsePattern(n), role: g.role})
		}
	}
	return rules
}

func roleOf(rules []rule, path []string) fieldRole {
	for _, r := range rules {
		if r.pat.Match(path) {
			return r.role
		}
	}
	return roleNone
}

// plan decides what each field is, refusing token injection and invalid card
// fields. Error messages name fields, never values.
func (t *Tokenize) plan(fields []bodyrewrite.Field) (*plan, *httpError) {
	p := &plan{expiry: map[string]string{}, month: map[string]string{}, year: map[string]string{}, holders: map[string]string{}}
	panIdx := map[string]*panGroup{}
	cvcIdx := map[string]*cvcGroup{}
	for i := range fields {
		f := &fields[i]
		if f.Kind == bodyrewrite.Object {
			continue
		}
		if f.Kind != bodyrewrite.Other && vault.ContainsToken(f.Value) {
			return nil, &httpError{Status: http.StatusBadRequest, Code: "token_not_allowed",
				Message: fmt.Sprintf("field %q carries a cardproxy token; tokens are issued by cardproxy and cannot be submitted by clients", f.Name())}
		}
		role := t.roleOf(f.Path)
		if f.Kind == bodyrewrite.Other && role != roleNone {
			continue // null / true / false in a card field: nothing to protect
		}
		v := strings.TrimSpace(f.Value)
		switch role {
		case rolePAN:
			if v == "" {
				continue
			}
			if vault.IsPreservingToken(v) {
				return nil, &httpError{Status: http.StatusBadRequest, Code: "token_not_allowed",
					Message: fmt.Sprintf("field %q carries a cardproxy token; tokens are issued by cardproxy and cannot be submitted by clients", f.Name())}
			}
			pan, ok := card.Normalize(v)
			if !ok || !card.Valid(pan) {
				return nil, &httpError{Status: http.StatusBadRequest, Code: "invalid_card_number",
					Message: fmt.Sprintf("field %q is not a valid card number (12–19 digits, spaces or dashes allowed, Luhn check)", f.Name())}
			}
			addPAN(p, panIdx, pan, t.formatOf(f.Path), f)
		case roleCVC:
			if v == "" {
				continue
			}
			if !vault.ValidCVC(v) {
				return nil, &httpError{Status: http.StatusBadRequest, Code: "invalid_cvc",
					Message: fmt.Sprintf("field %q is not a valid CVC (3 or 4 digits)", f.Name())}
			}
			g := cvcIdx[v]
			if g == nil {
				g = &cvcGroup{cvc: v}
				cvcIdx[v] = g
				p.cvcs = append(p.cvcs, g)
			}
			g.fields = append(g.fields, f)
		case roleExpiry:
			p.expiry[f.Parent()] = v
		case roleExpiryMonth:
			p.month[f.Parent()] = v
		case roleExpiryYear:
			p.year[f.Parent()] = v
		case roleHolder:
			p.holders[f.Parent()] = v
		case roleIgnore:
		case roleNone:
			if !t.auto {
				continue
			}
			if pan, _, ok := card.Detect(v); ok {
				addPAN(p, panIdx, pan, t.formatOf(f.Path), f)
			}
		}
	}
	// Attach expiry and holder to each card: same parent object first; with
	// a single card, any expiry/holder field in the body.
	for _, g := range p.pans {
		g.Card = vault.Card{PAN: g.pan}
		g.Expiry = pick(p.expiry, g.parent, len(p.pans) == 1)
		if g.Expiry == "" {
			m, y := pick(p.month, g.parent, len(p.pans) == 1), pick(p.year, g.parent, len(p.pans) == 1)
			if m != "" && y != "" {
				g.Expiry = m + "/" + y
			}
		}
		g.Holder = pick(p.holders, g.parent, len(p.pans) == 1)
	}
	return p, nil
}

// addPAN groups fields by card and token format: the same card in two
// fields of one format gets one token.
func addPAN(p *plan, idx map[string]*panGroup, pan string, format vault.Format, f *bodyrewrite.Field) {
	key := string(format) + "\x00" + pan
	g := idx[key]
	if g == nil {
		g = &panGroup{pan: pan, format: format, parent: f.Parent()}
		idx[key] = g
		p.pans = append(p.pans, g)
	}
	g.fields = append(g.fields, f)
}

func pick(m map[string]string, parent string, any bool) string {
	if v, ok := m[parent]; ok {
		return v
	}
	if any && len(m) == 1 {
		for _, v := range m {
			return v
		}
	}
	return ""
}

// exchange stores the cards and CVCs in Vault and returns the body edits.
func (t *Tokenize) exchange(ctx context.Context, p *plan) ([]bodyrewrite.Edit, *result, *httpError) {
	res := &result{}
	var edits []bodyrewrite.Edit
	// One batch per token format (usually just one).
	for _, format := range []vault.Format{vault.FormatOpaque, vault.FormatPreserveLast4} {
		var groups []*panGroup
		var cards []vault.Card
		for _, g := range p.pans {
			if g.format == format {
				groups = append(groups, g)
				cards = append(cards, g.Card)
			}
		}
		if len(cards) == 0 {
			continue
		}
		toks, err := t.store.Tokenize(ctx, t.tenant, format, cards)
		if err != nil {
			return nil, res, vaultError(err)
		}
		for i, g := range groups {
			g.token = toks[i]
		}
	}
	for _, g := range p.pans {
		res.pans++
		if g.token.Reused {
			res.reused++
		}
		res.tokens = append(res.tokens, g.token.Token)
		for _, f := range g.fields {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(g.token.Token)})
			res.fields = append(res.fields, f.Name())
		}
	}
	for _, g := range p.cvcs {
		tok, _, err := t.store.TokenizeCVC(ctx, t.tenant, g.cvc)
		if err != nil {
			return nil, res, vaultError(err)
		}
		g.token = tok
		res.cvcs++
		res.tokens = append(res.tokens, tok)
		for _, f := range g.fields {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(tok)})
			res.fields = append(res.fields, f.Name())
		}
	}
	return edits, res, nil
}

func (t *Tokenize) setMetaHeaders(h http.Header, p *plan, res *result) {
	if len(p.pans) > 0 {
		var toks, brands, last4s, bins, exps []string
		for _, g := range p.pans {
			toks = append(toks, g.token.Token)
			b := string(g.token.Meta.Brand)
			if b == "" {
				b = "unknown"
			}
			brands = append(brands, b)
			last4s = append(last4s, g.token.Meta.Last4)
			bins = append(bins, g.token.Meta.BIN)
			exps = append(exps, g.Expiry)
		}
		h.Set(MetaHeaderPrefix+"Card-Token", strings.Join(toks, ", "))
		h.Set(MetaHeaderPrefix+"Card-Brand", strings.Join(brands, ", "))
		h.Set(MetaHeaderPrefix+"Card-Last4", strings.Join(last4s, ", "))
		if t.ExposeBIN {
			h.Set(MetaHeaderPrefix+"Card-Bin", strings.Join(bins, ", "))
		}
		h.Set(MetaHeaderPrefix+"Card-Expires", p.pans[0].token.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if len(p.cvcs) > 0 {
		var toks []string
		for _, g := range p.cvcs {
			toks = append(toks, g.token)
		}
		h.Set(MetaHeaderPrefix+"Cvc-Token", strings.Join(toks, ", "))
	}
	h.Set(MetaHeaderPrefix+"Tokenized", fmt.Sprintf("cards=%d; cvcs=%d", res.pans, res.cvcs))
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Tokenize)(nil)
	_ caddy.Validator             = (*Tokenize)(nil)
	_ caddyhttp.MiddlewareHandler = (*Tokenize)(nil)
)

// logURI is the request URI for logs, with any card number in it masked: a
// shop's form could put one in a query string.
func logURI(r *http.Request) string {
	u, _ := maskText(r.RequestURI)
	return u
}

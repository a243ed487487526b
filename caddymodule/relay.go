package caddymodule

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	caddy.RegisterModule(Relay3DS{})
}

// Relay3DS serves, once, the 3-D Secure POST redirects that card_detokenize
// stored (relay_3ds): GET <route>/<id> answers an auto-submitting form that
// posts the PSP's fields (PaReq, MD, TermUrl, …) to the issuer's ACS, or the
// PSP's own HTML page. The state lives in Vault with a short TTL, so any
// cardproxy instance behind a load balancer can serve it. Terminal handler.
type Relay3DS struct {
	Tenant string `json:"tenant,omitempty"`

	store  *vault.Store
	tenant string
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Relay3DS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.card_3ds_relay",
		New: func() caddy.Module { return new(Relay3DS) },
	}
}

// Provision connects to the cardproxy app.
func (h *Relay3DS) Provision(ctx caddy.Context) error {
	app, err := appFrom(ctx, "card_3ds_relay")
	if err != nil {
		return err
	}
	h.store, h.logger, h.tenant = app.Store(), ctx.Logger(), app.tenant(h.Tenant)
	return nil
}

// Validate checks the tenant.
func (h *Relay3DS) Validate() error {
	if !vault.ValidTenant(h.tenant) {
		return fmt.Errorf("card_3ds_relay: invalid tenant %q", h.tenant)
	}
	return nil
}

var relayForm = template.Must(template.New("relay").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Secure payment</title></head>
<body>
<form id="cardproxy-3ds" method="POST" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<noscript><p>Continue to your bank to confirm the payment.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("cardproxy-3ds").submit();</script>
</body></html>`))

func (h *Relay3DS) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return refusal.New(refusal.MethodNotAllowed, "3-D Secure relay links are opened with GET").Write(w)
	}
	id := path.Base(r.URL.Path)
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	var rel vault.Relay
	var err error
	if r.Method == http.MethodHead {
		// A link checker or a browser preflight must not use the relay up.
		err = h.store.PeekRelay(r.Context(), h.tenant, id)
	} else {
		rel, err = h.store.TakeRelay(r.Context(), h.tenant, id)
	}
	if err != nil {
		status, msg := http.StatusNotFound, "This payment step has expired or was already used. Please return to the shop and try again."
		if !errors.Is(err, vault.ErrNotFound) && !errors.Is(err, vault.ErrExpired) {
			status, msg = http.StatusServiceUnavailable, "The payment service is temporarily unavailable. Please try again in a moment."
		}
		h.logger.Warn("3-D Secure relay refused", zap.String("relay", card.Redact(id)), zap.String("result", resultOf(err)), zap.String("tenant", h.tenant))
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, werr := w.Write([]byte(msg + "\n"))
		return werr
	}
	if r.Method == http.MethodHead {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	h.logger.Info("3-D Secure relay served", zap.String("relay", id), zap.String("tenant", h.tenant), zap.Bool("psp_html", rel.HTML != ""))
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	if rel.HTML != "" {
		// The PSP's own auto-submitting page, exactly as the PSP sent it —
		// sandboxed: it runs in an opaque origin, so it cannot read the
		// shop's cookies or storage, but may run its script, submit its form
		// and navigate the page to the issuer.
		hdr.Set("Content-Security-Policy", "sandbox allow-forms allow-scripts allow-top-navigation")
		_, err := w.Write([]byte(rel.HTML))
		return err
	}
	u, perr := url.Parse(rel.Action)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") {
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		_, werr := w.Write([]byte("The payment provider's redirect is not usable.\n"))
		return werr
	}
	nb := make([]byte, 16)
	_, _ = rand.Read(nb)
	nonce := base64.StdEncoding.EncodeToString(nb)
	hdr.Set("Content-Security-Policy", strings.Join([]string{
		"default-src 'none'", "script-src 'nonce-" + nonce + "'", "base-uri 'none'", "frame-ancestors 'self'",
	}, "; "))
	return relayForm.Execute(w, map[string]any{"Action": rel.Action, "Fields": rel.Fields, "Nonce": nonce})
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Relay3DS)(nil)
	_ caddy.Validator             = (*Relay3DS)(nil)
	_ caddyhttp.MiddlewareHandler = (*Relay3DS)(nil)
)

package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"path"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/egress"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/relay"
	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	caddy.RegisterModule(ThreeDSRelay{})
}

// ThreeDSRelay serves, once, the 3-D Secure POST redirects that card_detokenize
// stored (relay_3ds): GET <route>/<id> answers an auto-submitting form that
// posts the PSP's fields (PaReq, MD, TermUrl, …) to the issuer's ACS, or the
// PSP's own HTML page. The state lives in Vault with a short TTL, so any
// cardproxy instance behind a load balancer can serve it. Terminal handler.
type ThreeDSRelay struct {
	Tenant string `json:"tenant,omitempty"`

	store  relay.Store
	tenant string
	logger *zap.Logger
	audit  auditor
}

// CaddyModule returns the Caddy module information.
func (ThreeDSRelay) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.card_3ds_relay",
		New: func() caddy.Module { return new(ThreeDSRelay) },
	}
}

// Provision connects to the cardproxy app.
func (h *ThreeDSRelay) Provision(ctx caddy.Context) error {
	app, err := appFrom(ctx, "card_3ds_relay")
	if err != nil {
		return err
	}
	h.store, h.logger, h.tenant = app.IngressStore(), ctx.Logger(), app.tenant(h.Tenant)
	h.audit = newAuditor(h.logger, "relay", h.tenant, app.identityOf(app.IngressStore()))
	h.audit.log = auditLogger(ctx)
	return nil
}

// Validate checks the tenant.
func (h *ThreeDSRelay) Validate() error {
	if !vault.ValidTenant(h.tenant) {
		return fmt.Errorf("card_3ds_relay: invalid tenant %q", h.tenant)
	}
	return nil
}

func (h *ThreeDSRelay) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return refusal.New(refusal.MethodNotAllowed, "3-D Secure relay links are opened with GET").Write(w)
	}
	id := path.Base(r.URL.Path)
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	var rel relay.Redirect
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
		h.audit.failed(r, evRefuse, "3-D Secure relay refused", zap.String("relay", card.Redact(id)), zap.String("result", egress.ResultOf(err)))
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
	h.audit.event(r, evRelayServe, "3-D Secure relay served", zap.String("relay", id), zap.Bool("psp_html", rel.HTML != ""))
	return relay.Page(w, rel)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*ThreeDSRelay)(nil)
	_ caddy.Validator             = (*ThreeDSRelay)(nil)
	_ caddyhttp.MiddlewareHandler = (*ThreeDSRelay)(nil)
)

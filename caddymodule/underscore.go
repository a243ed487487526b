package caddymodule

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// A PSP key header with an underscore (MultiSafepay's api_key) never reaches
// card_detokenize from the app: Caddy drops every request header containing
// an underscore unless the server lists it in expected_underscore_headers
// (GHSA-f59h-q822-g45g). An egress that forwards the app's key (it injects
// none itself) on a server that drops it would send every payment without a
// key — the PSP answers "invalid API key" and the shop cannot tell why — so
// cardproxy refuses to start instead, naming both ways out.

// checkKeyHeaders finds every card_detokenize of the config's HTTP servers
// (inside subroutes too) that forwards an underscore key header its server
// drops.
func checkKeyHeaders(ctx caddy.Context) error {
	app, err := ctx.AppIfConfigured("http")
	if err != nil {
		return nil // no HTTP app: nothing to check
	}
	httpApp, ok := app.(*caddyhttp.App)
	if !ok {
		return nil
	}
	for name, srv := range httpApp.Servers {
		var bad error
		walkHandlers(srv.Routes, func(h caddyhttp.MiddlewareHandler) {
			d, ok := h.(*Detokenize)
			if !ok || bad != nil || d.apiKey != "" || !strings.Contains(d.APIKeyHeader, "_") || underscoreAllowed(srv, d.APIKeyHeader) {
				return
			}
			bad = fmt.Errorf("cardproxy: card_detokenize %s (server %s) forwards the app's %q header to the PSP, but Caddy drops "+
				"request headers containing an underscore, so the PSP would get no key. Either let cardproxy add the key "+
				"(card_detokenize … { api_key {env.PSP_API_KEY} }) or keep the app's header: global option "+
				"servers { expected_underscore_headers %s }", d.Upstream, name, d.APIKeyHeader, d.APIKeyHeader)
		})
		if bad != nil {
			return bad
		}
	}
	return nil
}

// walkHandlers calls f for every handler of routes, descending into
// subroutes (handle, route, handle_path blocks).
func walkHandlers(routes caddyhttp.RouteList, f func(caddyhttp.MiddlewareHandler)) {
	for _, r := range routes {
		for _, h := range r.Handlers {
			f(h)
			if sub, ok := h.(*caddyhttp.Subroute); ok {
				walkHandlers(sub.Routes, f)
			}
		}
	}
}

// underscoreAllowed applies expected_underscore_headers as Caddy does:
// case-insensitive names, a trailing "*" as a prefix glob.
func underscoreAllowed(srv *caddyhttp.Server, header string) bool {
	for _, e := range srv.ExpectedUnderscoreHeaders {
		if p, glob := strings.CutSuffix(e, "*"); glob && !strings.Contains(header, ".") && len(header) >= len(p) && strings.EqualFold(header[:len(p)], p) ||
			!glob && strings.EqualFold(e, header) {
			return true
		}
	}
	return false
}

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
// (in their routes, subroutes, named routes and error routes) that forwards
// the app's key header while its server drops that header.
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
		routes := append(caddyhttp.RouteList(nil), srv.Routes...)
		for _, r := range srv.NamedRoutes {
			routes = append(routes, *r)
		}
		if srv.Errors != nil {
			routes = append(routes, srv.Errors.Routes...)
		}
		var bad error
		walkHandlers(routes, func(h caddyhttp.MiddlewareHandler) {
			d, ok := h.(*Detokenize)
			if !ok || bad != nil || d.apiKey != "" || keptByServer(srv, d.APIKeyHeader) {
				return
			}
			option := "expected_underscore_headers"
			if strings.Contains(d.APIKeyHeader, ".") {
				option = "expected_dot_headers"
			}
			bad = fmt.Errorf("cardproxy: card_detokenize %s (server %s) forwards the app's %q header to the PSP, but Caddy drops "+
				"that request header (underscores and dots are dropped unless listed, and the hyphenated twin of a listed "+
				"name is dropped), so the PSP would get no key. Either let cardproxy add the key "+
				"(card_detokenize … { api_key {env.PSP_API_KEY} }) or keep the app's header: global option "+
				"servers { %s %s }", d.Upstream, name, d.APIKeyHeader, option, d.APIKeyHeader)
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

// keptByServer reports whether the server passes a request header of this
// name to its handlers, by Caddy's rules: a name with an underscore (or a
// dot) only when expected_underscore_headers (expected_dot_headers) lists
// it; a hyphenated name not when its underscore or dot twin is listed
// (Caddy drops the twin to keep backends from confusing the two).
func keptByServer(srv *caddyhttp.Server, header string) bool {
	switch {
	case strings.Contains(header, "_") && !listed(srv.ExpectedUnderscoreHeaders, header):
		return false
	case strings.Contains(header, ".") && !listed(srv.ExpectedDotHeaders, header):
		return false
	case strings.Contains(header, "-"):
		for _, twin := range []struct {
			sep  string
			list []string
		}{{"_", srv.ExpectedUnderscoreHeaders}, {".", srv.ExpectedDotHeaders}} {
			if exactly(twin.list, strings.ReplaceAll(header, "-", twin.sep)) {
				return false
			}
		}
	}
	return true
}

// listed applies an allowlist as Caddy does: case-insensitive names, a
// trailing "*" as a prefix glob (never matching a name with both an
// underscore and a dot).
func listed(list []string, header string) bool {
	for _, e := range list {
		if p, glob := strings.CutSuffix(e, "*"); glob {
			if !(strings.Contains(header, "_") && strings.Contains(header, ".")) && len(header) >= len(p) && strings.EqualFold(header[:len(p)], p) {
				return true
			}
		} else if strings.EqualFold(e, header) {
			return true
		}
	}
	return false
}

func exactly(list []string, header string) bool {
	for _, e := range list {
		if !strings.HasSuffix(e, "*") && strings.EqualFold(e, header) {
			return true
		}
	}
	return false
}

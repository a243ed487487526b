package caddymodule

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/logging"
	"github.com/cardproxy/cardproxy/card"
	"go.uber.org/zap/zapcore"
)

func init() {
	caddy.RegisterModule(CardMaskFilter{})
}

// CardMaskFilter is a field filter for Caddy's own logs (format filter):
// every Luhn-valid 12–19 digit number in the field is masked to its last
// four digits, and (unless keep_query) a query string is cut to "?…". Use it
// on request>uri, request>host and request>method of card sites: a shopper
// can put a card number anywhere in the request line, and Caddy logs the
// request as it came, also one cardproxy refused.
//
//	log {
//		format filter {
//			request>uri card_mask
//			request>host card_mask
//			request>method card_mask
//			request>headers delete
//		}
//	}
type CardMaskFilter struct {
	KeepQuery bool `json:"keep_query,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (CardMaskFilter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.logging.encoders.filter.card_mask",
		New: func() caddy.Module { return new(CardMaskFilter) },
	}
}

// UnmarshalCaddyfile parses `card_mask [keep_query]`.
func (f *CardMaskFilter) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // filter name
	for d.NextArg() {
		if d.Val() != "keep_query" {
			return d.Errf("card_mask: unknown option %q (keep_query)", d.Val())
		}
		f.KeepQuery = true
	}
	return nil
}

// Filter masks the field.
func (f CardMaskFilter) Filter(in zapcore.Field) zapcore.Field {
	if in.Type != zapcore.StringType {
		return in
	}
	s := in.String
	if i := strings.IndexByte(s, '?'); i >= 0 && !f.KeepQuery {
		s = s[:i] + "?…"
	}
	in.String = card.Redact(s)
	return in
}

// Interface guards.
var (
	_ logging.LogFieldFilter = (*CardMaskFilter)(nil)
	_ caddyfile.Unmarshaler  = (*CardMaskFilter)(nil)
)

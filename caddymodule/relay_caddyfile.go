package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	// A terminal handler (it answers): sorted like reverse_proxy.
	registerHandler[ThreeDSRelay]("card_3ds_relay", httpcaddyfile.Before, "reverse_proxy")
}

// UnmarshalCaddyfile parses (see caddyfile.go for the rules):
//
//	card_3ds_relay {
//		tenant <name>
//	}
func (r *ThreeDSRelay) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return parseDirective(d, []option{stringOption("tenant", &r.Tenant)})
}

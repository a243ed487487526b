package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	// A terminal handler (it proxies): sorted like reverse_proxy.
	registerHandler[Detokenize]("card_detokenize", httpcaddyfile.Before, "reverse_proxy")
}

// UnmarshalCaddyfile parses (see caddyfile.go for the rules):
//
//	card_detokenize [<upstream>] {
//		upstream        https://testapi.multisafepay.com
//		preset          multisafepay|adyen|stripe|checkout
//		pan|cvc|expiry|expiry_month|expiry_year|holder <field>...
//		ca_cert         <pem file>
//		tls_server_name <name>
//		insecure_plain_http_upstream
//		api_key         {env.MSP_API_KEY}
//		api_key_header  api_key|X-API-Key|bearer|<header>
//		relay_3ds       https://shop.example/3ds
//		relay_ttl       10m
//		max_body        1MiB
//		max_response    4MiB
//		timeout         60s
//		tenant          <name>
//	}
//
// The upstream is given once: on the directive line or as a subdirective.
// The field lists may be repeated (each line adds fields); every other
// subdirective may be given once.
func (d *Detokenize) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next() // directive name
	if args := disp.RemainingArgs(); len(args) > 1 {
		return disp.Errf("card_detokenize takes one upstream, got %d", len(args))
	} else if len(args) == 1 {
		d.Upstream = args[0]
	}
	err := parseBlock(disp, "card_detokenize", []option{
		{name: "upstream", min: 1, max: 1, set: func(disp *caddyfile.Dispenser, a []string) error {
			if d.Upstream != "" {
				return disp.Errf("card_detokenize: upstream given twice (%s on the directive line, then %s)", d.Upstream, a[0])
			}
			d.Upstream = a[0]
			return nil
		}},
		stringOption("preset", &d.Preset),
		listOption("pan", &d.PAN),
		listOption("cvc", &d.CVC),
		listOption("expiry", &d.Expiry),
		listOption("expiry_month", &d.ExpiryMonth),
		listOption("expiry_year", &d.ExpiryYear),
		listOption("holder", &d.Holder),
		stringOption("ca_cert", &d.CACert),
		stringOption("tls_server_name", &d.TLSServerName),
		flagOption("insecure_plain_http_upstream", &d.InsecurePlainHTTPUpstream),
		stringOption("api_key", &d.APIKey),
		stringOption("api_key_header", &d.APIKeyHeader),
		stringOption("relay_3ds", &d.RelayURL),
		durationOption("relay_ttl", &d.RelayTTL),
		sizeOption("max_body", &d.MaxBody),
		sizeOption("max_response", &d.MaxResponse),
		durationOption("timeout", &d.Timeout),
		stringOption("tenant", &d.Tenant),
	})
	if err == nil && d.Upstream == "" {
		err = disp.Err("card_detokenize needs an upstream (the PSP's https:// base URL)")
	}
	return err
}

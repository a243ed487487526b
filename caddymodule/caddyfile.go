package caddymodule

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("cardproxy", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("card_tokenize", parseTokenize)
	// After request_body (so its size limit applies first), before the
	// handlers that forward or answer.
	httpcaddyfile.RegisterDirectiveOrder("card_tokenize", httpcaddyfile.After, "request_body")
	// Terminal handlers: sorted like reverse_proxy (they proxy / answer).
	httpcaddyfile.RegisterHandlerDirective("card_detokenize", parseDetokenize)
	httpcaddyfile.RegisterDirectiveOrder("card_detokenize", httpcaddyfile.Before, "reverse_proxy")
	httpcaddyfile.RegisterHandlerDirective("card_3ds_relay", parseRelay)
	httpcaddyfile.RegisterDirectiveOrder("card_3ds_relay", httpcaddyfile.Before, "reverse_proxy")
}

// parseGlobalOption parses the global "cardproxy" block:
//
//	{
//		cardproxy {
//			vault {
//				address    {env.VAULT_ADDR}
//				token      {env.VAULT_TOKEN}      # or: token_file /run/secrets/vault-token
//				namespace  <ns>
//				ca_cert    <file>
//				client_cert <file>
//				client_key  <file>
//				tls_server_name <name>
//				kv_mount   cardproxy
//				transit_mount cardproxy-transit
//				pan_key    pan
//				index_key  pan-index
//				timeout    10s
//				auto_setup
//			}
//			tenant    shop-1
//			token_ttl 8760h
//			cvc_ttl   10m
//		}
//	}
func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "cardproxy", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "vault":
			if d.NextArg() {
				return d.ArgErr()
			}
			for d.NextBlock(1) {
				key := d.Val()
				if key == "auto_setup" {
					if d.NextArg() {
						return d.ArgErr()
					}
					a.Vault.AutoSetup = true
					continue
				}
				var val string
				if !d.Args(&val) || d.NextArg() {
					return d.Errf("vault %s takes exactly one value", key)
				}
				switch key {
				case "address":
					a.Vault.Address = val
				case "token":
					a.Vault.Token = val
				case "token_file":
					a.Vault.TokenFile = val
				case "namespace":
					a.Vault.Namespace = val
				case "ca_cert":
					a.Vault.CACert = val
				case "client_cert":
					a.Vault.ClientCert = val
				case "client_key":
					a.Vault.ClientKey = val
				case "tls_server_name":
					a.Vault.TLSServerName = val
				case "kv_mount":
					a.Vault.KVMount = val
				case "transit_mount":
					a.Vault.TransitMount = val
				case "pan_key":
					a.Vault.PANKey = val
				case "index_key":
					a.Vault.IndexKey = val
				case "timeout":
					dur, err := caddy.ParseDuration(val)
					if err != nil {
						return d.Errf("vault timeout: %v", err)
					}
					a.Vault.Timeout = vault.Duration(dur)
				default:
					return d.Errf("unknown vault option %q", key)
				}
			}
		case "tenant":
			if !d.Args(&a.Tenant) || d.NextArg() {
				return d.ArgErr()
			}
		case "insecure_admin_api_on_tcp":
			if d.NextArg() {
				return d.ArgErr()
			}
			a.InsecureAdminAPIOnTCP = true
		case "preserving_tokens":
			var v string
			if !d.Args(&v) || d.NextArg() {
				return d.ArgErr()
			}
			on, err := strconv.ParseBool(strings.NewReplacer("on", "true", "off", "false").Replace(v))
			if err != nil {
				return d.Errf("preserving_tokens must be on or off, not %q", v)
			}
			a.PreservingTokens = &on
		case "token_ttl", "cvc_ttl":
			key := d.Val()
			var val string
			if !d.Args(&val) || d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(val)
			if err != nil {
				return d.Errf("%s: %v", key, err)
			}
			if key == "token_ttl" {
				a.TokenTTL = caddy.Duration(dur)
			} else {
				a.CVCTTL = caddy.Duration(dur)
			}
		default:
			return d.Errf("unknown cardproxy option %q", d.Val())
		}
	}
	return nil
}

func parseTokenize(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	t := new(Tokenize)
	err := t.UnmarshalCaddyfile(h.Dispenser)
	return t, err
}

// UnmarshalCaddyfile parses:
//
//	card_tokenize {
//		pan          <field>...
//		cvc          <field>...
//		expiry       <field>...
//		expiry_month <field>...
//		expiry_year  <field>...
//		holder       <field>...
//		ignore       <field>...
//		format       opaque|preserve_last4 [<field>...]
//		auto_detect  on|off
//		max_body     <size>
//		max_fields   <n>
//		max_depth    <n>
//		max_cards    <n>
//		max_cvcs     <n>
//		metadata     headers|none
//		expose_bin
//		tenant       <name>
//	}
func (t *Tokenize) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		key := d.Val()
		args := d.RemainingArgs()
		one := func() (string, error) {
			if len(args) != 1 {
				return "", d.Errf("%s takes exactly one value", key)
			}
			return args[0], nil
		}
		switch key {
		case "pan", "cvc", "expiry", "expiry_month", "expiry_year", "holder", "ignore":
			if len(args) == 0 {
				return d.Errf("%s needs at least one field name", key)
			}
			dst := map[string]*[]string{
				"pan": &t.PAN, "cvc": &t.CVC, "expiry": &t.Expiry, "expiry_month": &t.ExpiryMonth,
				"expiry_year": &t.ExpiryYear, "holder": &t.Holder, "ignore": &t.Ignore,
			}[key]
			*dst = append(*dst, args...)
		case "format":
			// format <name>            the default for PAN tokens
			// format <name> <field>... only for these fields
			if len(args) == 0 {
				return d.Errf("format needs opaque or preserve_last4")
			}
			if len(args) == 1 {
				t.Format = args[0]
				continue
			}
			if t.FieldFormats == nil {
				t.FieldFormats = map[string]string{}
			}
			for _, f := range args[1:] {
				t.FieldFormats[f] = args[0]
			}
		case "auto_detect":
			v, err := one()
			if err != nil {
				return err
			}
			var on bool
			switch v {
			case "on", "true":
				on = true
			case "off", "false":
			default:
				if on, err = strconv.ParseBool(v); err != nil {
					return d.Errf("auto_detect must be on or off, not %q", v)
				}
			}
			t.AutoDetect = &on
		case "max_body":
			v, err := one()
			if err != nil {
				return err
			}
			n, err := humanize.ParseBytes(v)
			if err != nil || n == 0 {
				return d.Errf("max_body: invalid size %q", v)
			}
			t.MaxBody = int64(n)
		case "max_fields", "max_depth", "max_cards", "max_cvcs":
			v, err := one()
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return d.Errf("%s must be a positive number, not %q", key, v)
			}
			*map[string]*int{"max_fields": &t.MaxFields, "max_depth": &t.MaxDepth, "max_cards": &t.MaxCards, "max_cvcs": &t.MaxCVCs}[key] = n
		case "metadata":
			v, err := one()
			if err != nil {
				return err
			}
			t.Metadata = v
		case "expose_bin":
			if len(args) != 0 {
				return d.ArgErr()
			}
			t.ExposeBIN = true
		case "tenant":
			v, err := one()
			if err != nil {
				return err
			}
			t.Tenant = v
		default:
			return d.Errf("unknown card_tokenize option %q", key)
		}
	}
	return nil
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler = (*Tokenize)(nil)
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Detokenize)(nil)
	_ caddyfile.Unmarshaler = (*Relay3DS)(nil)
)

func parseDetokenize(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	d := new(Detokenize)
	err := d.UnmarshalCaddyfile(h.Dispenser)
	return d, err
}

// UnmarshalCaddyfile parses:
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
func (d *Detokenize) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next()
	if disp.NextArg() {
		d.Upstream = disp.Val()
		if disp.NextArg() {
			return disp.ArgErr()
		}
	}
	for disp.NextBlock(0) {
		key := disp.Val()
		args := disp.RemainingArgs()
		one := func() (string, error) {
			if len(args) != 1 {
				return "", disp.Errf("%s takes exactly one value", key)
			}
			return args[0], nil
		}
		var err error
		var v string
		switch key {
		case "pan", "cvc", "expiry", "expiry_month", "expiry_year", "holder":
			if len(args) == 0 {
				return disp.Errf("%s needs at least one field name", key)
			}
			dst := map[string]*[]string{"pan": &d.PAN, "cvc": &d.CVC, "expiry": &d.Expiry,
				"expiry_month": &d.ExpiryMonth, "expiry_year": &d.ExpiryYear, "holder": &d.Holder}[key]
			*dst = append(*dst, args...)
		case "insecure_plain_http_upstream":
			if len(args) != 0 {
				return disp.ArgErr()
			}
			d.InsecurePlainHTTPUpstream = true
		case "max_body", "max_response":
			if v, err = one(); err != nil {
				return err
			}
			n, perr := humanize.ParseBytes(v)
			if perr != nil || n == 0 {
				return disp.Errf("%s: invalid size %q", key, v)
			}
			if key == "max_body" {
				d.MaxBody = int64(n)
			} else {
				d.MaxResponse = int64(n)
			}
		case "timeout", "relay_ttl":
			if v, err = one(); err != nil {
				return err
			}
			dur, perr := caddy.ParseDuration(v)
			if perr != nil {
				return disp.Errf("%s: %v", key, perr)
			}
			if key == "timeout" {
				d.Timeout = caddy.Duration(dur)
			} else {
				d.RelayTTL = caddy.Duration(dur)
			}
		case "upstream", "preset", "ca_cert", "tls_server_name", "api_key", "api_key_header", "relay_3ds", "tenant":
			if v, err = one(); err != nil {
				return err
			}
			*map[string]*string{"upstream": &d.Upstream, "preset": &d.Preset, "ca_cert": &d.CACert,
				"tls_server_name": &d.TLSServerName, "api_key": &d.APIKey, "api_key_header": &d.APIKeyHeader,
				"relay_3ds": &d.Relay3DS, "tenant": &d.Tenant}[key] = v
		default:
			return disp.Errf("unknown card_detokenize option %q", key)
		}
	}
	if d.Upstream == "" {
		return disp.Err("card_detokenize needs an upstream (the PSP's https:// base URL)")
	}
	return nil
}

func parseRelay(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	r := new(Relay3DS)
	err := r.UnmarshalCaddyfile(h.Dispenser)
	return r, err
}

// UnmarshalCaddyfile parses:
//
//	card_3ds_relay {
//		tenant <name>
//	}
func (r *Relay3DS) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "tenant":
			if !d.Args(&r.Tenant) || d.NextArg() {
				return d.ArgErr()
			}
		default:
			return d.Errf("unknown card_3ds_relay option %q", d.Val())
		}
	}
	return nil
}

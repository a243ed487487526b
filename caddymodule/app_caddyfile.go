package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("cardproxy", parseGlobalOption)
}

// parseGlobalOption parses the global "cardproxy" block (App.UnmarshalCaddyfile).
func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "cardproxy", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile parses the global option (each subdirective at most once;
// see caddyfile.go):
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
//			ingress_vault {                       # the ingress's own identity
//				auth_method approle               # credential options only
//				role_id_file /run/secrets/ingress-role-id
//				secret_id_file /run/secrets/ingress-secret-id
//			}
//			egress_vault { token_file /run/secrets/egress-token }
//			tenant    shop-1
//			token_ttl 8760h
//			cvc_ttl   10m
//			preserving_tokens on|off
//			insecure_admin_api_on_tcp
//		}
//	}
//
// The vault block takes every option of vault.Config under its JSON name.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return parseDirective(d, []option{
		{name: "vault", set: func(d *caddyfile.Dispenser, _ []string) error {
			return parseBlock(d, "vault", vaultOptions(&a.Vault))
		}},
		{name: "ingress_vault", set: func(d *caddyfile.Dispenser, _ []string) error {
			a.IngressVault = new(vault.Config)
			return parseBlock(d, "ingress_vault", vaultOptions(a.IngressVault))
		}},
		{name: "egress_vault", set: func(d *caddyfile.Dispenser, _ []string) error {
			a.EgressVault = new(vault.Config)
			return parseBlock(d, "egress_vault", vaultOptions(a.EgressVault))
		}},
		stringOption("tenant", &a.Tenant),
		durationOption("token_ttl", &a.TokenTTL),
		durationOption("cvc_ttl", &a.CVCTTL),
		onOffOption("preserving_tokens", &a.PreservingTokens),
		flagOption("insecure_admin_api_on_tcp", &a.InsecureAdminAPIOnTCP),
	})
}

// vaultOptions is the vault block's table, made from vault.Config's own
// list of options: a new field there is a new Caddyfile option here.
func vaultOptions(c *vault.Config) []option {
	var opts []option
	for _, o := range c.Options() {
		switch p := o.Ptr.(type) {
		case *string:
			opts = append(opts, stringOption(o.Name, p))
		case *vault.Duration:
			opts = append(opts, durationOption(o.Name, p))
		case *bool:
			opts = append(opts, flagOption(o.Name, p))
		default:
			// A vault.Config field of a new type: caught by
			// TestCaddyfileVaultOptions, never by a user.
			name := o.Name
			opts = append(opts, option{name: name, min: 0, max: -1, set: func(d *caddyfile.Dispenser, _ []string) error {
				return d.Errf("vault option %s: type %T has no Caddyfile syntax (a cardproxy bug)", name, p)
			}})
		}
	}
	return opts
}

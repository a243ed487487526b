// Package caddymodule holds cardproxy's Caddy modules:
//
//   - cardproxy                      the app that owns the Vault connection (global option "cardproxy")
//   - http.handlers.card_tokenize    ingress: card data in checkout bodies → tokens
//   - http.handlers.card_detokenize  egress: tokens → card data, proxied to one fixed PSP upstream
//   - http.handlers.card_3ds_relay   ingress: serves relayed 3-D Secure POST redirects, once
//
// Import it (blank) into a Caddy build: cmd/cardproxy does, and so does
// `xcaddy build --with github.com/cardproxy/cardproxy`.
package caddymodule

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the "cardproxy" Caddy app: one Vault connection and the token
// settings shared by all cardproxy handlers of a config.
type App struct {
	// Vault says how to reach HashiCorp Vault (see vault.Config; its
	// "timeout" takes a duration string or nanoseconds, like every Caddy
	// duration). Every string option accepts Caddy's {env.NAME} and
	// {file./path} placeholders, resolved when the config loads; use them for
	// secrets so the token never sits in the JSON config (which the admin API
	// serves). Empty fields fall back to Vault's standard environment
	// (VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE, …).
	Vault vault.Config `json:"vault,omitempty"`
	// IngressVault and EgressVault give card_tokenize (and card_3ds_relay)
	// and card_detokenize their own Vault identity: credential options only
	// (token, token_file, auth_method and its options); everything else is
	// Vault's. Unset: the side uses Vault's identity. Give the ingress the
	// cardproxy-tokenize policy and the egress cardproxy-detokenize.
	IngressVault *vault.Config `json:"ingress_vault,omitempty"`
	EgressVault  *vault.Config `json:"egress_vault,omitempty"`
	// Tenant scopes tokens (default "default"); handlers may override it.
	Tenant string `json:"tenant,omitempty"`
	// TokenTTL is the lifetime of PAN tokens (default 8760h).
	TokenTTL caddy.Duration `json:"token_ttl,omitempty"`
	// CVCTTL is the lifetime of unused CVC tokens (default 10m, max 1h).
	CVCTTL caddy.Duration `json:"cvc_ttl,omitempty"`
	// InsecureAdminAPIOnTCP lets cardproxy start while Caddy's admin API
	// listens on TCP (or a group/world-accessible socket). Anything that
	// can reach it can redirect card data: never set it in production.
	InsecureAdminAPIOnTCP bool `json:"insecure_admin_api_on_tcp,omitempty"`
	// PreservingTokens says whether format-preserving tokens are in use:
	// the egress detokenizes them, the ingress refuses values shaped like
	// them (12–19 digits, leading 0, Luhn-invalid — the shape of many
	// international phone numbers and barcodes). Default: on when a
	// card_tokenize of this config issues them (format preserve_last4);
	// set it on an egress-only instance whose tokens come from elsewhere.
	PreservingTokens *bool `json:"preserving_tokens,omitempty"`

	// stores: the shared one first, then the ingress's and the egress's
	// own (if any); ingress and egress point at the one each side uses.
	stores          []*vault.Store
	names           []string // of stores: vault (shared), ingress, egress
	ingress, egress *vault.Store
	logger          *zap.Logger
	ctx             caddy.Context // for Start's look at the HTTP servers
	// vaultState is cardproxy_vault_state{identity,state}; vaultCalls
	// cardproxy_vault_request_duration_seconds{identity,operation,result}.
	vaultState *prometheus.GaugeVec
	vaultCalls *prometheus.HistogramVec
	// issuesPreserving: a card_tokenize of this config issues
	// format-preserving tokens (set while handlers are provisioned, before
	// any request is served; read-only after).
	issuesPreserving bool
}

// preservingTokens reports whether format-preserving tokens are in use.
func (a *App) preservingTokens() bool {
	if a.PreservingTokens != nil {
		return *a.PreservingTokens
	}
	return a.issuesPreserving
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "cardproxy",
		New: func() caddy.Module { return new(App) },
	}
}

// DefaultTenant is used when neither the app nor the handler names one.
const DefaultTenant = "default"

// Provision resolves placeholders and builds the Vault client.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx, a.logger = ctx, ctx.Logger()
	if err := a.checkAdmin(ctx); err != nil {
		return err
	}
	if a.Tenant == "" {
		a.Tenant = DefaultTenant
	}
	repl := caddy.NewReplacer()
	cfg, err := a.vaultConfig(repl)
	if err != nil {
		return err
	}
	// The shared identity serves the side(s) without their own, and
	// auto_setup; with both sides on their own identity it may have none.
	var shared *vault.Store
	if a.IngressVault == nil || a.EgressVault == nil || a.Vault.AutoSetup {
		if shared, err = vault.New(cfg); err != nil {
			return err
		}
		a.stores, a.names = append(a.stores, shared), append(a.names, "vault")
	}
	a.ingress, a.egress = shared, shared
	for _, side := range []struct {
		name string
		id   *vault.Config
		use  **vault.Store
	}{{"ingress", a.IngressVault, &a.ingress}, {"egress", a.EgressVault, &a.egress}} {
		if side.id == nil {
			continue
		}
		id := side.id.Resolve(func(s string) string { return repl.ReplaceKnown(s, "") })
		idCfg, err := cfg.WithIdentity(id)
		if err == nil && id.Token == "" && id.TokenFile == "" && id.AuthMethod == "" {
			// Never fall back to VAULT_TOKEN (an admin's, or the other side's).
			err = fmt.Errorf("no credentials once placeholders are resolved: set token, token_file or auth_method (an unset {env.*} resolves to nothing)")
		}
		if err == nil {
			err = idCfg.Validate()
		}
		if err == nil {
			*side.use, err = vault.New(idCfg)
		}
		if err != nil {
			return fmt.Errorf("cardproxy: %s_vault: %w", side.name, err)
		}
		a.stores, a.names = append(a.stores, *side.use), append(a.names, side.name)
	}
	if err := a.watchVault(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	if a.Vault.AutoSetup {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := shared.Setup(sctx); err != nil {
			return fmt.Errorf("cardproxy: vault auto_setup: %w", err)
		}
		a.logger.Info("vault ready (auto_setup)", zap.String("kv_mount", cfg.KVMount), zap.String("transit_mount", cfg.TransitMount))
	}
	return nil
}

// vaultConfig is the Vault configuration with its placeholders resolved and
// the app's token lifetimes.
func (a *App) vaultConfig(repl *caddy.Replacer) (vault.Config, error) {
	cfg := a.Vault.Resolve(func(s string) string { return repl.ReplaceKnown(s, "") })
	cfg.TokenTTL, cfg.CVCTTL = time.Duration(a.TokenTTL), time.Duration(a.CVCTTL)
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("cardproxy: %w", err)
	}
	return cfg, nil
}

// Validate checks the tenant name.
func (a *App) Validate() error {
	if !vault.ValidTenant(a.Tenant) {
		return fmt.Errorf("cardproxy: invalid tenant %q (letters, digits, '-' and '_', up to 64)", a.Tenant)
	}
	return nil
}

// Start checks that Vault answers. A Vault that is down at start-up is logged
// loudly but does not stop Caddy: handlers fail closed (503) per request until
// it is back.
func (a *App) Start() error {
	if err := checkKeyHeaders(a.ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := a.stores[0].Health(ctx); err != nil {
		a.logger.Error("vault is not reachable; card requests will be refused with 503 until it is", zap.Error(err))
	}
	for i, st := range a.stores {
		if on, err := st.StartRenewal(ctx); err != nil {
			a.logger.Warn("vault token lookup failed; not renewing it", zap.String("identity", a.identity(i)), zap.Error(err))
		} else if on {
			a.logger.Info("renewing the vault token in the background", zap.String("identity", a.identity(i)))
		}
	}
	return nil
}

// Stop ends the stores' background work (Vault probe, token renewal).
func (a *App) Stop() error {
	for _, st := range a.stores {
		st.Close()
	}
	return nil
}

// identity names the i-th store: "vault" (shared), "ingress" or "egress".
func (a *App) identity(i int) string { return a.names[i] }

// identityOf names the Vault identity a store runs as (for the audit trail).
func (a *App) identityOf(s *vault.Store) string {
	for i, st := range a.stores {
		if st == s {
			return a.names[i]
		}
	}
	return ""
}

// watchVault logs every change of the Vault state once (not once per
// request) and exposes it as cardproxy_vault_state{identity,state} (1 for
// the current state of each identity: vault, ingress, egress).
func (a *App) watchVault(reg prometheus.Registerer) error {
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "cardproxy", Name: "vault_state",
		Help: "What cardproxy knows of Vault, per Vault identity (vault, ingress, egress): 1 for the current state (ok, unreachable, unauthorized).",
	}, []string{"identity", "state"})
	if reg != nil {
		var err error
		if gauge, err = register(reg, gauge); err != nil {
			return err
		}
	}
	a.vaultState = gauge
	calls := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "cardproxy", Name: "vault_request_duration_seconds",
		Help: "Vault calls cardproxy made, by Vault identity, operation (a fixed set: kv_read_pan, transit_decrypt, …) " +
			"and result (ok, not_found, forbidden, unavailable); retries, failovers and logins included.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"identity", "operation", "result"})
	if reg != nil {
		var err error
		if calls, err = register(reg, calls); err != nil {
			return err
		}
	}
	a.vaultCalls = calls
	for i, store := range a.stores {
		id := a.identity(i)
		set := func(s vault.State) {
			for _, st := range []vault.State{vault.StateOK, vault.StateUnreachable, vault.StateUnauthorized} {
				v := 0.0
				if st == s {
					v = 1
				}
				gauge.WithLabelValues(id, string(st)).Set(v)
			}
		}
		set(vault.StateOK)
		idField := zap.String("identity", id)
		store.OnCall(func(op string, d time.Duration, r vault.CallResult) {
			calls.WithLabelValues(id, op, string(r)).Observe(d.Seconds())
		})
		store.OnState(func(s vault.State, err error) {
			set(s)
			switch s {
			case vault.StateOK:
				a.logger.Info("vault answers again; card requests are served", idField)
			case vault.StateUnreachable:
				a.logger.Error("no vault node answers; card requests are refused with 503 vault_unavailable until one does", idField, zap.String("cause", maskErr(err)))
			case vault.StateUnauthorized:
				a.logger.Error("vault refuses cardproxy's credentials (403); card requests are refused with 503 vault_auth_failed until they are fixed", idField, zap.String("cause", maskErr(err)))
			}
		})
	}
	return nil
}

// appFrom is how handlers reach the cardproxy app of their config.
func appFrom(ctx caddy.Context, handler string) (*App, error) {
	a, err := ctx.App("cardproxy")
	if err != nil {
		return nil, fmt.Errorf("%s: loading cardproxy app: %w", handler, err)
	}
	return a.(*App), nil
}

// tenant is a handler's tenant: its own, else the app's.
func (a *App) tenant(own string) string {
	if own != "" {
		return own
	}
	return a.Tenant
}

// Store returns the token vault with Vault's shared identity (the
// ingress's when there is none).
func (a *App) Store() *vault.Store { return a.stores[0] }

// IngressStore is the token vault card_tokenize and card_3ds_relay use.
func (a *App) IngressStore() *vault.Store { return a.ingress }

// EgressStore is the token vault card_detokenize uses.
func (a *App) EgressStore() *vault.Store { return a.egress }

// Interface guards.
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)

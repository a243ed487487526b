package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// The audit trail: one structured event per tokenization, detokenization,
// CVC use, refusal and 3-D Secure relay stored or served, on the logger
// named "cardproxy.audit", so operators can route it on its own:
//
//	log audit {
//		include cardproxy.audit
//		output file /var/log/cardproxy/audit.log
//		format json
//	}
//
// Every event has the same core fields — event, side, tenant, request_id
// (Caddy's {http.request.uuid}), remote, vault_identity (which Vault identity
// the side used: vault, ingress or egress) — and then what it is about:
// tokens (never card data), counts, fields, upstream host, result. A
// request's events share its request_id; Vault's own audit device (vault-init
// --audit-file) logs the Vault calls made for it.
const auditLoggerName = "cardproxy.audit"

// Audit events.
const (
	evTokenize   = "tokenize"
	evDetokenize = "detokenize"
	evCVCUse     = "cvc_use"
	evRefuse     = "refuse"
	evRelayStore = "relay_store"
	evRelayServe = "relay_serve"
)

// auditor writes one side's audit events.
type auditor struct {
	log      *zap.Logger
	side     string // ingress, egress, relay
	tenant   string
	identity string
}

// newAuditor makes a side's auditor writing where logger writes, under the
// audit name; Provision then gives it Caddy's own audit logger
// (auditLogger), so that `include cardproxy.audit` selects it.
func newAuditor(logger *zap.Logger, side, tenant, identity string) auditor {
	return auditor{log: zap.New(logger.Core()).Named(auditLoggerName), side: side, tenant: tenant, identity: identity}
}

// auditModule is the name the audit logger has for Caddy's logging: Caddy
// picks a logger's destinations by module name when it makes the logger,
// so the audit events need a logger made for that name.
type auditModule struct{}

func (auditModule) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: auditLoggerName, New: func() caddy.Module { return auditModule{} }}
}

// auditLogger is Caddy's logger for cardproxy.audit.
func auditLogger(ctx caddy.Context) *zap.Logger { return ctx.Logger(auditModule{}) }

// event logs one audit event about r (info); failed logs one that did not
// succeed (warning: refusals, refused lookups).
func (a auditor) event(r *http.Request, event, msg string, fields ...zap.Field) {
	a.write(r, false, event, msg, fields)
}

func (a auditor) failed(r *http.Request, event, msg string, fields ...zap.Field) {
	a.write(r, true, event, msg, fields)
}

func (a auditor) write(r *http.Request, warn bool, event, msg string, fields []zap.Field) {
	if a.log == nil {
		return
	}
	all := append([]zap.Field{zap.String("event", event), zap.String("side", a.side), zap.String("tenant", a.tenant),
		zap.String("request_id", requestID(r)), zap.String("remote", r.RemoteAddr), zap.String("vault_identity", a.identity)}, fields...)
	if warn {
		a.log.Warn(msg, all...)
	} else {
		a.log.Info(msg, all...)
	}
}

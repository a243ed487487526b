package vault

import (
	"errors"
	"strings"
	"time"
)

// Call metrics. The store tells a hook about every Vault call it makes — its
// operation, how long it took (retries, failovers and a login included) and
// how it ended — so the Caddy app can export latency and errors to
// Prometheus. Operation names come from a closed set built from the kind of
// path (never the path: it holds tenants, tokens and HMACs):
//
//	kv_<read|write|delete|list>_<pan|idx|cvc|relay|other>, kv_destroy_cvc,
//	transit_<encrypt|decrypt|hmac|rewrap|export|keys>, wrap, unwrap,
//	wrap_lookup, token_lookup, token_renew, other

// CallResult is how a Vault call ended, for metrics.
type CallResult string

// Call results.
const (
	CallOK          CallResult = "ok"
	CallNotFound    CallResult = "not_found" // Vault answered: no such thing (a normal outcome)
	CallForbidden   CallResult = "forbidden"
	CallUnreachable CallResult = "unavailable"
)

// OnCall registers the metrics hook (call it before the store is used).
func (s *Store) OnCall(f func(op string, d time.Duration, r CallResult)) { s.onCall = f }

func (s *Store) observe(op string, start time.Time, err error) {
	if s.onCall == nil {
		return
	}
	r := CallOK
	switch {
	case err == nil:
	case isForbidden(err) || errors.Is(err, ErrForbidden):
		r = CallForbidden
	case isBadRequest(err):
		r = CallNotFound // used wrapping tokens, check-and-set conflicts: Vault answered
	default:
		r = CallUnreachable
	}
	s.onCall(op, time.Since(start), r)
}

var kvKinds = map[string]bool{"pan": true, "idx": true, "cvc": true, "relay": true}
var transitOps = map[string]bool{"encrypt": true, "decrypt": true, "hmac": true, "rewrap": true, "export": true, "keys": true}

// opOf names a call by its verb and the kind of its path.
func (s *Store) opOf(verb, path string) string {
	switch {
	case strings.HasPrefix(path, s.cfg.KVMount+"/"):
		// <kv>/<data|metadata|destroy>/<tenant>/<kind>/…
		parts := strings.SplitN(strings.TrimPrefix(path, s.cfg.KVMount+"/"), "/", 4)
		kind := "other"
		if len(parts) >= 3 && kvKinds[parts[2]] {
			kind = parts[2]
		}
		if len(parts) > 0 && parts[0] == "destroy" {
			verb = "destroy"
		}
		return "kv_" + verb + "_" + kind
	case strings.HasPrefix(path, s.cfg.TransitMount+"/"):
		action, _, _ := strings.Cut(strings.TrimPrefix(path, s.cfg.TransitMount+"/"), "/")
		if transitOps[action] {
			return "transit_" + action
		}
	case path == "sys/wrapping/lookup":
		return "wrap_lookup"
	}
	return "other"
}

package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Relay is a 3-D Secure POST redirect kept for the shopper's browser: either
// a form (Action + Fields, e.g. PaReq, MD, TermUrl) or a PSP-supplied HTML page.
type Relay struct {
	Action string            `json:"action,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
	HTML   string            `json:"html,omitempty"`
}

// RelayPrefix starts relay ids.
const RelayPrefix = "cp_3ds_"

var relayPattern = regexp.MustCompile(`^cp_3ds_[0-9A-Za-z]{24}$`)

// IsRelayID reports whether s has the shape of a relay id.
func IsRelayID(s string) bool { return relayPattern.MatchString(s) }

// PutRelay stores a relay for ttl in Vault (not in process memory, so any
// cardproxy instance behind a load balancer can serve it) and returns its id.
func (s *Store) PutRelay(ctx context.Context, tenant string, r Relay, ttl time.Duration) (string, error) {
	if !ValidTenant(tenant) {
		return "", fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	id, err := newOpaque(RelayPrefix)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	if err := s.kvWrite(ctx, s.kvData(tenant, "relay", id), map[string]any{
		"relay": string(b), "expires_at": s.now().Add(ttl).Unix(),
	}, 0); err != nil {
		return "", unavailable("write relay", err)
	}
	return id, nil
}

// TakeRelay returns a relay once: it is deleted as it is read. Unknown, used
// and expired ids give ErrNotFound / ErrExpired.
func (s *Store) TakeRelay(ctx context.Context, tenant, id string) (Relay, error) {
	if !ValidTenant(tenant) {
		return Relay{}, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !IsRelayID(id) {
		return Relay{}, ErrNotFound
	}
	data, _, err := s.kvRead(ctx, s.kvData(tenant, "relay", id))
	if err != nil {
		return Relay{}, unavailable("read relay", err)
	}
	if data == nil {
		return Relay{}, ErrNotFound
	}
	if err := s.delete(ctx, s.kvMeta(tenant, "relay", id)); err != nil {
		return Relay{}, unavailable("delete relay", err)
	}
	if !s.now().Before(expiresAt(data)) {
		return Relay{}, ErrExpired
	}
	var r Relay
	if err := json.Unmarshal([]byte(str(data, "relay")), &r); err != nil {
		return Relay{}, ErrTampered
	}
	return r, nil
}

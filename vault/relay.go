package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardproxy/cardproxy/relay"
)

// PutRelay stores a relay for ttl in Vault (not in process memory, so any
// cardproxy instance behind a load balancer can serve it) and returns its id.
//
// The relay (action, fields, HTML: it may carry PaReq/MD and other
// payment-session data) is never written to KV: it lives only inside a Vault
// response-wrapping token whose TTL is ttl, bound to tenant and id. KV
// relay/<id> holds just that wrapping token and expires_at.
func (s *Store) PutRelay(ctx context.Context, tenant string, r relay.Redirect, ttl time.Duration) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !ValidTenant(tenant) {
		return "", fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if ttl < time.Second {
		return "", fmt.Errorf("%w: relay lifetime must be at least 1s", ErrInvalid)
	}
	id, err := relay.NewID()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	exp := s.now().Add(ttl)
	w, err := s.wrap(ctx, "wrap relay", map[string]any{"relay": string(b), "bind": relayBinding(tenant, id)}, ttl)
	if err != nil {
		return "", err
	}
	entry := map[string]any{"w": w, "expires_at": exp.Unix()}
	if _, _, err := s.kvPut(ctx, s.kvData(tenant, "relay", id), entry, 0, sameField(entry, "w")); err != nil {
		return "", unavailable("write relay", err)
	}
	return id, nil
}

// relayBinding ties wrapped relay data to its tenant and id: a wrapping token
// copied under another relay id or tenant is refused (ErrTampered).
func relayBinding(tenant, id string) string { return tenant + "/" + id }

// TakeRelay returns a relay exactly once, also under concurrency: Vault lets
// a wrapping token be unwrapped only once, so of several parallel calls one
// gets the relay and the others ErrNotFound. The KV entry is hard-deleted
// after the unwrap, in the background. Unknown and used ids give ErrNotFound; expired ids
// ErrExpired (or ErrNotFound once Vault has dropped the wrapping token).
func (s *Store) TakeRelay(ctx context.Context, tenant, id string) (relay.Redirect, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !ValidTenant(tenant) {
		return relay.Redirect{}, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !relay.IsID(id) {
		return relay.Redirect{}, ErrNotFound
	}
	data, _, err := s.kvRead(ctx, s.kvData(tenant, "relay", id))
	if err != nil {
		return relay.Redirect{}, unavailable("read relay", err)
	}
	if data == nil {
		return relay.Redirect{}, ErrNotFound
	}
	if !s.now().Before(expiresAt(data)) {
		s.cleanup(s.kvMeta(tenant, "relay", id))
		return relay.Redirect{}, ErrExpired
	}
	// An entry without a wrapping token (e.g. a plaintext relay written by an
	// older cardproxy) is not served. As for CVCs, the unwrap makes it
	// single use; the entry goes afterwards.
	wrapped, err := s.unwrap(ctx, "unwrap relay", str(data, "w"))
	if err == nil || errors.Is(err, ErrNotFound) {
		s.cleanup(s.kvMeta(tenant, "relay", id))
	}
	if err != nil {
		return relay.Redirect{}, err
	}
	if str(wrapped, "bind") != relayBinding(tenant, id) {
		return relay.Redirect{}, ErrTampered
	}
	var r relay.Redirect
	if err := json.Unmarshal([]byte(str(wrapped, "relay")), &r); err != nil {
		return relay.Redirect{}, ErrTampered
	}
	return r, nil
}

// PeekRelay reports whether a relay can still be taken (nil), without
// consuming or changing anything: for HTTP HEAD. Unknown and used ids give
// ErrNotFound, expired ids ErrExpired.
func (s *Store) PeekRelay(ctx context.Context, tenant, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !ValidTenant(tenant) {
		return fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !relay.IsID(id) {
		return ErrNotFound
	}
	data, _, err := s.kvRead(ctx, s.kvData(tenant, "relay", id))
	if err != nil {
		return unavailable("read relay", err)
	}
	if data == nil {
		return ErrNotFound
	}
	if !s.now().Before(expiresAt(data)) {
		return ErrExpired
	}
	// The wrapping token must still exist in Vault (lookup does not use it).
	return s.wrapAlive(ctx, "look up relay", str(data, "w"))
}

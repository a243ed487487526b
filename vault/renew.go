package vault

import (
	"context"
	"time"

	"github.com/hashicorp/vault/api"
)

// Token renewal. A static token that Vault says is renewable is renewed in
// the background at half its TTL (through the node pool, so it follows
// failovers), until its max TTL; a token file is left to whatever writes it
// (Vault Agent renews its own). api.LifetimeWatcher is not used: it gives up
// on short TTLs ("within grace") and stays on one node. When renewal ends or the token is revoked, Vault
// answers 403: the store's state turns StateUnauthorized and every request
// fails closed (503 vault_auth_failed) until the token is replaced.

type renewal struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// stop ends renewal and waits for its loop to return.
func (r *renewal) stop() {
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// StartRenewal looks the token up and, if it is renewable, keeps renewing
// it until Close. It returns whether renewal runs.
func (s *Store) StartRenewal(ctx context.Context) (bool, error) {
	if s.cfg.Token == "" || s.renew != nil {
		return false, nil
	}
	ttl, err := s.renewableTTL(ctx)
	if err != nil || ttl == 0 {
		return false, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	s.renew = &renewal{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.renew.done)
		s.renewLoop(rctx, ttl)
	}()
	return true, nil
}

// renewableTTL is the token's TTL if it is renewable, else 0.
func (s *Store) renewableTTL(ctx context.Context) (time.Duration, error) {
	sec, err := s.call(ctx, "token_lookup", func(c *api.Client) (*api.Secret, error) { return c.Auth().Token().LookupSelfWithContext(ctx) })
	if err != nil {
		return 0, unavailable("token lookup", err)
	}
	renewable, _ := sec.TokenIsRenewable()
	ttl, _ := sec.TokenTTL()
	if !renewable || ttl <= 0 {
		return 0, nil
	}
	return ttl, nil
}

// renewLoop renews the token at half its TTL. A failed renewal (Vault
// down, the token revoked) is tried again a second later; the calls record
// the state (unreachable, unauthorized) for the operator.
func (s *Store) renewLoop(ctx context.Context, ttl time.Duration) {
	increment := int(ttl.Seconds())
	wait := ttl / 2
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 500*time.Millisecond)):
		}
		sec, err := s.call(ctx, "token_renew", func(c *api.Client) (*api.Secret, error) {
			return c.Auth().Token().RenewSelfWithContext(ctx, increment)
		})
		if err != nil || sec == nil || sec.Auth == nil {
			wait = time.Second
			continue
		}
		wait = time.Duration(sec.Auth.LeaseDuration) * time.Second / 2
	}
}

package vault

import (
	"context"
	"time"

	"github.com/hashicorp/vault/api"
)

// Token renewal. A static token that Vault says is renewable is renewed in
// the background (Vault's api.LifetimeWatcher, at two thirds of its TTL),
// until its max TTL; a token file is left to whatever writes it (Vault
// Agent renews its own). When renewal ends or the token is revoked, Vault
// answers 403: the store's state turns StateUnauthorized and every request
// fails closed (503 vault_auth_failed) until the token is replaced.

type renewal struct{ cancel context.CancelFunc }

func (r *renewal) stop() {
	if r != nil {
		r.cancel()
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
	s.renew = &renewal{cancel: cancel}
	go s.renewLoop(rctx, ttl)
	return true, nil
}

// renewableTTL is the token's TTL if it is renewable, else 0.
func (s *Store) renewableTTL(ctx context.Context) (time.Duration, error) {
	sec, err := s.call(ctx, func(c *api.Client) (*api.Secret, error) { return c.Auth().Token().LookupSelfWithContext(ctx) })
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

// renewLoop runs a lifetime watcher on the node in use; when it stops with
// an error (the node went away), it starts again a second later.
func (s *Store) renewLoop(ctx context.Context, ttl time.Duration) {
	for {
		client := s.nodes.current()
		w, err := client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: &api.Secret{Auth: &api.SecretAuth{
			ClientToken: client.Token(), Renewable: true, LeaseDuration: int(ttl.Seconds()),
		}}})
		if err != nil {
			return
		}
		go w.Start()
		select {
		case <-ctx.Done():
			w.Stop()
			return
		case err := <-w.DoneCh():
			w.Stop()
			if err == nil {
				return // max TTL reached: nothing left to renew
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if t, err := s.renewableTTL(ctx); err == nil && t > 0 {
			ttl = t
		}
	}
}

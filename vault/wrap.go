package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// Response wrapping keeps short-lived secrets (CVCs, 3-D Secure relays) out of
// KV: the data lives only in the cubbyhole of a single-use wrapping token,
// which Vault destroys on first unwrap or when its TTL ends.

// wrapTTLSeconds is ttl in whole seconds, rounded up (Vault's wrap TTL
// granularity); at least 1.
func wrapTTLSeconds(ttl time.Duration) int64 {
	n := int64((ttl + time.Second - 1) / time.Second)
	if n < 1 {
		n = 1
	}
	return n
}

// wrap stores data in a new response-wrapping token that lives for ttl and
// returns the token. The TTL is set on this one request (X-Vault-Wrap-TTL):
// the client's wrapping lookup function never wraps anything (see newClient),
// so concurrent calls with different TTLs cannot affect each other.
func (s *Store) wrap(ctx context.Context, op string, data map[string]any, ttl time.Duration) (string, error) {
	want := wrapTTLSeconds(ttl)
	hdr := http.Header{}
	hdr.Set("X-Vault-Wrap-TTL", strconv.FormatInt(want, 10)+"s")
	sec, err := s.call(ctx, "wrap", func(c *api.Client) (*api.Secret, error) {
		return c.Logical().WriteWithRequest(ctx, api.NewLogicalWriteRequest("sys/wrapping/wrap", data, hdr))
	})
	if err != nil {
		return "", unavailable(op, err)
	}
	if sec == nil || sec.WrapInfo == nil || sec.WrapInfo.Token == "" {
		return "", fmt.Errorf("%w: %s: no wrapping token in answer", ErrUnavailable, op)
	}
	// Fail closed if the secret would outlive what the caller asked for
	// (Vault may only shorten it, to its max TTL).
	if got := int64(sec.WrapInfo.TTL); got <= 0 || got > want {
		return "", fmt.Errorf("%w: %s: wrapping token TTL %ds, asked for %ds", ErrUnavailable, op, got, want)
	}
	return sec.WrapInfo.Token, nil
}

// unwrap consumes a wrapping token and returns the wrapped data. A token that
// was already unwrapped, has expired or never existed gives ErrNotFound: Vault
// lets a wrapping token be unwrapped exactly once.
func (s *Store) unwrap(ctx context.Context, op, token string) (map[string]any, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	// An unwrap uses the wrapping token up: never sent twice.
	sec, err := s.callOnce(ctx, "unwrap", func(c *api.Client) (*api.Secret, error) { return c.Logical().UnwrapWithContext(ctx, token) })
	if err != nil {
		if isBadRequest(err) || lostUnwrapRace(err) {
			// "wrapping token is not valid or does not exist": used or expired.
			return nil, ErrNotFound
		}
		return nil, unavailable(op, err)
	}
	if sec == nil || sec.Data == nil {
		return nil, ErrNotFound
	}
	return sec.Data, nil
}

// wrapAlive reports (nil) whether a wrapping token still exists, without
// consuming it.
func (s *Store) wrapAlive(ctx context.Context, op, token string) error {
	if token == "" {
		return ErrNotFound
	}
	sec, err := s.write(ctx, "sys/wrapping/lookup", map[string]any{"token": token})
	if err != nil {
		if isBadRequest(err) {
			return ErrNotFound
		}
		return unavailable(op, err)
	}
	if sec == nil || sec.Data == nil {
		return ErrNotFound
	}
	return nil
}

func isBadRequest(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusBadRequest
}

// lostUnwrapRace: Vault's 500 for an unwrap that lost a race with another
// unwrap of the same token ("error decrementing wrapping token's use-count:
// invalid token entry"): the other one got it.
func lostUnwrapRace(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusInternalServerError &&
		strings.Contains(strings.Join(re.Errors, " "), "use-count")
}

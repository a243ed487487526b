package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// TokenizeCVC stores a CVC for single use. The CVC itself lives only inside a
// Vault response-wrapping token with the CVC lifetime: Vault destroys it on
// first unwrap or when the lifetime ends, whichever comes first. The wrapping
// token is kept in KV under the CVC token and never leaves cardproxy.
func (s *Store) TokenizeCVC(ctx context.Context, tenant, cvc string) (string, time.Time, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !ValidTenant(tenant) {
		return "", time.Time{}, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !card.ValidCVC(cvc) {
		return "", time.Time{}, fmt.Errorf("%w: a CVC is 3 or 4 digits", ErrInvalid)
	}
	w, err := s.wrap(ctx, "wrap cvc", map[string]any{"cvc": cvc}, s.cfg.CVCTTL)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := token.NewOpaque(token.CVCPrefix)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(s.cfg.CVCTTL)
	entry := map[string]any{"w": w, "expires_at": exp.Unix()}
	if _, _, err := s.kvPut(ctx, s.kvData(tenant, "cvc", tok), entry, 0, sameField(entry, "w")); err != nil {
		return "", time.Time{}, unavailable("write cvc token", err)
	}
	return tok, exp, nil
}

// DetokenizeCVC returns the CVC once: Vault lets a wrapping token be
// unwrapped only once, so two concurrent calls cannot both succeed. The KV
// entry is hard-deleted after the unwrap, in the background. Used, expired, unknown and
// other-tenant tokens all give ErrNotFound.
func (s *Store) DetokenizeCVC(ctx context.Context, tenant, tok string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !ValidTenant(tenant) {
		return "", fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !token.IsCVC(tok) {
		return "", ErrNotFound
	}
	data, _, err := s.kvRead(ctx, s.kvData(tenant, "cvc", tok))
	if err != nil {
		return "", unavailable("read cvc token", err)
	}
	if data == nil {
		return "", ErrNotFound
	}
	if !s.now().Before(expiresAt(data)) {
		s.cleanup(s.kvMeta(tenant, "cvc", tok))
		return "", ErrExpired
	}
	// Vault's single unwrap is what makes the CVC single use; the entry is
	// removed afterwards, off the request's path (and left for a retry when
	// the unwrap failed without using the token up).
	wrapped, err := s.unwrap(ctx, "unwrap cvc", str(data, "w"))
	if err == nil || errors.Is(err, ErrNotFound) {
		s.cleanup(s.kvMeta(tenant, "cvc", tok))
	}
	if err != nil {
		return "", err
	}
	cvc := str(wrapped, "cvc")
	if !card.ValidCVC(cvc) {
		return "", ErrNotFound
	}
	return cvc, nil
}

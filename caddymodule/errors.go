package caddymodule

import (
	"errors"

	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
)

// vaultError maps a token vault error: invalid input is the client's fault
// (400); anything else means the vault could not do its job, and the request
// must not go on (503, fail closed).
func vaultError(err error) *refusal.Error {
	if errors.Is(err, token.ErrInvalid) {
		return refusal.Because(refusal.InvalidCardData, err.Error(), err)
	}
	return refusal.Because(refusal.VaultUnavailable, "the card vault is unavailable; the request was not forwarded. Retry later.", err)
}

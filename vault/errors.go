package vault

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cardproxy/cardproxy/token"
	"github.com/hashicorp/vault/api"
)

// Errors callers branch on: token's, so the ingress and egress can branch on
// them without importing this package. None of them ever carries card data.
var (
	ErrNotFound    = token.ErrNotFound
	ErrExpired     = token.ErrExpired
	ErrUnavailable = token.ErrUnavailable
	ErrInvalid     = token.ErrInvalid
	ErrTampered    = token.ErrTampered
	ErrForbidden   = token.ErrForbidden
	ErrNotAllowed  = token.ErrNotAllowed
)

// unavailable wraps a Vault client error as ErrUnavailable with the HTTP
// status and Vault's own message, which never contains request data.
func unavailable(op string, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%s: %w", op, err) // already classified (a failed login)
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode == http.StatusForbidden {
			return fmt.Errorf("%w: %w: %s: vault answered 403: %s", ErrUnavailable, ErrForbidden, op, strings.Join(re.Errors, "; "))
		}
		return fmt.Errorf("%w: %s: vault answered %d: %s", ErrUnavailable, op, re.StatusCode, strings.Join(re.Errors, "; "))
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
}

func isCASConflict(err error) bool {
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, e := range re.Errors {
		if strings.Contains(e, "check-and-set") {
			return true
		}
	}
	return false
}

func isForbidden(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}

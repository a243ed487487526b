package vault

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"
)

// Errors callers branch on. None of them ever carries card data.
var (
	// ErrNotFound: no such token for this tenant (never existed, wrong
	// tenant, or a CVC token already used).
	ErrNotFound = errors.New("token not found")
	// ErrExpired: the token existed but its lifetime is over.
	ErrExpired = errors.New("token expired")
	// ErrUnavailable: Vault could not be reached or refused the request.
	// Callers must fail closed.
	ErrUnavailable = errors.New("token vault unavailable")
	// ErrInvalid: the input is not a card number / CVC / tenant cardproxy
	// accepts.
	ErrInvalid = errors.New("invalid input")
	// ErrTampered: a stored record does not belong to the token it was
	// read for.
	ErrTampered = errors.New("token record does not match its token")
)

// unavailable wraps a Vault client error as ErrUnavailable with the HTTP
// status and Vault's own message, which never contains request data.
func unavailable(op string, err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
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

package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cardproxy/cardproxy/vault"
)

// httpError is an explicit refusal: a status, a stable machine-readable code
// and a message a developer can act on. Messages never contain card data.
type httpError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	cause   error
}

func (e *httpError) Error() string { return e.Code + ": " + e.Message }

func errTooLarge(limit int64) *httpError {
	return &httpError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
		Message: fmt.Sprintf("request body exceeds the %d-byte limit for card requests (max_body)", limit)}
}

// vaultError maps a token vault error: invalid input is the client's fault
// (400); anything else means the vault could not do its job, and the request
// must not go on (503, fail closed).
func vaultError(err error) *httpError {
	if errors.Is(err, vault.ErrInvalid) {
		return &httpError{Status: http.StatusBadRequest, Code: "invalid_card_data", Message: err.Error(), cause: err}
	}
	return &httpError{Status: http.StatusServiceUnavailable, Code: "vault_unavailable",
		Message: "the card vault is unavailable; the request was not forwarded. Retry later.", cause: err}
}

// writeError writes the JSON error body. The request never reaches the app.
func writeError(w http.ResponseWriter, e *httpError) error {
	masked := *e
	masked.Message = maskLog(e.Message) // a field name may look like a card number
	b, _ := json.Marshal(&masked)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	}
	w.WriteHeader(e.Status)
	_, err := w.Write(append(b, '\n'))
	return err
}

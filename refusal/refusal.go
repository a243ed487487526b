// Package refusal is every way cardproxy refuses a request: one table of
// stable codes, each with its HTTP status and what it means, and the JSON
// error the client gets. The README's refusal tables are rendered from the
// same table (see TestREADMETables), so the two cannot drift apart.
//
// A refusal never contains a value from the request: messages name fields,
// and Write masks anything in them that looks like a card number.
package refusal

import (
	"encoding/json"
	"net/http"

	"github.com/cardproxy/cardproxy/card"
)

// Code is a stable, machine-readable refusal reason.
type Code string

// Error is one refusal: a code (its status comes from the table), a message
// a developer can act on, and, for logs only, the underlying cause.
type Error struct {
	Code    Code
	Message string
	// Cause is logged (masked), never sent to the client.
	Cause error
}

// New is a refusal with code and message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Because is a refusal with an underlying cause, for the logs.
func Because(code Code, msg string, cause error) *Error {
	return &Error{Code: code, Message: msg, Cause: cause}
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Status is the code's HTTP status.
func (e *Error) Status() int { return StatusOf(e.Code) }

// StatusOf is a code's HTTP status (500 for a code not in the table, which
// TestEveryCodeInTable rules out).
func StatusOf(c Code) int {
	if r, ok := byCode[c]; ok {
		return r.Status
	}
	return http.StatusInternalServerError
}

// Write sends the refusal as JSON: {"error": "<code>", "message": "…"}, with
// no-store caching and, for 503, Retry-After. Headers already set on w are
// kept; the caller decides which to clear.
func (e *Error) Write(w http.ResponseWriter) error {
	msg := card.Redact(e.Message) // a field name may look like a card number
	b, _ := json.Marshal(struct {
		Code    Code   `json:"error"`
		Message string `json:"message"`
	}{e.Code, msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	status := e.Status()
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	}
	w.WriteHeader(status)
	_, err := w.Write(append(b, '\n'))
	return err
}

// Package token is what a cardproxy token looks like: its shapes (opaque
// cp_pan_/cp_cvc_ tokens and format-preserving ones), how new ones are drawn,
// how to find them in text, what a tokenization returns, and the errors a
// token lookup can answer. It knows nothing about Vault: the ingress, the
// egress and the token vault all speak it.
package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/card"
)

// Token shapes. Opaque tokens carry a fixed prefix and 24 base62 characters
// from crypto/rand (≈143 bits): they are unrelated to the card number and can
// be found in any body by Pattern.
//
//	cp_pan_7Hq2…  stands for a card (PAN, expiry, holder name)
//	cp_cvc_Zk91…  stands for a CVC; single use, short-lived
//
// Format-preserving PAN tokens (FormatPreserveLast4) have the PAN's length,
// start with the digit 0 (major industry identifier 0 is not used by any card
// scheme), keep the last four digits, have a random middle and always FAIL the
// Luhn check, so a token can never be charged or mistaken for a card number.
// Their randomness is limited by their length (7 random digits for a 12-digit
// PAN, 14 for a 19-digit one): they are looked up, never derived.
const (
	PANPrefix   = "cp_pan_"
	CVCPrefix   = "cp_cvc_"
	RelayPrefix = "cp_3ds_" // 3-D Secure relay ids (not tokens: never in a body)
	tokenChars  = 24
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tokenLength = len(PANPrefix) + tokenChars
)

// Pattern matches an opaque cardproxy token anywhere in text.
var Pattern = regexp.MustCompile(`cp_(?:pan|cvc)_[0-9A-Za-z]{24}`)

// Format is how a PAN token looks.
type Format string

// Token formats.
const (
	FormatOpaque        Format = "opaque"
	FormatPreserveLast4 Format = "preserve_last4"
)

// ParseFormat checks a configured format name.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatOpaque:
		return FormatOpaque, nil
	case FormatPreserveLast4:
		return FormatPreserveLast4, nil
	}
	return "", fmt.Errorf("unknown token format %q (want opaque or preserve_last4)", s)
}

func random(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b), nil
}

// NewOpaque draws a new opaque token (or relay id) with prefix.
func NewOpaque(prefix string) (string, error) {
	s, err := random(base62, tokenChars)
	if err != nil {
		return "", err
	}
	return prefix + s, nil
}

// NewPreserving returns a format-preserving token for pan: same length, leading
// 0, random middle, last four kept, Luhn-invalid.
func NewPreserving(pan string) (string, error) {
	n := len(pan)
	mid, err := random("0123456789", n-5)
	if err != nil {
		return "", err
	}
	b := []byte("0" + mid + card.Last4(pan))
	if card.Luhn(string(b)) {
		// Changing any one digit changes the Luhn sum by 1–9 mod 10.
		b[1] = '0' + (b[1]-'0'+1)%10
	}
	return string(b), nil
}

// Contains reports whether s holds an opaque cardproxy token anywhere.
// It is called on every value of every inspected body, so it looks for the
// common prefix before running the pattern.
func Contains(s string) bool {
	return strings.Contains(s, "cp_") && Pattern.MatchString(s)
}

// Is reports whether s is an opaque cardproxy token (PAN or CVC).
func Is(s string) bool {
	return len(s) == tokenLength && Pattern.MatchString(s)
}

// IsPAN and IsCVC tell the two opaque kinds apart.
func IsPAN(s string) bool { return Is(s) && s[:len(PANPrefix)] == PANPrefix }

// IsCVC reports whether s is an opaque CVC token.
func IsCVC(s string) bool { return Is(s) && s[:len(CVCPrefix)] == CVCPrefix }

// IsPreserving reports whether s has the shape of a format-preserving
// token: 12–19 digits, leading 0, Luhn-invalid.
func IsPreserving(s string) bool {
	return len(s) >= card.MinLen && len(s) <= card.MaxLen && s[0] == '0' && card.Digits(s) && !card.Luhn(s)
}

// Issued is the result of tokenizing one card.
type Issued struct {
	Token     string    `json:"token"`
	Meta      card.Meta `json:"meta"`
	ExpiresAt time.Time `json:"expires_at"`
	// Reused is true when the same card (PAN, expiry and holder, exactly as
	// given) was already tokenized for this tenant and format, and the
	// existing token was returned (dedupe).
	Reused bool `json:"reused"`
}

// Errors a token store answers with, which callers branch on. None of them
// ever carries card data.
var (
	// ErrNotFound: no such token for this tenant (never existed, wrong
	// tenant, or a CVC token already used).
	ErrNotFound = errors.New("token not found")
	// ErrExpired: the token existed but its lifetime is over.
	ErrExpired = errors.New("token expired")
	// ErrUnavailable: the store could not be reached or refused the
	// request. Callers must fail closed.
	ErrUnavailable = errors.New("token vault unavailable")
	// ErrInvalid: the input is not a card number / CVC / tenant cardproxy
	// accepts.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden: the store refused cardproxy's own credentials (Vault's
	// 403: the token expired, was revoked or lacks a policy). It comes
	// wrapped with ErrUnavailable: callers fail closed either way.
	ErrForbidden = errors.New("the token vault refused cardproxy's credentials")
	// ErrTampered: a stored record does not belong to the token it was
	// read for.
	ErrTampered = errors.New("token record does not match its token")
)

// CVCClaim is a CVC token found in the store and not yet used up. Use uses
// it up and returns the CVC: of all the claims on one token, across every
// cardproxy instance, exactly one Use succeeds; the others get ErrNotFound.
// The egress reads its CVC tokens at the same time as its card tokens and
// uses them only once the cards are known to be good, so a refused request
// leaves its CVC for a retry.
type CVCClaim interface {
	Use(ctx context.Context) (string, error)
}

package msp

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuthHeader is the request header that carries a webhook's signature.
const AuthHeader = "Auth"

// Errors of Verify; its error wraps one of them.
var (
	// ErrMalformed: the header is not base64("<timestamp>:<signature>").
	ErrMalformed = errors.New("msp: malformed webhook auth header")
	// ErrStale: the timestamp is older than Verify's maxAge.
	ErrStale = errors.New("msp: webhook too old")
	// ErrSignature: the signature does not match the body and key.
	ErrSignature = errors.New("msp: webhook signature mismatch")
)

// Sign returns the Auth header MultiSafepay sends with a webhook whose body
// is body, at timestamp (Unix seconds), for the merchant's apiKey:
//
//	base64("<timestamp>:" + hex(HMAC-SHA512(apiKey, "<timestamp>:" + body)))
//
// The same timestamp goes in the notification URL's timestamp parameter.
func Sign(apiKey string, timestamp int64, body []byte) string {
	ts := strconv.FormatInt(timestamp, 10)
	m := hmac.New(sha512.New, []byte(apiKey))
	m.Write([]byte(ts + ":"))
	m.Write(body)
	return base64.StdEncoding.EncodeToString([]byte(ts + ":" + hex.EncodeToString(m.Sum(nil))))
}

// Verify checks a webhook's Auth header against its raw body, as the
// merchant's app must before it trusts the body. maxAge bounds how long
// before now the webhook may have been signed (0: no bound). The error wraps
// ErrMalformed, ErrStale or ErrSignature.
func Verify(apiKey, auth string, body []byte, now time.Time, maxAge time.Duration) error {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return fmt.Errorf("%w: auth header is not base64", ErrMalformed)
	}
	ts, _, found := strings.Cut(string(raw), ":")
	if !found {
		return fmt.Errorf("%w: auth header has no timestamp", ErrMalformed)
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp", ErrMalformed)
	}
	if maxAge > 0 && now.Sub(time.Unix(n, 0)) > maxAge {
		return ErrStale
	}
	if !hmac.Equal([]byte(Sign(apiKey, n, body)), []byte(auth)) {
		return ErrSignature
	}
	return nil
}

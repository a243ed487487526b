package vault

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/cardproxy/cardproxy/card"
)

// Token shapes. Opaque tokens carry a fixed prefix and 24 base62 characters
// from crypto/rand (≈143 bits): they are unrelated to the card number and can
// be found in any body by TokenPattern.
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
	tokenChars  = 24
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tokenLength = len(PANPrefix) + tokenChars
)

// TokenPattern matches an opaque cardproxy token anywhere in text.
var TokenPattern = regexp.MustCompile(`cp_(?:pan|cvc)_[0-9A-Za-z]{24}`)

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

func randomString(alphabet string, n int) (string, error) {
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

func newOpaque(prefix string) (string, error) {
	s, err := randomString(base62, tokenChars)
	if err != nil {
		return "", err
	}
	return prefix + s, nil
}

// newPreserving returns a format-preserving token for pan: same length, leading
// 0, random middle, last four kept, Luhn-invalid.
func newPreserving(pan string) (string, error) {
	n := len(pan)
	mid, err := randomString("0123456789", n-5)
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

// ContainsToken reports whether s holds an opaque cardproxy token anywhere.
// It is called on every value of every inspected body, so it looks for the
// common prefix before running the pattern.
func ContainsToken(s string) bool {
	return strings.Contains(s, "cp_") && TokenPattern.MatchString(s)
}

// IsToken reports whether s is an opaque cardproxy token (PAN or CVC).
func IsToken(s string) bool {
	return len(s) == tokenLength && TokenPattern.MatchString(s)
}

// IsPANToken and IsCVCToken tell the two opaque kinds apart.
func IsPANToken(s string) bool { return IsToken(s) && s[:len(PANPrefix)] == PANPrefix }

// IsCVCToken reports whether s is an opaque CVC token.
func IsCVCToken(s string) bool { return IsToken(s) && s[:len(CVCPrefix)] == CVCPrefix }

// IsPreservingToken reports whether s has the shape of a format-preserving
// token: 12–19 digits, leading 0, Luhn-invalid.
func IsPreservingToken(s string) bool {
	if len(s) < card.MinLen || len(s) > card.MaxLen || s[0] != '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return !card.Luhn(s)
}

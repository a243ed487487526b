// Package card recognises payment card numbers: Luhn check, length rules and
// brand detection by issuer identification number (IIN) prefix.
//
// Nothing in this package logs or formats a full card number. MaskAll, Last4
// and BIN (Meta) are the only ways a PAN leaves it in display form (PCI DSS
// 3.4.1).
package card

import (
	"fmt"
	"strings"
)

// Brand is a card scheme name as cardproxy reports it to apps and logs.
type Brand string

// Brands cardproxy recognises.
const (
	Unknown    Brand = ""
	Visa       Brand = "visa"
	Mastercard Brand = "mastercard"
	Amex       Brand = "amex"
	Discover   Brand = "discover"
	JCB        Brand = "jcb"
	UnionPay   Brand = "unionpay"
	Maestro    Brand = "maestro"
	Diners     Brand = "diners"
	Bancontact Brand = "bancontact"

	Mir          Brand = "mir"
	RuPay        Brand = "rupay"
	UATP         Brand = "uatp"
	Elo          Brand = "elo"
	Hipercard    Brand = "hipercard"
	Troy         Brand = "troy"
	Dankort      Brand = "dankort"
	InterPayment Brand = "interpayment"
	InstaPayment Brand = "instapayment"
	Verve        Brand = "verve"
	UzCard       Brand = "uzcard"
	Humo         Brand = "humo"
	LankaPay     Brand = "lankapay"
	BCCard       Brand = "bccard"
	GPN          Brand = "gpn" // Indonesia's Gerbang Pembayaran Nasional
)

// Luhn reports whether digits (ASCII '0'-'9' only) passes the Luhn check.
func Luhn(digits string) bool {
	if len(digits) == 0 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := digits[i] - '0'
		if d > 9 {
			return false
		}
		if double {
			sum += int(luhnDouble[d])
		} else {
			sum += int(d)
		}
		double = !double
	}
	return sum%10 == 0
}

// luhnDouble is a digit doubled, less 9 when that is over 9.
var luhnDouble = [10]byte{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}

// LuhnDigit returns the check digit that makes payload+digit Luhn-valid.
func LuhnDigit(payload string) byte {
	sum := 0
	double := true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// Normalize strips the separators people type inside card numbers (spaces
// and dashes: ASCII ' ' and '-', Unicode spaces such as NBSP, U+2007, U+202F,
// and dashes such as U+2010–U+2015, U+2212, U+FF0D) and reports whether what
// is left is all decimal digits, returned as ASCII: full-width, Arabic-Indic
// and other Unicode decimal digits count. It does not allocate when s is
// ASCII digits only.
func Normalize(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			continue
		}
		if c == ' ' || c == '-' || c >= 0x80 {
			clean = false
			continue
		}
		return "", false
	}
	if clean {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if v, ok := DigitValue(r); ok {
			b.WriteByte('0' + v)
			continue
		}
		if r == ' ' || r == '-' || r >= 0x80 && isUnicodeSep(r) {
			continue
		}
		return "", false
	}
	out := b.String()
	return out, out != ""
}

// MinLen and MaxLen bound the length of a PAN (ISO/IEC 7812).
const (
	MinLen = 12
	MaxLen = 19
)

// Detect reports whether s, after Normalize, is a plausible card number: 12–19
// digits, Luhn-valid, with a known IIN whose lengths include this one. It
// returns the bare digits and the brand.
func Detect(s string) (pan string, brand Brand, ok bool) {
	// A digit takes 1–4 bytes, a separator 1–3.
	if len(s) < MinLen || len(s) > MaxLen*4+(MaxLen-1)*3 {
		return "", Unknown, false
	}
	d, ok := Normalize(s)
	if !ok || len(d) < MinLen || len(d) > MaxLen || !Luhn(d) {
		return "", Unknown, false
	}
	b := BrandOf(d)
	if b == Unknown {
		return "", Unknown, false
	}
	return d, b, true
}

// Valid reports whether digits is a Luhn-valid 12–19 digit number. Unlike
// Detect it does not require a known IIN: a field the operator named as a card
// number is accepted for any scheme.
func Valid(digits string) bool {
	return len(digits) >= MinLen && len(digits) <= MaxLen && Luhn(digits)
}

// Last4 returns the last four digits of a PAN.
func Last4(pan string) string {
	if len(pan) < 4 {
		return ""
	}
	return pan[len(pan)-4:]
}

// BIN returns the first six digits, or eight for 16-digit and longer PANs
// (PCI DSS 3.4.1 allows at most BIN + last 4 to be shown).
func BIN(pan string) string {
	n := 6
	if len(pan) >= 16 {
		n = 8
	}
	if len(pan) < n+4 {
		return ""
	}
	return pan[:n]
}

// Digits reports whether s is one or more ASCII digits and nothing else.
func Digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ValidCVC reports whether s is a CVC: 3 or 4 ASCII digits.
func ValidCVC(s string) bool { return (len(s) == 3 || len(s) == 4) && Digits(s) }

// Card is card data as cardproxy keeps it behind a PAN token. PAN is bare
// ASCII digits; Expiry and Holder are optional and kept exactly as the
// shopper sent them.
type Card struct {
	PAN    string `json:"pan"`
	Expiry string `json:"exp,omitempty"`
	Holder string `json:"name,omitempty"`
}

// Meta is what cardproxy may tell the app about a card: never the PAN.
type Meta struct {
	Brand Brand  `json:"brand"`
	Last4 string `json:"last4"`
	BIN   string `json:"bin,omitempty"`
}

// MetaOf is a PAN's brand, last four digits and BIN.
func MetaOf(pan string) Meta { return Meta{Brand: BrandOf(pan), Last4: Last4(pan), BIN: BIN(pan)} }

// Format prints a card without its number: brand and last 4 only, whatever
// the verb (%v, %+v, %#v, %s), so a card in a log line or an error message
// cannot leak (PCI DSS 3.4.1). JSON encoding (the vault's sealed record) is
// not affected.
func (c Card) Format(f fmt.State, _ rune) {
	m := MetaOf(c.PAN)
	brand := string(m.Brand)
	if brand == "" {
		brand = "card"
	}
	fmt.Fprintf(f, "%s ending %s (expiry set: %t, holder set: %t)", brand, m.Last4, c.Expiry != "", c.Holder != "")
}

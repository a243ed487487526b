package card

import (
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Finding card numbers inside free text: request bodies cardproxy does not
// parse, query strings, headers, PSP answers, log lines. An attacker chooses
// these bytes, so the scan decodes every representation an app or a browser
// would turn into a digit, and looks at every window of a long digit run.

// Hit is one card number found in text.
type Hit struct {
	// Start and End are the byte range in the text, from the first byte of
	// the first digit's representation to the last byte of the last one.
	Start, End int
	// PAN is the number as ASCII digits.
	PAN string
	// Digits holds the byte range of each digit's representation (an ASCII
	// digit, a full-width digit, "%34", "\u0034", "&#52;", …), in order.
	Digits [][2]int
}

// Matcher decides whether a run of 12–19 ASCII digits counts as a card.
// Find offers it Luhn-valid runs only (every card number passes Luhn).
type Matcher func(digits string) bool

// Known matches Luhn-valid numbers with a known IIN and length (Detect's rule).
func Known(d string) bool { return Luhn(d) && BrandOf(d) != Unknown }

// AnyLuhn matches every Luhn-valid 12–19 digit number that does not start
// with 0 (no scheme issues under major industry identifier 0; cardproxy's
// format-preserving tokens start with it). Used where a false positive costs
// little: masking logs and PSP answers.
func AnyLuhn(d string) bool { return d[0] != '0' && Luhn(d) }

// Likely is Known without what makes most false hits in free text, query
// strings and headers, where digits are rarely a card: 12–13 digit numbers
// (Visa 13 and short Maestro, long gone from wallets; also EAN-13 barcodes,
// phone numbers, ad ids), UATP (airline cards; numbers starting with 1 are
// mostly timestamps) and the broad Maestro ranges below 16 digits. Fields
// named as card numbers accept any Luhn-valid 12–19 digit number.
func Likely(d string) bool {
	if len(d) < 14 || !Luhn(d) {
		return false
	}
	switch BrandOf(d) {
	case Unknown, UATP:
		return false
	case Maestro:
		return len(d) >= 16
	}
	return true
}

// OneOf matches exactly the given PANs (e.g. the cards one request carried).
func OneOf(pans ...string) Matcher {
	set := make(map[string]bool, len(pans))
	for _, p := range pans {
		set[p] = true
	}
	return func(d string) bool { return set[d] }
}

// Either matches what any of ms matches.
func Either(ms ...Matcher) Matcher {
	return func(d string) bool {
		for _, m := range ms {
			if m != nil && m(d) {
				return true
			}
		}
		return false
	}
}

// Find calls yield for every card number in text that match accepts, left to
// right, until yield returns false. A digit is an ASCII or other Unicode
// decimal digit (full-width, Arabic-Indic, …), or one written as a percent
// escape (%34), a JSON/JS escape (\u0034) or an HTML character reference
// (&#52; &#x34;). Between two digits there may be one separator: a space,
// '+', '-', a Unicode space or dash, or an escape of one of those. Runs
// longer than a card are searched window by window (longest first), so a
// card number next to other digits is still found; hits never overlap.
func Find(text string, match Matcher, yield func(Hit) bool) { find(text, 1, match, yield) }

// FindLoose is Find with up to three separators between two digits
// ("4111 - 1111 - 1111 - 1111"): for masking, where a false hit costs a few
// '*' — not for refusing requests, where it would join a reference and a
// date ("Ref 453403592 - 2025-12-06") into a card number.
func FindLoose(text string, match Matcher, yield func(Hit) bool) { find(text, 3, match, yield) }

func find(text string, seps int, match Matcher, yield func(Hit) bool) {
	if match == nil {
		return
	}
	if !strings.ContainsAny(text, "%\\&") {
		scan(text, true, seps, false, match, yield) // nothing to decode: one streaming pass
		return
	}
	// Text that may hold escapes is read twice: decoded, and literally (the
	// "34" of "%34" are digits to an app that does not percent-decode).
	// Where a hit of one reading overlaps one of the other, the one that
	// starts first (then the longer) wins.
	var dec, lit []Hit
	escaped := scan(text, true, seps, false, match, func(h Hit) bool { dec = append(dec, h); return true })
	if escaped {
		scan(text, false, seps, false, match, func(h Hit) bool { lit = append(lit, h); return true })
	}
	end := 0
	for len(dec) > 0 || len(lit) > 0 {
		var h Hit
		if len(lit) == 0 || len(dec) > 0 && (dec[0].Start < lit[0].Start ||
			dec[0].Start == lit[0].Start && dec[0].End >= lit[0].End) {
			h, dec = dec[0], dec[1:]
		} else {
			h, lit = lit[0], lit[1:]
		}
		if h.Start < end {
			continue
		}
		if !yield(h) {
			return
		}
		end = h.End
	}
}

// ContainsLoose is Contains with FindLoose.
func ContainsLoose(text string, match Matcher) bool {
	found := false
	FindLoose(text, match, func(Hit) bool { found = true; return false })
	return found
}

// Contains reports whether text holds a card number that match accepts.
func Contains(text string, match Matcher) bool {
	found := false
	Find(text, match, func(Hit) bool { found = true; return false })
	return found
}

// MaskAll replaces every digit of every card number FindLoose finds in text but the
// last four with '*' (a whole escape becomes one '*'), and says how many it
// masked.
//
// The kept last four digits can start a new card number with the digits
// that follow them, and a masked escape can end up read literally: MaskAll
// masks again until the text holds no card number match accepts. Each pass
// turns at least eight characters that are not '*' into '*', so this ends;
// in practice after at most two passes.
func MaskAll(text string, match Matcher) (string, int) {
	total := 0
	for {
		out, n := maskOnce(text, match)
		if n == 0 {
			return text, total
		}
		text, total = out, total+n
	}
}

func maskOnce(text string, match Matcher) (string, int) {
	// Every matching window — at every start, in both readings — and not
	// only the non-overlapping ones Find reports: a window that starts in
	// digits before a card number ("2025-12-06 5555…") must not leave the
	// card's own digits in clear. Overlapping windows form one block; each
	// block keeps only its last four digits.
	var hits []Hit
	collect := func(h Hit) bool { hits = append(hits, h); return true }
	if scan(text, true, 3, true, match, collect) {
		scan(text, false, 3, true, match, collect)
	}
	if len(hits) == 0 {
		return text, 0
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].Start < hits[j].Start })
	var mask [][2]int // digit ranges to replace with '*'
	blocks := 0
	for i := 0; i < len(hits); {
		end, j := hits[i].End, i+1
		for j < len(hits) && hits[j].Start < end {
			end = max(end, hits[j].End)
			j++
		}
		var digits [][2]int
		for _, h := range hits[i:j] {
			digits = append(digits, h.Digits...)
		}
		sort.Slice(digits, func(a, b int) bool { return digits[a][0] < digits[b][0] })
		digits = slices.CompactFunc(digits, func(a, b [2]int) bool { return a == b })
		if len(digits) > 4 {
			mask = append(mask, digits[:len(digits)-4]...)
		}
		blocks++
		i = j
	}
	sort.Slice(mask, func(a, b int) bool { return mask[a][0] < mask[b][0] })
	out := make([]byte, 0, len(text))
	pos := 0
	for _, d := range mask {
		if d[1] <= pos {
			continue
		}
		out = append(out, text[pos:max(pos, d[0])]...)
		out = append(out, '*')
		pos = d[1]
	}
	out = append(out, text[pos:]...)
	return string(out), blocks
}

// Redact masks every Luhn-valid 12–19 digit number in a string headed for a
// log line or an error message (MaskAll with AnyLuhn), also one next to
// other digits.
func Redact(s string) string {
	out, _ := MaskAll(s, AnyLuhn)
	return out
}

// Printable is s for a log line or a report, bounded: control characters
// and invalid UTF-8 become '?', and past max runes it is cut with "…" (a
// shopper chooses field names: one must not make a log line megabytes long).
// Mask card numbers first (Redact), then bound.
func Printable(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// MaskCVCs replaces each digit-bounded occurrence of one of cvcs in s with
// '*'s and returns how many it replaced.
func MaskCVCs(s string, cvcs []string) (string, int) {
	n := 0
	for _, c := range cvcs {
		if c == "" || !strings.Contains(s, c) {
			continue
		}
		var b strings.Builder
		i := 0
		for {
			j := strings.Index(s[i:], c)
			if j < 0 {
				break
			}
			j += i
			end := j + len(c)
			if (j == 0 || !isASCIIDigit(s[j-1])) && (end == len(s) || !isASCIIDigit(s[end])) {
				b.WriteString(s[i:j])
				b.WriteString(strings.Repeat("*", len(c)))
				n++
			} else {
				b.WriteString(s[i:end])
			}
			i = end
		}
		b.WriteString(s[i:])
		s = b.String()
	}
	return s, n
}

// ASCIIDigits maps every Unicode decimal digit to its ASCII digit.
func ASCIIDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if v, ok := DigitValue(r); ok {
			return rune('0' + v)
		}
		return r
	}, s)
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// Package textscan is what cardproxy's fail-closed checks count as card data
// in text, read the way the most lenient app would read it: card numbers as
// people type them (Cards), also as number parsers read them (NumericCard),
// tokens and format-preserving token shapes, and CVCs by their names — in
// every reading of the text (Readings: as sent, unescaped, without NUL bytes,
// without XML markup). It only answers questions; it never rewrites.
package textscan

import (
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/token"
)

// CardInValue reports a card number in a header, query or path value, as
// sent or decoded (%0A4111…: the letter of an escape is no letter to the
// app).
func CardInValue(s string) bool {
	if d := UnescapeOnce(s); d != s && HasCard(d) {
		return true // as the app's query or cookie parser decodes it
	}
	if d := Unescape(s); d != s && HasCard(d) {
		return true
	}
	return HasCard(s)
}

// NumericCard reports a whole value that number parsers read as a card
// number: PHP's (int)/intval/filter_var, JavaScript's Number/parseFloat and
// Python's float/Decimal take "4.111111111111111e15", "4111111111111110.9"
// (the nearest double) and "4111111111111111e0".
func NumericCard(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || strings.Trim(v, "0123456789.eE+-") != "" {
		return "", false
	}
	if d, ok := card.FromJSONNumber(v); ok && card.Likely(d) {
		return d, true
	}
	return AsDouble(v, card.Likely)
}

// HasCard reports a card number that a refusal counts in text (see
// Cards).
func HasCard(s string) bool {
	found := false
	Cards(s, func(card.Hit) bool { found = true; return false })
	return found
}

// Cards calls yield for the card numbers in text that cardproxy refuses
// a request for: card.Likely numbers (not 12–13 digits, UATP or short
// Maestro: barcodes, phone numbers, ad ids, timestamps), at most one
// separator between two digits, not a window inside a longer number
// (tracking numbers, 18-digit ad ids), and not part of an identifier — a digit run
// glued to a letter, directly or across a '-', is a hex id, a UUID, an IBAN
// or a signature (a space is a word boundary: "card 4111 …" counts). Measured on realistic traffic (legit_test.go),
// anything looser refuses real checkouts.
func Cards(s string, yield func(card.Hit) bool) {
	card.Find(s, card.Likely, func(h card.Hit) bool {
		if (h.Start > 0 && isDigit(s[h.Start-1]) && !onlyZerosBefore(s, h.Start)) || (h.End < len(s) && isDigit(s[h.End])) {
			return true // a window inside a longer number: an id, not a card as typed
		}
		start, end := h.Start, h.End
		for start > 0 && (isDigit(s[start-1]) || start > 1 && isSepByte(s[start-1]) && isDigit(s[start-2])) {
			start--
		}
		for end < len(s) && (isDigit(s[end]) || end+1 < len(s) && isSepByte(s[end]) && isDigit(s[end+1])) {
			end++
		}
		// Letters after a number that starts the value with plain digits
		// make no identifier: parseInt, (int) and intval read
		// "4111111111111111abc" as the card.
		first := strings.TrimLeft(s[:start], " \t\r\n") == "" && !strings.ContainsAny(s[start:end], " -+_\t")
		glued := (start > 0 && isLetter(s[start-1])) || (start > 1 && isIDPunct(s[start-1]) && isLetter(s[start-2])) ||
			!first && ((end < len(s) && isLetter(s[end])) || (end+1 < len(s) && isIDPunct(s[end]) && isLetter(s[end+1])))
		if glued {
			return true
		}
		return yield(h)
	})
}

// onlyZerosBefore: the digits right before i are all zeros — leading zeros
// that (int)"0004111…" in PHP, Number() in JavaScript and int() in Python
// drop, leaving the card number.
func onlyZerosBefore(s string, i int) bool {
	for i > 0 && isDigit(s[i-1]) {
		if s[i-1] != '0' {
			return false
		}
		i--
	}
	return true
}

// isIDPunct joins letters and digits into one identifier (UUIDs, slugs).
func isIDPunct(c byte) bool { return c == '-' || c == '_' }

func isSepByte(c byte) bool { return c == ' ' || c == '-' || c == '+' || c == '\t' || c == '_' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// PreservingRun reports a run of 12–19 digits (single spaces or dashes
// between them allowed) with a leading 0 that fails Luhn — the shape of a
// format-preserving token — anywhere in s, as sent or decoded.
// In headers and the query (glued), a run glued to a letter is part of an
// identifier (hex ids) and does not count.
func PreservingRun(s string, glued bool) bool {
	if PreservingIn(s, glued) {
		return true
	}
	d := Unescape(s)
	return d != s && PreservingIn(d, glued)
}

func PreservingIn(s string, glued bool) bool {
	var run [card.MaxLen + 1]byte
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		n, j := 0, i
		for j < len(s) {
			if isDigit(s[j]) {
				if n <= card.MaxLen {
					run[n] = s[j]
				}
				n++
				j++
			} else if (s[j] == ' ' || s[j] == '-') && j+1 < len(s) && isDigit(s[j+1]) {
				j++
			} else {
				break
			}
		}
		if n >= card.MinLen && n <= card.MaxLen && token.IsPreserving(string(run[:n])) &&
			!(glued && ((i > 0 && isLetter(s[i-1])) || (j < len(s) && isLetter(s[j])))) {
			return true
		}
		i = j
	}
	return false
}

// Readings are the ways an app may read a text body: as sent, decoded,
// without NUL bytes (UTF-16 or UTF-32 text, which Werkzeug's get_json
// decodes) and without XML markup that parsers drop inside a text node
// (CDATA brackets, comments).
func Readings(s string) []string {
	d := Unescape(s)
	out := []string{s}
	if d != s {
		out = append(out, d)
	}
	if strings.IndexByte(d, 0) >= 0 {
		out = append(out, strings.ReplaceAll(d, "\x00", ""))
	}
	if strings.Contains(d, "<!") || strings.Contains(d, "<?") {
		out = append(out, xmlNoise.ReplaceAllString(d, ""))
	}
	return out
}

// foldLetters maps the two non-ASCII letters that lower-case to ASCII ones
// under Unicode folding (ſ → s, Kelvin sign → k). Built once: building a
// Replacer per call was 18% of card_tokenize's CPU on card-free bodies
// (cmd/cardbench, passthrough).
var foldLetters = strings.NewReplacer("ſ", "s", "K", "k")

// CVCByName finds a CVC by its name in text cardproxy does not parse
// (`cvc=739`, `"cvv": "739"`, `<cvc>739</cvc>`): a CVC has no checksum,
// so its name is all there is to recognise it by. Linear: one lower-cased
// copy, then strings.Index per name stem.
func CVCByName(s string) bool {
	// A CVC is 3 or 4 ASCII digits (cvcAfterName): text with fewer digits
	// cannot hold one — most names and values, answered without a search.
	digits := 0
	for i := 0; i < len(s) && digits < 3; i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	if digits < 3 {
		return false
	}
	low := strings.ToLower(foldLetters.Replace(s))
	for _, stem := range cvcStems {
		for i := 0; ; {
			k := strings.Index(low[i:], stem)
			if k < 0 {
				break
			}
			at := i + k
			i = at + len(stem)
			if (at == 0 || !isLetter(low[at-1]) && !isDigit(low[at-1])) && cvcAfterName(low[i:]) {
				return true
			}
		}
	}
	return false
}

// cvcAfterName: the rest of a name (up to 12 letters, '_', '-', ' ',
// the 2 of cvc2), up to 4 characters of punctuation (quotes, ':', '=',
// '>'), then 3 or 4 digits that end there.
func cvcAfterName(s string) bool {
	i := 0
	for i < len(s) && i < 12 && (s[i] >= 'a' && s[i] <= 'z' || s[i] == '_' || s[i] == '-' || s[i] == ' ' ||
		(s[i] == '2' && (i+1 == len(s) || !isDigit(s[i+1])))) { // cvc2, cvv2
		i++
	}
	for p := 0; i < len(s) && p < 4 && strings.IndexByte("\"' \t:=>", s[i]) >= 0; p++ {
		i++
	}
	d := 0
	for i+d < len(s) && isDigit(s[i+d]) {
		d++
	}
	// …and end there, not inside a word (base64 blobs hold "cv…123x").
	return (d == 3 || d == 4) && (i+d == len(s) || !isLetter(s[i+d]))
}

// cvcStems start the names CVCByName looks for: the generic stems at a word
// start, and the compound names (cardCvc, ccCvv, card_security_code, cc_cid…)
// whole, since they begin with another word.
var cvcStems = func() []string {
	stems := []string{"cv", "csc", "security", "card_code", "cardcode", "card code", "card-code", "verification"}
	for _, n := range fieldmap.CVCNames() {
		stems = append(stems, n, strings.ReplaceAll(n, "_", ""))
	}
	for _, n := range []string{"cccvv", "cccvc", "cardverificationvalue", "cardverificationcode", "cardsecuritycode"} {
		stems = append(stems, n)
	}
	return stems
}()

// HasToken reports whether s, decoded, holds an opaque cardproxy token.
func HasToken(s string) bool { return token.Contains(s) || token.Contains(Unescape(s)) }

// IsPreservingToken reports whether a whole value, decoded and without
// separators, has the shape of a format-preserving token.
func IsPreservingToken(v string) bool {
	// Whatever trim() an app applies: PHP's strips NUL, Python's the
	// control characters \x1c–\x1f; invisible format characters too.
	d, ok := card.Normalize(strings.TrimFunc(Unescape(v), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	}))
	return ok && token.IsPreserving(d)
}

// AsDouble reads a number as the double every JavaScript, PHP and Python app
// parses it into, and returns the first integer reading of 12–19 digits
// that match accepts: the double's exact value, and the digits JavaScript
// prints for it (shortest form, zero-padded: 4111111111111117001 prints as
// 4111111111111117000).
func AsDouble(v string, match func(string) bool) (string, bool) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 1e11 || x >= 1e19 || x != math.Trunc(x) {
		return "", false
	}
	exact := strconv.FormatFloat(x, 'f', 0, 64)
	if match(exact) {
		return exact, true
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(x, 'e', -1, 64), "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	if n := e + 1; n >= len(digits) && n <= card.MaxLen {
		if js := digits + strings.Repeat("0", n-len(digits)); match(js) {
			return js, true
		}
	}
	return "", false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

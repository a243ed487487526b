package caddymodule

// What a refusal counts as card data in text: card numbers as people type
// them (textCards), format-preserving token shapes, and CVCs by their names.

import (
	"strings"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/vault"
)

// cardInToken reports a card number in a header, query or path value, as
// sent or decoded (%0A4111…: the letter of an escape is no letter to the
// app).
func cardInToken(s string) bool {
	if d := decodeOnce(s); d != s && textCard(d) {
		return true // as the app's query or cookie parser decodes it
	}
	if d := decodeText(s); d != s && textCard(d) {
		return true
	}
	return textCard(s)
}

// numericCard reports a whole value that number parsers read as a card
// number: PHP's (int)/intval/filter_var, JavaScript's Number/parseFloat and
// Python's float/Decimal take "4.111111111111111e15", "4111111111111110.9"
// (the nearest double) and "4111111111111111e0".
func numericCard(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || strings.Trim(v, "0123456789.eE+-") != "" {
		return "", false
	}
	if d, ok := card.FromJSONNumber(v); ok && card.Likely(d) {
		return d, true
	}
	return asDouble(v, card.Likely)
}

// textCard reports a card number that a refusal counts in text (see
// textCards).
func textCard(s string) bool {
	found := false
	textCards(s, func(card.Hit) bool { found = true; return false })
	return found
}

// textCards calls yield for the card numbers in text that cardproxy refuses
// a request for: card.Likely numbers (not 12–13 digits, UATP or short
// Maestro: barcodes, phone numbers, ad ids, timestamps), at most one
// separator between two digits, not a window inside a longer number
// (tracking numbers, 18-digit ad ids), and not part of an identifier — a digit run
// glued to a letter, directly or across a '-', is a hex id, a UUID, an IBAN
// or a signature (a space is a word boundary: "card 4111 …" counts). Measured on realistic traffic (legit_test.go),
// anything looser refuses real checkouts.
func textCards(s string, yield func(card.Hit) bool) {
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

// hasPreservingRun reports a run of 12–19 digits (single spaces or dashes
// between them allowed) with a leading 0 that fails Luhn — the shape of a
// format-preserving token — anywhere in s, as sent or decoded.
// In headers and the query (glued), a run glued to a letter is part of an
// identifier (hex ids) and does not count.
func hasPreservingRun(s string, glued bool) bool {
	if preservingIn(s, glued) {
		return true
	}
	d := decodeText(s)
	return d != s && preservingIn(d, glued)
}

func preservingIn(s string, glued bool) bool {
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
		if n >= card.MinLen && n <= card.MaxLen && vault.IsPreservingToken(string(run[:n])) &&
			!(glued && ((i > 0 && isLetter(s[i-1])) || (j < len(s) && isLetter(s[j])))) {
			return true
		}
		i = j
	}
	return false
}

// textReadings are the ways an app may read a text body: as sent, decoded,
// without NUL bytes (UTF-16 or UTF-32 text, which Werkzeug's get_json
// decodes) and without XML markup that parsers drop inside a text node
// (CDATA brackets, comments).
func textReadings(s string) []string {
	d := decodeText(s)
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

// cvcInText finds a CVC by its name in text cardproxy does not parse
// (`cvc=739`, `"cvv": "739"`, `<cvc>739</cvc>`): a CVC has no checksum,
// so its name is all there is to recognise it by. Linear: one lower-cased
// copy, then strings.Index per name stem.
func cvcInText(s string) bool {
	low := strings.ToLower(strings.NewReplacer("ſ", "s", "K", "k").Replace(s))
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

// cvcStems start the names cvcInText looks for: the generic stems at a word
// start, and the compound names (cardCvc, ccCvv, card_security_code, cc_cid…)
// whole, since they begin with another word.
var cvcStems = func() []string {
	stems := []string{"cv", "csc", "security", "card_code", "cardcode", "card code", "card-code", "verification"}
	for n := range cvcNames {
		stems = append(stems, n, strings.ReplaceAll(n, "_", ""))
	}
	for _, n := range []string{"cccvv", "cccvc", "cardverificationvalue", "cardverificationcode", "cardsecuritycode"} {
		stems = append(stems, n)
	}
	return stems
}()

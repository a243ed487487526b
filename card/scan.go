package card

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
type Matcher func(digits string) bool

// Known matches Luhn-valid numbers with a known IIN and length (Detect's rule).
func Known(d string) bool { return Luhn(d) && BrandOf(d) != Unknown }

// AnyLuhn matches every Luhn-valid 12–19 digit number that does not start
// with 0 (no scheme issues under major industry identifier 0; cardproxy's
// format-preserving tokens start with it). Used where a false positive costs
// little: masking logs and PSP answers.
func AnyLuhn(d string) bool { return d[0] != '0' && Luhn(d) }

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
func Find(text string, match Matcher, yield func(Hit) bool) {
	findASCII(text, match, yield)
}

// Contains reports whether text holds a card number that match accepts.
func Contains(text string, match Matcher) bool {
	found := false
	Find(text, match, func(Hit) bool { found = true; return false })
	return found
}

// MaskAll replaces every digit of every card number found in text but the
// last four with '*' (a whole escape becomes one '*'), and says how many it
// masked.
func MaskAll(text string, match Matcher) (string, int) {
	var hits []Hit
	Find(text, match, func(h Hit) bool { hits = append(hits, h); return true })
	if len(hits) == 0 {
		return text, 0
	}
	out := make([]byte, 0, len(text))
	pos := 0
	for _, h := range hits {
		for _, d := range h.Digits[:len(h.Digits)-4] {
			out = append(out, text[pos:d[0]]...)
			out = append(out, '*')
			pos = d[1]
		}
	}
	out = append(out, text[pos:]...)
	return string(out), len(hits)
}

// findASCII is the plain-digit scan (placeholder for the decoding scan).
func findASCII(text string, match Matcher, yield func(Hit) bool) {
	i := 0
	for i < len(text) {
		if text[i] < '0' || text[i] > '9' {
			i++
			continue
		}
		var digits [][2]int
		j := i
		for j < len(text) {
			if text[j] >= '0' && text[j] <= '9' {
				digits = append(digits, [2]int{j, j + 1})
				j++
				continue
			}
			if (text[j] == ' ' || text[j] == '-') && j+1 < len(text) && text[j+1] >= '0' && text[j+1] <= '9' {
				j++
				continue
			}
			break
		}
		if !scanRun(text, digits, match, yield) {
			return
		}
		i = j
	}
}

// scanRun looks for card numbers in one run of digits: at each start, the
// longest window that matches wins; the scan goes on after it.
func scanRun(text string, digits [][2]int, match Matcher, yield func(Hit) bool) bool {
	buf := make([]byte, len(digits))
	for k, d := range digits {
		buf[k] = digitValue(text, d)
	}
	for s := 0; s+MinLen <= len(digits); {
		hit := 0
		for n := min(MaxLen, len(digits)-s); n >= MinLen; n-- {
			if match(string(buf[s : s+n])) {
				hit = n
				break
			}
		}
		if hit == 0 {
			s++
			continue
		}
		ds := digits[s : s+hit]
		if !yield(Hit{Start: ds[0][0], End: ds[hit-1][1], PAN: string(buf[s : s+hit]), Digits: ds}) {
			return false
		}
		s += hit
	}
	return true
}

func digitValue(text string, d [2]int) byte { return text[d[0]] }

package card

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// Decoding the representations of a digit or a separator that Find accepts.

// Kinds of token at a position of the text.
const (
	tokOther = iota // anything else: ends a run of digits
	tokDigit
	tokSep
)

// ndZeros holds the code point of every Unicode decimal digit zero, sorted.
// Decimal digits (unicode.Nd) come in contiguous blocks 0–9 (a Unicode
// stability guarantee), so a digit's value is its distance from its zero.
var ndZeros = func() []rune {
	var z []rune
	for _, r := range unicode.Nd.R16 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += 10 {
			z = append(z, c)
		}
	}
	for _, r := range unicode.Nd.R32 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += 10 {
			z = append(z, c)
		}
	}
	return z
}()

// DigitValue returns the value of a decimal digit rune: ASCII or any other
// Unicode decimal digit (full-width, Arabic-Indic, Devanagari, …).
func DigitValue(r rune) (byte, bool) {
	if r >= '0' && r <= '9' {
		return byte(r - '0'), true
	}
	if r < 0x80 || !unicode.IsDigit(r) {
		return 0, false
	}
	i := sort.Search(len(ndZeros), func(i int) bool { return ndZeros[i] > r }) - 1
	if i < 0 || r-ndZeros[i] > 9 {
		return 0, false
	}
	return byte(r - ndZeros[i]), true
}

// IsSeparator reports whether r may stand between two digits of a card
// number: ASCII space, tab, '+', '-', any Unicode space, a dash (Unicode
// Pd, the minus sign U+2212), the soft hyphen or a zero-width space/joiner.
// Not '.' or '/': they join decimals, versions, dates and analytics ids
// ("GA1.1.1234567890.1700000000") into runs that pass Luhn by chance.
func IsSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '+', '-', '_':
		return true
	}
	return isUnicodeSep(r)
}

// isUnicodeSep is IsSeparator without '+' and ASCII space, tab and '-'
// (other ASCII white space included).
func isUnicodeSep(r rune) bool {
	switch {
	case r == 0x2212, r == 0x00AD, r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF:
		return true
	case r < 0x80:
		return r == '\n' || r == '\r' || r == '\v' || r == '\f'
	}
	// Format characters (bidi marks U+200E/F, U+2066–2069, U+061C, …)
	// are invisible: "4111‎1111…" shows as a bare card number.
	return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || unicode.Is(unicode.Cf, r)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hexAt parses n hex digits at text[i:].
func hexAt(text string, i, n int) (rune, bool) {
	if i+n > len(text) {
		return 0, false
	}
	var v rune
	for k := 0; k < n; k++ {
		h, ok := unhex(text[i+k])
		if !ok {
			return 0, false
		}
		v = v<<4 | rune(h)
	}
	return v, true
}

// pctRune decodes a percent escape at text[i] ('%'): one byte, or the UTF-8
// bytes of one rune each escaped ("%EF%BC%94", a full-width 4).
func pctRune(text string, i int) (rune, int, bool) {
	b, ok := hexAt(text, i+1, 2)
	if !ok || text[i] != '%' {
		return 0, 0, false
	}
	if b < 0x80 {
		return b, i + 3, true
	}
	var n int
	switch {
	case b >= 0xC2 && b <= 0xDF:
		n = 2
	case b >= 0xE0 && b <= 0xEF:
		n = 3
	case b >= 0xF0 && b <= 0xF4:
		n = 4
	default:
		return 0, 0, false
	}
	var buf [4]byte
	buf[0] = byte(b)
	end := i + 3
	for k := 1; k < n; k++ {
		if end >= len(text) || text[end] != '%' {
			return 0, 0, false
		}
		c, ok := hexAt(text, end+1, 2)
		if !ok {
			return 0, 0, false
		}
		buf[k] = byte(c)
		end += 3
	}
	r, size := utf8.DecodeRune(buf[:n])
	if r == utf8.RuneError || size != n {
		return 0, 0, false
	}
	return r, end, true
}

// bsRune decodes a JSON/JS escape at text[i] ('\\'): \uXXXX (with a
// surrogate pair), \u{X…} and \xXX.
func bsRune(text string, i int) (rune, int, bool) {
	if i+1 >= len(text) {
		return 0, 0, false
	}
	switch text[i+1] {
	case 'x':
		r, ok := hexAt(text, i+2, 2)
		return r, i + 4, ok
	case 'u':
	default:
		return 0, 0, false
	}
	if i+2 < len(text) && text[i+2] == '{' {
		var v rune
		for j := i + 3; j < len(text) && j < i+3+8; j++ {
			if text[j] == '}' && j > i+3 {
				return v, j + 1, true
			}
			h, ok := unhex(text[j])
			if !ok {
				break
			}
			v = v<<4 | rune(h)
		}
		return 0, 0, false
	}
	r, ok := hexAt(text, i+2, 4)
	if !ok {
		return 0, 0, false
	}
	if r >= 0xD800 && r < 0xDC00 && i+7 < len(text) && text[i+6] == '\\' && text[i+7] == 'u' {
		if lo, ok := hexAt(text, i+8, 4); ok && lo >= 0xDC00 && lo < 0xE000 {
			return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), i + 12, true
		}
	}
	return r, i + 6, true
}

// htmlNames are the named character references of separators.
var htmlNames = map[string]rune{
	"nbsp": 0xA0, "NonBreakingSpace": 0xA0, "ensp": 0x2002, "emsp": 0x2003,
	"numsp": 0x2007, "puncsp": 0x2008, "thinsp": 0x2009, "hairsp": 0x200A,
	"hyphen": 0x2010, "dash": 0x2010, "ndash": 0x2013, "mdash": 0x2014,
	"minus": 0x2212, "shy": 0xAD, "Tab": '\t', "ZeroWidthSpace": 0x200B,
}

// htmlRune decodes an HTML character reference at text[i] ('&'): &#N; and
// &#xH; (any number of leading zeros; the ';' may be missing, as browsers
// allow) or a named separator.
func htmlRune(text string, i int) (rune, int, bool) {
	j := i + 1
	if j >= len(text) {
		return 0, 0, false
	}
	if text[j] != '#' {
		k := j
		for k < len(text) && k-j < 16 && (text[k]|0x20 >= 'a' && text[k]|0x20 <= 'z' || text[k] >= '0' && text[k] <= '9') {
			k++
		}
		if k < len(text) && text[k] == ';' {
			if r, ok := htmlNames[text[j:k]]; ok {
				return r, k + 1, true
			}
		}
		return 0, 0, false
	}
	j++
	hex := j < len(text) && (text[j] == 'x' || text[j] == 'X')
	if hex {
		j++
	}
	start := j
	var v rune
	for ; j < len(text); j++ {
		var d byte
		var ok bool
		if hex {
			d, ok = unhex(text[j])
		} else if c := text[j]; c >= '0' && c <= '9' {
			d, ok = c-'0', true
		}
		if !ok {
			break
		}
		if v <= unicode.MaxRune {
			if hex {
				v = v<<4 | rune(d)
			} else {
				v = v*10 + rune(d)
			}
		}
	}
	if j == start || v > unicode.MaxRune {
		return 0, 0, false
	}
	if j < len(text) && text[j] == ';' {
		j++
	}
	// Without ';' too: browsers, Go's html.UnescapeString and Python's
	// html.unescape all read "&#52&#49" as "41".
	return v, j, true
}

// startsToken marks the bytes a digit can start with: ASCII digits, the
// escape introducers and UTF-8 lead bytes. Other bytes are skipped quickly.
var startsToken = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['%'], t['\\'], t['&'] = true, true, true
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// token classifies the representation at text[i]: a digit (with its value),
// a separator or something else, and returns where it ends. With decode
// false only literal characters count; escapes are other bytes.
func token(text string, i int, decode bool) (kind int, val byte, end int) {
	c := text[i]
	switch {
	case c >= '0' && c <= '9':
		return tokDigit, c - '0', i + 1
	case c == ' ' || c == '+' || c == '-' || c == '\t' || c == '_':
		// '_' too: Python's int() reads 4111_1111_1111_1111.
		return tokSep, 0, i + 1
	case c >= 0x80:
		r, size := utf8.DecodeRuneInString(text[i:])
		if v, ok := DigitValue(r); ok {
			return tokDigit, v, i + size
		}
		if isUnicodeSep(r) {
			return tokSep, 0, i + size
		}
		return tokOther, 0, i + size
	case !decode:
		if isUnicodeSep(rune(c)) {
			return tokSep, 0, i + 1
		}
		return tokOther, 0, i + 1
	}
	var r rune
	var ok bool
	switch c {
	case '%':
		r, end, ok = pctRune(text, i)
	case '\\':
		r, end, ok = bsRune(text, i)
	case '&':
		r, end, ok = htmlRune(text, i)
	default:
		if isUnicodeSep(rune(c)) {
			return tokSep, 0, i + 1
		}
		return tokOther, 0, i + 1
	}
	if !ok {
		return tokOther, 0, i + 1
	}
	if v, ok := DigitValue(r); ok {
		return tokDigit, v, end
	}
	// An escaped '+' is a literal plus (%2B in a query string), not a space.
	if r != '+' && IsSeparator(r) {
		return tokSep, 0, end
	}
	return tokOther, 0, end
}

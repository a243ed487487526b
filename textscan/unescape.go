package textscan

// Reading text the way the most lenient app would: every escape an app or a
// browser may undo before it looks at a value, and the readings of a text
// body (as sent, decoded, without NUL bytes, without XML markup).

import (
	"regexp"
	"strings"
)

// Unescape undoes the escapes an app may apply before it reads a value —
// percent-encoding, '+' for space, \uXXXX, HTML character references — up
// to three times (double encoding).
func Unescape(s string) string {
	for range 3 {
		d := UnescapeOnce(s)
		if d == s {
			return s
		}
		s = d
	}
	return s
}

// UnescapeOnce undoes one layer of escapes in a single pass: '+', %XX,
// \uXXXX, \xHH, \ooo, JSON's short escapes, &#N; and &#xH; (';' optional).
func UnescapeOnce(s string) string {
	if strings.IndexAny(s, "+%\\&") < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
			i++
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2]))) // a byte: %EF%BC%94 is UTF-8
			i += 3
			continue
		case c == '\\' && i+1 < len(s):
			if r, n := backslash(s[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
		case c == '&' && i+2 < len(s) && s[i+1] == '#':
			if r, n := htmlRef(s[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// backslash decodes \uXXXX, \xHH, \ooo (octal, as in RFC 2109 quoted
// cookies) and JSON's short escapes at the start of s.
func backslash(s string) (rune, int) {
	switch c := s[1]; {
	case c == 'u' && len(s) >= 6 && isHex(s[2]) && isHex(s[3]) && isHex(s[4]) && isHex(s[5]):
		return rune(unhex(s[2])<<12 | unhex(s[3])<<8 | unhex(s[4])<<4 | unhex(s[5])), 6
	case c == 'x' && len(s) >= 4 && isHex(s[2]) && isHex(s[3]):
		return rune(unhex(s[2])<<4 | unhex(s[3])), 4
	case c >= '0' && c <= '3' && len(s) >= 4 && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7':
		return rune(int(c-'0')<<6 | int(s[2]-'0')<<3 | int(s[3]-'0')), 4
	}
	if r, ok := shortEscape[s[1]]; ok {
		return r, 2
	}
	return 0, 0
}

var shortEscape = map[byte]rune{'t': '\t', 'n': '\n', 'r': '\r', 'f': '\f', 'b': '\b', '/': '/', '"': '"', '\\': '\\'}

// xmlNoise is XML markup a parser removes from inside one text node.
var xmlNoise = regexp.MustCompile(`<!\[CDATA\[|\]\]>|<!--(?:[^-]|-[^-])*-->|<\?[^>]*\?>`)

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 0
}

// htmlRef decodes &#N; or &#xH; (the ';' optional, as browsers allow) at
// the start of s.
func htmlRef(s string) (rune, int) {
	i, n := 2, 0
	hex := i < len(s) && (s[i] == 'x' || s[i] == 'X')
	if hex {
		i++
	}
	start := i
	for i < len(s) && n <= 0x10FFFF && (hex && isHex(s[i]) || !hex && isDigit(s[i])) {
		if hex {
			n = n<<4 | unhex(s[i])
		} else {
			n = n*10 + int(s[i]-'0')
		}
		i++ // any number of leading zeros, as html.unescape allows
	}
	if i == start || n > 0x10FFFF || (i < len(s) && (hex && isHex(s[i]) || !hex && isDigit(s[i]))) {
		return 0, 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	return rune(n), i
}

package difftest

// Cases from the seventh adversarial review (multipart charsets Django
// decodes with, multipart name variants); each parser test runs them in its
// "adversarial" subtest with the other adversarial cases.

import (
	"strings"
	"unicode/utf16"
)

func u16le(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

func adv7Cases() []advCase {
	mp := func(ct string, parts ...string) Case {
		return Case{Method: "POST", Header: [][2]string{{"Content-Type", ct}},
			Body: []byte("--" + boundary + "\r\n" + strings.Join(parts, "\r\n--"+boundary+"\r\n") + "\r\n--" + boundary + "--\r\n")}
	}
	ct := "multipart/form-data; boundary=" + boundary
	part := func(name, val string) string {
		return `Content-Disposition: form-data; name="` + name + `"` + "\r\n\r\n" + val
	}
	var out []advCase
	add := func(name string, c Case, pan, cvc string, named bool) {
		c.Name, c.PAN, c.CVC = name, pan, cvc
		out = append(out, advCase{c: c, cvcNamed: named})
	}
	// A1. Django decodes multipart names and values with the Content-Type
	// charset (request.encoding); cardproxy checks charset on JSON and forms only.
	add("mp-charset-utf16-cvc", mp(ct+"; charset=utf-16le",
		part(u16le("card_number"), u16le(advPAN)), part(u16le("cvc"), u16le(advCVC))), advPAN, advCVC, true)
	add("mp-charset-utf16-pan-only", mp(ct+"; charset=utf-16le",
		part(u16le("note"), u16le(advPAN))), advPAN, "", false)
	add("mp-charset-utf16-pan-ascii-name", mp(ct+"; charset=utf-16le",
		part("note", u16le(advPAN))), advPAN, "", false)
	add("mp-charset-cp037-cvc", mp(ct+"; charset=cp037",
		part("\x83\xa5\x83", "\xf7\xf3\xf9")), "", advCVC, true) // EBCDIC "cvc"="739"
	add("mp-charset-cp037-pan", mp(ct+"; charset=cp037",
		part(cp037("card_number"), cp037(advPAN)), part(cp037("cvc"), cp037(advCVC))), advPAN, advCVC, true)
	add("mp-charset-cp037-pan-ascii-name", mp(ct+"; charset=cp037",
		part("card_number", cp037(advPAN))), advPAN, "", false)
	// A2. names
	add("mp-name-pct22", mp(ct, part("card_number", advPAN), part("cvc%22", advCVC)), advPAN, advCVC, true)
	add("mp-name-semicolon", mp(ct, part("card_number", advPAN), part("x; name=cvc", advCVC)), advPAN, advCVC, true)
	add("mp-name-empty", mp(ct, part("", advPAN)), advPAN, "", false)
	add("mp-name-utf8", mp(ct, part("card_number", advPAN), part("cvc\u00a0", advCVC)), advPAN, advCVC, true)
	return out
}

// cp037 is EBCDIC (Python's codec): every byte of the text re-coded.
func cp037(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			b[i] = 0xF0 + c - '0'
		case c >= 'a' && c <= 'i':
			b[i] = 0x81 + c - 'a'
		case c >= 'j' && c <= 'r':
			b[i] = 0x91 + c - 'j'
		case c >= 's' && c <= 'z':
			b[i] = 0xA2 + c - 's'
		case c == '_':
			b[i] = 0x6D
		default:
			panic("cp037: unsupported byte")
		}
	}
	return string(b)
}

package caddymodule

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/vault"
)

// The checks below look at text the way the most lenient app would read it:
// card numbers in any representation card.Find knows (escaped, spaced,
// full-width, next to other digits), tokens after percent-, '+'-, \u- and
// HTML-decoding. They refuse; they never rewrite.

// threeDSFields are the fields of a 3-D Secure or PSP return (the shopper's
// browser posting the ACS's answer back to the shop). A flat form made of
// these fields only is a 3-D Secure return: it passes byte for byte, without
// auto-detect (a numeric MD can pass Luhn). Anywhere else these names mean
// nothing.
var threeDSFields = map[string]bool{}

func init() {
	for _, n := range []string{"PaRes", "PaReq", "MD", "TermUrl", "cres", "creq", "threeDSSessionData",
		"redirectResult", "transactionid", "payload", "payment_intent", "payment_intent_client_secret",
		"cko-session-id"} {
		threeDSFields[strings.ToLower(n)] = true
	}
}

func is3DSName(name string) bool { return threeDSFields[strings.ToLower(name)] }

// numeric reports whether v is a number, spaces and dashes allowed: the only
// kind of 3-D Secure return value exempt from the card checks (an MD can be
// numeric and pass Luhn; free text in a 3DS-named field gets no exemption).
func numeric(v string) bool {
	_, ok := card.Normalize(strings.TrimSpace(v))
	return ok
}

// is3DSReturn reports whether a body is a 3-D Secure return: a form whose
// fields all are top-level 3-D Secure fields.
func is3DSReturn(fields []bodyrewrite.Field) bool {
	if len(fields) == 0 {
		return false
	}
	for i := range fields {
		f := &fields[i]
		if f.Enc != bodyrewrite.Form || len(f.Path) != 1 || f.Alt != nil || !is3DSName(f.Path[0]) {
			return false
		}
	}
	return true
}

// decodeText undoes the escapes an app may apply before it reads a value —
// percent-encoding, '+' for space, \uXXXX, HTML character references — up
// to three times (double encoding).
func decodeText(s string) string {
	for range 3 {
		d := decodeOnce(s)
		if d == s {
			return s
		}
		s = d
	}
	return s
}

// decodeOnce undoes one layer of escapes in a single pass: '+', %XX,
// \uXXXX, \xHH, \ooo, JSON's short escapes, &#N; and &#xH; (';' optional).
func decodeOnce(s string) string {
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
			b.WriteRune(rune(unhex(s[i+1])<<4 | unhex(s[i+2])))
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
	for i < len(s) && i-start < 8 && (hex && isHex(s[i]) || !hex && isDigit(s[i])) {
		if hex {
			n = n<<4 | unhex(s[i])
		} else {
			n = n*10 + int(s[i]-'0')
		}
		i++
	}
	if i == start || n > 0x10FFFF || (i < len(s) && (hex && isHex(s[i]) || !hex && isDigit(s[i]))) {
		return 0, 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	return rune(n), i
}

// hasToken reports whether s, decoded, holds an opaque cardproxy token.
func hasToken(s string) bool { return vault.ContainsToken(s) || vault.ContainsToken(decodeText(s)) }

// isPreservingToken reports whether a whole value, decoded and without
// separators, has the shape of a format-preserving token.
func isPreservingToken(v string) bool {
	d, ok := card.Normalize(strings.TrimSpace(decodeText(v)))
	return ok && vault.IsPreservingToken(d)
}

func errToken(where string) *httpError {
	return &httpError{Status: http.StatusBadRequest, Code: "token_not_allowed",
		Message: where + " carries a cardproxy token; tokens are issued by cardproxy and cannot be submitted by clients"}
}

// cardInToken reports a card number in a header, query or path value, as
// sent or decoded (%0A4111…: the letter of an escape is no letter to the
// app).
func cardInToken(s string) bool {
	if d := decodeText(s); d != s && textCard(d) {
		return true
	}
	return textCard(s)
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
		glued := (start > 0 && isLetter(s[start-1])) || (start > 1 && s[start-1] == '-' && isLetter(s[start-2])) ||
			(end < len(s) && isLetter(s[end])) || (end+1 < len(s) && s[end] == '-' && isLetter(s[end+1]))
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

func isSepByte(c byte) bool { return c == ' ' || c == '-' || c == '+' || c == '\t' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkText refuses text holding a card number or a token.
func checkText(s, where string) *httpError {
	for _, t := range textReadings(s) {
		if textCard(t) {
			return &httpError{Status: http.StatusBadRequest, Code: "card_number_in_text",
				Message: where + " holds a card number that is not the field's whole value; cardproxy only replaces whole values, so the request was refused"}
		}
		if vault.ContainsToken(t) {
			return errToken(where)
		}
		if cvcInText(t) {
			return errCVCInText(where)
		}
	}
	return nil
}

func errCVCInText(where string) *httpError {
	return &httpError{Status: http.StatusBadRequest, Code: "cvc_in_text",
		Message: where + " holds a CVC next to a CVC name (e.g. cvc=123 inside a value); cardproxy only replaces whole CVC fields, so the request was refused"}
}

// checkName refuses a field whose name (JSON key, form or part name)
// carries card data: a name cannot be tokenized.
func checkName(f *bodyrewrite.Field, pres bool) *httpError {
	var name string
	switch {
	case len(f.Path) == 0:
		return nil
	case f.Enc == bodyrewrite.JSON:
		name = f.Path[len(f.Path)-1] // each key is the last segment of one field
	default:
		name = strings.Join(f.Path, "[")
	}
	if textCard(name) || hasToken(name) || (pres && isPreservingToken(name)) {
		return &httpError{Status: http.StatusBadRequest, Code: "card_data_in_field_name",
			Message: "a field name carries a card number or a cardproxy token; names cannot be tokenized, so the request was refused"}
	}
	return nil
}

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

// checkUnparsed refuses a body cardproxy does not parse (text/plain, XML,
// octet-stream, no Content-Type, …) when it carries card data in any form.
func checkUnparsed(body []byte, pres bool) *httpError {
	s := string(body)
	refuse := func() *httpError {
		return &httpError{Status: http.StatusUnsupportedMediaType, Code: "card_data_in_unparsed_body",
			Message: "the body is not JSON, a URL-encoded form or multipart/form-data, and it carries what looks like card data (a card number, a CVC) or a cardproxy token; send card data as JSON or a form"}
	}
	for _, t := range textReadings(s) {
		if textCard(t) || vault.ContainsToken(t) || (pres && preservingIn(t, false)) || cvcInText(t) {
			return refuse()
		}
	}
	return nil
}

// cvcInText finds a CVC by its name in text cardproxy does not parse
// (`cvc=739`, `"cvv": "739"`, `<cvc>739</cvc>`): a CVC has no checksum,
// so its name is all there is to recognise it by. Linear: one lower-cased
// copy, then strings.Index per name stem.
func cvcInText(s string) bool {
	low := strings.ToLower(s)
	for _, stem := range []string{"cv", "csc", "security", "card_code", "cardcode", "card code", "card-code", "verification"} {
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

// checkQuery refuses a query string that carries a card number (apps merge
// the query into the form: Go's FormValue, PHP's $_REQUEST, Flask's
// request.values) or a token. 3-D Secure return parameters and ignored
// fields may hold numbers that pass Luhn.
func (t *Tokenize) checkQuery(q string) *httpError {
	if q == "" {
		return nil
	}
	for _, pair := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
		name, val, _ := strings.Cut(pair, "=")
		if hasToken(pair) || (t.app.preservingTokens() && hasPreservingRun(pair, true)) {
			return errToken("the query string")
		}
		dn := decodeText(name)
		f, _ := queryField(dn, decodeText(val))
		if role := t.roleOf(f); role.rank() == 3 && strings.TrimSpace(f.Value) != "" {
			// Go's FormValue, PHP's $_REQUEST and Flask's request.values
			// merge the query into the form: a card field there is one.
			return &httpError{Status: http.StatusBadRequest, Code: "card_data_in_query",
				Message: fmt.Sprintf("the query string has a value for the card field %q; card data goes in the request body, never in a URL", safeName(&f))}
		} else if role == roleIgnore || (is3DSName(dn) && numeric(decodeText(val))) {
			continue // an ignored field, or a numeric 3-D Secure return value
		}
		if cvcInText(decodeText(pair)) {
			return errCVCInText("the query string")
		}
		if cardInToken(pair) {
			return &httpError{Status: http.StatusBadRequest, Code: "card_number_in_query",
				Message: "the query string carries a card number; card data goes in the request body, never in a URL"}
		}
	}
	return nil
}

// queryField is a query parameter as a form field (for the field rules).
func queryField(name, value string) (bodyrewrite.Field, error) {
	fs, err := bodyrewrite.ScanForm([]byte(url.QueryEscape(name)+"="+url.QueryEscape(value)), bodyrewrite.DefaultLimits)
	if err != nil || len(fs) != 1 {
		return bodyrewrite.Field{Path: []string{name}, Value: value}, err
	}
	return fs[0], nil
}

// checkPath refuses a URL path that carries a card number or a token (apps
// log paths and route on their segments).
func checkPath(p string) *httpError {
	if hasToken(p) {
		return errToken("the URL path")
	}
	if cardInToken(p) {
		return &httpError{Status: http.StatusBadRequest, Code: "card_number_in_path",
			Message: "the URL path carries a card number; card data goes in the request body, never in a URL"}
	}
	return nil
}

// checkHeaders refuses request headers that carry a card number or a token,
// or a CVC in a cookie or header named like a CVC field.
func checkHeaders(h http.Header, pres bool) *httpError {
	for _, c := range (&http.Request{Header: h}).Cookies() {
		if cvcNames[cvcName(c.Name)] && vault.ValidCVC(strings.Trim(c.Value, `" `)) {
			return &httpError{Status: http.StatusBadRequest, Code: "card_data_in_header",
				Message: "a cookie named like a CVC field carries a CVC; card data goes in the request body only"}
		}
	}
	for k, vs := range h {
		if name := strings.TrimPrefix(strings.ToLower(k), "x-"); cvcNames[cvcName(name)] {
			for _, v := range vs {
				if vault.ValidCVC(strings.TrimSpace(v)) {
					return &httpError{Status: http.StatusBadRequest, Code: "card_data_in_header",
						Message: "a header named like a CVC field carries a CVC; card data goes in the request body only"}
				}
			}
		}
		for _, v := range append([]string{k}, vs...) {
			if cvcInText(decodeText(v)) {
				return errCVCInText("a request header")
			}
			if cardInToken(v) {
				return &httpError{Status: http.StatusBadRequest, Code: "card_number_in_header",
					Message: "a request header carries a card number; card data goes in the request body only"}
			}
			if hasToken(v) || (pres && hasPreservingRun(v, true)) {
				return errToken("a request header")
			}
		}
	}
	return nil
}

// residualCheck reads the raw body as a log line would show it (card.Find
// reads escapes both decoded and literally): every card number in it must
// lie inside a value cardproxy replaces, or in an ignored field or a 3-D
// Secure return. Anything else — in a name, in multipart part headers, in
// the literal text of an escape — is refused before any Vault work.
func residualCheck(body []byte, fields []bodyrewrite.Field, p *plan, allowed func(*bodyrewrite.Field) bool) *httpError {
	var spans [][2]int
	for _, g := range p.pans {
		for _, f := range g.fields {
			s, e := f.Span()
			spans = append(spans, [2]int{s, e})
		}
	}
	for i := range fields {
		if f := &fields[i]; f.Kind != bodyrewrite.Object && allowed(f) {
			s, e := f.Span()
			spans = append(spans, [2]int{s, e})
		}
	}
	var herr *httpError
	textCards(string(body), func(h card.Hit) bool {
		for _, sp := range spans {
			if h.Start >= sp[0] && h.End <= sp[1] {
				return true
			}
		}
		herr = &httpError{Status: http.StatusBadRequest, Code: "card_data_left",
			Message: "the body holds a card number outside any value cardproxy can replace (e.g. in a field name, a part header or an escape sequence); nothing was forwarded"}
		return false
	})
	return herr
}

// finalCheck runs on the body about to go to the app, whatever the field
// rules decided: none of the card numbers this request carried may be left
// in it in any representation, and no token but those just issued.
func finalCheck(out []byte, p *plan, res *result) *httpError {
	s := string(out)
	pans := make([]string, 0, len(p.pans))
	for _, g := range p.pans {
		pans = append(pans, g.pan)
	}
	if card.ContainsLoose(s, card.OneOf(pans...)) {
		return &httpError{Status: http.StatusBadRequest, Code: "card_data_left",
			Message: "a card number of this request is also where cardproxy cannot replace it (e.g. in free text or escaped); nothing was forwarded"}
	}
	issued := map[string]bool{}
	for _, tok := range res.tokens {
		issued[tok] = true
	}
	for _, tok := range vault.TokenPattern.FindAllString(decodeText(s), -1) {
		if !issued[tok] {
			return errToken("the request")
		}
	}
	return nil
}

// safeName is a field name for messages and logs, card numbers masked.
func safeName(f *bodyrewrite.Field) string { return maskLog(f.Name()) }

// maskLog masks every Luhn-valid 12–19 digit number in a string headed for a
// log line or an error message, also next to other digits.
func maskLog(s string) string {
	out, _ := card.MaskAll(s, card.AnyLuhn)
	return out
}

func maskErr(err error) string {
	if err == nil {
		return ""
	}
	return maskLog(err.Error())
}

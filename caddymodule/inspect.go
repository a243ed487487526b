package caddymodule

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

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
		if f.Enc != bodyrewrite.Form || len(f.Path) != 1 || len(f.Readings()) > 1 || !is3DSName(f.Path[0]) {
			return false
		}
	}
	return true
}

// hasToken reports whether s, decoded, holds an opaque cardproxy token.
func hasToken(s string) bool { return vault.ContainsToken(s) || vault.ContainsToken(decodeText(s)) }

// isPreservingToken reports whether a whole value, decoded and without
// separators, has the shape of a format-preserving token.
func isPreservingToken(v string) bool {
	// Whatever trim() an app applies: PHP's strips NUL, Python's the
	// control characters \x1c–\x1f; invisible format characters too.
	d, ok := card.Normalize(strings.TrimFunc(decodeText(v), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	}))
	return ok && vault.IsPreservingToken(d)
}

func errToken(where string) *httpError {
	return &httpError{Status: http.StatusBadRequest, Code: "token_not_allowed",
		Message: where + " carries a cardproxy token; tokens are issued by cardproxy and cannot be submitted by clients"}
}

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
	if textCard(name) || card.Contains(name, card.Known) || hasToken(name) || cvcInText(name) || (pres && isPreservingToken(name)) {
		return &httpError{Status: http.StatusBadRequest, Code: "card_data_in_field_name",
			Message: "a field name carries a card number or a cardproxy token; names cannot be tokenized, so the request was refused"}
	}
	return nil
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

// checkQuery refuses a query string that carries a card number (apps merge
// the query into the form: Go's FormValue, PHP's $_REQUEST, Flask's
// request.values) or a token. 3-D Secure return parameters and ignored
// fields may hold numbers that pass Luhn.
func (t *Tokenize) checkQuery(q string) *httpError {
	if q == "" {
		return nil
	}
	// Split as apps do: on '&' only (a ';' stays inside the value).
	for _, pair := range strings.Split(q, "&") {
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
		_, num := numericCard(decodeOnce(val))
		if num || cardInToken(pair) || cardInToken(val) {
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

// checkRequestLine refuses a card number or token in the method or the
// Host (Go keeps Host out of r.Header; reverse_proxy passes it on and adds
// X-Forwarded-Host, and every access log records both).
func checkRequestLine(r *http.Request, pres bool) *httpError {
	vals := []string{r.Method, r.Host}
	if r.TLS != nil {
		vals = append(vals, r.TLS.ServerName) // logged by Caddy (request>tls>server_name)
	}
	for _, v := range vals {
		if hasToken(v) || (pres && hasPreservingRun(v, true)) {
			return errToken("the request line or Host")
		}
		if cardInToken(v) {
			return &httpError{Status: http.StatusBadRequest, Code: "card_number_in_header",
				Message: "the method or the Host header carries a card number; card data goes in the request body only"}
		}
	}
	return nil
}

// checkPath refuses a URL path that carries a card number or a token (apps
// log paths and route on their segments).
func checkPath(p string, pres bool) *httpError {
	if hasToken(p) || (pres && hasPreservingRun(p, true)) {
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
		if _, num := numericCard(decodeOnce(c.Value)); num || cardInToken(c.Value) {
			return &httpError{Status: http.StatusBadRequest, Code: "card_number_in_header",
				Message: "a cookie carries a card number; card data goes in the request body only"}
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

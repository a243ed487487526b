package ingress

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unsafe"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
)

// The checks below look at text the way the most lenient app would read it:
// card numbers in any representation card.Find knows (escaped, spaced,
// full-width, next to other digits), tokens after percent-, '+'-, \u- and
// HTML-decoding. They refuse; they never rewrite.

func errToken(where string) *refusal.Error {
	return refusal.New(refusal.TokenNotAllowed, where+" carries a cardproxy token; tokens are issued by cardproxy and cannot be submitted by clients")
}

// checkText refuses text holding a card number or a token.
// where names the text for the message; it is only called on a refusal.
func checkText(s string, where func() string) *refusal.Error {
	for _, t := range textscan.Readings(s) {
		if textscan.HasCard(t) {
			return refusal.New(refusal.CardNumberInText, where()+" holds a card number that is not the field's whole value; cardproxy only replaces whole values, so the request was refused")
		}
		if token.Contains(t) {
			return errToken(where())
		}
		if textscan.CVCByName(t) {
			return errCVCInText(where())
		}
	}
	return nil
}

func errCVCInText(where string) *refusal.Error {
	return refusal.New(refusal.CVCInText, where+" holds a CVC next to a CVC name (e.g. cvc=123 inside a value); cardproxy only replaces whole CVC fields, so the request was refused")
}

// checkName refuses a field whose name (JSON key, form or part name)
// carries card data: a name cannot be tokenized.
func checkName(f *bodyrewrite.Field, pres bool) *refusal.Error {
	var name string
	switch {
	case len(f.Path) == 0:
		return nil
	case f.Enc == bodyrewrite.JSON:
		name = f.Path[len(f.Path)-1] // each key is the last segment of one field
	default:
		name = strings.Join(f.Path, "[")
	}
	// Every reading of the name: also without NUL bytes or XML noise
	// (found by FuzzIngress: "4111100000001\x00111" as a form name).
	for _, n := range textscan.Readings(name) {
		if textscan.HasCard(n) || card.Contains(n, card.Known) || textscan.HasToken(n) || textscan.CVCByName(n) || (pres && textscan.IsPreservingToken(n)) {
			return refusal.New(refusal.CardDataInFieldName, "a field name carries a card number or a cardproxy token; names cannot be tokenized, so the request was refused")
		}
	}
	return nil
}

// checkUnparsed refuses a body cardproxy does not parse (text/plain, XML,
// octet-stream, no Content-Type, …) when it carries card data in any form.
func checkUnparsed(body []byte, pres bool) *refusal.Error {
	s := string(body)
	refuse := func() *refusal.Error {
		return refusal.New(refusal.CardDataInUnparsedBody, "the body is not JSON, a URL-encoded form or multipart/form-data, and it carries what looks like card data (a card number, a CVC) or a cardproxy token; send card data as JSON or a form")
	}
	for _, t := range textscan.Readings(s) {
		if textscan.HasCard(t) || token.Contains(t) || (pres && textscan.PreservingIn(t, false)) || textscan.CVCByName(t) {
			return refuse()
		}
	}
	return nil
}

// checkQuery refuses a query string that carries a card number (apps merge
// the query into the form: Go's FormValue, PHP's $_REQUEST, Flask's
// request.values) or a token. 3-D Secure return parameters and ignored
// fields may hold numbers that pass Luhn.
func (c *Config) checkQuery(q string, pres bool) *refusal.Error {
	if q == "" {
		return nil
	}
	// Split as apps do: on '&' only (a ';' stays inside the value).
	for _, pair := range strings.Split(q, "&") {
		name, val, _ := strings.Cut(pair, "=")
		if textscan.HasToken(pair) || (pres && textscan.PreservingRun(pair, true)) {
			return errToken("the query string")
		}
		dn := textscan.Unescape(name)
		f, _ := queryField(dn, textscan.Unescape(val))
		if role := c.roleOf(&f); role.Secret() && strings.TrimSpace(f.Value) != "" {
			// Go's FormValue, PHP's $_REQUEST and Flask's request.values
			// merge the query into the form: a card field there is one.
			return refusal.New(refusal.CardDataInQuery, fmt.Sprintf("the query string has a value for the card field %q; card data goes in the request body, never in a URL", fieldmap.SafeName(&f)))
		} else if role == fieldmap.Ignore || (fieldmap.Is3DSName(dn) && fieldmap.Numeric(textscan.Unescape(val))) {
			continue // an ignored field, or a numeric 3-D Secure return value
		}
		if textscan.CVCByName(textscan.Unescape(pair)) {
			return errCVCInText("the query string")
		}
		_, num := textscan.NumericCard(textscan.UnescapeOnce(val))
		if num || textscan.CardInValue(pair) || textscan.CardInValue(val) {
			return refusal.New(refusal.CardNumberInQuery, "the query string carries a card number; card data goes in the request body, never in a URL")
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
func checkRequestLine(r *http.Request, pres bool) *refusal.Error {
	vals := []string{r.Method, r.Host}
	if r.TLS != nil {
		vals = append(vals, r.TLS.ServerName) // logged by Caddy (request>tls>server_name)
	}
	for _, v := range vals {
		if textscan.HasToken(v) || (pres && textscan.PreservingRun(v, true)) {
			return errToken("the request line or Host")
		}
		if textscan.CardInValue(v) {
			return refusal.New(refusal.CardNumberInHeader, "the method or the Host header carries a card number; card data goes in the request body only")
		}
	}
	return nil
}

// checkPath refuses a URL path that carries a card number or a token (apps
// log paths and route on their segments).
func checkPath(p string, pres bool) *refusal.Error {
	if textscan.HasToken(p) || (pres && textscan.PreservingRun(p, true)) {
		return errToken("the URL path")
	}
	if textscan.CardInValue(p) {
		return refusal.New(refusal.CardNumberInPath, "the URL path carries a card number; card data goes in the request body, never in a URL")
	}
	return nil
}

// CheckHeaders refuses request headers that carry a card number or a token,
// or a CVC in a cookie or header named like a CVC field.
func CheckHeaders(h http.Header, pres bool) *refusal.Error {
	for _, c := range (&http.Request{Header: h}).Cookies() {
		if fieldmap.IsCVCName(c.Name) && card.ValidCVC(strings.Trim(c.Value, `" `)) {
			return refusal.New(refusal.CardDataInHeader, "a cookie named like a CVC field carries a CVC; card data goes in the request body only")
		}
		if _, num := textscan.NumericCard(textscan.UnescapeOnce(c.Value)); num || textscan.CardInValue(c.Value) {
			return refusal.New(refusal.CardNumberInHeader, "a cookie carries a card number; card data goes in the request body only")
		}
	}
	// In name order: which refusal a request with two offending headers
	// gets does not depend on map order.
	for _, k := range slices.Sorted(maps.Keys(h)) {
		vs := h[k]
		if name := strings.TrimPrefix(strings.ToLower(k), "x-"); fieldmap.IsCVCName(name) {
			for _, v := range vs {
				if card.ValidCVC(strings.TrimSpace(v)) {
					return refusal.New(refusal.CardDataInHeader, "a header named like a CVC field carries a CVC; card data goes in the request body only")
				}
			}
		}
		for _, v := range append([]string{k}, vs...) {
			if textscan.CVCByName(textscan.Unescape(v)) {
				return errCVCInText("a request header")
			}
			if textscan.CardInValue(v) {
				return refusal.New(refusal.CardNumberInHeader, "a request header carries a card number; card data goes in the request body only")
			}
			if textscan.HasToken(v) || (pres && textscan.PreservingRun(v, true)) {
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
func residualCheck(body []byte, p *Plan) *refusal.Error {
	var spans [][2]int
	for _, g := range p.Cards {
		for _, f := range g.Fields {
			s, e := f.Span()
			spans = append(spans, [2]int{s, e})
		}
	}
	for _, f := range p.exempt {
		s, e := f.Span()
		spans = append(spans, [2]int{s, e})
	}
	var herr *refusal.Error
	textscan.Cards(view(body), func(h card.Hit) bool {
		for _, sp := range spans {
			if h.Start >= sp[0] && h.End <= sp[1] {
				return true
			}
		}
		herr = refusal.New(refusal.CardDataLeft, "the body holds a card number outside any value cardproxy can replace (e.g. in a field name, a part header or an escape sequence); nothing was forwarded")
		return false
	})
	return herr
}

// finalCheck runs on the body about to go to the app, whatever the field
// rules decided: none of the card numbers this request carried may be left
// in it in any representation, and no token but those just issued.
func finalCheck(out []byte, p *Plan, t Tokens) *refusal.Error {
	s := view(out)
	pans := make([]string, 0, len(p.Cards))
	for _, g := range p.Cards {
		pans = append(pans, g.Card.PAN)
	}
	if card.ContainsLoose(s, card.OneOf(pans...)) {
		return refusal.New(refusal.CardDataLeft, "a card number of this request is also where cardproxy cannot replace it (e.g. in free text or escaped); nothing was forwarded")
	}
	issued := map[string]bool{}
	for _, tok := range t.All() {
		issued[tok] = true
	}
	for _, tok := range token.Pattern.FindAllString(textscan.Unescape(s), -1) {
		if !issued[tok] {
			return errToken("the request")
		}
	}
	return nil
}

// view reads a body as a string without copying it (a body is never
// modified in place; the checks only read it).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

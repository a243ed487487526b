package egress

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/relay"
	"github.com/cardproxy/cardproxy/textscan"
)

// AnswerLimits bound the PSP answers cardproxy parses.
var AnswerLimits = bodyrewrite.Limits{MaxDepth: 64, MaxFields: 50000}

// Masker hides one request's card data in what goes back to the app: every
// card number (the ones this request sent in any representation, and any
// Luhn-valid number) down to its last four digits, and this request's CVCs.
type Masker struct {
	pans  card.Matcher
	sent  []string
	cvcs  []string
	rules fieldmap.Rules
	// Masked counts what was masked.
	Masked int
}

// NewMasker masks the answer to a request that sent s.
func (c *Config) NewMasker(s Secrets) *Masker {
	return &Masker{pans: card.Either(card.AnyLuhn, card.OneOf(s.PANs...)), sent: s.PANs, cvcs: s.CVCs, rules: c.Rules}
}

// unmaskable withholds an answer; detail says where or in what form the
// card data was.
func unmaskable(detail string) *refusal.Error {
	return refusal.New(refusal.PSPResponseUnmaskable, "the payment provider's answer carries this request's card data in a form cardproxy cannot mask ("+detail+"); it is withheld")
}

// Headers masks answer headers in place; a header name holding a card
// number is dropped.
func (m *Masker) Headers(h http.Header) *refusal.Error {
	for k, vs := range h {
		if card.Contains(k, m.pans) {
			delete(h, k) // a header name cannot be masked
			m.Masked++
			continue
		}
		// CVCs only where a PSP could reflect a request value (a URL, a
		// cookie, its own X- headers): "max-age=300" is no CVC echo.
		cvc := echoHeader(k)
		for i, v := range vs {
			vs[i] = m.mask(v, cvc)
			if m.left(vs[i], cvc) {
				return unmaskable("in a header")
			}
		}
	}
	return nil
}

// echoHeader: answer headers that may carry a reflected request value.
func echoHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Location", "Content-Location", "Refresh", "Link", "Set-Cookie":
		return true
	}
	return len(k) > 2 && strings.EqualFold(k[:2], "x-")
}

// text masks card numbers and, digit-bounded, the request's CVCs.
func (m *Masker) text(s string) string { return m.mask(s, true) }

// mask masks card numbers and, if cvcs, the request's CVCs.
func (m *Masker) mask(s string, cvcs bool) string {
	out, k := card.MaskAll(s, m.pans)
	m.Masked += k
	if !cvcs {
		return out
	}
	out, k = card.MaskCVCs(out, m.cvcs)
	m.Masked += k
	return out
}

// left reports whether, after masking, any reading of s an app could make —
// decoded, without NUL bytes (UTF-16), without XML markup — still holds one
// of the request's card numbers or (cvcs) one of its CVCs.
func (m *Masker) left(s string, cvcs bool) bool {
	for _, t := range textscan.Readings(s) {
		if len(m.sent) > 0 && card.ContainsLoose(t, card.OneOf(m.sent...)) {
			return true
		}
		if _, n := card.MaskCVCs(t, m.cvcs); cvcs && n > 0 {
			return true
		}
	}
	return false
}

// cvcLeft reports whether a reading of s — decoded, with Unicode digits as
// ASCII — still holds one of the request's CVCs, digit-bounded.
func (m *Masker) cvcLeft(s string) bool {
	if len(m.cvcs) == 0 {
		return false
	}
	for _, t := range textscan.Readings(s) {
		if _, n := card.MaskCVCs(card.ASCIIDigits(t), m.cvcs); n > 0 {
			return true
		}
	}
	return false
}

// Answer is a PSP answer, masked, with the 3-D Secure POST redirects found
// in it (masked too) for the caller to store and link to.
type Answer struct {
	bom    []byte
	body   []byte
	fields []bodyrewrite.Field
	edits  []bodyrewrite.Edit
	m      *Masker
	json   bool
	// Relays are the POST-style redirects to relay (with relay on).
	Relays []relay.Candidate
}

// Answer masks a PSP answer body of media type kind. JSON is masked value by
// value (a masked number becomes a string, so the JSON stays valid) and,
// with relays, its POST-style 3-D Secure redirects are found; Bytes then
// gives the answer with them replaced. Any other format gets the text scan.
func (m *Masker) Answer(body []byte, kind httpbody.Kind, relays bool) (*Answer, *refusal.Error) {
	a := &Answer{m: m, body: body}
	if kind != httpbody.JSON || len(bytes.TrimSpace(body)) == 0 {
		return a, nil
	}
	a.json = true
	// A BOM is stripped by fetch().json() and Python's json.loads.
	if bytes.HasPrefix(body, httpbody.UTF8BOM) {
		a.bom, a.body = httpbody.UTF8BOM, body[len(httpbody.UTF8BOM):]
	}
	var err *refusal.Error
	if a.fields, err = httpbody.Scan(httpbody.JSON, nil, a.body, AnswerLimits); err != nil {
		// JSON cardproxy cannot read (too deep, NaN, broken) that an app's
		// parser may still read: withheld, not text-masked.
		return nil, unmaskable("JSON that cardproxy cannot parse, while an app's parser may")
	}
	if relays {
		a.Relays = relay.Find(a.fields)
		for i := range a.Relays {
			r := &a.Relays[i].Redirect
			r.Strings(m.text)
			// The relay page is public: the app can open it as well as the
			// shopper. What the masking cannot reach withholds the answer.
			if m.left(r.Text(), true) {
				return nil, unmaskable("in a 3-D Secure redirect")
			}
		}
	}
	for i := range a.fields {
		f := &a.fields[i]
		if f.Kind != bodyrewrite.String && f.Kind != bodyrewrite.Number {
			continue
		}
		before := m.Masked
		out, k := card.MaskAll(f.Value, m.pans)
		m.Masked += k
		if f.Kind == bodyrewrite.Number && k == 0 {
			// 5.555555555554444E15 (Jackson writes doubles so): every JSON
			// parser reads the card.
			if dg, ok := numberDigits(f.Value, m.pans); ok {
				out, k = card.MaskAll(dg, m.pans)
				m.Masked += k
			}
		}
		if f.Kind == bodyrewrite.String || m.isCVCName(f) {
			out, k = card.MaskCVCs(out, m.cvcs)
			m.Masked += k
		}
		if f.Kind == bodyrewrite.String && m.cvcLeft(out) {
			return nil, unmaskable("a CVC escaped, in full-width digits or percent-encoded")
		}
		if p := f.Path; len(p) > 0 && !card.Digits(p[len(p)-1]) && m.cvcLeft(p[len(p)-1]) { // not an array index
			return nil, unmaskable("in a JSON key") // "card_cvc 739": "invalid"
		}
		if m.Masked > before {
			a.edits = append(a.edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(out)})
		}
	}
	return a, nil
}

// Bytes is the masked answer for the app, each relayed redirect replaced by
// a GET link (links[i] for Relays[i]; "" leaves that redirect, masked, as
// the PSP sent it). The whole text — keys, escapes, any format — gets a
// last scan, and an answer that still holds this request's card data in
// any reading is withheld.
func (a *Answer) Bytes(links []string) ([]byte, *refusal.Error) {
	m := a.m
	if !a.json {
		out := m.text(string(a.body))
		if m.left(out, true) {
			return nil, unmaskable("e.g. UTF-16 text or escaped digits")
		}
		return []byte(out), nil
	}
	var edits []bodyrewrite.Edit
	var spans [][2]int
	for i, link := range links {
		if link != "" {
			obj := a.Relays[i].Object
			edits = append(edits, bodyrewrite.Edit{Field: obj, Raw: a.Relays[i].Replacement(link)})
			s, e := obj.Span()
			spans = append(spans, [2]int{s, e})
		}
	}
	for _, e := range a.edits {
		if !inside(e.Field, spans) {
			edits = append(edits, e)
		}
	}
	s, k := card.MaskAll(string(bodyrewrite.Apply(a.body, edits)), m.pans)
	m.Masked += k
	if m.left(s, false) {
		return nil, unmaskable("e.g. UTF-16 text or escaped digits")
	}
	if k > 0 && !json.Valid([]byte(s)) {
		// The text pass masked digits that were part of an escape
		// ("\u3211…" read literally): the answer would no longer parse.
		return nil, unmaskable("digits of a JSON escape")
	}
	return append(append([]byte{}, a.bom...), s...), nil
}

func inside(f *bodyrewrite.Field, spans [][2]int) bool {
	s, e := f.Span()
	for _, sk := range spans {
		if s >= sk[0] && e <= sk[1] {
			return true
		}
	}
	return false
}

// isCVCName: a JSON field named like a CVC field — like one of the route's
// (by its last segment: "gateway_info.card_cvc" names card_cvc anywhere) or
// any common CVC name.
func (m *Masker) isCVCName(f *bodyrewrite.Field) bool {
	if len(f.Path) == 0 {
		return false
	}
	last := f.Path[len(f.Path)-1]
	return fieldmap.IsCVCName(last) || m.rules.NamesCVC(last)
}

// numberDigits is a JSON number as the digits of an integer a parser reads
// (exactly, or as a double), when match accepts them.
func numberDigits(v string, match card.Matcher) (string, bool) {
	if d, ok := card.FromJSONNumber(v); ok && match(d) {
		return d, true
	}
	return textscan.AsDouble(v, match)
}

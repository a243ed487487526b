package ingress

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
)

// FuzzIngress drives the whole ingress core — Check, then Apply with tokens
// made up here as the vault would issue them — with an arbitrary method,
// Content-Type, query and body, and asserts the promise. A refusal has a
// code and a 4xx status. What the app gets holds none of the card numbers
// the request carried (as textscan.Cards counts them in any reading of the
// body, and those the plan tokenized) in any reading and any representation
// card.FindLoose decodes, and no cardproxy token but those issued; it is the
// body as sent with each planned value replaced by its token (which reads
// back as the token) and nothing else changed; JSON stays valid; the
// Content-Length is the body's. A 3-D Secure return passes byte for byte.
//
//	go test -run '^$' -fuzz '^FuzzIngress$' -fuzztime 60s ./ingress
func FuzzIngress(f *testing.F) {
	seeds := []struct{ method, ct, query, body string }{
		{"POST", "application/json", "", `{"card_number":"4111111111111111","cvc":"123","note":"hi"}`},
		{"post", "application/json; x", "a=1", `{"x":{"MD":"4111111111111111"},"n":4.111111111111111e15}`},
		{"PUT", "application/x-www-form-urlencoded; charset=utf-8", "", "card.number=4111+1111+1111+1111&cvc[]=123&a=1;b=5555555555554444"},
		{"DELETE", "multipart/form-data; boundary=b", "", "--b\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n4111111111111111\r\n--b--\r\n"},
		{"FOO", "text/plain", "q=%34111111111111111", "%34111111111111111"},
		{"POST", "", "", `{"c":"４１１１１１１１１１１１１１１１"}`},
		{"POST", "application/json", "", `{"4111111111111111":"x","y":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{"POST", "application/x-www-form-urlencoded", "", "PaRes=abc&MD=4111111111111111"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.ct, s.query, []byte(s.body), false)
	}
	f.Fuzz(func(t *testing.T, method, ct, query string, body []byte, preserving bool) {
		if !validMethod(method) || strings.ContainsAny(ct, "\r\n\x00") {
			return
		}
		c := fuzzConfig(preserving)
		var pans []string // the card numbers the request carries
		for _, t := range textscan.Readings(string(body)) {
			textscan.Cards(t, func(h card.Hit) bool { pans = append(pans, h.PAN); return true })
		}
		r := httptest.NewRequest(http.MethodPost, "/checkout", bytes.NewReader(body))
		r.Method, r.URL.RawQuery = method, query
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		q, rerr := c.Check(r)
		var toks Tokens
		if rerr == nil && !q.Plan.Empty() {
			toks = madeUpTokens(t, q.Plan)
			rerr = q.Apply(toks)
		}
		if rerr != nil {
			if s := rerr.Status(); rerr.Code == "" || s < 400 || s > 499 {
				t.Fatalf("refusal without a code or a 4xx status: %q %d", rerr.Code, s)
			}
			return
		}
		out, _ := io.ReadAll(r.Body)
		if r.ContentLength != int64(len(out)) || r.Header.Get("Content-Length") != strconv.Itoa(len(out)) {
			t.Fatalf("Content-Length %d / %q for a body of %d bytes", r.ContentLength, r.Header.Get("Content-Length"), len(out))
		}
		if threeDSReturn(ct, body) {
			if !bytes.Equal(out, body) {
				t.Fatalf("a 3-D Secure return was changed")
			}
			return // it passes byte for byte, numbers and all, by design
		}
		if q.Plan != nil {
			for _, g := range q.Plan.Cards {
				pans = append(pans, g.Card.PAN)
			}
		}
		for _, t2 := range textscan.Readings(string(out)) {
			if len(pans) > 0 && card.ContainsLoose(t2, card.OneOf(pans...)) {
				t.Fatalf("a card number of the request reaches the app")
			}
		}
		issued := strings.Join(toks.All(), ",")
		for _, s := range []string{string(out), textscan.Unescape(string(out))} {
			for _, tok := range token.Pattern.FindAllString(s, -1) {
				if !strings.Contains(issued, tok) {
					t.Fatalf("a token cardproxy did not issue reaches the app")
				}
			}
		}
		if json.Valid(body) && !json.Valid(out) {
			t.Fatalf("valid JSON became invalid")
		}
		checkReplaced(t, body, out, q.Plan, toks)
	})
}

// checkReplaced fails unless out is body with every planned value
// replaced by its token, and nothing else changed.
func checkReplaced(t *testing.T, body, out []byte, p *Plan, toks Tokens) {
	t.Helper()
	type edit struct {
		f   *bodyrewrite.Field
		tok string
	}
	var edits []edit
	if p != nil {
		for i, g := range p.Cards {
			for _, f := range g.Fields {
				edits = append(edits, edit{f, toks.Cards[i].Token})
			}
		}
		for i, g := range p.CVCs {
			for _, f := range g.Fields {
				edits = append(edits, edit{f, toks.CVCs[i]})
			}
		}
	}
	sort.Slice(edits, func(i, j int) bool { a, _ := edits[i].f.Span(); b, _ := edits[j].f.Span(); return a < b })
	pos, opos := 0, 0
	for _, e := range edits {
		start, end := e.f.Span()
		gap := body[pos:start]
		if start < pos || !bytes.HasPrefix(out[opos:], gap) {
			t.Fatalf("bytes outside the replaced values changed before byte %d", start)
		}
		opos += len(gap)
		raw := e.f.Encode(e.tok)
		if !bytes.HasPrefix(out[opos:], raw) || !readsAs(e.f, raw, e.tok) {
			t.Fatalf("the value at byte %d is not its token", start)
		}
		pos, opos = end, opos+len(raw)
	}
	if !bytes.Equal(out[opos:], body[pos:]) {
		t.Fatalf("bytes outside the replaced values changed at the end")
	}
}

// readsAs: raw, in the field's encoding, is the value v to a parser.
func readsAs(f *bodyrewrite.Field, raw []byte, v string) bool {
	switch f.Enc {
	case bodyrewrite.JSON:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return string(raw) == v && f.Kind == bodyrewrite.Number // a bare integer token
		}
		return s == v
	case bodyrewrite.Form:
		s, err := url.QueryUnescape(string(raw))
		return err == nil && s == v
	}
	return string(raw) == v
}

// fuzzConfig is the route of caddymodule's test harness (auto-detect on),
// with opaque or format-preserving PAN tokens.
func fuzzConfig(preserving bool) *Config {
	c := &Config{
		Rules: fieldmap.Compile(fieldmap.Set{
			PAN:    []string{"card_number", "gateway_info.card_number", "payment[cc_number]"},
			CVC:    []string{"cvc", "card_cvc", "gateway_info.cvc", "gateway_info.card_cvc", "payment[cc_cid]"},
			Expiry: []string{"card_expiry", "gateway_info.card_expiry_date"}, Holder: []string{"gateway_info.card_holder_name", "card_holder"},
			ExpiryMonth: []string{"payment[cc_exp_month]"}, ExpiryYear: []string{"payment[cc_exp_year]"},
		}, nil),
		Auto: true, Format: token.FormatOpaque, MaxBody: 64 << 10, MaxCards: 5, MaxCVCs: 5,
		Preserving: func() bool { return preserving },
	}
	if preserving {
		c.Format = token.FormatPreserveLast4
	}
	return c
}

// madeUpTokens are tokens shaped like the vault's: cp_pan_/cp_cvc_ and 24
// base62 characters, or format-preserving ones for such cards.
func madeUpTokens(t *testing.T, p *Plan) Tokens {
	var toks Tokens
	for i, g := range p.Cards {
		tok := token.PANPrefix + string(rune('A'+i)) + "bCdEfGhIjKlMnOpQrStUvWx"
		if g.Format == token.FormatPreserveLast4 {
			var err error
			if tok, err = token.NewPreserving(g.Card.PAN); err != nil {
				t.Fatal(err)
			}
		}
		toks.Cards = append(toks.Cards, token.Issued{Token: tok, Meta: card.MetaOf(g.Card.PAN)})
	}
	for i := range p.CVCs {
		toks.CVCs = append(toks.CVCs, token.CVCPrefix+string(rune('a'+i))+"BcDeFgHiJkLmNoPqRsTuVwX")
	}
	return toks
}

// threeDSReturn: a form body that is a 3-D Secure return (passed as sent).
func threeDSReturn(ct string, body []byte) bool {
	if httpbody.MediaKind(httpbody.Essence(ct)) != httpbody.Form {
		return false
	}
	fs, err := bodyrewrite.ScanForm(body, bodyrewrite.DefaultLimits)
	return err == nil && fieldmap.Is3DSReturn(fs)
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

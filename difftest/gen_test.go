package difftest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// Test card numbers (all Luhn-valid; TestCardData checks).
var testPANs = []struct{ brand, pan string }{
	{"visa", "4111111111111111"},
	{"mastercard", "5555555555554444"},
	{"amex", "378282246310005"},
	{"mir", "2200000000000004"},
	{"rupay", "6521000000000007"},
	{"unionpay", "6200000000000005"},
	{"discover", "6011111111111117"},
	{"jcb", "3530111333300000"},
}

// The victim card is used for nothing else: a case carrying the same PAN
// would legitimately get the victim token back from the vault.
const (
	victimPAN = "4012888888881881"
	victimCVC = "9359"
)

// CVCs: unusual values that no length, port or last-4 in the run matches.
var testCVCs = []string{"9817", "947", "9463", "968", "9275", "983", "9528", "9642"}

func allPANs() []string {
	out := []string{victimPAN}
	for _, p := range testPANs {
		out = append(out, p.pan)
	}
	return out
}

func luhn(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestCardData(t *testing.T) {
	for _, p := range append(allPANs(), victimPAN) {
		if !luhn(p) {
			t.Errorf("test PAN %s…%s fails Luhn", p[:4], p[len(p)-4:])
		}
	}
}

// victim holds the tokens a case may smuggle.
type victim struct{ panToken, cvcToken string }

// gen accumulates cases; it rotates PANs and CVCs so each brand appears.
type gen struct {
	v     victim
	n     int
	cases []Case
}

func (g *gen) card() (pan, cvc string) {
	pan, cvc = testPANs[g.n%len(testPANs)].pan, testCVCs[g.n%len(testCVCs)]
	g.n++
	return
}

func (g *gen) add(c Case) {
	if c.Method == "" {
		c.Method = "POST"
	}
	if cvcUnrecognizable[c.Name] {
		// The CVC sits where no parser, cardproxy included, can tell it
		// from any three digits (an unrelated name, a key, an array
		// slot): only the card number and tokens are checked.
		c.CVC = ""
	}
	g.cases = append(g.cases, c)
}

// cvcUnrecognizable lists cases whose CVC no app reads under a CVC name:
// "c.vc" is c_vc to PHP and c.vc to everyone else; a CVC used as a JSON
// key or as the second element of a bare array has no name at all.
var cvcUnrecognizable = map[string]bool{
	"form-quirk/php-dot-cvc": true, "form-quirk/php-dot-name": true,
	"json-quirk/cvc-as-key": true, "json-quirk/top-level-array": true,
}

// spaced groups a PAN in fours, as typed.
func spaced(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p[i:min(i+4, len(p))])
	}
	return b.String()
}

// payload is an ordered set of fields carrying card data.
type payload struct {
	name   string
	fields [][2]string
	pan    string
	cvc    string
	victim bool
}

func (g *gen) payloads() []payload {
	p1, c1 := g.card()
	p2, c2 := g.card()
	p3, _ := g.card()
	return []payload{
		{"named", [][2]string{{"card_number", p1}, {"cvc", c1}, {"card_expiry", "12/29"}, {"card_holder", "Diff Test"}, {"amount", "10.00"}}, p1, c1, false},
		{"autodetect", [][2]string{{"pay_ref", spaced(p2)}, {"cvc", c2}, {"amount", "10.00"}}, p2, c2, false},
		{"freetext", [][2]string{{"note", "please use card " + p3 + " thanks"}, {"amount", "10.00"}}, p3, "", false},
		{"victim-named", [][2]string{{"card_number", g.v.panToken}, {"cvc", g.v.cvcToken}, {"amount", "10.00"}}, "", "", true},
		{"victim-other", [][2]string{{"note", g.v.panToken}, {"ref", g.v.cvcToken}}, "", "", true},
	}
}

func jsonStr(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}

func jsonBody(fields [][2]string) []byte {
	var parts []string
	for _, f := range fields {
		parts = append(parts, jsonStr(f[0])+":"+jsonStr(f[1]))
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

func formBody(fields [][2]string) []byte {
	var parts []string
	for _, f := range fields {
		parts = append(parts, url.QueryEscape(f[0])+"="+url.QueryEscape(f[1]))
	}
	return []byte(strings.Join(parts, "&"))
}

const boundary = "difftestBoundaryQzX"

func multipartBody(fields [][2]string) []byte {
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", boundary, f[0], f[1])
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return []byte(b.String())
}

type format struct {
	name   string
	ct     string
	encode func([][2]string) []byte
}

var formats = []format{
	{"json", "application/json", jsonBody},
	{"form", "application/x-www-form-urlencoded", formBody},
	{"multipart", "multipart/form-data; boundary=" + boundary, multipartBody},
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

// ctVariants are Content-Type header sets for a format's body: each is the
// list of Content-Type values sent (none, one or two headers).
func ctVariants(f format) []struct {
	name string
	cts  []string
} {
	mt, params, _ := strings.Cut(f.ct, ";")
	params = strings.TrimSpace(params)
	withP := func(s string) string {
		if params == "" {
			return s
		}
		return s + "; " + params
	}
	other := map[string]string{"json": "application/x-www-form-urlencoded", "form": "application/json", "multipart": "application/json"}[f.name]
	type v = struct {
		name string
		cts  []string
	}
	return []v{
		{"canonical", []string{f.ct}},
		{"junk-param", []string{withP(mt + "; x")}},
		{"dup-param", []string{f.ct + "; " + orDefault(params, "charset=utf-8") + "; " + orDefault(params, "charset=utf-8")}},
		{"upper", []string{withP(strings.ToUpper(mt))}},
		{"mixed-case", []string{withP(mixedCase(mt))}},
		{"space-before-semicolon", []string{mt + " ; " + orDefault(params, "charset=utf-8")}},
		{"trailing-semicolon", []string{f.ct + ";"}},
		{"charset-utf16", []string{withP(mt + "; charset=utf-16")}},
		{"charset-utf7", []string{withP(mt + "; charset=utf-7")}},
		{"missing", nil},
		{"text-plain", []string{"text/plain"}},
		{"octet-stream", []string{"application/octet-stream"}},
		{"as-" + strings.ReplaceAll(other, "/", "-"), []string{other}},
		{"two-headers-real-first", []string{f.ct, "text/plain"}},
		{"two-headers-real-second", []string{"text/plain", f.ct}},
		{"leading-space", []string{" " + f.ct}},
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func mixedCase(s string) string {
	b := []byte(s)
	for i := range b {
		if i%2 == 0 && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

func ctHeaders(cts []string) [][2]string {
	var h [][2]string
	for _, ct := range cts {
		h = append(h, [2]string{"Content-Type", ct})
	}
	return h
}

// axes: every format × payload through every Content-Type variant, method
// and transfer/content encoding.
func (g *gen) axes() {
	methods := []string{"POST", "post", "Post", "PUT", "PATCH", "DELETE", "FOO", "GET"}
	for _, f := range formats {
		for _, p := range g.payloads() {
			body := f.encode(p.fields)
			base := Case{PAN: p.pan, CVC: p.cvc, Victim: p.victim}
			name := func(axis, v string) string { return fmt.Sprintf("%s/%s/%s=%s", f.name, p.name, axis, v) }
			for _, ctv := range ctVariants(f) {
				c := base
				c.Name, c.Header, c.Body = name("ct", ctv.name), ctHeaders(ctv.cts), body
				g.add(c)
			}
			for _, m := range methods {
				c := base
				c.Name, c.Method, c.Header, c.Body = name("method", m), m, ctHeaders([]string{f.ct}), body
				g.add(c)
			}
			ct := [2]string{"Content-Type", f.ct}
			encs := []struct {
				name string
				ce   []string
				body []byte
			}{
				{"gzip", []string{"gzip"}, gz(body)},
				{"x-gzip", []string{"x-gzip"}, gz(body)},
				{"GZIP", []string{"GZIP"}, gz(body)},
				{"identity", []string{"identity"}, body},
				{"identity-then-gzip-headers", []string{"identity", "gzip"}, gz(body)},
				{"gzip-identity-list", []string{"gzip, identity"}, gz(body)},
				{"deflate", []string{"deflate"}, deflate(body)},
				{"unknown", []string{"x-difftest"}, body},
			}
			for _, e := range encs {
				c := base
				c.Name, c.Body, c.Header = name("encoding", e.name), e.body, [][2]string{ct}
				for _, ce := range e.ce {
					c.Header = append(c.Header, [2]string{"Content-Encoding", ce})
				}
				g.add(c)
			}
			c := base
			c.Name, c.Body, c.Header, c.Chunked = name("encoding", "chunked"), body, [][2]string{ct}, true
			g.add(c)
		}
	}
}

// generate builds every case.
func generate(v victim) []Case {
	g := &gen{v: v}
	g.axes()
	g.jsonQuirks()
	g.formQuirks()
	g.multipartQuirks()
	g.elsewhere()
	return g.cases
}

func TestGenerateNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	cases := generate(victim{"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA", "cp_cvc_AAAAAAAAAAAAAAAAAAAAAAAA"})
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("duplicate case name %s", c.Name)
		}
		seen[c.Name] = true
		if c.PAN != "" && strings.Contains(c.Name, c.PAN) {
			t.Errorf("case name holds a PAN")
		}
	}
	t.Logf("%d cases", len(cases))
}

package difftest

import (
	"encoding/base64"
	"fmt"
	"strings"
)

type mpPart struct {
	headers []string
	body    string
}

type mpOpt struct {
	boundary string // default boundary
	eol      string // default CRLF
	preamble string
	pad      string // transport padding after each delimiter
	open     bool   // no closing delimiter
	epilogue string
}

func mpBuild(o mpOpt, parts ...mpPart) string {
	if o.boundary == "" {
		o.boundary = boundary
	}
	if o.eol == "" {
		o.eol = "\r\n"
	}
	var b strings.Builder
	b.WriteString(o.preamble)
	for _, p := range parts {
		b.WriteString("--" + o.boundary + o.pad + o.eol)
		for _, h := range p.headers {
			b.WriteString(h + o.eol)
		}
		b.WriteString(o.eol + p.body + o.eol)
	}
	if !o.open {
		b.WriteString("--" + o.boundary + "--" + o.eol)
	}
	b.WriteString(o.epilogue)
	return b.String()
}

func cd(params string) string { return "Content-Disposition: form-data; " + params }

func field(name, v string) mpPart { return mpPart{[]string{cd(`name="` + name + `"`)}, v} }

func qpAll(s string) string { return strings.ReplaceAll(pctAll(s), "%", "=") }

// multipartQuirks: every shape runs with a real card and with the victim
// tokens.
func (g *gen) multipartQuirks() {
	ctFor := func(b string) string { return "multipart/form-data; boundary=" + b }
	std := ctFor(boundary)
	type q struct {
		name string
		make func(p, c string) (ct, body string)
	}
	simple := func(o mpOpt, pan func(p string) mpPart) func(p, c string) (string, string) {
		return func(p, c string) (string, string) { return std, mpBuild(o, pan(p), field("cvc", c)) }
	}
	named := func(hdrs ...string) func(p string) mpPart {
		return func(p string) mpPart { return mpPart{hdrs, p} }
	}
	quirks := []q{
		{"canonical", simple(mpOpt{}, func(p string) mpPart { return field("card_number", p) })},
		{"filename-empty", simple(mpOpt{}, named(cd(`name="card_number"; filename=""`)))},
		{"filename-value", simple(mpOpt{}, named(cd(`name="card_number"; filename="card.txt"`), "Content-Type: text/plain"))},
		{"filename-other-field", simple(mpOpt{}, named(cd(`name="upload"; filename="card.txt"`), "Content-Type: text/plain"))},
		{"filename-star", simple(mpOpt{}, named(cd(`name="card_number"; filename*=UTF-8''card.txt`)))},
		{"lf-only", simple(mpOpt{eol: "\n"}, func(p string) mpPart { return field("card_number", p) })},
		{"lf-preamble", simple(mpOpt{preamble: "\n"}, func(p string) mpPart { return field("card_number", p) })},
		{"crlf-preamble", simple(mpOpt{preamble: "\r\n"}, func(p string) mpPart { return field("card_number", p) })},
		{"cr-only", simple(mpOpt{eol: "\r"}, func(p string) mpPart { return field("card_number", p) })},
		{"preamble-text", simple(mpOpt{preamble: "This is a preamble.\r\n"}, func(p string) mpPart { return field("card_number", p) })},
		{"junk-disposition-params", simple(mpOpt{}, named(cd(`foo=bar; name="card_number"; x`)))},
		{"unquoted-name", simple(mpOpt{}, named(cd(`name=card_number`)))},
		{"rfc2231-name", simple(mpOpt{}, named(cd(`name*=UTF-8''card_number`)))},
		{"rfc2231-name-and-decoy", simple(mpOpt{}, named(cd(`name="x"; name*=UTF-8''card_number`)))},
		{"dup-name-real-last", simple(mpOpt{}, named(cd(`name="x"; name="card_number"`)))},
		{"dup-name-real-first", simple(mpOpt{}, named(cd(`name="card_number"; name="x"`)))},
		{"header-lowercase", simple(mpOpt{}, named(`content-disposition: form-data; name="card_number"`))},
		{"header-uppercase", simple(mpOpt{}, named(`CONTENT-DISPOSITION: FORM-DATA; NAME="card_number"`))},
		{"no-spaces", simple(mpOpt{}, named(`Content-Disposition:form-data;name="card_number"`))},
		{"folded-header", simple(mpOpt{}, named("Content-Disposition: form-data;\r\n name=\"card_number\""))},
		{"attachment-disposition", simple(mpOpt{}, named(`Content-Disposition: attachment; name="card_number"`))},
		{"empty-name", simple(mpOpt{}, named(cd(`name=""`)))},
		{"name-Card_Number", simple(mpOpt{}, named(cd(`name="Card_Number"`)))},
		{"name-bracket", simple(mpOpt{}, named(cd(`name="card[number]"`)))},
		{"name-php-dot", simple(mpOpt{}, named(cd(`name="card.number"`)))},
		{"part-json", simple(mpOpt{}, func(p string) mpPart {
			return mpPart{[]string{cd(`name="data"`), "Content-Type: application/json"}, fmt.Sprintf(`{"card_number":"%s"}`, p)}
		})},
		{"cte-base64", func(p, c string) (string, string) {
			return std, mpBuild(mpOpt{},
				mpPart{[]string{cd(`name="card_number"`), "Content-Transfer-Encoding: base64"}, base64.StdEncoding.EncodeToString([]byte(p))},
				mpPart{[]string{cd(`name="cvc"`), "Content-Transfer-Encoding: base64"}, base64.StdEncoding.EncodeToString([]byte(c))})
		}},
		{"cte-quoted-printable", func(p, c string) (string, string) {
			return std, mpBuild(mpOpt{},
				mpPart{[]string{cd(`name="card_number"`), "Content-Transfer-Encoding: quoted-printable"}, qpAll(p)},
				mpPart{[]string{cd(`name="cvc"`), "Content-Transfer-Encoding: quoted-printable"}, qpAll(c)})
		}},
		{"transport-padding", simple(mpOpt{pad: " \t "}, func(p string) mpPart { return field("card_number", p) })},
		{"boundary-quoted", func(p, c string) (string, string) {
			return `multipart/form-data; boundary="` + boundary + `"`, mpBuild(mpOpt{}, field("card_number", p), field("cvc", c))
		}},
		{"boundary-with-spaces", func(p, c string) (string, string) {
			b := "diff test boundary"
			return `multipart/form-data; boundary="` + b + `"`, mpBuild(mpOpt{boundary: b}, field("card_number", p), field("cvc", c))
		}},
		{"boundary-dup-real-last", func(p, c string) (string, string) {
			return "multipart/form-data; boundary=decoyBoundary; boundary=" + boundary, mpBuild(mpOpt{}, field("card_number", p), field("cvc", c))
		}},
		{"boundary-dup-real-first", func(p, c string) (string, string) {
			return "multipart/form-data; boundary=" + boundary + "; boundary=decoyBoundary", mpBuild(mpOpt{}, field("card_number", p), field("cvc", c))
		}},
		{"missing-closing-boundary", simple(mpOpt{open: true}, func(p string) mpPart { return field("card_number", p) })},
		{"closing-without-eol", func(p, c string) (string, string) {
			return std, strings.TrimSuffix(mpBuild(mpOpt{}, field("card_number", p), field("cvc", c)), "\r\n")
		}},
		{"after-closing-boundary", func(p, c string) (string, string) {
			return std, mpBuild(mpOpt{epilogue: mpBuild(mpOpt{}, field("card_number", p), field("cvc", c))}, field("x", "1"))
		}},
		{"nested-multipart-mixed", func(p, c string) (string, string) {
			inner := mpBuild(mpOpt{boundary: "innerBoundaryQzX"},
				mpPart{[]string{`Content-Disposition: file; filename="card.txt"`, "Content-Type: text/plain"}, p})
			return std, mpBuild(mpOpt{},
				mpPart{[]string{cd(`name="files"`), "Content-Type: multipart/mixed; boundary=innerBoundaryQzX"}, inner},
				field("cvc", c))
		}},
		{"ct-multipart-mixed", func(p, c string) (string, string) {
			return "multipart/mixed; boundary=" + boundary, mpBuild(mpOpt{}, field("card_number", p), field("cvc", c))
		}},
		{"ct-uppercase-boundary-param", func(p, c string) (string, string) {
			return "Multipart/Form-Data; BOUNDARY=" + boundary, mpBuild(mpOpt{}, field("card_number", p), field("cvc", c))
		}},
	}
	for _, qq := range quirks {
		p, c := g.card()
		ct, body := qq.make(p, c)
		g.add(Case{Name: "multipart-quirk/" + qq.name, Header: ctHeaders([]string{ct}), Body: []byte(body), PAN: p, CVC: c})
		ct, body = qq.make(g.v.panToken, g.v.cvcToken)
		g.add(Case{Name: "multipart-token/" + qq.name, Header: ctHeaders([]string{ct}), Body: []byte(body), Victim: true})
	}
}

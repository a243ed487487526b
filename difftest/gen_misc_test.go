package difftest

import (
	"fmt"
	"net/url"
)

// elsewhere: card data outside the body — query strings (and their merge
// with POST data: $_REQUEST, request.values, r.Form), headers, cookies,
// the path.
func (g *gen) elsewhere() {
	qe := url.QueryEscape
	jsonCT := ctHeaders([]string{"application/json"})
	formCT := ctHeaders([]string{"application/x-www-form-urlencoded"})
	type q struct {
		name   string
		method string
		target string
		header [][2]string
		body   string
	}
	mk := func(p, c string) []q {
		return []q{
			{"get-query-named", "GET", "/?card_number=" + p + "&cvc=" + c, nil, ""},
			{"get-query-autodetect", "GET", "/?ref=" + qe(spaced(p)) + "&cvc=" + c, nil, ""},
			{"get-query-brackets", "GET", "/?card[number]=" + p + "&card[cvc]=" + c, nil, ""},
			{"get-query-semicolons", "GET", "/?a=1;card_number=" + p + ";cvc=" + c, nil, ""},
			{"get-query-php-dot", "GET", "/?card.number=" + p + "&c.v.c=" + c, nil, ""},
			{"post-json-plus-query", "POST", "/?card_number=" + p + "&cvc=" + c, jsonCT, `{"amount":"10.00"}`},
			{"post-form-plus-query", "POST", "/?card_number=" + p + "&cvc=" + c, formCT, "amount=10.00"},
			{"post-form-card-plus-query-cvc", "POST", "/?cvc=" + c, formCT, "card_number=" + p},
			{"post-json-card-plus-query-cvc", "POST", "/?cvc=" + c, jsonCT, fmt.Sprintf(`{"card_number":"%s"}`, p)},
			{"post-empty-body-query", "POST", "/?card_number=" + p + "&cvc=" + c, formCT, ""},
			{"put-query", "PUT", "/?card_number=" + p + "&cvc=" + c, jsonCT, `{}`},
			{"header-x-card-number", "POST", "/", append([][2]string{{"X-Card-Number", p}, {"X-Cvc", c}}, jsonCT...), `{"amount":"1"}`},
			{"header-spaced", "GET", "/", [][2]string{{"X-Payment-Card", spaced(p)}, {"X-Card-Cvc", c}}, ""},
			{"header-referer", "GET", "/", [][2]string{{"Referer", "https://shop.example/pay?card_number=" + p + "&cvc=" + c}}, ""},
			{"header-authorization", "POST", "/", append([][2]string{{"Authorization", "Card " + p + ":" + c}}, jsonCT...), `{}`},
			{"cookie-named", "GET", "/", [][2]string{{"Cookie", "card_number=" + p + "; cvc=" + c}}, ""},
			{"cookie-on-post", "POST", "/", append([][2]string{{"Cookie", "card_number=" + p + "; cvc=" + c}}, jsonCT...), `{"amount":"1"}`},
			{"cookie-pct-encoded", "GET", "/", [][2]string{{"Cookie", "card=" + pctAll(p) + "; cvc=" + pctAll(c)}}, ""},
			{"cookie-two-headers", "GET", "/", [][2]string{{"Cookie", "a=1"}, {"Cookie", "card_number=" + p + "; cvc=" + c}}, ""},
			{"path-segment", "GET", "/pay/" + p + "/" + c, nil, ""},
			{"path-pct-encoded", "GET", "/pay/" + pctAll(p) + "/" + c, nil, ""},
			{"path-on-post", "POST", "/pay/" + p + "/" + c, jsonCT, `{"amount":"1"}`},
		}
	}
	for i := range mk("", "") {
		p, c := g.card()
		x := mk(p, c)[i]
		var body []byte
		if x.body != "" {
			body = []byte(x.body)
		}
		g.add(Case{Name: "elsewhere/" + x.name, Method: x.method, Target: x.target, Header: x.header, Body: body, PAN: p, CVC: c})
	}
	for _, x := range mk(g.v.panToken, g.v.cvcToken) {
		var body []byte
		if x.body != "" {
			body = []byte(x.body)
		}
		g.add(Case{Name: "elsewhere-token/" + x.name, Method: x.method, Target: x.target, Header: x.header, Body: body, Victim: true})
	}
	// Cardproxy-* headers are cardproxy's to set: a client-sent one must
	// never reach the app.
	for _, h := range []string{"Cardproxy-Card-Token", "cardproxy-card-token", "CARDPROXY-CVC-TOKEN", "Cardproxy-Anything"} {
		g.add(Case{Name: "elsewhere-token/client-header-" + h, Method: "POST", Body: []byte(`{"amount":"1"}`),
			Header: append([][2]string{{h, g.v.panToken + ", " + g.v.cvcToken}}, jsonCT...), Victim: true})
		g.add(Case{Name: "elsewhere-token/client-header-on-get-" + h, Method: "GET",
			Header: [][2]string{{h, g.v.panToken + ", " + g.v.cvcToken}}, Victim: true})
	}
}

// controlCases are the representative shapes each parser is claimed to
// decode; TestControlParsersSeeCards sends them without cardproxy.
func controlCases(parser string, v victim) []Case {
	want := map[string]bool{
		"json/named/ct=canonical": true, "json/autodetect/ct=canonical": true, "json/victim-named/ct=canonical": true,
		"form/named/ct=canonical": true, "form/autodetect/ct=canonical": true, "form/victim-other/ct=canonical": true,
		"multipart/named/ct=canonical": true, "multipart/victim-named/ct=canonical": true,
		"multipart-quirk/filename-value": true,
		"elsewhere/get-query-named":      true, "elsewhere/header-x-card-number": true, "elsewhere/cookie-named": true,
		"elsewhere/path-segment": true, "elsewhere-token/get-query-named": true,
		"json-quirk/pan-as-number": true, "json-quirk/pan-exponent": true, "json-quirk/fullwidth-digits": true,
		"json-quirk/u-escaped-digits": true, "json-quirk/nbsp-separators": true, "json-quirk/3ds-MD-at-depth": true,
		"form-quirk/pct-encoded-digits": true, "form-quirk/bracket-card[number]": true,
		"json/named/method=PUT": true,
	}
	extra := map[string][]string{
		"go":       {"json/named/encoding=chunked", "json-quirk/key-CARD_NUMBER", "form-quirk/php-dot-name", "json/named/method=DELETE"},
		"php":      {"json/named/encoding=chunked", "form-quirk/php-dot-name", "form-quirk/php-space-name-plus", "form-quirk/php-open-bracket-name", "multipart-quirk/unquoted-name"},
		"werkzeug": {"json/named/encoding=chunked", "json-quirk/bom-prefix", "json-quirk/utf16le", "json/named/ct=text-plain", "json/named/method=post"},
		"django":   {"json-quirk/bom-prefix", "json-quirk/utf16le", "form/named/method=post"},
		"express":  {"json/named/encoding=chunked", "json/named/encoding=gzip", "json/named/encoding=deflate", "form-quirk/bracket-card_number[]", "form/named/method=DELETE"},
	}
	for _, n := range extra[parser] {
		want[n] = true
	}
	var out []Case
	for _, c := range generate(v) {
		if want[c.Name] {
			out = append(out, c)
		}
	}
	return out
}

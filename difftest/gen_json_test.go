package difftest

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
)

// mapDigitsTo writes a digit string with another script's digits.
func mapDigitsTo(s string, zero rune) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(zero + r - '0')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// uEscape writes every character as a JSON \uXXXX escape.
func uEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func sepEvery4(p, sep string) string { return strings.ReplaceAll(spaced(p), " ", sep) }

func utf16le(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// jsonQuirks: number forms, escapes, Unicode digits, key games, 3-D Secure
// field names, BOM, nesting, encodings. Each body also carries the CVC.
func (g *gen) jsonQuirks() {
	type q struct {
		name string
		body func(p, c string) string
	}
	deep := func(n int, inner string) string {
		return strings.Repeat(`{"a":`, n) + inner + strings.Repeat("}", n)
	}
	quirks := []q{
		{"pan-as-number", func(p, c string) string { return fmt.Sprintf(`{"card_number":%s,"cvc":%s}`, p, c) }},
		{"pan-exponent", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":%s.%se%d,"cvc":"%s"}`, p[:1], p[1:], len(p)-1, c)
		}},
		{"pan-decimal", func(p, c string) string { return fmt.Sprintf(`{"card_number":%s.0,"cvc":"%s"}`, p, c) }},
		{"pan-big-exponent", func(p, c string) string { return fmt.Sprintf(`{"card_number":%s0000e-4,"cvc":"%s"}`, p, c) }},
		{"pan-number-other-field", func(p, c string) string { return fmt.Sprintf(`{"ref":%s,"cvc":"%s"}`, p, c) }},
		{"pan-negative-number", func(p, c string) string { return fmt.Sprintf(`{"ref":-%s,"cvc":"%s"}`, p, c) }},
		{"cvc-as-number", func(p, c string) string { return fmt.Sprintf(`{"card_number":"%s","cvc":%s}`, p, c) }},
		{"u-escaped-digits", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, uEscape(p), uEscape(c))
		}},
		{"u-escaped-digits-other-field", func(p, c string) string {
			return fmt.Sprintf(`{"ref":"%s","cvc":"%s"}`, uEscape(p), c)
		}},
		{"fullwidth-digits", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, mapDigitsTo(p, '０'), mapDigitsTo(c, '０'))
		}},
		{"fullwidth-digits-other-field", func(p, c string) string {
			return fmt.Sprintf(`{"ref":"%s","cvc":"%s"}`, mapDigitsTo(p, '０'), c)
		}},
		{"arabic-indic-digits", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, mapDigitsTo(p, '٠'), c)
		}},
		{"nbsp-separators", func(p, c string) string {
			return fmt.Sprintf(`{"ref":"%s","cvc":"%s"}`, sepEvery4(p, "\u00a0"), c)
		}},
		{"thin-space-separators", func(p, c string) string {
			return fmt.Sprintf(`{"ref":"%s","cvc":"%s"}`, sepEvery4(p, "\u2009"), c)
		}},
		{"dash-separators", func(p, c string) string { return fmt.Sprintf(`{"ref":"%s","cvc":"%s"}`, sepEvery4(p, "-"), c) }},
		{"dot-separators", func(p, c string) string { return fmt.Sprintf(`{"ref":"%s","cvc":"%s"}`, sepEvery4(p, "."), c) }},
		{"pan-as-key", func(p, c string) string { return fmt.Sprintf(`{"%s":"x","cvc":"%s"}`, p, c) }},
		{"cvc-as-key", func(p, c string) string { return fmt.Sprintf(`{"card_number":"%s","%s":"cvc"}`, p, c) }},
		{"key-Card_Number", func(p, c string) string { return fmt.Sprintf(`{"Card_Number":"%s","Cvc":"%s"}`, p, c) }},
		{"key-CARD_NUMBER", func(p, c string) string { return fmt.Sprintf(`{"CARD_NUMBER":"%s","CVC":"%s"}`, p, c) }},
		{"key-card_nuMber", func(p, c string) string { return fmt.Sprintf(`{"card_nuMber":"%s","cVc":"%s"}`, p, c) }},
		{"key-escaped-underscore", func(p, c string) string {
			return fmt.Sprintf(`{"card\u005fnumber":"%s","\u0063vc":"%s"}`, p, c)
		}},
		{"dup-key-card-last", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":"x","card_number":"%s","cvc":"1","cvc":"%s"}`, p, c)
		}},
		{"dup-key-card-first", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":"%s","card_number":"x","cvc":"%s","cvc":"1"}`, p, c)
		}},
		{"3ds-MD-at-depth", func(p, c string) string { return fmt.Sprintf(`{"x":{"MD":"%s"},"cvc":"%s"}`, p, c) }},
		{"3ds-PaRes", func(p, c string) string { return fmt.Sprintf(`{"PaRes":"%s","cvc":"%s"}`, p, c) }},
		{"3ds-payload", func(p, c string) string { return fmt.Sprintf(`{"payload":"%s","cvc":"%s"}`, p, c) }},
		{"3ds-transactionid-array", func(p, c string) string {
			return fmt.Sprintf(`{"items":[{"transactionid":"%s"}],"cvc":"%s"}`, p, c)
		}},
		{"3ds-md-lowercase", func(p, c string) string { return fmt.Sprintf(`{"md":"%s","cvc":"%s"}`, p, c) }},
		{"bom-prefix", func(p, c string) string { return fmt.Sprintf("\ufeff"+`{"card_number":"%s","cvc":"%s"}`, p, c) }},
		{"deep-nesting-40", func(p, c string) string {
			return deep(40, fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, p, c))
		}},
		{"deep-nesting-600", func(p, c string) string {
			return deep(600, fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, p, c))
		}},
		{"deep-array-nesting", func(p, c string) string {
			return `{"x":` + strings.Repeat("[", 50) + fmt.Sprintf(`"%s"`, p) + strings.Repeat("]", 50) + fmt.Sprintf(`,"cvc":"%s"}`, c)
		}},
		{"top-level-array", func(p, c string) string { return fmt.Sprintf(`["%s","%s"]`, p, c) }},
		{"top-level-string", func(p, c string) string { return fmt.Sprintf(`"%s"`, p) }},
		{"trailing-garbage", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"} trailing`, p, c)
		}},
		{"two-documents", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}{"x":1}`, p, c)
		}},
		{"json-in-string", func(p, c string) string {
			return fmt.Sprintf(`{"data":"{\"card_number\":\"%s\",\"cvc\":\"%s\"}"}`, p, c)
		}},
		{"card-object", func(p, c string) string {
			return fmt.Sprintf(`{"card_number":{"value":"%s"},"cvc":{"value":"%s"}}`, p, c)
		}},
		{"card-array", func(p, c string) string { return fmt.Sprintf(`{"card_number":["%s"],"cvc":["%s"]}`, p, c) }},
		{"pan-with-leading-zeros", func(p, c string) string { return fmt.Sprintf(`{"ref":"000%s","cvc":"%s"}`, p, c) }},
		{"pan-with-suffix-digit", func(p, c string) string { return fmt.Sprintf(`{"ref":"%s7","cvc":"%s"}`, p, c) }},
		{"pan-with-letters-around", func(p, c string) string { return fmt.Sprintf(`{"ref":"ab%scd","cvc":"%s"}`, p, c) }},
		{"pan-in-base64-field", func(p, c string) string {
			return fmt.Sprintf(`{"blob":"%s","cvc":"%s"}`, base64.StdEncoding.EncodeToString([]byte(p)), c)
		}},
		{"cvc-spaces-around", func(p, c string) string { return fmt.Sprintf(`{"card_number":"%s","cvc":" %s "}`, p, c) }},
		{"cvc-nested", func(p, c string) string {
			return fmt.Sprintf(`{"card":{"number":"%s","cvc":"%s"}}`, p, c)
		}},
		{"whitespace-heavy", func(p, c string) string {
			return fmt.Sprintf("\r\n\t{ \"card_number\" :\n\"%s\" ,\t\"cvc\" : \"%s\" }\n", p, c)
		}},
	}
	for _, qq := range quirks {
		p, c := g.card()
		body := qq.body(p, c)
		cvc := c
		if !strings.Contains(body, c) && !strings.Contains(body, mapDigitsTo(c, '０')) && !strings.Contains(body, uEscape(c)) {
			cvc = ""
		}
		g.add(Case{Name: "json-quirk/" + qq.name, Header: ctHeaders([]string{"application/json"}), Body: []byte(body), PAN: p, CVC: cvc})
	}
	// UTF-16 JSON (Python's json.loads detects it from the bytes).
	p, c := g.card()
	doc := fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, p, c)
	g.add(Case{Name: "json-quirk/utf16le", Header: ctHeaders([]string{"application/json; charset=utf-16"}), Body: utf16le(doc), PAN: p, CVC: c})
	g.add(Case{Name: "json-quirk/utf16le-bom", Header: ctHeaders([]string{"application/json"}), Body: append([]byte{0xff, 0xfe}, utf16le(doc)...), PAN: p, CVC: c})
	g.add(Case{Name: "json-quirk/utf16le-no-ct", Body: utf16le(doc), PAN: p, CVC: c})

	// Victim tokens through the JSON vectors.
	vt, vc := g.v.panToken, g.v.cvcToken
	tq := []q{
		{"plain", func(a, b string) string { return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, a, b) }},
		{"escaped-underscore", func(a, b string) string {
			return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, strings.ReplaceAll(a, "_", `\u005f`), strings.ReplaceAll(b, "_", `\u005f`))
		}},
		{"fully-u-escaped", func(a, b string) string { return fmt.Sprintf(`{"note":"%s","ref":"%s"}`, uEscape(a), uEscape(b)) }},
		{"as-key", func(a, b string) string { return fmt.Sprintf(`{"%s":"x","%s":"y"}`, a, b) }},
		{"in-3ds-MD", func(a, b string) string { return fmt.Sprintf(`{"x":{"MD":"%s","PaRes":"%s"}}`, a, b) }},
		{"in-free-text", func(a, b string) string { return fmt.Sprintf(`{"note":"pay with %s/%s please"}`, a, b) }},
		{"json-in-string", func(a, b string) string {
			return fmt.Sprintf(`{"data":"{\"card_number\":\"%s\",\"cvc\":\"%s\"}"}`, a, b)
		}},
		{"deep-nesting-600", func(a, b string) string {
			return deep(600, fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, a, b))
		}},
		{"bom-prefix", func(a, b string) string { return fmt.Sprintf("\ufeff"+`{"card_number":"%s","cvc":"%s"}`, a, b) }},
		{"trailing-garbage", func(a, b string) string { return fmt.Sprintf(`{"card_number":"%s","cvc":"%s"} x`, a, b) }},
		{"key-CARD_NUMBER", func(a, b string) string { return fmt.Sprintf(`{"CARD_NUMBER":"%s","CVC":"%s"}`, a, b) }},
		{"top-level-array", func(a, b string) string { return fmt.Sprintf(`["%s","%s"]`, a, b) }},
	}
	for _, qq := range tq {
		g.add(Case{Name: "json-token/" + qq.name, Header: ctHeaders([]string{"application/json"}), Body: []byte(qq.body(vt, vc)), Victim: true})
	}
	doc = fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, vt, vc)
	g.add(Case{Name: "json-token/utf16le", Header: ctHeaders([]string{"application/json; charset=utf-16"}), Body: utf16le(doc), Victim: true})
}

package difftest

import (
	"fmt"
	"net/url"
	"strings"
)

// pctAll percent-encodes every byte.
func pctAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// formQuirks: PHP name mangling, separators, percent games, duplicates,
// bracket arrays, field limits. Bodies are written raw.
func (g *gen) formQuirks() {
	type q struct {
		name string
		body func(p, c string) string
	}
	qe := url.QueryEscape
	many := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "f%c%c%c=x&", 'a'+i/676%26, 'a'+i/26%26, 'a'+i%26)
		}
		return b.String()
	}
	quirks := []q{
		{"php-dot-name", func(p, c string) string { return fmt.Sprintf("card.number=%s&c.v.c=%s", p, c) }},
		{"php-space-name-plus", func(p, c string) string { return fmt.Sprintf("card+number=%s&cvc=%s", p, c) }},
		{"php-space-name-pct20", func(p, c string) string { return fmt.Sprintf("card%%20number=%s&cvc=%s", p, c) }},
		{"php-open-bracket-name", func(p, c string) string { return fmt.Sprintf("card[number=%s&cvc=%s", p, c) }},
		{"php-dot-cvc", func(p, c string) string { return fmt.Sprintf("card_number=%s&c.vc=%s", p, c) }},
		{"semicolon-separators", func(p, c string) string { return fmt.Sprintf("a=1;card_number=%s;cvc=%s", p, c) }},
		{"semicolon-then-amp", func(p, c string) string { return fmt.Sprintf("a=1;card_number=%s&cvc=%s", p, c) }},
		{"plus-in-pan", func(p, c string) string { return fmt.Sprintf("ref=%s&cvc=%s", sepEvery4(p, "+"), c) }},
		{"pct20-in-pan", func(p, c string) string { return fmt.Sprintf("ref=%s&cvc=%s", sepEvery4(p, "%20"), c) }},
		{"pct-encoded-digits", func(p, c string) string {
			return fmt.Sprintf("card_number=%s&cvc=%s", pctAll(p), pctAll(c))
		}},
		{"pct-encoded-digits-other-field", func(p, c string) string { return fmt.Sprintf("ref=%s&cvc=%s", pctAll(p), c) }},
		{"pct-lowercase-hex", func(p, c string) string {
			return fmt.Sprintf("card_number=%s&cvc=%s", strings.ToLower(pctAll(p)), c)
		}},
		{"dup-key-card-last", func(p, c string) string { return fmt.Sprintf("card_number=x&card_number=%s&cvc=1&cvc=%s", p, c) }},
		{"dup-key-card-first", func(p, c string) string { return fmt.Sprintf("card_number=%s&card_number=x&cvc=%s&cvc=1", p, c) }},
		{"pan-as-key", func(p, c string) string { return fmt.Sprintf("%s=1&cvc=%s", p, c) }},
		{"pan-as-key-no-value", func(p, c string) string { return fmt.Sprintf("%s&cvc=%s", p, c) }},
		{"pan-split-dup-keys", func(p, c string) string {
			return fmt.Sprintf("card_number=%s&card_number=%s&cvc=%s", p[:8], p[8:], c)
		}},
		{"pan-split-array", func(p, c string) string {
			return fmt.Sprintf("card_number[]=%s&card_number[]=%s&cvc=%s", p[:8], p[8:], c)
		}},
		{"bracket-card[number]", func(p, c string) string { return fmt.Sprintf("card[number]=%s&card[cvc]=%s", p, c) }},
		{"bracket-card_number[]", func(p, c string) string { return fmt.Sprintf("card_number[]=%s&cvc[]=%s", p, c) }},
		{"bracket-card_number[0]", func(p, c string) string { return fmt.Sprintf("card_number[0]=%s&cvc[0]=%s", p, c) }},
		{"bracket-payment[cc_number]", func(p, c string) string {
			return fmt.Sprintf("payment[cc_number]=%s&payment[cc_cid]=%s", p, c)
		}},
		{"bracket-encoded", func(p, c string) string {
			return fmt.Sprintf("card%%5Bnumber%%5D=%s&cvc%%5B%%5D=%s", p, c)
		}},
		{"bracket-deep", func(p, c string) string { return fmt.Sprintf("a[b][c][d]=%s&cvc=%s", p, c) }},
		{"qs-dot-notation", func(p, c string) string { return fmt.Sprintf("card[number]=%s&card.cvc=%s", p, c) }},
		{"key-Card_Number", func(p, c string) string { return fmt.Sprintf("Card_Number=%s&CVC=%s", p, c) }},
		{"key-pct-encoded", func(p, c string) string { return fmt.Sprintf("card%%5Fnumber=%s&%%63vc=%s", p, c) }},
		{"empty-pairs", func(p, c string) string { return fmt.Sprintf("&&card_number=%s&&cvc=%s&&", p, c) }},
		{"bad-pct-before", func(p, c string) string { return fmt.Sprintf("a=%%zz&card_number=%s&cvc=%s", p, c) }},
		{"bad-pct-in-key", func(p, c string) string { return fmt.Sprintf("card_number%%=%s&cvc=%s", p, c) }},
		{"null-byte-in-key", func(p, c string) string { return fmt.Sprintf("card_number%%00x=%s&cvc=%s", p, c) }},
		{"fullwidth-digits", func(p, c string) string {
			return fmt.Sprintf("card_number=%s&cvc=%s", qe(mapDigitsTo(p, '０')), qe(mapDigitsTo(c, '０')))
		}},
		{"nbsp-separators", func(p, c string) string { return fmt.Sprintf("ref=%s&cvc=%s", qe(sepEvery4(p, "\u00a0")), c) }},
		{"bom-prefix", func(p, c string) string { return fmt.Sprintf("\ufeffcard_number=%s&cvc=%s", p, c) }},
		{"empty-key", func(p, c string) string { return fmt.Sprintf("=%s&cvc=%s", p, c) }},
		{"equals-in-value", func(p, c string) string { return fmt.Sprintf("card_number==%s&cvc=%s", p, c) }},
		{"newline-separators", func(p, c string) string { return fmt.Sprintf("a=1\r\ncard_number=%s\r\ncvc=%s", p, c) }},
		{"1200-fields-first", func(p, c string) string { return many(1200) + fmt.Sprintf("card_number=%s&cvc=%s", p, c) }},
		{"json-in-form-value", func(p, c string) string {
			return "data=" + qe(fmt.Sprintf(`{"card_number":"%s","cvc":"%s"}`, p, c))
		}},
	}
	ct := ctHeaders([]string{"application/x-www-form-urlencoded"})
	for _, qq := range quirks {
		p, c := g.card()
		g.add(Case{Name: "form-quirk/" + qq.name, Header: ct, Body: []byte(qq.body(p, c)), PAN: p, CVC: c})
	}
	vt, vc := g.v.panToken, g.v.cvcToken
	tq := []q{
		{"plain", func(a, b string) string { return fmt.Sprintf("card_number=%s&cvc=%s", a, b) }},
		{"pct-encoded", func(a, b string) string { return fmt.Sprintf("card_number=%s&cvc=%s", pctAll(a), pctAll(b)) }},
		{"underscore-pct", func(a, b string) string {
			return fmt.Sprintf("note=%s&ref=%s", strings.ReplaceAll(a, "_", "%5F"), strings.ReplaceAll(b, "_", "%5f"))
		}},
		{"as-key", func(a, b string) string { return fmt.Sprintf("%s=1&%s=2", a, b) }},
		{"php-dot-name", func(a, b string) string { return fmt.Sprintf("card.number=%s&c.v.c=%s", a, b) }},
		{"semicolons", func(a, b string) string { return fmt.Sprintf("x=1;card_number=%s;cvc=%s", a, b) }},
		{"bracket-array", func(a, b string) string { return fmt.Sprintf("card[number]=%s&card[cvc][]=%s", a, b) }},
		{"bad-pct-before", func(a, b string) string { return fmt.Sprintf("a=%%zz&card_number=%s&cvc=%s", a, b) }},
		{"1200-fields-first", func(a, b string) string { return many(1200) + fmt.Sprintf("card_number=%s&cvc=%s", a, b) }},
	}
	for _, qq := range tq {
		g.add(Case{Name: "form-token/" + qq.name, Header: ct, Body: []byte(qq.body(vt, vc)), Victim: true})
	}
}

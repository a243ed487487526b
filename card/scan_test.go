package card

import (
	"math/rand"
	"strings"
	"testing"
	"unicode"
)

const (
	visa = "4111111111111111"
	mc   = "5555555555554444"
	amex = "378282246310005"
)

// rewrite writes each digit of pan with f, separated by sep every four.
func rewrite(pan, sep string, f func(d byte) string) string {
	var b strings.Builder
	for i := 0; i < len(pan); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteString(sep)
		}
		b.WriteString(f(pan[i]))
	}
	return b.String()
}

func lit(d byte) string { return string(d) }

func withRune(zero rune) func(byte) string {
	return func(d byte) string { return string(zero + rune(d-'0')) }
}

func hits(text string, m Matcher) []Hit {
	var hs []Hit
	Find(text, m, func(h Hit) bool { hs = append(hs, h); return true })
	return hs
}

func pans(hs []Hit) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.PAN)
	}
	return out
}

func TestFindRepresentations(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"plain", "card " + visa + " ok", []string{visa}},
		{"space", rewrite(visa, " ", lit), []string{visa}},
		{"dash", rewrite(visa, "-", lit), []string{visa}},
		{"plus", rewrite(visa, "+", lit), []string{visa}},
		{"tab", rewrite(visa, "\t", lit), []string{visa}},
		{"nbsp", rewrite(visa, "\u00a0", lit), []string{visa}},
		{"figure space", rewrite(visa, "\u2007", lit), []string{visa}},
		{"narrow nbsp", rewrite(visa, "\u202f", lit), []string{visa}},
		{"ideographic space", rewrite(visa, "\u3000", lit), []string{visa}},
		{"hyphen", rewrite(visa, "\u2010", lit), []string{visa}},
		{"horizontal bar", rewrite(visa, "\u2015", lit), []string{visa}},
		{"minus", rewrite(visa, "\u2212", lit), []string{visa}},
		{"small hyphen", rewrite(visa, "\ufe63", lit), []string{visa}},
		{"full-width hyphen", rewrite(visa, "\uff0d", lit), []string{visa}},
		{"full-width", rewrite(visa, "", withRune('０')), []string{visa}},
		{"arabic-indic", rewrite(visa, " ", withRune('٠')), []string{visa}},
		{"devanagari", rewrite(mc, "", withRune('०')), []string{mc}},
		{"math bold", rewrite(visa, "", withRune(0x1D7CE)), []string{visa}},
		{"percent", rewrite(visa, "%20", func(d byte) string { return "%3" + string(d) }), []string{visa}},
		{"percent dash", rewrite(visa, "%2d", func(d byte) string { return "%3" + string(d) }), []string{visa}},
		{"percent DASH", rewrite(visa, "%2D", lit), []string{visa}},
		{"percent utf-8", rewrite(visa, "%C2%A0", func(d byte) string { return "%EF%BC%9" + string(d) }), []string{visa}},
		{"json", rewrite(visa, `\u0020`, func(d byte) string { return `\u003` + string(d) }), []string{visa}},
		{"json dash nbsp", rewrite(visa, `\u002d`, lit) + " " + rewrite(mc, `\u00A0`, lit), []string{visa, mc}},
		{"json full-width", rewrite(visa, "", func(d byte) string { return `\uFF1` + string(d) }), []string{visa}},
		{"json full-width lower", rewrite(visa, `\u00a0`, func(d byte) string { return `\uff1` + string(d) }), []string{visa}},
		{"js hex", rewrite(visa, "", func(d byte) string { return `\x3` + string(d) }), []string{visa}},
		{"js brace", rewrite(visa, "", func(d byte) string { return `\u{3` + string(d) + "}" }), []string{visa}},
		{"html dec", rewrite(visa, "&#32;", func(d byte) string {
			return "&#" + string(rune('0'+48-'0'+int(d-'0')/10*0)) + "" + itoa(48+int(d-'0')) + ";"
		}), []string{visa}},
		{"html zeros", rewrite(visa, "&nbsp;", func(d byte) string { return "&#00" + itoa(48+int(d-'0')) + ";" }), []string{visa}},
		{"html hex", rewrite(visa, "&#160;", func(d byte) string { return "&#x3" + string(d) + ";" }), []string{visa}},
		{"html HEX", rewrite(mc, "&#x2D;", func(d byte) string { return "&#X003" + string(d) + ";" }), []string{mc}},
		{"mixed", "4111%201111\\u002d1111&#32;&#49;111", []string{visa}},
		{"html without ;", rewrite(visa, "", func(d byte) string { return "&#" + itoa(48+int(d-'0')) }), []string{visa}},
		{"html without ; eats digits", "&#52" + visa[1:], nil}, // &#52111… is one (invalid) reference
		{"escaped plus is no separator", rewrite(visa, "%2B", lit), nil},
		{"luhn invalid", "4111111111111112", nil},
		{"two separators (FindLoose only)", "4111 1111  1111 1111", nil},
		{"spaced dashes (FindLoose only)", "4111 - 1111 - 1111 - 1111", nil},
		{"dots are no separators", "4111.1111.1111.1111", nil},
		{"analytics cookie", "_ga=GA1.1.1234567890.1700000000; _fbp=fb.1.1700000000000.1234567890", nil},
		{"four separators", "4111 1111 -  - 1111 1111", nil},
		{"trailing separator", visa + "- x", []string{visa}},
		{"adjacent space", "card " + mc + " 1230", []string{mc}},
		{"adjacent digits", "1230" + mc, []string{mc}},
		{"earlier window wins", "1234" + mc, []string{"4555555555555444"}}, // a Visa at offset 3
		{"16 then 4", visa + " 1234", []string{visa}},
		{"back to back", visa + mc, []string{visa, mc}},
		{"overlap prefix", "99" + visa + "99", []string{visa}},
		{"letters around", "x" + visa + "y", []string{visa}},
		{"literal reading of escape", "%" + amex, []string{amex}},
		{"literal digits in separator escape", "%20" + visa, []string{visa}},
	}
	for _, c := range cases {
		got := pans(hits(c.text, Known))
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: Find(%q) = %d hits %v, want %d", c.name, c.text, len(got), maskAll(got), len(c.want))
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func maskAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = mask(p)
	}
	return out
}

func TestFindRanges(t *testing.T) {
	text := "x %34" + visa[1:12] + "&#x31;11\\u00311 y"
	hs := hits(text, Known)
	if len(hs) != 1 {
		t.Fatalf("%d hits", len(hs))
	}
	h := hs[0]
	if h.PAN != visa || h.Start != 2 || h.End != len(text)-3 || len(h.Digits) != 16 {
		t.Fatalf("hit %d-%d, %d digits", h.Start, h.End, len(h.Digits))
	}
	if d := h.Digits[0]; text[d[0]:d[1]] != "%34" {
		t.Errorf("first digit %q", text[d[0]:d[1]])
	}
	if d := h.Digits[12]; text[d[0]:d[1]] != "&#x31;" {
		t.Errorf("13th digit %q", text[d[0]:d[1]])
	}
	if d := h.Digits[15]; text[d[0]:d[1]] != `\u0031` {
		t.Errorf("16th digit %q", text[d[0]:d[1]])
	}
}

func TestFindStops(t *testing.T) {
	n := 0
	Find(visa+" x "+mc, Known, func(Hit) bool { n++; return false })
	if n != 1 {
		t.Errorf("yield called %d times after false", n)
	}
	if !Contains("a "+mc+" b", OneOf(mc)) || Contains("a "+mc+" b", OneOf(visa)) {
		t.Error("Contains with OneOf")
	}
	if Contains(visa, nil) {
		t.Error("nil matcher matched")
	}
}

func TestLongRun(t *testing.T) {
	// Hits past the run buffer: PANs far inside a long run of zeros.
	text := strings.Repeat("0", 1000) + visa + strings.Repeat("0", 300) + mc + strings.Repeat("0", 5)
	got := pans(hits(text, Known))
	if strings.Join(got, ",") != visa+","+mc {
		t.Errorf("got %v", maskAll(got))
	}
	// Every window: in a run of PANs back to back, each is found.
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString(visa)
	}
	if n := len(hits(b.String(), OneOf(visa))); n != 100 {
		t.Errorf("%d of 100 back-to-back PANs", n)
	}
}

func TestAnyLuhn(t *testing.T) {
	zero := "0000000000000018" // Luhn-valid, leading 0 (a token's shape)
	if AnyLuhn(zero) || !Luhn(zero) {
		t.Fatal("AnyLuhn accepted a leading 0")
	}
	if Contains("0000 0000 0000 0000", AnyLuhn) || Contains(zero, AnyLuhn) {
		t.Error("AnyLuhn found a number starting with 0")
	}
	if !Contains("x 9"+amex[1:14]+string(LuhnDigit("9"+amex[1:14])), AnyLuhn) {
		t.Error("AnyLuhn missed an unknown-IIN number")
	}
	if !Either(nil, OneOf(visa))(visa) || Either(OneOf(mc))(visa) {
		t.Error("Either")
	}
}

func TestMaskAll(t *testing.T) {
	cases := []struct{ in, out string }{
		{"pay " + visa + " now", "pay ************1111 now"},
		{"pay %34%31%31%31 1111-1111 1111 end", "pay **** ****-**** 1111 end"},
		{"&#52;" + visa[1:], "************1111"},
		{`\u0034\u0031\u0031\u0031` + visa[4:], "************1111"},
		{rewrite(visa, "", withRune('０')), "************１１１１"},
		{"%EF%BC%94" + visa[1:], "************1111"},
		{"no card 4111111111111112", "no card 4111111111111112"},
		{visa + mc, "****************************4444"}, // overlapping windows: one block
	}
	for _, c := range cases {
		out, n := MaskAll(c.in, Known)
		if out != c.out || (n == 0) != (c.in == c.out) {
			t.Errorf("MaskAll(%q) = %q, %d; want %q", c.in, out, n, c.out)
		}
	}
}

func TestDigitValueTable(t *testing.T) {
	n := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		v, ok := DigitValue(r)
		if ok != unicode.IsDigit(r) {
			t.Fatalf("DigitValue(%U) ok=%v", r, ok)
		}
		if ok {
			n++
			if z, ok := DigitValue(r - rune(v)); v > 9 || !ok || z != 0 {
				t.Fatalf("DigitValue(%U) = %d", r, v)
			}
		}
	}
	if v, _ := DigitValue('\uff14'); v != 4 || n%10 != 0 {
		t.Errorf("full-width 4 = %d, %d digits", v, n)
	}
}

func checkHits(t *testing.T, text string, m Matcher, name string) {
	hs := hits(text, m)
	end := 0
	for _, h := range hs {
		if !m(h.PAN) || len(h.PAN) < MinLen || len(h.PAN) > MaxLen || len(h.Digits) != len(h.PAN) {
			t.Fatalf("%s: bad hit of %d digits", name, len(h.PAN))
		}
		if h.Start < end || h.Start != h.Digits[0][0] || h.End != h.Digits[len(h.Digits)-1][1] {
			t.Fatalf("%s: hits out of order or overlapping at %d", name, h.Start)
		}
		prev := h.Start
		for k, d := range h.Digits {
			if d[0] < prev || d[1] <= d[0] || d[1] > len(text) {
				t.Fatalf("%s: digit range %v", name, d)
			}
			prev = d[1]
			kind, v, e := token(text, d[0], true)
			if kind != tokDigit || e != d[1] {
				kind, v, e = token(text, d[0], false)
			}
			if kind != tokDigit || e != d[1] || '0'+v != h.PAN[k] {
				t.Fatalf("%s: digit %d does not read as the PAN's", name, k)
			}
		}
		end = h.End
	}
	if Contains(text, m) != (len(hs) > 0) {
		t.Fatalf("%s: Contains disagrees with Find", name)
	}
	loose := 0
	FindLoose(text, m, func(Hit) bool { loose++; return true })
	masked, n := MaskAll(text, m)
	left := 0
	FindLoose(masked, m, func(Hit) bool { left++; return true })
	if (loose > 0) != (n > 0) || left > 0 || Contains(masked, m) {
		t.Fatalf("%s: MaskAll left a card number (%d loose hits, %d masked, %d left)", name, loose, n, left)
	}
}

func TestAdjacentOneOf(t *testing.T) {
	if got := pans(hits("1234"+mc, OneOf(mc))); len(got) != 1 || got[0] != mc {
		t.Errorf("got %v", maskAll(got))
	}
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{
		"card " + mc + " 1230", "1234" + mc, visa + " 1234", "%34%31%31%31 1111 1111 1111",
		"&#52;" + visa[1:], `\u0034` + visa[1:], rewrite(visa, "\u00a0", withRune('０')),
		visa + mc + amex, "%" + amex, "4111111111111111111111111111",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkHits(t, s, Known, "Known")
		checkHits(t, s, AnyLuhn, "AnyLuhn")
		checkHits(t, s, OneOf(visa, mc), "OneOf")
	})
}

func TestFindRandom(t *testing.T) {
	// A quick stand-in for the fuzzer in plain `go test`.
	rng := rand.New(rand.NewSource(1))
	parts := []string{"1", "4", "5", "0", "7", " ", "-", "%3", "%20", "&#5", "2;", "\\u003", "１", "\u00a0", "x", visa, mc}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for k := rng.Intn(40); k >= 0; k-- {
			b.WriteString(parts[rng.Intn(len(parts))])
		}
		checkHits(t, b.String(), AnyLuhn, "AnyLuhn")
		checkHits(t, b.String(), Known, "Known")
	}
}

func benchText(digits bool) string {
	const size = 1 << 20
	var b strings.Builder
	b.Grow(size + 256)
	rng := rand.New(rand.NewSource(7))
	for b.Len() < size {
		if digits {
			b.WriteByte(byte('0' + rng.Intn(10)))
			continue
		}
		b.WriteString(`{"id":`)
		b.WriteString(itoa(rng.Intn(100000)))
		b.WriteString(`,"name":"Widget \"deluxe\"","note":"ships in 3 days & more","url":"/a%2Fb?q=x"},` + "\n")
	}
	return b.String()[:size]
}

func BenchmarkFind(b *testing.B) {
	for _, in := range []struct {
		name string
		text string
	}{{"json", benchText(false)}, {"digits", benchText(true)}} {
		for _, m := range []struct {
			name string
			m    Matcher
		}{{"Known", Known}, {"AnyLuhn", AnyLuhn}} {
			b.Run(in.name+"/"+m.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.text)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					Find(in.text, m.m, func(Hit) bool { return true })
				}
			})
		}
	}
}

func TestFindNoAllocs(t *testing.T) {
	text := strings.Repeat(`{"a":"b c&d","e":"%2F\u00e9 ïé 12 34"} `, 1000)
	if n := testing.AllocsPerRun(10, func() { Find(text, Known, func(Hit) bool { return true }) }); n != 0 {
		t.Errorf("Find on text without card-length runs allocates %v times", n)
	}
}

// FindLoose (masking) joins digits across up to three separators; Find
// (refusals) across one.
func TestFindLoose(t *testing.T) {
	for _, text := range []string{"4111 1111  1111 1111", "4111 1111-\u00a01111 1111", "4111 1111%20%201111 1111", "4111 - 1111 - 1111 - 1111"} {
		var got []string
		FindLoose(text, Known, func(h Hit) bool { got = append(got, h.PAN); return true })
		if len(got) != 1 || got[0] != visa {
			t.Errorf("FindLoose(%q) = %d hits", text, len(got))
		}
		if Contains(text, Known) {
			t.Errorf("Find(%q) joined across several separators", text)
		}
	}
	if out, n := MaskAll("declined: 5555 - 5555 - 5555 - 4444", Known); n != 1 || strings.Contains(out, "5555 - 5555") {
		t.Errorf("MaskAll: %q", out)
	}
}

func TestLikely(t *testing.T) {
	for d, want := range map[string]bool{
		visa: true, mc: true, amex: true, "4222222222222": false /* Visa 13 */, "4001650131638": false, /* EAN-13 */
		"6759649826438453": true /* Maestro 16 */, "675964982643": false, /* Maestro 12 */
		"122000000000003": false /* UATP */, "4111111111111112": false,
	} {
		if Likely(d) != want {
			t.Errorf("Likely(%s…) = %v, want %v", d[:4], !want, want)
		}
	}
}

// Digits before a card number must not steal its mask: the card's own digits
// are masked too, whatever window matched first.
func TestMaskAllCoversOverlappingWindows(t *testing.T) {
	for _, text := range []string{"2025-12-06 " + mc, "+31 20 123 4567 " + visa, "2025-12-06 " + amex, "1230" + mc} {
		out, n := MaskAll(text, Either(AnyLuhn, OneOf(mc, visa, amex)))
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, out)
		for _, p := range []string{mc, visa, amex} {
			if strings.Contains(text, p) && strings.Contains(digits, p[len(p)-5:]) {
				t.Errorf("MaskAll(%q) = %q (%d): more than the last four of the card in clear", text, out, n)
			}
		}
	}
}

package card

import (
	"fmt"
	"strings"
	"testing"
)

func TestMaskCVCs(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		n       int
	}{
		{"cvc 739 ok", "cvc *** ok", 1},
		{"7390 1739 739", "7390 1739 ***", 1}, // digit-bounded only
		{"739/739", "***/***", 2},
		{"no cvc", "no cvc", 0},
	} {
		if out, n := MaskCVCs(tc.in, []string{"739"}); out != tc.out || n != tc.n {
			t.Errorf("MaskCVCs(%q) = %q, %d", tc.in, out, n)
		}
	}
	if got := ASCIIDigits("７３９ ٧٣٩"); got != "739 739" {
		t.Errorf("ASCIIDigits = %q", got)
	}
	if got := Redact("order 4111111111111111, ref 12345"); got != "order ************1111, ref 12345" {
		t.Errorf("Redact = %q", got)
	}
}

func TestCardFormatHidesPAN(t *testing.T) {
	c := Card{PAN: "4111111111111111", Expiry: "12/30", Holder: "Jane Doe"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, "41111111") || strings.Contains(s, "Jane") || !strings.Contains(s, "1111") {
			t.Errorf("%s: %s", verb, s)
		}
	}
	if s := fmt.Sprintf("%v", []Card{c}); strings.Contains(s, "41111111") {
		t.Errorf("slice: %s", s)
	}
}

// FuzzMask: MaskAll and Redact leave no card number FindLoose finds, only
// turn digits (each digit's whole representation) into '*', and Redact is
// idempotent; MaskCVCs leaves no digit-bounded CVC and keeps the length.
//
//	go test -run '^$' -fuzz '^FuzzMask$' -fuzztime 60s ./card
func FuzzMask(f *testing.F) {
	for _, s := range []struct{ text, cvc string }{
		{"declined: 5555 - 5555 - 5555 - 4444, cvc 739", "739"},
		{`{"card":"\u0034111111111111111","n":4.111111111111111e15}`, "123"},
		{"2025-12-06 " + mc + " %34%31%31%31 1111 1111 1111", "1111"},
		{"&#52;111&#x31;111111111111 ４１１１１１１１１１１１１１１１", "111"},
		{"+31 20 123 4567 " + visa + amex, "0005"},
	} {
		f.Add(s.text, s.cvc)
	}
	f.Fuzz(func(t *testing.T, s, cvc string) {
		for _, m := range []struct {
			name string
			m    Matcher
		}{{"AnyLuhn", AnyLuhn}, {"Known", Known}, {"OneOf", OneOf(visa, mc)}} {
			out, n := MaskAll(s, m.m)
			if ContainsLoose(out, m.m) || (n == 0) != (out == s) {
				t.Fatalf("%s: MaskAll left a card number or miscounted (%d)", m.name, n)
			}
			onlyDigitsMasked(t, s, out)
		}
		r := Redact(s)
		if Redact(r) != r || ContainsLoose(r, AnyLuhn) {
			t.Fatalf("Redact is not idempotent or left a card number")
		}
		cvcs := []string{cvc, strings.TrimLeft(cvc, "0")}
		if !ValidCVC(cvc) {
			return
		}
		out, _ := MaskCVCs(s, cvcs)
		if _, n := MaskCVCs(out, cvcs); n > 0 || len(out) != len(s) {
			t.Fatalf("MaskCVCs left a digit-bounded CVC (%d) or changed the length", n)
		}
	})
}

// onlyDigitsMasked fails unless out is in with some digits (each as its
// whole representation: "%34", "&#52;", a full-width digit) turned into a
// single '*'.
func onlyDigitsMasked(t *testing.T, in, out string) {
	t.Helper()
	i := 0
	for j := 0; j < len(out); j++ {
		switch {
		case i < len(in) && out[j] == in[i]:
			i++
		case out[j] == '*' && i < len(in):
			kind, _, end := token(in, i, true)
			if kind != tokDigit {
				kind, _, end = token(in, i, false)
			}
			if kind != tokDigit {
				t.Fatalf("MaskAll turned a byte that is no digit into '*' at %d", i)
			}
			i = end
		default:
			t.Fatalf("MaskAll changed the text at %d", i)
		}
	}
	if i != len(in) {
		t.Fatalf("MaskAll dropped the end of the text")
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"card_number":                   "card_number",
		"a\x01b\nc\xffd":                "a?b?c?d",
		strings.Repeat("x", 200):        strings.Repeat("x", 128) + "…",
		"gateway_info.card_number[0]ü€": "gateway_info.card_number[0]ü€",
	} {
		if got := Printable(in, 128); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

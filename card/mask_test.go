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

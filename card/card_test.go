package card

import (
	"strings"
	"testing"
)

func TestLuhn(t *testing.T) {
	cases := map[string]bool{
		"4111111111111111":    true,
		"4111111111111112":    false,
		"5500000000000004":    true,
		"374500000000015":     true,
		"6799990000000000011": true,
		"0":                   true,
		"":                    false,
		"41111x1111111111":    false,
	}
	for in, want := range cases {
		if got := Luhn(in); got != want {
			t.Errorf("Luhn(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestLuhnDigit(t *testing.T) {
	for _, pan := range []string{"4111111111111111", "5500000000000004", "374500000000015", "6799990000000000011"} {
		if got := LuhnDigit(pan[:len(pan)-1]); got != pan[len(pan)-1] {
			t.Errorf("LuhnDigit(%s…) = %c, want %c", pan[:6], got, pan[len(pan)-1])
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, out string
		ok      bool
	}{
		{"4111 1111 1111 1111", "4111111111111111", true},
		{"4111-1111-1111-1111", "4111111111111111", true},
		{"4111111111111111", "4111111111111111", true},
		{"4111.1111", "", false},
		{"  ", "", false},
		{"", "", false},
		{"4111\t1111", "", false},
	}
	for _, c := range cases {
		out, ok := Normalize(c.in)
		if out != c.out || ok != c.ok {
			t.Errorf("Normalize(%q) = %q,%v want %q,%v", c.in, out, ok, c.out, c.ok)
		}
	}
}

func TestDetectBrands(t *testing.T) {
	cases := []struct {
		pan   string
		brand Brand
	}{
		// MultiSafepay test cards (shared/reference/psp.md)
		{"4111111111111111", Visa},
		{"4761340000000019", Visa},
		{"5500000000000004", Mastercard},
		{"374500000000015", Amex},
		{"6799990000000000011", Maestro},
		{"4917300000000008", Visa},
		{"4012001037461114", Visa},
		{"374200000000004", Amex},
		// well-known scheme test numbers
		{"4222222222222", Visa},          // 13-digit Visa
		{"2223000048400011", Mastercard}, // 2-series
		{"6011111111111117", Discover},
		{"6445644564456445", Discover},
		{"3530111333300000", JCB},
		{"6200000000000005", UnionPay},
		{"30569309025904", Diners},
		{"36006666333344", Diners},
		{"6703444444444449", Bancontact},
	}
	for _, c := range cases {
		pan, b, ok := Detect(c.pan)
		if !ok || b != c.brand || pan != c.pan {
			t.Errorf("Detect(%s) = %v,%v want %v", mask(c.pan), b, ok, c.brand)
		}
	}
}

func TestDetectOverlaps(t *testing.T) {
	// Longest prefix first: Bancontact 479658 inside Visa, Discover 622126–622925
	// inside UnionPay 62.
	withCheck := func(payload string) string { return payload + string(LuhnDigit(payload)) }
	bc := withCheck("479658000000000")
	if b := BrandOf(bc); b != Bancontact {
		t.Errorf("479658… = %v, want bancontact", b)
	}
	d := withCheck("622126000000000")
	if b := BrandOf(d); b != Discover {
		t.Errorf("622126… = %v, want discover", b)
	}
	u := withCheck("622000000000000")
	if b := BrandOf(u); b != UnionPay {
		t.Errorf("622000… = %v, want unionpay", b)
	}
	u2 := withCheck("622926000000000")
	if b := BrandOf(u2); b != UnionPay {
		t.Errorf("622926… = %v, want unionpay", b)
	}
}

func TestDetectRejects(t *testing.T) {
	for _, s := range []string{
		"4111111111111112",     // Luhn fails
		"41111111111",          // 11 digits
		"41111111111111111111", // 20 digits
		"9111111111111111",     // Luhn-valid? no known IIN either way
		"0000000000000000",     // Luhn-valid, no IIN
		"4111111111111111a",    // junk
		"41111111111111",       // 14-digit Visa is not issued
		"5100000000000000000",  // 19-digit Mastercard is not issued
		"hello",                //
		"12345678901234567890123456789012345678901234", // too long before normalising
	} {
		if _, _, ok := Detect(s); ok {
			t.Errorf("Detect(%q) accepted", mask(s))
		}
	}
	// Separators: as typed.
	if pan, _, ok := Detect("4111 1111 1111 1111"); !ok || pan != "4111111111111111" {
		t.Errorf("spaces not accepted")
	}
	if pan, _, ok := Detect("3745-000000-00015"); !ok || pan != "374500000000015" {
		t.Errorf("dashes not accepted")
	}
}

func TestDisplay(t *testing.T) {
	if got := Last4("4111111111111111"); got != "1111" {
		t.Errorf("Last4 = %s", got)
	}
	if got := BIN("4111111111111111"); got != "41111111" {
		t.Errorf("BIN(16) = %s", got)
	}
	if got := BIN("374500000000015"); got != "374500" {
		t.Errorf("BIN(15) = %s", got)
	}
	for s, want := range map[string]bool{"123": true, "1234": true, "12": false, "12345": false, "12a": false, "١٢٣": false, "": false} {
		if ValidCVC(s) != want {
			t.Errorf("ValidCVC(%q) = %v", s, !want)
		}
	}
	if m := MetaOf("4111111111111111"); m != (Meta{Brand: Visa, Last4: "1111", BIN: "41111111"}) {
		t.Errorf("MetaOf = %+v", m)
	}
	if CVCLen(Amex) != 4 || CVCLen(Visa) != 3 {
		t.Error("CVCLen")
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"4111 1111 1111 1111", "374500000000015", "", "6703-4444"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pan, b, ok := Detect(s)
		if !ok {
			return
		}
		if !Luhn(pan) || len(pan) < MinLen || len(pan) > MaxLen || b == Unknown {
			t.Fatalf("Detect accepted an invalid number of length %d", len(pan))
		}
	})
}

// mask shows a PAN in test messages: all but the last four digits hidden.
func mask(pan string) string {
	if len(pan) <= 4 {
		return strings.Repeat("*", len(pan))
	}
	return strings.Repeat("*", len(pan)-4) + pan[len(pan)-4:]
}

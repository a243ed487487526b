package textscan

import "testing"

func TestCVCInText(t *testing.T) {
	for s, want := range map[string]bool{
		`cvc=739`: true, `{"cvv": "1234"}`: true, `<cvc>739</cvc>`: true, `CVC2: 123`: true, `cvv2=123`: true,
		`security code 739`: true, `card_code=123`: true, `verification_value="123"`: true,
		`cvc=73`: false, `cvc=73912`: false, `rcvd: 1234`: false, `postcode 1234`: false, `zip code: 1234`: false,
		`amount=739`: false, `cv.pdf 123`: false,
	} {
		if got := CVCByName(s); got != want {
			t.Errorf("CVCByName(%q) = %v, want %v", s, got, want)
		}
	}
	for s, want := range map[string]bool{
		"x 0123456789011111 y": true, "0123-4567-8901-1111": true, "10123456789011111": false,
		"a=0400000000001234;": true, "0400 000": false, "0123456789080": false, // passes Luhn: no token
	} {
		if got := PreservingRun(s, false); got != want {
			t.Errorf("PreservingRun(%q) = %v, want %v", s, got, want)
		}
	}
}

package token

import (
	"net/http"
	"testing"

	"github.com/cardproxy/cardproxy/card"
)

func TestShapes(t *testing.T) {
	pan, err := NewOpaque(PANPrefix)
	if err != nil {
		t.Fatal(err)
	}
	cvc, _ := NewOpaque(CVCPrefix)
	if !IsPAN(pan) || IsCVC(pan) || !IsCVC(cvc) || IsPAN(cvc) || !Is(pan) || Is(pan+"x") {
		t.Errorf("opaque shapes: %s %s", pan, cvc)
	}
	if !Contains("x="+pan+"&y") || Contains("cp_pan_short") {
		t.Error("Contains")
	}
	for _, p := range []string{"4111111111111111", "378282246310005", "6799990000000000011", "412345678903"} {
		for range 50 {
			tok, err := NewPreserving(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(tok) != len(p) || tok[0] != '0' || card.Luhn(tok) || card.Last4(tok) != card.Last4(p) || !IsPreserving(tok) {
				t.Fatalf("preserving token %s for a %d-digit PAN", tok, len(p))
			}
		}
	}
	if IsPreserving("4111111111111111") || IsPreserving("0000000000000000") || IsPreserving("01234") {
		t.Error("IsPreserving accepts a non-token")
	}
	for in, want := range map[string]Format{"": FormatOpaque, "opaque": FormatOpaque, "preserve_last4": FormatPreserveLast4} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, f, err)
		}
	}
	if _, err := ParseFormat("fpe"); err == nil {
		t.Error("ParseFormat accepts fpe")
	}
}

// TestStripMetaHeaders: a client cannot send the headers cardproxy vouches
// for, in any spelling, nor make a proxy drop them via Connection.
func TestStripMetaHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Cardproxy-Card-Token", "forged")
	h["Cardproxy_Card_Last4"] = []string{"1111"}
	h["CARDPROXY-TOKENIZED"] = []string{"x"}
	h.Set("Connection", "keep-alive, Cardproxy-Card-Token, cardproxy_cvc_token")
	h.Set("X-Other", "1")
	StripMetaHeaders(h)
	if len(h) != 2 || h.Get("Connection") != "keep-alive" || h.Get("X-Other") != "1" {
		t.Errorf("left %v", h)
	}
}

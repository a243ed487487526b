package vault

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// A rotation rewraps every record in batches: every token still
// detokenizes afterwards, a record sealed under the retired version no
// longer opens, a CVC written just before still works; with Index, dedupe
// starts over (a new token for a known card, both tokens good).
func TestRotate(t *testing.T) {
	keys := func(c *Config) {
		id := tenant()
		c.KVMount, c.PANKey, c.IndexKey, c.CVCKey = "kv-rot-"+id, "pan-"+id, "idx-"+id, "cvc-"+id
	}
	s := newStore(t, keys)
	ctx := context.Background()
	tenants := []string{tenant(), tenant()}
	type issued struct {
		tn  string
		tok string
		pan string
	}
	var all []issued
	for i := range 130 {
		pan := luhnPAN(fmt.Sprintf("41111111%07d", i))
		for _, tn := range tenants {
			toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: pan}})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, issued{tn, toks[0].Token, pan})
		}
	}
	old, _, err := s.kvRead(ctx, s.kvData(tenants[0], "pan", all[0].tok))
	if err != nil || !strings.HasPrefix(str(old, "ct"), "vault:v1:") {
		t.Fatalf("record before rotation: %v", err)
	}
	cvcTok, _, err := s.TokenizeCVC(ctx, tenants[0], "321")
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	res, err := s.Rotate(ctx, RotateOptions{Index: true, Batch: 100, Grace: 200 * time.Millisecond, Progress: func(l string) { progress = append(progress, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.PANVersion != 2 || res.CVCVersion != 2 || res.IndexVersion != 2 || res.Tenants != 2 || res.Records != 260 || res.Rewrapped != 260 {
		t.Fatalf("rotation: %+v", res)
	}
	if len(progress) < 6 { // 2 batches per tenant + the key lines
		t.Fatalf("progress: %q", progress)
	}
	for _, is := range all {
		c, err := s.Detokenize(ctx, is.tn, is.tok)
		if err != nil || c.PAN != is.pan {
			t.Fatalf("token after rotation: %v", err)
		}
		data, _, _ := s.kvRead(ctx, s.kvData(is.tn, "pan", is.tok))
		if !strings.HasPrefix(str(data, "ct"), "vault:v2:") {
			t.Fatal("record not rewrapped")
		}
	}
	// The record's old ciphertext (its own token, so only the key version
	// differs) no longer opens: that version is retired.
	if rec, err := s.decrypt(ctx, tenants[0], all[0].tok, str(old, "ct")); err == nil || rec.PAN != "" {
		t.Fatal("a record sealed under a retired key version opened")
	}
	if cvc, err := s.DetokenizeCVC(ctx, tenants[0], cvcTok); err != nil || cvc != "321" {
		t.Fatalf("CVC written before the rotation: %v", err)
	}
	// Dedupe starts over with the new index key; the old token still works.
	again, err := s.Tokenize(ctx, tenants[0], token.FormatOpaque, []card.Card{{PAN: all[0].pan}})
	if err != nil || again[0].Reused || again[0].Token == all[0].tok {
		t.Fatalf("after an index rotation: %+v %v", again, err)
	}
	if c, err := s.Detokenize(ctx, tenants[0], again[0].Token); err != nil || c.PAN != all[0].pan {
		t.Fatalf("new token: %v", err)
	}
	// A second rotation without Index keeps dedupe.
	if _, err := s.Rotate(ctx, RotateOptions{Grace: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if again2, err := s.Tokenize(ctx, tenants[0], token.FormatOpaque, []card.Card{{PAN: all[0].pan}}); err != nil || again2[0].Token != again[0].Token {
		t.Fatalf("dedupe after a rotation without the index key: %v", err)
	}
}

// luhnPAN completes 15 digits with a Luhn check digit.
func luhnPAN(p string) string {
	for d := '0'; d <= '9'; d++ {
		if card.Luhn(p + string(d)) {
			return p + string(d)
		}
	}
	panic("no check digit")
}

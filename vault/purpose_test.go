package vault

import (
	"context"
	"errors"
	"testing"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// A token bound to a purpose detokenizes only for an egress to one of its
// upstreams; the sealed copy of the purpose decides (editing the record's
// clear field changes nothing); dedupe keeps purposes apart.
func TestPurposeBinding(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	c := []card.Card{{PAN: "4111111111111111", Expiry: "12/30"}}
	pa, err := token.NewPurpose([]string{"PSP-A.example", "psp-a.example", "api.psp-a.example:8443"})
	if err != nil || pa != "api.psp-a.example:8443,psp-a.example" {
		t.Fatalf("purpose %q %v", pa, err)
	}
	pb, _ := token.NewPurpose([]string{"psp-b.example"})
	tokA, err := s.TokenizeFor(ctx, tn, token.FormatOpaque, pa, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.DetokenizeFor(ctx, tn, tokA[0].Token, "psp-a.example"); err != nil || got.PAN != c[0].PAN {
		t.Fatalf("allowed upstream: %v", err)
	}
	for _, host := range []string{"psp-b.example", "", "psp-a.example.evil", "api.psp-a.example"} {
		if _, err := s.DetokenizeFor(ctx, tn, tokA[0].Token, host); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("upstream %q: %v", host, err)
		}
	}
	if _, err := s.Detokenize(ctx, tn, tokA[0].Token); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("Detokenize without an upstream: %v", err)
	}
	// Dedupe: one token per purpose.
	again, err := s.TokenizeFor(ctx, tn, token.FormatOpaque, pa, c)
	if err != nil || again[0].Token != tokA[0].Token || !again[0].Reused {
		t.Fatalf("same card, same purpose: %+v %v", again, err)
	}
	tokB, _ := s.TokenizeFor(ctx, tn, token.FormatOpaque, pb, c)
	free, _ := s.Tokenize(ctx, tn, token.FormatOpaque, c)
	if tokB[0].Token == tokA[0].Token || free[0].Token == tokA[0].Token || free[0].Token == tokB[0].Token || tokB[0].Reused || free[0].Reused {
		t.Fatal("a card tokenized for another purpose reused a token")
	}
	if got, err := s.DetokenizeFor(ctx, tn, free[0].Token, "anything.example"); err != nil || got.PAN != c[0].PAN {
		t.Fatalf("an unbound token: %v", err)
	}
	// The record's clear purpose field is a shortcut; the sealed one decides.
	path := s.kvData(tn, "pan", tokA[0].Token)
	data, version, _ := s.kvRead(ctx, path)
	delete(data, "purpose")
	if err := s.kvWrite(ctx, path, data, version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DetokenizeFor(ctx, tn, tokA[0].Token, "psp-b.example"); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("clear purpose removed, other upstream: %v", err)
	}
	if _, err := token.NewPurpose([]string{"https://psp.example/v1"}); err == nil {
		t.Fatal("a URL accepted as a host")
	}
}

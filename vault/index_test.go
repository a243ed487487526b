package vault

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

func TestDedupe(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	a, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}, {PAN: "5500000000000004"}})
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Token != b[0].Token || !b[0].Reused {
		t.Errorf("same PAN, same tenant: different tokens")
	}
	if b[1].Token == a[0].Token {
		t.Errorf("different PAN shares a token")
	}
	c, err := s.Tokenize(ctx, tenant(), token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	if c[0].Token == a[0].Token {
		t.Errorf("token shared across tenants")
	}
	d, err := s.Tokenize(ctx, tn, token.FormatPreserveLast4, []card.Card{{PAN: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	if d[0].Token == a[0].Token || !token.IsPreserving(d[0].Token) {
		t.Errorf("format-preserving token %q", d[0].Token)
	}
}

func TestDedupeConcurrent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	const n = 16
	got := make([]string, n)
	errs := make([]error, n)
	atOnce(n, func(i int) {
		toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "6799990000000000011"}})
		if err == nil {
			got[i] = toks[0].Token
		}
		errs[i] = err
	})
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("concurrent first tokenizations disagree: %s vs %s", got[i], got[0])
		}
	}
	// Losers' records were removed: only the winner's record exists.
	keys, err := s.list(ctx, s.cfg.KVMount+"/metadata/"+tn+"/pan")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != got[0] {
		t.Fatalf("records left after the race: %d", len(keys))
	}
}

func TestDedupeSameCardData(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	a := card.Card{PAN: "4111111111111111", Expiry: "12/30", Holder: "A. Shopper"}
	first, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{a})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{a})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Token != first[0].Token || !again[0].Reused || first[0].Reused {
		t.Fatalf("identical card data: got a different token or wrong Reused (%v, %v)", first[0].Reused, again[0].Reused)
	}
}

func TestDedupeNeedsSameExpiryAndHolder(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	a := card.Card{PAN: "4111111111111111", Expiry: "12/30", Holder: "A. Shopper"}
	first, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{a})
	if err != nil {
		t.Fatal(err)
	}
	// A second caller who knows only the PAN, or the PAN with other data,
	// never gets the first token.
	others := []card.Card{
		{PAN: a.PAN},                                       // no expiry, no holder
		{PAN: a.PAN, Expiry: a.Expiry},                     // no holder
		{PAN: a.PAN, Holder: a.Holder},                     // no expiry
		{PAN: a.PAN, Expiry: "01/20", Holder: a.Holder},    // other (past) expiry
		{PAN: a.PAN, Expiry: a.Expiry, Holder: "B. Other"}, // other holder
		{PAN: a.PAN, Expiry: "1230", Holder: a.Holder},     // not normalised
		{PAN: a.PAN, Expiry: a.Expiry + "A. Shopper"},      // bytes moved across fields
	}
	toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, others)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{first[0].Token: -1}
	for i, tk := range toks {
		if j, dup := seen[tk.Token]; dup {
			t.Errorf("card %d shares a token with %d", i, j)
		}
		seen[tk.Token] = i
		if tk.Reused {
			t.Errorf("card %d marked reused", i)
		}
		got, err := s.Detokenize(ctx, tn, tk.Token)
		if err != nil || got != others[i] {
			t.Errorf("card %d: its token does not stand for what was sent (%v)", i, err)
		}
	}
	// The first record is untouched.
	got, err := s.Detokenize(ctx, tn, first[0].Token)
	if err != nil || got != a {
		t.Fatalf("first card changed: expiry %q holder %q (%v)", got.Expiry, got.Holder, err)
	}
	// And each variant dedupes against itself.
	again, err := s.Tokenize(ctx, tn, token.FormatOpaque, others)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].Token != toks[i].Token || !again[i].Reused {
			t.Errorf("variant %d did not dedupe against itself", i)
		}
	}
}

func TestDedupeConcurrentMixed(t *testing.T) {
	// Racing first tokenizations of two cards that share a PAN: each card
	// gets one token, and they differ.
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	cards := []card.Card{
		{PAN: "5500000000000004", Expiry: "03/31", Holder: "X"},
		{PAN: "5500000000000004", Expiry: "04/31", Holder: "X"},
	}
	const n = 16
	got := make([]string, n)
	errs := make([]error, n)
	atOnce(n, func(i int) {
		toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{cards[i%2]})
		if err == nil {
			got[i] = toks[0].Token
		}
		errs[i] = err
	})
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if got[i] != got[i%2] {
			t.Fatalf("concurrent tokenizations of one card disagree")
		}
	}
	if got[0] == got[1] {
		t.Fatal("cards with different expiries share a token")
	}
	for i, c := range cards {
		d, err := s.Detokenize(ctx, tn, got[i])
		if err != nil || d != c {
			t.Fatalf("card %d: wrong record after the race (%v)", i, err)
		}
	}
}

func TestIndexInputUnambiguous(t *testing.T) {
	// Different tuples never encode to the same bytes, also when bytes move
	// between fields or contain NUL.
	tuples := []struct {
		tenant string
		c      card.Card
	}{
		{"t", card.Card{PAN: "4111111111111111"}},
		{"t", card.Card{PAN: "4111111111111111", Expiry: "1/2"}},
		{"t", card.Card{PAN: "4111111111111111", Holder: "1/2"}},
		{"t", card.Card{PAN: "4111111111111111", Expiry: "1", Holder: "/2"}},
		{"t", card.Card{PAN: "4111111111111111", Expiry: "1/", Holder: "2"}},
		{"t", card.Card{PAN: "4111111111111111", Expiry: "1\x00", Holder: "2"}},
		{"t", card.Card{PAN: "4111111111111111", Expiry: "1", Holder: "\x002"}},
		{"t4", card.Card{PAN: "111111111111111"}},
		{"t\x00", card.Card{PAN: "4111111111111111"}},
	}
	for i := range tuples {
		for j := range tuples {
			if i == j {
				continue
			}
			if bytes.Equal(indexInput(scope{tenant: tuples[i].tenant}, tuples[i].c), indexInput(scope{tenant: tuples[j].tenant}, tuples[j].c)) {
				t.Errorf("tuples %d and %d encode the same", i, j)
			}
		}
	}
}

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

package vault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/faultproxy"
	"github.com/cardproxy/cardproxy/relay"
	"github.com/cardproxy/cardproxy/token"
)

// TestLostRepliesEveryWrite: for every kind of write the store makes, Vault
// commits it and the answer is lost (the proxy resets the connection). The
// store must still answer with something that works: a PAN token that
// detokenizes, a CVC token that gives the CVC once, a relay served once —
// read through a client that never saw a fault.
func TestLostRepliesEveryWrite(t *testing.T) {
	proxy := faultproxy.Start(t, srv.Addr)
	s := newStore(t, func(c *Config) { c.Address = proxy.URL() })
	direct := newStore(t)
	ctx := context.Background()
	tn := tenant()
	for _, path := range []string{"/encrypt/", "/pan/", "/idx/"} {
		for i := range 3 {
			c := card.Card{PAN: "4111111111111111", Expiry: path + string(rune('0'+i))}
			proxy.DropWriteReplies(1, path)
			toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if got, err := direct.Detokenize(ctx, tn, toks[0].Token); err != nil || got != c {
				t.Fatalf("%s: a dead token after a lost answer: %v", path, err)
			}
		}
	}
	old := asPolicies(t, s, []string{"no-export"}, func(c *Config) { c.Address = proxy.URL() })
	for _, w := range []struct {
		path  string
		store *Store
	}{{"sys/wrapping/wrap", old}, {"/cvc/", old}, {"/cvc/", s}} {
		proxy.DropWriteReplies(1, w.path)
		tok, _, err := w.store.TokenizeCVC(ctx, tn, "739")
		if err != nil {
			t.Fatalf("%s: %v", w.path, err)
		}
		if cvc, err := direct.DetokenizeCVC(ctx, tn, tok); err != nil || cvc != "739" {
			t.Fatalf("%s: CVC token does not work: %v", w.path, err)
		}
		if _, err := direct.DetokenizeCVC(ctx, tn, tok); err == nil {
			t.Fatalf("%s: CVC given twice", w.path)
		}
	}
	// The egress's use of a CVC (check-and-set of the "used" marker): its
	// answer lost, the store still hands the CVC out, once.
	tok, _, err := direct.TokenizeCVC(ctx, tn, "740")
	if err != nil {
		t.Fatal(err)
	}
	proxy.DropWriteReplies(1, "/cvc/")
	if cvc, err := s.DetokenizeCVC(ctx, tn, tok); err != nil || cvc != "740" {
		t.Fatalf("lost answer to a CVC use: %v", err)
	}
	if _, err := direct.DetokenizeCVC(ctx, tn, tok); err == nil {
		t.Fatal("CVC given twice after a lost answer to its use")
	}
	proxy.DropWriteReplies(1, "/relay/")
	id, err := s.PutRelay(ctx, tn, relay.Redirect{HTML: "<p>3ds</p>"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := direct.TakeRelay(ctx, tn, id); err != nil || r.HTML != "<p>3ds</p>" {
		t.Fatalf("relay after a lost answer: %v", err)
	}
	if st := proxy.Stats(); st.Dropped != 14 {
		t.Errorf("%d answers lost, want 14", st.Dropped)
	}
}

// TestUnwrapNeverSentTwice: an unwrap whose answer is lost has used the
// wrapping token up in Vault; sending it again would answer "unknown or
// used" for a CVC nobody got. The store reports Vault unavailable instead,
// and does not send it again.
func TestUnwrapNeverSentTwice(t *testing.T) {
	proxy := faultproxy.Start(t, srv.Addr)
	s := newStore(t, func(c *Config) { c.Address = proxy.URL() })
	ctx := context.Background()
	tn := tenant()
	tok, _, err := asPolicies(t, s, []string{"no-export"}).TokenizeCVC(ctx, tn, "739") // response-wrapped
	if err != nil {
		t.Fatal(err)
	}
	before := proxy.Stats().Requests
	proxy.DropWriteReplies(1, "sys/wrapping/unwrap")
	_, err = s.DetokenizeCVC(ctx, tn, tok)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("lost unwrap answer: %v", err)
	}
	// KV read, one unwrap (the entry stays: the unwrap's outcome is unknown).
	if n := proxy.Stats().Requests - before; n != 2 {
		t.Errorf("%d requests to Vault, want 2 (the unwrap sent once)", n)
	}
}

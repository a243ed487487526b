package vault

import (
	"context"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/faultproxy"
	"github.com/cardproxy/cardproxy/token"
)

// TestDedupeCache: with dedupe_cache on, a repeat card of this process is
// answered without Vault, with the token Vault gave; anything else — another
// expiry, holder, tenant or format, a cache entry past its time, a token past
// its expiry — asks Vault. Off by default.
func TestDedupeCache(t *testing.T) {
	newStore(t) // the shared server's mounts and keys
	proxy := faultproxy.Start(t, srv.Addr)
	calls := func() int { return proxy.Stats().Requests }
	ctx := context.Background()
	tn := tenant()
	c := card.Card{PAN: "4111111111111111", Expiry: "12/30", Holder: "A"}

	off := newStore(t, func(cfg *Config) { cfg.Address = proxy.URL() })
	first, err := off.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	if err != nil {
		t.Fatal(err)
	}
	before := calls()
	if again, err := off.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c}); err != nil || again[0].Token != first[0].Token || calls() == before {
		t.Fatalf("cache off: %v, %d calls", err, calls()-before)
	}

	on := newStore(t, func(cfg *Config) { cfg.Address = proxy.URL(); cfg.DedupeCache = Duration(30 * time.Second) })
	now := time.Now()
	on.now = func() time.Time { return now }
	got, err := on.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	if err != nil || got[0].Token != first[0].Token {
		t.Fatalf("first through the cache store: %v", err)
	}
	before = calls()
	hit, err := on.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	if err != nil || hit[0].Token != first[0].Token || !hit[0].Reused || hit[0].Meta.Last4 != "1111" {
		t.Fatalf("cache hit: %+v %v", hit, err)
	}
	if n := calls() - before; n != 0 {
		t.Errorf("a cached repeat card made %d Vault calls", n)
	}
	for name, other := range map[string]func() ([]token.Issued, error){
		"expiry": func() ([]token.Issued, error) {
			return on.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: c.PAN, Expiry: "01/31", Holder: "A"}})
		},
		"holder": func() ([]token.Issued, error) {
			return on.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: c.PAN, Expiry: c.Expiry}})
		},
		"tenant": func() ([]token.Issued, error) { return on.Tokenize(ctx, tenant(), token.FormatOpaque, []card.Card{c}) },
		"format": func() ([]token.Issued, error) { return on.Tokenize(ctx, tn, token.FormatPreserveLast4, []card.Card{c}) },
		"a batch": func() ([]token.Issued, error) {
			return on.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c, {PAN: "5555555555554444"}})
		},
	} {
		before = calls()
		toks, err := other()
		if err != nil || calls() == before {
			t.Errorf("%s: answered from the cache (%v)", name, err)
		}
		if name != "a batch" && toks[0].Token == first[0].Token {
			t.Errorf("%s: got the first card's token", name)
		}
	}
	// Past the cache time: Vault again.
	now = now.Add(31 * time.Second)
	before = calls()
	if _, err := on.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c}); err != nil || calls() == before {
		t.Errorf("stale cache entry used (%v)", err)
	}
	// Never past the token's own expiry.
	on.cache.put(scope{tenant: tn}, token.FormatOpaque, c, token.Issued{Token: first[0].Token, ExpiresAt: now.Add(time.Second)}, now)
	now = now.Add(2 * time.Second)
	if _, ok := on.cache.get(scope{tenant: tn}, token.FormatOpaque, c, now); ok {
		t.Error("an expired token from the cache")
	}
}

func TestDedupeCacheBounded(t *testing.T) {
	c := newDedupeCache(time.Minute, 3)
	now := time.Now()
	exp := now.Add(time.Hour)
	for i := range 10 {
		c.put(scope{tenant: "t"}, token.FormatOpaque, card.Card{PAN: "4111111111111111", Holder: string(rune('a' + i))}, token.Issued{Token: "x", ExpiresAt: exp}, now)
		if len(c.entries) > 3 {
			t.Fatalf("%d entries, max 3", len(c.entries))
		}
	}
	if newDedupeCache(0, 3) != nil {
		t.Error("dedupe_cache 0 is not off")
	}
}

// TestDedupeCacheHitDoesNotRenew: an entry answered from the cache again and
// again still goes back to Vault dedupe_cache after Vault gave it.
func TestDedupeCacheHitDoesNotRenew(t *testing.T) {
	newStore(t) // the shared server's mounts and keys
	proxy := faultproxy.Start(t, srv.Addr)
	s := newStore(t, func(cfg *Config) { cfg.Address = proxy.URL(); cfg.DedupeCache = Duration(30 * time.Second) })
	start := time.Now()
	now := start
	s.now = func() time.Time { return now }
	ctx := context.Background()
	tn := tenant()
	c := []card.Card{{PAN: "4111111111111111"}}
	for _, at := range []time.Duration{0, 10 * time.Second, 20 * time.Second, 29 * time.Second, 31 * time.Second} {
		now = start.Add(at)
		before := proxy.Stats().Requests
		if _, err := s.Tokenize(ctx, tn, token.FormatOpaque, c); err != nil {
			t.Fatal(err)
		}
		asked := proxy.Stats().Requests > before
		if want := at == 0 || at > 30*time.Second; asked != want {
			t.Errorf("at %s: asked Vault %v, want %v", at, asked, want)
		}
	}
}

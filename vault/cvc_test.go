package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/internal/faultproxy"
	"github.com/cardproxy/cardproxy/token"
)

func TestCVCSingleUse(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	tok, exp, err := s.TokenizeCVC(ctx, tn, "123")
	if err != nil {
		t.Fatal(err)
	}
	if !token.IsCVC(tok) || time.Until(exp) > DefaultCVCTTL || time.Until(exp) < DefaultCVCTTL-time.Minute {
		t.Fatalf("cvc token %q expires %v", tok, exp)
	}
	if _, err := s.DetokenizeCVC(ctx, tenant(), tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other tenant: %v", err)
	}
	got, err := s.DetokenizeCVC(ctx, tn, tok)
	if err != nil || got != "123" {
		t.Fatalf("first use: %v", err)
	}
	if _, err := s.DetokenizeCVC(ctx, tn, tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second use: %v", err)
	}
	if _, _, err := s.TokenizeCVC(ctx, tn, "12a"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad cvc accepted: %v", err)
	}
}

func TestCVCConcurrentUseOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	tok, _, err := s.TokenizeCVC(ctx, tn, "4321")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var ok atomic.Int32
	atOnce(n, func(int) {
		if v, err := s.DetokenizeCVC(ctx, tn, tok); err == nil && v == "4321" {
			ok.Add(1)
		}
	})
	if ok.Load() != 1 {
		t.Fatalf("CVC released %d times, want exactly 1", ok.Load())
	}
}

// An unused CVC past its lifetime is refused and deleted. In the sealed
// format the egress enforces the lifetime (the entry is bound to it) and
// vault-sweep deletes entries nobody asked for; in the wrapped format Vault
// itself destroys the wrapping token.
func TestCVCGoneAfterTTL(t *testing.T) {
	root := newStore(t, func(c *Config) { c.CVCTTL = 2 * time.Second })
	old := asPolicies(t, root, []string{"no-export"}, func(c *Config) { c.CVCTTL = 2 * time.Second })
	ctx := context.Background()
	tn := tenant()
	sealed, _, err := root.TokenizeCVC(ctx, tn, "999")
	if err != nil {
		t.Fatal(err)
	}
	swept, _, err := root.TokenizeCVC(ctx, tn, "998")
	if err != nil {
		t.Fatal(err)
	}
	wrapped, _, err := old.TokenizeCVC(ctx, tn, "997")
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := root.kvRead(ctx, root.kvData(tn, "cvc", wrapped))
	if err != nil || str(data, "w") == "" || strings.Contains(fmt.Sprint(data), "997") {
		t.Fatalf("wrapped cvc entry: %v", err)
	}
	wrap := str(data, "w")
	// Wait for Vault itself to expire the wrapping token.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := root.Client().Logical().Write("sys/wrapping/lookup", map[string]any{"token": wrap})
		if err != nil {
			break // Vault no longer knows the wrapping token: the CVC is destroyed
		}
		if time.Now().After(deadline) {
			t.Fatal("wrapping token still alive 30s after a 2s TTL")
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, err := root.Client().Logical().Unwrap(wrap); err == nil {
		t.Fatal("expired wrapping token still unwraps")
	}
	for _, tok := range []string{sealed, wrapped} {
		if _, err := root.DetokenizeCVC(ctx, tn, tok); !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired CVC: %v", err)
		}
	}
	root.bg.Wait()
	if data, _, err := root.kvRead(ctx, root.kvData(tn, "cvc", sealed)); err != nil || data != nil {
		t.Fatalf("expired CVC entry still stored after it was refused: %v", err)
	}
	res, err := root.Sweep(ctx, tn)
	if err != nil || res.CVCs != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if data, _, err := root.kvRead(ctx, root.kvData(tn, "cvc", swept)); err != nil || data != nil {
		t.Fatalf("expired CVC entry still stored after the sweep: %v", err)
	}
}

// Two egress instances read one CVC token (a double-submitted payment): the
// winner uses it and its sealed version is destroyed at once; the loser is
// told "unknown or used" — not 403, not an alert — and nobody can read the
// sealed CVC back from the entry's history.
func TestCVCRaceLoserAndHistory(t *testing.T) {
	root := newStore(t)
	ctx := context.Background()
	tn := tenant()
	a, b := asPolicies(t, root, []string{PolicyDetokenize}), asPolicies(t, root, []string{PolicyDetokenize})
	var states []State
	b.OnState(func(s State, _ error) { states = append(states, s) })
	tok, _, err := root.TokenizeCVC(ctx, tn, "321")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := a.ReadCVC(ctx, tn, tok)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.ReadCVC(ctx, tn, tok)
	if err != nil {
		t.Fatal(err)
	}
	if cvc, err := ca.Use(ctx); err != nil || cvc != "321" {
		t.Fatalf("winner: %v", err)
	}
	a.bg.Wait()
	if _, err := cb.Use(ctx); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) || len(states) != 0 {
		t.Fatalf("loser: %v, state changes %v", err, states)
	}
	sec, err := root.Client().Logical().ReadWithData(root.kvData(tn, "cvc", tok), map[string][]string{"version": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	if sec != nil && sec.Data["data"] != nil {
		t.Fatal("the used CVC's sealed version is still readable")
	}
	if res, err := root.Sweep(ctx, tn); err != nil || res.CVCs != 1 {
		t.Fatalf("sweep of the used marker: %+v %v", res, err)
	}
}

// Single use rests on KV v2's check-and-set: on a mount without versions
// cardproxy refuses to release a sealed CVC.
func TestCVCNeedsKVv2(t *testing.T) {
	root := newStore(t)
	name := "kv1-" + tenant()
	if err := root.Client().Sys().Mount(name, &apiMountInputKV1); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Address: srv.Addr, Token: srv.Token, KVMount: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	tn := tenant()
	tok, _, err := s.TokenizeCVC(ctx, tn, "777")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DetokenizeCVC(ctx, tn, tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("sealed CVC on a KV v1 mount: %v", err)
	}
}

// A claim read just before its CVC expires is not used after it.
func TestCVCUseAfterExpiry(t *testing.T) {
	s := newStore(t, func(c *Config) { c.CVCTTL = time.Second })
	ctx := context.Background()
	tn := tenant()
	tok, exp, err := s.TokenizeCVC(ctx, tn, "888")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.ReadCVC(ctx, tn, tok)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(exp) + 100*time.Millisecond)
	if _, err := c.Use(ctx); !errors.Is(err, ErrExpired) {
		t.Fatalf("used after expiry: %v", err)
	}
}

// Entries of any other shape are refused, never released.
func TestCVCEntryShapes(t *testing.T) {
	root := newStore(t)
	ctx := context.Background()
	tn := tenant()
	tok, _, err := root.TokenizeCVC(ctx, tn, "246")
	if err != nil {
		t.Fatal(err)
	}
	good, _, _ := root.kvRead(ctx, root.kvData(tn, "cvc", tok))
	wtok, _, err := asPolicies(t, root, []string{"no-export"}).TokenizeCVC(ctx, tn, "135")
	if err != nil {
		t.Fatal(err)
	}
	wrapped, _, _ := root.kvRead(ctx, root.kvData(tn, "cvc", wtok))
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range good {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for name, entry := range map[string]map[string]any{
		"k=0": with("k", 0), "k=-1": with("k", -1), "k string": with("k", "1"), "k float": with("k", 1.5),
		"k=2^63": with("k", json.Number("9223372036854775808")), "no k": with("k", nil), "no c": with("c", nil),
		"no expires_at": with("expires_at", nil), "used false": with("used", false),
		"c and another entry's w": with("w", wrapped["w"]),
	} {
		other, _ := token.NewOpaque(token.CVCPrefix)
		if err := root.kvWrite(ctx, root.kvData(tn, "cvc", other), entry, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := root.DetokenizeCVC(ctx, tn, other); err == nil {
			t.Errorf("%s: released", name)
		}
	}
}

// An entry naming a key version that does not exist does not make every
// read ask Vault for the key again.
func TestCVCUnknownKeyVersionNotAmplified(t *testing.T) {
	proxy := faultproxy.Start(t, srv.Addr)
	root := newStore(t)
	s := asPolicies(t, root, []string{PolicyDetokenize}, func(c *Config) { c.Address = proxy.URL() })
	ctx := context.Background()
	tn := tenant()
	tok, _, err := root.TokenizeCVC(ctx, tn, "123")
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := root.kvRead(ctx, root.kvData(tn, "cvc", tok))
	data["k"] = 1 << 40
	if err := root.kvWrite(ctx, root.kvData(tn, "cvc", tok), data, 1); err != nil {
		t.Fatal(err)
	}
	before := proxy.Stats().Requests
	for range 20 {
		if _, err := s.ReadCVC(ctx, tn, tok); !errors.Is(err, ErrNotFound) {
			t.Fatalf("entry with key version 2^40: %v", err)
		}
	}
	if n := proxy.Stats().Requests - before; n > 22 {
		t.Errorf("%d Vault requests for 20 reads (want 20 KV reads and at most 2 key fetches)", n)
	}
}

package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

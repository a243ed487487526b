package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/token"
)

var srv *vaulttest.Server

func TestMain(m *testing.M) { vaulttest.Main(m, &srv) }

var tenantSeq atomic.Int64

func tenant() string { return fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e6, tenantSeq.Add(1)) }

func newStore(t *testing.T, mut ...func(*Config)) *Store {
	t.Helper()
	s := storeFor(t, Config{Address: srv.Addr, Token: srv.Token}, mut...)
	if err := s.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// storeFor is a store for cfg changed by mut, closed with the test.
func storeFor(t *testing.T, cfg Config, mut ...func(*Config)) *Store {
	t.Helper()
	for _, f := range mut {
		f(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestSetupIdempotent(t *testing.T) {
	s := newStore(t)
	if err := s.Setup(context.Background()); err != nil {
		t.Fatalf("second setup: %v", err)
	}
	pols, err := s.Client().Sys().ListPolicies()
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(pols, ",")
	for _, p := range []string{PolicyTokenize, PolicyDetokenize} {
		if !strings.Contains(joined, p) {
			t.Errorf("policy %s not written (have %s)", p, joined)
		}
	}
}

func TestSetupRefusesWrongMount(t *testing.T) {
	name := "wrongkv-" + tenant()
	root := newStore(t)
	if err := root.Client().Sys().Mount(name, &apiMountInputKV1); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Address: srv.Addr, Token: srv.Token, KVMount: name})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Setup(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not kv version 2") {
		t.Fatalf("setup over a KV v1 mount: %v", err)
	}
}

func TestTokenizeRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	in := []card.Card{
		{PAN: "4111111111111111", Expiry: "12/30", Holder: "A. Shopper"},
		{PAN: "374500000000015", Expiry: "2512"},
	}
	toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 {
		t.Fatalf("got %d tokens", len(toks))
	}
	for i, tk := range toks {
		if !token.IsPAN(tk.Token) {
			t.Errorf("token %d %q has the wrong shape", i, tk.Token)
		}
		if strings.Contains(tk.Token, in[i].PAN) || strings.Contains(tk.Token, card.Last4(in[i].PAN)+card.Last4(in[i].PAN)) {
			t.Errorf("token %d contains card digits", i)
		}
		if tk.Reused {
			t.Errorf("first tokenization marked reused")
		}
		got, err := s.Detokenize(ctx, tn, tk.Token)
		if err != nil {
			t.Fatal(err)
		}
		if got != in[i] {
			t.Errorf("round trip %d: got %+v", i, got.Expiry)
		}
		if tk.Meta.Last4 != card.Last4(in[i].PAN) {
			t.Errorf("meta last4 %q", tk.Meta.Last4)
		}
	}
	if toks[0].Meta.Brand != card.Visa || toks[1].Meta.Brand != card.Amex {
		t.Errorf("brands %v %v", toks[0].Meta.Brand, toks[1].Meta.Brand)
	}
	if toks[0].Token == toks[1].Token {
		t.Error("two cards share a token")
	}

	// Other tenant: not found. Garbage: not found.
	if _, err := s.Detokenize(ctx, tenant(), toks[0].Token); !errors.Is(err, ErrNotFound) {
		t.Errorf("other tenant: %v", err)
	}
	if _, err := s.Detokenize(ctx, tn, token.PANPrefix+"AAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v", err)
	}
	if _, err := s.Detokenize(ctx, tn, "../../sys/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("path-like token: %v", err)
	}
}

func TestNoCardDataInVault(t *testing.T) {
	// Read back the raw KV record: it holds ciphertext, brand and last 4 only.
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "5500000000000004", Expiry: "01/29", Holder: "Jo"}})
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := s.kvRead(ctx, s.kvData(tn, "pan", toks[0].Token))
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprint(data)
	if strings.Contains(raw, "5500000000000004") || strings.Contains(raw, "01/29") {
		t.Fatalf("KV record holds card data in clear")
	}
	if !strings.HasPrefix(str(data, "ct"), "vault:v1:") {
		t.Fatalf("record is not Transit ciphertext")
	}
	// The record is bound to its token: copied under another token it fails.
	other, _ := token.NewOpaque(token.PANPrefix)
	if err := s.kvWrite(ctx, s.kvData(tn, "pan", other), data, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Detokenize(ctx, tn, other); !errors.Is(err, ErrTampered) {
		t.Fatalf("swapped record: %v", err)
	}
	// The derived key is per tenant: the same ciphertext under another
	// tenant does not open.
	t2 := tenant()
	if err := s.kvWrite(ctx, s.kvData(t2, "pan", toks[0].Token), data, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Detokenize(ctx, t2, toks[0].Token); err == nil {
		t.Fatal("record decrypted under another tenant's key")
	}
}

func TestPreservingFormat(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	for _, pan := range []string{"4111111111111111", "374500000000015", "6799990000000000011"} {
		toks, err := s.Tokenize(ctx, tn, token.FormatPreserveLast4, []card.Card{{PAN: pan}})
		if err != nil {
			t.Fatal(err)
		}
		tk := toks[0].Token
		if len(tk) != len(pan) || card.Last4(tk) != card.Last4(pan) || card.Luhn(tk) || tk[0] != '0' {
			t.Errorf("preserving token for a %d-digit PAN has the wrong shape (len %d, luhn %v)", len(pan), len(tk), card.Luhn(tk))
		}
		if _, _, ok := card.Detect(tk); ok {
			t.Errorf("preserving token detected as a card")
		}
		got, err := s.Detokenize(ctx, tn, tk)
		if err != nil || got.PAN != pan {
			t.Errorf("detokenize preserving token: %v", err)
		}
	}
}

func TestPreservingTokensNeverLuhn(t *testing.T) {
	for i := 0; i < 2000; i++ {
		tk, err := token.NewPreserving("4111111111111111")
		if err != nil {
			t.Fatal(err)
		}
		if card.Luhn(tk) || !token.IsPreserving(tk) {
			t.Fatalf("token %d passes Luhn", i)
		}
	}
}

func TestExpiry(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	toks, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	// Move the store's clock past the token lifetime.
	s.now = func() time.Time { return time.Now().Add(DefaultTokenTTL + time.Hour) }
	if _, err := s.Detokenize(ctx, tn, toks[0].Token); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
	// Hard-deleted on the spot: gone even with the clock back.
	s.now = time.Now
	if _, err := s.Detokenize(ctx, tn, toks[0].Token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired token still stored: %v", err)
	}
	// A new tokenization of the same PAN replaces the stale index entry.
	again, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Token == toks[0].Token || again[0].Reused {
		t.Fatalf("stale index entry reused")
	}
}

func TestSweep(t *testing.T) {
	s := newStore(t, func(c *Config) { c.CVCTTL = time.Second })
	ctx := context.Background()
	tn := tenant()
	if _, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}, {PAN: "5500000000000004"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenizeCVC(ctx, tn, "123"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Sweep(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	if res != (SweepResult{}) {
		t.Fatalf("swept live data: %+v", res)
	}
	s.now = func() time.Time { return time.Now().Add(DefaultTokenTTL + time.Hour) }
	res, err = s.Sweep(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tokens != 2 || res.Index != 2 || res.CVCs != 1 {
		t.Fatalf("sweep removed %+v", res)
	}
	for _, kind := range []string{"pan", "idx/opaque", "cvc"} {
		keys, err := s.list(ctx, s.cfg.KVMount+"/metadata/"+tn+"/"+kind)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 0 {
			t.Errorf("%s: %d entries left after sweep", kind, len(keys))
		}
	}
}

func TestTenantAndFormatValidation(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, bad := range []string{"", "../x", "a/b", strings.Repeat("x", 80)} {
		if _, err := s.Tokenize(ctx, bad, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("tenant %q accepted", bad)
		}
	}
	if _, err := s.Tokenize(ctx, tenant(), token.FormatOpaque, []card.Card{{PAN: "4111111111111112"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Luhn-invalid PAN accepted")
	} else if strings.Contains(err.Error(), "4111111111111112") {
		t.Errorf("error carries the PAN")
	}
	if _, err := token.ParseFormat("weird"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestUnavailable(t *testing.T) {
	dead, err := vaulttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Address: dead.Addr, Token: dead.Token, Timeout: Duration(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	dead.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = s.Tokenize(ctx, "shop", token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("vault down: %v", err)
	}
	if strings.Contains(err.Error(), "4111") {
		t.Fatal("error carries card digits")
	}
}

func TestTokenFileReload(t *testing.T) {
	root := newStore(t)
	dir := t.TempDir()
	path := dir + "/token"
	// A token limited to the tokenize policy, as Vault Agent would write.
	sec, err := root.Client().Auth().Token().Create(&apiTokenCreate{Policies: []string{PolicyTokenize}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(sec.Auth.ClientToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Address: srv.Addr, TokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	tn := tenant()
	if _, err := s.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err != nil {
		t.Fatalf("tokenize with policy token: %v", err)
	}
	// The tokenize policy cannot detokenize.
	toks, _ := s.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if _, err := s.Detokenize(context.Background(), tn, toks[0].Token); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("tokenize-only token detokenized: %v", err)
	}
	// Rotate: revoke the old token, write a new one; the store picks it up.
	if err := root.Client().Auth().Token().RevokeTree(sec.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	sec2, err := root.Client().Auth().Token().Create(&apiTokenCreate{Policies: []string{PolicyTokenize}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(path, []byte(sec2.Auth.ClientToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "5500000000000004"}}); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

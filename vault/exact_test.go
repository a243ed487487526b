package vault

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/token"
	"github.com/hashicorp/vault/api"
)

// TestLegacyIndexRepaired: an index entry from before the exactly-once
// protocol (no "v") that points at a missing record is never handed out: the
// next tokenization issues a token that detokenizes and repairs the entry.
// One whose record is there is reused and marked trusted.
func TestLegacyIndexRepaired(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	c := card.Card{PAN: "4111111111111111", Expiry: "12/30"}
	first, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := s.indexKeys(ctx, scope{tenant: tn}, []card.Card{c})
	path := s.kvData(tn, "idx/opaque", idx[0])
	exp := time.Now().Add(time.Hour).Unix()

	// A legacy entry whose record is there: reused, then marked v2.
	_, version, _ := s.kvRead(ctx, path)
	if err := s.kvWrite(ctx, path, map[string]any{"token": first[0].Token, "expires_at": exp}, version); err != nil {
		t.Fatal(err)
	}
	again, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	if err != nil || again[0].Token != first[0].Token || !again[0].Reused {
		t.Fatalf("live legacy entry not reused: %v %+v", err, again)
	}
	if data, _, _ := s.kvRead(ctx, path); str(data, "v") != indexVersion {
		t.Errorf("legacy entry not marked: %v", data)
	}

	// A legacy entry pointing at nothing (a record lost by an older
	// cardproxy): repaired.
	dead, _ := token.NewOpaque(token.PANPrefix)
	_, version, _ = s.kvRead(ctx, path)
	if err := s.kvWrite(ctx, path, map[string]any{"token": dead, "expires_at": exp}, version); err != nil {
		t.Fatal(err)
	}
	fixed, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	if err != nil || fixed[0].Token == dead || fixed[0].Reused {
		t.Fatalf("dangling entry handed out: %v %+v", err, fixed)
	}
	if got, err := s.Detokenize(ctx, tn, fixed[0].Token); err != nil || got != c {
		t.Fatalf("repaired token does not detokenize: %v", err)
	}
	if data, _, _ := s.kvRead(ctx, path); str(data, "token") != fixed[0].Token || str(data, "v") != indexVersion {
		t.Errorf("index not repaired: %v", data)
	}
}

// TestFailoverAndCircuit: with two addresses, a dead first node costs
// nothing but a connection attempt; with every node dead, the circuit
// opens — later calls fail without touching the network — and the
// background probe closes it when a node answers again.
func TestFailoverAndCircuit(t *testing.T) {
	newStore(t) // the shared server's mounts and keys
	dead, err := vaulttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr
	dead.Stop()
	s, err := New(Config{Address: deadAddr + "," + srv.Addr, Token: srv.Token, Timeout: Duration(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var states []State
	s.OnState(func(st State, _ error) { mu.Lock(); states = append(states, st); mu.Unlock() })
	ctx := context.Background()
	tn := tenant()
	if _, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err != nil {
		t.Fatalf("second node not used: %v", err)
	}
	if s.Client().Address() != srv.Addr {
		t.Errorf("node in use %s", s.Client().Address())
	}

	// Every node down.
	one, err := vaulttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	s1, err := New(Config{Address: one.Addr, Token: one.Token, Timeout: Duration(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if err := s1.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	one.Stop()
	start := time.Now()
	_, err = s1.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	firstFail := time.Since(start)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("vault down: %v", err)
	}
	start = time.Now()
	_, err = s1.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no Vault node answers") {
		t.Fatalf("circuit not open: %v", err)
	}
	t.Logf("first failure after %s, then (circuit open) %s", firstFail, time.Since(start))
	mu.Lock()
	defer mu.Unlock()
	if len(states) != 0 {
		t.Errorf("the first store changed state: %v", states)
	}
}

// TestForbiddenIsItsOwnState: a revoked token gives ErrForbidden (wrapped in
// ErrUnavailable) and one change to StateUnauthorized, not one per call.
func TestForbiddenIsItsOwnState(t *testing.T) {
	root := newStore(t)
	ctx := context.Background()
	s, sec := storeWithToken(t, root, &apiTokenCreate{Policies: []string{PolicyTokenize}, TTL: "1h"})
	var mu sync.Mutex
	var states []State
	s.OnState(func(st State, _ error) { mu.Lock(); states = append(states, st); mu.Unlock() })
	tn := tenant()
	if _, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Client().Auth().Token().RevokeTree(sec.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
		if !errors.Is(err, ErrForbidden) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("revoked token: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(states) != 1 || states[0] != StateUnauthorized {
		t.Errorf("states %v", states)
	}
}

// TestRenewal: a renewable token with a short TTL keeps working past its
// TTL because the store renews it.
func TestRenewal(t *testing.T) {
	root := newStore(t)
	ctx := context.Background()
	s, _ := storeWithToken(t, root, &apiTokenCreate{Policies: []string{PolicyTokenize}, TTL: "3s",
		ExplicitMaxTTL: "1m", Renewable: ptr(true)})
	if on, err := s.StartRenewal(ctx); err != nil || !on {
		t.Fatalf("renewal not started: %v %v", on, err)
	}
	time.Sleep(5 * time.Second) // past the 3s TTL
	if _, err := s.Tokenize(ctx, tenant(), token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err != nil {
		t.Fatalf("token expired despite renewal: %v", err)
	}
	// A token that cannot be renewed is left alone.
	if on, _ := root.StartRenewal(ctx); on {
		t.Error("renewing the root token")
	}
}

func ptr[T any](v T) *T { return &v }

// storeWithToken is a store on the shared server with a new token made by
// root, closed when the test ends.
func storeWithToken(t *testing.T, root *Store, req *apiTokenCreate) (*Store, *api.Secret) {
	t.Helper()
	sec, err := root.Client().Auth().Token().Create(req)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Address: srv.Addr, Token: sec.Auth.ClientToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, sec
}

package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/relay"
	"github.com/cardproxy/cardproxy/token"
)

var testRelay = relay.Redirect{
	Action: "https://acs.example/challenge",
	Fields: map[string]string{"PaReq": "pareq-SECRET-4f1c", "MD": "md-SECRET-77", "TermUrl": "https://shop.example/term"},
}

func TestRelayTakeOnce(t *testing.T) {
	s, ctx, tn, id := putTestRelay(t)
	if !relay.IsID(id) {
		t.Fatalf("relay id %q has the wrong shape", id)
	}
	if _, err := s.TakeRelay(ctx, tenant(), id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other tenant: %v", err)
	}
	got, err := s.TakeRelay(ctx, tn, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Action != testRelay.Action || fmt.Sprint(got.Fields) != fmt.Sprint(testRelay.Fields) || got.HTML != "" {
		t.Fatalf("relay came back different: %+v", got)
	}
	if _, err := s.TakeRelay(ctx, tn, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second take: %v", err)
	}
	if _, err := s.TakeRelay(ctx, tn, "cp_3ds_../../x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("malformed id: %v", err)
	}
	if _, err := s.PutRelay(ctx, tn, testRelay, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero lifetime accepted: %v", err)
	}
}

func TestRelayNotInKV(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	html := "<html><form action='https://acs.example/x'><input name=creq value='creq-SECRET-91'></form></html>"
	for _, r := range []relay.Redirect{testRelay, {HTML: html}} {
		id, err := s.PutRelay(ctx, tn, r, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// The raw KV secret (data and metadata), read with the Vault client.
		sec, err := s.Client().Logical().Read(s.kvData(tn, "relay", id))
		if err != nil || sec == nil {
			t.Fatalf("raw read: %v", err)
		}
		raw := fmt.Sprint(sec.Data)
		for _, v := range []string{"SECRET", "acs.example", "shop.example", "PaReq", "<html"} {
			if strings.Contains(raw, v) {
				t.Errorf("KV entry holds relay data in clear (%q)", v)
			}
		}
		data, _ := sec.Data["data"].(map[string]any)
		if len(data) != 2 || str(data, "w") == "" || data["expires_at"] == nil {
			t.Errorf("KV entry should be just a wrapping token and expires_at, has %d fields", len(data))
		}
		got, err := s.TakeRelay(ctx, tn, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.HTML != r.HTML || got.Action != r.Action {
			t.Errorf("relay round trip changed it")
		}
	}
}

func TestRelayBoundToID(t *testing.T) {
	// A wrapping token copied under another relay id is refused.
	s, ctx, tn, id := putTestRelay(t)
	data, _, err := s.kvRead(ctx, s.kvData(tn, "relay", id))
	if err != nil || data == nil {
		t.Fatalf("relay entry: %v", err)
	}
	other, _ := token.NewOpaque(token.RelayPrefix)
	if err := s.kvWrite(ctx, s.kvData(tn, "relay", other), data, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeRelay(ctx, tn, other); !errors.Is(err, ErrTampered) {
		t.Fatalf("swapped wrapping token: %v", err)
	}
}

func TestRelayConcurrentTakeOnce(t *testing.T) {
	s, ctx, tn, id := putTestRelay(t)
	const n = 16
	var ok, notFound atomic.Int32
	errs := make([]error, n)
	atOnce(n, func(i int) {
		r, err := s.TakeRelay(ctx, tn, id)
		switch {
		case err == nil && r.Fields["PaReq"] == testRelay.Fields["PaReq"]:
			ok.Add(1)
		case errors.Is(err, ErrNotFound):
			notFound.Add(1)
		default:
			errs[i] = err
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: unexpected %v", i, err)
		}
	}
	if ok.Load() != 1 || notFound.Load() != n-1 {
		t.Fatalf("relay served %d times (%d not found), want exactly 1", ok.Load(), notFound.Load())
	}
}

func TestRelayPeek(t *testing.T) {
	s, ctx, tn, id := putTestRelay(t)
	for i := 0; i < 2; i++ {
		if err := s.PeekRelay(ctx, tn, id); err != nil {
			t.Fatalf("peek %d: %v", i, err)
		}
	}
	if err := s.PeekRelay(ctx, tenant(), id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("peek, other tenant: %v", err)
	}
	if _, err := s.TakeRelay(ctx, tn, id); err != nil {
		t.Fatalf("take after peeks: %v", err)
	}
	if err := s.PeekRelay(ctx, tn, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("peek after take: %v", err)
	}
	if err := s.PeekRelay(ctx, tn, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("peek malformed id: %v", err)
	}
}

func TestRelayExpires(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	ttl := 2 * time.Second
	ids := make([]string, 2)
	for i := range ids {
		id, err := s.PutRelay(ctx, tn, testRelay, ttl)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	data, _, err := s.kvRead(ctx, s.kvData(tn, "relay", ids[0]))
	if err != nil || data == nil {
		t.Fatalf("relay entry: %v", err)
	}
	// The wrapping token itself has the relay's lifetime.
	sec, err := s.Client().Logical().Write("sys/wrapping/lookup", map[string]any{"token": str(data, "w")})
	if err != nil {
		t.Fatal(err)
	}
	if ct := fmt.Sprint(sec.Data["creation_ttl"]); ct != "2" {
		t.Fatalf("wrapping token TTL %s, want 2", ct)
	}
	time.Sleep(3 * time.Second)
	if err := s.PeekRelay(ctx, tn, ids[0]); !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotFound) {
		t.Fatalf("peek expired relay: %v", err)
	}
	if _, err := s.TakeRelay(ctx, tn, ids[0]); !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotFound) {
		t.Fatalf("take expired relay: %v", err)
	}
	// Even ignoring cardproxy's own clock, Vault no longer serves it.
	s.now = func() time.Time { return time.Now().Add(-time.Hour) }
	if _, err := s.TakeRelay(ctx, tn, ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("relay served after Vault's wrap TTL: %v", err)
	}
}

func TestRelayWithPolicyTokens(t *testing.T) {
	// The egress (detokenize policy) stores relays, the ingress (tokenize
	// policy) peeks and takes them; neither relies on Vault's default policy.
	root := newStore(t)
	ctx := context.Background()
	as := func(policy string) *Store {
		sec, err := root.Client().Auth().Token().Create(&apiTokenCreate{Policies: []string{policy}, NoDefaultPolicy: true, TTL: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Address: srv.Addr, Token: sec.Auth.ClientToken})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	egress, ingress := as(PolicyDetokenize), as(PolicyTokenize)
	tn := tenant()
	id, err := egress.PutRelay(ctx, tn, testRelay, time.Minute)
	if err != nil {
		t.Fatalf("egress put: %v", err)
	}
	if err := ingress.PeekRelay(ctx, tn, id); err != nil {
		t.Fatalf("ingress peek: %v", err)
	}
	if _, err := egress.TakeRelay(ctx, tn, id); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("egress may not take relays: %v", err)
	}
	if r, err := ingress.TakeRelay(ctx, tn, id); err != nil || r.Action != testRelay.Action {
		t.Fatalf("ingress take: %v", err)
	}
}

// putTestRelay stores testRelay for a minute in a fresh tenant.
func putTestRelay(t *testing.T) (*Store, context.Context, string, string) {
	t.Helper()
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	id, err := s.PutRelay(ctx, tn, testRelay, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return s, ctx, tn, id
}

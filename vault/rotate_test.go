package vault

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
	s := newStore(t, isolatedKeys)
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

// isolatedKeys gives a rotation test mounts and keys of its own: a rotation
// affects every record of its KV mount and every user of its keys.
func isolatedKeys(c *Config) {
	id := tenant()
	c.KVMount, c.PANKey, c.IndexKey, c.CVCKey = "kv-rot-"+id, "pan-"+id, "idx-"+id, "cvc-"+id
}

// peer is another instance on admin's mounts and keys, reaching Vault at
// addr (a proxy in front of it, or Vault itself).
func peer(t *testing.T, admin *Store, addr string) *Store {
	c := admin.Config()
	return storeFor(t, Config{Address: addr, Token: srv.Token, KVMount: c.KVMount, PANKey: c.PANKey, IndexKey: c.IndexKey, CVCKey: c.CVCKey})
}

// A card being tokenized while vault-rotate runs (its Transit encrypt before
// the rotation, its KV write 800 ms later) still detokenizes afterwards: the
// rotation waits its grace, rewraps again and only then retires the old
// version. (From an adversarial review: without the grace it was lost.)
func TestRotateInFlightRecord(t *testing.T) {
	admin := newStore(t, isolatedKeys)
	ctx := context.Background()
	tn := tenant()
	if _, err := admin.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "5555555555554444"}}); err != nil {
		t.Fatal(err)
	}
	// The ingress's Vault is slow on record writes (800 ms): a real proxy to the real Vault.
	u, _ := url.Parse(srv.Addr)
	rp := httputil.NewSingleHostReverseProxy(u)
	encrypted := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/encrypt/") {
			rp.ServeHTTP(w, r)
			encrypted <- struct{}{}
			return
		}
		if r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/data/"+tn+"/pan/") {
			time.Sleep(800 * time.Millisecond)
		}
		rp.ServeHTTP(w, r)
	}))
	defer slow.Close()
	ing := peer(t, admin, slow.URL)
	done := make(chan []token.Issued, 1)
	go func() {
		toks, err := ing.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
		if err != nil {
			t.Error(err)
		}
		done <- toks
	}()
	<-encrypted // sealed under v1; the rotation starts now
	res, err := admin.Rotate(ctx, RotateOptions{Grace: 2 * time.Second})
	t.Logf("rotate: %+v %v", res, err)
	toks := <-done
	if len(toks) == 0 {
		t.Fatal("no token")
	}
	c, err := admin.Detokenize(ctx, tn, toks[0].Token)
	t.Logf("token issued during the rotation: detokenizes %v (%v)", c.PAN != "", err)
	if err != nil {
		t.Errorf("a token issued while vault-rotate ran (which reported success: %+v) no longer detokenizes: %v", res, err)
	}
}

// Running vault-rotate twice in a row does not retire the CVC key version an
// ingress still seals with (it keeps an exported key for keyRefresh): both
// CVCs, sealed before and just after, still open. (From an adversarial
// review: the re-run retired it.)
func TestRotateRerunKeepsCVCVersions(t *testing.T) {
	admin := newStore(t, isolatedKeys)
	ctx := context.Background()
	tn := tenant()
	ing, egr := peer(t, admin, srv.Addr), peer(t, admin, srv.Addr)
	before, _, err := ing.TokenizeCVC(ctx, tn, "123") // the ingress now holds version 1
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := admin.Rotate(ctx, RotateOptions{Grace: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	after, _, err := ing.TokenizeCVC(ctx, tn, "456") // still sealed with version 1
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{before, after} {
		if _, err := egr.DetokenizeCVC(ctx, tn, tok); err != nil {
			t.Errorf("a CVC sealed under a version an ingress still uses: %v", err)
		}
	}
}

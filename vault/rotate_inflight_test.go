package vault

import (
	"context"
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

// A card being tokenized while vault-rotate runs (its Transit encrypt before
// the rotation, its KV write 800 ms later) still detokenizes afterwards: the
// rotation waits its grace, rewraps again and only then retires the old
// version. (From an adversarial review: without the grace it was lost.)
func TestRotateInFlightRecord(t *testing.T) {
	keys := func(c *Config) {
		id := tenant()
		c.KVMount, c.PANKey, c.IndexKey, c.CVCKey = "kv-rot-"+id, "pan-"+id, "idx-"+id, "cvc-"+id
	}
	admin := newStore(t, keys)
	cfg := admin.Config()
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
	ing, err := New(Config{Address: slow.URL, Token: srv.Token, KVMount: cfg.KVMount, PANKey: cfg.PANKey, IndexKey: cfg.IndexKey, CVCKey: cfg.CVCKey})
	if err != nil {
		t.Fatal(err)
	}
	defer ing.Close()
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
	keys := func(c *Config) {
		id := tenant()
		c.KVMount, c.PANKey, c.IndexKey, c.CVCKey = "kv-rot-"+id, "pan-"+id, "idx-"+id, "cvc-"+id
	}
	admin := newStore(t, keys)
	cfg := admin.Config()
	ctx := context.Background()
	tn := tenant()
	other := func() *Store {
		s, err := New(Config{Address: srv.Addr, Token: srv.Token, KVMount: cfg.KVMount, PANKey: cfg.PANKey, IndexKey: cfg.IndexKey, CVCKey: cfg.CVCKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	ing, egr := other(), other()
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

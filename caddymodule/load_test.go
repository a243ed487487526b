package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
	"github.com/cardproxy/cardproxy/vault"
)

// Load for the fault tests: checkouts through the ingress while something
// happens to Vault, then a check of every answer against Vault itself.

// sent is one checkout and what came of it.
type sent struct {
	at, done time.Time
	pan      string
	code     int
	refusal  string // the error code of a refusal
	token    string // the PAN token the app got
	appBody  string
}

// newPAN is a fresh random Visa number.
func newPAN(rng *rand.Rand) string {
	p := fmt.Sprintf("4%014d", rng.Int63n(1e14))
	return p + string(card.LuhnDigit(p))
}

// load sends checkouts from workers until stop closes: 1 in 4 with a new
// card, the rest with one of a few repeat cards (dedupe hits).
func load(t *testing.T, hs *harness, workers int, stop <-chan struct{}) []sent {
	t.Helper()
	repeat := []string{"4111111111111111", "5555555555554444", "4012888888881881", "378282246310005"}
	var mu sync.Mutex
	var out []sent
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				pan := repeat[rng.Intn(len(repeat))]
				if rng.Intn(4) == 0 {
					pan = newPAN(rng)
				}
				s := sent{at: time.Now(), pan: pan}
				r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(`{"card_number":"`+pan+`","amount":100}`))
				r.Header.Set("Content-Type", "application/json")
				rec := &recorder{}
				rw := httptest.NewRecorder()
				_ = hs.h.ServeHTTP(rw, r, caddyhttp.HandlerFunc(rec.ServeHTTP))
				s.done, s.code, s.appBody = time.Now(), rw.Code, string(rec.body)
				if rw.Code == 200 {
					var b struct {
						CardNumber string `json:"card_number"`
					}
					_ = json.Unmarshal(rec.body, &b)
					s.token = b.CardNumber
				} else {
					var e struct{ Error string }
					_ = json.Unmarshal(rw.Body.Bytes(), &e)
					s.refusal = e.Error
				}
				mu.Lock()
				out = append(out, s)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond) // bounded load
			}
		}()
	}
	wg.Wait()
	return out
}

// verify checks every answer: a 200 carried a token (and no card data to
// the app) that detokenizes, through a Vault client of its own, to the card
// that was sent; anything else was 503 vault_unavailable. It returns the
// counts, and fails on a dead token.
func verify(t *testing.T, direct *vault.Store, tenant string, res []sent) (ok, refused int) {
	t.Helper()
	ctx := context.Background()
	dead := 0
	for _, s := range res {
		if strings.Contains(s.appBody, s.pan) {
			t.Errorf("the app got card data: %s", s.appBody)
		}
		if s.code != 200 {
			if s.code != http.StatusServiceUnavailable || s.refusal != "vault_unavailable" {
				t.Errorf("answer %d %s", s.code, s.refusal)
			}
			refused++
			continue
		}
		ok++
		c, err := direct.Detokenize(ctx, tenant, s.token)
		for try := 0; errors.Is(err, vault.ErrUnavailable) && try < 40; try++ {
			time.Sleep(250 * time.Millisecond) // the checking client waits for Vault, too
			c, err = direct.Detokenize(ctx, tenant, s.token)
		}
		if errors.Is(err, vault.ErrUnavailable) {
			t.Fatalf("cannot check the tokens: %v", err)
		}
		if err != nil || c.PAN != s.pan {
			dead++
			if dead <= 3 {
				t.Errorf("a 200 token does not detokenize (%v)", err)
			}
		}
	}
	if dead > 0 {
		t.Errorf("%d of %d tokens handed out are dead", dead, ok)
	}
	return ok, refused
}

// danglingIndex counts the tenant's dedupe entries that point at no record.
func danglingIndex(t *testing.T, direct *vault.Store, tenant string) (entries, dangling int) {
	t.Helper()
	c := direct.Client().Logical()
	kv := direct.Config().KVMount
	list, err := c.List(kv + "/metadata/" + tenant + "/idx/" + string(token.FormatOpaque))
	if err != nil || list == nil {
		t.Fatalf("list index: %v", err)
	}
	keys, _ := list.Data["keys"].([]any)
	for _, k := range keys {
		e, err := c.Read(kv + "/data/" + tenant + "/idx/opaque/" + k.(string))
		if err != nil || e == nil {
			t.Fatalf("read index entry: %v", err)
		}
		entries++
		tok, _ := e.Data["data"].(map[string]any)["token"].(string)
		rec, err := c.Read(kv + "/data/" + tenant + "/pan/" + tok)
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil || rec.Data["data"] == nil {
			dangling++
		}
	}
	return entries, dangling
}

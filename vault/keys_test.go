package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// noExportPolicy is everything the ingress and egress may do, as cardproxy
// ran before it used keys in process: Vault refuses it the key exports.
const noExportPolicy = "cardproxy-test-no-export"

// asPolicies returns a store whose Vault token has exactly these policies.
// "no-export" stands for the tokenize and detokenize policies without the
// export paths.
func asPolicies(t *testing.T, root *Store, policies []string, mut ...func(*Config)) *Store {
	t.Helper()
	for i, p := range policies {
		if p != "no-export" {
			continue
		}
		var keep []string
		for _, l := range strings.Split(root.TokenizePolicy()+root.DetokenizePolicy(), "\n") {
			if !strings.Contains(l, "/export/") {
				keep = append(keep, l)
			}
		}
		if err := root.Client().Sys().PutPolicy(noExportPolicy, strings.Join(keep, "\n")); err != nil {
			t.Fatal(err)
		}
		policies[i] = noExportPolicy
	}
	sec, err := root.Client().Auth().Token().Create(&apiTokenCreate{Policies: policies, NoDefaultPolicy: true, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	return storeFor(t, Config{Address: srv.Addr, Token: sec.Auth.ClientToken}, mut...)
}

// The index key computed in process is Transit's HMAC, byte for byte: a
// card tokenized by an instance that computes it and by one that asks
// Transit gets the same token.
func TestIndexHMACInProcessIsTransits(t *testing.T) {
	inProcess := func(c *Config) { c.IndexHMACInProcess = true }
	root := newStore(t, inProcess)
	ctx := context.Background()
	tn := tenant()
	cards := []card.Card{{PAN: "4111111111111111", Expiry: "12/30", Holder: "A B"}, {PAN: "5555555555554444"}}
	local, err := root.indexKeys(ctx, scope{tenant: tn}, cards)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cards {
		sec, err := root.Client().Logical().Write(root.cfg.TransitMount+"/hmac/"+root.cfg.IndexKey+"/sha2-256",
			map[string]any{"input": base64.StdEncoding.EncodeToString(indexInput(scope{tenant: tn}, c))})
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.SplitN(str(sec.Data, "hmac"), ":", 3)
		raw, _ := base64.StdEncoding.DecodeString(parts[2])
		if want := parts[1] + "-" + base64.RawURLEncoding.EncodeToString(raw); local[i] != want {
			t.Fatalf("card %d: in process %s, Transit %s", i, local[i], want)
		}
	}
	if root.idxKey.err != nil || root.idxKey.latest == 0 {
		t.Fatalf("the HMAC was not computed in process (%v)", root.idxKey.err)
	}
	old := asPolicies(t, root, []string{"no-export"}, inProcess)
	a, err := root.Tokenize(ctx, tn, token.FormatOpaque, cards[:1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := old.Tokenize(ctx, tn, token.FormatOpaque, cards[:1])
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Token != b[0].Token || !b[0].Reused {
		t.Fatalf("an instance without the exported key made another token: %+v %+v", a[0], b[0])
	}
	if old.idxKey.err != errNotExported {
		t.Fatalf("the no-export identity computed the HMAC in process (%v)", old.idxKey.err)
	}
}

// The CVC entry is sealed: no CVC in it, and an entry copied under another
// token or with a later expiry does not open.
func TestCVCEntrySealed(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	tok, _, err := s.TokenizeCVC(ctx, tn, "987")
	if err != nil {
		t.Fatal(err)
	}
	data, version, err := s.kvRead(ctx, s.kvData(tn, "cvc", tok))
	if err != nil || data == nil || version != 1 {
		t.Fatalf("cvc entry %v, version %d", err, version)
	}
	if strings.Contains(fmt.Sprint(data), "987") || str(data, "c") == "" || data["w"] != nil {
		t.Fatalf("cvc entry not sealed in process: keys %d", len(data))
	}
	other, _ := token.NewOpaque(token.CVCPrefix)
	if err := s.kvWrite(ctx, s.kvData(tn, "cvc", other), data, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadCVC(ctx, tn, other); !errors.Is(err, ErrTampered) {
		t.Fatalf("entry copied under another token: %v", err)
	}
	later := map[string]any{"c": data["c"], "k": data["k"], "expires_at": time.Now().Add(time.Hour).Unix()}
	if err := s.kvWrite(ctx, s.kvData(tn, "cvc", tok), later, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadCVC(ctx, tn, tok); !errors.Is(err, ErrTampered) {
		t.Fatalf("entry with a later expiry: %v", err)
	}
}

// Reading a CVC token does not use it up; of several claims exactly one
// Use succeeds.
func TestCVCReadThenUse(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tn := tenant()
	tok, _, err := s.TokenizeCVC(ctx, tn, "1234")
	if err != nil {
		t.Fatal(err)
	}
	var claims []token.CVCClaim
	for range 3 {
		c, err := s.ReadCVC(ctx, tn, tok)
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, c)
	}
	if got := fmt.Sprintf("%v %+v %#v", claims[0], claims[0], claims[0]); strings.Contains(got, "1234") {
		t.Fatalf("a claim prints its CVC: %s", got)
	}
	if cvc, err := claims[1].Use(ctx); err != nil || cvc != "1234" {
		t.Fatalf("first use: %v", err)
	}
	for _, i := range []int{0, 2, 1} {
		if _, err := claims[i].Use(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("claim %d used after another: %v", i, err)
		}
	}
	if _, err := s.ReadCVC(ctx, tn, tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read after use: %v", err)
	}
}

// With the shipped policies: the ingress seals CVCs in process and cannot
// read them back; the egress opens and uses them. Entries written by an
// identity Vault refuses the CVC key (the earlier, response-wrapped format)
// are still used by the egress, once.
func TestCVCWithPolicyTokens(t *testing.T) {
	root := newStore(t)
	ctx := context.Background()
	ingress, egress := asPolicies(t, root, []string{PolicyTokenize}), asPolicies(t, root, []string{PolicyDetokenize})
	old := asPolicies(t, root, []string{"no-export"})
	tn := tenant()
	for name, writer := range map[string]*Store{"sealed": ingress, "wrapped": old} {
		tok, _, err := writer.TokenizeCVC(ctx, tn, "4321")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, _, _ := root.kvRead(ctx, root.kvData(tn, "cvc", tok))
		if sealed := str(data, "c") != ""; sealed != (name == "sealed") {
			t.Fatalf("%s: entry format sealed=%v", name, sealed)
		}
		if _, err := ingress.ReadCVC(ctx, tn, tok); !errors.Is(err, ErrForbidden) {
			t.Fatalf("%s: the ingress reads CVC entries: %v", name, err)
		}
		if cvc, err := egress.DetokenizeCVC(ctx, tn, tok); err != nil || cvc != "4321" {
			t.Fatalf("%s: egress: %v", name, err)
		}
		if _, err := egress.DetokenizeCVC(ctx, tn, tok); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: used twice: %v", name, err)
		}
	}
	// An egress Vault refuses the CVC key cannot open a sealed CVC: it says
	// so (unavailable), it does not call the token unknown.
	tok, _, err := ingress.TokenizeCVC(ctx, tn, "555")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ReadCVC(ctx, tn, tok); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("egress without the CVC key: %v", err)
	}
}

// A rotated CVC key: an instance still holding the old versions opens an
// entry sealed with the new one (it asks Vault again at once), and raising
// the minimum decryption version retires entries sealed before it.
func TestCVCKeyRotation(t *testing.T) {
	root := newStore(t, func(c *Config) { c.CVCKey = "cvc-rot-" + tenant() })
	ctx := context.Background()
	tn := tenant()
	egress := asPolicies(t, root, []string{PolicyDetokenize}, func(c *Config) { c.CVCKey = root.cfg.CVCKey })
	oldTok, _, err := root.TokenizeCVC(ctx, tn, "111")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := egress.ReadCVC(ctx, tn, oldTok); err != nil { // the egress now holds version 1
		t.Fatal(err)
	}
	keyPath := root.cfg.TransitMount + "/keys/" + root.cfg.CVCKey
	if _, err := root.Client().Logical().Write(keyPath+"/rotate", nil); err != nil {
		t.Fatal(err)
	}
	root.now = func() time.Time { return time.Now().Add(keyRefresh) } // the ingress refreshes
	newTok, _, err := root.TokenizeCVC(ctx, tn, "222")
	if err != nil {
		t.Fatal(err)
	}
	if data, _, _ := root.kvRead(ctx, root.kvData(tn, "cvc", newTok)); fmt.Sprint(data["k"]) != "2" {
		t.Fatalf("sealed with version %v after rotation", data["k"])
	}
	if cvc, err := egress.DetokenizeCVC(ctx, tn, newTok); err != nil || cvc != "222" {
		t.Fatalf("new version: %v", err)
	}
	if _, err := root.Client().Logical().Write(keyPath+"/config", map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatal(err)
	}
	egress.now = func() time.Time { return time.Now().Add(keyRefresh) }
	if _, err := egress.ReadCVC(ctx, tn, oldTok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entry sealed with a retired version: %v", err)
	}
}

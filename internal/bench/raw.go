package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/cardproxy/cardproxy/vault"
)

// The raw-Vault scenarios: each Vault operation cardproxy issues, alone,
// through the same counting proxy, with the vault api client and a
// keep-alive pool sized to the concurrency. They are the ceilings the
// cardproxy scenarios are compared with.
var rawScenarios = []Scenario{
	{Name: "kv-read", Kind: "vault", prepare: (*state).prepareKVRead, do: (*state).kvRead},
	{Name: "kv-write", Kind: "vault", do: (*state).kvWrite},
	{Name: "kv-delete", Kind: "vault", prepare: (*state).prepareKVDelete, do: (*state).kvDelete},
	{Name: "transit-hmac", Kind: "vault", do: (*state).hmac},
	{Name: "transit-encrypt", Kind: "vault", do: (*state).encrypt},
	{Name: "transit-decrypt", Kind: "vault", prepare: (*state).prepareDecrypt, do: (*state).decrypt},
	{Name: "wrap", Kind: "vault", do: (*state).wrap},
	{Name: "unwrap", Kind: "vault", prepare: (*state).prepareUnwrap, do: (*state).unwrap},
}

var (
	kvData    = vault.DefaultKVMount + "/data/" + Tenant + "-raw/"
	kvMeta    = vault.DefaultKVMount + "/metadata/" + Tenant + "-raw/"
	transit   = vault.DefaultTransitMount + "/"
	tenantCtx = base64.StdEncoding.EncodeToString([]byte(Tenant))
	// record is about the size of a sealed card record.
	record = map[string]any{
		"ct":    "vault:v1:" + strings.Repeat("A", 160),
		"brand": "visa", "last4": "1111", "format": "opaque", "expires_at": 1900000000, "created_at": 1800000000,
	}
	plaintext = base64.StdEncoding.EncodeToString([]byte(`{"t":"cp_pan_0123456789abcdefghijkl","c":{"pan":"` + testPAN + `","expiry":"2812","holder":"Jan Janssen"}}`))
)

const kvReadKeys = 64

func (s *state) prepareKVRead() error {
	var next int
	return fill(kvReadKeys, s.c, nil, s.vc, func(w *worker) error {
		s.mu.Lock()
		i := next
		next++
		s.mu.Unlock()
		_, err := w.vc.Logical().Write(kvData+"r/"+strconv.Itoa(i), map[string]any{"data": record})
		return err
	})
}

func (s *state) kvRead(w *worker) error {
	sec, err := w.vc.Logical().Read(kvData + "r/" + strconv.Itoa(w.rng.IntN(kvReadKeys)))
	if err == nil && (sec == nil || sec.Data["data"] == nil) {
		err = errors.New("kv read: no data")
	}
	return err
}

// kvWrite writes a new entry create-only (cas 0), as cardproxy writes its
// records, index entries and CVC entries; kv-delete deletes them.
func (s *state) kvWrite(w *worker) error {
	path := "w/" + strconv.FormatInt(seq.Add(1), 10)
	_, err := w.vc.Logical().Write(kvData+path, map[string]any{"data": record, "options": map[string]any{"cas": 0}})
	if err == nil {
		s.kvPaths.push(path)
	}
	return err
}

func (s *state) prepareKVDelete() error {
	return s.topUp(s.kvPaths.len, s.poolNeed("kv-write"), s.kvWrite)
}

// kvDelete hard-deletes an entry (its metadata), as cardproxy deletes a used
// CVC entry.
func (s *state) kvDelete(w *worker) error {
	path, ok := s.kvPaths.pop()
	if !ok {
		return errPoolEmpty
	}
	_, err := w.vc.Logical().Delete(kvMeta + path)
	return err
}

func (s *state) hmac(w *worker) error {
	in := base64.StdEncoding.EncodeToString([]byte(Tenant + "\x00" + newPAN(w.rng) + "\x002812\x00Jan Janssen"))
	sec, err := w.vc.Logical().Write(transit+"hmac/"+vault.DefaultIndexKey+"/sha2-256",
		map[string]any{"batch_input": []map[string]string{{"input": in}}})
	return batchField(sec, err, "hmac")
}

func (s *state) encrypt(w *worker) error {
	sec, err := w.vc.Logical().Write(transit+"encrypt/"+vault.DefaultPANKey,
		map[string]any{"batch_input": []map[string]string{{"plaintext": plaintext, "context": tenantCtx}}})
	return batchField(sec, err, "ciphertext")
}

func (s *state) prepareDecrypt() error {
	sec, err := s.vc.Logical().Write(transit+"encrypt/"+vault.DefaultPANKey,
		map[string]any{"plaintext": plaintext, "context": tenantCtx})
	if err != nil {
		return err
	}
	s.ciphertext, _ = sec.Data["ciphertext"].(string)
	return nil
}

func (s *state) decrypt(w *worker) error {
	sec, err := w.vc.Logical().Write(transit+"decrypt/"+vault.DefaultPANKey,
		map[string]any{"ciphertext": s.ciphertext, "context": tenantCtx})
	if err == nil && (sec == nil || sec.Data["plaintext"] != plaintext) {
		err = errors.New("transit decrypt: wrong plaintext")
	}
	return err
}

// batchField checks that a batch answer's first result has field.
func batchField(sec *api.Secret, err error, field string) error {
	if err != nil {
		return err
	}
	if sec != nil {
		if rs, ok := sec.Data["batch_results"].([]any); ok && len(rs) == 1 {
			if r, ok := rs[0].(map[string]any); ok && r[field] != nil {
				return nil
			}
		}
	}
	return fmt.Errorf("no %s in the answer", field)
}

// wrap stores a CVC-sized secret in a response-wrapping token with the CVC
// lifetime, as cardproxy wraps a CVC; unwrap uses those tokens up.
func (s *state) wrap(w *worker) error {
	hdr := http.Header{}
	hdr.Set("X-Vault-Wrap-TTL", "600s")
	sec, err := w.vc.Logical().WriteWithRequest(context.Background(),
		api.NewLogicalWriteRequest("sys/wrapping/wrap", map[string]any{"cvc": newCVC(w.rng)}, hdr))
	if err != nil {
		return err
	}
	if sec == nil || sec.WrapInfo == nil || sec.WrapInfo.Token == "" {
		return errors.New("wrap: no wrapping token")
	}
	s.wraps.push(sec.WrapInfo.Token)
	return nil
}

func (s *state) prepareUnwrap() error { return s.topUp(s.wraps.len, s.poolNeed("wrap"), s.wrap) }

func (s *state) unwrap(w *worker) error {
	tok, ok := s.wraps.pop()
	if !ok {
		return errPoolEmpty
	}
	sec, err := w.vc.Logical().Unwrap(tok)
	if err == nil && (sec == nil || sec.Data["cvc"] == nil) {
		err = errors.New("unwrap: no data")
	}
	return err
}

// poolNeed is how many single-use items a consumer of producer's items gets:
// as many as the producer made in its own warm-up and run (so a top-up is
// rare). A faster consumer ends early, when the items do, and says so.
func (s *state) poolNeed(producer string) int {
	rate := s.rates[producer]
	if rate == 0 {
		rate = 500
	}
	return int(rate*(s.d+s.warm).Seconds()) + 4*s.c
}

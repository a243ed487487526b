package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// Keys used in process. Two Transit keys are exported to cardproxy's memory
// so that the hot path saves a Vault round trip (docs/security.md weighs it):
//
//   - the dedupe HMAC key (index_key, "hmac-key" export), only with
//     index_hmac_in_process: the ingress computes the index key of a card
//     itself, exactly as Transit's hmac endpoint would (same key, same
//     version, same bytes), so old and new index entries are the same;
//   - the CVC key (cvc_key, "encryption-key" export): the ingress seals a CVC
//     with AES-256-GCM and stores it with one KV write; the egress opens it.
//
// Vault stays the only place the keys live: they are fetched from Transit's
// export endpoint, refreshed every keyRefresh (so a rotation reaches every
// instance), and never written anywhere. When Vault refuses the export (the
// key is not exportable, or the policy lacks the export path), cardproxy
// falls back to the Vault round trips it made before (Transit hmac; a
// response-wrapped CVC), and asks again after keyRefresh.

// keyRefresh is how long fetched key material (or a refusal to export it) is
// used before Vault is asked again.
const keyRefresh = 5 * time.Minute

// errNotExported: Vault will not export the key to this identity.
var errNotExported = errors.New("vault: key not exported to cardproxy")

// exportedKey is one Transit key's material as last fetched.
type exportedKey struct {
	path string // <transit>/export/<type>/<name>

	mu       sync.Mutex
	versions map[int][]byte
	latest   int
	err      error // errNotExported, or nil
	at       time.Time
	asked    time.Time // last fetch for a newer version than known
}

// Format prints no key material, whatever the verb.
func (k *exportedKey) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "vault.exportedKey{%s}", k.path) }

// minKeyLen is the shortest key accepted from an export: AES-256 keys are
// 32 bytes, Transit HMAC keys 32 to 512.
const minKeyLen = 32

// newExportedKey returns nil when the key is not to be used in process.
func newExportedKey(transitMount, kind, name string, use bool) *exportedKey {
	if !use {
		return nil
	}
	return &exportedKey{path: transitMount + "/export/" + kind + "/" + name}
}

// material returns the key's versions and its latest version. need > 0 asks
// for that version: when it is newer than what was fetched (another instance
// already uses a rotated key), Vault is asked again at once. It returns
// errNotExported when Vault refuses to export the key, and ErrUnavailable
// when Vault cannot be asked.
func (s *Store) material(ctx context.Context, k *exportedKey, need int) (map[int][]byte, int, error) {
	if k == nil {
		return nil, 0, errNotExported
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := s.now()
	fresh := !k.at.IsZero() && now.Sub(k.at) < keyRefresh
	// A newer version than known (another instance uses a rotated key) is
	// asked for at most once a second: an entry naming a version that does
	// not exist must not turn every read into an export.
	if fresh && (k.err != nil || need <= k.latest || now.Sub(k.asked) < time.Second) {
		return k.versions, k.latest, k.err
	}
	if fresh {
		k.asked = now
	}
	sec, err := s.read(ctx, k.path)
	switch {
	case err != nil && (isForbidden(err) || isBadRequest(err)):
		// 403: the policy lacks the export path; 400: "private key
		// material is not exportable". Vault answered: remember it.
		k.versions, k.latest, k.err, k.at = nil, 0, errNotExported, now
		return nil, 0, errNotExported
	case err != nil:
		return nil, 0, unavailable("export key", err) // not remembered: ask again next time
	}
	versions, latest, perr := parseExport(sec)
	if perr != nil {
		return nil, 0, perr
	}
	k.versions, k.latest, k.err, k.at = versions, latest, nil, now
	return versions, latest, nil
}

// parseExport reads Transit's export answer: {"keys": {"1": base64, …}}.
func parseExport(sec *api.Secret) (map[int][]byte, int, error) {
	if sec == nil || sec.Data == nil {
		return nil, 0, errNotExported // no such key
	}
	raw, _ := sec.Data["keys"].(map[string]any)
	versions := make(map[int][]byte, len(raw))
	latest := 0
	for v, b64 := range raw {
		n, err := strconv.Atoi(v)
		s, _ := b64.(string)
		key, kerr := base64.StdEncoding.DecodeString(s)
		if err != nil || n < 1 || kerr != nil || len(key) < minKeyLen {
			return nil, 0, fmt.Errorf("%w: export key: unexpected answer", ErrUnavailable)
		}
		versions[n] = key
		latest = max(latest, n)
	}
	if latest == 0 {
		return nil, 0, fmt.Errorf("%w: export key: no key versions", ErrUnavailable)
	}
	return versions, latest, nil
}

package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// A CVC entry, <kv>/data/<tenant>/cvc/<token>, is written once (create-only)
// and used up once:
//
//	{"c": AES-256-GCM(CVC), "k": cvc_key version, "expires_at": …}   unused
//	{"used": <claim id>}                                              used (a newer version)
//
// The CVC is sealed in process with the exported CVC key (keys.go), bound to
// its tenant, token and expiry (the GCM additional data), so a copied or
// edited entry does not open. Using it is a check-and-set write of the "used"
// marker over the version that was read: Vault accepts exactly one such write,
// so across all instances a CVC is released once. The version that holds the
// sealed CVC is destroyed right after use, in the background; the marker
// stays until `cardproxy vault-sweep`, which also deletes unused entries past
// their expiry (the egress refuses those).
//
// When Vault will not export the CVC key, the ingress falls back to the
// earlier format, {"w": response-wrapping token of the CVC, "expires_at"},
// which the egress still reads (entries written before an upgrade stay
// usable). The sealed format needs the CVC key and policy that vault-init
// writes: upgrade every instance before re-running vault-init, since an egress
// of an earlier release cannot read it.

// TokenizeCVC stores a CVC for single use: one Vault write.
func (s *Store) TokenizeCVC(ctx context.Context, tenant, cvc string) (string, time.Time, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !ValidTenant(tenant) {
		return "", time.Time{}, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !card.ValidCVC(cvc) {
		return "", time.Time{}, fmt.Errorf("%w: a CVC is 3 or 4 digits", ErrInvalid)
	}
	tok, err := token.NewOpaque(token.CVCPrefix)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(s.cfg.CVCTTL)
	var entry map[string]any
	keys, latest, err := s.material(ctx, s.cvcKey, 0)
	switch {
	case err == nil:
		sealed, err := sealCVC(keys[latest], cvcAAD(tenant, tok, exp.Unix()), cvc)
		if err != nil {
			return "", time.Time{}, err
		}
		entry = map[string]any{"c": sealed, "k": latest, "expires_at": exp.Unix()}
	case errors.Is(err, errNotExported):
		w, err := s.wrap(ctx, "wrap cvc", map[string]any{"cvc": cvc}, s.cfg.CVCTTL)
		if err != nil {
			return "", time.Time{}, err
		}
		entry = map[string]any{"w": w, "expires_at": exp.Unix()}
	default:
		return "", time.Time{}, err
	}
	ours := sameField(entry, "c")
	if _, ok := entry["w"]; ok {
		ours = sameField(entry, "w")
	}
	if _, _, err := s.kvPut(ctx, s.kvData(tenant, "cvc", tok), entry, 0, ours); err != nil {
		return "", time.Time{}, unavailable("write cvc token", err)
	}
	return tok, exp, nil
}

// DetokenizeCVC reads a CVC token and uses it up at once (ReadCVC, then Use).
func (s *Store) DetokenizeCVC(ctx context.Context, tenant, tok string) (string, error) {
	c, err := s.ReadCVC(ctx, tenant, tok)
	if err != nil {
		return "", err
	}
	return c.Use(ctx)
}

// ReadCVC finds a CVC token without using it up: one KV read. Used,
// expired, unknown and other-tenant tokens all give an error (ErrNotFound,
// ErrExpired); a sealed CVC that does not open gives ErrTampered.
func (s *Store) ReadCVC(ctx context.Context, tenant, tok string) (token.CVCClaim, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !ValidTenant(tenant) {
		return nil, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !token.IsCVC(tok) {
		return nil, ErrNotFound
	}
	path := s.kvData(tenant, "cvc", tok)
	data, version, err := s.kvRead(ctx, path)
	if err != nil {
		return nil, unavailable("read cvc token", err)
	}
	if data == nil || data["used"] != nil {
		return nil, ErrNotFound
	}
	exp := expiresAt(data)
	if !s.now().Before(exp) {
		s.cleanup(s.kvMeta(tenant, "cvc", tok))
		return nil, ErrExpired
	}
	claim := &cvcClaim{s: s, tenant: tenant, tok: tok, version: version, exp: exp, wrapped: str(data, "w")}
	switch {
	case claim.wrapped != "" && data["c"] != nil:
		return nil, fmt.Errorf("%w: cvc entry in two formats", ErrTampered)
	case claim.wrapped != "":
		return claim, nil
	case version < 1:
		// Single use rests on KV v2's check-and-set over this version.
		return nil, fmt.Errorf("%w: cvc entry without a KV v2 version (is %s a KV version 2 mount?)", ErrUnavailable, s.cfg.KVMount)
	}
	k, _ := data["k"].(json.Number)
	kv, kerr := k.Int64()
	if kerr != nil || kv < 1 {
		return nil, fmt.Errorf("%w: cvc entry", ErrTampered)
	}
	keys, _, err := s.material(ctx, s.cvcKey, int(kv))
	if errors.Is(err, errNotExported) {
		return nil, fmt.Errorf("%w: the CVC key is not exported to this identity (cardproxy vault-init writes the policy)", ErrUnavailable)
	}
	if err != nil {
		return nil, err
	}
	key, ok := keys[int(kv)]
	if !ok {
		// A key version this identity cannot have (retired, or never made):
		// the CVC cannot be opened any more — unknown, not tampered.
		return nil, ErrNotFound
	}
	cvc, err := openCVC(key, cvcAAD(tenant, tok, exp.Unix()), str(data, "c"))
	if err != nil {
		return nil, err
	}
	claim.cvc = cvc
	return claim, nil
}

// cvcClaim is one read of a CVC entry. It never prints the CVC.
type cvcClaim struct {
	s           *Store
	tenant, tok string
	version     int
	exp         time.Time
	wrapped     string // earlier format: the wrapping token to unwrap
	cvc         string
	used        bool
}

func (c *cvcClaim) Format(f fmt.State, _ rune) { fmt.Fprint(f, "vault.cvcClaim{…}") }

// Use uses the CVC up and returns it. A claim is used once.
func (c *cvcClaim) Use(ctx context.Context) (string, error) {
	if c.used {
		return "", ErrNotFound
	}
	c.used = true
	if !c.s.now().Before(c.exp) {
		return "", ErrExpired // it expired since it was read
	}
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	meta := c.s.kvMeta(c.tenant, "cvc", c.tok)
	if c.wrapped != "" {
		// Vault's single unwrap makes it single use; the entry is removed
		// afterwards (and left for a retry when the unwrap failed without
		// using the token up).
		data, err := c.s.unwrap(ctx, "unwrap cvc", c.wrapped)
		if err == nil || errors.Is(err, ErrNotFound) {
			c.s.cleanup(meta)
		}
		if err != nil {
			return "", err
		}
		cvc := str(data, "cvc")
		if !card.ValidCVC(cvc) {
			return "", ErrNotFound
		}
		return cvc, nil
	}
	id, err := token.NewOpaque("")
	if err != nil {
		return "", err
	}
	marker := map[string]any{"used": id}
	// Check-and-set over the version read: one writer wins. A write whose
	// answer was lost is resolved by reading the marker back (kvPut).
	_, _, err = c.s.kvPut(ctx, c.s.kvData(c.tenant, "cvc", c.tok), marker, c.version, sameField(marker, "used"))
	switch {
	case errors.Is(err, errTaken):
		return "", ErrNotFound
	case err != nil:
		return "", unavailable("use cvc token", err)
	}
	// The sealed CVC is destroyed now, in the background (the PSP call
	// takes longer); the marker stays, so a later claim's check-and-set
	// loses, until vault-sweep removes it.
	destroy := c.s.cfg.KVMount + "/destroy/" + c.tenant + "/cvc/" + c.tok
	version := c.version
	c.s.background(func(ctx context.Context) error {
		_, err := c.s.write(ctx, destroy, map[string]any{"versions": []int{version}})
		return err
	})
	return c.cvc, nil
}

// cvcAAD binds a sealed CVC to where it is stored and until when it is good.
func cvcAAD(tenant, tok string, exp int64) []byte {
	b := []byte("cardproxy-cvc/1")
	for _, f := range []string{tenant, tok} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return binary.BigEndian.AppendUint64(b, uint64(exp))
}

func sealCVC(key, aad []byte, cvc string) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(cvc)+gcm.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(cvc), aad)), nil
}

func openCVC(key, aad []byte, sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	gcm, gerr := newGCM(key)
	if err != nil || gerr != nil || len(raw) < gcm.NonceSize() {
		return "", fmt.Errorf("%w: cvc entry", ErrTampered)
	}
	n := gcm.NonceSize()
	plain, err := gcm.Open(nil, raw[:n], raw[n:], aad)
	if err != nil || !card.ValidCVC(string(plain)) {
		return "", fmt.Errorf("%w: cvc entry", ErrTampered)
	}
	return string(plain), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: cvc key", ErrUnavailable)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

package vault

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// dedupeCache answers a repeat card without Vault: a short-lived, bounded map
// from a card (tenant, format, PAN, expiry, holder) to the token Vault's
// dedupe index gave for it. It is never authoritative — a miss asks Vault,
// every entry came from Vault, and an entry lives at most DedupeCache
// (default 30s) and never past its token's expiry — so several instances
// agree (they all get Vault's one token for a card). Its keys are HMACs under
// a random key drawn at start-up and never stored: they name no card outside
// this process. What a memory dump of the process could recover is in
// docs/security.md.
type dedupeCache struct {
	ttl time.Duration
	max int
	key [32]byte

	mu      sync.Mutex
	entries map[[32]byte]cached
}

type cached struct {
	issued token.Issued
	until  time.Time
}

func newDedupeCache(ttl time.Duration, max int) *dedupeCache {
	if ttl <= 0 {
		return nil
	}
	c := &dedupeCache{ttl: ttl, max: max, entries: map[[32]byte]cached{}}
	if _, err := rand.Read(c.key[:]); err != nil {
		return nil // no cache rather than a predictable key
	}
	return c
}

func (c *dedupeCache) keyOf(sc scope, format token.Format, cd card.Card) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(format))
	m.Write([]byte{0})
	m.Write(indexInput(sc, cd)) // length-prefixed: unambiguous
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// get returns the cached token of a card, if any and still good at now.
func (c *dedupeCache) get(sc scope, format token.Format, cd card.Card, now time.Time) (token.Issued, bool) {
	if c == nil {
		return token.Issued{}, false
	}
	k := c.keyOf(sc, format, cd)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.until) || !now.Before(e.issued.ExpiresAt) {
		delete(c.entries, k)
		return token.Issued{}, false
	}
	return e.issued, true
}

// put remembers the token Vault gave for a card. When full, it first drops
// what has run out, then (still full) everything: the cache is only a
// shortcut.
func (c *dedupeCache) put(sc scope, format token.Format, cd card.Card, t token.Issued, now time.Time) {
	if c == nil {
		return
	}
	k := c.keyOf(sc, format, cd)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for ek, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, ek)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	t.Reused = true
	c.entries[k] = cached{issued: t, until: now.Add(c.ttl)}
}

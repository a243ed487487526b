package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// Tokenize stores cards for tenant and returns one token per card, in order.
// The same card data — PAN, expiry and holder, exactly as given — per tenant
// and format always yields the same live token, also when several requests
// tokenize it at once. The same PAN with another expiry or holder (or none)
// gets a token of its own and leaves the earlier record untouched: knowing a
// PAN is not enough to obtain, or complete, a token someone else created.
// All Transit work is batched.
//
// Every token it returns detokenizes: records are written before the index
// entry that points at them (and removed after it), a write whose answer was
// lost is read back instead of guessed (kvPut), and an index entry that
// points at a missing record is repaired, never handed out.
func (s *Store) Tokenize(ctx context.Context, tenant string, format token.Format, cards []card.Card) ([]token.Issued, error) {
	return s.TokenizeFor(ctx, tenant, format, "", cards)
}

// TokenizeFor is Tokenize for tokens bound to a purpose (token.Purpose):
// only an egress to one of its upstreams may detokenize them, and dedupe
// gives the same card another token under another purpose.
func (s *Store) TokenizeFor(ctx context.Context, tenant string, format token.Format, purpose token.Purpose, cards []card.Card) ([]token.Issued, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	now := s.now()
	sc := scope{tenant, purpose}
	if out, ok := s.fromCache(sc, format, cards, now); ok {
		// Every card a repeat this process saw within dedupe_cache: no
		// Vault call. A hit does not renew an entry, so none outlives
		// dedupe_cache from when Vault last gave it.
		return out, nil
	}
	out, err := s.tokenize(ctx, sc, format, cards, 0)
	if err == nil {
		for i := range out {
			s.cache.put(sc, format, cards[i], out[i], now)
		}
	}
	return out, err
}

// scope is what dedupe keeps apart: a tenant's tokens of one purpose.
type scope struct {
	tenant  string
	purpose token.Purpose
}

// fromCache is every card's token from the dedupe cache, when it knows
// them all.
func (s *Store) fromCache(sc scope, format token.Format, cards []card.Card, now time.Time) ([]token.Issued, bool) {
	if s.cache == nil || len(cards) == 0 {
		return nil, false
	}
	out := make([]token.Issued, len(cards))
	for i, c := range cards {
		t, ok := s.cache.get(sc, format, c, now)
		if !ok {
			return nil, false
		}
		t.Meta = card.MetaOf(c.PAN)
		out[i] = t
	}
	return out, true
}

// maxDraws bounds the retries after a random token collided with an existing
// one (possible only for short format-preserving tokens) or a claim lost a
// race twice.
const maxDraws = 5

// indexVersion marks index entries written under the exactly-once protocol:
// their record was written (and verified) first, so they are trusted without
// reading the record. Entries without it (older cardproxy) are checked.
const indexVersion = "2"

func (s *Store) tokenize(ctx context.Context, sc scope, format token.Format, cards []card.Card, draw int) ([]token.Issued, error) {
	tenant := sc.tenant
	if !ValidTenant(tenant) {
		return nil, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if format != token.FormatOpaque && format != token.FormatPreserveLast4 {
		return nil, fmt.Errorf("%w: token format", ErrInvalid)
	}
	if len(cards) == 0 {
		return nil, nil
	}
	for i, c := range cards {
		if !card.Valid(c.PAN) {
			return nil, fmt.Errorf("%w: card %d is not a Luhn-valid 12–19 digit number", ErrInvalid, i)
		}
	}
	out := make([]token.Issued, len(cards))
	now := s.now()
	idx, err := s.indexKeys(ctx, sc, cards)
	if err != nil {
		return nil, err
	}

	// 1. Look up existing tokens.
	type pending struct {
		i          int
		idxVersion int // 0: index absent; >0: present but stale or dangling
	}
	var todo []pending
	for i := range cards {
		path := s.kvData(tenant, "idx/"+string(format), idx[i])
		data, version, err := s.kvRead(ctx, path)
		if err != nil {
			return nil, unavailable("read index", err)
		}
		if ok, err := s.liveEntry(ctx, tenant, path, data, version, now); err != nil {
			return nil, err
		} else if ok {
			out[i] = token.Issued{Token: str(data, "token"), Meta: card.MetaOf(cards[i].PAN), ExpiresAt: expiresAt(data), Reused: true}
			continue
		}
		todo = append(todo, pending{i: i, idxVersion: version})
	}
	if len(todo) == 0 {
		return out, nil
	}

	// 2. New tokens: seal the records in one batch, write them create-only,
	// then claim the index entry create-only (or over the stale version).
	tokens := make([]string, len(todo))
	newCards := make([]card.Card, len(todo))
	for j, p := range todo {
		tok, err := s.newToken(format, cards[p.i].PAN)
		if err != nil {
			return nil, err
		}
		tokens[j] = tok
		newCards[j] = cards[p.i]
	}
	cts, err := s.encrypt(ctx, sc, tokens, newCards)
	if err != nil {
		return nil, err
	}
	exp := now.Add(s.cfg.TokenTTL).Truncate(time.Second)
	for j, p := range todo {
		m := card.MetaOf(cards[p.i].PAN)
		recPath := s.kvData(tenant, "pan", tokens[j])
		rec := map[string]any{
			"ct": cts[j], "brand": string(m.Brand), "last4": m.Last4,
			"format": string(format), "expires_at": exp.Unix(), "created_at": now.Unix(),
			"idx": idx[p.i],
		}
		if sc.purpose != "" {
			rec["purpose"] = string(sc.purpose) // also sealed in ct, which is what the egress trusts
		}
		if _, _, err := s.kvPut(ctx, recPath, rec, 0, sameField(rec, "ct")); err != nil {
			if errors.Is(err, errTaken) && draw < maxDraws {
				// A random collision (possible only for short
				// format-preserving tokens): draw again. Cards already
				// indexed above are found by the index this time.
				return s.tokenize(ctx, sc, format, cards, draw+1)
			}
			return nil, unavailable("write token", err)
		}
		idxPath := s.kvData(tenant, "idx/"+string(format), idx[p.i])
		entry := map[string]any{"token": tokens[j], "expires_at": exp.Unix(), "v": indexVersion}
		stored, version, err := s.kvPut(ctx, idxPath, entry, p.idxVersion, sameField(entry, "token"))
		if err == nil {
			out[p.i] = token.Issued{Token: tokens[j], Meta: m, ExpiresAt: exp}
			continue
		}
		if !errors.Is(err, errTaken) {
			// The entry may have been written all the same (an answer lost,
			// then another error): read it back. Ours: done. Otherwise the
			// record stays — an orphan the sweep removes is harmless, a
			// record deleted under an index entry that names it is not.
			if stored, _, rerr := s.kvRead(ctx, idxPath); rerr == nil && str(stored, "token") == tokens[j] {
				out[p.i] = token.Issued{Token: tokens[j], Meta: m, ExpiresAt: exp}
				continue
			}
			return nil, unavailable("write index", err)
		}
		// Another request claimed this card first: its token, if it is live.
		if ok, lerr := s.liveEntry(ctx, tenant, idxPath, stored, version, now); lerr != nil {
			return nil, lerr
		} else if ok {
			s.dropRecord(ctx, tenant, tokens[j])
			out[p.i] = token.Issued{Token: str(stored, "token"), Meta: m, ExpiresAt: expiresAt(stored), Reused: true}
			continue
		}
		// What took its place is stale or dangling: claim it over its version.
		if _, _, err := s.kvPut(ctx, idxPath, entry, version, sameField(entry, "token")); err != nil {
			s.dropRecord(ctx, tenant, tokens[j])
			if errors.Is(err, errTaken) && draw < maxDraws {
				return s.tokenize(ctx, sc, format, cards, draw+1)
			}
			return nil, unavailable("write index", err)
		}
		out[p.i] = token.Issued{Token: tokens[j], Meta: m, ExpiresAt: exp}
	}
	return out, nil
}

// liveEntry reports whether an index entry (data, at path, version) names a
// token that can be handed out: unexpired, and — for entries older than the
// exactly-once protocol — with its record present (then the entry is marked
// trusted, best effort). A dangling entry is reported as not live, so the
// caller replaces it (repair).
func (s *Store) liveEntry(ctx context.Context, tenant, path string, data map[string]any, version int, now time.Time) (bool, error) {
	tok := str(data, "token")
	if data == nil || tok == "" || !now.Before(expiresAt(data)) {
		return false, nil
	}
	if str(data, "v") == indexVersion {
		return true, nil
	}
	rec, _, err := s.kvRead(ctx, s.kvData(tenant, "pan", tok))
	if err != nil {
		return false, unavailable("read token", err)
	}
	if rec == nil || !now.Before(expiresAt(rec)) {
		return false, nil
	}
	_ = s.kvWrite(ctx, path, map[string]any{"token": tok, "expires_at": data["expires_at"], "v": indexVersion}, version)
	return true, nil
}

// dropRecord removes a record nothing points at (best effort: a leftover is
// removed by the sweep when it expires).
func (s *Store) dropRecord(ctx context.Context, tenant, tok string) {
	_ = s.delete(ctx, s.kvMeta(tenant, "pan", tok))
}

func (s *Store) newToken(format token.Format, pan string) (string, error) {
	if format == token.FormatPreserveLast4 {
		return token.NewPreserving(pan)
	}
	return token.NewOpaque(token.PANPrefix)
}

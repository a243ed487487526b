package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cardproxy/cardproxy/card"
	"github.com/hashicorp/vault/api"
)

type hmacInput struct {
	Input string `json:"input"`
}

// indexTag starts every dedupe index input. It cannot begin an input of the
// former tenant+NUL+PAN encoding (a tenant name has no '/'), so old and new
// index entries never collide.
const indexTag = "cardproxy-idx/2"

// indexTagPurpose starts the input of a card bound to a purpose: the
// purpose is one more length-prefixed field, and the other tag keeps these
// inputs apart from unbound ones (whose bytes are unchanged).
const indexTagPurpose = "cardproxy-idx/3"

// indexInput is what the dedupe HMAC is computed over: the tag, then tenant,
// PAN, expiry and holder, each exactly as given (no normalisation) and each
// preceded by its length as a 4-byte big-endian number. The encoding is
// injective: no two different (tenant, PAN, expiry, holder) tuples give the
// same bytes, whatever the fields contain (NUL included), so a token is only
// ever reused for identical card data.
func indexInput(sc scope, c card.Card) []byte {
	tag, fields := indexTag, []string{sc.tenant, c.PAN, c.Expiry, c.Holder}
	if sc.purpose != "" {
		tag, fields = indexTagPurpose, append(fields, string(sc.purpose))
	}
	n := len(tag)
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, tag...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// indexKeys returns the dedupe index key of each card: the keyed HMAC
// (HMAC-SHA256 with the Transit index key) of indexInput, as "v<key
// version>-<base64url>" (safe in a path). It is computed in process with the
// exported key (keys.go) or, when Vault does not export it, by Transit in one
// batch call: the two give the same bytes.
func (s *Store) indexKeys(ctx context.Context, sc scope, cards []card.Card) ([]string, error) {
	keys, latest, err := s.material(ctx, s.idxKey, 0)
	if err == nil {
		out := make([]string, len(cards))
		for i, c := range cards {
			m := hmac.New(sha256.New, keys[latest])
			m.Write(indexInput(sc, c))
			out[i] = "v" + strconv.Itoa(latest) + "-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		}
		return out, nil
	}
	if !errors.Is(err, errNotExported) {
		return nil, err
	}
	batch := make([]hmacInput, len(cards))
	for i, c := range cards {
		batch[i].Input = base64.StdEncoding.EncodeToString(indexInput(sc, c))
	}
	sec, err := s.write(ctx, s.cfg.TransitMount+"/hmac/"+s.cfg.IndexKey+"/sha2-256", map[string]any{"batch_input": batch})
	if err != nil {
		return nil, unavailable("transit hmac", err)
	}
	results, err := batchResults(sec, len(cards))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cards))
	for i, r := range results {
		h := str(r, "hmac")
		// "vault:v1:<base64>" → version + URL-safe base64, safe in a path.
		parts := strings.SplitN(h, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("%w: transit hmac: unexpected result", ErrUnavailable)
		}
		raw, err := base64.StdEncoding.DecodeString(parts[2])
		if err != nil {
			return nil, fmt.Errorf("%w: transit hmac: unexpected encoding", ErrUnavailable)
		}
		out[i] = parts[1] + "-" + base64.RawURLEncoding.EncodeToString(raw)
	}
	return out, nil
}

func batchResults(sec *api.Secret, n int) ([]map[string]any, error) {
	if sec == nil || sec.Data == nil {
		return nil, fmt.Errorf("%w: empty batch answer", ErrUnavailable)
	}
	raw, _ := sec.Data["batch_results"].([]any)
	if len(raw) != n {
		return nil, fmt.Errorf("%w: batch answer has %d results, want %d", ErrUnavailable, len(raw), n)
	}
	out := make([]map[string]any, n)
	for i, r := range raw {
		m, _ := r.(map[string]any)
		if m == nil {
			return nil, fmt.Errorf("%w: malformed batch result", ErrUnavailable)
		}
		if e := str(m, "error"); e != "" {
			return nil, fmt.Errorf("%w: batch item %d: %s", ErrUnavailable, i, e)
		}
		out[i] = m
	}
	return out, nil
}

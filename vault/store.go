package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// Store is the token vault. It is safe for concurrent use.
type Store struct {
	cfg    Config
	client *api.Client
	tf     *tokenFile
	now    func() time.Time
}

// New connects (lazily: no request is made) to Vault.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	client, tf, err := newClient(c)
	if err != nil {
		return nil, err
	}
	return &Store{cfg: c, client: client, tf: tf, now: time.Now}, nil
}

// Config returns the effective configuration (defaults applied). The token is
// not included.
func (s *Store) Config() Config {
	c := s.cfg
	c.Token = ""
	return c
}

// Client exposes the underlying Vault client (for setup tooling and tests).
func (s *Store) Client() *api.Client { return s.client }

// Health checks that Vault answers and is unsealed.
func (s *Store) Health(ctx context.Context) error {
	h, err := s.client.Sys().HealthWithContext(ctx)
	if err != nil {
		return unavailable("health", err)
	}
	if h.Sealed || !h.Initialized {
		return fmt.Errorf("%w: vault is sealed or not initialised", ErrUnavailable)
	}
	return nil
}

func (s *Store) kvData(tenant, kind, id string) string {
	return s.cfg.KVMount + "/data/" + tenant + "/" + kind + "/" + id
}

func (s *Store) kvMeta(tenant, kind, id string) string {
	return s.cfg.KVMount + "/metadata/" + tenant + "/" + kind + "/" + id
}

// call runs f, re-reading a token file and retrying once when Vault says 403
// (the agent may have rotated the token).
func (s *Store) call(ctx context.Context, f func() (*api.Secret, error)) (*api.Secret, error) {
	s.tf.refresh()
	sec, err := f()
	if err != nil && s.tf != nil && isForbidden(err) {
		if s.tf.load(true) == nil {
			sec, err = f()
		}
	}
	return sec, err
}

func (s *Store) write(ctx context.Context, path string, data map[string]any) (*api.Secret, error) {
	return s.call(ctx, func() (*api.Secret, error) { return s.client.Logical().WriteWithContext(ctx, path, data) })
}

func (s *Store) read(ctx context.Context, path string) (*api.Secret, error) {
	return s.call(ctx, func() (*api.Secret, error) { return s.client.Logical().ReadWithContext(ctx, path) })
}

func (s *Store) delete(ctx context.Context, path string) error {
	_, err := s.call(ctx, func() (*api.Secret, error) { return s.client.Logical().DeleteWithContext(ctx, path) })
	return err
}

// kvRead returns the data of the current version of a KV v2 secret, its
// version, or nil when it does not exist or its current version is deleted.
func (s *Store) kvRead(ctx context.Context, path string) (map[string]any, int, error) {
	sec, err := s.read(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	if sec == nil || sec.Data == nil {
		return nil, 0, nil
	}
	version := 0
	if md, ok := sec.Data["metadata"].(map[string]any); ok {
		if v, ok := md["version"].(json.Number); ok {
			n, _ := v.Int64()
			version = int(n)
		}
	}
	data, _ := sec.Data["data"].(map[string]any)
	return data, version, nil
}

// kvCreate writes a KV v2 secret with check-and-set: cas=0 creates only.
func (s *Store) kvWrite(ctx context.Context, path string, data map[string]any, cas int) error {
	_, err := s.write(ctx, path, map[string]any{"data": data, "options": map[string]any{"cas": cas}})
	return err
}

func expiresAt(data map[string]any) time.Time {
	switch v := data["expires_at"].(type) {
	case json.Number:
		n, _ := v.Int64()
		return time.Unix(n, 0)
	case float64:
		return time.Unix(int64(v), 0)
	}
	return time.Time{}
}

func str(data map[string]any, k string) string {
	v, _ := data[k].(string)
	return v
}

// record is the plaintext sealed by Transit. T binds it to its token: a record
// copied under another token fails to open.
type record struct {
	T string `json:"t"`
	card.Card
}

type encInput struct {
	Plaintext string `json:"plaintext"`
	Context   string `json:"context"`
}

func (s *Store) encrypt(ctx context.Context, tenant string, tokens []string, cards []card.Card) ([]string, error) {
	batch := make([]encInput, len(cards))
	tctx := base64.StdEncoding.EncodeToString([]byte(tenant))
	for i, c := range cards {
		b, err := json.Marshal(record{T: tokens[i], Card: c})
		if err != nil {
			return nil, err
		}
		batch[i] = encInput{Plaintext: base64.StdEncoding.EncodeToString(b), Context: tctx}
	}
	sec, err := s.write(ctx, s.cfg.TransitMount+"/encrypt/"+s.cfg.PANKey, map[string]any{"batch_input": batch})
	if err != nil {
		return nil, unavailable("transit encrypt", err)
	}
	results, err := batchResults(sec, len(cards))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cards))
	for i, r := range results {
		out[i] = str(r, "ciphertext")
		if out[i] == "" {
			return nil, fmt.Errorf("%w: transit encrypt: no ciphertext", ErrUnavailable)
		}
	}
	return out, nil
}

func (s *Store) decrypt(ctx context.Context, tenant, token, ciphertext string) (card.Card, error) {
	sec, err := s.write(ctx, s.cfg.TransitMount+"/decrypt/"+s.cfg.PANKey, map[string]any{
		"ciphertext": ciphertext,
		"context":    base64.StdEncoding.EncodeToString([]byte(tenant)),
	})
	if err != nil {
		return card.Card{}, unavailable("transit decrypt", err)
	}
	if sec == nil || sec.Data == nil {
		return card.Card{}, fmt.Errorf("%w: transit decrypt: empty answer", ErrUnavailable)
	}
	b, err := base64.StdEncoding.DecodeString(str(sec.Data, "plaintext"))
	if err != nil {
		return card.Card{}, fmt.Errorf("%w: transit decrypt: bad plaintext encoding", ErrUnavailable)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil || rec.T != token {
		return card.Card{}, ErrTampered
	}
	return rec.Card, nil
}

// Tokenize stores cards for tenant and returns one token per card, in order.
// The same card data — PAN, expiry and holder, exactly as given — per tenant
// and format always yields the same live token, also when several requests
// tokenize it at once. The same PAN with another expiry or holder (or none)
// gets a token of its own and leaves the earlier record untouched: knowing a
// PAN is not enough to obtain, or complete, a token someone else created.
// All Transit work is batched.
func (s *Store) Tokenize(ctx context.Context, tenant string, format token.Format, cards []card.Card) ([]token.Issued, error) {
	return s.tokenize(ctx, tenant, format, cards, 0)
}

// maxDraws bounds the retries after a random token collided with an existing
// one (possible only for short format-preserving tokens).
const maxDraws = 5

func (s *Store) tokenize(ctx context.Context, tenant string, format token.Format, cards []card.Card, draw int) ([]token.Issued, error) {
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
	idx, err := s.indexKeys(ctx, tenant, cards)
	if err != nil {
		return nil, err
	}
	out := make([]token.Issued, len(cards))
	now := s.now()

	// 1. Look up existing tokens.
	type pending struct {
		i          int
		idxVersion int // 0: index absent; >0: present but stale
	}
	var todo []pending
	for i := range cards {
		data, version, err := s.kvRead(ctx, s.kvData(tenant, "idx/"+string(format), idx[i]))
		if err != nil {
			return nil, unavailable("read index", err)
		}
		if data != nil {
			exp := expiresAt(data)
			if tok := str(data, "token"); tok != "" && now.Before(exp) {
				out[i] = token.Issued{Token: tok, Meta: card.MetaOf(cards[i].PAN), ExpiresAt: exp, Reused: true}
				continue
			}
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
	cts, err := s.encrypt(ctx, tenant, tokens, newCards)
	if err != nil {
		return nil, err
	}
	exp := now.Add(s.cfg.TokenTTL).Truncate(time.Second)
	for j, p := range todo {
		m := card.MetaOf(cards[p.i].PAN)
		rec := map[string]any{
			"ct": cts[j], "brand": string(m.Brand), "last4": m.Last4,
			"format": string(format), "expires_at": exp.Unix(), "created_at": now.Unix(),
			"idx": idx[p.i],
		}
		if err := s.kvWrite(ctx, s.kvData(tenant, "pan", tokens[j]), rec, 0); err != nil {
			if isCASConflict(err) && draw < maxDraws {
				// A random collision (possible only for short
				// format-preserving tokens): draw again. Cards already
				// indexed above are found by the index this time.
				return s.tokenize(ctx, tenant, format, cards, draw+1)
			}
			return nil, unavailable("write token", err)
		}
		err := s.kvWrite(ctx, s.kvData(tenant, "idx/"+string(format), idx[p.i]),
			map[string]any{"token": tokens[j], "expires_at": exp.Unix()}, p.idxVersion)
		if err == nil {
			out[p.i] = token.Issued{Token: tokens[j], Meta: m, ExpiresAt: exp}
			continue
		}
		if !isCASConflict(err) {
			return nil, unavailable("write index", err)
		}
		// Another request won the race for this card: use its token and
		// remove the record we just wrote.
		_ = s.delete(ctx, s.kvMeta(tenant, "pan", tokens[j]))
		data, _, rerr := s.kvRead(ctx, s.kvData(tenant, "idx/"+string(format), idx[p.i]))
		if rerr != nil {
			return nil, unavailable("read index", rerr)
		}
		tok := str(data, "token")
		if tok == "" {
			return nil, fmt.Errorf("%w: index entry vanished during a race", ErrUnavailable)
		}
		out[p.i] = token.Issued{Token: tok, Meta: m, ExpiresAt: expiresAt(data), Reused: true}
	}
	return out, nil
}

func (s *Store) newToken(format token.Format, pan string) (string, error) {
	if format == token.FormatPreserveLast4 {
		return token.NewPreserving(pan)
	}
	return token.NewOpaque(token.PANPrefix)
}

// Detokenize returns the card a PAN token stands for. Unknown tokens, tokens
// of another tenant and expired tokens are refused (ErrNotFound, ErrExpired);
// an expired record is hard-deleted on the spot.
func (s *Store) Detokenize(ctx context.Context, tenant, tok string) (card.Card, error) {
	if !ValidTenant(tenant) {
		return card.Card{}, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	if !token.IsPAN(tok) && !token.IsPreserving(tok) {
		return card.Card{}, ErrNotFound
	}
	data, _, err := s.kvRead(ctx, s.kvData(tenant, "pan", tok))
	if err != nil {
		return card.Card{}, unavailable("read token", err)
	}
	if data == nil {
		return card.Card{}, ErrNotFound
	}
	if !s.now().Before(expiresAt(data)) {
		// Retention: the record and its dedupe entry go now, not at the
		// next sweep.
		_ = s.delete(ctx, s.kvMeta(tenant, "pan", tok))
		if id, f := str(data, "idx"), str(data, "format"); id != "" && f != "" {
			_ = s.delete(ctx, s.kvMeta(tenant, "idx/"+f, id))
		}
		return card.Card{}, ErrExpired
	}
	c, err := s.decrypt(ctx, tenant, tok, str(data, "ct"))
	if err != nil {
		return card.Card{}, err
	}
	return c, nil
}

package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// Store is the token vault. It is safe for concurrent use.
type Store struct {
	cfg    Config
	nodes  *nodes
	creds  credentials // nil: a static token, or none (agent)
	now    func() time.Time
	renew  *renewal
	bg     sync.WaitGroup                                 // cleanup deletes in flight
	cache  *dedupeCache                                   // nil: off
	onCall func(op string, d time.Duration, r CallResult) // metrics hook (metrics.go)
	// Transit keys used in process (keys.go); idxKey nil unless
	// IndexHMACInProcess.
	idxKey, cvcKey *exportedKey
}

// New connects (lazily: no request is made) to Vault.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	clients, creds, err := newClients(c)
	if err != nil {
		return nil, err
	}
	n := newNodes(clients, time.Duration(c.Timeout))
	if l, ok := creds.(*login); ok {
		l.nodes, l.now = n, time.Now
	}
	return &Store{cfg: c, nodes: n, creds: creds, now: time.Now,
		cache:  newDedupeCache(time.Duration(c.DedupeCache), DedupeCacheSize),
		idxKey: newExportedKey(c.TransitMount, "hmac-key", c.IndexKey, c.IndexHMACInProcess),
		cvcKey: newExportedKey(c.TransitMount, "encryption-key", c.CVCKey, true)}, nil
}

// Config returns the effective configuration (defaults applied). The token is
// not included.
func (s *Store) Config() Config {
	c := s.cfg
	c.Token = ""
	return c
}

// Client exposes the Vault client of the node in use (for setup tooling and
// tests).
func (s *Store) Client() *api.Client { return s.nodes.current() }

// OnState registers a function told every change of State (call it before
// the store is used): the Caddy app logs each change once and counts it.
func (s *Store) OnState(f func(State, error)) { s.nodes.onState = f }

// Close stops the store's background work (the probe, token renewal).
func (s *Store) Close() {
	s.renew.stop()
	s.bg.Wait()
	s.nodes.close()
}

// cleanup hard-deletes a KV entry off the request's path (best effort: the
// sweep removes what it misses).
func (s *Store) cleanup(metaPath string) {
	s.background(func(ctx context.Context) error { return s.delete(ctx, metaPath) })
}

// background runs a best-effort Vault call off the request's path, within
// the store's timeout; Close waits for it.
func (s *Store) background(f func(context.Context) error) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.Timeout))
		defer cancel()
		_ = f(ctx)
	}()
}

// Health checks that Vault answers and is unsealed.
func (s *Store) Health(ctx context.Context) error {
	h, err := s.nodes.current().Sys().HealthWithContext(ctx)
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

// DedupeCacheSize bounds the dedupe cache (entries).
const DedupeCacheSize = 10000

// bound gives one store operation — all its Vault calls, retries and
// failovers included — at most the configured timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(s.cfg.Timeout))
}

// call runs f on a Vault node (see nodes.do), with a token from the
// store's credentials (auth.go), getting another one and trying once more
// when Vault says 403 (a token file rotated, a token expired).
func (s *Store) call(ctx context.Context, op string, f func(*api.Client) (*api.Secret, error)) (*api.Secret, error) {
	return s.callMode(ctx, false, op, f)
}

// callOnce is call for a request that must not run twice (see nodes.do).
// A 403 is retried: Vault refused it, so it did nothing.
func (s *Store) callOnce(ctx context.Context, op string, f func(*api.Client) (*api.Secret, error)) (*api.Secret, error) {
	return s.callMode(ctx, true, op, f)
}

// callMode is call and callOnce; op names the call for the metrics hook
// (metrics.go: a closed set of names, never a path).
func (s *Store) callMode(ctx context.Context, once bool, op string, f func(*api.Client) (*api.Secret, error)) (*api.Secret, error) {
	start := time.Now()
	if s.creds != nil {
		if err := s.creds.refresh(ctx); err != nil {
			s.observe(op, start, err)
			return nil, err
		}
	}
	sec, err := s.nodes.do(ctx, once, f)
	if err != nil && s.creds != nil && isForbidden(err) && s.creds.forbidden(ctx) {
		sec, err = s.nodes.do(ctx, once, f)
	}
	s.observe(op, start, err)
	return sec, err
}

func (s *Store) write(ctx context.Context, path string, data map[string]any) (*api.Secret, error) {
	return s.call(ctx, s.opOf("write", path), func(c *api.Client) (*api.Secret, error) { return c.Logical().WriteWithContext(ctx, path, data) })
}

func (s *Store) read(ctx context.Context, path string) (*api.Secret, error) {
	return s.call(ctx, s.opOf("read", path), func(c *api.Client) (*api.Secret, error) { return c.Logical().ReadWithContext(ctx, path) })
}

func (s *Store) delete(ctx context.Context, path string) error {
	_, err := s.call(ctx, s.opOf("delete", path), func(c *api.Client) (*api.Secret, error) { return c.Logical().DeleteWithContext(ctx, path) })
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
	// P is the token's purpose (token.Purpose), sealed with the card: the
	// egress trusts this copy, not the record's clear "purpose" field.
	P token.Purpose `json:"p,omitempty"`
}

type encInput struct {
	Plaintext string `json:"plaintext"`
	Context   string `json:"context"`
}

func (s *Store) encrypt(ctx context.Context, sc scope, tokens []string, cards []card.Card) ([]string, error) {
	batch := make([]encInput, len(cards))
	tctx := base64.StdEncoding.EncodeToString([]byte(sc.tenant))
	for i, c := range cards {
		b, err := json.Marshal(record{T: tokens[i], Card: c, P: sc.purpose})
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

func (s *Store) decrypt(ctx context.Context, tenant, token, ciphertext string) (record, error) {
	sec, err := s.write(ctx, s.cfg.TransitMount+"/decrypt/"+s.cfg.PANKey, map[string]any{
		"ciphertext": ciphertext,
		"context":    base64.StdEncoding.EncodeToString([]byte(tenant)),
	})
	if err != nil {
		return record{}, unavailable("transit decrypt", err)
	}
	if sec == nil || sec.Data == nil {
		return record{}, fmt.Errorf("%w: transit decrypt: empty answer", ErrUnavailable)
	}
	b, err := base64.StdEncoding.DecodeString(str(sec.Data, "plaintext"))
	if err != nil {
		return record{}, fmt.Errorf("%w: transit decrypt: bad plaintext encoding", ErrUnavailable)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil || rec.T != token {
		return record{}, ErrTampered
	}
	return rec, nil
}

// Detokenize returns the card a PAN token stands for. Unknown tokens, tokens
// of another tenant and expired tokens are refused (ErrNotFound, ErrExpired);
// an expired record is hard-deleted on the spot.
func (s *Store) Detokenize(ctx context.Context, tenant, tok string) (card.Card, error) {
	return s.DetokenizeFor(ctx, tenant, tok, "")
}

// DetokenizeFor is Detokenize for an egress whose upstream is host: a token
// bound to a purpose that does not allow host gives ErrNotAllowed (and
// Detokenize, for no host, gives it for every bound token).
func (s *Store) DetokenizeFor(ctx context.Context, tenant, tok, host string) (card.Card, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
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
		// The index entry first: an entry never outlives its record.
		if id, f := str(data, "idx"), str(data, "format"); id != "" && f != "" {
			_ = s.delete(ctx, s.kvMeta(tenant, "idx/"+f, id))
		}
		_ = s.delete(ctx, s.kvMeta(tenant, "pan", tok))
		return card.Card{}, ErrExpired
	}
	if p := token.Purpose(str(data, "purpose")); !p.Allows(host) {
		return card.Card{}, ErrNotAllowed // before any decryption
	}
	rec, err := s.decrypt(ctx, tenant, tok, str(data, "ct"))
	if err != nil {
		return card.Card{}, err
	}
	if !rec.P.Allows(host) {
		return card.Card{}, ErrNotAllowed // the sealed purpose decides
	}
	return rec.Card, nil
}

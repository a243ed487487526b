package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Key rotation (cardproxy vault-rotate). Rotating the PAN key makes a new
// key version for new records; Rotate then rewraps every stored record to
// it (Transit rewrap: the card never leaves Vault, cardproxy never sees it),
// in batches, and raises the key's minimum decryption version, so a record
// sealed under a retired version no longer opens while every token still
// detokenizes. The CVC key is rotated too and its older versions retired but
// the one just replaced (CVC entries live minutes: those written just before
// still open). The dedupe index key is rotated only when asked: an index key
// is a keyed HMAC of card data, which cannot be rewrapped, so dedupe starts
// over — a card tokenized before gets a new token the next time (both tokens
// work; nothing dangles).

// RotateOptions says what Rotate does.
type RotateOptions struct {
	// Index also rotates the dedupe index key (dedupe starts over).
	Index bool
	// Batch is how many records are rewrapped per Vault call (default 100).
	Batch int
	// Progress, if set, is told about each tenant and batch.
	Progress func(string)
	// Grace is how long after the key rotation a tokenization that sealed
	// its card just before it may still write its record (default: twice
	// the store's timeout, which bounds every store operation). Rotate waits
	// that long, rewraps again, and only then retires the old versions.
	Grace time.Duration
}

// RotateResult is what a rotation did.
type RotateResult struct {
	PANVersion, CVCVersion, IndexVersion int // the keys' versions now (0: not rotated)
	Tenants, Records, Rewrapped          int
}

// Rotate rotates cardproxy's Transit keys and rewraps every stored card
// record. It needs an admin token (list, rotate, rewrap, key config).
func (s *Store) Rotate(ctx context.Context, o RotateOptions) (RotateResult, error) {
	var res RotateResult
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Duration(s.cfg.Timeout)
	}
	say := func(format string, a ...any) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf(format, a...))
		}
	}
	var err error
	if res.PANVersion, err = s.rotateKey(ctx, s.cfg.PANKey); err != nil {
		return res, err
	}
	rotated := time.Now()
	say("%s key rotated to version %d", s.cfg.PANKey, res.PANVersion)
	pass := func() ([]string, error) {
		tenants, err := s.list(ctx, s.cfg.KVMount+"/metadata/")
		if err != nil {
			return nil, err
		}
		res.Tenants, res.Records = 0, 0
		for _, t := range tenants {
			t = strings.TrimSuffix(t, "/")
			if !ValidTenant(t) {
				continue
			}
			res.Tenants++
			if err := s.rewrapTenant(ctx, t, res.PANVersion, o.Batch, &res, say); err != nil {
				return nil, err
			}
		}
		return tenants, nil
	}
	if _, err := pass(); err != nil {
		return res, err
	}
	// A tokenization that sealed its card under the old version just
	// before the rotation may write its record up to its timeout later:
	// wait for it, then rewrap what came in meanwhile.
	if wait := o.Grace - time.Since(rotated); wait > 0 {
		say("waiting %s for tokenizations sealed before the rotation", wait.Round(time.Second))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	tenants, err := pass()
	if err != nil {
		return res, err
	}
	// Every record must be on the new version before the older ones retire.
	if stale, err := s.staleRecords(ctx, tenants, res.PANVersion); err != nil || stale > 0 {
		if err == nil {
			err = fmt.Errorf("vault: %d records are still on an older %s key version (changed during the rotation); nothing retired: run vault-rotate again", stale, s.cfg.PANKey)
		}
		return res, err
	}
	if err := s.keyConfig(ctx, s.cfg.PANKey, map[string]any{"min_decryption_version": res.PANVersion}); err != nil {
		return res, err
	}
	say("%s key: versions before %d retired", s.cfg.PANKey, res.PANVersion)
	if res.CVCVersion, err = s.rotateKey(ctx, s.cfg.CVCKey); err != nil {
		return res, err
	}
	minCVC, err := s.retirableCVC(ctx)
	if err != nil {
		return res, err
	}
	if minCVC > 1 {
		if err := s.keyConfig(ctx, s.cfg.CVCKey, map[string]any{"min_decryption_version": minCVC}); err != nil {
			return res, err
		}
	}
	say("%s key rotated to version %d (versions from %d still open CVCs)", s.cfg.CVCKey, res.CVCVersion, minCVC)
	if o.Index {
		if res.IndexVersion, err = s.rotateKey(ctx, s.cfg.IndexKey); err != nil {
			return res, err
		}
		say("%s key rotated to version %d: dedupe starts over (a card tokenized before gets a new token next time)", s.cfg.IndexKey, res.IndexVersion)
	}
	return res, nil
}

// rotateKey rotates a Transit key and returns its new latest version.
func (s *Store) rotateKey(ctx context.Context, name string) (int, error) {
	path := s.cfg.TransitMount + "/keys/" + name
	if _, err := s.write(ctx, path+"/rotate", nil); err != nil {
		return 0, unavailable("rotate "+name, err)
	}
	sec, err := s.read(ctx, path)
	if err != nil {
		return 0, unavailable("read key "+name, err)
	}
	if sec == nil || sec.Data == nil {
		return 0, fmt.Errorf("%w: key %s vanished", ErrUnavailable, name)
	}
	v, _ := sec.Data["latest_version"].(json.Number)
	n, err := v.Int64()
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: key %s: no latest version", ErrUnavailable, name)
	}
	return int(n), nil
}

func (s *Store) keyConfig(ctx context.Context, name string, cfg map[string]any) error {
	if _, err := s.write(ctx, s.cfg.TransitMount+"/keys/"+name+"/config", cfg); err != nil {
		return unavailable("configure key "+name, err)
	}
	return nil
}

// rewrapTenant rewraps a tenant's records that are not on version yet.
func (s *Store) rewrapTenant(ctx context.Context, tenant string, version, batch int, res *RotateResult, say func(string, ...any)) error {
	toks, err := s.list(ctx, s.cfg.KVMount+"/metadata/"+tenant+"/pan")
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("vault:v%d:", version)
	type rec struct {
		tok     string
		data    map[string]any
		version int
	}
	var todo []rec
	done := 0
	flush := func() error {
		if len(todo) == 0 {
			return nil
		}
		in := make([]map[string]any, len(todo))
		tctx := base64.StdEncoding.EncodeToString([]byte(tenant))
		for i, r := range todo {
			in[i] = map[string]any{"ciphertext": str(r.data, "ct"), "context": tctx}
		}
		sec, err := s.write(ctx, s.cfg.TransitMount+"/rewrap/"+s.cfg.PANKey, map[string]any{"batch_input": in})
		if err != nil {
			return unavailable("transit rewrap", err)
		}
		out, err := batchResults(sec, len(todo))
		if err != nil {
			return err
		}
		for i, r := range todo {
			r.data["ct"] = str(out[i], "ciphertext")
			// Check-and-set over the version read: a record deleted or
			// changed meanwhile (expiry, a race) is left as it is.
			err := s.kvWrite(ctx, s.kvData(tenant, "pan", r.tok), r.data, r.version)
			switch {
			case err == nil:
				res.Rewrapped++
				done++
			case !isCASConflict(err):
				return unavailable("write rewrapped record", err)
			}
		}
		say("tenant %s: %d of %d records rewrapped", tenant, done, len(toks))
		todo = todo[:0]
		return nil
	}
	for _, tok := range toks {
		if strings.HasSuffix(tok, "/") {
			continue
		}
		data, v, err := s.kvRead(ctx, s.kvData(tenant, "pan", tok))
		if err != nil {
			return unavailable("read record", err)
		}
		if data == nil {
			continue
		}
		res.Records++
		if strings.HasPrefix(str(data, "ct"), prefix) {
			continue
		}
		todo = append(todo, rec{tok, data, v})
		if len(todo) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// staleRecords counts the records of these tenants not sealed under version.
func (s *Store) staleRecords(ctx context.Context, tenants []string, version int) (int, error) {
	prefix := fmt.Sprintf("vault:v%d:", version)
	n := 0
	for _, t := range tenants {
		t = strings.TrimSuffix(t, "/")
		if !ValidTenant(t) {
			continue
		}
		toks, err := s.list(ctx, s.cfg.KVMount+"/metadata/"+t+"/pan")
		if err != nil {
			return 0, err
		}
		for _, tok := range toks {
			data, _, err := s.kvRead(ctx, s.kvData(t, "pan", tok))
			if err != nil {
				return 0, unavailable("read record", err)
			}
			if data != nil && !strings.HasPrefix(str(data, "ct"), prefix) {
				n++
			}
		}
	}
	return n, nil
}

// retirableCVC is the CVC key's lowest version that must stay open: a
// version can be retired once the next one has been the newest for longer
// than a CVC lives (MaxCVCTTL) plus the time instances keep an exported key
// (keyRefresh) — before that, an instance may still seal with it and its
// CVCs may still be used. Re-running a rotation minutes later retires
// nothing new.
func (s *Store) retirableCVC(ctx context.Context) (int, error) {
	sec, err := s.read(ctx, s.cfg.TransitMount+"/keys/"+s.cfg.CVCKey)
	if err != nil {
		return 0, unavailable("read key "+s.cfg.CVCKey, err)
	}
	if sec == nil || sec.Data == nil {
		return 0, fmt.Errorf("%w: key %s vanished", ErrUnavailable, s.cfg.CVCKey)
	}
	cutoff := s.now().Add(-(MaxCVCTTL + keyRefresh)).Unix()
	minDec := 1
	if v, ok := sec.Data["min_decryption_version"].(json.Number); ok {
		if n, err := v.Int64(); err == nil && n > 1 {
			minDec = int(n)
		}
	}
	keys, _ := sec.Data["keys"].(map[string]any)
	for ver, created := range keys {
		n, err := strconv.Atoi(ver)
		c, _ := created.(json.Number)
		at, cerr := c.Int64()
		if err == nil && cerr == nil && n > minDec && at < cutoff {
			minDec = n // version n was the newest before the cutoff: older ones are done
		}
	}
	return minDec, nil
}

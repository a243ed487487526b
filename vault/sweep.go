package vault

import (
	"context"
	"fmt"

	"github.com/cardproxy/cardproxy/token"
	"github.com/hashicorp/vault/api"
)

// SweepResult counts what Sweep removed.
type SweepResult struct {
	Tokens, Index, CVCs, Relays int
}

// Sweep hard-deletes (all versions and metadata) every expired PAN record,
// index entry and CVC entry of a tenant, so expired card data is provably gone
// (PCI DSS 3.2.1). Reads already treat expired records as missing; Sweep is the
// retention job that removes them. Run it periodically (cardproxy vault-sweep).
func (s *Store) Sweep(ctx context.Context, tenant string) (SweepResult, error) {
	var res SweepResult
	if !ValidTenant(tenant) {
		return res, fmt.Errorf("%w: tenant name", ErrInvalid)
	}
	now := s.now()
	sweep := func(kind string, n *int) error {
		keys, err := s.list(ctx, s.cfg.KVMount+"/metadata/"+tenant+"/"+kind)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if len(k) > 0 && k[len(k)-1] == '/' {
				continue
			}
			data, _, err := s.kvRead(ctx, s.kvData(tenant, kind, k))
			if err != nil {
				return unavailable("sweep read", err)
			}
			if data != nil && now.Before(expiresAt(data)) {
				continue
			}
			if err := s.delete(ctx, s.kvMeta(tenant, kind, k)); err != nil {
				return unavailable("sweep delete", err)
			}
			*n++
		}
		return nil
	}
	// Index entries before records: an entry never outlives its record.
	for _, f := range []token.Format{token.FormatOpaque, token.FormatPreserveLast4} {
		if err := sweep("idx/"+string(f), &res.Index); err != nil {
			return res, err
		}
	}
	if err := sweep("pan", &res.Tokens); err != nil {
		return res, err
	}
	if err := sweep("cvc", &res.CVCs); err != nil {
		return res, err
	}
	if err := sweep("relay", &res.Relays); err != nil {
		return res, err
	}
	return res, nil
}

func (s *Store) list(ctx context.Context, path string) ([]string, error) {
	sec, err := s.call(ctx, s.opOf("list", path), func(c *api.Client) (*api.Secret, error) { return c.Logical().ListWithContext(ctx, path) })
	if err != nil {
		return nil, unavailable("list", err)
	}
	if sec == nil || sec.Data == nil {
		return nil, nil
	}
	raw, _ := sec.Data["keys"].([]any)
	out := make([]string, 0, len(raw))
	for _, k := range raw {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

package ingress

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
)

// Tokenizer stores card data and hands out tokens: the token vault
// (vault.Store) implements it on HashiCorp Vault.
type Tokenizer interface {
	// TokenizeFor returns one token per card, in order, bound to purpose
	// (token.Purpose; "" binds nothing).
	TokenizeFor(ctx context.Context, tenant string, format token.Format, purpose token.Purpose, cards []card.Card) ([]token.Issued, error)
	// TokenizeCVC returns a single-use CVC token and when it expires.
	TokenizeCVC(ctx context.Context, tenant, cvc string) (string, time.Time, error)
}

// Tokens are a plan's tokens: Cards[i] for Plan.Cards[i], CVCs[i] for
// Plan.CVCs[i].
type Tokens struct {
	Cards []token.Issued
	CVCs  []string
}

// Exchange stores the plan's cards (one batch per token format, usually one)
// and CVCs and returns their tokens. The batches and the CVCs are
// independent, so they go to Vault at the same time: a request waits for the
// slowest, not for the sum. On any error nothing may be forwarded: the
// store's errors become 400 invalid_card_data, 503 vault_unavailable or 503
// vault_auth_failed (the first in plan order).
func Exchange(ctx context.Context, tz Tokenizer, tenant string, p *Plan) (Tokens, *refusal.Error) {
	t := Tokens{Cards: make([]token.Issued, len(p.Cards)), CVCs: make([]string, len(p.CVCs))}
	var jobs []func() error
	for _, format := range []token.Format{token.FormatOpaque, token.FormatPreserveLast4} {
		var idx []int
		var cards []card.Card
		for i, g := range p.Cards {
			if g.Format == format {
				idx = append(idx, i)
				cards = append(cards, g.Card)
			}
		}
		if len(cards) == 0 {
			continue
		}
		jobs = append(jobs, func() error {
			issued, err := tz.TokenizeFor(ctx, tenant, format, p.Purpose, cards)
			if err == nil && len(issued) != len(cards) {
				err = token.ErrUnavailable
			}
			if err != nil {
				return err
			}
			for k, i := range idx {
				t.Cards[i] = issued[k]
			}
			return nil
		})
	}
	for i, g := range p.CVCs {
		jobs = append(jobs, func() error {
			tok, _, err := tz.TokenizeCVC(ctx, tenant, g.CVC)
			t.CVCs[i] = tok
			return err
		})
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for k, job := range jobs[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k+1] = job()
		}()
	}
	if len(jobs) > 0 {
		errs[0] = jobs[0]() // the first on this goroutine: one card alone spawns none
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Tokens{}, storeError(err)
		}
	}
	return t, nil
}

// storeError maps a token store error: invalid input is the client's fault
// (400); anything else means the vault could not do its job, and the request
// must not go on (503, fail closed).
func storeError(err error) *refusal.Error {
	switch {
	case errors.Is(err, token.ErrInvalid):
		return refusal.Because(refusal.InvalidCardData, err.Error(), err)
	case errors.Is(err, token.ErrForbidden):
		return refusal.Because(refusal.VaultAuthFailed, "the card vault refuses cardproxy's credentials; the request was not forwarded. The operator has been alerted.", err)
	}
	return refusal.Because(refusal.VaultUnavailable, "the card vault is unavailable; the request was not forwarded. Retry later.", err)
}

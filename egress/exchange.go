package egress

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
)

// Detokenizer gives back what tokens stand for: the token vault
// (vault.Store) implements it on HashiCorp Vault.
type Detokenizer interface {
	// DetokenizeFor returns the card a PAN token stands for, to an egress
	// whose upstream is host (a token bound to other upstreams gives
	// token.ErrNotAllowed).
	DetokenizeFor(ctx context.Context, tenant, tok, host string) (card.Card, error)
	// ReadCVC finds a CVC token without using it up; the claim's Use uses
	// it up and returns the CVC.
	ReadCVC(ctx context.Context, tenant, tok string) (token.CVCClaim, error)
}

// Lookup is one token looked up, for the audit log: never card data.
type Lookup struct {
	Token  string
	Kind   string // "pan" or "cvc"
	Result string // ok, unknown, expired, tampered, vault_error
}

// Secrets are what one request's tokens stand for: what Apply writes into
// the body and what the PSP's answer must not carry back to the app.
type Secrets struct {
	cards map[string]card.Card
	cvcs  map[string]string
	// PANs and CVCs sent to the PSP, in plan order.
	PANs, CVCs []string
}

// Exchange looks the plan's tokens up: the cards and the CVCs at the same
// time, then — once the cards are found and the fill-ins known to work — it
// uses the CVCs up, whatever the PSP answers. A request refused for its card
// tokens or fill-ins uses no CVC, so the app can retry it (with several CVC
// tokens, one that fails after another was used leaves that one used). Every
// lookup is returned for the audit log, also when it fails.
func (c *Config) Exchange(ctx context.Context, dz Detokenizer, tenant string, p *Plan) (Secrets, []Lookup, *refusal.Error) {
	s := Secrets{cards: map[string]card.Card{}, cvcs: map[string]string{}}
	var cardAudit, cvcAudit []Lookup
	claims := make([]token.CVCClaim, 0, len(p.cvcs))
	var cvcErr *refusal.Error
	done := make(chan struct{})
	if len(p.cvcs) == 0 {
		close(done) // a card alone spawns nothing
	} else {
		go func() {
			defer close(done)
			cvcErr = lookupAll(p.cvcs, "cvc", "CVC token", &cvcAudit, func(tok string) (token.CVCClaim, error) {
				return dz.ReadCVC(ctx, tenant, tok)
			}, func(_ string, cl token.CVCClaim) { claims = append(claims, cl) })
		}()
	}
	cardErr := lookupAll(p.cards, "pan", "card token", &cardAudit, func(tok string) (card.Card, error) {
		return dz.DetokenizeFor(ctx, tenant, tok, c.Upstream)
	}, func(tok string, cd card.Card) { s.cards[tok], s.PANs = cd, append(s.PANs, cd.PAN) })
	<-done
	audit := append(cardAudit, cvcAudit...)
	if cardErr != nil {
		return Secrets{}, audit, cardErr
	}
	if cvcErr != nil {
		return Secrets{}, audit, cvcErr
	}
	if _, rerr := c.fills(p, s); rerr != nil {
		return Secrets{}, audit, rerr
	}
	audit = audit[:len(cardAudit)] // the CVCs are audited as used (or not)
	k := 0
	if rerr := lookupAll(p.cvcs, "cvc", "CVC token", &audit, func(string) (string, error) {
		k++
		return claims[k-1].Use(ctx)
	}, func(tok, cvc string) { s.cvcs[tok], s.CVCs = cvc, append(s.CVCs, cvc) }); rerr != nil {
		return Secrets{}, audit, rerr
	}
	return s, audit, nil
}

// lookupAll looks tokens up in order, adding every lookup to audit, and
// stops at the first that fails.
func lookupAll[T any](toks []string, kind, what string, audit *[]Lookup, get func(string) (T, error), keep func(string, T)) *refusal.Error {
	for _, tok := range toks {
		v, err := get(tok)
		if err != nil {
			*audit = append(*audit, Lookup{tok, kind, ResultOf(err)})
			return lookupError(err, what)
		}
		*audit = append(*audit, Lookup{tok, kind, "ok"})
		keep(tok, v)
	}
	return nil
}

// Apply writes the card data into the body: card numbers and CVCs where
// their tokens were, expiry and holder where asked.
func (c *Config) Apply(p *Plan, s Secrets) ([]byte, *refusal.Error) {
	edits, rerr := c.fills(p, s)
	if rerr != nil {
		return nil, rerr
	}
	for _, tok := range p.cards {
		for _, f := range p.cardFields[tok] {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(s.cards[tok].PAN)})
		}
	}
	for _, tok := range p.cvcs {
		for _, f := range p.cvcFields[tok] {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(s.cvcs[tok])})
		}
	}
	return bodyrewrite.Apply(p.body, edits), nil
}

// fills are the expiry and holder edits: fields holding a card token take
// that card's data; empty ones take the only card's.
func (c *Config) fills(p *Plan, s Secrets) ([]bodyrewrite.Edit, *refusal.Error) {
	cardFor := func(f *bodyrewrite.Field) (card.Card, bool) {
		if cd, ok := s.cards[f.Value]; ok {
			return cd, true
		}
		if len(p.cards) == 1 {
			return s.cards[p.cards[0]], true
		}
		return card.Card{}, false
	}
	now := time.Now()
	var edits []bodyrewrite.Edit
	for _, role := range []fieldmap.Role{fieldmap.Expiry, fieldmap.ExpiryMonth, fieldmap.ExpiryYear, fieldmap.Holder} {
		for _, f := range p.fill[role] {
			cd, ok := cardFor(f)
			if !ok {
				continue
			}
			if role == fieldmap.Holder {
				if cd.Holder != "" {
					edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(cd.Holder)})
				}
				continue
			}
			m, y, ok := parseExpiry(cd.Expiry, now)
			switch {
			case !ok && role == fieldmap.Expiry && f.Kind != bodyrewrite.Other && f.Value != "":
				return nil, refusal.New(refusal.ExpiryUnknown, fmt.Sprintf("field %q asks for the card's expiry, but none was stored with the token", fieldmap.SafeName(f)))
			case !ok:
			case role == fieldmap.Expiry:
				edits = append(edits, bodyrewrite.Edit{Field: f, Raw: encodeExpiry(f, c.Preset.ExpiryFormat, m, y)})
			case role == fieldmap.ExpiryMonth:
				edits = append(edits, bodyrewrite.Edit{Field: f, Raw: encodeInt(f, m)})
			default:
				if c.Preset.YearDigits == 2 {
					y %= 100
				}
				edits = append(edits, bodyrewrite.Edit{Field: f, Raw: encodeInt(f, y)})
			}
		}
	}
	return edits, nil
}

// ResultOf is a lookup error for the audit log.
func ResultOf(err error) string {
	switch {
	case errors.Is(err, token.ErrNotFound):
		return "unknown"
	case errors.Is(err, token.ErrExpired):
		return "expired"
	case errors.Is(err, token.ErrTampered):
		return "tampered"
	case errors.Is(err, token.ErrNotAllowed):
		return "not_allowed"
	}
	return "vault_error"
}

func lookupError(err error, what string) *refusal.Error {
	switch {
	case errors.Is(err, token.ErrNotFound):
		msg := what + " is unknown to this tenant"
		if what == "CVC token" {
			msg = "CVC token is unknown, already used or expired (CVC tokens are single use); ask the shopper for the CVC again"
		}
		return refusal.Because(refusal.UnknownToken, msg+"; nothing was sent to the payment provider", err)
	case errors.Is(err, token.ErrExpired):
		return refusal.Because(refusal.TokenExpired, what+" has expired; nothing was sent to the payment provider", err)
	case errors.Is(err, token.ErrTampered):
		return refusal.Because(refusal.UnknownToken, what+" does not match its record; nothing was sent to the payment provider", err)
	case errors.Is(err, token.ErrNotAllowed):
		return refusal.Because(refusal.TokenWrongUpstream, what+" is bound to other payment providers than this egress's upstream (card_tokenize bind_upstream); nothing was sent to the payment provider", err)
	case errors.Is(err, token.ErrForbidden):
		return refusal.Because(refusal.VaultAuthFailed, "the card vault refuses cardproxy's credentials; nothing was sent to the payment provider. The operator has been alerted.", err)
	}
	return refusal.Because(refusal.VaultUnavailable, "the card vault is unavailable; nothing was sent to the payment provider. Retry later.", err)
}

// Format prints secrets without them: counts only, whatever the verb.
func (s Secrets) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "secrets{%d card numbers, %d CVCs}", len(s.PANs), len(s.CVCs))
}

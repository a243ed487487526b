package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
	"github.com/cardproxy/cardproxy/vault"
)

// The egress body swap: tokens in the route's card fields become card data.

type auditEntry struct {
	token, kind, result string
}

type panUse struct {
	token  string
	fields []*bodyrewrite.Field
	card   card.Card
}

// secrets are the card numbers and CVCs one egress request sent to the PSP:
// its answer must not carry them back to the app.
type secrets struct {
	pans, cvcs []string
}

// egressLimits bound the app's PSP request bodies (the app is trusted more
// than a shopper, and PSP orders carry carts).
var egressLimits = bodyrewrite.Limits{MaxDepth: 64, MaxFields: 10000}

func errOutsideCardField(where string) *refusal.Error {
	return refusal.New(refusal.TokenOutsideCardField, where+" carries a cardproxy token outside the card fields of this route; tokens are only replaced in the configured card fields (PAN tokens in card number fields, CVC tokens in CVC fields). Nothing was sent to the payment provider")
}

// detokenizeBody swaps the card data in: PAN tokens in card number fields,
// CVC tokens in CVC fields, expiry and holder fill-ins. A token anywhere
// else (a description, a return URL, a field name) is refused: a PSP may
// echo such a field back to the app.
func (d *Detokenize) detokenizeBody(r *http.Request, body []byte) ([]byte, []auditEntry, secrets, *refusal.Error) {
	kind, params, herr := httpbody.Classify(r.Header)
	if herr != nil {
		return nil, nil, secrets{}, herr
	}
	if kind == httpbody.None || kind == httpbody.Other {
		if textscan.HasToken(string(body)) {
			return nil, nil, secrets{}, refusal.New(refusal.UnsupportedMediaType, "the body carries cardproxy tokens but its Content-Type is not JSON, form or multipart; cardproxy cannot place card data in it")
		}
		return body, nil, secrets{}, nil
	}
	fields, herr := httpbody.Scan(kind, params, body, egressLimits)
	if herr != nil {
		return nil, nil, secrets{}, herr
	}

	pans := map[string]*panUse{}
	var panOrder []string
	cvcs := map[string][]*bodyrewrite.Field{}
	var cvcOrder []string
	// Expiry and holder fields to fill, by role.
	fill := map[fieldmap.Role][]*bodyrewrite.Field{}
	fillable := func(r fieldmap.Role) bool {
		return r == fieldmap.Expiry || r == fieldmap.ExpiryMonth || r == fieldmap.ExpiryYear || r == fieldmap.Holder
	}
	for i := range fields {
		f := &fields[i]
		if len(f.Path) > 0 && textscan.HasToken(f.Path[len(f.Path)-1]) {
			return nil, nil, secrets{}, errOutsideCardField("a field name")
		}
		if f.Kind == bodyrewrite.Object {
			continue
		}
		role := d.rules.Of(f.Path)
		v := f.Value
		switch {
		case token.IsCVC(v):
			if role != fieldmap.CVC {
				return nil, nil, secrets{}, errOutsideCardField(fmt.Sprintf("field %q", fieldmap.SafeName(f)))
			}
			if _, seen := cvcs[v]; !seen {
				cvcOrder = append(cvcOrder, v)
			}
			cvcs[v] = append(cvcs[v], f)
			continue
		case token.IsPAN(v) || (role == fieldmap.PAN && d.app.preservingTokens() && token.IsPreserving(v)):
			// Every card token is looked up (and so validated), also one
			// that only names the card whose expiry or holder to fill in.
			if role != fieldmap.PAN && !fillable(role) {
				return nil, nil, secrets{}, errOutsideCardField(fmt.Sprintf("field %q", fieldmap.SafeName(f)))
			}
			if pans[v] == nil {
				pans[v] = &panUse{token: v}
				panOrder = append(panOrder, v)
			}
			if fillable(role) {
				fill[role] = append(fill[role], f)
			} else {
				pans[v].fields = append(pans[v].fields, f)
			}
			continue
		case f.Kind != bodyrewrite.Other && textscan.HasToken(v):
			return nil, nil, secrets{}, errOutsideCardField(fmt.Sprintf("field %q", fieldmap.SafeName(f)))
		}
		// Empty/null expiry and holder fields are filled when the body
		// carries exactly one card.
		if fillable(role) && (v == "" || (v == "null" && f.Kind == bodyrewrite.Other)) {
			fill[role] = append(fill[role], f)
		}
	}
	if len(panOrder) == 0 && len(cvcOrder) == 0 {
		return body, nil, secrets{}, nil
	}
	var sent secrets

	ctx := r.Context()
	var audit []auditEntry
	var edits []bodyrewrite.Edit
	for _, tok := range panOrder {
		c, err := d.store.Detokenize(ctx, d.tenant, tok)
		if err != nil {
			audit = append(audit, auditEntry{tok, "pan", resultOf(err)})
			return nil, audit, secrets{}, detokError(err, "card token")
		}
		audit = append(audit, auditEntry{tok, "pan", "ok"})
		u := pans[tok]
		u.card = c
		sent.pans = append(sent.pans, c.PAN)
		for _, f := range u.fields {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(c.PAN)})
		}
	}
	// Expiry / holder fields: those holding a card token take that card's
	// data; empty ones take the only card's.
	cardFor := func(f *bodyrewrite.Field) (card.Card, bool) {
		if u, ok := pans[f.Value]; ok {
			return u.card, true
		}
		if len(panOrder) == 1 {
			return pans[panOrder[0]].card, true
		}
		return card.Card{}, false
	}
	for _, f := range fill[fieldmap.Expiry] {
		if c, ok := cardFor(f); ok {
			if m, y, ok := parseExpiry(c.Expiry, time.Now()); ok {
				edits = append(edits, bodyrewrite.Edit{Field: f, Raw: encodeExpiry(f, d.preset.ExpiryFormat, m, y)})
			} else if f.Kind != bodyrewrite.Other && f.Value != "" {
				return nil, audit, secrets{}, refusal.New(refusal.ExpiryUnknown, fmt.Sprintf("field %q asks for the card's expiry, but none was stored with the token", f.Name()))
			}
		}
	}
	for _, f := range fill[fieldmap.ExpiryMonth] {
		if c, ok := cardFor(f); ok {
			if m, _, ok := parseExpiry(c.Expiry, time.Now()); ok {
				edits = append(edits, bodyrewrite.Edit{Field: f, Raw: encodeInt(f, m)})
			}
		}
	}
	for _, f := range fill[fieldmap.ExpiryYear] {
		if c, ok := cardFor(f); ok {
			if _, y, ok := parseExpiry(c.Expiry, time.Now()); ok {
				if d.preset.YearDigits == 2 {
					y %= 100
				}
				edits = append(edits, bodyrewrite.Edit{Field: f, Raw: encodeInt(f, y)})
			}
		}
	}
	for _, f := range fill[fieldmap.Holder] {
		if c, ok := cardFor(f); ok && c.Holder != "" {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(c.Holder)})
		}
	}
	// CVCs last: they are consumed (single use) whatever the PSP answers.
	for _, tok := range cvcOrder {
		cvc, err := d.store.DetokenizeCVC(ctx, d.tenant, tok)
		if err != nil {
			audit = append(audit, auditEntry{tok, "cvc", resultOf(err)})
			return nil, audit, secrets{}, detokError(err, "CVC token")
		}
		audit = append(audit, auditEntry{tok, "cvc", "ok"})
		sent.cvcs = append(sent.cvcs, cvc)
		for _, f := range cvcs[tok] {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(cvc)})
		}
	}
	return bodyrewrite.Apply(body, edits), audit, sent, nil
}

func resultOf(err error) string {
	switch {
	case errors.Is(err, vault.ErrNotFound):
		return "unknown"
	case errors.Is(err, vault.ErrExpired):
		return "expired"
	case errors.Is(err, vault.ErrTampered):
		return "tampered"
	}
	return "vault_error"
}

func detokError(err error, what string) *refusal.Error {
	switch {
	case errors.Is(err, vault.ErrNotFound):
		msg := what + " is unknown to this tenant"
		if what == "CVC token" {
			msg = "CVC token is unknown, already used or expired (CVC tokens are single use); ask the shopper for the CVC again"
		}
		return refusal.Because(refusal.UnknownToken, msg+"; nothing was sent to the payment provider", err)
	case errors.Is(err, vault.ErrExpired):
		return refusal.Because(refusal.TokenExpired, what+" has expired; nothing was sent to the payment provider", err)
	case errors.Is(err, vault.ErrTampered):
		return refusal.Because(refusal.UnknownToken, what+" does not match its record; nothing was sent to the payment provider", err)
	}
	return vaultError(err)
}

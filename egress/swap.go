// Package egress is card_detokenize's core, without Caddy and without Vault:
// the app's PSP request walks through it in one direction, and the PSP's
// answer back.
//
//	Plan     read and scan the body; find the tokens, each where the
//	         route's field map allows it (a PAN token in a card number
//	         field, a CVC token in a CVC field) — a token anywhere else is
//	         refused, since a PSP may echo that field back to the app
//	Exchange the tokens for card data through a Detokenizer (Vault): cards
//	         first, CVCs (single use) last
//	Apply    card data, expiry and holder into the body
//	Answer   mask the PSP's answer: every card number, this request's CVCs,
//	         and find the 3-D Secure POST redirects to relay
package egress

import (
	"fmt"
	"net/http"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
)

// Config is one card_detokenize route's field map.
type Config struct {
	Rules fieldmap.Rules
	// Preset formats the fill-ins: ExpiryFormat, YearDigits.
	Preset fieldmap.Preset
	// Preserving: format-preserving tokens are in use (and detokenized in
	// card number fields).
	Preserving func() bool
	// Upstream is the host (host:port as in the upstream URL) of the one
	// upstream: tokens bound to a purpose must allow it.
	Upstream string
}

// Limits bound the app's PSP request bodies (the app is trusted more than a
// shopper, and PSP orders carry carts).
var Limits = bodyrewrite.Limits{MaxDepth: 64, MaxFields: 10000}

// Plan is where a request's tokens go back: each PAN token (first seen
// first) with the fields its card number goes into, each CVC token with its
// fields, and the expiry and holder fields to fill in.
type Plan struct {
	body       []byte
	cards      []string
	cardFields map[string][]*bodyrewrite.Field
	cvcs       []string
	cvcFields  map[string][]*bodyrewrite.Field
	fill       map[fieldmap.Role][]*bodyrewrite.Field
}

// Empty reports a plan with no token to swap: the body goes as it is.
func (p *Plan) Empty() bool { return p == nil || len(p.cards) == 0 && len(p.cvcs) == 0 }

// TokenOutsideCardField is the refusal for a token where the route's field
// map does not put card data.
func TokenOutsideCardField(where string) *refusal.Error {
	return refusal.New(refusal.TokenOutsideCardField, where+" carries a cardproxy token outside the card fields of this route; tokens are only replaced in the configured card fields (PAN tokens in card number fields, CVC tokens in CVC fields). Nothing was sent to the payment provider")
}

// Plan reads a request body (h: its headers) and places its tokens.
func (c *Config) Plan(h http.Header, body []byte) (*Plan, *refusal.Error) {
	kind, params, rerr := httpbody.Classify(h)
	if rerr != nil {
		return nil, rerr
	}
	if kind == httpbody.None || kind == httpbody.Other {
		if textscan.HasToken(string(body)) {
			return nil, refusal.New(refusal.UnsupportedMediaType, "the body carries cardproxy tokens but its Content-Type is not JSON, form or multipart; cardproxy cannot place card data in it")
		}
		return nil, nil
	}
	fields, rerr := httpbody.Scan(kind, params, body, Limits)
	if rerr != nil {
		return nil, rerr
	}
	p := &Plan{body: body, cardFields: map[string][]*bodyrewrite.Field{}, cvcFields: map[string][]*bodyrewrite.Field{},
		fill: map[fieldmap.Role][]*bodyrewrite.Field{}}
	pres := c.Preserving()
	for i := range fields {
		f := &fields[i]
		if len(f.Path) > 0 && textscan.HasToken(f.Path[len(f.Path)-1]) {
			return nil, TokenOutsideCardField("a field name")
		}
		if f.Kind == bodyrewrite.Object {
			continue
		}
		role := c.Rules.Of(f.Path)
		v := f.Value
		switch {
		case token.IsCVC(v):
			if role != fieldmap.CVC {
				return nil, TokenOutsideCardField(fmt.Sprintf("field %q", fieldmap.SafeName(f)))
			}
			if _, seen := p.cvcFields[v]; !seen {
				p.cvcs = append(p.cvcs, v)
			}
			p.cvcFields[v] = append(p.cvcFields[v], f)
			continue
		case token.IsPAN(v) || (role == fieldmap.PAN && pres && token.IsPreserving(v)):
			// Every card token is looked up (and so validated), also one
			// that only names the card whose expiry or holder to fill in.
			if role != fieldmap.PAN && !role.Fillable() {
				return nil, TokenOutsideCardField(fmt.Sprintf("field %q", fieldmap.SafeName(f)))
			}
			if _, seen := p.cardFields[v]; !seen {
				p.cards = append(p.cards, v)
				p.cardFields[v] = nil
			}
			if role.Fillable() {
				p.fill[role] = append(p.fill[role], f)
			} else {
				p.cardFields[v] = append(p.cardFields[v], f)
			}
			continue
		case f.Kind != bodyrewrite.Other && textscan.HasToken(v):
			return nil, TokenOutsideCardField(fmt.Sprintf("field %q", fieldmap.SafeName(f)))
		}
		// Empty/null expiry and holder fields are filled when the body
		// carries exactly one card.
		if role.Fillable() && (v == "" || (v == "null" && f.Kind == bodyrewrite.Other)) {
			p.fill[role] = append(p.fill[role], f)
		}
	}
	return p, nil
}

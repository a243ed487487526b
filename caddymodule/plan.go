package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
)

// panGroup is one distinct card in the body (the same PAN in several fields
// is one card) and the fields that hold it.
type panGroup struct {
	pan    string
	format token.Format
	fields []*bodyrewrite.Field
	parent string
	card.Card
	token token.Issued
}

type cvcGroup struct {
	cvc    string
	fields []*bodyrewrite.Field
	token  string
}

type plan struct {
	pans    []*panGroup
	cvcs    []*cvcGroup
	expiry  map[string]string // parent path → expiry
	month   map[string]string
	year    map[string]string
	holders map[string]string
}

type fieldFormat struct {
	pat    bodyrewrite.Pattern
	format token.Format
}

// formatOf is the token format for a PAN found at path.
func (t *Tokenize) formatOf(path []string) token.Format {
	for _, ff := range t.formats {
		if ff.pat.Match(path) {
			return ff.format
		}
	}
	return t.format
}

// plan decides what each field is, refusing token injection, card data it
// could not replace, invalid card fields and requests over the limits.
// Error messages name fields (masked), never values.
func (t *Tokenize) plan(fields []bodyrewrite.Field) (*plan, *refusal.Error) {
	p := &plan{expiry: map[string]string{}, month: map[string]string{}, year: map[string]string{}, holders: map[string]string{}}
	panIdx := map[string]*panGroup{}
	cvcIdx := map[string]*cvcGroup{}
	threeDS := fieldmap.Is3DSReturn(fields)
	pres := t.app.preservingTokens()
	for i := range fields {
		f := &fields[i]
		if herr := checkName(f, pres); herr != nil {
			return nil, herr
		}
		if f.Kind == bodyrewrite.Object {
			continue
		}
		if f.Kind == bodyrewrite.File {
			// Uploads are never rewritten: one that carries card data is
			// refused (PHP reads filename="" as a file, Go as a value).
			if herr := checkText(f.Value, "file upload "+safeName(f)); herr != nil {
				return nil, herr
			}
			if pres && textscan.PreservingRun(f.Value, false) {
				return nil, errToken("file upload " + safeName(f))
			}
			continue
		}
		v := strings.TrimSpace(f.Value)
		if f.Kind != bodyrewrite.Other && (textscan.HasToken(v) || (pres && textscan.IsPreservingToken(v))) {
			return nil, errToken(fmt.Sprintf("field %q", safeName(f)))
		}
		role := t.roleOf(*f)
		if f.Kind == bodyrewrite.Other && role != fieldmap.None {
			continue // null / true / false in a card field: nothing to protect
		}
		switch role {
		case fieldmap.PAN:
			if v == "" {
				continue
			}
			pan, ok := panValue(f, v)
			if !ok || !card.Valid(pan) {
				return nil, refusal.New(refusal.InvalidCardNumber, fmt.Sprintf("field %q is not a valid card number (12–19 digits, spaces or dashes allowed, Luhn check)", safeName(f)))
			}
			addPAN(p, panIdx, pan, t.formatOf(f.Path), f)
			continue
		case fieldmap.CVC:
			if v == "" {
				continue
			}
			if !card.ValidCVC(v) {
				return nil, refusal.New(refusal.InvalidCVC, fmt.Sprintf("field %q is not a valid CVC (3 or 4 digits)", safeName(f)))
			}
			g := cvcIdx[v]
			if g == nil {
				g = &cvcGroup{cvc: v}
				cvcIdx[v] = g
				p.cvcs = append(p.cvcs, g)
			}
			g.fields = append(g.fields, f)
			continue
		case fieldmap.Expiry:
			p.expiry[f.Parent()] = v
		case fieldmap.ExpiryMonth:
			p.month[f.Parent()] = v
		case fieldmap.ExpiryYear:
			p.year[f.Parent()] = v
		case fieldmap.Holder:
			p.holders[f.Parent()] = v
		case fieldmap.Ignore:
			continue
		case fieldmap.None:
			if threeDS && fieldmap.Numeric(v) {
				continue // a numeric 3-D Secure return value (MD): byte for byte
			}
			if t.auto {
				if pan, ok := detectValue(f, v); ok {
					addPAN(p, panIdx, pan, t.formatOf(f.Path), f)
					continue
				}
			}
		}
		// What is left must not carry a card number cardproxy would not
		// replace: inside free text, next to other text, or (auto_detect
		// off) in a field not named as a card field — also as a number
		// parser reads it (4.111111111111111e15) — nor (auto_detect off) a
		// CVC in a field named like one.
		if herr := checkText(f.Value, fmt.Sprintf("field %q", safeName(f))); herr != nil {
			return nil, herr
		}
		if _, ok := detectValue(f, v); ok && role != fieldmap.Ignore {
			return nil, refusal.New(refusal.CardNumberInText, fmt.Sprintf("field %q holds a card number but is not a card field (auto_detect is off); name it with pan or turn auto_detect on", safeName(f)))
		}
		if !t.auto && role == fieldmap.None && fieldmap.NamedLikeCVC(f) && card.ValidCVC(v) {
			return nil, errCVCInText(fmt.Sprintf("field %q (named like a CVC field, not configured as one; auto_detect off)", safeName(f)))
		}
	}
	if len(p.pans) > t.MaxCards {
		return nil, refusal.New(refusal.TooManyCards, fmt.Sprintf("the request carries more than %d card numbers (max_cards)", t.MaxCards))
	}
	if len(p.cvcs) > t.MaxCVCs {
		return nil, refusal.New(refusal.TooManyCVCs, fmt.Sprintf("the request carries more than %d CVCs (max_cvcs)", t.MaxCVCs))
	}
	// Attach expiry and holder to each card: same parent object first; with
	// a single card, any expiry/holder field in the body.
	for _, g := range p.pans {
		g.Card = card.Card{PAN: g.pan}
		g.Expiry = pick(p.expiry, g.parent, len(p.pans) == 1)
		if g.Expiry == "" {
			m, y := pick(p.month, g.parent, len(p.pans) == 1), pick(p.year, g.parent, len(p.pans) == 1)
			if m != "" && y != "" {
				g.Expiry = m + "/" + y
			}
		}
		g.Holder = pick(p.holders, g.parent, len(p.pans) == 1)
	}
	return p, nil
}

// panValue reads a named card field: a string of digits with spaces or
// dashes, or a JSON number (also in exponent or decimal form).
func panValue(f *bodyrewrite.Field, v string) (string, bool) {
	if f.Kind == bodyrewrite.Number {
		if d, ok := card.FromJSONNumber(v); ok {
			return d, true
		}
		return textscan.AsDouble(v, card.Valid)
	}
	return card.Normalize(v)
}

// detectValue is auto-detect: a whole value that is a card number (see
// card.Likely: not 12–13 digits, which are mostly barcodes and phone
// numbers; fields named as card numbers take those too) — for a
// JSON number, exactly or as the double every JavaScript, PHP and Python
// app (and Go's map[string]any) reads it as: 4111111111111110.9 is
// 4111111111111111 there.
func detectValue(f *bodyrewrite.Field, v string) (string, bool) {
	if f.Kind != bodyrewrite.Number {
		if pan, ok := card.Normalize(v); ok && card.Likely(pan) {
			return pan, true
		}
	}
	// A JSON number, or a string number parsers read as one
	// ("4.111111111111111e15").
	return textscan.NumericCard(v)
}

// addPAN groups fields by card and token format: the same card in two
// fields of one format gets one token.
func addPAN(p *plan, idx map[string]*panGroup, pan string, format token.Format, f *bodyrewrite.Field) {
	key := string(format) + "\x00" + pan
	g := idx[key]
	if g == nil {
		g = &panGroup{pan: pan, format: format, parent: f.Parent()}
		idx[key] = g
		p.pans = append(p.pans, g)
	}
	g.fields = append(g.fields, f)
}

func pick(m map[string]string, parent string, any bool) string {
	if v, ok := m[parent]; ok {
		return v
	}
	if any && len(m) == 1 {
		for _, v := range m {
			return v
		}
	}
	return ""
}

// exchange stores the cards and CVCs in Vault and returns the body edits.
func (t *Tokenize) exchange(ctx context.Context, p *plan) ([]bodyrewrite.Edit, *result, *refusal.Error) {
	res := &result{}
	var edits []bodyrewrite.Edit
	// One batch per token format (usually just one).
	for _, format := range []token.Format{token.FormatOpaque, token.FormatPreserveLast4} {
		var groups []*panGroup
		var cards []card.Card
		for _, g := range p.pans {
			if g.format == format {
				groups = append(groups, g)
				cards = append(cards, g.Card)
			}
		}
		if len(cards) == 0 {
			continue
		}
		toks, err := t.store.Tokenize(ctx, t.tenant, format, cards)
		if err != nil {
			return nil, res, vaultError(err)
		}
		for i, g := range groups {
			g.token = toks[i]
		}
	}
	for _, g := range p.pans {
		res.pans++
		if g.token.Reused {
			res.reused++
		}
		res.tokens = append(res.tokens, g.token.Token)
		for _, f := range g.fields {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(g.token.Token)})
			res.fields = append(res.fields, safeName(f))
		}
	}
	for _, g := range p.cvcs {
		tok, _, err := t.store.TokenizeCVC(ctx, t.tenant, g.cvc)
		if err != nil {
			return nil, res, vaultError(err)
		}
		g.token = tok
		res.cvcs++
		res.tokens = append(res.tokens, tok)
		for _, f := range g.fields {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(tok)})
			res.fields = append(res.fields, safeName(f))
		}
	}
	return edits, res, nil
}

func (t *Tokenize) setMetaHeaders(h http.Header, p *plan, res *result) {
	if len(p.pans) > 0 {
		var toks, brands, last4s, bins []string
		for _, g := range p.pans {
			toks = append(toks, g.token.Token)
			b := string(g.token.Meta.Brand)
			if b == "" {
				b = "unknown"
			}
			brands = append(brands, b)
			last4s = append(last4s, g.token.Meta.Last4)
			bins = append(bins, g.token.Meta.BIN)
		}
		h.Set(MetaHeaderPrefix+"Card-Token", strings.Join(toks, ", "))
		h.Set(MetaHeaderPrefix+"Card-Brand", strings.Join(brands, ", "))
		h.Set(MetaHeaderPrefix+"Card-Last4", strings.Join(last4s, ", "))
		if t.ExposeBIN {
			h.Set(MetaHeaderPrefix+"Card-Bin", strings.Join(bins, ", "))
		}
		h.Set(MetaHeaderPrefix+"Card-Expires", p.pans[0].token.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if len(p.cvcs) > 0 {
		var toks []string
		for _, g := range p.cvcs {
			toks = append(toks, g.token)
		}
		h.Set(MetaHeaderPrefix+"Cvc-Token", strings.Join(toks, ", "))
	}
	h.Set(MetaHeaderPrefix+"Tokenized", fmt.Sprintf("cards=%d; cvcs=%d", res.pans, res.cvcs))
}

// roleOf is an ingress field's role: the field rules under every reading of
// its name, and with auto-detect, CVC fields recognised by name.
func (t *Tokenize) roleOf(f bodyrewrite.Field) fieldmap.Role {
	role := t.rules.Ingress(&f)
	if role == fieldmap.None && t.auto && fieldmap.NamedLikeCVC(&f) && card.ValidCVC(strings.TrimSpace(f.Value)) {
		return fieldmap.CVC
	}
	return role
}

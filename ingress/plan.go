package ingress

import (
	"fmt"
	"strings"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
)

// Plan is what a request's card data becomes: each distinct card (the same
// PAN in several fields of one token format is one card) and each distinct
// CVC, with the body fields that hold it. It is plain data, decided without
// Vault; Exchange turns it into tokens and Apply writes them in.
type Plan struct {
	Cards []CardPlan
	CVCs  []CVCPlan
	// Purpose binds the plan's PAN tokens (Config.Purpose).
	Purpose token.Purpose
	// exempt are the fields the residual check lets hold a number: ignored
	// fields and numeric 3-D Secure return values.
	exempt []*bodyrewrite.Field
}

// CardPlan is one card to tokenize and the fields its token replaces.
type CardPlan struct {
	Card   card.Card
	Format token.Format
	Fields []*bodyrewrite.Field
	parent string // the object holding the first field: where its expiry and holder are looked for
}

// CVCPlan is one CVC to tokenize and the fields its token replaces.
type CVCPlan struct {
	CVC    string
	Fields []*bodyrewrite.Field
}

// Empty reports a plan with nothing to tokenize.
func (p *Plan) Empty() bool { return p == nil || len(p.Cards) == 0 && len(p.CVCs) == 0 }

// FieldFormat is a token format for the PANs found in fields matching a
// pattern (the route's field_formats).
type FieldFormat struct {
	Pattern bodyrewrite.Pattern
	Format  token.Format
}

// formatOf is the token format for a PAN found at path.
func (c *Config) formatOf(path []string) token.Format {
	for _, ff := range c.FieldFormats {
		if ff.Pattern.Match(path) {
			return ff.Format
		}
	}
	return c.Format
}

// plan decides what each field is, refusing token injection, card data it
// could not replace, invalid card fields and requests over the limits.
// Error messages name fields (masked), never values.
func (c *Config) plan(fields []bodyrewrite.Field) (*Plan, *refusal.Error) {
	p := &Plan{Purpose: c.Purpose}
	// Expiry, month, year and holder values by the path of their parent object.
	expiry, month, year, holders := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	panIdx := map[string]int{}
	cvcIdx := map[string]int{}
	threeDS := fieldmap.Is3DSReturn(fields)
	pres := c.Preserving()
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
			if herr := checkText(f.Value, func() string { return "file upload " + fieldmap.SafeName(f) }); herr != nil {
				return nil, herr
			}
			if pres && textscan.PreservingRun(f.Value, false) {
				return nil, errToken("file upload " + fieldmap.SafeName(f))
			}
			p.exempted(f, threeDS, c.roleOf(f))
			continue
		}
		v := strings.TrimSpace(f.Value)
		if f.Kind != bodyrewrite.Other && (textscan.HasToken(v) || (pres && textscan.IsPreservingToken(v))) {
			return nil, errToken(fmt.Sprintf("field %q", fieldmap.SafeName(f)))
		}
		role := c.roleOf(f)
		p.exempted(f, threeDS, role)
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
				return nil, refusal.New(refusal.InvalidCardNumber, fmt.Sprintf("field %q is not a valid card number (12–19 digits, spaces or dashes allowed, Luhn check)", fieldmap.SafeName(f)))
			}
			p.addCard(panIdx, pan, c.formatOf(f.Path), f)
			continue
		case fieldmap.CVC:
			if v == "" {
				continue
			}
			if !card.ValidCVC(v) {
				return nil, refusal.New(refusal.InvalidCVC, fmt.Sprintf("field %q is not a valid CVC (3 or 4 digits)", fieldmap.SafeName(f)))
			}
			i, ok := cvcIdx[v]
			if !ok {
				i = len(p.CVCs)
				cvcIdx[v] = i
				p.CVCs = append(p.CVCs, CVCPlan{CVC: v})
			}
			p.CVCs[i].Fields = append(p.CVCs[i].Fields, f)
			continue
		case fieldmap.Expiry:
			expiry[f.Parent()] = v
		case fieldmap.ExpiryMonth:
			month[f.Parent()] = v
		case fieldmap.ExpiryYear:
			year[f.Parent()] = v
		case fieldmap.Holder:
			holders[f.Parent()] = v
		case fieldmap.Ignore:
			continue
		case fieldmap.None:
			if threeDS && fieldmap.Numeric(v) {
				continue // a numeric 3-D Secure return value (MD): byte for byte
			}
			if c.Auto {
				if pan, ok := detectValue(f, v); ok {
					p.addCard(panIdx, pan, c.formatOf(f.Path), f)
					continue
				}
			}
		}
		// What is left must not carry a card number cardproxy would not
		// replace: inside free text, next to other text, or (auto_detect
		// off) in a field not named as a card field — also as a number
		// parser reads it (4.111111111111111e15) — nor (auto_detect off) a
		// CVC in a field named like one.
		if herr := checkText(f.Value, func() string { return fmt.Sprintf("field %q", fieldmap.SafeName(f)) }); herr != nil {
			return nil, herr
		}
		if _, ok := detectValue(f, v); ok && role != fieldmap.Ignore {
			return nil, refusal.New(refusal.CardNumberInText, fmt.Sprintf("field %q holds a card number but is not a card field (auto_detect is off); name it with pan or turn auto_detect on", fieldmap.SafeName(f)))
		}
		if !c.Auto && role == fieldmap.None && card.ValidCVC(v) && fieldmap.NamedLikeCVC(f) {
			return nil, errCVCInText(fmt.Sprintf("field %q (named like a CVC field, not configured as one; auto_detect off)", fieldmap.SafeName(f)))
		}
	}
	if len(p.Cards) > c.MaxCards {
		return nil, refusal.New(refusal.TooManyCards, fmt.Sprintf("the request carries more than %d card numbers (max_cards)", c.MaxCards))
	}
	if len(p.CVCs) > c.MaxCVCs {
		return nil, refusal.New(refusal.TooManyCVCs, fmt.Sprintf("the request carries more than %d CVCs (max_cvcs)", c.MaxCVCs))
	}
	// Attach expiry and holder to each card: same parent object first; with
	// a single card, any expiry/holder field in the body.
	one := len(p.Cards) == 1
	for i := range p.Cards {
		g := &p.Cards[i]
		g.Card.Expiry = pick(expiry, g.parent, one)
		if g.Card.Expiry == "" {
			if m, y := pick(month, g.parent, one), pick(year, g.parent, one); m != "" && y != "" {
				g.Card.Expiry = m + "/" + y
			}
		}
		g.Card.Holder = pick(holders, g.parent, one)
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

// exempted notes a field the residual check lets hold a number.
func (p *Plan) exempted(f *bodyrewrite.Field, threeDS bool, role fieldmap.Role) {
	if (threeDS && fieldmap.Numeric(f.Value)) || role == fieldmap.Ignore {
		p.exempt = append(p.exempt, f)
	}
}

// addCard groups fields by card and token format: the same card in two
// fields of one format gets one token.
func (p *Plan) addCard(idx map[string]int, pan string, format token.Format, f *bodyrewrite.Field) {
	key := string(format) + "\x00" + pan
	i, ok := idx[key]
	if !ok {
		i = len(p.Cards)
		idx[key] = i
		p.Cards = append(p.Cards, CardPlan{Card: card.Card{PAN: pan}, Format: format, parent: f.Parent()})
	}
	p.Cards[i].Fields = append(p.Cards[i].Fields, f)
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

// roleOf is an ingress field's role: the field rules under every reading of
// its name, and with auto-detect, CVC fields recognised by name.
func (c *Config) roleOf(f *bodyrewrite.Field) fieldmap.Role {
	role := c.Rules.Ingress(f)
	if role == fieldmap.None && c.Auto && card.ValidCVC(strings.TrimSpace(f.Value)) && fieldmap.NamedLikeCVC(f) {
		return fieldmap.CVC
	}
	return role
}

// Format prints a CVC plan without the CVC, whatever the verb.
func (c CVCPlan) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "a CVC in %d fields", len(c.Fields)) }

package ingress

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/token"
)

// MetaHeaders tells the app what it got instead of card data, in
// Cardproxy-* request headers (body order, comma-separated): the tokens,
// brand, last 4, the first token's expiry, and with exposeBIN the BIN.
func MetaHeaders(h http.Header, p *Plan, t Tokens, exposeBIN bool) {
	if len(p.Cards) > 0 {
		var toks, brands, last4s, bins []string
		for _, c := range t.Cards {
			toks = append(toks, c.Token)
			b := string(c.Meta.Brand)
			if b == "" {
				b = "unknown"
			}
			brands = append(brands, b)
			last4s = append(last4s, c.Meta.Last4)
			bins = append(bins, c.Meta.BIN)
		}
		h.Set(token.MetaHeaderPrefix+"Card-Token", strings.Join(toks, ", "))
		h.Set(token.MetaHeaderPrefix+"Card-Brand", strings.Join(brands, ", "))
		h.Set(token.MetaHeaderPrefix+"Card-Last4", strings.Join(last4s, ", "))
		if exposeBIN {
			h.Set(token.MetaHeaderPrefix+"Card-Bin", strings.Join(bins, ", "))
		}
		h.Set(token.MetaHeaderPrefix+"Card-Expires", t.Cards[0].ExpiresAt.UTC().Format(time.RFC3339))
	}
	if len(p.CVCs) > 0 {
		h.Set(token.MetaHeaderPrefix+"Cvc-Token", strings.Join(t.CVCs, ", "))
	}
	h.Set(token.MetaHeaderPrefix+"Tokenized", fmt.Sprintf("cards=%d; cvcs=%d", len(p.Cards), len(p.CVCs)))
}

// All is every token issued, cards first.
func (t Tokens) All() []string {
	out := make([]string, 0, len(t.Cards)+len(t.CVCs))
	for _, c := range t.Cards {
		out = append(out, c.Token)
	}
	return append(out, t.CVCs...)
}

// Reused counts the card tokens that already existed (dedupe).
func (t Tokens) Reused() int {
	n := 0
	for _, c := range t.Cards {
		if c.Reused {
			n++
		}
	}
	return n
}

// FieldNames are the names of the fields the plan tokenizes, masked, for logs.
func (p *Plan) FieldNames() []string {
	var out []string
	for _, g := range p.Cards {
		for _, f := range g.Fields {
			out = append(out, fieldmap.SafeName(f))
		}
	}
	for _, g := range p.CVCs {
		for _, f := range g.Fields {
			out = append(out, fieldmap.SafeName(f))
		}
	}
	return out
}

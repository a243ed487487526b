// Package fieldmap says what each field of a card request is: the roles
// (card number, CVC, expiry, holder, ignored), the rules that name fields by
// path, the PSP presets, the names CVC fields go by, and the fields of a 3-D
// Secure return. Both directions use it: the ingress to find card data, the
// egress to know where tokens may be swapped back. It is pure: no I/O.
package fieldmap

import (
	"strings"
	"unicode"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
)

// Role is what a body field is to cardproxy.
type Role int

// Roles.
const (
	None Role = iota
	PAN
	CVC
	Expiry
	ExpiryMonth
	ExpiryYear
	Holder
	Ignore
)

// rank orders roles by what they protect: a field that any reading makes a
// card field is a card field.
func (r Role) rank() int {
	switch r {
	case PAN, CVC:
		return 3
	case Expiry, ExpiryMonth, ExpiryYear, Holder:
		return 2
	case Ignore:
		return 1
	}
	return 0
}

// Secret reports a role whose value is card data to tokenize: PAN or CVC.
func (r Role) Secret() bool { return r.rank() == 3 }

// Fillable reports a role the egress fills in from a card's record: expiry
// (one field or month and year) and holder.
func (r Role) Fillable() bool { return r.rank() == 2 }

// Set names the card fields of a body, by role.
type Set struct {
	PAN, CVC, Expiry, ExpiryMonth, ExpiryYear, Holder []string
}

// Plus is s with o's names added.
func (s Set) Plus(o Set) Set {
	both := func(a, b []string) []string { return append(append([]string{}, a...), b...) }
	return Set{PAN: both(s.PAN, o.PAN), CVC: both(s.CVC, o.CVC), Expiry: both(s.Expiry, o.Expiry),
		ExpiryMonth: both(s.ExpiryMonth, o.ExpiryMonth), ExpiryYear: both(s.ExpiryYear, o.ExpiryYear),
		Holder: both(s.Holder, o.Holder)}
}

type rule struct {
	pat  bodyrewrite.Pattern
	role Role
}

// Rules are a route's field rules, in order.
type Rules []rule

// Compile turns field names into ordered rules: card roles first (so a
// named PAN or CVC field is never ignored), then the ignore list.
func Compile(f Set, ignore []string) Rules {
	var rules Rules
	for _, g := range []struct {
		names []string
		role  Role
	}{
		{f.PAN, PAN}, {f.CVC, CVC}, {f.Expiry, Expiry}, {f.ExpiryMonth, ExpiryMonth},
		{f.ExpiryYear, ExpiryYear}, {f.Holder, Holder}, {ignore, Ignore},
	} {
		for _, n := range g.names {
			rules = append(rules, rule{pat: bodyrewrite.ParsePattern(n), role: g.role})
		}
	}
	return rules
}

// Of is the role of the first rule matching path.
func (rs Rules) Of(path []string) Role {
	for _, r := range rs {
		if r.pat.Match(path) {
			return r.role
		}
	}
	return None
}

// Ingress is the role of an ingress body field under every reading an app
// parser may give its name: cardproxy's path, PHP's ($_POST mangles
// "card.number" into card_number), and any enclosing card field (PHP and qs
// read cvc[]=123 or card_number[0]=… as arrays under the card field).
func (rs Rules) Ingress(f *bodyrewrite.Field) Role {
	role := None
	for _, p := range f.Readings() {
		if r := rs.Of(p); r.rank() > role.rank() {
			role = r
		}
	}
	if role.Secret() {
		return role
	}
	for _, p := range f.Readings() {
		for k := len(p) - 1; k >= 1; k-- {
			if r := rs.Of(p[:k]); r.Secret() {
				return r
			}
		}
	}
	return role
}

// NamesCVC reports whether a CVC rule of rs ends in the segment last
// ("gateway_info.card_cvc" names card_cvc anywhere), case-insensitively.
func (rs Rules) NamesCVC(last string) bool {
	for _, r := range rs {
		if r.role == CVC && strings.EqualFold(r.pat.Last(), last) {
			return true
		}
	}
	return false
}

// cvcNames are the names shops and PSP SDKs give CVC fields. With
// auto-detect on, a field whose last segment (in any reading) is one of
// them holds a CVC when its value is 3 or 4 digits, at any depth: a CVC has
// no checksum, so its name is all there is to recognise it by.
var cvcNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"cvc", "cvv", "cvc2", "cvv2", "cvn", "cvd", "csc", "cc_cid", "cc_cvc", "cc_cvv",
		"card_cvc", "card_cvv", "card_cvc2", "card_cvv2", "cardcvc", "cardcvv", "security_code", "securitycode",
		"card_security_code", "cardsecuritycode", "card_code", "cardcode", "verification_value", "verification_code",
		"cvc_code", "cvv_code", "cvvcode", "cvccode"} {
		m[n] = true
	}
	return m
}()

// IsCVCName reports whether a name segment is one CVC fields go by.
func IsCVCName(s string) bool { return cvcNames[cvcName(s)] }

// CVCNames lists the names CVC fields go by (folded: lower case, '_').
func CVCNames() []string {
	out := make([]string, 0, len(cvcNames))
	for n := range cvcNames {
		out = append(out, n)
	}
	return out
}

// cvcName folds a name segment the way the most lenient parser compares
// names: Unicode case folding as Go's encoding/json does (ſ is s, K is k),
// PHP's separators as '_', cut at a NUL byte as PHP does.
func cvcName(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case 'ſ':
			return 's'
		case 'K':
			return 'k'
		case ' ', '.', '[', '-':
			return '_'
		}
		return unicode.ToLower(r)
	}, s)
}

// NamedLikeCVC reports whether a field's name says it holds a CVC.
func NamedLikeCVC(f *bodyrewrite.Field) bool {
	for _, p := range f.Readings() {
		if len(p) > 0 && cvcNames[cvcName(p[len(p)-1])] {
			return true
		}
		// cvc[]=… and card[cvc][0]=…: an array under a CVC name.
		if len(p) > 1 && cvcNames[cvcName(p[len(p)-2])] {
			if last := p[len(p)-1]; last == "" || card.Digits(last) {
				return true
			}
		}
	}
	return false
}

// SafeName is a field's name for messages and logs, card numbers masked.
func SafeName(f *bodyrewrite.Field) string { return card.Printable(card.Redact(f.Name()), 128) }

package caddymodule

import (
	"strings"
	"unicode"

	"github.com/cardproxy/cardproxy/bodyrewrite"
)

// fieldRole is what a body field is to cardproxy.
type fieldRole int

const (
	roleNone fieldRole = iota
	rolePAN
	roleCVC
	roleExpiry
	roleExpiryMonth
	roleExpiryYear
	roleHolder
	roleIgnore
)

type rule struct {
	pat  bodyrewrite.Pattern
	role fieldRole
}

// fieldSet names the card fields of a body, by role.
type fieldSet struct {
	PAN, CVC, Expiry, ExpiryMonth, ExpiryYear, Holder []string
}

// compileRules turns field names into ordered rules: card roles first (so a
// named PAN or CVC field is never ignored), then the ignore list.
func compileRules(f fieldSet, ignore []string) []rule {
	var rules []rule
	for _, g := range []struct {
		names []string
		role  fieldRole
	}{
		{f.PAN, rolePAN}, {f.CVC, roleCVC}, {f.Expiry, roleExpiry}, {f.ExpiryMonth, roleExpiryMonth},
		{f.ExpiryYear, roleExpiryYear}, {f.Holder, roleHolder}, {ignore, roleIgnore},
	} {
		for _, n := range g.names {
			rules = append(rules, rule{pat: bodyrewrite.ParsePattern(n), role: g.role})
		}
	}
	return rules
}

// roleOf is the role of the first rule matching path.
func roleOf(rules []rule, path []string) fieldRole {
	for _, r := range rules {
		if r.pat.Match(path) {
			return r.role
		}
	}
	return roleNone
}

// rank orders roles by what they protect: a field that any reading makes a
// card field is a card field.
func (r fieldRole) rank() int {
	switch r {
	case rolePAN, roleCVC:
		return 3
	case roleExpiry, roleExpiryMonth, roleExpiryYear, roleHolder:
		return 2
	case roleIgnore:
		return 1
	}
	return 0
}

// ingressRole is the role of an ingress body field under every reading an
// app parser may give its name: cardproxy's path, PHP's ($_POST mangles
// "card.number" into card_number), and any enclosing card field (PHP and qs
// read cvc[]=123 or card_number[0]=… as arrays under the card field).
func ingressRole(rules []rule, f *bodyrewrite.Field) fieldRole {
	role := roleNone
	for _, p := range f.Readings() {
		if r := roleOf(rules, p); r.rank() > role.rank() {
			role = r
		}
	}
	if role.rank() == 3 {
		return role
	}
	for _, p := range f.Readings() {
		for k := len(p) - 1; k >= 1; k-- {
			if r := roleOf(rules, p[:k]); r.rank() == 3 {
				return r
			}
		}
	}
	return role
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

// namedLikeCVC reports whether a field's name says it holds a CVC.
func namedLikeCVC(f *bodyrewrite.Field) bool {
	for _, p := range f.Readings() {
		if len(p) > 0 && cvcNames[cvcName(p[len(p)-1])] {
			return true
		}
		// cvc[]=… and card[cvc][0]=…: an array under a CVC name.
		if len(p) > 1 && cvcNames[cvcName(p[len(p)-2])] {
			if last := p[len(p)-1]; last == "" || isDigits(last) {
				return true
			}
		}
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

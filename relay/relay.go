// Package relay is cardproxy's 3-D Secure relay: the POST-style redirects a
// PSP answers with (the shopper's browser must POST PaReq/MD/TermUrl or a
// PSP page to the issuer's ACS) are found in the answer (Find), kept for a
// few minutes by a Store (the token vault, in Vault, so any instance can
// serve them), replaced in the answer by a plain GET link, and served once
// as an auto-submitting page (Page). No card data is in a redirect: the
// egress masks it before it is stored.
package relay

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/token"
)

// Redirect is a 3-D Secure POST redirect kept for the shopper's browser:
// either a form (Action + Fields, e.g. PaReq, MD, TermUrl) or a PSP-supplied
// HTML page.
type Redirect struct {
	Action string            `json:"action,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
	HTML   string            `json:"html,omitempty"`
}

// Strings calls f on every string of the redirect (action, field values,
// HTML) and keeps what it returns: how the egress masks a redirect.
func (r *Redirect) Strings(f func(string) string) {
	r.Action, r.HTML = f(r.Action), f(r.HTML)
	for k, v := range r.Fields {
		r.Fields[k] = f(v)
	}
}

// Text is every string of the redirect, names included, on lines: what the
// egress checks for card data masking could not reach.
func (r *Redirect) Text() string {
	all := r.Action + "\n" + r.HTML
	for k, v := range r.Fields {
		all += "\n" + k + "=" + v
	}
	return all
}

// Store keeps redirects for a while and hands each out once.
type Store interface {
	PutRelay(ctx context.Context, tenant string, r Redirect, ttl time.Duration) (id string, err error)
	// TakeRelay returns a redirect once (token.ErrNotFound after that, or
	// token.ErrExpired).
	TakeRelay(ctx context.Context, tenant, id string) (Redirect, error)
	// PeekRelay reports whether a redirect can still be taken, without
	// taking it (HEAD).
	PeekRelay(ctx context.Context, tenant, id string) error
}

var idPattern = regexp.MustCompile(`^` + token.RelayPrefix + `[0-9A-Za-z]{24}$`)

// IsID reports whether s has the shape of a relay id.
func IsID(s string) bool { return idPattern.MatchString(s) }

// NewID draws a relay id (random, unrelated to anything in the redirect).
func NewID() (string, error) { return token.NewOpaque(token.RelayPrefix) }

// Candidate is a POST-style redirect found in a PSP's JSON answer.
type Candidate struct {
	// Object is the JSON object the redirect replaces.
	Object   *bodyrewrite.Field
	Redirect Redirect
	replace  map[string]string
}

// Replacement is the JSON object that takes the place of Object: a GET
// redirect to link.
func (c *Candidate) Replacement(link string) []byte {
	m := map[string]string{"url": link}
	for k, v := range c.replace {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// Find returns the POST-style 3-D Secure redirects in a JSON answer:
// Adyen's `action` {method POST, url, data} and MultiSafepay's
// `data.customer_verification` {type form, html}. GET redirects carry no
// card data and are not relayed.
func Find(fields []bodyrewrite.Field) []Candidate {
	byName := map[string]*bodyrewrite.Field{}
	for i := range fields {
		byName[fields[i].Name()] = &fields[i]
	}
	val := func(n string) string {
		if f := byName[n]; f != nil && f.Kind == bodyrewrite.String {
			return f.Value
		}
		return ""
	}
	var out []Candidate
	// Adyen: action.method == POST.
	if obj := byName["action"]; obj != nil && obj.Kind == bodyrewrite.Object && strings.EqualFold(val("action.method"), "POST") && val("action.url") != "" {
		r := Redirect{Action: val("action.url"), Fields: map[string]string{}}
		for i := range fields {
			f := &fields[i]
			if len(f.Path) == 3 && f.Path[0] == "action" && f.Path[1] == "data" && f.Kind == bodyrewrite.String {
				r.Fields[f.Path[2]] = f.Value
			}
		}
		repl := map[string]string{"type": "redirect", "method": "GET"}
		if pmt := val("action.paymentMethodType"); pmt != "" {
			repl["paymentMethodType"] = pmt
		}
		out = append(out, Candidate{Object: obj, Redirect: r, replace: repl})
	}
	// MultiSafepay: data.customer_verification {type: form, html}.
	if obj := byName["data.customer_verification"]; obj != nil && obj.Kind == bodyrewrite.Object &&
		val("data.customer_verification.type") == "form" && val("data.customer_verification.html") != "" {
		out = append(out, Candidate{Object: obj, Redirect: Redirect{HTML: val("data.customer_verification.html")},
			replace: map[string]string{"type": "redirect"}})
	}
	return out
}

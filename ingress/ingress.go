// Package ingress is card_tokenize's core, without Caddy and without Vault:
// a shopper's request walks through it in one direction.
//
//	Check    request line, path, query, headers, then the body: read,
//	         classify, scan into fields (httpbody, bodyrewrite), plan which
//	         value is a card number, CVC, expiry or holder (plan.go), and the
//	         residual check: no card number outside a value cardproxy replaces
//	Exchange the plan's card data for tokens through a Tokenizer (Vault)
//	Apply    the tokens into the body, then the final check on what the app
//	         will get
//
// Whatever cannot be read with certainty is refused with a refusal code
// (fail closed); every refusal names fields, never values.
package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
)

// Config is one card_tokenize route, compiled.
type Config struct {
	Rules fieldmap.Rules
	// Auto: auto-detect card numbers (and CVCs by field name) outside the
	// named fields.
	Auto bool
	// Format of PAN tokens, and per-field exceptions.
	Format       token.Format
	FieldFormats []FieldFormat
	// Limits of one body: size (before and after gzip), values, nesting,
	// distinct cards and CVCs.
	MaxBody           int64
	Limits            bodyrewrite.Limits
	MaxCards, MaxCVCs int
	// Purpose binds the PAN tokens issued (token.Purpose: the egress
	// upstreams allowed to detokenize them); "" binds nothing.
	Purpose token.Purpose
	// Preserving reports whether format-preserving tokens are in use, so
	// values shaped like one are refused. A func: it is known only once
	// every handler of the config is provisioned.
	Preserving func() bool
}

// Request is a checked request: the body the app gets (as sent, decoded
// from gzip) and the plan for its card data.
type Request struct {
	r    *http.Request
	body []byte
	// Plan is nil for a request without a body; empty for a body without
	// card data.
	Plan *Plan
}

// Check checks a request and, when it has a body, reads, scans and plans
// it. A request it returns without card data (Plan.Empty) is ready to
// forward; one with card data goes through Exchange and Apply.
func (c *Config) Check(r *http.Request) (*Request, *refusal.Error) {
	pres := c.Preserving()
	if r.Header.Get("Upgrade") != "" || strings.EqualFold(r.Method, http.MethodConnect) {
		// After a 101 (WebSocket) or a CONNECT, reverse_proxy pipes bytes
		// both ways uninspected: a card route cannot carry a tunnel.
		return nil, refusal.New(refusal.UpgradeNotAllowed, "card routes do not carry WebSocket or other upgraded connections (nor CONNECT); serve them on a route without card_tokenize and send card data in request bodies")
	}
	if rerr := checkRequestLine(r, pres); rerr != nil {
		return nil, rerr
	}
	if rerr := checkPath(r.URL.EscapedPath(), pres); rerr != nil {
		return nil, rerr
	}
	if rerr := c.checkQuery(r.URL.RawQuery, pres); rerr != nil {
		return nil, rerr
	}
	if rerr := CheckHeaders(r.Header, pres); rerr != nil {
		return nil, rerr
	}
	q := &Request{r: r}
	if r.Body == nil || r.Body == http.NoBody {
		return q, nil
	}
	kind, params, rerr := httpbody.Classify(r.Header)
	if rerr != nil {
		return nil, rerr
	}
	gz, rerr := httpbody.ContentEncoding(r.Header)
	if rerr != nil {
		return nil, rerr
	}
	body, rerr := httpbody.Read(r, c.MaxBody)
	if rerr != nil {
		return nil, rerr
	}
	if gz {
		var err error
		if body, err = httpbody.Gunzip(body, c.MaxBody); errors.Is(err, httpbody.ErrDecodedTooLarge) {
			return nil, httpbody.TooLarge(c.MaxBody)
		} else if err != nil {
			return nil, refusal.New(refusal.MalformedBody, "Content-Encoding is gzip but the body is not valid gzip")
		}
		// The app always gets the decoded body: a gzip header's file name,
		// comment and extra field are bytes no check reads.
		r.Header.Del("Content-Encoding")
	}
	if len(r.Trailer) > 0 {
		// Go's r.Trailer, Node's req.trailers: headers after the body,
		// which reverse_proxy forwards.
		return nil, refusal.New(refusal.TrailersNotAllowed, "card requests cannot carry HTTP trailers; send every header before the body")
	}
	q.body = body
	q.Plan = &Plan{}
	if kind == httpbody.None || kind == httpbody.Other || (kind == httpbody.Form && httpbody.LooksJSON(body)) {
		if !json.Valid(body) {
			// Not a format cardproxy parses: forwarded only if it provably
			// carries no card data.
			if rerr := checkUnparsed(body, pres); rerr != nil {
				return nil, rerr
			}
			q.setBody(body)
			return q, nil
		}
		// JSON without a JSON type (fetch() sends text/plain), or under a
		// form type: PHP's json_decode(php://input), Werkzeug's
		// get_json(force=True) and friends read it anyway, so cardproxy
		// does too.
		kind = httpbody.JSON
	}
	fields, rerr := httpbody.Scan(kind, params, body, c.Limits)
	if rerr != nil {
		return nil, rerr
	}
	if q.Plan, rerr = c.plan(fields); rerr != nil {
		return nil, rerr
	}
	if rerr := residualCheck(body, q.Plan); rerr != nil {
		return nil, rerr
	}
	q.setBody(body) // as it is until Apply
	return q, nil
}

// Apply writes the tokens into the body (bodyrewrite.Apply), runs the final
// check on the result and makes it the request's body.
func (q *Request) Apply(t Tokens) *refusal.Error {
	var edits []bodyrewrite.Edit
	for i, g := range q.Plan.Cards {
		for _, f := range g.Fields {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(t.Cards[i].Token)})
		}
	}
	for i, g := range q.Plan.CVCs {
		for _, f := range g.Fields {
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(t.CVCs[i])})
		}
	}
	out := bodyrewrite.Apply(q.body, edits)
	if rerr := finalCheck(out, q.Plan, t); rerr != nil {
		return rerr
	}
	q.setBody(out)
	return nil
}

func (q *Request) setBody(b []byte) {
	r := q.r
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.TransferEncoding = nil
}

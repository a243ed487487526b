package caddymodule

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/vault"
)

// responseLimits bound the PSP answers cardproxy parses.
var responseLimits = bodyrewrite.Limits{MaxDepth: 64, MaxFields: 50000}

// relayResponse passes the PSP's answer to the app. Every answer — any
// status, any content type, headers and Location included — is read (up to
// MaxResponse, else withheld) and every card number in it is masked to its
// last four digits: the ones this request sent in any representation, and
// any Luhn-valid number. The CVCs this request sent are masked too.
// POST-style 3-D Secure redirects are turned into GET redirects when
// relay_3ds is set.
func (d *Detokenize) relayResponse(w http.ResponseWriter, r *http.Request, resp *http.Response, reqID string, sent secrets) error {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Del("Content-Length")
	mk := newMasker(sent)
	masked := 0
	for k, vs := range h {
		if card.Contains(k, mk.pans) {
			delete(h, k) // a header name cannot be masked
			masked++
			continue
		}
		// CVCs only where a PSP could reflect a request value (a URL, a
		// cookie, its own X- headers): "max-age=300" is no CVC echo.
		cvc := echoHeader(k)
		for i, v := range vs {
			vs[i] = mk.mask(v, cvc, &masked)
			if mk.left(vs[i], cvc) {
				return d.badGateway(w, reqID, refusal.PSPResponseUnmaskable, "the payment provider's answer carries this request's card data in a header in a form cardproxy cannot mask; it is withheld")
			}
		}
		h[k] = vs
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, d.MaxResponse+1))
	if err != nil {
		return d.badGateway(w, reqID, refusal.PSPReadError, "the payment provider's answer could not be read")
	}
	if int64(len(raw)) > d.MaxResponse {
		return d.badGateway(w, reqID, refusal.PSPResponseTooLarge, "the payment provider's answer exceeds max_response; cardproxy cannot scan it for card data, so it is withheld")
	}
	body := raw
	encs := resp.Header.Values("Content-Encoding")
	if len(encs) > 1 || strings.Contains(strings.Join(encs, ""), ",") {
		return d.badGateway(w, reqID, refusal.PSPResponseUnreadable, "the payment provider answered with several Content-Encodings, which cardproxy does not decode; the answer is withheld")
	}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		if body, err = httpbody.Gunzip(raw, d.MaxResponse); err != nil {
			return d.badGateway(w, reqID, refusal.PSPResponseUnreadable, "the payment provider's compressed answer could not be scanned")
		}
		h.Del("Content-Encoding")
	default:
		return d.badGateway(w, reqID, refusal.PSPResponseUnreadable, "the payment provider answered with a Content-Encoding cardproxy cannot scan")
	}

	kind := httpbody.MediaKind(httpbody.Essence(resp.Header.Get("Content-Type")))
	out, relays, unmaskable := d.scanResponse(r, body, kind, mk, &masked)
	if unmaskable || mk.left(string(out), kind != httpbody.JSON) {
		return d.badGateway(w, reqID, refusal.PSPResponseUnmaskable, "the payment provider's answer carries this request's card data in a form cardproxy cannot mask (e.g. UTF-16 text or escaped digits); it is withheld")
	}
	if masked > 0 {
		d.metrics.masked.Add(float64(masked))
		d.logger.Warn("masked card data in a PSP answer", zap.Int("count", masked), zap.String("upstream", d.upstream.Host),
			zap.String("route", r.URL.Path), zap.String("request_id", reqID))
	}
	for _, id := range relays {
		d.logger.Info("3-D Secure POST redirect relayed", zap.String("relay", id), zap.String("tenant", d.tenant), zap.String("request_id", reqID))
	}
	if r.Method != http.MethodHead && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(len(out)))
	}
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(out)
	return err
}

func (d *Detokenize) badGateway(w http.ResponseWriter, reqID string, code refusal.Code, msg string) error {
	d.metrics.requests.WithLabelValues(string(code)).Inc()
	d.logger.Error("PSP answer withheld", zap.String("code", string(code)), zap.String("upstream", d.upstream.Host), zap.String("request_id", reqID))
	for k := range w.Header() {
		w.Header().Del(k)
	}
	return refusal.New(code, msg).Write(w)
}

// masker hides one request's card data in what goes back to the app.
type masker struct {
	pans card.Matcher
	sent []string
	cvcs []string
}

func newMasker(s secrets) *masker {
	return &masker{pans: card.Either(card.AnyLuhn, card.OneOf(s.pans...)), sent: s.pans, cvcs: s.cvcs}
}

// text masks card numbers and, digit-bounded, the request's CVCs.
func (m *masker) text(s string, n *int) string { return m.mask(s, true, n) }

// mask masks card numbers and, if cvcs, the request's CVCs.
func (m *masker) mask(s string, cvcs bool, n *int) string {
	out, k := card.MaskAll(s, m.pans)
	*n += k
	if !cvcs {
		return out
	}
	return maskCVCs(out, m.cvcs, n)
}

// echoHeader: answer headers that may carry a reflected request value.
func echoHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Location", "Content-Location", "Refresh", "Link", "Set-Cookie":
		return true
	}
	return len(k) > 2 && strings.EqualFold(k[:2], "x-")
}

// left reports whether, after masking, any reading of s an app could make —
// decoded, without NUL bytes (UTF-16), without XML markup — still holds one
// of the request's card numbers or (for non-JSON answers, where numbers are
// text) one of its CVCs.
func (m *masker) left(s string, cvcs bool) bool {
	for _, t := range textscan.Readings(s) {
		if len(m.sent) > 0 && card.ContainsLoose(t, card.OneOf(m.sent...)) {
			return true
		}
		if cvcs {
			n := 0
			maskCVCs(t, m.cvcs, &n)
			if n > 0 {
				return true
			}
		}
	}
	return false
}

// cvcLeft reports whether a reading of s — decoded, with Unicode digits as
// ASCII — still holds one of the request's CVCs, digit-bounded.
func (m *masker) cvcLeft(s string) bool {
	if len(m.cvcs) == 0 {
		return false
	}
	for _, t := range textscan.Readings(s) {
		n := 0
		maskCVCs(asciiDigits(t), m.cvcs, &n)
		if n > 0 {
			return true
		}
	}
	return false
}

// asciiDigits maps every Unicode decimal digit to its ASCII digit.
func asciiDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if v, ok := card.DigitValue(r); ok {
			return rune('0' + v)
		}
		return r
	}, s)
}

// maskCVCs replaces each digit-bounded occurrence of a CVC with '*'s.
func maskCVCs(s string, cvcs []string, n *int) string {
	for _, c := range cvcs {
		if c == "" || !strings.Contains(s, c) {
			continue
		}
		var b strings.Builder
		i := 0
		for {
			j := strings.Index(s[i:], c)
			if j < 0 {
				break
			}
			j += i
			end := j + len(c)
			if (j == 0 || !isDigit(s[j-1])) && (end == len(s) || !isDigit(s[end])) {
				b.WriteString(s[i:j])
				b.WriteString(strings.Repeat("*", len(c)))
				*n++
			} else {
				b.WriteString(s[i:end])
			}
			i = end
		}
		b.WriteString(s[i:])
		s = b.String()
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanResponse masks a PSP answer. JSON is masked value by value (a masked
// number becomes a string, so the JSON stays valid) with 3-D Secure POST
// redirects relayed; then the whole body — keys, escapes, any other format —
// gets the text scan.
func (d *Detokenize) scanResponse(r *http.Request, body []byte, kind httpbody.Kind, mk *masker, masked *int) (out []byte, relays []string, unmaskable bool) {
	if kind == httpbody.JSON && len(bytes.TrimSpace(body)) > 0 {
		// A BOM is stripped by fetch().json() and Python's json.loads.
		bom := []byte{}
		if bytes.HasPrefix(body, httpbody.UTF8BOM) {
			bom, body = httpbody.UTF8BOM, body[len(httpbody.UTF8BOM):]
		}
		fields, herr := httpbody.Scan(httpbody.JSON, nil, body, responseLimits)
		if herr != nil {
			// JSON cardproxy cannot read (too deep, NaN, broken) that an
			// app's parser may still read: withheld, not text-masked.
			return nil, nil, true
		}
		{
			var edits []bodyrewrite.Edit
			var skip [][2]int
			if d.Relay3DS != "" {
				if edits, relays, skip, unmaskable = d.relay3DS(r, fields, mk); unmaskable {
					return nil, nil, true
				}
			}
			for i := range fields {
				f := &fields[i]
				if (f.Kind != bodyrewrite.String && f.Kind != bodyrewrite.Number) || inside(f, skip) {
					continue
				}
				before := *masked
				out, k := card.MaskAll(f.Value, mk.pans)
				*masked += k
				if f.Kind == bodyrewrite.Number && k == 0 {
					// 5.555555555554444E15 (Jackson writes doubles so):
					// every JSON parser reads the card.
					if dg, ok := numberDigits(f.Value, mk.pans); ok {
						out, k = card.MaskAll(dg, mk.pans)
						*masked += k
					}
				}
				if f.Kind == bodyrewrite.String || d.isCVCName(f) {
					out = maskCVCs(out, mk.cvcs, masked)
				}
				if f.Kind == bodyrewrite.String && mk.cvcLeft(out) {
					return nil, nil, true // the CVC escaped, full-width or percent-encoded
				}
				if k := f.Path; len(k) > 0 && !card.Digits(k[len(k)-1]) && mk.cvcLeft(k[len(k)-1]) { // not an array index
					return nil, nil, true // echoed in a key ("card_cvc 739": "invalid")
				}
				if *masked > before {
					edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(out)})
				}
			}
			body = bodyrewrite.Apply(body, edits)
			s, k := card.MaskAll(string(body), mk.pans)
			*masked += k
			return append(bom, s...), relays, false
		}
	}
	return []byte(mk.text(string(body), masked)), relays, false
}

func inside(f *bodyrewrite.Field, spans [][2]int) bool {
	s, e := f.Span()
	for _, sk := range spans {
		if s >= sk[0] && e <= sk[1] {
			return true
		}
	}
	return false
}

// isCVCName: a JSON field named like a CVC field — like one of the route's
// (by its last segment: "gateway_info.card_cvc" names card_cvc anywhere) or
// any common CVC name.
func (d *Detokenize) isCVCName(f *bodyrewrite.Field) bool {
	if len(f.Path) == 0 {
		return false
	}
	last := f.Path[len(f.Path)-1]
	return fieldmap.IsCVCName(last) || d.rules.NamesCVC(last)
}

// relay3DS replaces POST-style 3DS redirects with GET redirects to the
// card_3ds_relay route: Adyen `action` {method POST, url, data} and
// MultiSafepay `data.customer_verification` {type form, html}.
// Before it is stored, every value of the redirect is masked like the
// answer: a PSP that reflected card data into it cannot hand it to the
// shopper's browser or the app.
func (d *Detokenize) relay3DS(r *http.Request, fields []bodyrewrite.Field, mk *masker) (edits []bodyrewrite.Edit, ids []string, skip [][2]int, unmaskable bool) {
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
	base := strings.TrimRight(d.Relay3DS, "/") + "/"
	masked := 0
	put := func(obj *bodyrewrite.Field, rel vault.Relay, repl map[string]string) {
		rel.Action, rel.HTML = mk.text(rel.Action, &masked), mk.text(rel.HTML, &masked)
		all := rel.Action + "\n" + rel.HTML
		for k, v := range rel.Fields {
			rel.Fields[k] = mk.text(v, &masked)
			all += "\n" + k + "=" + rel.Fields[k]
		}
		// The relay page is public: the app can open it as well as the
		// shopper. What the masking cannot reach withholds the answer.
		if mk.left(all, true) {
			unmaskable = true
			return
		}
		id, err := d.store.PutRelay(r.Context(), d.tenant, rel, time.Duration(d.RelayTTL))
		if err != nil {
			d.logger.Error("3-D Secure relay not stored; the PSP's POST redirect is passed on as is", zap.Error(err))
			return
		}
		repl["url"] = base + id
		b, _ := json.Marshal(repl)
		edits = append(edits, bodyrewrite.Edit{Field: obj, Raw: b})
		s, e := obj.Span()
		skip = append(skip, [2]int{s, e})
		ids = append(ids, id)
	}
	// Adyen: action.method == POST.
	if obj := byName["action"]; obj != nil && obj.Kind == bodyrewrite.Object && strings.EqualFold(val("action.method"), "POST") && val("action.url") != "" {
		rel := vault.Relay{Action: val("action.url"), Fields: map[string]string{}}
		for i := range fields {
			f := &fields[i]
			if len(f.Path) == 3 && f.Path[0] == "action" && f.Path[1] == "data" && f.Kind == bodyrewrite.String {
				rel.Fields[f.Path[2]] = f.Value
			}
		}
		repl := map[string]string{"type": "redirect", "method": "GET"}
		if pmt := val("action.paymentMethodType"); pmt != "" {
			repl["paymentMethodType"] = pmt
		}
		put(obj, rel, repl)
	}
	// MultiSafepay: data.customer_verification {type: form, html}.
	if obj := byName["data.customer_verification"]; obj != nil && obj.Kind == bodyrewrite.Object &&
		val("data.customer_verification.type") == "form" && val("data.customer_verification.html") != "" {
		put(obj, vault.Relay{HTML: val("data.customer_verification.html")}, map[string]string{"type": "redirect"})
	}
	return edits, ids, skip, unmaskable
}

// numberDigits is a JSON number as the digits of an integer a parser reads
// (exactly, or as a double), when match accepts them.
func numberDigits(v string, match card.Matcher) (string, bool) {
	if d, ok := card.FromJSONNumber(v); ok && match(d) {
		return d, true
	}
	return textscan.AsDouble(v, match)
}

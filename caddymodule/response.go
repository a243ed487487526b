package caddymodule

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/vault"
)

// relayResponse passes the PSP's answer to the app. Redirects, HTML and
// binary bodies stream untouched; JSON, form and text answers are read (up to
// MaxResponse) and every card number in them is masked to its last four
// digits before the app sees them. POST-style 3-D Secure redirects are turned
// into GET redirects when relay_3ds is set.
func (d *Detokenize) relayResponse(w http.ResponseWriter, r *http.Request, resp *http.Response, reqID string) error {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	kind := mediaKind(mt)
	// Bodies worth scanning: 2xx (but 204) and error answers; not
	// redirects, not HEAD. Formats: JSON, form, text other than HTML.
	// HTML (3DS pages) and binaries pass byte for byte.
	hasBody := (resp.StatusCode >= 200 && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent) || resp.StatusCode >= 400
	textual := kind == kindJSON || kind == kindForm || mt == "" || (strings.HasPrefix(mt, "text/") && mt != "text/html")
	if !hasBody || !textual || r.Method == http.MethodHead {
		w.WriteHeader(resp.StatusCode)
		_, err := io.Copy(w, resp.Body)
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, d.MaxResponse+1))
	if err != nil {
		return d.badGateway(w, reqID, "psp_read_error", "the payment provider's answer could not be read")
	}
	if int64(len(raw)) > d.MaxResponse {
		return d.badGateway(w, reqID, "psp_response_too_large", "the payment provider's answer exceeds max_response; cardproxy cannot scan it for card data, so it is withheld")
	}
	body := raw
	switch enc := strings.ToLower(resp.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		if body, err = gunzip(raw, d.MaxResponse); err != nil {
			return d.badGateway(w, reqID, "psp_response_unreadable", "the payment provider's compressed answer could not be scanned")
		}
		h.Del("Content-Encoding")
	default:
		return d.badGateway(w, reqID, "psp_response_unreadable", "the payment provider answered with Content-Encoding "+enc+", which cardproxy cannot scan")
	}

	out, masked, relays := d.scanResponse(r, body, kind)
	if masked > 0 {
		d.metrics.masked.Add(float64(masked))
		d.logger.Warn("masked card numbers in a PSP answer", zap.Int("count", masked), zap.String("upstream", d.upstream.Host),
			zap.String("route", r.URL.Path), zap.String("request_id", reqID))
	}
	for _, id := range relays {
		d.logger.Info("3-D Secure POST redirect relayed", zap.String("relay", id), zap.String("tenant", d.tenant), zap.String("request_id", reqID))
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(out)
	return err
}

func (d *Detokenize) badGateway(w http.ResponseWriter, reqID, code, msg string) error {
	d.metrics.requests.WithLabelValues(code).Inc()
	d.logger.Error("PSP answer withheld", zap.String("code", code), zap.String("upstream", d.upstream.Host), zap.String("request_id", reqID))
	for k := range w.Header() {
		w.Header().Del(k)
	}
	return writeError(w, &httpError{Status: http.StatusBadGateway, Code: code, Message: msg})
}

var panRun = regexp.MustCompile(`[0-9](?:[0-9]|[ -][0-9]){11,37}`)

// maskText masks every card number (12–19 digits, optional single spaces or
// dashes, Luhn, known IIN) inside s, keeping the last four digits.
func maskText(s string) (string, int) {
	n := 0
	out := panRun.ReplaceAllStringFunc(s, func(m string) string {
		if _, _, ok := card.Detect(m); !ok {
			return m
		}
		n++
		return maskKeepSeparators(m)
	})
	return out, n
}

func maskKeepSeparators(m string) string {
	b := []byte(m)
	digits := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] >= '0' && b[i] <= '9' {
			digits++
			if digits > 4 {
				b[i] = '*'
			}
		}
	}
	return string(b)
}

func (d *Detokenize) scanResponse(r *http.Request, body []byte, kind bodyKind) ([]byte, int, []string) {
	var fields []bodyrewrite.Field
	var herr *httpError
	if kind == kindJSON || kind == kindForm {
		fields, herr = scanBody(kind, nil, body)
	}
	if fields == nil || herr != nil {
		// Text, or structured but not parseable: mask over the raw bytes.
		s, n := maskText(string(body))
		return []byte(s), n, nil
	}
	var edits []bodyrewrite.Edit
	var relays []string
	var skip [][2]int
	if d.Relay3DS != "" && kind == kindJSON {
		edits, relays, skip = d.relay3DS(r, body, fields)
	}
	masked := 0
	for i := range fields {
		f := &fields[i]
		if f.Kind != bodyrewrite.String && f.Kind != bodyrewrite.Number {
			continue
		}
		s, e := f.Span()
		inside := false
		for _, sk := range skip {
			if s >= sk[0] && e <= sk[1] {
				inside = true
			}
		}
		if inside {
			continue
		}
		if out, n := maskText(f.Value); n > 0 {
			masked += n // a masked number has '*' in it: Encode makes it a string
			edits = append(edits, bodyrewrite.Edit{Field: f, Raw: f.Encode(out)})
		}
	}
	return bodyrewrite.Apply(body, edits), masked, relays
}

// relay3DS replaces POST-style 3DS redirects with GET redirects to the
// card_3ds_relay route: Adyen `action` {method POST, url, data} and
// MultiSafepay `data.customer_verification` {type form, html}.
func (d *Detokenize) relay3DS(r *http.Request, body []byte, fields []bodyrewrite.Field) ([]bodyrewrite.Edit, []string, [][2]int) {
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
	var edits []bodyrewrite.Edit
	var ids []string
	var skip [][2]int
	put := func(obj *bodyrewrite.Field, rel vault.Relay, repl map[string]string) {
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
	return edits, ids, skip
}

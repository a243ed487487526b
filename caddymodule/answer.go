package caddymodule

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/egress"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
)

// answer passes the PSP's answer to the app. Every answer — any status, any
// content type, headers and Location included — is read (up to MaxResponse,
// else withheld) and masked by the egress core (egress.Masker): every card
// number down to its last four digits, this request's CVCs. POST-style 3-D
// Secure redirects are stored in Vault and replaced by GET links when
// relay_3ds is set.
func (d *Detokenize) answer(w http.ResponseWriter, r *http.Request, resp *http.Response, reqID string, sent egress.Secrets) error {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Del("Content-Length")
	mk := d.core.NewMasker(sent)
	if rerr := mk.Headers(h); rerr != nil {
		return d.withhold(w, r, rerr)
	}
	body, gunzipped, rerr := d.readAnswer(resp)
	if rerr != nil {
		return d.withhold(w, r, rerr)
	}
	if gunzipped {
		h.Del("Content-Encoding") // the answer is passed on decoded
	}

	ans, rerr := mk.Answer(body, httpbody.MediaKind(httpbody.Essence(resp.Header.Get("Content-Type"))), d.RelayURL != "")
	if rerr != nil {
		return d.withhold(w, r, rerr)
	}
	links := make([]string, len(ans.Relays))
	base := strings.TrimRight(d.RelayURL, "/") + "/"
	for i, c := range ans.Relays {
		id, err := d.relays.PutRelay(r.Context(), d.tenant, c.Redirect, time.Duration(d.RelayTTL))
		if err != nil {
			d.logger.Error("3-D Secure relay not stored; the PSP's POST redirect is passed on (masked) as it is", zap.Error(err))
			continue
		}
		links[i] = base + id
		d.audit.event(r, evRelayStore, "3-D Secure POST redirect relayed", zap.String("relay", id), zap.String("upstream", d.upstream.Host))
	}
	out, rerr := ans.Bytes(links)
	if rerr != nil {
		return d.withhold(w, r, rerr)
	}
	if mk.Masked > 0 {
		d.metrics.masked.Add(float64(mk.Masked))
		d.logger.Warn("masked card data in a PSP answer", zap.Int("count", mk.Masked), zap.String("upstream", d.upstream.Host),
			zap.String("route", logURI(r)), zap.String("request_id", reqID))
	}
	if r.Method != http.MethodHead && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(len(out)))
	}
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(out)
	return err
}

// readAnswer reads the PSP's answer, up to MaxResponse, and decodes gzip
// (gunzipped): an answer cardproxy cannot scan is withheld.
func (d *Detokenize) readAnswer(resp *http.Response) (body []byte, gunzipped bool, rerr *refusal.Error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, d.MaxResponse+1))
	if err != nil {
		return nil, false, refusal.New(refusal.PSPReadError, "the payment provider's answer could not be read")
	}
	if int64(len(raw)) > d.MaxResponse {
		return nil, false, refusal.New(refusal.PSPResponseTooLarge, "the payment provider's answer exceeds max_response; cardproxy cannot scan it for card data, so it is withheld")
	}
	encs := resp.Header.Values("Content-Encoding")
	if len(encs) > 1 || strings.Contains(strings.Join(encs, ""), ",") {
		return nil, false, refusal.New(refusal.PSPResponseUnreadable, "the payment provider answered with several Content-Encodings, which cardproxy does not decode; the answer is withheld")
	}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return raw, false, nil
	case "gzip":
		body, err := httpbody.Gunzip(raw, d.MaxResponse)
		if err != nil {
			return nil, false, refusal.New(refusal.PSPResponseUnreadable, "the payment provider's compressed answer could not be scanned")
		}
		return body, true, nil
	}
	return nil, false, refusal.New(refusal.PSPResponseUnreadable, "the payment provider answered with a Content-Encoding cardproxy cannot scan")
}

// withhold answers 502 instead of a PSP answer cardproxy could not make safe.
func (d *Detokenize) withhold(w http.ResponseWriter, r *http.Request, rerr *refusal.Error) error {
	d.metrics.requests.WithLabelValues(string(rerr.Code)).Inc()
	d.audit.failed(r, evRefuse, "PSP answer withheld", zap.String("code", string(rerr.Code)), zap.Int("status", rerr.Status()),
		zap.String("route", logURI(r)), zap.String("upstream", d.upstream.Host))
	for k := range w.Header() {
		w.Header().Del(k)
	}
	return rerr.Write(w)
}

package caddymodule

// Reproducers from the eleventh adversarial review (gzip header fields, JSON
// under a form Content-Type, CVC echoed in a JSON key); each failed before
// its fix. Run: go test ./caddymodule -count=1 -run TestAdv11 -v

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const adv11PAN = "4111111111111111"

// A gzip body whose decoded content has no card data is forwarded as sent
// (still gzip, header kept). The gzip header's FNAME / FCOMMENT / FEXTRA
// fields are never part of the decoded body, so cardproxy never scans them:
// the PAN reaches the app in the raw request bytes (raw-body logging,
// webhook-style signature capture, apps that don't inflate).
func TestAdv11GzipHeaderFieldsForwarded(t *testing.T) {
	for name, set := range map[string]func(*gzip.Header){
		"fname":    func(h *gzip.Header) { h.Name = "card " + adv11PAN },
		"fcomment": func(h *gzip.Header) { h.Comment = "card " + adv11PAN + " cvc 739" },
		"fextra":   func(h *gzip.Header) { h.Extra = []byte("ab" + adv11PAN) },
	} {
		t.Run(name, func(t *testing.T) {
			hs := newHarness(t, nil)
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			set(&zw.Header)
			_, _ = zw.Write([]byte(`{"order":"1001","note":"hello"}`))
			_ = zw.Close()
			r := httptest.NewRequest(http.MethodPost, "/checkout", bytes.NewReader(gz.Bytes()))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Content-Encoding", "gzip")
			w, app := hs.do(t, r)
			if app.called > 0 && bytes.Contains(app.body, []byte(adv11PAN)) {
				t.Errorf("app got the PAN in the raw (gzip) body it was handed: status %d, encoding %q, body %q",
					w.Code, app.header.Get("Content-Encoding"), app.body)
			}
		})
	}
}

// README: "A body that is valid JSON is parsed as JSON whatever its
// Content-Type". With a form Content-Type it is parsed as a form instead:
// the whole JSON text becomes one form *name*; checkName looks for card
// numbers and tokens there but not for CVCs, so the CVC reaches the app,
// which (json_decode(php://input), get_json(force=True), json.loads(body))
// reads it as {"cvc":"739"}.
func TestAdv11JSONBodyWithFormTypeCVC(t *testing.T) {
	for _, body := range []string{
		`{"cvc":"739"}`,
		`{"card_number":"cp_x","cvc":"739","amount":10}`,
		`{"gateway_info":{"card_cvc":"739"}}`,
	} {
		t.Run(body, func(t *testing.T) {
			hs := newHarness(t, nil)
			r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w, app := hs.do(t, r)
			if app.called > 0 && bytes.Contains(app.body, []byte("739")) {
				t.Errorf("app got the CVC: status %d body %q", w.Code, app.body)
			}
			// The same body as JSON or as text/plain is tokenized / refused:
			r = httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
			r.Header.Set("Content-Type", "text/plain")
			_, app2 := hs.do(t, r)
			if app2.called > 0 && bytes.Contains(app2.body, []byte("739")) {
				t.Logf("(control) text/plain also leaks")
			}
		})
	}
}

// Same root cause: a 13-digit card in a named card field of a JSON body
// sent with a form Content-Type. As JSON, "card_number" takes 12–13 digit
// numbers; as a form *name*, checkName uses card.Likely (16+ only).
func TestAdv11JSONBodyWithFormTypeShortPAN(t *testing.T) {
	hs := newHarness(t, nil)
	body := `{"card_number":"4222222222222","cvc":"x"}`
	r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w, app := hs.do(t, r)
	if app.called > 0 && bytes.Contains(app.body, []byte("4222222222222")) {
		t.Errorf("app got the 13-digit PAN from a named card field: status %d body %q", w.Code, app.body)
	}
}

// Egress: a JSON answer whose *key* echoes the request's CVC. CVCs are
// masked "in strings"; keys are strings, but only values are masked and
// the final check skips CVCs for JSON.
func TestAdv11EgressCVCInJSONKey(t *testing.T) {
	cap := &capture{answer: `{"success":false,"errors":{"card_cvc 739":"invalid"}}`}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, nil)
	panTok, cvcTok := e.tokens(t, adv11PAN, "12/30", "", "739")
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(mspBody(panTok, `"3012"`, cvcTok)))
	r.Header.Set("Content-Type", "application/json")
	w := e.do(t, r)
	if strings.Contains(w.Body.String(), "739") {
		t.Errorf("app got the CVC in a JSON key: %d %s", w.Code, w.Body)
	}
}

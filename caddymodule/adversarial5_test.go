package caddymodule

// Reproducers from the fifth adversarial review (overlapping mask windows,
// unparseable JSON answers, escaped CVC echoes, Cardproxy_ headers); each
// failed before its fix.
// Run: go test ./caddymodule -count=1 -run TestAdv5 -v

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// F1. MaskAll takes the earliest-starting Luhn-valid window (AnyLuhn), which
// may join unrelated digits before the PAN (a date, a phone number, an order
// number — across up to three separators). That window is masked to *its*
// last four, the PAN's tail stays in clear: 15 of 16 digits, and Luhn gives
// the 16th. The final left() check only looks for the whole PAN.
func TestAdv5MaskWindowLeavesPANTail(t *testing.T) {
	const pan, cvc = "5555555555554444", "739"
	for name, c := range map[string]struct {
		ctype, answer string
		hdr           map[string]string
	}{
		"html receipt": {"text/html", `<p>2025-12-06 5555555555554444</p>`, nil},
		"json string":  {"application/json", `{"log":"2025-12-06 5555 5555 5555 4444"}`, nil},
		"header":       {"application/json", `{}`, map[string]string{"X-Debug": "2025-12-06 5555555555554444"}},
	} {
		w := payThroughEgress(t, &capture{ctype: c.ctype, answer: c.answer, header: c.hdr}, pan, cvc)
		all := strings.ReplaceAll(answerText(w), " ", "")
		if strings.Contains(all, pan[1:]) { // 15 digits: the PAN via Luhn
			t.Errorf("%s: %d, the app can rebuild the PAN from %q", name, w.Code, answerText(w))
		}
	}
}

// F1b. Same in the ingress refusal log (maskLog = MaskAll(AnyLuhn)): the
// refused URI keeps 15 of the shopper's 16 digits.
func TestAdv5LogMaskLeavesPANTail(t *testing.T) {
	const pan = "5555555555554444"
	hs := newHarness(t, nil)
	r := httptest.NewRequest("GET", "/orders/2025-12-06%20"+pan, nil)
	w, rec := hs.do(t, r)
	if rec.called > 0 {
		t.Fatalf("passed: %d", w.Code)
	}
	for _, e := range hs.logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		if strings.Contains(string(b), pan[1:]) {
			t.Errorf("log %q: %s", e.Message, b)
		}
	}
}

// F2. A JSON answer cardproxy's scanner rejects (depth > responseLimits 64,
// a UTF-8 BOM, NaN) falls back to text masking — which neither reads
// 5.555555555554444e15 as a number nor decodes the \u-escaped CVC, and the
// left() check skips CVCs because the Content-Type is JSON. Every JSON parser
// takes depth 70 (JSON.parse, json.loads, json_decode: 512); fetch().json()
// and requests' .json() strip the BOM; Python's json.loads takes NaN.
func TestAdv5UnparsedJSONAnswer(t *testing.T) {
	const pan, cvc = "5555555555554444", "739"
	deep := strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70)
	for name, answer := range map[string]string{
		"depth 70 pan": `{"d":` + deep + `,"card":{"number":5.555555555554444e15}}`,
		"bom pan":      "\ufeff" + `{"card":{"number":5.555555555554444e15}}`,
		"depth 70 cvc": `{"d":` + deep + `,"card_cvc":"\u0037\u0033\u0039"}`,
		"NaN cvc":      `{"risk":NaN,"card_cvc":"\u0037\u0033\u0039"}`,
	} {
		w := payThroughEgress(t, &capture{answer: answer}, pan, cvc)
		out := w.Body.String()
		if w.Code == 200 && (strings.Contains(out, "5.555555555554444e15") || strings.Contains(out, `\u0037\u0033\u0039`)) {
			t.Errorf("%s: passed unmasked: …%s", name, out[max(0, len(out)-70):])
		}
	}
}

// F3. In a JSON answer (parsed fine) the CVC is only masked as ASCII digits;
// left() never checks CVCs for JSON; headers never go through left(). The
// same CVC in a text/html answer is withheld.
func TestAdv5CVCFormsInJSONAndHeaders(t *testing.T) {
	const pan, cvc = "5555555555554444", "739"
	for name, c := range map[string]struct {
		answer string
		hdr    map[string]string
	}{
		"fullwidth in cvc field": {`{"card_cvc":"７３９"}`, nil}, // Python int("７３９") == 739
		"percent in a url":       {`{"redirect_url":"https://shop.example/ok?cvc=%37%33%39"}`, nil},
		"html ref in 3ds html":   {`{"data":{"customer_verification":{"type":"html","html":"<input name=cvc value=&#55;&#51;&#57;>"}}}`, nil},
		"percent in Location":    {`{}`, map[string]string{"Location": "https://shop.example/ok?cvc=%37%33%39"}},
	} {
		w := payThroughEgress(t, &capture{answer: c.answer, header: c.hdr}, pan, cvc)
		all := answerText(w)
		for _, bad := range []string{"７３９", "%37%33%39", "&#55;&#51;&#57;"} {
			if w.Code == 200 && strings.Contains(all, bad) {
				t.Errorf("%s: the app got the CVC as %q", name, bad)
			}
		}
	}
}

// F4. stripMetaHeaders removes "Cardproxy-" only. PHP ($_SERVER, CGI/FastCGI
// and php -S) maps '-' and '_' both to '_': a shopper's Cardproxy_Card_Last4
// becomes HTTP_CARDPROXY_CARD_LAST4. Go writes headers sorted ('-' < '_'),
// so through reverse_proxy the shopper's header comes last and wins in
// php -S; with no card in the body it is the only one.
func TestAdv5UnderscoreMetaHeaders(t *testing.T) {
	hs := newHarness(t, func(t *Tokenize) {})
	r := httptest.NewRequest("POST", "/checkout", strings.NewReader(`{"card_number":"4111111111111111","cvc":"739"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header["Cardproxy_card_last4"] = []string{"0005"}
	r.Header["Cardproxy_card_brand"] = []string{"amex"}
	r.Header["Cardproxy_tokenized"] = []string{"cards=0; cvcs=0"}
	w, rec := hs.do(t, r)
	if rec.called == 0 {
		t.Fatalf("refused: %d %s", w.Code, w.Body)
	}
	for k, v := range rec.header {
		if strings.HasPrefix(strings.ToUpper(strings.ReplaceAll(k, "-", "_")), "CARDPROXY_") && !strings.HasPrefix(k, "Cardproxy-") {
			t.Errorf("app got client-sent %s: %v (PHP reads it as HTTP_%s)", k, v, strings.ToUpper(k))
		}
	}
	_ = http.MethodPost
}

package caddymodule

// Reproducers from the fourth adversarial review (numeric strings, one-layer
// decoding, "_" groups, compound CVC names, trimmed preserving tokens, egress
// exponent and numeric CVC echoes); each failed before its fix.
// Run: go test ./caddymodule -count=1 -run TestAdv4 -v

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

const adv4PAN = "4111111111111111"

// F1. A numeric string that every number parser reads as the PAN: exponent
// form, or a decimal whose nearest double is the PAN. detectValue reads JSON
// *numbers* this way (FromJSONNumber, textscan.AsDouble) but not strings or form
// values, which PHP treats as numeric strings ((int), intval, +0,
// filter_var FILTER_VALIDATE_FLOAT), JS reads with Number/parseFloat and
// Python with float().
func TestAdv4NumericStringForms(t *testing.T) {
	hs := newHarness(t, nil)
	for _, v := range []string{"4.111111111111111e15", "4111111111111110.9", "41111111111111110e-1", "4111111111111111e0"} {
		for _, req := range []struct{ ct, body string }{
			{"application/json", `{"amount":"` + v + `"}`},
			{"application/x-www-form-urlencoded", "amount=" + url.QueryEscape(v)},
		} {
			w, rec := adv3Do(t, hs, "POST", "/", req.ct, req.body, nil)
			if rec.called > 0 && strings.Contains(string(rec.body), v) {
				if x, err := strconv.ParseFloat(v, 64); err == nil && strconv.FormatFloat(x, 'f', 0, 64) == adv4PAN {
					t.Errorf("%s %q: %d, app got %q; Number()/(int)/float() read %s", req.ct, v, w.Code, v, adv4PAN)
				}
			}
		}
	}
}

// F2. Python's int(), float() and Decimal() (and so Werkzeug's
// request.form.get(k, type=int), Django's IntegerField/DecimalField) accept
// '_' between digits: "4111_1111_1111_1111" is 4111111111111111. card.Find
// does not take '_' as a separator, so it passes everywhere.
func TestAdv4UnderscoreGroups(t *testing.T) {
	hs := newHarness(t, nil)
	v := "4111_1111_1111_1111"
	for _, c := range []struct{ method, target, ct, body string }{
		{"POST", "/", "application/x-www-form-urlencoded", "qty=" + v},
		{"POST", "/", "application/json", `{"qty":"` + v + `"}`},
		{"GET", "/?qty=" + v, "", ""},
	} {
		w, rec := adv3Do(t, hs, c.method, c.target, c.ct, c.body, nil)
		if rec.called > 0 {
			t.Errorf("%s %s %s: %d, passed; int(%q) == %s in Python", c.method, c.target, c.body, w.Code, v, adv4PAN)
		}
	}
}

// F3. Query, path and cookies are checked as sent and fully decoded (three
// layers), never as the app's parser reads them (one layer). The literal
// "%3B" glues the PAN to a letter, the full decode glues it to "A"; the one
// layer PHP's $_GET / Express req.query / Werkzeug request.args /
// PHP $_COOKIE apply gives "&#x41;4111111111111111" — a bare, ';'-delimited
// PAN in the app's params and its logs.
func TestAdv4OneLayerDecodedQueryPathCookie(t *testing.T) {
	hs := newHarness(t, nil)
	enc := "%26%23x41%3B" + adv4PAN
	for name, r := range map[string]*http.Request{
		"query": httptest.NewRequest("GET", "/search?q="+enc, nil),
		"path":  httptest.NewRequest("GET", "/orders/"+enc, nil),
		"cookie": func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", "note="+enc)
			return r
		}(),
	} {
		w, rec := hs.do(t, r)
		if rec.called > 0 {
			t.Errorf("%s: %d, passed; the app decodes it once to %q", name, w.Code, "&#x41;"+adv4PAN)
		}
	}
}

// F4. checkQuery splits pairs on ';' too; PHP, Werkzeug, Django, Node split
// on '&' only. The numeric 3-D Secure exemption then covers a PAN that the
// app reads inside another parameter: $_GET['x'] ==
// "1;transactionid=4111111111111111".
func TestAdv4QuerySemicolonRidesThreeDSExemption(t *testing.T) {
	hs := newHarness(t, nil)
	w, rec := adv3Do(t, hs, "GET", "/search?x=1;transactionid="+adv4PAN, "", "", nil)
	if rec.called > 0 {
		t.Errorf("%d, passed: PHP/Werkzeug/Node read x = \"1;transactionid=%s\"", w.Code, adv4PAN)
	}
}

// F5. textscan.CVCByName needs the CVC stem at a word start: compound names that
// cvcNames itself lists (cardcvc, cardsecuritycode, cc_cid) or that SDKs use
// (cardVerificationValue, ccCvv) are missed in text bodies (XML!), values
// holding JSON, and the query.
func TestAdv4CVCCompoundNamesInText(t *testing.T) {
	hs := newHarness(t, nil)
	for _, c := range []struct{ ct, body string }{
		{"application/xml", `<payment><cardNumber>tok</cardNumber><cardCvc>739</cardCvc></payment>`},
		{"application/xml", `<p><CardSecurityCode>739</CardSecurityCode></p>`},
		{"application/xml", `<p><cardVerificationValue>739</cardVerificationValue></p>`},
		{"text/plain", `cc_cid=7391`},
		{"application/json", `{"data":"{\"ccCvv\":\"739\"}"}`},
	} {
		w, rec := adv3Do(t, hs, "POST", "/", c.ct, c.body, nil)
		if rec.called > 0 {
			t.Errorf("%s %s: %d, the CVC reached the app", c.ct, c.body, w.Code)
		}
	}
}

// F6. Format-preserving tokens are refused only as a whole value after
// strings.TrimSpace; checkText does not look for them. A victim's token with
// a NUL (PHP trim strips "\0") or an ASCII information separator (Python
// str.strip strips \x1c-\x1f) around it passes in an auto-detected field; the
// app trims it and the egress detokenizes it as the shopper's card.
func TestAdv4PreservingTokenTrimmedByApp(t *testing.T) {
	hs := newHarness(t, func(h *Tokenize) { h.Format = "preserve_last4" })
	toks, err := hs.store.Tokenize(context.Background(), hs.tn, token.FormatPreserveLast4, []card.Card{{PAN: "5555555555554444"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := toks[0].Token
	for _, v := range []string{tok + `\u0000`, `\u001c` + tok, `\u001f` + tok + `\u001f`} {
		w, rec := adv3Do(t, hs, "POST", "/", "application/json", `{"cc_number":"`+v+`"}`, nil)
		if rec.called > 0 {
			t.Errorf("%q: %d, the victim's preserving token reached the app", v, w.Code)
		}
	}
}

// F7. The PSP answer is masked digit-run by digit-run: a JSON number in
// exponent form is no run, and left() reads no number that way either. The
// app's JSON.parse / json_decode / json.loads turn it into the PAN (Jackson
// writes a double this way).
func TestAdv4EgressExponentEcho(t *testing.T) {
	const pan, cvc = "5555555555554444", "739"
	for _, ans := range []string{`{"card":5.555555555554444E15}`, `{"card":55555555555544440e-1}`, `{"card":5555555555554443.9}`} {
		w := payThroughEgress(t, &capture{answer: ans}, pan, cvc)
		if w.Code == 200 && strings.Contains(w.Body.String(), strings.TrimPrefix(strings.TrimSuffix(ans, "}"), `{"card":`)) {
			t.Errorf("answer %s reached the app unmasked (JSON.parse → %s)", ans, pan)
		}
	}
}

// F8. JSON numbers are CVC-masked only in "CVC-named fields", but isCVCName
// matches the field's last key against the preset's full paths
// (gateway_info.card_cvc, paymentMethod.cvc, card[cvc], source.cvv): a path
// of one segment never matches one of two, so no preset masks a numeric CVC
// echo — even in the very field it was sent in.
func TestAdv4EgressNumericCVCEcho(t *testing.T) {
	const pan, cvc = "5555555555554444", "739"
	w := payThroughEgress(t, &capture{answer: `{"gateway_info":{"card_cvc":739}}`}, pan, cvc)
	if strings.Contains(w.Body.String(), ":739") {
		t.Errorf("%d %s: the CVC reached the app", w.Code, w.Body.String())
	}
}

// F9. Bidi and other invisible format characters (U+200E/F LRM/RLM, U+2066–
// U+2069 isolates, U+061C ALM — what copy-paste from RTL UIs inserts) are not
// separators: a PAN grouped by them passes in free text and shows in the
// app's logs and admin UI as a bare 4111111111111111.
func TestAdv4InvisibleBidiGroups(t *testing.T) {
	hs := newHarness(t, nil)
	for _, sep := range []string{"\u200e", "\u200f", "\u2066", "\u061c"} {
		v := strings.Join([]string{"4111", "1111", "1111", "1111"}, sep)
		w, rec := adv3Do(t, hs, "POST", "/", "application/x-www-form-urlencoded", "note="+url.QueryEscape("my card "+v), nil)
		if rec.called > 0 {
			t.Errorf("sep %U: %d, passed; renders as %s", []rune(sep)[0], w.Code, adv4PAN)
		}
	}
}

// F10. textscan.Unescape reads at most 8 digits of a numeric character reference;
// html.unescape (Python), html_entity_decode (PHP) and browsers read any
// number of leading zeros. "&#0000000099;p_pan_…" decodes to a token.
func TestAdv4TokenBehindLongCharRef(t *testing.T) {
	hs := newHarness(t, nil)
	tok := "cp_pan_" + strings.Repeat("A", 24)
	v := "&#0000000099;" + strings.TrimPrefix(tok, "c")
	w, rec := adv3Do(t, hs, "POST", "/", "application/json", `{"saved_card":"`+v+`"}`, nil)
	if rec.called > 0 {
		t.Errorf("%d, passed; html.unescape gives %s", w.Code, tok)
	}
}

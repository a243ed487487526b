package caddymodule

// Reproducers from the third adversarial review (false positives on real
// traffic, CVCs inside values); each failed before its fix. Run: go test ./caddymodule -count=1 -run 'TestAdv3' -v

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/card"
)

func adv3Do(t *testing.T, hs *harness, method, target, ct, body string, hdr map[string]string) (*httptest.ResponseRecorder, *recorder) {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return hs.do(t, r)
}

func errCode(w *httptest.ResponseRecorder) string {
	var e struct{ Error string }
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	return fmt.Sprintf("%d %s", w.Code, e.Error)
}

// ---------- A: false positives ----------

// A1. Cloudflare's _cfuvid cookie (set on every visitor of a Cloudflare site
// using rate limiting) ends in -<unix ms>-0.0.1.1-…: the dash joins the
// timestamp and the "0" into a 14-digit run that is not glued to a letter;
// with 2025/26 timestamps (175…/176…) its 12-digit window at offset 2 is a
// Maestro (50, 56–69) number one time in ten. The visitor is locked out for
// the cookie's lifetime.
func TestAdv3CfuvidCookie(t *testing.T) {
	hs := newHarness(t, nil)
	w, _ := adv3Do(t, hs, "GET", "/", "", "", map[string]string{
		"Cookie": "_cfuvid=3KWGZmSizoggILb1mgDYRR19KjmWkBe7b2WCeSPDhKw-1766081499759-0.0.1.1-604800000"})
	if w.Code != 200 {
		t.Fatalf("_cfuvid cookie refused: %s", errCode(w))
	}
}

// A2. Meta (Facebook/Instagram) ads: ad, ad set and campaign ids are
// 18-digit numbers ({{ad.id}} in utm_content, standard in Meta's URL
// parameter builder). A window inside passes Luhn with a Maestro or Visa
// prefix most of the time: the landing page is refused, and so is every
// later request whose Referer carries that URL.
func TestAdv3MetaAdIDsInQuery(t *testing.T) {
	hs := newHarness(t, nil)
	rng := rand.New(rand.NewSource(5))
	badQ, badRef := 0, 0
	const n = 400
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("1202%014d", rng.Int63n(1e14))
		q := "/product/42?utm_source=facebook&utm_medium=paid&utm_content=" + id
		if w, _ := adv3Do(t, hs, "GET", q, "", "", nil); w.Code != 200 {
			badQ++
		}
		if w, _ := adv3Do(t, hs, "GET", "/cart", "", "", map[string]string{"Referer": "https://shop.example" + q}); w.Code != 200 {
			badRef++
		}
	}
	t.Logf("Meta ad id (18 digits) refused in query %d/%d, in Referer %d/%d", badQ, n, badRef, n)
	if badQ+badRef > 0 {
		t.Fail()
	}
}

// A3. SEPA IBANs in a JSON body (direct debit with Mollie, MultiSafepay,
// Adyen sepadirectdebit, Shopware/Woo SEPA plugins): the letter-glue rule of
// headers does not apply to bodies, and an all-digit BBAN of 12–26 digits
// carries Luhn-valid Maestro/Visa/Amex windows.
func TestAdv3IBANInBody(t *testing.T) {
	hs := newHarness(t, nil)
	for _, c := range []struct {
		cc string
		n  int
	}{{"NL", 0}, {"BE", 12}, {"AT", 16}, {"CH", 17}, {"DE", 18}, {"ES", 20}, {"PT", 21}, {"FR", 23}, {"PL", 24}} {
		rng := rand.New(rand.NewSource(11))
		bad := 0
		const n = 300
		for i := 0; i < n; i++ {
			var ib string
			if c.cc == "NL" {
				ib = iban(rng, "NL", 0)[:4] + "ABNA" + digits(rng, 10)
			} else {
				ib = iban(rng, c.cc, c.n)
			}
			if w, _ := adv3Do(t, hs, "POST", "/checkout", "application/json", `{"method":"directdebit","iban":"`+ib+`"}`, nil); w.Code != 200 {
				bad++
			}
		}
		t.Logf("IBAN %s (%d-digit BBAN): refused %d/%d (%.0f%%)", c.cc, c.n, bad, n, 100*float64(bad)/n)
		if bad > 0 {
			t.Fail()
		}
	}
}

// A4. German phone numbers: +49 + 11 digits is a 13-digit run starting
// with 4, a Visa-13 shape: one in ten (Luhn) is refused as
// card_number_in_text in billing_phone. Also 0049… (the window after 00).
func TestAdv3GermanPhone(t *testing.T) {
	hs := newHarness(t, nil)
	rng := rand.New(rand.NewSource(13))
	bad := 0
	const n = 500
	for i := 0; i < n; i++ {
		var p string
		switch i % 4 {
		case 0:
			p = "+49 151 " + digits(rng, 8)
		case 1:
			p = "+4917" + digits(rng, 9)
		case 2:
			p = "0049 160 " + digits(rng, 8)
		default:
			p = "+49 (0)30 " + digits(rng, 8)
		}
		if w, _ := adv3Do(t, hs, "POST", "/checkout", "application/x-www-form-urlencoded", "billing_phone="+strings.ReplaceAll(strings.ReplaceAll(p, "+", "%2B"), " ", "+"), nil); w.Code != 200 {
			bad++
		}
	}
	t.Logf("German phone numbers refused: %d/%d (%.1f%%)", bad, n, 100*float64(bad)/n)
	if bad > 0 {
		t.Fail()
	}
}

// A5. An order note "Ref <order> - <ISO date>": " - " and the date's dashes
// are card separators, so 9+8 digits are one 17-digit run.
func TestAdv3NoteWithDate(t *testing.T) {
	hs := newHarness(t, nil)
	w, _ := adv3Do(t, hs, "POST", "/checkout", "application/json", `{"customerNote":"Ref 453403592 - 2025-12-06"}`, nil)
	if w.Code != 200 {
		t.Fatalf("order note refused: %s", errCode(w))
	}
}

// A6. EAN-13/GTIN barcodes with GS1 prefixes 40–44 (Germany), 50 (UK),
// 56–69: every tenth one passes Luhn and is auto-detected as a Visa-13 or
// Maestro card and silently replaced by a cp_pan_ token (the app's cart
// sync breaks); a GTIN-14 is refused as card_number_in_text.
func TestAdv3EANTokenized(t *testing.T) {
	hs := newHarness(t, nil)
	rng := rand.New(rand.NewSource(17))
	var ean string
	for ean == "" || !card.Luhn(ean) {
		ean = ean13(rng, "40")
	}
	body := `{"items":[{"sku":"24-MB01","gtin":"` + ean + `","qty":1}]}`
	w, app := adv3Do(t, hs, "POST", "/cart/add", "application/json", body, nil)
	if w.Code != 200 || string(app.body) != body {
		t.Fatalf("EAN %s: %s, app got %s", ean, errCode(w), app.body)
	}
}

// A7. Shopware 6 / UUIDs in bodies: 32-hex ids and UUIDs (dashes join the
// groups) hold digit runs that count in bodies (no letter-glue rule there).
func TestAdv3HexIDsInBody(t *testing.T) {
	hs := newHarness(t, nil)
	for _, id := range []string{"8018bcd5ce13e97d3153509796259885", "b9180da4-da0b-441b-8541-5fd43f27c0f1b0fa98"} {
		w, _ := adv3Do(t, hs, "POST", "/store-api/checkout/order", "application/json", `{"paymentMethodId":"`+id+`"}`, nil)
		if w.Code != 200 {
			t.Errorf("id %s refused: %s", id, errCode(w))
		}
	}
}

// ---------- B: leaks ----------

// B1. A CVC in text inside a parsed body. For a body cardproxy does not
// parse, textscan.CVCByName refuses "cvc=737"; inside a JSON string value or a form
// value it is never looked for. Real patterns: Adyen/Magento stateData
// (JSON in a JSON string: PHP json_decode($additional_data['stateData'])),
// jQuery $.post(url, {form: $form.serialize()}) (a form in a form value:
// parse_str($_POST['form'])), and a text/plain JSON string. The app gets the
// shopper's CVC in clear (stored card + CVC re-entry: no PAN in the request,
// so the PAN checks do not fire).
func TestAdv3CVCInNestedValue(t *testing.T) {
	hs := newHarness(t, nil)
	for name, c := range map[string]struct{ ct, body string }{
		"json stateData":          {"application/json", `{"paymentMethod":{"method":"adyen_cc_vault","additional_data":{"public_hash":"a1b2","stateData":"{\"paymentMethod\":{\"type\":\"scheme\",\"storedPaymentMethodId\":\"8315\",\"cvc\":\"737\"}}"}}}`},
		"form serialize in field": {"application/x-www-form-urlencoded", "action=pay_saved_card&form=saved_card_id%3D3%26cvc%3D737%26terms%3Don"},
		"text/plain JSON string":  {"text/plain", `"cvc=737&saved_card_id=3"`},
		"multipart field":         {"multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"state\"\r\n\r\n{\"cvv\":\"737\"}\r\n--XyZ--\r\n"},
	} {
		t.Run(name, func(t *testing.T) {
			w, app := adv3Do(t, hs, "POST", "/checkout", c.ct, c.body, nil)
			if app.called > 0 && strings.Contains(string(app.body), "737") {
				t.Errorf("app got the CVC in clear (%d): %s", w.Code, app.body)
			}
		})
	}
	// Control: the same text as an unparsed body is refused.
	w, _ := adv3Do(t, hs, "POST", "/checkout", "text/plain", `cvc=737&saved_card_id=3`, nil)
	t.Logf("control, unparsed text: %s", errCode(w))
}

// B1b. The same CVC-in-text, in the query and in a cookie value under a
// name that is not a CVC name (checkHeaders looks at CVC-named cookies only).
func TestAdv3CVCInQueryAndCookieText(t *testing.T) {
	hs := newHarness(t, nil)
	w, app := adv3Do(t, hs, "GET", "/checkout/confirm?state=saved_card%3D3%26cvc%3D737", "", "", nil)
	if app.called > 0 {
		t.Errorf("query ?state=cvc%%3D737 forwarded (%d)", w.Code)
	}
	w, app = adv3Do(t, hs, "GET", "/checkout/confirm", "", "", map[string]string{"Cookie": `checkout_state={"saved_card":3,"cvc":"737"}`})
	if app.called > 0 {
		t.Errorf("cookie checkout_state={…cvc:737} forwarded (%d)", w.Code)
	}
}

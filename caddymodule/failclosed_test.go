package caddymodule

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

// Every request shape of the fail-closed review (and variants) either has
// its card data tokenized or is refused: the app never gets a PAN, the
// request's CVC or a token cardproxy did not just issue.
func TestIngressFailsClosed(t *testing.T) {
	// A legacy field with format-preserving tokens: their shape is refused
	// everywhere else.
	hs := newHarness(t, func(h *Tokenize) { h.FieldFormats = map[string]string{"legacy_pan": "preserve_last4"} })
	victim, err := hs.store.Tokenize(context.Background(), hs.tn, token.FormatOpaque, []card.Card{{PAN: "5555555555554444"}})
	if err != nil {
		t.Fatal(err)
	}
	vtok := victim[0].Token
	const pan, cvc = "4111111111111111", "739"
	mp := func(parts ...string) string {
		return "--b\r\n" + strings.Join(parts, "\r\n--b\r\n") + "\r\n--b--\r\n"
	}
	field := func(name, v string) string {
		return "Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + v
	}
	cases := []struct {
		name, method, target, ct, body string
		hdr                            map[string]string
		code                           string // "" = forwarded (then card data must be tokenized)
	}{
		// Content-Type read as frameworks read it.
		{"form junk param", "POST", "/", "application/x-www-form-urlencoded; x", "card_number=" + pan + "&cvc=" + cvc, nil, ""},
		{"json junk param", "POST", "/", "application/json; x", `{"card_number":"` + pan + `","cvc":"` + cvc + `"}`, nil, ""},
		{"json upper case", "POST", "/", " Application/JSON ", `{"card_number":"` + pan + `"}`, nil, ""},
		{"json duplicated param", "POST", "/", "application/json; charset=utf-8; charset=utf-8", `{"card_number":"` + pan + `"}`, nil, ""},
		{"utf-16 form", "POST", "/", "application/x-www-form-urlencoded; charset=utf-16", "a=b", nil, "unsupported_charset"},
		{"json as text/plain", "POST", "/", "text/plain", `{"card_number":"` + pan + `","cvc":"` + cvc + `"}`, nil, ""},
		{"cvc-only text body", "POST", "/", "text/plain", "card_token=stored-1&cvc=" + cvc, nil, "card_data_in_unparsed_body"},
		{"comma in content type", "POST", "/", "application/x-www-form-urlencoded,x", "cvc=" + cvc, nil, "ambiguous_content_type"},
		{"cvc cookie", "GET", "/", "", "", map[string]string{"Cookie": "cvc=" + cvc}, "card_data_in_header"},
		{"dashed pan in text", "POST", "/", "application/json", `{"note":"charge 4111-1111-1111-1111 now"}`, nil, "card_number_in_text"},
		{"cvc inside a value", "POST", "/", "application/json", `{"stateData":"{\"paymentMethod\":{\"storedPaymentMethodId\":\"8315\",\"cvc\":\"` + cvc + `\"}}"}`, nil, "cvc_in_text"},
		{"cvc inside a form value", "POST", "/", "application/x-www-form-urlencoded", "action=pay&form=saved_card_id%3D3%26cvc%3D" + cvc, nil, "cvc_in_text"},
		{"cvc inside the query", "GET", "/?state=saved_card%3D3%26cvc%3D" + cvc, "", "", nil, "cvc_in_text"},
		{"cvc inside a cookie", "GET", "/", "", "", map[string]string{"Cookie": `checkout_state={"cvc":"` + cvc + `"}`}, "cvc_in_text"},
		{"no content type", "POST", "/", "", "card_number=" + pan, nil, "card_data_in_unparsed_body"},
		{"octet-stream spaced pan", "POST", "/", "application/octet-stream", "x 4111 1111 1111 1111 y", nil, "card_data_in_unparsed_body"},
		{"xml percent-encoded pan", "POST", "/", "application/xml", "<c>%34%31%31%31111111111111</c>", nil, "card_data_in_unparsed_body"},
		{"text with victim token", "POST", "/", "text/plain", "t=" + vtok, nil, "card_data_in_unparsed_body"},
		{"two content types", "POST", "/", "", "card_number=" + pan, map[string]string{"Content-Type": "application/json\x00application/x-www-form-urlencoded"}, "ambiguous_content_type"},
		// Methods, any case.
		{"lower-case post", "post", "/", "application/x-www-form-urlencoded", "card_number=" + pan, nil, ""},
		{"DELETE with body", "DELETE", "/", "application/json", `{"card_number":"` + pan + `"}`, nil, ""},
		{"GET with body", "GET", "/", "application/json", `{"card_number":"` + pan + `"}`, nil, ""},
		{"custom method", "FOO", "/", "application/x-www-form-urlencoded", "x=" + pan, nil, ""},
		// Multipart: canonical or refused.
		{"multipart filename empty", "POST", "/", "multipart/form-data; boundary=b", mp("Content-Disposition: form-data; name=\"card_number\"; filename=\"\"\r\n\r\n"+pan, "Content-Disposition: form-data; name=\"cvc\"; filename=\"\"\r\n\r\n"+cvc), nil, ""},
		{"multipart LF-only", "POST", "/", "multipart/form-data; boundary=b", strings.ReplaceAll(mp(field("card_number", pan)), "\r\n", "\n"), nil, "malformed_body"},
		{"multipart junk disposition param", "POST", "/", "multipart/form-data; boundary=b", mp("Content-Disposition: form-data; x=y; name=\"card_number\"\r\n\r\n" + pan), nil, "malformed_body"},
		{"multipart junk ct param", "POST", "/", "multipart/form-data; boundary=b; x", mp(field("card_number", pan)), nil, "malformed_content_type"},
		{"multipart cvc", "POST", "/", "multipart/form-data; boundary=b", mp(field("card_number", pan), field("cvc", cvc)), nil, ""},
		{"multipart file with pan", "POST", "/", "multipart/form-data; boundary=b", mp("Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nmy card " + pan), nil, "card_number_in_text"},
		// Query strings and headers.
		{"pan in query", "POST", "/?ref=" + pan, "application/json", `{}`, nil, "card_number_in_query"},
		{"card field in query", "POST", "/?card_number=" + pan, "application/json", `{}`, nil, "card_data_in_query"},
		{"cvc in query", "POST", "/?cvc=" + cvc, "application/json", `{"card_number":"` + pan + `"}`, nil, "card_data_in_query"},
		{"pan in path", "GET", "/orders/" + pan, "", "", nil, "card_number_in_path"},
		{"token in path", "GET", "/t/" + vtok, "", "", nil, "token_not_allowed"},
		{"nested cvc name", "POST", "/", "application/x-www-form-urlencoded", "card[number]=" + pan + "&card[cvc]=" + cvc, nil, ""},
		{"utf-16 text body", "POST", "/", "", "\x004\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001\x001", nil, "card_data_in_unparsed_body"},
		{"escaped pan in query", "GET", "/?q=%34111+1111+1111+1111", "", "", nil, "card_number_in_query"},
		{"victim token in query", "GET", "/?t=" + strings.Replace(vtok, "_", "%5F", 2), "", "", nil, "token_not_allowed"},
		{"pan in header", "POST", "/", "application/json", `{}`, map[string]string{"X-Card": pan}, "card_number_in_header"},
		{"token in cookie", "GET", "/", "", "", map[string]string{"Cookie": "c=" + vtok}, "token_not_allowed"},
		// Tokens through every vector.
		{"victim token in junk-param form", "POST", "/", "application/x-www-form-urlencoded; x", "card_number=" + vtok, nil, "token_not_allowed"},
		{"victim token percent-encoded", "POST", "/", "application/x-www-form-urlencoded", "note=" + strings.Replace(vtok, "cp_", "cp%5F", 1), nil, "token_not_allowed"},
		{"victim token in a json key", "POST", "/", "application/json", `{"` + vtok + `":1}`, nil, "card_data_in_field_name"},
		{"victim token \\u-escaped", "POST", "/", "application/json", `{"n":"\u0063p_pan_` + vtok[7:] + `"}`, nil, "token_not_allowed"},
		{"preserving token anywhere", "POST", "/", "application/json", `{"ref":"0123456789011111"}`, nil, "token_not_allowed"},
		// Card numbers cardproxy cannot replace.
		{"pan as json key", "POST", "/", "application/json", `{"` + pan + `":"x"}`, nil, "card_data_in_field_name"},
		{"pan inside text", "POST", "/", "application/json", `{"note":"card ` + pan + ` 1230"}`, nil, "card_number_in_text"},
		{"pan after semicolon", "POST", "/", "application/x-www-form-urlencoded", "a=1;card_number=" + pan, nil, "card_number_in_text"},
		{"pan in 3ds-named field at depth", "POST", "/", "application/json", `{"x":{"MD":"` + pan + `"}}`, nil, ""},
		{"php-mangled cvc name", "POST", "/", "application/x-www-form-urlencoded", "card_number=" + pan + "&cv.c=1&card.cvc=" + cvc, nil, ""},
		{"cvc as php array", "POST", "/", "application/x-www-form-urlencoded", "card_number=" + pan + "&cvc[]=" + cvc, nil, ""},
		{"cvc key in other case", "POST", "/", "application/json", `{"card_number":"` + pan + `","CVC":"` + cvc + `"}`, nil, ""},
		// Encodings.
		{"two content encodings", "POST", "/", "application/json", "{}", map[string]string{"Content-Encoding": "identity\x00gzip"}, "unsupported_content_encoding"},
		{"listed encodings", "POST", "/", "application/json", "{}", map[string]string{"Content-Encoding": "gzip, identity"}, "unsupported_content_encoding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, c.target, strings.NewReader(c.body))
			r.Method = c.method
			if c.body == "" {
				r.Body, r.ContentLength = http.NoBody, 0
			}
			if c.ct != "" {
				r.Header.Set("Content-Type", c.ct)
			}
			for k, v := range c.hdr {
				r.Header[k] = strings.Split(v, "\x00")
			}
			w, app := hs.do(t, r)
			if c.code != "" {
				var e struct{ Error, Message string }
				_ = json.Unmarshal(w.Body.Bytes(), &e)
				if w.Code < 400 || w.Code > 499 || e.Error != c.code || app.called != 0 {
					t.Fatalf("want refusal %s, got %d %s (app called %d)", c.code, w.Code, w.Body, app.called)
				}
				noCardData(t, "refusal", w.Body.Bytes(), pan, vtok)
				return
			}
			if w.Code != 200 || app.called != 1 {
				t.Fatalf("want forwarded, got %d %s", w.Code, w.Body)
			}
			noCardData(t, "app body", app.body, pan, vtok, "="+cvc, `"`+cvc+`"`)
			if !bytes.Contains(app.body, []byte("cp_pan_")) {
				t.Fatalf("the card was not tokenized: %q", app.body)
			}
		})
	}
	hs.logsClean(t, pan, "4111 1111 1111 1111")
}

// Limits: bounded work per request, with clear codes.
func TestIngressLimits(t *testing.T) {
	hs := newHarness(t, func(h *Tokenize) { h.MaxCards, h.MaxCVCs = 2, 1 })
	deep := strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40)
	many := `{"a":[` + strings.TrimSuffix(strings.Repeat(`1,`, 2000), ",") + `]}`
	cards := `{"c":["4111111111111111","5555555555554444","378282246310005"]}`
	cvcs := `{"card_number":"4111111111111111","cvc":"123","card_cvc":"456"}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(strings.Repeat("[", 127) + strings.Repeat(`"x",`, 200000) + `"x"` + strings.Repeat("]", 127)))
	_ = zw.Close()
	for _, c := range []struct {
		name, body, enc string
		status          int
		code            string
	}{
		{"too deep", deep, "", 413, "body_too_complex"},
		{"too many values", many, "", 413, "body_too_complex"},
		{"too many cards", cards, "", 400, "too_many_cards"},
		{"too many cvcs", cvcs, "", 400, "too_many_cvcs"},
		{"deep gzip bomb", gz.String(), "gzip", 413, "body_too_complex"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		if c.enc != "" {
			r.Header.Set("Content-Encoding", c.enc)
		}
		w, app := hs.do(t, r)
		var e struct{ Error string }
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != c.status || e.Error != c.code || app.called != 0 {
			t.Errorf("%s: got %d %s, want %d %s", c.name, w.Code, w.Body, c.status, c.code)
		}
	}
}

// A 3-D Secure return (a flat form of 3-D Secure fields) passes byte for
// byte even with a numeric MD that passes Luhn; the same names elsewhere do
// not switch auto-detect off.
func TestThreeDSReturnOnlyWhereItIsOne(t *testing.T) {
	hs := newHarness(t, nil)
	ret := "PaRes=eJzVWNmSo0iyfS%2B7v%3D%3D&MD=4111111111111111"
	r := httptest.NewRequest(http.MethodPost, "/return", strings.NewReader(ret))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w, app := hs.do(t, r)
	if w.Code != 200 || string(app.body) != ret {
		t.Fatalf("3DS return changed: %d %q", w.Code, app.body)
	}
	mixed := "PaRes=x&MD=4111111111111111&note=hi"
	r = httptest.NewRequest(http.MethodPost, "/return", strings.NewReader(mixed))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w, app = hs.do(t, r)
	if w.Code != 200 || bytes.Contains(app.body, []byte("4111111111111111")) {
		t.Fatalf("a card next to 3DS names reached the app: %d %q", w.Code, app.body)
	}
}

// Refusal messages and log lines never echo a card number, also one used as
// a field name or placed next to other digits.
func TestRefusalsAndLogsMaskEverything(t *testing.T) {
	hs := newHarness(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/c?ref=1-4111111111111111", strings.NewReader(`{"card_number":"1234"}`))
	r.Header.Set("Content-Type", "application/json")
	w, _ := hs.do(t, r)
	noCardData(t, "refusal", w.Body.Bytes(), "4111111111111111")
	r = httptest.NewRequest(http.MethodPost, "/c", strings.NewReader(`{"card_number":{"94111111111111111":"x"}}`))
	r.Header.Set("Content-Type", "application/json")
	w, _ = hs.do(t, r)
	if w.Code != 400 {
		t.Fatalf("status %d", w.Code)
	}
	noCardData(t, "refusal", w.Body.Bytes(), "4111111111111111", "94111111111111111")
	hs.logsClean(t, "4111111111111111", "94111111111111111")
	if m := card.Redact("x 12345555555555554444 y"); strings.Contains(m, "5555555555554444") || !strings.HasSuffix(m, "4444 y") {
		t.Errorf("maskLog adjacent digits: %q", m)
	}
}

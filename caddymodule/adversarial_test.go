package caddymodule

// Reproducers from the adversarial review of the fail-closed work; each
// failed before its fix. Run: go test ./caddymodule -count=1 -run TestAdv -v

import (
	"encoding/json"
	"encoding/xml"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf16"
)

// XML bodies are "scanned as text", but a CDATA section or a comment splits
// the digit run for cardproxy while every XML parser (Go encoding/xml, PHP
// simplexml, Python ElementTree) joins it back into the PAN.
func TestAdvXMLCDATASplitsPAN(t *testing.T) {
	hs := newHarness(t, nil)
	for _, body := range []string{
		`<order><ref>41111111<![CDATA[]]>11111111</ref></order>`,
		`<order><ref>41111111<!-- -->11111111</ref></order>`,
	} {
		r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/xml")
		w, rec := hs.do(t, r)
		if rec.called == 0 {
			t.Logf("refused %d: ok", w.Code)
			continue
		}
		var v struct {
			Ref string `xml:"ref"`
		}
		if err := xml.Unmarshal(rec.body, &v); err != nil {
			t.Fatal(err)
		}
		if v.Ref == "4111111111111111" {
			t.Errorf("the app's XML parser reads the PAN %q from a body cardproxy passed", v.Ref)
		}
	}
}

func utf16le(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// PSP echoes the masking misses: a UTF-16 JSON answer (requests' .json(),
// Werkzeug, Python json.loads on bytes detect UTF-16), the CVC as HTML
// references, the PAN in a header name.
func TestAdvEgressEchoSurvivesMasking(t *testing.T) {
	const pan, cvc = "5555555555554444", "739"
	for name, c := range map[string]struct {
		ctype, answer string
		header        map[string]string
		decode        func(string) string
		bad           string
	}{
		"utf16 json pan": {"application/json", utf16le(`{"card":"` + pan + `"}`), nil,
			func(s string) string { return strings.ReplaceAll(s, "\x00", "") }, pan},
		"html-escaped cvc": {"text/html", `<p>cvc &#55;&#51;&#57;</p>`, nil, html.UnescapeString, "cvc " + cvc},
		"pan in header name": {"application/json", `{}`, map[string]string{"X-Card-" + pan: "1"},
			func(s string) string { return s }, pan},
	} {
		t.Run(name, func(t *testing.T) {
			w := payThroughEgress(t, &capture{ctype: c.ctype, answer: c.answer, header: c.header}, pan, cvc)
			all := answerText(w)
			if strings.Contains(c.decode(all), c.bad) {
				t.Errorf("status %d: the app can read %q from the PSP answer", w.Code, c.bad)
			}
		})
	}
}

// Go's encoding/json matches keys with Unicode case folding (ſ = s, K = k):
// a CVC under "ſecurity_code" is the struct's security_code, but the
// auto-detect CVC names compare with strings.ToLower.
func TestAdvGoJSONFoldedCVCName(t *testing.T) {
	hs := newHarness(t, nil)
	body := `{"card_number":"4111111111111111","ſecurity_code":"739"}`
	r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	_, rec := hs.do(t, r)
	var v struct {
		SecurityCode string `json:"security_code"`
	}
	_ = json.Unmarshal(rec.body, &v)
	if v.SecurityCode == "739" {
		t.Errorf("a Go app reads the CVC from security_code: %s", rec.body)
	}
}

// The log line of a tokenized request carries the URI: a CVC that passed
// in the query (cvc%00x, read as cvc by PHP) is logged in clear.
func TestAdvLogCarriesQueryCVC(t *testing.T) {
	hs := newHarness(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/checkout?cvc%00x=739", strings.NewReader(`{"card_number":"4111111111111111"}`))
	r.Header.Set("Content-Type", "application/json")
	hs.do(t, r)
	hs.logsClean(t, "=739", "739")
}

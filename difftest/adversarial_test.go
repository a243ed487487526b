package difftest

// Adversarial cases (not in the generators), from the adversarial review of
// the fail-closed work: each must be refused by cardproxy or reach every real
// parser without card data. Each parser test runs them as its "adversarial"
// subtest: go test ./difftest -count=1 -run 'TestPHP/adversarial' -v

import (
	"fmt"
	"strings"
	"testing"
)

const advPAN = "4111111111111111"
const advCVC = "739"

// a format-preserving-token shape: 16 digits, leading 0, fails Luhn.
const advFPT = "0400000000001234"

func octal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "\\%03o", s[i])
	}
	return b.String()
}

// advCase: tokens are extra strings that must not reach a parser
// (checked verbatim); cvcNamed: the CVC counts only under a CVC-looking name.
type advCase struct {
	c        Case
	tokens   []string
	cvcNamed bool
}

func advCases(victimPAN string) []advCase { return append(advCases1(victimPAN), adv7Cases()...) }

func advCases1(victimPAN string) []advCase {
	form := [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}
	mpct := [][2]string{{"Content-Type", "multipart/form-data; boundary=" + boundary}}
	mp := func(parts ...string) []byte {
		return []byte("--" + boundary + "\r\n" + strings.Join(parts, "\r\n--"+boundary+"\r\n") + "\r\n--" + boundary + "--\r\n")
	}
	return []advCase{
		// 1. Query: a digit run glued to the hex letter of a percent escape
		// counts as "glued to letters"; every parser decodes %0A.
		{c: Case{Name: "query-pct0A-glued", Method: "GET", Target: "/?ref=%0A" + advPAN, PAN: advPAN}},
		{c: Case{Name: "query-pct2C-glued", Method: "GET", Target: "/?ref=%2C" + advPAN, PAN: advPAN}},
		// 2. Path: same trick.
		{c: Case{Name: "path-pct0A-glued", Method: "GET", Target: "/pay/%0A" + advPAN, PAN: advPAN}},
		// 3. Cookie: same trick (PHP and cookie libraries percent-decode).
		{c: Case{Name: "cookie-pct0A-glued", Method: "GET", Header: [][2]string{{"Cookie", "ref=%0A" + advPAN}}, PAN: advPAN}},
		// 4. Cookie with RFC 2109 octal escapes (Werkzeug, Django decode them).
		{c: Case{Name: "cookie-octal-pan", Method: "GET", Header: [][2]string{{"Cookie", `ref="` + octal(advPAN) + `"`}}, PAN: advPAN}},
		{c: Case{Name: "cookie-octal-token", Method: "GET", Header: [][2]string{{"Cookie", `t="` + octal(victimPAN) + `"`}}}, tokens: []string{victimPAN}},
		// 5. PHP truncates names at NUL: cvc\0x is $_POST['cvc'] (query too).
		{c: Case{Name: "form-nul-cvc", Method: "POST", Header: form, Body: []byte("card_number=" + advPAN + "&cvc%00x=" + advCVC), CVC: advCVC}, cvcNamed: true},
		{c: Case{Name: "query-nul-cvc", Method: "GET", Target: "/?cvc%00x=" + advCVC, CVC: advCVC}, cvcNamed: true},
		// 6. PHP 8 turns a second unclosed '[' into '_': card[security[code
		// is $_POST['card_security_code'] (an auto-detected CVC name).
		{c: Case{Name: "form-php-unclosed-brackets-cvc", Method: "POST", Header: form, Body: []byte("card_number=" + advPAN + "&card[security[code=" + advCVC), CVC: advCVC}, cvcNamed: true},
		// 7. multipart name with NUL (PHP).
		{c: Case{Name: "multipart-nul-name-cvc", Method: "POST", Header: mpct, Body: mp(
			`Content-Disposition: form-data; name="card_number"`+"\r\n\r\n"+advPAN,
			"Content-Disposition: form-data; name=\"cvc\x00x\"\r\n\r\n"+advCVC), CVC: advCVC}, cvcNamed: true},
		// 8. filename="" is a plain value to Go and Django: the CVC field
		// is read untokenized; a preserving-token shape passes.
		{c: Case{Name: "multipart-empty-filename-cvc", Method: "POST", Header: mpct, Body: mp(
			`Content-Disposition: form-data; name="card_number"`+"\r\n\r\n"+advPAN,
			`Content-Disposition: form-data; name="cvc"; filename=""`+"\r\n\r\n"+advCVC), CVC: advCVC}, cvcNamed: true},
		{c: Case{Name: "multipart-empty-filename-fpt", Method: "POST", Header: mpct, Body: mp(
			`Content-Disposition: form-data; name="card_number"; filename=""` + "\r\n\r\n" + advFPT)}, tokens: []string{advFPT}},
		// 9. text/plain JSON (get_json(force=True)) with \t \n escapes: the
		// text scan does not decode JSON's short escapes.
		{c: Case{Name: "textplain-json-tab-escapes", Method: "POST", Header: [][2]string{{"Content-Type", "text/plain"}},
			Body: []byte(`{"card_number":"4111\t1111\t1111\t1111"}`), PAN: advPAN}},
		// 10. JSON number that rounds to the PAN in IEEE doubles (PHP, Python,
		// JS, Go map[string]any all read 4111111111111111).
		{c: Case{Name: "json-number-rounds-to-pan", Method: "POST", Header: [][2]string{{"Content-Type", "application/json"}},
			Body: []byte(`{"amount":"10.00","ref":4111111111111110.9}`), PAN: advPAN}},
		// 11. preserving-token shape in a cookie.
		{c: Case{Name: "cookie-fpt", Method: "GET", Header: [][2]string{{"Cookie", "card=" + advFPT}}}, tokens: []string{advFPT}},
		// 12. 3-D Secure exemption: free text with a PAN in a generic 3DS name.
		{c: Case{Name: "3ds-payload-free-text", Method: "POST", Header: form, Body: []byte("MD=abc&payload=card+" + advPAN), PAN: advPAN}},
		// Second round: a CVC without a PAN (a stored-card checkout) in a
		// body read as text — fetch() sends text/plain, PHP, Werkzeug and
		// Django decode JSON whatever the type — or behind a media type PHP
		// cuts at ',' or ' ', or in a cookie.
		{c: Case{Name: "textplain-json-cvc-only", Method: "POST", Header: [][2]string{{"Content-Type", "text/plain;charset=UTF-8"}}, Body: cvcOnly, CVC: advCVC}, cvcNamed: true},
		{c: Case{Name: "no-ct-json-cvc-only", Method: "POST", Body: cvcOnly, CVC: advCVC}, cvcNamed: true},
		{c: Case{Name: "form-comma-ct-cvc-only", Method: "POST", Header: [][2]string{{"Content-Type", "application/x-www-form-urlencoded,x"}},
			Body: []byte("card_token=stored-card-1&cvc=" + advCVC), CVC: advCVC}, cvcNamed: true},
		{c: Case{Name: "form-space-ct-cvc-only", Method: "POST", Header: [][2]string{{"Content-Type", "application/x-www-form-urlencoded x"}},
			Body: []byte("card_token=stored-card-1&cvc=" + advCVC), CVC: advCVC}, cvcNamed: true},
		{c: Case{Name: "multipart-comma-ct-cvc-only", Method: "POST", Header: [][2]string{{"Content-Type", "multipart/form-data,boundary=" + boundary}},
			Body: []byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"cvc\"\r\n\r\n" + advCVC + "\r\n--" + boundary + "--\r\n"), CVC: advCVC}, cvcNamed: true},
		{c: Case{Name: "cookie-cvc", Method: "GET", Header: [][2]string{{"Cookie", "cvc=" + advCVC}}, CVC: advCVC}, cvcNamed: true},
	}
}

var cvcOnly = []byte(`{"card_token":"stored-card-1","cvc":"` + advCVC + `","amount":"10.00"}`)

var cvcLike = map[string]bool{"cvc": true, "card_security_code": true, "security_code": true}

func advLeaks(items []item, ac advCase) []string {
	sec := secrets{pans: []string{advPAN, victimPAN}, tokens: ac.tokens}
	if !ac.cvcNamed {
		sec.cvc = ac.c.CVC
	}
	out := leaks(items, sec)
	if ac.cvcNamed {
		for _, it := range items {
			n := strings.ToLower(it.Name)
			if i := strings.LastIndexAny(n, ".["); i >= 0 {
				n = strings.Trim(n[i+1:], "]")
			}
			if cvcLike[n] && !strings.Contains(it.Src, "file") && strings.TrimSpace(it.Val) == ac.c.CVC {
				out = append(out, fmt.Sprintf("%s %q saw CVC", it.Src, it.Name))
			}
		}
	}
	return out
}

func runAdv(t *testing.T, app parserApp) {
	proxy := startCardproxy(t, app.url)
	v := obtainVictim(t, proxy)
	for _, ac := range advCases(v.panToken) {
		ac := ac
		t.Run(ac.c.Name, func(t *testing.T) {
			resp, b, err := send(proxy, ac.c)
			if err != nil {
				t.Logf("error: %v", err)
				return
			}
			if code, ok := refusal(resp, b); ok {
				t.Logf("refused: %s", code)
				return
			}
			if resp.Header.Get("X-Parser") == "" {
				t.Logf("not parsed (status %d)", resp.StatusCode)
				return
			}
			items, err := parseDump(b)
			if err != nil {
				t.Fatalf("dump: %v", err)
			}
			if found := advLeaks(items, ac); len(found) > 0 {
				t.Errorf("LEAK via %s: %s", app.name, strings.Join(found, "; "))
			} else {
				t.Logf("forwarded, parser saw nothing")
			}
		})
	}
}

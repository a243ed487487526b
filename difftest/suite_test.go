package difftest

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cardproxy/cardproxy/caddymodule" // registers card_tokenize
	"github.com/cardproxy/cardproxy/internal/testcaddy"
)

// startCardproxy runs an in-process Caddy with card_tokenize in front of
// upstream (site-wide: every route is a card route) and returns its URL.
func startCardproxy(t *testing.T, upstream string) string {
	t.Helper()
	v := needVault(t)
	port := freePort(t)
	logging := "log {\n\t\toutput discard\n\t}" // DIFFTEST_CADDY_LOG=1 keeps Caddy's log
	if os.Getenv("DIFFTEST_CADDY_LOG") != "" {
		logging = ""
	}
	cfg := fmt.Sprintf(`{
	%s
	admin off
	persist_config off
	auto_https off
	cardproxy {
		vault {
			address %s
			token %s
		}
		tenant difftest
	}
}
:%d {
	bind 127.0.0.1
	card_tokenize {
		pan card_number
		cvc cvc
		expiry card_expiry
		holder card_holder
		auto_detect on
		# format-preserving tokens in use (one legacy field), so their
		# shape is refused everywhere else: the strictest setting
		format preserve_last4 legacy_pan
	}
	reverse_proxy %s
}
`, logging, v.Addr, v.Token, port, strings.TrimPrefix(upstream, "http://"))
	testcaddy.Run(t, cfg)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// obtainVictim sends a normal JSON card through cardproxy and reads the
// tokens back from what the app received (Cardproxy-* headers and body).
func obtainVictim(t *testing.T, proxy string) victim {
	t.Helper()
	c := Case{Method: "POST", Header: [][2]string{{"Content-Type", "application/json"}},
		Body: []byte(fmt.Sprintf(`{"card_number":%q,"cvc":%q,"card_expiry":"12/29"}`, victimPAN, victimCVC))}
	resp, b, err := send(proxy, c)
	if err != nil || resp.Header.Get("X-Parser") == "" {
		t.Fatalf("victim request through cardproxy failed: %v (status %v)", err, statusOf(resp))
	}
	items, err := parseDump(b)
	if err != nil {
		t.Fatalf("victim dump: %v", err)
	}
	var v victim
	for _, it := range items {
		for _, tok := range tokenRE.FindAllString(it.Val, -1) {
			if strings.HasPrefix(tok, "cp_pan_") && v.panToken == "" {
				v.panToken = tok
			}
			if strings.HasPrefix(tok, "cp_cvc_") && v.cvcToken == "" {
				v.cvcToken = tok
			}
		}
	}
	if v.panToken == "" || v.cvcToken == "" {
		t.Fatalf("could not obtain victim tokens from the app's view of a tokenized request")
	}
	return v
}

func statusOf(r *http.Response) any {
	if r == nil {
		return "no response"
	}
	return r.StatusCode
}

type tally struct {
	cases, refused, clean, notParsed, leaks, vacuous, documented int
	leaking                                                      []string
}

// runParser sends every generated case to app directly and through
// cardproxy and checks what the parser decoded.
func runParser(t *testing.T, app parserApp) {
	proxy := startCardproxy(t, app.url)
	v := obtainVictim(t, proxy)
	cases := generate(v)
	var tl tally
	for _, c := range cases {
		c := c
		tl.cases++
		t.Run(c.Name, func(t *testing.T) { runCase(t, app, proxy, v, c, &tl) })
	}
	t.Logf("difftest: %s: %d cases, %d refused by cardproxy, %d forwarded clean, %d documented pass-throughs, %d LEAKS",
		app.name, tl.cases, tl.refused, tl.clean+tl.notParsed, tl.documented, tl.leaks)
	t.Logf("difftest: %s: of the forwarded clean: %d not parsed at all (the app's server rejected the request), %d vacuous (the parser does not see the card even without cardproxy)",
		app.name, tl.notParsed, tl.vacuous)
	if len(tl.leaking) > 0 {
		sort.Strings(tl.leaking)
		t.Logf("difftest: %s: leaking cases: %s", app.name, strings.Join(tl.leaking, " "))
	}
}

func runCase(t *testing.T, app parserApp, proxy string, v victim, c Case, tl *tally) {
	sec := secrets{pans: allPANs(), cvc: c.CVC}
	if c.Victim {
		sec.tokens = []string{v.panToken, v.cvcToken}
	}
	_, direct := seenDirect(t, app.url, c, sec)
	before, err := appCount(app.url)
	if err != nil {
		t.Fatalf("app count: %v", err)
	}
	resp, b, err := send(proxy, c)
	if err != nil {
		// Node's HTTP parser, for one, drops requests with methods it does
		// not know; Caddy then cuts the client connection. Fine if the app
		// never ran: no parser decoded anything.
		after, cerr := appCount(app.url)
		if cerr != nil || after != before {
			t.Errorf("request through cardproxy failed (%v) and the app ran: inconclusive", err)
			return
		}
		tl.notParsed++
		t.Logf("connection cut (%v); the app never received the request", err)
		return
	}
	if code, ok := refusal(resp, b); ok {
		after, err := appCount(app.url)
		if err != nil || after != before {
			t.Errorf("cardproxy answered %d %s but the app received the request (%v)", resp.StatusCode, code, err)
			return
		}
		tl.refused++
		t.Logf("refused by cardproxy: %d %s", resp.StatusCode, code)
		if mustForward(c.Name) {
			t.Errorf("a request as browsers and HTTP libraries send it was refused (%s): fail closed must not mean fail always", code)
		}
		return
	}
	if resp.Header.Get("X-Parser") == "" {
		after, err := appCount(app.url)
		if err != nil || after != before {
			t.Errorf("inconclusive: status %d, the app ran but returned no dump (it crashed?)", resp.StatusCode)
			return
		}
		tl.notParsed++
		t.Logf("forwarded, but the app's server rejected it before parsing (status %d)", resp.StatusCode)
		return
	}
	items, err := parseDump(b)
	if err != nil {
		t.Errorf("bad dump from app: %v", err)
		return
	}
	if found := leaks(items, sec); len(found) > 0 {
		if why, ok := identifierDigits[c.Name]; ok {
			// Documented: digits of a card inside an identifier pass (see
			// README, "What is not caught"); the parser does see them.
			tl.documented++
			t.Logf("documented pass-through (%s): %s", why, strings.Join(found, "; "))
			return
		}
		tl.leaks++
		tl.leaking = append(tl.leaking, c.Name)
		t.Errorf("LEAK %s: %s", c.Name, strings.Join(found, "; "))
		return
	}
	tl.clean++
	if len(direct) == 0 && (c.PAN != "" || c.CVC != "" || c.Victim) {
		tl.vacuous++
		t.Logf("forwarded clean, but vacuous: the parser does not see this card data even directly")
	} else {
		t.Logf("forwarded clean")
	}
}

// Each parser: the generated cases, then the adversarial reproducers.
func TestGo(t *testing.T)       { runAll(t, startGo(t)) }
func TestPHP(t *testing.T)      { runAll(t, startPHP(t)) }
func TestWerkzeug(t *testing.T) { runAll(t, startWerkzeug(t)) }
func TestDjango(t *testing.T)   { runAll(t, startDjango(t)) }
func TestExpress(t *testing.T)  { runAll(t, startExpress(t)) }

func runAll(t *testing.T, app parserApp) {
	runParser(t, app)
	t.Run("adversarial", func(t *testing.T) { runAdv(t, app) })
}

// TestControlParsersSeeCards proves the assertions are not vacuous: sent
// directly (no cardproxy), each parser DOES find the card data in the
// representative shapes it is claimed to decode.
func TestControlParsersSeeCards(t *testing.T) {
	v := victim{panToken: "cp_pan_CONTROLxxxxxxxxxxxxxxxxx", cvcToken: "cp_cvc_CONTROLxxxxxxxxxxxxxxxxx"}
	starts := []func(*testing.T) parserApp{startGo, startPHP, startWerkzeug, startDjango, startExpress}
	for _, start := range starts {
		app := start(t)
		t.Run(app.name, func(t *testing.T) {
			for _, c := range controlCases(app.name, v) {
				sec := secrets{pans: allPANs(), cvc: c.CVC}
				if c.Victim {
					sec.tokens = []string{v.panToken, v.cvcToken}
				}
				parsed, found := seenDirect(t, app.url, c, sec)
				if !parsed {
					t.Errorf("%s: the app did not answer with its dump", c.Name)
					continue
				}
				want := map[string]bool{"PAN": c.PAN != "", "CVC": c.CVC != "", "victim token": c.Victim}
				for kind, w := range want {
					if w && !anyKind(found, kind) {
						t.Errorf("%s: parser %s does not see the %s directly: the check would be vacuous", c.Name, app.name, kind)
					}
				}
			}
		})
	}
}

func anyKind(found []string, kind string) bool {
	for _, f := range found {
		if strings.HasSuffix(f, " saw "+kind) {
			return true
		}
	}
	return false
}

// mustForward: the canonical shapes (as browsers and HTTP libraries send
// them) must reach the app, tokenized — the suite would otherwise pass for a
// proxy that refuses everything.
func mustForward(name string) bool {
	for _, f := range []string{"json/", "form/", "multipart/"} {
		for _, carrier := range []string{"named/", "spaced/", "autodetect/"} {
			for _, v := range []string{"ct=canonical", "method=POST", "method=PUT", "encoding=gzip"} {
				if name == f+carrier+v {
					return true
				}
			}
		}
	}
	return false
}

// identifierDigits are the cases where the digits of a card sit inside a
// longer identifier — glued to letters or followed by more digits. No
// parser reads a card number there; cardproxy lets them pass because the
// same shapes are IBANs, hex ids, UUIDs, tracking numbers and ad ids, and
// refusing them refused real checkouts (caddymodule/legit_test.go). Each is
// counted and logged, not hidden.
var identifierDigits = map[string]string{
	"json-quirk/pan-with-suffix-digit":   "a 17-digit number is no card; tracking numbers and ad ids look the same",
	"json-quirk/pan-with-letters-around": "digits glued to letters are an identifier; IBANs and hex ids look the same",
}

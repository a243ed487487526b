package caddymodule

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/msp"
	"github.com/cardproxy/cardproxy/vault"
	"github.com/hashicorp/vault/api"
)

// shopApp is a merchant app that knows nothing about card security: it takes
// the (tokenized) checkout form, creates a MultiSafepay direct order through
// cardproxy's egress, sends the shopper to the 3DS page, confirms the order
// on return and verifies webhooks. It records every request it receives.
type shopApp struct {
	egress, ingress string
	apiKey          string
	t               *testing.T

	mu       sync.Mutex
	seen     []seenRequest
	webhooks []webhookCheck
	created  []map[string]any // PSP answers to order creation
}

type webhookCheck struct {
	body     []byte
	verified error
}

func (a *shopApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.seen = append(a.seen, seenRequest{r.Method, r.RequestURI, r.Header.Clone(), body})
	a.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/checkout":
		form, _ := url.ParseQuery(string(body))
		tok := form.Get("card_number")
		order := map[string]any{
			"type": "direct", "gateway": "CREDITCARD", "order_id": form.Get("order_id"), "currency": "EUR", "amount": 2500,
			"description": "Demo order",
			"payment_options": map[string]any{
				"notification_url": a.ingress + "/webhook", "notification_method": "POST",
				"redirect_url": a.ingress + "/ok", "cancel_url": a.ingress + "/cancel",
			},
			"customer": map[string]any{"locale": "nl_NL", "browser": map[string]any{"user_agent": r.UserAgent()}},
			"gateway_info": map[string]any{
				"card_number": tok, "card_cvc": form.Get("cvc"), "card_holder_name": form.Get("holder"),
				// Ask cardproxy to fill in the expiry stored with the card, in MultiSafepay's YYMM.
				"card_expiry_date": tok,
			},
		}
		if form.Get("threeds") == "form" {
			order["gateway_info"].(map[string]any)["term_url"] = a.ingress + "/checkout/3ds-return"
		}
		b, _ := json.Marshal(order)
		resp, err := http.Post(a.egress+"/v1/json/orders", "application/json", bytes.NewReader(b))
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		var out struct {
			Success bool
			Data    map[string]any
		}
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &out); err != nil || !out.Success {
			http.Error(w, "payment failed: "+string(raw), 402)
			return
		}
		a.mu.Lock()
		a.created = append(a.created, out.Data)
		a.mu.Unlock()
		if cv, ok := out.Data["customer_verification"].(map[string]any); ok && cv["type"] == "redirect" {
			http.Redirect(w, r, cv["url"].(string), http.StatusSeeOther)
			return
		}
		if pu, ok := out.Data["payment_url"].(string); ok {
			http.Redirect(w, r, pu, http.StatusSeeOther)
			return
		}
		fmt.Fprintf(w, "order %v: %v", out.Data["order_id"], out.Data["status"])
	case r.URL.Path == "/ok" || r.URL.Path == "/cancel":
		id := r.URL.Query().Get("transactionid")
		resp, err := http.Get(a.egress + "/v1/json/orders/" + url.PathEscape(id))
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		var out struct{ Data map[string]any }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		pd, _ := out.Data["payment_details"].(map[string]any)
		fmt.Fprintf(w, "order %s status=%v card=%v ending %v", id, out.Data["status"], pd["type"], pd["last4"])
	case r.URL.Path == "/webhook":
		auth := r.Header.Get("Auth")
		err := msp.Verify(a.apiKey, auth, body, time.Now(), 5*time.Minute)
		a.mu.Lock()
		a.webhooks = append(a.webhooks, webhookCheck{body, err})
		a.mu.Unlock()
		if err != nil {
			http.Error(w, "bad signature", 403)
			return
		}
		_, _ = io.WriteString(w, "OK")
	case r.URL.Path == "/checkout/3ds-return":
		f, _ := url.ParseQuery(string(body))
		fmt.Fprintf(w, "3ds1 return MD=%s PaRes=%s", f.Get("MD"), f.Get("PaRes"))
	default:
		http.NotFound(w, r)
	}
}

func (a *shopApp) traffic() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b bytes.Buffer
	for _, r := range a.seen {
		fmt.Fprintf(&b, "%s %s\n%v\n%s\n", r.Method, r.URI, r.Header, r.Body)
	}
	return b.Bytes()
}

var inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
var actionRE = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)

// submitForm does what a browser does with an auto-submitting page.
func submitForm(t *testing.T, c *http.Client, page string, extra url.Values, base *url.URL) *http.Response {
	t.Helper()
	m := actionRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	action, _ := base.Parse(html.UnescapeString(m[1]))
	vals := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		vals.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	for k, v := range extra {
		vals[k] = v
	}
	resp, err := c.PostForm(action.String(), vals)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFullPaymentFlow(t *testing.T) { paymentFlow(t, "") }

// The same flow with the ingress and the egress on their own Vault
// identities, each with only its shipped policy (no default policy): the
// policies are enough for every step (cards, CVCs, 3-D Secure relays,
// renew-self), and each side only has what it needs.
func TestFullPaymentFlowSeparateIdentities(t *testing.T) {
	root, err := vault.New(vault.Config{Address: vaultSrv(t).Addr, Token: vaultSrv(t).Token})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	for env, policy := range map[string]string{"CARDPROXY_TEST_INGRESS_TOKEN": vault.PolicyTokenize, "CARDPROXY_TEST_EGRESS_TOKEN": vault.PolicyDetokenize} {
		sec, err := root.Client().Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{policy}, NoDefaultPolicy: true, TTL: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(env, sec.Auth.ClientToken)
	}
	paymentFlow(t, `ingress_vault {
			token {env.CARDPROXY_TEST_INGRESS_TOKEN}
		}
		egress_vault {
			token {env.CARDPROXY_TEST_EGRESS_TOKEN}
		}
`)
}

func paymentFlow(t *testing.T, identities string) {
	sim, simSrv, ca := startSim(t)
	ingress, egress := freeAddr(t), freeAddr(t)
	app := &shopApp{egress: "http://" + egress, ingress: "http://" + ingress, apiKey: simKey, t: t}
	appSrv := newHTTPServer(t, app)
	tn := uniqueTenant()
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	t.Setenv("CARDPROXY_TEST_PSP_KEY", simKey)
	global := strings.Replace(globalOptions(vaultSrv(t).Addr, tn, ""), "\t\ttenant ", "\t\t"+identities+"\t\ttenant ", 1)
	// The audit trail on its own: every event of the flow goes to this file.
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	global = strings.Replace(global, "\tadmin off\n", "\tadmin off\n\tlog audit {\n\t\tinclude cardproxy.audit\n\t\toutput file "+auditLog+"\n\t\tformat json\n\t}\n", 1)
	runCaddy(t, global+fmt.Sprintf(`
# Ingress: the shop's public site.
http://%s {
	route /checkout* {
		card_tokenize {
			pan card_number
			cvc cvc
			expiry card_expiry
			holder holder
		}
	}
	handle /3ds/* {
		card_3ds_relay
	}
	reverse_proxy %s
}

# Egress: only the app can reach it (loopback); the PSP key lives here.
http://%s {
	card_detokenize %s {
		preset multisafepay
		ca_cert %s
		api_key {env.CARDPROXY_TEST_PSP_KEY}
		relay_3ds http://%s/3ds
	}
}
`, ingress, strings.TrimPrefix(appSrv.URL, "http://"), egress, simSrv.URL, ca, ingress))

	// The shopper's browser: trusts the sandbox's CA, does not follow redirects by itself.
	caPEM, _ := os.ReadFile(ca)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	browser := &http.Client{
		Timeout:       20 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	// 1. Checkout form, typed with spaces; a 3DS test card that completes.
	resp, err := browser.PostForm("http://"+ingress+"/checkout", url.Values{
		"card_number": {"4761 3400 0000 0019"}, "cvc": {"123"}, "card_expiry": {"12/30"}, "holder": {"Jan Janssen"},
		"order_id": {"flow-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	payURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(payURL, simSrv.URL+"/acs/") {
		t.Fatalf("checkout: %d %q %s", resp.StatusCode, payURL, body)
	}
	// 2. The issuer's challenge (payment_url reached the app byte for byte).
	if app.created[0]["payment_url"] != payURL {
		t.Fatalf("payment_url changed on the way: %v vs %s", app.created[0]["payment_url"], payURL)
	}
	resp, err = browser.Get(payURL)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	base, _ := url.Parse(payURL)
	resp = submitForm(t, browser, page, url.Values{"outcome": {"authenticate"}}, base)
	readAll(t, resp)
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, "http://"+ingress+"/ok?transactionid=flow-1") {
		t.Fatalf("after 3DS: %d %q", resp.StatusCode, back)
	}
	// 3. Back at the shop through the ingress; the app confirms via the egress.
	resp, err = browser.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	final := readAll(t, resp)
	if !strings.Contains(final, "status=completed") || !strings.Contains(final, "card=VISA ending 19") {
		t.Fatalf("success page: %s", final)
	}

	// The PSP got the real card: PAN, CVC, and the expiry filled in as YYMM.
	var order struct {
		GatewayInfo map[string]any `json:"gateway_info"`
	}
	rcv := sim.Received()
	if err := json.Unmarshal(rcv[0].Body, &order); err != nil {
		t.Fatal(err)
	}
	if order.GatewayInfo["card_number"] != "4761340000000019" || order.GatewayInfo["card_cvc"] != "123" ||
		order.GatewayInfo["card_expiry_date"] != "3012" || order.GatewayInfo["card_holder_name"] != "Jan Janssen" {
		t.Fatalf("PSP got %v", order.GatewayInfo)
	}
	if rcv[0].Header.Get("api_key") != simKey {
		t.Errorf("api key not injected")
	}
	// The app never saw card data.
	noCardData(t, "app traffic", app.traffic(), "4761340000000019", "4761 3400 0000 0019", "4761+3400", "cvc=123", `"123"`)
	// The CVC token is spent.
	form, _ := url.ParseQuery(string(app.seen[0].Body))
	store, _ := vault.New(vault.Config{Address: vaultSrv(t).Addr, Token: vaultSrv(t).Token})
	if _, err := store.DetokenizeCVC(t.Context(), tn, form.Get("cvc")); err == nil {
		t.Fatal("CVC token still works after the payment")
	}
	// The webhook went through the ingress byte for byte and verifies.
	whs := sim.Webhooks()
	if len(whs) != 1 || whs[0].Status != 200 || len(app.webhooks) != 1 {
		t.Fatalf("webhooks: sim %+v, app %d", whs, len(app.webhooks))
	}
	if app.webhooks[0].verified != nil || !bytes.Equal(app.webhooks[0].body, whs[0].Body) {
		t.Fatalf("webhook at the app: %v (body equal %v)", app.webhooks[0].verified, bytes.Equal(app.webhooks[0].body, whs[0].Body))
	}

	// 4. A declined 3DS card ends on the cancel page.
	resp, err = browser.PostForm("http://"+ingress+"/checkout", url.Values{
		"card_number": {"4012 0010 3746 1114"}, "cvc": {"123"}, "card_expiry": {"12/30"}, "order_id": {"flow-2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	resp, _ = browser.Get(resp.Header.Get("Location"))
	page = readAll(t, resp)
	resp = submitForm(t, browser, page, url.Values{"outcome": {"authenticate"}}, base)
	readAll(t, resp)
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "/cancel?transactionid=flow-2") {
		t.Fatalf("declined card went to %q", loc)
	}
	resp, _ = browser.Get(resp.Header.Get("Location"))
	if s := readAll(t, resp); !strings.Contains(s, "status=declined") {
		t.Fatalf("cancel page: %s", s)
	}

	// 5. 3DS1-style POST redirect: relayed as a GET link on the ingress; the
	// ACS's PaRes/MD post back through the ingress untouched.
	resp, err = browser.PostForm("http://"+ingress+"/checkout", url.Values{
		"card_number": {"4761340000000019"}, "cvc": {"123"}, "card_expiry": {"12/30"}, "order_id": {"flow-3"}, "threeds": {"form"},
	})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	relayURL := resp.Header.Get("Location")
	if !strings.HasPrefix(relayURL, "http://"+ingress+"/3ds/cp_3ds_") {
		t.Fatalf("POST redirect not relayed: %q", relayURL)
	}
	resp, _ = browser.Get(relayURL)
	relayPage := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(relayPage, `name="PaReq"`) {
		t.Fatalf("relay page %d: %s", resp.StatusCode, relayPage)
	}
	resp = submitForm(t, browser, relayPage, nil, base) // to the ACS
	acsPage := readAll(t, resp)
	resp = submitForm(t, browser, acsPage, url.Values{"outcome": {"authenticate"}}, base)
	termPage := readAll(t, resp) // auto-post of PaRes + MD to the TermUrl
	resp = submitForm(t, browser, termPage, nil, base)
	ret := readAll(t, resp)
	sent := inputRE.FindAllStringSubmatch(termPage, -1)
	if !strings.Contains(ret, "PaRes=") || len(sent) != 2 {
		t.Fatalf("3DS1 return: %s", ret)
	}
	last := app.seen[len(app.seen)-1]
	want := url.Values{}
	for _, in := range sent {
		want.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	if string(last.Body) != want.Encode() {
		t.Fatalf("ACS post changed on the way: %s vs %s", last.Body, want.Encode())
	}
	// The relay link works once.
	resp, _ = browser.Get(relayURL)
	readAll(t, resp)
	if resp.StatusCode != 404 {
		t.Fatalf("relay link reused: %d", resp.StatusCode)
	}
	checkAuditTrail(t, auditLog, identities != "")
}

// checkAuditTrail reads the flow's audit log: one event of every kind, each
// with its core fields and the Vault identity its side used, and no card
// data anywhere in it (the flow's card numbers in any grouping or escape,
// or its CVC).
func checkAuditTrail(t *testing.T, path string, ownIdentities bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if card.ContainsLoose(string(b), card.OneOf("4761340000000019", "4012001037461114")) || strings.Contains(string(b), `"123"`) {
		t.Error("card data in the audit trail")
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		name, _ := ev["event"].(string)
		seen[name]++
		if ev["logger"] != "cardproxy.audit" || ev["request_id"] == "" || ev["remote"] == "" || ev["tenant"] == "" {
			t.Errorf("audit event %s lacks its core fields: %v", name, ev)
		}
		want := map[string]string{"ingress": "ingress", "relay": "ingress", "egress": "egress"}[fmt.Sprint(ev["side"])]
		if !ownIdentities {
			want = "vault"
		}
		if ev["vault_identity"] != want {
			t.Errorf("audit event %s (%s side) ran as Vault identity %v, want %s", name, ev["side"], ev["vault_identity"], want)
		}
	}
	t.Logf("audit trail: %v; first event: %s", seen, strings.SplitN(string(b), "\n", 2)[0])
	for _, ev := range []string{evTokenize, evDetokenize, evCVCUse, evRelayStore, evRelayServe, evRefuse} {
		if seen[ev] == 0 {
			t.Errorf("no %s event in the audit trail (%v)", ev, seen)
		}
	}
}

func TestThreeDSReturnNotTokenized(t *testing.T) {
	hs := newHarness(t, nil)
	// A numeric MD that happens to pass Luhn with a Visa IIN must reach the app as sent.
	body := "MD=4111111111111111&PaRes=eJzVWNmSo0iyfS%2B7v%3D%3D&cres=eyJ0aHJlZURTU2VydmVyVHJhbnNJRCI6IjEifQ"
	r, _ := http.NewRequest(http.MethodPost, "/checkout/3ds-return", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, app := hs.do(t, r)
	if string(app.body) != body {
		t.Fatalf("3DS return changed: %s", app.body)
	}
}

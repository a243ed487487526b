package sdktest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/pspsim"
)

// sdkCase is one SDK against a recording PSP: the card it pays with, where
// the PSP must find it, the answer the PSP gives (a minimal valid one that
// also echoes the card and CVC, as a careless PSP might: cardproxy masks
// them) and what the SDK must have parsed from it.
type sdkCase struct {
	script, preset string
	https          bool   // the SDK takes only an https: base URL
	pan, cvc       string // test card
	appKey         string // the key the app's SDK holds
	status         int    // the PSP's answer status
	answer         string // %[1]s: the PAN, %[2]s: the CVC, %[3]s: the reference
	// key is the key as the PSP got it; fields the card data and expiry it
	// got, by field.
	key    func(http.Header) []string
	fields func(t *testing.T, body []byte) map[string]any
	want   map[string]any // what the PSP must get
	parsed func(p map[string]any) bool
}

// recording is a PSP stand-in: it records every request and answers with
// status and the body answer returns for it.
type recording struct {
	mu     sync.Mutex
	reqs   []pspsim.Received
	status int
	answer func(body []byte) string
}

func (u *recording) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.reqs = append(u.reqs, pspsim.Received{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(u.status)
	_, _ = io.WriteString(w, u.answer(body))
}

func (u *recording) got() []pspsim.Received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]pspsim.Received(nil), u.reqs...)
}

const injectedKey = "psp-key-held-by-cardproxy"

func bearer(h http.Header) []string { return h.Values("Authorization") }

var sdkCases = map[string]sdkCase{
	"stripe": {
		script: "stripe.mjs", preset: "stripe", pan: "4242424242424242", cvc: "314",
		appKey: "sk_test_app0000000000000000000000", status: 200,
		answer: `{"id":"pm_sdktest1","object":"payment_method","type":"card","livemode":false,` +
			`"card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030,"checks":{"cvc_check":"pass"}},` +
			`"billing_details":{"name":"Jane Doe"},"metadata":{"echo":"%[1]s","cvc":"%[2]s"}}`,
		key: bearer,
		fields: func(t *testing.T, body []byte) map[string]any {
			f, err := url.ParseQuery(string(body))
			if err != nil {
				t.Fatalf("not a form: %s", body)
			}
			return map[string]any{"card[number]": f.Get("card[number]"), "card[cvc]": f.Get("card[cvc]"),
				"card[exp_month]": f.Get("card[exp_month]"), "card[exp_year]": f.Get("card[exp_year]"),
				"billing_details[name]": f.Get("billing_details[name]")}
		},
		want: map[string]any{"card[exp_month]": "12", "card[exp_year]": "2030", "billing_details[name]": "Jane Doe"},
		parsed: func(p map[string]any) bool {
			c, _ := p["card"].(map[string]any)
			return p["id"] == "pm_sdktest1" && p["object"] == "payment_method" && c["last4"] == "4242" && p["status"] == 200.0
		},
	},
	"adyen": {
		script: "adyen.mjs", preset: "adyen", https: true, pan: "4111111111111111", cvc: "737",
		appKey: "AQEapp-adyen-key", status: 200,
		answer: `{"pspReference":"SDKTEST000000001","resultCode":"Authorised","merchantReference":"%[3]s",` +
			`"additionalData":{"cardSummary":"1111","echo":"%[1]s","cvc":"%[2]s"}}`,
		key: func(h http.Header) []string { return h.Values("X-API-Key") },
		fields: func(t *testing.T, body []byte) map[string]any {
			m := map[string]any{}
			for _, k := range []string{"number", "cvc", "expiryMonth", "expiryYear", "holderName", "type"} {
				m["paymentMethod."+k] = jsonPath(t, body, "paymentMethod."+k)
			}
			return m
		},
		want: map[string]any{"paymentMethod.expiryMonth": "03", "paymentMethod.expiryYear": "2030",
			"paymentMethod.holderName": "Jane Doe", "paymentMethod.type": "scheme"},
		parsed: func(p map[string]any) bool {
			return p["pspReference"] == "SDKTEST000000001" && p["resultCode"] == "Authorised" && p["merchantReference"] == "ref-sdktest"
		},
	},
	"checkout": {
		script: "checkout.mjs", preset: "checkout", pan: "4242424242424242", cvc: "100",
		appKey: "sk_sbox_" + strings.Repeat("a", 26) + "b", status: 201,
		answer: `{"id":"pay_sdktest","action_id":"act_sdktest","amount":1000,"currency":"EUR","approved":true,` +
			`"status":"Authorized","response_code":"10000","reference":"%[3]s",` +
			`"source":{"type":"card","last4":"4242","expiry_month":12,"expiry_year":2030,"scheme":"Visa","echo":"%[1]s","cvv":"%[2]s"}}`,
		key: bearer,
		fields: func(t *testing.T, body []byte) map[string]any {
			m := map[string]any{}
			for _, k := range []string{"number", "cvv", "expiry_month", "expiry_year", "name", "type"} {
				m["source."+k] = fmt.Sprint(jsonPath(t, body, "source."+k)) // numbers as written
			}
			return m
		},
		want: map[string]any{"source.expiry_month": "12", "source.expiry_year": "2030", "source.name": "Jane Doe", "source.type": "card"},
		parsed: func(p map[string]any) bool {
			s, _ := p["source"].(map[string]any)
			return p["id"] == "pay_sdktest" && p["status"] == "Authorized" && p["approved"] == true && s["last4"] == "4242" &&
				p["reference"] == "ref-sdktest"
		},
	},
}

// The card field names of each SDK's request, for the restored PAN and CVC.
var cardFields = map[string][2]string{
	"stripe": {"card[number]", "card[cvc]"}, "adyen": {"paymentMethod.number", "paymentMethod.cvc"},
	"checkout": {"source.number", "source.cvv"},
}

func TestStripeSDK(t *testing.T)   { sdkModes(t, "stripe") }
func TestAdyenSDK(t *testing.T)    { sdkModes(t, "adyen") }
func TestCheckoutSDK(t *testing.T) { sdkModes(t, "checkout") }

// sdkModes runs the SDK with the app's own key and with cardproxy
// injecting the key (the app's SDK then holds a placeholder; an HTTPS
// egress is then Caddyfile.example's commented block, as written).
func sdkModes(t *testing.T, name string) {
	t.Run("app_key", func(t *testing.T) { sdkPay(t, name, false) })
	t.Run("injected_key", func(t *testing.T) { sdkPay(t, name, true) })
}

// sdkPay pays once through the egress (card and CVC restored, the key
// there, the answer parsed, no card data at the app), then again with the
// same CVC token (refused, nothing sent).
func sdkPay(t *testing.T, name string, inject bool) {
	c := sdkCases[name]
	psp := &recording{status: c.status, answer: func([]byte) string { return fmt.Sprintf(c.answer, c.pan, c.cvc, "ref-sdktest") }}
	pspSrv, ca := testcaddy.TLSServer(t, psp)
	tenant := fmt.Sprintf("sdk-%s-%v", name, inject)
	egress := testcaddy.FreeAddr(t)
	opts := []string{"preset " + c.preset, "ca_cert " + ca}
	appKey, wantKey := c.appKey, c.appKey
	if inject {
		t.Setenv("SDKTEST_PSP_KEY", injectedKey)
		opts = append(opts, "api_key {env.SDKTEST_PSP_KEY}")
		appKey, wantKey = "app-holds-no-key", injectedKey
	}
	extra, root, scheme, env := "", "", "http", []string(nil)
	if c.https {
		extra, root = httpsGlobal(t)
		scheme, env = "https", []string{"NODE_EXTRA_CA_CERTS=" + root} // Node trusts Caddy's local root
	}
	site := egressSite(egress, c.https, pspSrv.URL, opts...)
	if c.https && inject {
		site = exampleHTTPSEgress(t, egress, pspSrv.URL, ca)
	}
	testcaddy.Run(t, global(t, tenant, extra)+site)
	if c.https {
		waitTLS(t, egress, root)
	}
	panTok, cvcTok := tokens(t, tenant, c.pan, "12/30", "Jane Doe", c.cvc)
	in := map[string]any{"base": scheme + "://" + egress, "key": appKey, "pan": panTok, "cvc": cvcTok, "reference": "ref-sdktest"}

	r := runSDK(t, c.script, in, env...)
	t.Logf("the app got: %s", r.raw)
	appClean(t, r, c.pan, c.cvc)
	if !r.OK || !c.parsed(r.Parsed) {
		t.Errorf("the SDK did not parse the PSP's answer: %s", r.raw)
	}
	if masked := strings.Repeat("*", len(c.pan)-4) + c.pan[len(c.pan)-4:]; !strings.Contains(string(r.raw), masked) {
		t.Errorf("the PSP's echo of the card did not reach the app masked (%s): %s", masked, r.raw)
	}
	got := psp.got()
	if len(got) != 1 {
		t.Fatalf("the PSP got %d requests, want 1", len(got))
	}
	fields := c.fields(t, got[0].Body)
	want := map[string]any{cardFields[name][0]: c.pan, cardFields[name][1]: c.cvc}
	for k, v := range c.want {
		want[k] = v
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("the PSP got %s = %v, want %v", k, fields[k], v)
		}
	}
	keys := c.key(got[0].Header)
	if len(keys) != 1 || !strings.HasSuffix(keys[0], wantKey) {
		t.Errorf("the PSP got the key %q, want %q once", keys, wantKey)
	}
	if strings.Contains(fmt.Sprint(got[0].Header), "app-holds-no-key") {
		t.Errorf("the app's placeholder key reached the PSP: %v", got[0].Header)
	}

	// The same CVC token again: refused by the egress, nothing sent.
	r = runSDK(t, c.script, in, env...)
	t.Logf("again, the app got: %s", r.raw)
	appClean(t, r, c.pan, c.cvc)
	refused(t, r)
	if n := len(psp.got()); n != 1 {
		t.Errorf("the refused payment reached the PSP (%d requests)", n)
	}
}

// The app-side check finds what it must: a card number grouped or split
// by other text, and a CVC as a JSON string or number.
func TestAppLeaksControl(t *testing.T) {
	const pan, cvc = "4242424242424242", "100"
	for raw, want := range map[string]int{
		`{"n":"4242 4242 4242 4242"}`:                        1,
		`{"n":"4242-4242-4242-4242","cvv":100}`:              2,
		`{"cvc":"100"}`:                                      1,
		`{"n":"************4242","cvv":"***","amount":1000}`: 0,
	} {
		if got := appLeaks([]byte(raw), pan, cvc); len(got) != want {
			t.Errorf("%s: found %v, want %d leaks", raw, got, want)
		}
	}
}

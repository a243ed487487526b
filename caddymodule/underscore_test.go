package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/token"
	"github.com/cardproxy/cardproxy/vault"
)

// MultiSafepay's SDKs send the key in an "api_key" header, which Caddy drops
// by default. An egress that forwards the app's key on such a server does not
// start, and says which option to set; with the option, the app's key
// reaches the PSP and the order goes through.
func TestAppKeyHeaderWithUnderscore(t *testing.T) {
	sim, simSrv, ca := startSim(t)
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	tn := uniqueTenant()
	egress := freeAddr(t)
	site := fmt.Sprintf(`
http://%s {
	card_detokenize %s {
		preset multisafepay
		ca_cert %s
	}
}
`, egress, simSrv.URL, ca)
	global := globalOptions(vaultSrv(t).Addr, tn, "")
	stop, err := testcaddy.Load(global + site)
	if err == nil {
		stop()
		t.Fatal("an egress forwarding the app's api_key header started on a server that drops it")
	}
	for _, want := range []string{`"api_key"`, "expected_underscore_headers api_key", "api_key {env."} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	withOption := strings.Replace(global, "\tadmin off\n", "\tadmin off\n\tservers {\n\t\texpected_underscore_headers api_key\n\t}\n", 1)
	runCaddy(t, withOption+site)

	store, err := vault.New(vault.Config{Address: vaultSrv(t).Addr, Token: vaultSrv(t).Token})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	toks, err := store.Tokenize(t.Context(), tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111", Expiry: "12/28"}})
	if err != nil {
		t.Fatal(err)
	}
	cvcTok, _, err := store.TokenizeCVC(t.Context(), tn, "123")
	if err != nil {
		t.Fatal(err)
	}
	panTok := toks[0].Token
	req, _ := http.NewRequest(http.MethodPost, "http://"+egress+"/v1/json/orders", strings.NewReader(mspBody(panTok, "2812", cvcTok)))
	req.Header.Set("Content-Type", "application/json; charset=UTF-8;") // as the MultiSafepay SDK sends it
	req.Header.Set("api_key", simKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("order with the app's key: %d %s", resp.StatusCode, body)
	}
	if got := sim.Received(); len(got) != 1 || got[0].Header.Get("api_key") != simKey {
		t.Fatalf("the PSP did not get the app's key")
	}
}

// An identity whose credentials resolve to nothing (an unset variable) is
// refused at start: it would otherwise run on $VAULT_TOKEN.
func TestIdentityWithoutCredentials(t *testing.T) {
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	t.Setenv("VAULT_TOKEN", vaultSrv(t).Token)
	global := strings.Replace(globalOptions(vaultSrv(t).Addr, uniqueTenant(), ""), "\t\ttenant ", "\t\tegress_vault {\n\t\t\ttoken {env.CARDPROXY_TEST_UNSET_TOKEN}\n\t\t}\n\t\ttenant ", 1)
	stop, err := testcaddy.Load(global + "http://" + freeAddr(t) + " {\n\trespond ok\n}\n")
	if err == nil {
		stop()
		t.Fatal("an egress identity with no credentials started")
	}
	if !strings.Contains(err.Error(), "egress_vault: no credentials") {
		t.Fatalf("error: %v", err)
	}
}

// The start-up check sees every place a card_detokenize can sit, and Caddy's
// whole header rule (dots, and the hyphenated twin of a listed name).
func TestKeyHeaderCheckEverywhere(t *testing.T) {
	_, simSrv, ca := startSim(t)
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	global := globalOptions(vaultSrv(t).Addr, uniqueTenant(), "")
	egress := func(extra string) string {
		return "card_detokenize " + simSrv.URL + " {\n\t\tpreset multisafepay\n\t\tca_cert " + ca + "\n" + extra + "\t}"
	}
	for name, c := range map[string]struct{ servers, site string }{
		"named route":   {"", "&(egress) {\n\t" + egress("") + "\n}\nhttp://ADDR {\n\tinvoke egress\n}\n"},
		"handle_errors": {"", "http://ADDR {\n\terror 500\n\thandle_errors {\n\t\t" + egress("") + "\n\t}\n}\n"},
		"hyphen twin": {"\tservers {\n\t\texpected_underscore_headers x_api_key\n\t}\n",
			"http://ADDR {\n\t" + egress("\t\tapi_key_header X-Api-Key\n") + "\n}\n"},
		"dotted header": {"", "http://ADDR {\n\t" + egress("\t\tapi_key_header x.api.key\n") + "\n}\n"},
	} {
		cfg := strings.Replace(global, "\tadmin off\n", "\tadmin off\n"+c.servers, 1) + strings.ReplaceAll(c.site, "ADDR", freeAddr(t))
		stop, err := testcaddy.Load(cfg)
		if err == nil {
			stop()
			t.Errorf("%s: an egress whose key header Caddy drops started", name)
			continue
		}
		if !strings.Contains(err.Error(), "forwards the app's") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

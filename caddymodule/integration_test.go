package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/vault"
)

// merchantApp is an httptest server standing in for the shop: it records
// every request exactly as it arrives.
type merchantApp struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

func newMerchantApp(t *testing.T) *merchantApp {
	m := &merchantApp{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.seen = append(m.seen, seenRequest{r.Method, r.RequestURI, r.Header.Clone(), b})
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *merchantApp) requests() []seenRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]seenRequest(nil), m.seen...)
}

func (m *merchantApp) everything() []byte {
	var b bytes.Buffer
	for _, r := range m.requests() {
		fmt.Fprintf(&b, "%s %s\n%v\n%s\n", r.Method, r.URI, r.Header, r.Body)
	}
	return b.Bytes()
}

func freeAddr(t testing.TB) string { return testcaddy.FreeAddr(t) }

// runCaddy loads a Caddyfile into an in-process Caddy (the same code path as
// `cardproxy run`) and stops it when the test ends.
func runCaddy(t testing.TB, caddyfile string) { testcaddy.Run(t, caddyfile) }

// globalOptions is the global block of the in-process test configs: no
// admin endpoint, no autosave, plain HTTP, the Vault token from the
// environment (as users should do).
func globalOptions(vaultAddr, tenant, extraVault string) string {
	return fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	cardproxy {
		vault {
			address %s
			token {env.CARDPROXY_TEST_VAULT_TOKEN}
			%s
		}
		tenant %s
	}
}
`, vaultAddr, extraVault, tenant)
}

func proxyConfig(vaultAddr, extraVault, tenant, listen, upstream string) string {
	return globalOptions(vaultAddr, tenant, "timeout 3s\n"+extraVault) + fmt.Sprintf(`
http://%s {
	route /checkout* {
		card_tokenize {
			pan     card_number gateway_info.card_number payment[cc_number]
			cvc     cvc card_cvc gateway_info.cvc gateway_info.card_cvc payment[cc_cid]
			expiry  card_expiry gateway_info.card_expiry_date
			holder  gateway_info.card_holder_name
		}
	}
	reverse_proxy %s
}
`, listen, strings.TrimPrefix(upstream, "http://"))
}

func TestCaddyEndToEnd(t *testing.T) {
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	app := newMerchantApp(t)
	listen := freeAddr(t)
	tn := uniqueTenant()
	runCaddy(t, proxyConfig(vaultSrv(t).Addr, "", tn, listen, app.URL))
	base := "http://" + listen
	client := &http.Client{Timeout: 10 * time.Second}

	// 1. A MultiSafepay direct order body (JSON).
	resp, err := client.Post(base+"/checkout/api", "application/json", strings.NewReader(mspOrder))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("json checkout: %d", resp.StatusCode)
	}

	// 2. A browser form checkout, as typed (spaces), nested names.
	form := url.Values{}
	form.Set("payment[cc_number]", "4761 3400 0000 0019")
	form.Set("payment[cc_cid]", "123")
	form.Set("amount", "25.00")
	resp, err = client.PostForm(base+"/checkout/form", form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("form checkout: %d", resp.StatusCode)
	}

	// 3. Chunked JSON (unknown length) through reverse_proxy.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"card_number":"5500 0000 0000 0004",`))
		pw.Write([]byte(`"card_expiry":"01/30","cvc":"999"}`))
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, base+"/checkout/chunked", pr)
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("chunked checkout: %d", resp.StatusCode)
	}

	// 4. Outside the card route: untouched (no tokenization there by config).
	resp, err = client.Get(base + "/ok?transactionid=order-1001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	seen := app.requests()
	if len(seen) != 4 {
		t.Fatalf("app saw %d requests, want 4", len(seen))
	}
	noCardData(t, "app traffic", app.everything(),
		"4111111111111111", "4111 1111 1111 1111", "4761340000000019", "4761 3400 0000 0019", "4761+3400",
		"5500000000000004", "5500 0000 0000 0004", `"123"`, "cc_cid%5D=123", "=123&", `"999"`)
	store, err := vault.New(vault.Config{Address: vaultSrv(t).Addr, Token: vaultSrv(t).Token})
	if err != nil {
		t.Fatal(err)
	}
	var order struct {
		GatewayInfo struct {
			CardNumber string `json:"card_number"`
		} `json:"gateway_info"`
	}
	if err := json.Unmarshal(seen[0].Body, &order); err != nil {
		t.Fatal(err)
	}
	c, err := store.Detokenize(t.Context(), tn, order.GatewayInfo.CardNumber)
	if err != nil || c.PAN != "4111111111111111" {
		t.Fatalf("json order token: %v", err)
	}
	v, _ := url.ParseQuery(string(seen[1].Body))
	c, err = store.Detokenize(t.Context(), tn, v.Get("payment[cc_number]"))
	if err != nil || c.PAN != "4761340000000019" {
		t.Fatalf("form token: %v", err)
	}
	if seen[1].Header.Get("Cardproxy-Card-Brand") != "visa" || seen[1].Header.Get("Cardproxy-Card-Last4") != "0019" {
		t.Errorf("metadata headers through reverse_proxy: %v", seen[1].Header)
	}
	if !bytes.HasPrefix(seen[2].Body, []byte(`{"card_number":"cp_pan_`)) || seen[2].Header.Get("Content-Length") == "" {
		t.Errorf("chunked body: %q (Content-Length %q)", seen[2].Body, seen[2].Header.Get("Content-Length"))
	}
}

func TestCaddyVaultDown(t *testing.T) {
	dead, err := vaulttestStart()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", dead.Token)
	app := newMerchantApp(t)
	listen := freeAddr(t)
	// A fresh Vault: auto_setup prepares it at config load.
	runCaddy(t, proxyConfig(dead.Addr, "auto_setup", uniqueTenant(), listen, app.URL))
	client := &http.Client{Timeout: 20 * time.Second}

	// Works while Vault is up…
	resp, err := client.Post("http://"+listen+"/checkout", "application/json", strings.NewReader(`{"card_number":"4111111111111111"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with vault up: %d", resp.StatusCode)
	}
	before := len(app.requests())
	// …then Vault stops: 503 with a JSON error, and the app sees nothing.
	dead.Stop()
	resp, err = client.Post("http://"+listen+"/checkout", "application/json", strings.NewReader(mspOrder))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"error":"vault_unavailable"`) {
		t.Fatalf("vault down: %d %s", resp.StatusCode, b)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	if got := len(app.requests()); got != before {
		t.Fatalf("app received %d requests while vault was down", got-before)
	}
}

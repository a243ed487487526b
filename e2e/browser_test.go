// Package e2e runs cardproxy's whole job the way a shopper experiences it:
// headless Chromium (Debian's package) opens the demo shop behind cardproxy
// (configured by the real Caddyfile.example), types a test card, passes the
// 3-D Secure challenge and lands on the shop's result page.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/chromedp/chromedp"

	_ "github.com/cardproxy/cardproxy/caddymodule"
	"github.com/cardproxy/cardproxy/demoshop"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/pspsim"
	"github.com/cardproxy/cardproxy/relay"
	"github.com/cardproxy/cardproxy/vault"
)

func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CARDPROXY_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CARDPROXY_SKIP_BROWSER") == "1" {
		t.Skip("CARDPROXY_SKIP_BROWSER=1: browser test skipped on request")
	}
	t.Fatal("no chromium: install Debian's chromium package (scripts/test.sh does when run as root) or set CARDPROXY_CHROMIUM")
	return ""
}

type demo struct {
	vault   *vaulttest.Server
	shopURL string
	shop    *demoshop.Shop
	shopLog string
	sim     *pspsim.Sim
	tempDir string
	// auditLog is where Caddyfile.example writes the cardproxy.audit
	// trail; config the demo's adapted JSON configuration.
	auditLog string
	config   []byte
}

func freePort(t *testing.T) string {
	l, err := (&netListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*netTCPAddr).Port)
}

// startDemo brings up what scripts/demo.sh does, in process: a dev Vault,
// pspsim, demoshop and cardproxy loaded from Caddyfile.example.
func startDemo(t *testing.T) *demo {
	t.Helper()
	dir := t.TempDir()
	v := vaulttest.StartT(t)
	tokenFile := filepath.Join(dir, "vault-token")
	if err := os.WriteFile(tokenFile, []byte(v.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	const pspKey = "e2e-msp-key-0123456789"
	sim := pspsim.New(pspsim.Config{APIKey: pspKey})
	caPEM, tlsCfg, err := pspsim.NewTLS("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewUnstartedServer(sim.Handler())
	api.TLS = tlsCfg
	api.StartTLS()
	t.Cleanup(api.Close)
	browserSide := httptest.NewServer(sim.Handler()) // shopper-facing 3DS pages
	t.Cleanup(browserSide.Close)
	sim.SetPublicURL(browserSide.URL)
	caFile := filepath.Join(dir, "pspsim-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	port, egressPort := freePort(t), freePort(t)
	shopURL := "http://127.0.0.1:" + port
	shopLog := filepath.Join(dir, "shop-requests.log")
	shop, err := demoshop.New(demoshop.Config{PublicURL: shopURL, Egress: "http://127.0.0.1:" + egressPort + "/v1/json",
		APIKey: pspKey, RequestLog: shopLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shop.Close() })
	app := httptest.NewServer(shop)
	t.Cleanup(app.Close)

	for k, val := range map[string]string{
		"VAULT_ADDR": v.Addr, "CARDPROXY_VAULT_TOKEN_FILE": tokenFile,
		"CARDPROXY_PORT": port, "CARDPROXY_EGRESS_PORT": egressPort, "CARDPROXY_APP": strings.TrimPrefix(app.URL, "http://"),
		"CARDPROXY_PUBLIC_URL": shopURL, "CARDPROXY_PSP_URL": api.URL, "CARDPROXY_PSP_CA": caFile, "MSP_API_KEY": pspKey,
		"CARDPROXY_AUDIT_LOG": filepath.Join(dir, "audit.log"),
	} {
		t.Setenv(k, val)
	}
	raw, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	// The demo's configuration verbatim (its admin endpoint is off); only
	// config autosave is turned off for a test process.
	cf := strings.Replace(string(raw), "{\n", "{\n\tpersist_config off\n", 1)
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile.example"})
	if err != nil {
		t.Fatalf("adapt Caddyfile.example: %v %v", err, warn)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return &demo{vault: v, shopURL: shopURL, shop: shop, shopLog: shopLog, sim: sim, tempDir: dir,
		auditLog: filepath.Join(dir, "audit.log"), config: cfg}
}

func browser(t *testing.T) (context.Context, context.CancelFunc) {
	exe := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	// The first Run starts the browser, which lives as long as this
	// context: no timeout here (each payment has its own below).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx, func() { cancelC(); cancelA() }
}

// pay types a card into the shop's checkout form like a person, submits it,
// answers the 3-D Secure challenge and returns the result page's text.
func pay(t *testing.T, ctx context.Context, shopURL, number, shot string) (title, detail string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(shopURL+"/"),
		chromedp.WaitVisible(chromedp.ID("card_number")),
		chromedp.SendKeys(chromedp.ID("card_number"), number),
		chromedp.SendKeys(chromedp.ID("card_holder"), "Demo Shopper"),
		chromedp.SendKeys(chromedp.ID("card_expiry"), "12/30"),
		chromedp.SendKeys(chromedp.ID("cvc"), "123"),
		chromedp.Click(chromedp.ID("pay")),
		// The issuer's challenge page (pspsim's ACS).
		chromedp.WaitVisible(chromedp.ID("authenticate")),
		chromedp.Click(chromedp.ID("authenticate")),
		// Back at the shop.
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if title, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("result"))); err != nil {
		t.Fatal(err)
	}
	if detail, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("detail"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, shot)
	return title, detail
}

// screenshot saves the page as it is to the artifacts directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CARDPROXY_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
}

var orderRE = regexp.MustCompile(`Order (demo-[0-9-]+)`)

func TestBrowserCheckout(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := browser(t)
	defer cancel()

	title, detail := pay(t, ctx, d.shopURL, "4761 3400 0000 0019", "checkout-success.png")
	if title != "Payment complete" || !strings.Contains(detail, "Visa ending in 0019") {
		t.Fatalf("success page: %q / %q", title, detail)
	}
	if strings.Contains(detail, "4761") {
		t.Fatalf("the page shows more than the last 4 digits: %q", detail)
	}
	m := orderRE.FindStringSubmatch(detail)
	if m == nil {
		t.Fatalf("no order id on the page: %q", detail)
	}
	if st, ok := d.shop.WebhookStatus(m[1]); !ok || st != "completed" {
		t.Errorf("verified webhook for %s: %q %v", m[1], st, ok)
	}

	title, detail = pay(t, ctx, d.shopURL, "4012 0010 3746 1114", "checkout-declined.png")
	if title != "Payment failed" || !strings.Contains(detail, "declined") {
		t.Fatalf("declined card page: %q / %q", title, detail)
	}

	// The evidence: the shop's own request log holds tokens, never card data.
	log, err := os.ReadFile(d.shopLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"4761340000000019", "4761 3400", "4761+3400", "4012001037461114", "4012 0010", "4012+0010", "cvc=123", `"123"`} {
		if strings.Contains(string(log), s) {
			t.Errorf("the shop's request log contains card data (%q)", s)
		}
	}
	if !strings.Contains(string(log), "cp_pan_") || !strings.Contains(string(log), "cp_cvc_") {
		t.Error("no tokens in the shop's request log")
	}
	// …and the PSP got the real card.
	var pans []string
	for _, r := range d.sim.Received() {
		if r.Method == http.MethodPost {
			pans = append(pans, regexp.MustCompile(`"card_number":"(\d+)"`).FindStringSubmatch(string(r.Body))[1])
		}
	}
	if len(pans) != 2 || pans[0] != "4761340000000019" || pans[1] != "4012001037461114" {
		t.Fatalf("PSP received %v", pans)
	}
}

// A 3-D Secure POST redirect relayed by card_3ds_relay (both kinds: the PSP's
// own HTML page, and a form cardproxy renders) really auto-submits in a
// browser despite the relay's Content-Security-Policy, and posts the fields
// to the issuer unchanged.
func TestBrowserRelay3DS(t *testing.T) {
	d := startDemo(t)
	type post struct{ form url.Values }
	got := make(chan post, 4)
	acs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/acs" {
			http.NotFound(w, r) // e.g. the browser's favicon request
			return
		}
		_ = r.ParseForm()
		got <- post{r.PostForm}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><body><h1 id="acs">Issuer challenge</h1></body></html>`))
	}))
	defer acs.Close()
	store, err := vault.New(vault.Config{Address: d.vault.Addr, Token: d.vault.Token})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{"PaReq": "eJxVUt1ugj+/=", "MD": "4111111111111111-md", "TermUrl": d.shopURL + "/checkout/3ds-return?x=1&y=2"}
	htmlPage := `<html><body onload="document.forms[0].submit()"><form method="POST" action="` + acs.URL + `/acs">` +
		`<input type="hidden" name="PaReq" value="eJxVUt1ugj+/="><input type="hidden" name="MD" value="4111111111111111-md">` +
		`<input type="hidden" name="TermUrl" value="` + d.shopURL + `/checkout/3ds-return?x=1&amp;y=2"></form></body></html>`
	ctx, cancel := browser(t)
	defer cancel()
	for _, rel := range []relay.Redirect{{HTML: htmlPage}, {Action: acs.URL + "/acs", Fields: fields}} {
		id, err := store.PutRelay(context.Background(), "demo-shop", rel, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
		err = chromedp.Do(tctx, chromedp.Navigate(d.shopURL+"/3ds/"+id), chromedp.WaitVisible(chromedp.ID("acs")))
		tcancel()
		if err != nil {
			t.Fatalf("relay (html=%v): %v", rel.HTML != "", err)
		}
		select {
		case p := <-got:
			for k, v := range fields {
				if p.form.Get(k) != v {
					t.Errorf("relay (html=%v): ACS got %s=%q, want %q", rel.HTML != "", k, p.form.Get(k), v)
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the ACS received nothing")
		}
	}
}

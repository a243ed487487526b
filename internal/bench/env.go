// Package bench is cardproxy's load benchmark (cmd/cardbench): it starts
// its own Vault (a dev server or a Raft-backed single node), a counting
// proxy in front of it, a trivial app, a TLS upstream and one in-process
// Caddy with four sites, then runs fixed-duration, fixed-concurrency
// scenarios against them and reports req/s, latency, errors and Vault calls
// per request. See docs/performance.md.
//
// Every goroutine carries a pprof label "role" (cardproxy, loadgen, app,
// upstream, vaultproxy), so a CPU profile of a run can be cut down to
// cardproxy's own work: go tool pprof -tagfocus role=cardproxy -top.
package bench

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard" // reverse_proxy
	"github.com/hashicorp/vault/api"

	_ "github.com/cardproxy/cardproxy/caddymodule" // card_tokenize, card_detokenize
	"github.com/cardproxy/cardproxy/internal/faultproxy"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/vault"
)

// Tenant is the tenant every scenario tokenizes for.
const Tenant = "bench"

// testPAN is the card of the fixed-card loads: Visa's public test number.
const testPAN = "4111111111111111"

// tokenEnv is the environment variable the Caddyfile reads the Vault token
// from (as users should: never the token in the config itself).
const tokenEnv = "CARDBENCH_VAULT_TOKEN"

// Env is one Vault with everything in front of it.
type Env struct {
	Kind  string // "dev" or "raft"
	Token string // root token (cardproxy runs with it: set-up needs mounts and keys)

	// Site URLs of the in-process Caddy.
	Plain, Tokenize, PlainTLS, Egress string

	proxy    *faultproxy.Proxy
	upstream *upstream
	dir      string
	closers  []func()
}

// VaultCalls counts the requests the proxy in front of Vault has seen so far.
func (e *Env) VaultCalls() int { return e.proxy.Stats().Requests }

// VaultURL is where cardproxy and the raw-Vault scenarios reach Vault: the
// counting proxy.
func (e *Env) VaultURL() string { return e.proxy.URL() }

// labelled runs f with the pprof label role=role: goroutines f starts (Caddy's
// servers, the proxy's connections) inherit it.
func labelled(role string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("role", role), func(context.Context) { f() })
}

// Start starts a Vault of kind ("dev" or "raft"), sets up cardproxy's mounts
// and keys, and starts the counting proxy, the app, the TLS upstream and
// Caddy. Only one Env may be running at a time (Caddy is process-global).
func Start(kind string) (_ *Env, err error) {
	e := &Env{Kind: kind}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	var addr string
	switch kind {
	case "dev":
		s, err := vaulttest.Start()
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, s.Stop)
		addr, e.Token = s.Addr, s.Token
	case "raft":
		c, err := vaulttest.NewCluster(1, vaulttest.ClusterOptions{})
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, c.Close)
		addr, e.Token = c.Nodes[0].Addr, c.Token
	default:
		return nil, fmt.Errorf("bench: unknown Vault kind %q (dev or raft)", kind)
	}
	if err := setupVault(addr, e.Token); err != nil {
		return nil, err
	}
	labelled("vaultproxy", func() { e.proxy, err = faultproxy.New(addr) })
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = e.proxy.Close() })

	if e.dir, err = os.MkdirTemp("", "cardbench-*"); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { os.RemoveAll(e.dir) })
	var app *httptest.Server
	labelled("app", func() { app = httptest.NewServer(http.HandlerFunc(echo)) })
	e.closers = append(e.closers, app.Close)
	labelled("upstream", func() { e.upstream = startUpstream() })
	e.closers = append(e.closers, e.upstream.srv.Close)
	ca := filepath.Join(e.dir, "upstream-ca.pem")
	cert := e.upstream.srv.Certificate()
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		return nil, err
	}
	return e, e.startCaddy(strings.TrimPrefix(app.URL, "http://"), e.upstream.srv.URL, ca)
}

// setupVault creates cardproxy's mounts and keys (vault-init).
func setupVault(addr, token string) error {
	st, err := vault.New(vault.Config{Address: addr, Token: token, Timeout: vault.Duration(time.Minute), IndexHMACInProcess: IndexHMACInProcess})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return st.Setup(ctx)
}

// DedupeCache and IndexHMACInProcess are the vault options dedupe_cache and
// index_hmac_in_process of the cardproxy under test (off by default).
var (
	DedupeCache        time.Duration
	IndexHMACInProcess bool
)

func vaultOptionLines() string {
	s := ""
	if DedupeCache > 0 {
		s += "\n\t\t\tdedupe_cache " + DedupeCache.String()
	}
	if IndexHMACInProcess {
		s += "\n\t\t\tindex_hmac_in_process"
	}
	return s
}

func (e *Env) startCaddy(app, upstream, ca string) error {
	if err := os.Setenv(tokenEnv, e.Token); err != nil {
		return err
	}
	var addrs [4]string
	for i := range addrs {
		p, err := vaulttest.FreePort()
		if err != nil {
			return err
		}
		addrs[i] = fmt.Sprintf("http://127.0.0.1:%d", p)
	}
	e.Plain, e.Tokenize, e.PlainTLS, e.Egress = addrs[0], addrs[1], addrs[2], addrs[3]
	cfg := fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	log {
		output discard
	}
	cardproxy {
		vault {
			address %s
			token {env.%s}%s
		}
		tenant %s
	}
}
`, e.proxy.URL(), tokenEnv, vaultOptionLines(), Tenant)
	for _, site := range [][2]string{
		{e.Plain, "reverse_proxy " + app},
		{e.Tokenize, `card_tokenize {
		pan    gateway_info.card_number
		cvc    gateway_info.card_cvc gateway_info.cvc
		expiry gateway_info.card_expiry_date
		holder gateway_info.card_holder_name
	}
	reverse_proxy ` + app},
		{e.PlainTLS, "reverse_proxy " + upstream + " {\n\t\ttransport http {\n\t\t\ttls_trust_pool file " + ca + "\n\t\t}\n\t}"},
		{e.Egress, "card_detokenize " + upstream + " {\n\t\tpreset  multisafepay\n\t\tca_cert " + ca + "\n\t\tapi_key bench-key\n\t}"},
	} {
		cfg += site[0] + " {\n\t" + site[1] + "\n}\n"
	}
	adapted, warns, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		return fmt.Errorf("bench: adapt: %v %v", err, warns)
	}
	labelled("cardproxy", func() { err = caddy.Load(adapted, true) })
	if err != nil {
		return fmt.Errorf("bench: load Caddy: %w", err)
	}
	e.closers = append(e.closers, func() { _ = caddy.Stop() })
	return nil
}

// Close stops everything Start started, in reverse order.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// vaultClient is a Vault API client for the raw-Vault scenarios and the
// preparation: through the counting proxy, with a keep-alive pool of n.
func (e *Env) vaultClient(n int) (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = e.VaultURL()
	cfg.MaxRetries = 0
	cfg.Timeout = 30 * time.Second
	cfg.HttpClient.Transport = &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(e.Token)
	c.SetWrappingLookupFunc(func(op, path string) string { return "" })
	return c, nil
}

// echo is the trivial app: 200 with the body it received, so the load
// generator sees what the app saw.
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// upstream is the TLS "PSP": for an order whose order_id was registered
// with expect, it answers 200 only if the card fields hold that PAN and CVC
// (422 otherwise); any other order gets 200.
type upstream struct {
	srv  *httptest.Server
	want sync.Map // order_id → expected
}

type expected struct{ pan, cvc string }

func startUpstream() *upstream {
	u := &upstream{}
	u.srv = httptest.NewTLSServer(http.HandlerFunc(u.serve))
	return u
}

func (u *upstream) expect(orderID, pan, cvc string) { u.want.Store(orderID, expected{pan, cvc}) }
func (u *upstream) forget(orderID string)           { u.want.Delete(orderID) }

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o, err := parseOrder(b)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if v, ok := u.want.Load(o.OrderID); ok {
		x := v.(expected)
		if digits(o.Gateway.PAN) != x.pan || o.Gateway.CVC != x.cvc || o.Gateway.CVC2 != x.cvc {
			http.Error(w, "upstream got the wrong card data for "+o.OrderID, http.StatusUnprocessableEntity)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"success":true,"data":{"order_id":%q,"status":"initialized"}}`, o.OrderID)
}

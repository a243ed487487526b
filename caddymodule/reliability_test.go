package caddymodule

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cardproxy/cardproxy/vault"
)

// TestTwoInstances: nothing that matters lives in one process. Instance A
// tokenizes a checkout; instance B (its own Vault client, same Vault and
// tenant) detokenizes it to the PSP and relays the PSP's 3-D Secure POST
// redirect; A serves the relay page. The CVC works once, on B.
func TestTwoInstances(t *testing.T) {
	a := newHarness(t, nil)
	const pan = "5555555555554444"
	r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(
		`{"gateway_info":{"card_number":"`+pan+`","card_cvc":"739","card_expiry_date":"3012"}}`))
	r.Header.Set("Content-Type", "application/json")
	w, app := a.do(t, r)
	if w.Code != 200 {
		t.Fatalf("ingress on A: %d %s", w.Code, w.Body)
	}
	var order struct {
		GatewayInfo struct {
			CardNumber string `json:"card_number"`
			CardCVC    string `json:"card_cvc"`
		} `json:"gateway_info"`
	}
	if err := json.Unmarshal(app.body, &order); err != nil {
		t.Fatal(err)
	}
	answer := `{"resultCode":"RedirectShopper","action":{"type":"redirect","method":"POST","url":"https://acs.example/3ds","data":{"PaReq":"BQ","MD":"m","TermUrl":"https://shop.example/r"}}}`
	cap := &capture{answer: answer}
	s, ca := tlsServer(t, cap)
	b := newEgress(t, s.URL, ca, func(d *Detokenize) { d.Tenant = a.tn; d.RelayURL = "https://shop.example/3ds/" })
	if b.store == a.store {
		t.Fatal("one Vault client for both instances")
	}
	body := `{"type":"direct","gateway_info":{"card_number":"` + order.GatewayInfo.CardNumber + `","card_cvc":"` + order.GatewayInfo.CardCVC + `","card_expiry_date":""}}`
	send := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return b.do(t, r)
	}
	w = send()
	if w.Code != 200 || len(cap.got()) != 1 {
		t.Fatalf("egress on B: %d %s", w.Code, w.Body)
	}
	if got := string(cap.got()[0].Body); !strings.Contains(got, `"card_number":"`+pan+`"`) || !strings.Contains(got, `"card_cvc":"739"`) ||
		!strings.Contains(got, `"card_expiry_date":"3012"`) {
		t.Fatalf("PSP got %s", got)
	}
	var resp struct{ Action map[string]string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || !strings.Contains(resp.Action["url"], "/3ds/cp_3ds_") {
		t.Fatalf("not relayed: %s", w.Body)
	}
	u, _ := url.Parse(resp.Action["url"])
	relayA := &ThreeDSRelay{store: a.store, tenant: a.tn, logger: zap.NewNop()}
	rw := httptest.NewRecorder()
	if err := relayA.ServeHTTP(rw, httptest.NewRequest(http.MethodGet, u.Path, nil), nil); err != nil || rw.Code != 200 ||
		!strings.Contains(rw.Body.String(), `action="https://acs.example/3ds"`) {
		t.Fatalf("relay on A: %d %v", rw.Code, err)
	}
	if w := send(); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "unknown_token") {
		t.Fatalf("CVC used twice: %d %s", w.Code, w.Body)
	}
}

// TestTokenExpiresMidRun: cardproxy's own Vault token expires while it
// runs (here: a 2-second token from a token file, not renewable). Requests
// then fail closed with 503 vault_auth_failed — logged once, exposed as a
// metric — and work again as soon as a new token is written to the file.
func TestTokenExpiresMidRun(t *testing.T) {
	srv := vaultSrv(t)
	root, err := vault.New(vault.Config{Address: srv.Addr, Token: srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	short, err := root.Client().Auth().Token().Create(&vaultTokenCreate{Policies: []string{vault.PolicyTokenize}, TTL: "2s", Renewable: new(bool)})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(short.Auth.ClientToken), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := vault.New(vault.Config{Address: srv.Addr, TokenFile: file})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	app := testApp(uniqueTenant(), store)
	app.logger = zap.New(core)
	if err := app.watchVault(reg); err != nil {
		t.Fatal(err)
	}
	h := &Tokenize{PAN: []string{"card_number"}}
	if err := h.setup(app, zap.New(core), reg); err != nil {
		t.Fatal(err)
	}
	hs := &harness{h: h, app: app, store: store, tn: app.Tenant, logs: logs}
	send := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/c", strings.NewReader(`{"card_number":"4111111111111111"}`))
		r.Header.Set("Content-Type", "application/json")
		w, _ := hs.do(t, r)
		return w
	}
	if w := send(); w.Code != 200 {
		t.Fatalf("before expiry: %d %s", w.Code, w.Body)
	}
	time.Sleep(2500 * time.Millisecond)
	for range 3 {
		if w := send(); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"error":"vault_auth_failed"`) {
			t.Fatalf("after expiry: %d %s", w.Code, w.Body)
		}
	}
	if n := logs.FilterMessageSnippet("vault refuses cardproxy's credentials").Len(); n != 1 {
		t.Errorf("%d state log lines for one change", n)
	}
	if v := testutil.ToFloat64(app.vaultState.WithLabelValues("vault", "unauthorized")); v != 1 {
		t.Errorf("cardproxy_vault_state{identity=vault,state=unauthorized} = %v", v)
	}
	// Vault Agent writes a new token: the next request picks it up.
	fresh, err := root.Client().Auth().Token().Create(&vaultTokenCreate{Policies: []string{vault.PolicyTokenize}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(fresh.Auth.ClientToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := send(); w.Code != 200 {
		t.Fatalf("after a new token: %d %s", w.Code, w.Body)
	}
	if logs.FilterMessageSnippet("vault answers again").Len() != 1 {
		t.Error("no recovery log line")
	}
	// Every Vault call is in cardproxy_vault_request_duration_seconds, by
	// operation and result; no label carries a tenant, token or path.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "cardproxy_vault_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), app.Tenant) || strings.Contains(l.GetValue(), "cp_") || strings.Contains(l.GetValue(), "/") {
					t.Errorf("label %s=%q", l.GetName(), l.GetValue())
				}
				ls = append(ls, l.GetValue())
			}
			seen[strings.Join(ls, " ")] += m.GetHistogram().GetSampleCount()
		}
	}
	for _, want := range []string{"vault kv_read_idx ok", "vault kv_write_pan ok", "vault transit_encrypt ok", "vault transit_hmac forbidden"} {
		if seen[want] == 0 {
			t.Errorf("no %q calls in the metrics: %v", want, seen)
		}
	}
}

type vaultTokenCreate = api.TokenCreateRequest

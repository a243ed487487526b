package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cardproxy/cardproxy/vault"
)

func TestEgressBoundToUpstream(t *testing.T) {
	evil := &capture{answer: `{}`}
	evilSrv, _ := tlsServer(t, evil)
	psp := &capture{status: 302, answer: "", header: map[string]string{"Location": evilSrv.URL + "/steal"}}
	s, ca := tlsServer(t, psp)
	e := newEgress(t, s.URL+"/v1/json", ca, nil)
	panTok, _ := e.tokens(t, "4111111111111111", "12/30", "", "")

	// Absolute-form request URI naming another host, and a spoofed Host.
	r := httptest.NewRequest(http.MethodPost, evilSrv.URL+"/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+panTok+`"}}`))
	r.Header.Set("Content-Type", "application/json")
	r.Host = evilSrv.Listener.Addr().String()
	w := e.do(t, r)
	// The PSP's redirect to another host reaches the app as a redirect; it is
	// never followed with the card data.
	if w.Code != 302 || w.Header().Get("Location") != evilSrv.URL+"/steal" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if len(evil.got()) != 0 {
		t.Fatal("card data reached another host")
	}
	got := psp.got()
	if len(got) != 1 || got[0].URI != "/v1/json/orders" || got[0].Header.Get("X-Seen-Host") != s.Listener.Addr().String() {
		t.Fatalf("PSP got %+v", got)
	}
	if !strings.Contains(string(got[0].Body), "4111111111111111") {
		t.Fatal("PSP did not get the card")
	}

	// Plain-HTTP upstreams are refused at provision unless explicitly allowed.
	d := &Detokenize{Upstream: "http://127.0.0.1:1", Preset: "multisafepay"}
	err := d.setup(testApp("x", e.store), zap.NewNop(), nil)
	if err == nil || !strings.Contains(err.Error(), "https://") {
		t.Fatalf("http upstream accepted: %v", err)
	}
	for _, bad := range []string{"https://user:pw@psp.example", "https://psp.example/?api_key=x", "psp.example", "ftp://psp.example"} {
		d := &Detokenize{Upstream: bad}
		if err := d.setup(testApp("x", e.store), zap.NewNop(), nil); err == nil {
			t.Errorf("upstream %q accepted", bad)
		}
	}
	d = &Detokenize{Upstream: "http://127.0.0.1:1", InsecurePlainHTTPUpstream: true}
	if err := d.setup(testApp("x", e.store), zap.NewNop(), nil); err != nil {
		t.Fatalf("explicitly allowed http upstream: %v", err)
	}
	// An upstream whose certificate is not trusted is not talked to.
	e2 := newEgress(t, s.URL, "", nil)
	tok2, _ := e2.tokens(t, "4111111111111111", "", "", "")
	r = httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"gateway_info":{"card_number":"`+tok2+`"}}`))
	r.Header.Set("Content-Type", "application/json")
	if w := e2.do(t, r); w.Code != 502 || !strings.Contains(w.Body.String(), "psp_unreachable") {
		t.Fatalf("untrusted certificate: %d %s", w.Code, w.Body)
	}
	if e2.logs.FilterMessage("egress request refused").FilterField(zap.String("code", "psp_unreachable")).Len() != 1 {
		t.Error("the unreachable PSP is not in the audit trail")
	}
	if len(psp.got()) != 1 {
		t.Fatal("request sent to an upstream with an untrusted certificate")
	}
}

func TestEgressVaultDown(t *testing.T) {
	dead, err := vaulttestStart()
	if err != nil {
		t.Fatal(err)
	}
	cap := &capture{answer: `{}`}
	s, ca := tlsServer(t, cap)
	store, _ := vault.New(vault.Config{Address: dead.Addr, Token: dead.Token, Timeout: vault.Duration(2 * time.Second)})
	d := &Detokenize{Upstream: s.URL, CACert: ca, Preset: "multisafepay"}
	if err := d.setup(testApp("t", store), zap.NewNop(), nil); err != nil {
		t.Fatal(err)
	}
	dead.Stop()
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(`{"gateway_info":{"card_number":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	if err := d.ServeHTTP(w, r, nil); err != nil {
		t.Fatal(err)
	}
	if w.Code != 503 || !strings.Contains(w.Body.String(), "vault_unavailable") || len(cap.got()) != 0 {
		t.Fatalf("%d %s (PSP got %d)", w.Code, w.Body, len(cap.got()))
	}
}

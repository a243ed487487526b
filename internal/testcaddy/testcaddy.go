// Package testcaddy runs Caddyfiles in-process for cardproxy's tests — the
// same adapt-and-load path as `cardproxy run` — and finds free loopback
// ports. Callers import the modules their Caddyfile uses. Load is the
// variant of Run for programs (cmd/cardsoak); they find ports with
// vaulttest.FreePort.
package testcaddy

import (
	"fmt"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
)

// Load adapts and loads caddyfile; stop stops Caddy.
func Load(caddyfile string) (stop func(), err error) {
	cfg, warns, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		return nil, fmt.Errorf("adapt: %v %v", err, warns)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return nil, fmt.Errorf("load: %v", err)
	}
	return func() { _ = caddy.Stop() }, nil
}

// Run loads caddyfile and stops Caddy when the test ends.
func Run(t testing.TB, caddyfile string) {
	t.Helper()
	stop, err := Load(caddyfile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// FreeAddr is a free 127.0.0.1:port.
func FreeAddr(t testing.TB) string { return fmt.Sprintf("127.0.0.1:%d", FreePort(t)) }

// FreePort is a free loopback port.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := vaulttest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Global is the global options block of a test or benchmark Caddyfile: no
// admin API, no autosave, plain HTTP, and the cardproxy app on the Vault at
// vaultAddr with the token expression token (a placeholder such as
// {env.X}); extra lines go into the cardproxy block.
func Global(vaultAddr, token string, extra ...string) string {
	s := "{\n\tadmin off\n\tpersist_config off\n\tauto_https off\n\tcardproxy {\n\t\tvault {\n\t\t\taddress " + vaultAddr +
		"\n\t\t\ttoken " + token + "\n\t\t}\n"
	for _, e := range extra {
		s += "\t\t" + e + "\n"
	}
	return s + "\t}\n}\n"
}

package caddymodule

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/vault"
)

// One real Vault dev server for the package, started (and set up) by the
// first test that needs it; tests isolate by tenant. Tests that need no Vault
// (Caddyfile parsing and adapting) run without one.
var shared struct {
	once sync.Once
	srv  *vaulttest.Server
	err  error
}

// vaultSrv returns the package's Vault dev server, starting it on first use.
// Without a vault binary the test fails (never skips).
func vaultSrv(t testing.TB) *vaulttest.Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = startSharedVault() })
	if shared.err != nil {
		t.Fatalf("this test needs a real Vault (get one with scripts/vault.sh build, or set CARDPROXY_VAULT_BIN): %v", shared.err)
	}
	return shared.srv
}

func startSharedVault() (*vaulttest.Server, error) {
	srv, err := vaulttest.Start()
	if err != nil {
		return nil, err
	}
	s, err := vault.New(vault.Config{Address: srv.Addr, Token: srv.Token})
	if err == nil {
		err = s.Setup(context.Background())
	}
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("vault setup: %w", err)
	}
	return srv, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	os.Exit(code)
}

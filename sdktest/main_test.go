package sdktest

import (
	"context"
	"sync"
	"testing"

	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/vault"
)

// srv is the package's real Vault dev server: every test here needs it, and
// a missing vault binary fails the run (never skips).
var srv *vaulttest.Server

func TestMain(m *testing.M) { vaulttest.Main(m, &srv) }

// setup puts cardproxy's mounts, keys and policies into srv, once.
var setup = sync.OnceValue(func() error {
	s, err := vault.New(vault.Config{Address: srv.Addr, Token: srv.Token})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Setup(context.Background())
})

// store is a vault.Store on srv; it stands in for the ingress that issued
// the app's tokens.
func store(t *testing.T) *vault.Store {
	t.Helper()
	if err := setup(); err != nil {
		t.Fatalf("vault setup: %v", err)
	}
	s, err := vault.New(vault.Config{Address: srv.Addr, Token: srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

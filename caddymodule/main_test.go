package caddymodule

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/vault"
)

// One real Vault dev server for the package; tests isolate by tenant.
var srv *vaulttest.Server

func TestMain(m *testing.M) {
	var err error
	srv, err = vaulttest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "caddymodule tests need a real Vault:", err)
		os.Exit(1)
	}
	s, err := vault.New(vault.Config{Address: srv.Addr, Token: srv.Token})
	if err == nil {
		err = s.Setup(context.Background())
	}
	if err != nil {
		srv.Stop()
		fmt.Fprintln(os.Stderr, "vault setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

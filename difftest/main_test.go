package difftest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/vault"
)

// One real Vault dev server for the package, started by the first test that
// needs it (the generator and control tests do not) and stopped by TestMain.
var (
	srv      *vaulttest.Server
	srvErr   error
	srvOnce  sync.Once
	srvMutex sync.Mutex
)

func needVault(t *testing.T) *vaulttest.Server {
	t.Helper()
	srvOnce.Do(func() {
		s, err := vaulttest.Start()
		if err == nil {
			var st *vault.Store
			if st, err = vault.New(vault.Config{Address: s.Addr, Token: s.Token}); err == nil {
				err = st.Setup(context.Background())
			}
			if err != nil {
				s.Stop()
			}
		}
		srvMutex.Lock()
		srv, srvErr = s, err
		srvMutex.Unlock()
	})
	if srvErr != nil {
		t.Fatalf("difftest needs a real Vault (scripts/vault.sh build, or scripts/test.sh): %v", srvErr)
	}
	return srv
}

func TestMain(m *testing.M) {
	code := m.Run()
	srvMutex.Lock()
	if srv != nil && srvErr == nil {
		srv.Stop()
	}
	srvMutex.Unlock()
	os.Exit(code)
}

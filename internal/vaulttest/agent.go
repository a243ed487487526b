package vaulttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// StartAgent runs a Vault Agent in front of the Vault at vaultAddr: it logs
// in with AppRole (the role and secret id files), and its API proxy adds
// that token to every request it forwards (use_auto_auth_token). It returns
// the agent's address once a request through it is answered with the
// agent's token; the agent stops with the test.
func StartAgent(t testing.TB, vaultAddr, roleIDFile, secretIDFile string) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := fmt.Sprintf(`vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path                   = %q
      secret_id_file_path                 = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
api_proxy { use_auto_auth_token = true }
listener "tcp" {
  address     = %q
  tls_disable = true
}
`, vaultAddr, roleIDFile, secretIDFile, addr)
	confPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := spawn(bin, filepath.Join(dir, "agent.log"), dir, "agent", "-config="+confPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(5 * time.Second) })
	url := "http://" + addr
	if err := poll(30*time.Second, "vault agent serving "+url, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("vault agent exited:\n%s", p.tail())
		}
		var out struct {
			Data struct {
				Policies []string `json:"policies"`
			} `json:"data"`
		}
		// Answered without a token of ours: the agent's auto-auth token.
		err := call(context.Background(), "GET", url, "auth/token/lookup-self", "", nil, &out)
		return err == nil && len(out.Data.Policies) > 0, nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, p.tail())
	}
	return url
}

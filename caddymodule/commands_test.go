package caddymodule

import (
	"io"
	"os"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
	"github.com/cardproxy/cardproxy/vault"
)

// runCommand runs one of cardproxy's registered commands the way the CLI
// does and returns its exit code and standard output.
func runCommand(t *testing.T, name string, args ...string) (int, string, error) {
	t.Helper()
	c, ok := caddycmd.Commands()[name]
	if !ok {
		t.Fatalf("command %s not registered", name)
	}
	cmd := &cobra.Command{Use: name}
	c.CobraFunc(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	var code int
	var err error
	switch name {
	case "vault-init":
		code, err = cmdVaultInit(caddycmd.Flags{FlagSet: cmd.Flags()})
	case "vault-sweep":
		code, err = cmdVaultSweep(caddycmd.Flags{FlagSet: cmd.Flags()})
	case "vault-policy":
		code, err = cmdVaultPolicy(caddycmd.Flags{FlagSet: cmd.Flags()})
	case "vault-rotate":
		code, err = cmdVaultRotate(caddycmd.Flags{FlagSet: cmd.Flags()})
	}
	w.Close()
	os.Stdout = stdout
	out, _ := io.ReadAll(r)
	return code, string(out), err
}

func TestVaultCommands(t *testing.T) {
	v, err := vaulttestStart()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()
	tokenFile := t.TempDir() + "/token"
	if err := os.WriteFile(tokenFile, []byte(v.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_TOKEN", "")
	args := []string{"--address", v.Addr, "--token-file", tokenFile, "--kv-mount", "cp-kv", "--transit-mount", "cp-transit"}

	// vault-init twice: idempotent (the audit device too).
	auditLog := t.TempDir() + "/vault-audit.log"
	for i := 0; i < 2; i++ {
		code, out, err := runCommand(t, "vault-init", append(args, "--audit-file", auditLog)...)
		if err != nil || code != 0 || !strings.Contains(out, "kv v2 at cp-kv/") {
			t.Fatalf("vault-init run %d: %d %v %q", i+1, code, err, out)
		}
	}
	s, err := vault.New(vault.Config{Address: v.Addr, Token: v.Token, KVMount: "cp-kv", TransitMount: "cp-transit"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tokenize(t.Context(), "shop", token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err != nil {
		t.Fatalf("store after vault-init: %v", err)
	}
	if b, err := os.ReadFile(auditLog); err != nil || !strings.Contains(string(b), "cp-transit/encrypt/pan") {
		t.Fatalf("Vault's audit log does not show cardproxy's calls: %v", err)
	}
	code, out, err := runCommand(t, "vault-rotate", append(args, "--grace", "100ms")...)
	if err != nil || code != 0 || !strings.Contains(out, "1 tenants, 1 records, 1 rewrapped; pan key v2, cvc key v2") {
		t.Fatalf("vault-rotate: %d %v %q", code, err, out)
	}
	code, out, err = runCommand(t, "vault-sweep", append(args, "--tenant", "shop")...)
	if err != nil || code != 0 || !strings.Contains(out, "0 tokens") {
		t.Fatalf("vault-sweep: %d %v %q", code, err, out)
	}
	// vault-policy takes the policy name as its argument.
	code, pol, err := runCommand(t, "vault-policy", "--kv-mount", "cp-kv", "--transit-mount", "cp-transit", "detokenize")
	if err != nil || code != 0 || !strings.Contains(pol, `path "cp-transit/decrypt/pan"`) || strings.Contains(pol, "/encrypt/") {
		t.Fatalf("vault-policy detokenize: %d %v\n%s", code, err, pol)
	}
	if code, _, err := runCommand(t, "vault-policy", "bogus"); err == nil || code == 0 {
		t.Fatal("vault-policy accepted an unknown policy name")
	}
}

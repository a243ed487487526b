package vaulttest

import (
	"os"
	"strings"
	"testing"
)

// The cached build Binary finds is named after VaultVersion; scripts/vault.sh
// names it after tools/vaultbin/go.mod. They must agree.
func TestVaultVersionMatchesBuild(t *testing.T) {
	b, err := os.ReadFile("../../tools/vaultbin/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "github.com/hashicorp/vault" {
			got = f[1]
			break
		}
	}
	if got != VaultVersion {
		t.Fatalf("tools/vaultbin/go.mod requires Vault %q, VaultVersion is %q", got, VaultVersion)
	}
}

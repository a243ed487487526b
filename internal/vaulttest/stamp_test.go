package vaulttest

import (
	"os/exec"
	"strings"
	"testing"
)

// Binary checks a cached build's stamp with Stamp; scripts/vault.sh writes it.
// They must compute the same hash.
func TestStampMatchesVaultSh(t *testing.T) {
	out, err := exec.Command("bash", "../../scripts/vault.sh", "stamp").Output()
	if err != nil {
		t.Fatalf("scripts/vault.sh stamp: %v", err)
	}
	got, err := Stamp()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("Stamp() = %q, scripts/vault.sh stamp = %q", got, want)
	}
}

package bench

import (
	"testing"
	"time"
)

// TestSmoke runs every scenario for a second at two clients against a dev
// Vault: each must complete requests without an error, and the scenarios that
// cannot do without Vault must have reached it. It asserts no timings.
func TestSmoke(t *testing.T) {
	rs, err := Run(Options{Duration: time.Second, Concurrency: []int{2}, Vaults: []string{"dev"}, Cards: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(Scenarios()) {
		t.Fatalf("%d results for %d scenarios", len(rs), len(Scenarios()))
	}
	for _, r := range rs {
		t.Log(row(r))
		if r.Requests == 0 || r.Errors > 0 {
			t.Errorf("%s: %d requests, %d errors (first: %s)", r.Scenario, r.Requests, r.Errors, r.FirstError)
		}
		// Raw Vault calls and CVCs (single use across instances) need Vault.
		needsVault := r.Kind == "vault" || r.Scenario == "repeat-pan-cvc" || r.Scenario == "new-card-cvc" || r.Scenario == "egress-pan-cvc"
		if r.VaultCalls < 0 || needsVault && r.VaultCalls == 0 {
			t.Errorf("%s: %d Vault calls", r.Scenario, r.VaultCalls)
		}
	}
}

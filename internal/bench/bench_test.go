package bench

import (
	"os/exec"
	"path/filepath"
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

// TestRSSSmoke runs the memory measurement small: a built cardproxy
// process, each scenario's uploads all answered 200, its memory read.
func TestRSSSmoke(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cardproxy")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/cardproxy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := RSSOptions{Bin: bin, Clients: 4, Size: 64 << 10, PerClient: 2}
	rs, err := MeasureRSS(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(RSSScenarios) {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		if r.Uploads != 8 || r.Errors != 0 || r.StartKiB <= 0 || r.PeakKiB < r.StartKiB {
			t.Errorf("%+v", r)
		}
	}
}

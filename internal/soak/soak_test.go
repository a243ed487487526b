package soak

import (
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the soak small (200 round trips): every one exact, no card
// data at the app, and the report prints a verdict. Needs a real Vault.
func TestSmoke(t *testing.T) {
	rep, err := Run(t.Context(), Options{N: 200, C: 8, New: 0.3, Pool: 20, Idle: 200 * time.Millisecond, WarmUp: 8})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	if f := rep.Failures(); len(f) > 0 {
		t.Fatal(f)
	}
	if rep.Exact != 200 || rep.Egress != 200 || rep.Repeat == 0 || rep.LogLines < 200 {
		t.Fatalf("exact %d, egress %d, repeat %d, log lines %d", rep.Exact, rep.Egress, rep.Repeat, rep.LogLines)
	}
}

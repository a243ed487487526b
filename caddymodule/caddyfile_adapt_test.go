package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the expected output of testdata/caddyfile_adapt/*.caddytest")

// goldenSeparator splits a .caddytest file: the Caddyfile above it, the
// expected result below — the adapted JSON, or, for a Caddyfile that must
// not adapt, the adapter's error message (exactly).
const goldenSeparator = "\n----------\n"

// TestAdaptGolden adapts every testdata/caddyfile_adapt/*.caddytest file
// with the caddyfile adapter and compares the result with the one stored in
// the file (go test ./caddymodule -run TestAdaptGolden -update rewrites
// them). Warnings fail the test: the inputs are gofmt-like formatted
// Caddyfiles.
func TestAdaptGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddytest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".caddytest"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(raw), goldenSeparator)
			if !ok {
				t.Fatalf("%s: no %q line", file, strings.TrimSpace(goldenSeparator))
			}
			got := adaptForGolden(t, input+"\n")
			if *updateGolden {
				if err := os.WriteFile(file, []byte(input+goldenSeparator+got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want = strings.TrimSpace(want); got != want {
				t.Errorf("%s: adapted to\n%s\n\nwant\n%s\n(go test ./caddymodule -run TestAdaptGolden -update rewrites the file)", file, got, want)
			}
		})
	}
}

// adaptForGolden returns the indented JSON the Caddyfile adapts to, or the
// adapter's error message.
func adaptForGolden(t *testing.T, caddyfileText string) string {
	t.Helper()
	out, warnings, err := getAdapter("caddyfile").Adapt([]byte(caddyfileText), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return err.Error()
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w.String())
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "\t"); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

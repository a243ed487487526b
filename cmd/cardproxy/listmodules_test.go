package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The built binary, as operators run it: Caddy's list-modules output, with
// cardproxy's own modules carrying the version set at build time and the
// module path; Caddy's modules keep what Caddy printed.
func TestListModulesVersions(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cardproxy")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		out, err := exec.Command(bin, append([]string{"list-modules"}, args...)...).Output()
		if err != nil {
			t.Fatalf("list-modules %v: %v", args, err)
		}
		return string(out)
	}

	text := run("--versions", "--packages")
	for _, id := range []string{"http.handlers.card_tokenize", "http.handlers.card_detokenize",
		"http.handlers.card_3ds_relay", "cardproxy"} {
		want := id + " v9.8.7-test github.com/cardproxy/cardproxy\n"
		if !strings.Contains(text, want) {
			t.Errorf("list-modules --versions --packages has no line %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "\nhttp.handlers.reverse_proxy v2.") || !strings.Contains(text, "Non-standard modules: ") {
		t.Errorf("Caddy's own lines changed:\n%s", text)
	}
	if plain := run(); !strings.Contains(plain, "\nhttp.handlers.card_tokenize\n") {
		t.Errorf("plain list-modules changed cardproxy's lines:\n%s", plain)
	}

	var mods []map[string]string
	if err := json.Unmarshal([]byte(run("--json")), &mods); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, m := range mods {
		switch {
		case m["module_name"] == "http.handlers.card_tokenize":
			found++
			if m["version"] != "v9.8.7-test" || m["package_url"] != "github.com/cardproxy/cardproxy" || m["module_type"] != "non-standard" {
				t.Errorf("card_tokenize in --json: %v", m)
			}
		case m["module_name"] == "http.handlers.reverse_proxy":
			found++
			if !strings.HasPrefix(m["version"], "v2.") || m["package_url"] != "github.com/caddyserver/caddy/v2" {
				t.Errorf("reverse_proxy in --json: %v", m)
			}
		}
	}
	if found != 2 {
		t.Errorf("--json lists %d of the 2 modules checked", found)
	}
}

func TestParseListModules(t *testing.T) {
	for _, c := range []struct {
		args []string
		want listModulesFlags
		ok   bool
	}{
		{[]string{"cardproxy", "run"}, listModulesFlags{}, false},
		{[]string{"cardproxy"}, listModulesFlags{}, false},
		{[]string{"cardproxy", "list-modules"}, listModulesFlags{}, true},
		{[]string{"cardproxy", "list-modules", "--versions", "--json=true", "-s"}, listModulesFlags{versions: true, json: true}, true},
		{[]string{"cardproxy", "list-modules", "--packages", "--versions=false"}, listModulesFlags{packages: true}, true},
		{[]string{"cardproxy", "list-modules", "--versions=T", "--packages=TRUE", "--json=0"}, listModulesFlags{versions: true, packages: true}, true},
	} {
		got, ok := parseListModules(c.args)
		if got != c.want || ok != c.ok {
			t.Errorf("parseListModules(%q) = %+v, %v; want %+v, %v", c.args, got, ok, c.want, c.ok)
		}
	}
}

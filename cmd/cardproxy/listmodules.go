package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// Caddy's list-modules looks a module's version up among the binary's
// dependencies. cardproxy's modules are in this binary's main module, so Caddy
// prints no version or package for them (an xcaddy build, where cardproxy is a
// dependency, gets both from Caddy itself). listModules runs Caddy's command
// with its standard output passed through annotate, which adds them.

// listModulesFlags are the list-modules flags that change what annotate adds.
type listModulesFlags struct{ versions, packages, json bool }

// parseListModules reports whether args run list-modules, and its flags.
func parseListModules(args []string) (listModulesFlags, bool) {
	var fl listModulesFlags
	if len(args) < 2 || args[1] != "list-modules" {
		return fl, false
	}
	for _, a := range args[2:] {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		on, err := strconv.ParseBool(val) // as Caddy's flags read it
		on = !hasVal || (err == nil && on)
		switch name {
		case "versions":
			fl.versions = on
		case "packages":
			fl.packages = on
		case "json":
			fl.json = on
		}
	}
	return fl, true
}

// ownModules are the IDs of the Caddy modules whose Go package is in the
// module mainPath.
func ownModules(mainPath string) map[string]bool {
	own := map[string]bool{}
	for _, id := range caddy.Modules() {
		info, err := caddy.GetModule(id)
		if err != nil {
			continue
		}
		t := reflect.TypeOf(info.New())
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t != nil && (t.PkgPath() == mainPath || strings.HasPrefix(t.PkgPath(), mainPath+"/")) {
			own[id] = true
		}
	}
	return own
}

// listModules runs Caddy's list-modules (caddycmd.Main) with its standard
// output annotated. Caddy exits the process itself on errors (its messages go
// to standard error, untouched).
func listModules(fl listModulesFlags, own map[string]bool, version, mainPath string) {
	r, w, err := os.Pipe()
	if err != nil {
		caddycmd.Main()
		return
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan struct{})
	go func() {
		defer close(done)
		if annotate(r, stdout, fl, own, version, mainPath) != nil {
			_, _ = io.Copy(io.Discard, r) // stdout went away (| head): never block Caddy's writes
		}
	}()
	caddycmd.Main()
	w.Close()
	<-done
	os.Stdout = stdout
}

// annotate copies Caddy's list-modules output from r to w, adding version and
// package to the modules in own, as Caddy does for a dependency's modules.
func annotate(r io.Reader, w io.Writer, fl listModulesFlags, own map[string]bool, version, mainPath string) error {
	if fl.json {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		var mods []struct {
			ModuleName string `json:"module_name"`
			ModuleType string `json:"module_type"`
			Version    string `json:"version,omitempty"`
			PackageURL string `json:"package_url,omitempty"`
		}
		if json.Unmarshal(b, &mods) != nil {
			_, err := w.Write(b) // not what we expected: pass it through
			return err
		}
		for i := range mods {
			if own[mods[i].ModuleName] && mods[i].Version == "" && mods[i].PackageURL == "" {
				mods[i].Version, mods[i].PackageURL = version, mainPath
			}
		}
		out, err := json.MarshalIndent(mods, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(out, '\n'))
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if own[string(line)] { // Caddy printed the bare ID: it found no Go module
			var b bytes.Buffer
			b.Write(line)
			if fl.versions {
				b.WriteString(" " + version)
			}
			if fl.packages {
				b.WriteString(" " + mainPath)
			}
			line = b.Bytes()
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	return sc.Err()
}

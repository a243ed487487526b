// Command cardproxy is Caddy with cardproxy's modules built in.
//
//	go build ./cmd/cardproxy
//	./cardproxy run --config Caddyfile.example
//	./cardproxy vault-init --address http://127.0.0.1:8200
//	./cardproxy list-modules | grep card
//	./cardproxy version          # cardproxy's version, then Caddy's
package main

import (
	"runtime/debug"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cardproxy/cardproxy/caddymodule"
)

// version is set at release builds (-ldflags "-X main.version=v1.2.3");
// otherwise it comes from the build information.
var version string

func main() {
	bi, _ := debug.ReadBuildInfo()
	caddy.CustomVersion = versionString(version, bi)
	caddycmd.Main()
}

// versionString is what `cardproxy version` prints before Caddy's own
// version: "cardproxy <version>", the version being the one set at build
// time, else the module's (go install …@v1.2.3), else the VCS revision the
// binary was built from (with "+dirty" for uncommitted changes).
func versionString(set string, bi *debug.BuildInfo) string {
	if set != "" {
		return "cardproxy " + set
	}
	v := "(devel)"
	if bi == nil {
		return "cardproxy " + v
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return "cardproxy " + bi.Main.Version
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v = rev + dirty
	}
	return "cardproxy " + v
}

// Command cardproxy is Caddy with cardproxy's modules built in.
//
//	go build ./cmd/cardproxy
//	./cardproxy run --config Caddyfile.example
//	./cardproxy vault-init --address http://127.0.0.1:8200
//	./cardproxy list-modules --versions | grep card   # cardproxy's modules carry its version
//	./cardproxy version          # cardproxy's version, then Caddy's
package main

import (
	"os"
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
	v := moduleVersion(version, bi)
	caddy.CustomVersion = "cardproxy " + v
	if fl, ok := parseListModules(os.Args); ok && bi != nil {
		listModules(fl, ownModules(bi.Main.Path), v, bi.Main.Path)
		return
	}
	caddycmd.Main()
}

// moduleVersion is cardproxy's version: `cardproxy version` prints it before
// Caddy's own version, `cardproxy list-modules --versions` after each of
// cardproxy's modules. It is the one set at build time, else the module's (go
// install …@v1.2.3), else the VCS revision the binary was built from (with
// "+dirty" for uncommitted changes).
func moduleVersion(set string, bi *debug.BuildInfo) string {
	if set != "" {
		return set
	}
	v := "(devel)"
	if bi == nil {
		return v
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
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
	return v
}

// Command vault is the ordinary HashiCorp Vault CLI and server, built from the Go
// module proxy for cardproxy's development and tests only.
//
// It lives in its own Go module so that the BUSL-1.1 licensed Vault server never
// enters cardproxy's module graph or its shipped binary. scripts/vault.sh builds
// it once per version and caches the binary outside the repository.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}

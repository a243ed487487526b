package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/cardproxy/cardproxy/internal/vaulttest"
)

var getAdapter = caddyconfig.GetAdapter

func vaulttestStart() (*vaulttest.Server, error) { return vaulttest.Start() }

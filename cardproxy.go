// Package cardproxy plugs cardproxy's Caddy modules into a Caddy build:
//
//	xcaddy build --with github.com/cardproxy/cardproxy
//
// The modules themselves live in package caddymodule; the token vault in
// package vault.
package cardproxy

import (
	_ "github.com/cardproxy/cardproxy/caddymodule" // registers the modules
)

// Command cardproxy is Caddy with cardproxy's modules built in.
//
//	go build ./cmd/cardproxy
//	./cardproxy run --config Caddyfile.example
//	./cardproxy vault-init --address http://127.0.0.1:8200
//	./cardproxy list-modules | grep card
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cardproxy/cardproxy/caddymodule"
)

func main() {
	caddycmd.Main()
}

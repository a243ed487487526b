#!/usr/bin/env bash
# scripts/vault.sh — give cardproxy a real HashiCorp Vault binary for dev and tests.
#
#   scripts/vault.sh path     print the path of a vault binary (building it if needed)
#   scripts/vault.sh build    build/cache it and say where it is
#
# Order of preference:
#   1. $CARDPROXY_VAULT_BIN if set (must be executable)
#   2. a `vault` already on PATH
#   3. a cached build in ${CARDPROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cardproxy}/vault-<version>/vault
#   4. build it from the Go module proxy (tools/vaultbin, its own go.mod: the BUSL-1.1
#      server never enters cardproxy's module graph). Cold: ~7 CPU-minutes, ~6 GB RAM.
set -euo pipefail

VAULT_VERSION="${CARDPROXY_VAULT_VERSION:-v1.21.0}"
VAULT_SDK_VERSION="${CARDPROXY_VAULT_SDK_VERSION:-v0.20.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CARDPROXY_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/cardproxy}"
bin="$cache/vault-$VAULT_VERSION/vault"

log() { echo "vault.sh: $*" >&2; }

find_vault() {
	if [[ -n "${CARDPROXY_VAULT_BIN:-}" ]]; then
		[[ -x "$CARDPROXY_VAULT_BIN" ]] || { log "CARDPROXY_VAULT_BIN=$CARDPROXY_VAULT_BIN is not executable"; return 1; }
		echo "$CARDPROXY_VAULT_BIN"; return 0
	fi
	if command -v vault >/dev/null 2>&1; then command -v vault; return 0; fi
	if [[ -x "$bin" ]]; then echo "$bin"; return 0; fi
	return 1
}

build_vault() {
	local work; work="$(mktemp -d)"
	trap 'rm -rf "$work"' RETURN
	cp "$here/tools/vaultbin/main.go" "$here/tools/vaultbin/go.mod" "$work/"
	[[ -f "$here/tools/vaultbin/go.sum" ]] && cp "$here/tools/vaultbin/go.sum" "$work/"
	log "building HashiCorp Vault $VAULT_VERSION from the Go module proxy (first run only; ~7 CPU-minutes, several GB RAM)…"
	local start=$SECONDS
	(
		cd "$work"
		go mod edit -require="github.com/hashicorp/vault@$VAULT_VERSION" -require="github.com/hashicorp/vault/sdk@$VAULT_SDK_VERSION"
		# Vault's own test imports do not resolve from the proxy; -e tolerates that.
		GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; }
		mkdir -p "$(dirname "$bin")"
		go build -trimpath -ldflags='-s -w' -o "$bin.tmp" .
	)
	mv "$bin.tmp" "$bin"
	log "built $bin in $((SECONDS - start))s"
}

case "${1:-path}" in
path)
	find_vault || { build_vault; echo "$bin"; }
	;;
build)
	if p="$(find_vault)"; then log "already have $p"; echo "$p"; else build_vault; echo "$bin"; fi
	;;
*)
	echo "usage: $0 [path|build]" >&2; exit 2
	;;
esac

#!/usr/bin/env bash
# scripts/vault.sh — give cardproxy a real HashiCorp Vault binary for dev and tests.
#
#   scripts/vault.sh path     print the path of a vault binary (building it if needed)
#   scripts/vault.sh build    build/cache it and say where it is
#   scripts/vault.sh stamp    the hash of tools/vaultbin a cached build must carry
#
# Order of preference:
#   1. $CARDPROXY_VAULT_BIN if set (must be executable)
#   2. a `vault` already on PATH
#   3. a cached build in ${CARDPROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cardproxy}/vault-<version>-minimal/vault
#   4. build it from the Go module proxy: tools/vaultbin, its own module (the
#      BUSL-1.1 server never enters cardproxy's module graph), pinned by its
#      go.sum, with Vault's `minimal` build tag and four unused libraries
#      stubbed (tools/vaultbin/main.go). Fresh machine: ~1 min of downloads,
#      ~280 CPU-seconds of compiling (docs/fresh-machine.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$here/tools/vaultbin"
VAULT_VERSION="$(awk '$1 == "github.com/hashicorp/vault" { print $2; exit }' "$src/go.mod")"
cache="${CARDPROXY_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/cardproxy}"
bin="$cache/vault-$VAULT_VERSION-minimal/vault"
# The cached binary is rebuilt when tools/vaultbin changes (stubs, go.sum).
stamp="$(cd "$src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"

log() { echo "vault.sh: $*" >&2; }

find_vault() {
	# (a CARDPROXY_VAULT_BIN that is not executable was refused at the start)
	if [[ -n "${CARDPROXY_VAULT_BIN:-}" ]]; then echo "$CARDPROXY_VAULT_BIN"; return 0; fi
	if command -v vault >/dev/null 2>&1; then command -v vault; return 0; fi
	if [[ -x "$bin" && "$(cat "$bin.stamp" 2>/dev/null)" == "$stamp" ]]; then echo "$bin"; return 0; fi
	return 1
}

# ticker prints a progress line every 30 s until killed (TERM). Its sleep is
# killed with it: an orphaned sleep would keep the lock (fd 9) and the
# caller's stdout (a `$(scripts/vault.sh path)`) open for up to 30 s more.
# Start it with 9>&- >/dev/null so it holds neither in any case.
ticker() {
	local what="$1" start=$SECONDS s=
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	while :; do
		sleep 30 & s=$!
		wait "$s" 2>/dev/null || true
		log "$what… $((SECONDS - start))s"
	done
}

# with_ticker runs a command ($2…) with a progress line ($1) every 30 s.
with_ticker() {
	local what="$1" rc=0
	shift
	ticker "$what" 9>&- >/dev/null &
	tick=$!
	"$@" || rc=$?
	kill "$tick"
	return "$rc"
}

# fetch_modules downloads only the modules the build needs (about 1 GB on a
# fresh machine), checked against tools/vaultbin/go.sum (-mod=readonly: nothing
# in the repository changes); go's "downloading" lines go to $tmp.log.
fetch_modules() { go -C "$src" list -mod=readonly -tags minimal -deps . >/dev/null 2>"$tmp.log"; }

build_vault() {
	local start=$SECONDS
	tmp="$bin.tmp.$$"
	# Only this shell cleans up: a ticker killed before it has reset its traps
	# would otherwise run this too and delete the build's output.
	trap '[[ $BASHPID == "$$" ]] || exit 0; kill "${tick:-}" 2>/dev/null || true; rm -f "${tmp:-}" "${tmp:-}.log"' EXIT
	log "building HashiCorp Vault $VAULT_VERSION (minimal) from the Go module proxy, first run only"
	with_ticker "still downloading Vault's modules" fetch_modules || { cat "$tmp.log" >&2; return 1; }
	log "modules ready after $((SECONDS - start))s ($(grep -c '^go: downloading' "$tmp.log" || true) downloaded); compiling (about 280 CPU-seconds on a fresh machine)"
	# No -trimpath: then the standard library compiled here is the one cardproxy's
	# own build (go vet, running meanwhile in scripts/test.sh) finds in the cache.
	with_ticker "still compiling Vault" go -C "$src" build -mod=readonly -tags minimal -ldflags='-s -w' -o "$tmp" .
	mv "$tmp" "$bin"
	echo "$stamp" >"$bin.stamp"
	log "built $bin in $((SECONDS - start))s"
}

# build_once builds unless another vault.sh (the demo's, CI's) is building the
# same binary: then it waits for that one and uses its result.
build_once() {
	mkdir -p "$(dirname "$bin")"
	exec 9>"$bin.lock"
	if command -v flock >/dev/null && ! flock -n 9; then
		log "another scripts/vault.sh is building $bin; waiting for it"
		flock 9
	fi
	find_vault >/dev/null || build_vault
}

# A CARDPROXY_VAULT_BIN that is not there is a mistake to say, not to build around.
if [[ -n "${CARDPROXY_VAULT_BIN:-}" && ! -x "$CARDPROXY_VAULT_BIN" && "${1:-path}" != stamp ]]; then
	log "CARDPROXY_VAULT_BIN=$CARDPROXY_VAULT_BIN is not an executable file; fix it or unset it"
	exit 1
fi

case "${1:-path}" in
stamp) # what the cached build's vault.stamp must say (internal/vaulttest checks it)
	echo "$stamp"
	;;
path)
	find_vault || { build_once; echo "$bin"; }
	;;
build)
	if p="$(find_vault)"; then log "already have $p"; echo "$p"; else build_once; echo "$bin"; fi
	;;
*)
	echo "usage: $0 [path|build|stamp]" >&2; exit 2
	;;
esac

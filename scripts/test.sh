#!/usr/bin/env bash
# scripts/test.sh — cardproxy's test command (README and CI run exactly this).
#
# Gets a real Vault (scripts/vault.sh: PATH, cache, or a build from the Go
# module proxy on first run, in the background while the rest is installed
# and vetted), then vet, gofmt and every Go test against it.
# Extra arguments go to `go test` (e.g. scripts/test.sh -run Tokenize -v).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

start=$SECONDS

# A real Vault: found at once, or built in the background (scripts/vault.sh)
# while the browser and the parsers are installed and cardproxy is vetted:
# on a fresh machine all three take minutes, two of them mostly downloading.
vault_out="$(mktemp)"
# If this script stops early (vet fails, Ctrl-C), the background jobs go on and
# finish what they do (the Vault build into its cache; apt and npm are not
# interrupted halfway): say so.
still_running() {
	rm -f "$vault_out"
	local j
	for j in ${vault_pid:-} ${install_pid:-}; do
		kill -0 "$j" 2>/dev/null && echo "test: a background job (pid $j: the Vault build or the installs) is still running; it finishes on its own"
	done
	return 0
}
trap still_running EXIT
"$here/scripts/vault.sh" path >"$vault_out" &
vault_pid=$!

# Installed in the background too, one after the other (apt's lock): the
# browser test (e2e/) drives Debian's headless Chromium, installed when missing
# and we can (root with apt-get), else that test fails, loudly; the
# parser-differential suite (difftest/) runs real PHP, Werkzeug, Django and
# Express apps behind cardproxy, and sdktest/ the PSPs' Node SDKs
# (scripts/parsers.sh installs whichever are missing).
(
	if ! command -v chromium >/dev/null 2>&1 && [[ -z "${CARDPROXY_CHROMIUM:-}" ]]; then
		if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
			echo "test: installing chromium (Debian package) for the browser test…"
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
		else
			echo "test: WARNING: no chromium; the browser test will fail (apt-get install chromium, or CARDPROXY_SKIP_BROWSER=1)"
		fi
	fi
	"$here/scripts/parsers.sh"
) &
install_pid=$!

echo "test: go vet"
go vet ./...
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.demo/*'))"
if [[ -n "$unformatted" ]]; then
	echo "test: gofmt needed on:"; echo "$unformatted"; exit 1
fi

wait "$install_pid" || { echo "test: installing Chromium or the parsers failed (see above)"; exit 1; }
wait "$vault_pid" || { echo "test: no vault binary (scripts/vault.sh failed, see above)"; exit 1; }
CARDPROXY_VAULT_BIN="$(cat "$vault_out")"
export CARDPROXY_VAULT_BIN
echo "test: using vault $("$CARDPROXY_VAULT_BIN" version 2>/dev/null | head -1) at $CARDPROXY_VAULT_BIN"

echo "test: go test (ready after $((SECONDS - start))s)"
# -count=1: never a cached pass; the Vault-backed tests must really run.
go test -count=1 "$@" ./...

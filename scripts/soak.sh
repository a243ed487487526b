#!/usr/bin/env bash
# scripts/soak.sh — cardproxy's soak test (README "Soak"; not part of CI).
#
# Gets a real Vault (scripts/vault.sh), then runs cmd/cardsoak: its own Vault
# dev server, app, HTTPS PSP and in-process Caddy, N round trips at
# concurrency C. Flags go to cardsoak, e.g. scripts/soak.sh -n 50000 -c 32 -new 0.2
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
CARDPROXY_VAULT_BIN="$("$here/scripts/vault.sh" path)"
export CARDPROXY_VAULT_BIN
exec go run ./cmd/cardsoak "$@"

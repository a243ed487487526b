#!/usr/bin/env bash
# scripts/bench.sh — cardproxy's load benchmark (cmd/cardbench) with a real
# Vault (scripts/vault.sh: PATH, cache, or a build on first run). Arguments go
# to cardbench: scripts/bench.sh -d 10s -c 32,1 -vault both -json bench.json
# (see `go run ./cmd/cardbench -h`; results and their reading: docs/performance.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
CARDPROXY_VAULT_BIN="$("$here/scripts/vault.sh" path)"
export CARDPROXY_VAULT_BIN
exec go run ./cmd/cardbench "$@"

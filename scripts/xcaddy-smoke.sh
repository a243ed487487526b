#!/usr/bin/env bash
# Builds Caddy with xcaddy.sh and checks the cardproxy modules are in it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d)/caddy"
XCADDY_OUTPUT="$out" "$here/xcaddy.sh"
mods="$("$out" list-modules)"
for m in cardproxy http.handlers.card_tokenize http.handlers.card_detokenize http.handlers.card_3ds_relay; do
	grep -qx "$m" <<<"$mods" || { echo "xcaddy smoke: module $m missing"; exit 1; }
done
echo "xcaddy smoke: ok (cardproxy modules present)"
rm -rf "$(dirname "$out")"

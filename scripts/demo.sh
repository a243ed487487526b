#!/usr/bin/env bash
# scripts/demo.sh — the local demo: a dev Vault, a stand-in merchant app
# (cmd/echoapp) and cardproxy with Caddyfile.example in front of it.
#
#   scripts/demo.sh           run until Ctrl-C; prints a curl to try
#   scripts/demo.sh --check   start everything, send a checkout, verify the
#                             app received tokens and no card data, stop
#
# First run on a machine may build Vault from source (~7 CPU-minutes, see
# scripts/vault.sh); later runs start in seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
check=0
[[ "${1:-}" == "--check" ]] && check=1

demo="$here/.demo"
mkdir -p "$demo"
rm -f "$demo"/*.log "$demo/vault-token"

free_port() { python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}
VAULT_PORT="${VAULT_PORT:-$(free_port)}"
APP_PORT="${APP_PORT:-$(free_port)}"
PROXY_PORT="${PROXY_PORT:-8080}"
if (( check )); then PROXY_PORT="$(free_port)"; fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "demo: getting a vault binary (builds it on first run)…"
VAULT_BIN="$("$here/scripts/vault.sh" path)"

echo "demo: building cardproxy and the demo app…"
go build -o "$demo/cardproxy" ./cmd/cardproxy
go build -o "$demo/echoapp" ./cmd/echoapp

root_token="demo-root-$RANDOM$RANDOM"
VAULT_DISABLE_MLOCK=true HOME="$demo" "$VAULT_BIN" server -dev -dev-no-store-token \
	-dev-root-token-id="$root_token" -dev-listen-address="127.0.0.1:$VAULT_PORT" >"$demo/vault.log" 2>&1 &
pids+=($!)
export VAULT_ADDR="http://127.0.0.1:$VAULT_PORT"
for _ in $(seq 1 100); do
	curl -fsS "$VAULT_ADDR/v1/sys/health" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fsS "$VAULT_ADDR/v1/sys/health" >/dev/null || { echo "demo: vault did not start:"; tail "$demo/vault.log"; exit 1; }
umask 077
printf '%s' "$root_token" >"$demo/vault-token"
export CARDPROXY_VAULT_TOKEN_FILE="$demo/vault-token"

"$demo/echoapp" -listen "127.0.0.1:$APP_PORT" -log "$demo/app-requests.log" >"$demo/echoapp.log" 2>&1 &
pids+=($!)

export CARDPROXY_LISTEN="127.0.0.1:$PROXY_PORT" CARDPROXY_APP="127.0.0.1:$APP_PORT"
"$demo/cardproxy" run --config Caddyfile.example --adapter caddyfile >"$demo/cardproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	curl -sS -o /dev/null "http://$CARDPROXY_LISTEN/" 2>/dev/null && break
	sleep 0.2
done

url="http://$CARDPROXY_LISTEN/checkout"
if (( check )); then
	out="$(curl -fsS "$url" -H 'Content-Type: application/x-www-form-urlencoded' \
		--data-urlencode 'card_number=4111 1111 1111 1111' --data-urlencode 'cvc=123' \
		--data-urlencode 'card_expiry=12/30' --data-urlencode 'amount=10.00')" || {
		echo "demo check: checkout request failed"; tail -20 "$demo/cardproxy.log"; exit 1; }
	if grep -qE '4111|cvc=123' "$demo/app-requests.log"; then
		echo "demo check: FAILED — the app received card data"; exit 1
	fi
	grep -q 'cp_pan_' "$demo/app-requests.log" || { echo "demo check: FAILED — no token reached the app"; exit 1; }
	grep -q 'Cardproxy-Card-Last4' "$demo/app-requests.log" || { echo "demo check: FAILED — no card metadata headers"; exit 1; }
	echo "demo check: ok — the app received $(grep -o 'cp_pan_[0-9A-Za-z]*' "$demo/app-requests.log" | head -1) and no card data"
	exit 0
fi

cat <<MSG

cardproxy demo is running (Ctrl-C stops everything):
  cardproxy  http://$CARDPROXY_LISTEN   (Caddyfile.example)
  app        http://$CARDPROXY_APP   (cmd/echoapp: echoes what it receives)
  vault      $VAULT_ADDR   (dev server, in memory)

Try a checkout — the app echoes what reached it: tokens, no card data.

  curl -s $url -H 'Content-Type: application/json' \\
    -d '{"card_number":"4111 1111 1111 1111","cvc":"123","card_expiry":"12/30","amount":1000}'

  curl -s $url --data-urlencode 'payment[cc_number]=5500 0000 0000 0004' --data-urlencode 'payment[cc_cid]=123'

The app's request log: $demo/app-requests.log
cardproxy's log:       $demo/cardproxy.log
MSG
wait

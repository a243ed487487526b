#!/usr/bin/env bash
# scripts/demo.sh — the whole of cardproxy on one machine, in one command:
#   a dev Vault, pspsim (a MultiSafepay-compatible PSP sandbox), demoshop (a
#   merchant app that knows nothing about card security) and cardproxy with
#   Caddyfile.example in front of it. Open the printed URL and pay.
#
#   scripts/demo.sh           run until Ctrl-C (stops everything)
#   scripts/demo.sh --check   start everything, pay once with curl, verify the
#                             shop saw no card data and the PSP did, stop
#
# The first run on a fresh machine downloads modules and builds a trimmed Vault
# from source (about 4 minutes on 2 cores, see scripts/vault.sh and
# docs/fresh-machine.md); later runs start in seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
check=0
[[ "${1:-}" == "--check" ]] && check=1
t0=$SECONDS

demo="$here/.demo"
mkdir -p "$demo"
rm -f "$demo"/*.log "$demo"/*.pem "$demo/vault-token" "$demo/psp-api-key"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
VAULT_PORT="$(free_port)"; PSP_PORT="$(free_port)"; PSP_BROWSER_PORT="$(free_port)"; APP_PORT="$(free_port)"
PORT="${CARDPROXY_PORT:-8080}"; EGRESS_PORT="${CARDPROXY_EGRESS_PORT:-8081}"
if (( check )); then PORT="$(free_port)"; EGRESS_PORT="$(free_port)"; fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	# Only the demo's servers: a Vault build still running in the background
	# (scripts/vault.sh) finishes on its own, into the cache, without holding
	# up an exit (a compile error, Ctrl-C) for minutes.
	if (( ${#pids[@]} )); then wait "${pids[@]}" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping…"; exit 0' INT TERM

wait_for() { # url, name, log
	for _ in $(seq 1 150); do
		curl -ksS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "demo: $2 did not start; last lines of $3:"; tail -20 "$3"; exit 1
}

# A real Vault: found at once, or built (first run only) in the background
# while cardproxy and the demo's programs compile.
"$here/scripts/vault.sh" path >"$demo/vault-bin" &
vault_pid=$!
echo "demo: building cardproxy, pspsim and demoshop…"
go build -o "$demo/cardproxy" ./cmd/cardproxy
go build -o "$demo/pspsim" ./cmd/pspsim
go build -o "$demo/demoshop" ./cmd/demoshop
wait "$vault_pid" || { echo "demo: no vault binary (scripts/vault.sh failed, see above)"; exit 1; }
VAULT_BIN="$(cat "$demo/vault-bin")"
t_build=$SECONDS

umask 077
root_token="demo-root-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psp_key="demo-msp-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$root_token" >"$demo/vault-token"
printf '%s' "$psp_key" >"$demo/psp-api-key"

VAULT_DISABLE_MLOCK=true HOME="$demo" "$VAULT_BIN" server -dev -dev-no-store-token \
	-dev-root-token-id="$root_token" -dev-listen-address="127.0.0.1:$VAULT_PORT" >"$demo/vault.log" 2>&1 &
pids+=($!)
"$demo/pspsim" -listen "127.0.0.1:$PSP_PORT" -browser-listen "127.0.0.1:$PSP_BROWSER_PORT" \
	-api-key-file "$demo/psp-api-key" -ca-out "$demo/pspsim-ca.pem" >"$demo/pspsim.log" 2>&1 &
pids+=($!)
"$demo/demoshop" -listen "127.0.0.1:$APP_PORT" -public-url "http://127.0.0.1:$PORT" \
	-egress "http://127.0.0.1:$EGRESS_PORT/v1/json" -api-key-file "$demo/psp-api-key" \
	-request-log "$demo/shop-requests.log" >"$demo/demoshop.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$VAULT_PORT/v1/sys/health" vault "$demo/vault.log"
wait_for "https://127.0.0.1:$PSP_PORT/_sim/requests" pspsim "$demo/pspsim.log"

export VAULT_ADDR="http://127.0.0.1:$VAULT_PORT" CARDPROXY_VAULT_TOKEN_FILE="$demo/vault-token"
export CARDPROXY_PORT="$PORT" CARDPROXY_EGRESS_PORT="$EGRESS_PORT" CARDPROXY_APP="127.0.0.1:$APP_PORT"
export CARDPROXY_PUBLIC_URL="http://127.0.0.1:$PORT" CARDPROXY_PSP_URL="https://127.0.0.1:$PSP_PORT"
export CARDPROXY_PSP_CA="$demo/pspsim-ca.pem" MSP_API_KEY="$psp_key" CARDPROXY_AUDIT_LOG="$demo/audit.log"
if (( check )); then
	# The example config as operators check theirs (it provisions every
	# module, auto_setup included, against this Vault).
	"$demo/cardproxy" validate --config Caddyfile.example --adapter caddyfile >"$demo/validate.log" 2>&1 ||
		{ echo "demo check: FAILED — cardproxy validate --config Caddyfile.example:"; tail -5 "$demo/validate.log"; exit 1; }
	echo "demo check: cardproxy validate --config Caddyfile.example: valid"
fi
"$demo/cardproxy" run --config Caddyfile.example --adapter caddyfile >"$demo/cardproxy.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$PORT/" cardproxy "$demo/cardproxy.log"
echo "demo: up in $((SECONDS - t0))s (building took $((t_build - t0))s)"

shop="http://127.0.0.1:$PORT"
if (( check )); then
	page="$(curl -fsS "$shop/")"
	order_id="$(grep -o 'name="order_id" value="[^"]*"' <<<"$page" | sed 's/.*value="//; s/"$//')"
	loc="$(curl -sS -o /dev/null -w '%{redirect_url}' "$shop/checkout" \
		--data-urlencode "order_id=$order_id" --data-urlencode 'amount=25.00' \
		--data-urlencode 'card_number=4111 1111 1111 1111' --data-urlencode 'card_holder=Demo Shopper' \
		--data-urlencode 'card_expiry=12/30' --data-urlencode 'cvc=123')"
	result="$(curl -fsS "$loc")" || { echo "demo check: FAILED — no result page at $loc"; exit 1; }
	grep -q 'Payment complete' <<<"$result" || { echo "demo check: FAILED — payment not complete:"; echo "$result"; tail -5 "$demo/cardproxy.log"; exit 1; }
	# The card number in any form curl sends it (spaces as +, %20 or plain), the CVC as a form value.
	if grep -qE '4111[ +]?(%20)?1111[ +]?(%20)?1111[ +]?(%20)?1111|cvc=123([&"]|$)' "$demo/shop-requests.log"; then
		echo "demo check: FAILED — the shop received card data"; exit 1
	fi
	grep -q 'cp_pan_' "$demo/shop-requests.log" || { echo "demo check: FAILED — no token reached the shop"; exit 1; }
	curl -fsS --cacert "$demo/pspsim-ca.pem" "https://127.0.0.1:$PSP_PORT/_sim/requests" | grep -q '4111111111111111' ||
		{ echo "demo check: FAILED — the PSP did not receive the card"; exit 1; }
	echo "demo check: ok — $(grep -o 'Order [^<]*' <<<"$result"); the shop saw $(grep -o 'cp_pan_[0-9A-Za-z]*' "$demo/shop-requests.log" | head -1), the PSP saw the card"
	# The evidence for an assessor, from this run's audit trail.
	"$demo/cardproxy" scope-report --log "$demo/audit.log" --config Caddyfile.example \
		--json "$demo/scope-report.json" --html "$demo/scope-report.html" ||
		{ echo "demo check: FAILED — scope-report"; exit 1; }
	python3 - "$demo/scope-report.json" <<'PY' || { echo "demo check: FAILED — the scope report's figures"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
assert r["tokenize_requests"] >= 1 and r["cvcs_used"] >= 1 and r["card_data_forwarded_to_app"] == 0, r
assert any(d["result"] == "ok" and d["kind"] == "pan" for d in r["detokenizations"]), r["detokenizations"]
PY
	echo "demo check: scope report in $demo/scope-report.html (and .json)"
	exit 0
fi

cat <<MSG

cardproxy demo is running — open  $shop/  and pay (Ctrl-C stops everything).

  Test cards (CVC 123, any future expiry): 4761 3400 0000 0019 (3-D Secure, completes),
  4111 1111 1111 1111 (no 3-D Secure), 4012 0010 3746 1114 (3-D Secure fails: declined).

  shop (ingress)   $shop               Caddyfile.example, card_tokenize → demoshop
  egress           http://127.0.0.1:$EGRESS_PORT     card_detokenize → pspsim (loopback only)
  pspsim           https://127.0.0.1:$PSP_PORT     what the PSP received: https://127.0.0.1:$PSP_PORT/_sim/requests
  vault            $VAULT_ADDR     dev server, in memory

  The shop's request log — the evidence it never saw a card number:  $demo/shop-requests.log
  cardproxy's log:                                                    $demo/cardproxy.log
  The audit trail (cardproxy.audit):                                  $demo/audit.log
  The PCI scope report: after paying, run
    $demo/cardproxy scope-report --log $demo/audit.log --config Caddyfile.example --html $demo/scope-report.html
  and open $demo/scope-report.html (written when you press Ctrl-C too).
MSG
trap '"$demo/cardproxy" scope-report --log "$demo/audit.log" --config Caddyfile.example --json "$demo/scope-report.json" --html "$demo/scope-report.html" >/dev/null 2>&1 && echo "demo: scope report in $demo/scope-report.html"; echo "demo: stopping…"; exit 0' INT
wait

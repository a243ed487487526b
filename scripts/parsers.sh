#!/usr/bin/env bash
# scripts/parsers.sh — install the request parsers difftest/ runs behind
# cardproxy: PHP (php-cli), Werkzeug and Django (Debian python3 packages),
# Node with express + busboy (npm ci from the committed package-lock.json);
# and the PSPs' official Node SDKs sdktest/ runs through the egress (npm ci
# there too).
#
# Only what is missing is installed: apt-get (as root) for missing commands or
# Python modules, then `npm ci` in difftest/apps/node and sdktest/ when
# node_modules is missing or older than package-lock.json. Without root, it
# says what to do; the difftest and sdktest tests then fail with the same hint
# (they never skip). A failed `npm ci` fails this script (and scripts/test.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${DIFFTEST_PYTHON:-/usr/bin/python3}"
[[ -x "$py" ]] || py=python3
log() { echo "parsers.sh: $*" >&2; }

missing=()
command -v php >/dev/null 2>&1 || missing+=(php-cli)
"$py" -c 'import werkzeug' >/dev/null 2>&1 || missing+=(python3-werkzeug)
"$py" -c 'import django' >/dev/null 2>&1 || missing+=(python3-django)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		log "installing ${missing[*]} (Debian packages)…"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		log "WARNING: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or the difftest parser tests fail"
	fi
fi

if command -v npm >/dev/null 2>&1; then
	for node_dir in difftest/apps/node sdktest; do
		dir="$here/$node_dir"
		if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
			log "npm ci in $node_dir…"
			(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
		fi
	done
fi

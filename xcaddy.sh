#!/usr/bin/env bash
# xcaddy.sh — build Caddy with cardproxy's modules, the way platform teams do.
#
#   ./xcaddy.sh                       # builds ./cardproxy-xcaddy from this checkout
#   ./xcaddy.sh --with other/plugin   # extra xcaddy arguments are passed through
#
# From a release instead of a checkout:
#   xcaddy build --with github.com/cardproxy/cardproxy@<version>
#
# Note: `--with github.com/cardproxy/cardproxy=./` fails offline (xcaddy asks the
# module proxy about the local path); the @v0.0.0=./ form below does not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
XCADDY_VERSION="${XCADDY_VERSION:-v0.4.5}"
CADDY_VERSION="${CADDY_VERSION:-v2.11.9}"
if ! command -v xcaddy >/dev/null; then
	echo "xcaddy.sh: installing xcaddy $XCADDY_VERSION"
	go install "github.com/caddyserver/xcaddy/cmd/xcaddy@$XCADDY_VERSION"
	export PATH="$(go env GOPATH)/bin:$PATH"
fi
out="${XCADDY_OUTPUT:-$here/cardproxy-xcaddy}"
cd "$here"
xcaddy build "$CADDY_VERSION" --output "$out" \
	--with "github.com/cardproxy/cardproxy@v0.0.0=$here" "$@"
echo "xcaddy.sh: built $out"

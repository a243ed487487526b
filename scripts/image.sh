#!/usr/bin/env bash
# scripts/image.sh — the static cardproxy binary and its OCI image (from scratch).
#
#   scripts/image.sh            # dist/cardproxy (static) + image cardproxy:<version> + dist/cardproxy-oci.tar
#   scripts/image.sh --check    # … then run it: `version`, vault-init, a card tokenized through it
#
# The image holds the binary, Debian's CA bundle (for HTTPS to the PSP and
# Vault) and writable /data, /config, /tmp; it runs as nobody (65534). Built
# with buildah (Debian package; installed if missing, vfs storage, no daemon).
# The check runs the image with podman where the machine allows containers;
# where it does not (no setrlimit/namespaces, as in some CI sandboxes), it
# runs the image's own root file system with chroot, which proves the same
# thing about the binary: it needs nothing the image does not hold.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
log() { echo "image.sh: $*" >&2; }
check=0
[[ "${1:-}" == "--check" ]] && check=1

if ! command -v buildah >/dev/null; then
	sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
	log "installing buildah and podman (Debian packages)"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq buildah podman >/dev/null
fi
ba() { buildah --storage-driver vfs "$@"; }

version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
mkdir -p dist
log "building the static binary (CGO_ENABLED=0), version $version"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o dist/cardproxy ./cmd/cardproxy
if file dist/cardproxy | grep -q 'dynamically linked'; then
	log "dist/cardproxy is dynamically linked"; exit 1
fi

root="$(mktemp -d)"; work_dirs="$(mktemp -d)"
trap 'rm -rf "$root" "$work_dirs"' EXIT
mkdir -p "$root/etc/ssl/certs" "$root/etc/cardproxy" "$root/tmp" "$work_dirs/data" "$work_dirs/config"
chmod 1777 "$root/tmp"
cp dist/cardproxy "$root/cardproxy"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
cp Caddyfile.example "$root/etc/cardproxy/Caddyfile"

image="localhost/cardproxy:${version//+/-}"
ctr="$(ba from scratch)"
ba copy "$ctr" "$root/" / >/dev/null
ba copy --chown 65534:65534 "$ctr" "$work_dirs/" / >/dev/null  # /data, /config: Caddy's storage, writable by nobody
ba config --entrypoint '["/cardproxy"]' --cmd 'run --config /etc/cardproxy/Caddyfile' \
	--env XDG_DATA_HOME=/data --env XDG_CONFIG_HOME=/config --env HOME=/tmp \
	--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	--user 65534:65534 --port 8080 --workingdir / \
	--label org.opencontainers.image.title=cardproxy --label "org.opencontainers.image.version=$version" "$ctr"
ba commit -q "$ctr" "$image" >/dev/null
ba rm "$ctr" >/dev/null
rm -f dist/cardproxy-oci.tar
ba push -q "$image" "oci-archive:dist/cardproxy-oci.tar:$image" >/dev/null
log "image $image: binary $(du -h dist/cardproxy | cut -f1), OCI archive dist/cardproxy-oci.tar $(du -h dist/cardproxy-oci.tar | cut -f1)"

(( check )) || exit 0

# --- check: run the image ---------------------------------------------------
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -n "${mnt_ctr:-}" ]] && ba rm "$mnt_ctr" >/dev/null 2>&1; rm -rf "$work" "$root" "$work_dirs"; }
trap cleanup EXIT
vault_bin="$(scripts/vault.sh path)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
vport="$(port)"; ingress="$(port)"; app="$(port)"
token="image-check-root"
"$vault_bin" server -dev -dev-root-token-id="$token" -dev-listen-address="127.0.0.1:$vport" >"$work/vault.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$vport/v1/sys/health" >/dev/null && break; sleep 0.1; done

# How the image is run: podman if it can, else chroot into the image's root.
if podman --storage-driver vfs run --rm --network host "$image" version >"$work/podman.out" 2>&1; then
	mode=podman
	run() { podman --storage-driver vfs run --rm --network host -e VAULT_TOKEN="$token" -v "$work:/work:ro" "$image" "$@"; }
	cfgdir=/work
else
	mode=chroot
	log "podman cannot run containers here ($(tail -1 "$work/podman.out")); running the image's root file system with chroot"
	mnt_ctr="$(ba from "$image")"
	mnt="$(ba mount "$mnt_ctr")"
	mkdir -p "$mnt/work"
	run() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin VAULT_TOKEN="$token" XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config HOME=/tmp chroot --userspec=65534:65534 "$mnt" /cardproxy "$@"; }
	cfgdir="$mnt/work"
fi
out="$(run version)"
[[ "$out" == cardproxy* ]] || { log "version: $out"; exit 1; }
log "[$mode] version: $out"
run vault-init --address "http://127.0.0.1:$vport" >/dev/null
cat >"$cfgdir/Caddyfile" <<EOF
{
	admin off
	persist_config off
	auto_https off
	cardproxy {
		vault {
			address http://127.0.0.1:$vport
			token {env.VAULT_TOKEN}
		}
	}
}
http://127.0.0.1:$ingress {
	card_tokenize {
		pan card_number
	}
	reverse_proxy 127.0.0.1:$app
}
http://127.0.0.1:$app {
	respond "{http.request.body}"
}
EOF
if [[ $mode == podman ]]; then run run --config /work/Caddyfile >"$work/cardproxy.log" 2>&1 &
else run run --config /work/Caddyfile >"$work/cardproxy.log" 2>&1 & fi
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$ingress/" && break; sleep 0.1; done
status="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ingress/")"
answer="$(curl -s -H 'Content-Type: application/json' -d '{"card_number":"4111 1111 1111 1111","amount":100}' "http://127.0.0.1:$ingress/checkout")"
if [[ "$answer" != *'"card_number":"cp_pan_'* || "$answer" == *4111* ]]; then
	log "tokenize through the image failed: $answer"; tail -20 "$work/cardproxy.log" >&2; exit 1
fi
log "[$mode] GET / → $status; POST /checkout → the app got $answer"
log "image check passed"

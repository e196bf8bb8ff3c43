#!/usr/bin/env bash
# Builds toxiproxy (a TCP proxy with injectable faults: resets, stalls, truncation, latency) from the
# Go module proxy, for test/backup-s3-faults.test.ts, and caches it under
# ~/.cache/lifeboat/toxiproxy/<version>/toxiproxy-server. A cached build is reused; a failed build
# exits non-zero with Go's own error. Concurrent runs (two checkouts) wait on one lock.
set -euo pipefail

VERSIONS="$(cd "$(dirname "$0")/.." && pwd)/test/ground/versions.json"
version_of() { node -e "process.stdout.write(require(process.argv[1])[process.argv[2]])" "$VERSIONS" "$1"; }
TOXIPROXY_VERSION="$(version_of toxiproxy)"
CACHE="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}"
OUT="$CACHE/toxiproxy/$TOXIPROXY_VERSION"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-toxiproxy] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed; it is needed to build toxiproxy"; exit 1; }

if [[ -x "$OUT/toxiproxy-server" ]]; then exit 0; fi
mkdir -p "$CACHE/toxiproxy"
exec 9>"$CACHE/toxiproxy/.build.lock"
flock 9
if [[ -x "$OUT/toxiproxy-server" ]]; then exit 0; fi # another run built it while we waited

log "building toxiproxy $TOXIPROXY_VERSION"
start=$(date +%s)
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
# The module has no replace directives, so `go install` of the tagged release works as is. The
# version is stamped the way toxiproxy's own release build does, so `toxiproxy-server --version`
# names it.
GOBIN="$OUT.tmp" go install -trimpath \
  -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}" \
  "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
mv "$OUT.tmp/server" "$OUT.tmp/toxiproxy-server"
"$OUT.tmp/toxiproxy-server" --version >&2
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
log "ready in $OUT ($(($(date +%s) - start)) s)"

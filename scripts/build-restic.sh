#!/usr/bin/env bash
# Builds restic, the engine of file-system volume backups (lifeboat agent), from the Go module
# proxy and caches it under ~/.cache/lifeboat/restic/<version>/restic. A cached build is reused;
# a failed build exits non-zero with Go's own error, so the test run fails loudly.
set -euo pipefail

VERSIONS="$(cd "$(dirname "$0")/.." && pwd)/test/ground/versions.json"
version_of() { node -e "process.stdout.write(require(process.argv[1])[process.argv[2]])" "$VERSIONS" "$1"; }
RESTIC_VERSION="$(version_of restic)"
CACHE="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}"
OUT="$CACHE/restic/$RESTIC_VERSION"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-restic] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed; it is needed to build restic"; exit 1; }

if [[ -x "$OUT/restic" ]]; then exit 0; fi

log "building restic $RESTIC_VERSION (a few minutes cold on 2 cores)"
start=$(date +%s)
mkdir -p "$OUT.tmp"
# restic's go.mod has no replace directives, so `go install` of the release works as is.
GOBIN="$OUT.tmp" go install -trimpath -ldflags "-s -w" "github.com/restic/restic/cmd/restic@$RESTIC_VERSION"
"$OUT.tmp/restic" version >&2
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
log "ready in $OUT ($(($(date +%s) - start)) s)"

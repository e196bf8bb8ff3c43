#!/usr/bin/env bash
# Builds Gitea from the Go module proxy, for the forge tests (pull requests, statuses, webhooks),
# and caches it under ~/.cache/lifeboat/gitea/<version>/ (gitea, options/, templates/). A cached build is reused; a failed
# build exits non-zero with Go's own error. Concurrent runs (two checkouts) wait on one lock, so
# the ~1,480-package build happens once.
set -euo pipefail

VERSIONS="$(cd "$(dirname "$0")/.." && pwd)/test/ground/versions.json"
version_of() { node -e "process.stdout.write(require(process.argv[1])[process.argv[2]])" "$VERSIONS" "$1"; }
GITEA_VERSION="$(version_of gitea)"
CACHE="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}"
OUT="$CACHE/gitea/$GITEA_VERSION"

# v1.27 links a pure-Go SQLite driver unless the sqlite_mattn tag is given, so no C toolchain.
export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-gitea] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed; it is needed to build Gitea"; exit 1; }

if [[ -x "$OUT/gitea" && -d "$OUT/options" ]]; then exit 0; fi
mkdir -p "$CACHE/gitea"
exec 9>"$CACHE/gitea/.build.lock"
flock 9
if [[ -x "$OUT/gitea" && -d "$OUT/options" ]]; then exit 0; fi # another run built it while we waited

log "building gitea $GITEA_VERSION (about 1,480 packages; long when cold on 2 cores)"
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# `go install code.gitea.io/gitea@version` is refused (the go.mod has replace directives) and a
# wrapper module cannot require it (its go.mod says `module gitea.dev`), so the module's own source
# is built as the main module, from a writable copy of the module cache's read-only tree.
dir="$(go mod download -json "code.gitea.io/gitea@$GITEA_VERSION" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).Dir))')"
cp -r "$dir/." "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$OUT.tmp"
(
  cd "$work/src"
  go build -trimpath -ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -o "$OUT.tmp/gitea" .
)
# Without the bindata tag Gitea reads its locales and templates from STATIC_ROOT_PATH at run time
# (it will not start without the locales); they go beside the binary.
cp -r "$work/src/options" "$work/src/templates" "$OUT.tmp/"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
log "ready in $OUT ($(($(date +%s) - start)) s)"

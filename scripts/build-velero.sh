#!/usr/bin/env bash
# Builds Velero and its AWS object-store plugin from the Go module proxy, for the interop tests
# and the side-by-side benchmark, and caches them under ~/.cache/lifeboat/velero/<version>/:
#   velero                            the CLI and server (its built-in plugins run as `velero run-plugins`)
#   plugins/velero-plugin-for-aws     the only file in the directory given to `velero server --plugin-dir`
# A cached build is reused; a failed build exits non-zero with Go's own error.
set -euo pipefail

VERSIONS="$(cd "$(dirname "$0")/.." && pwd)/test/ground/versions.json"
version_of() { node -e "process.stdout.write(require(process.argv[1])[process.argv[2]])" "$VERSIONS" "$1"; }
VELERO_VERSION="$(version_of velero)"
AWS_PLUGIN_VERSION="$(version_of veleroPluginForAws)"
CACHE="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}"
OUT="$CACHE/velero/$VELERO_VERSION"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-velero] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed; it is needed to build Velero"; exit 1; }

if [[ -x "$OUT/velero" && -x "$OUT/plugins/velero-plugin-for-aws" ]]; then exit 0; fi

log "building velero $VELERO_VERSION and velero-plugin-for-aws $AWS_PLUGIN_VERSION (about 6 min cold on 2 cores)"
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/velero" "$work/aws" "$OUT.tmp/plugins"
(
  # Velero's go.mod replaces kopia with its fork, so `go install` refuses it; a wrapper module
  # requiring the release carries the same replace.
  cd "$work/velero"
  go mod init lifeboat.dev/ground/velero >/dev/null 2>&1
  go mod download -json "github.com/vmware-tanzu/velero@$VELERO_VERSION" >/dev/null
  gomod="$(go env GOMODCACHE)/cache/download/github.com/vmware-tanzu/velero/@v/$VELERO_VERSION.mod"
  {
    echo "require github.com/vmware-tanzu/velero $VELERO_VERSION"
    grep -E '^replace ' "$gomod"
    # The module proxy this project can reach does not serve k8s.io/cli-runtime v0.33.12, which
    # Velero requires; v0.33.13 is the next patch release of the same line.
    echo "require k8s.io/cli-runtime v0.33.13"
  } >>go.mod
  go get "github.com/vmware-tanzu/velero/cmd/velero@$VELERO_VERSION"
  ld="-s -w -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$VELERO_VERSION"
  ld+=" -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean"
  # controller-runtime's metrics server would bind :8080 on every interface, with no flag to move
  # it; "0" turns it off, so Velero servers of parallel test files do not collide on the port.
  ld+=" -X sigs.k8s.io/controller-runtime/pkg/metrics/server.DefaultBindAddress=0"
  go build -trimpath -ldflags "$ld" -o "$OUT.tmp/velero" github.com/vmware-tanzu/velero/cmd/velero
)
(
  # The plugin's module has no replace directives; a wrapper keeps it beside Velero's build.
  cd "$work/aws"
  go mod init lifeboat.dev/ground/velero-aws >/dev/null 2>&1
  go get "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws@$AWS_PLUGIN_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$OUT.tmp/plugins/velero-plugin-for-aws" \
    github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws
)
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
log "ready in $OUT ($(($(date +%s) - start)) s)"

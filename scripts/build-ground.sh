#!/usr/bin/env bash
# Builds the real servers the integration tests run against (kube-apiserver,
# kube-controller-manager, etcd, versitygw) from the Go module proxy and caches
# them under ~/.cache/lifeboat/<component>/<version>/. A cached build is reused;
# a failed build exits non-zero with Go's own error, so the test run fails loudly.
set -euo pipefail

# One source of truth for the versions: test/ground/versions.json (the ground reads it too).
VERSIONS="$(cd "$(dirname "$0")/.." && pwd)/test/ground/versions.json"
version_of() { node -e "process.stdout.write(require(process.argv[1])[process.argv[2]])" "$VERSIONS" "$1"; }
KUBE_VERSION="$(version_of kube)"
ETCD_VERSION="$(version_of etcd)"
VERSITYGW_VERSION="$(version_of versitygw)"
CACHE="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-ground] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed; it is needed to build the test servers"; exit 1; }

# shellcheck source=kube-build.sh
source "$(dirname "$0")/kube-build.sh"

build_kube() {
  local out="$CACHE/kube/$KUBE_VERSION"
  if [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" ]]; then return; fi
  log "building kube-apiserver and kube-controller-manager $KUBE_VERSION (about 6 min cold on 2 cores)"
  build_kube_commands "$KUBE_VERSION" "$out" kube-apiserver kube-controller-manager
}

build_etcd() {
  local out="$CACHE/etcd/$ETCD_VERSION"
  if [[ -x "$out/etcd" ]]; then return; fi
  log "building etcd $ETCD_VERSION"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init lifeboat.dev/ground/etcd >/dev/null 2>&1
    go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
    # etcd's server module replaces its sibling modules with relative paths; pin them
    # to the same published release instead.
    for m in api/v3 client/pkg/v3 client/v3 pkg/v3 server/v3; do
      echo "replace go.etcd.io/etcd/$m => go.etcd.io/etcd/$m $ETCD_VERSION" >>go.mod
    done
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    mkdir -p "$out.tmp"
    go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
}

build_versitygw() {
  local out="$CACHE/versitygw/$VERSITYGW_VERSION"
  if [[ -x "$out/versitygw" ]]; then return; fi
  log "building versitygw $VERSITYGW_VERSION"
  mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  rm -rf "$out" && mv "$out.tmp" "$out"
}

build_etcd
build_versitygw
build_kube
bash "$(dirname "$0")/build-node.sh" # kubelet, kube-scheduler, pause, containerd & co. for the node
bash "$(dirname "$0")/build-csi.sh" # the CSI driver and sidecars, and the snapshot CRDs
bash "$(dirname "$0")/build-velero.sh" # Velero and its AWS plugin, for test/velero-interop.test.ts
bash "$(dirname "$0")/build-restic.sh" # restic, the engine of file-system volume backups (lifeboat agent)
bash "$(dirname "$0")/build-gitea.sh" # Gitea, for the pull-request tests (test/forge-*.test.ts)
bash "$(dirname "$0")/build-toxiproxy.sh" # toxiproxy, a TCP proxy with faults between lifeboat and S3 (test/backup-s3-faults.test.ts)
log "ready in $CACHE"

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

# build_in_wrapper DIR OUT PKG... : run `go build` for each package inside a wrapper module.
build_kube() {
  local out="$CACHE/kube/$KUBE_VERSION"
  if [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" ]]; then return; fi
  log "building kube-apiserver and kube-controller-manager $KUBE_VERSION (about 6 min cold on 2 cores)"
  local work; work=$(mktemp -d)
  local minor="v0.${KUBE_VERSION#v1.}"
  (
    cd "$work"
    go mod init lifeboat.dev/ground/kube >/dev/null 2>&1
    go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
    local gomod; gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
    # ./staging paths that do not exist outside its repo; point each at its published release.
    {
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      grep -E '^\s+k8s.io/[a-z0-9-]+ => ./staging/' "$gomod" | awk -v v="$minor" '{print "replace " $1 " => " $1 " " v}'
    } >>go.mod
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBE_VERSION"
    local ld="-s -w"
    ld+=" -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
    ld+=" -X k8s.io/component-base/version.gitMajor=1"
    ld+=" -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
    ld+=" -X k8s.io/component-base/version.gitTreeState=clean"
    ld+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
    mkdir -p "$out.tmp"
    go build -trimpath -ldflags "$ld" -o "$out.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags "$ld" -o "$out.tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
  )
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
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
log "ready in $CACHE"

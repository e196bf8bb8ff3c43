#!/usr/bin/env bash
# Builds the test ground's CSI storage (called by build-ground.sh) and caches it under
# ~/.cache/lifeboat/<component>/<version>/:
#  - the ground's own CSI driver (test/ground/csi-driver), vetted and tested first, cached by a
#    hash of its sources (test/ground/csi.ts computes the same hash to find it);
#  - csi-provisioner, csi-snapshotter and snapshot-controller, the real sidecars, built from the
#    Go module proxy at the versions in test/ground/versions.json;
#  - the snapshot CRDs, copied from the external-snapshotter client module's config/crd/.
# The sidecars use k8s.io v0.37, so they share no build cache with the v0.34 servers.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSIONS="$ROOT/test/ground/versions.json"
version_of() { node -e "process.stdout.write(require(process.argv[1])[process.argv[2]])" "$VERSIONS" "$1"; }
PROVISIONER_VERSION="$(version_of csiProvisioner)"
SNAPSHOTTER_VERSION="$(version_of csiSnapshotter)"
CACHE="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-csi] %s\n' "$*" >&2; }

# The driver's cache key: sha256 over "<sha256 of file>  <name>" lines of its Go sources, go.mod
# and go.sum in byte order of their names (what `sha256sum` prints; csi.ts repeats it).
driver_hash() {
  (cd "$ROOT/test/ground/csi-driver" && LC_ALL=C ls -- *.go go.mod go.sum | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
}

build_driver() {
  local hash; hash="$(driver_hash)"
  local out="$CACHE/csi-driver/$hash"
  if [[ -x "$out/ground-csi-driver" ]]; then return; fi
  log "vetting, testing and building the ground's CSI driver ($hash)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (
    cd "$ROOT/test/ground/csi-driver"
    go vet ./...
    # The tests bind-mount (root, as the node itself needs).
    go test -count=1 ./...
    go build -trimpath -ldflags "-s -w -X main.version=$hash" -o "$out.tmp/ground-csi-driver" .
  )
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# build_sidecars MODULE VERSION OUT CMD... : build MODULE's commands in a wrapper module. The
# sidecars' own go.mod has replace directives (which `go install pkg@version` refuses), so the
# wrapper repeats them; a replace by a relative path (a sibling module of the same repository,
# such as external-snapshotter's client/) points at that module's release of the same version.
build_sidecars() {
  local module="$1" version="$2" out="$3"
  shift 3
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init lifeboat.dev/ground/csi-sidecars >/dev/null 2>&1
    local gomod
    gomod="$(go mod download -json "$module@$version" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).GoMod)')"
    go mod edit -json "$gomod" | node -e '
      const version = process.argv[1];
      const mod = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const at = (p, v) => (v ? `${p}@${v}` : p);
      for (const r of mod.Replace ?? []) {
        const relative = r.New.Path.startsWith("./") || r.New.Path.startsWith("../");
        const to = relative ? at(r.Old.Path, version) : at(r.New.Path, r.New.Version);
        console.log(`-replace=${at(r.Old.Path, r.Old.Version)}=${to}`);
      }' "$version" | xargs -r go mod edit
    local pkgs=() cmd
    for cmd in "$@"; do pkgs+=("$module/cmd/$cmd@$version"); done
    go get "${pkgs[@]}"
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    for cmd in "$@"; do
      go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out.tmp/$cmd" "$module/cmd/$cmd"
    done
  )
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
}

build_provisioner() {
  local out="$CACHE/csi-provisioner/$PROVISIONER_VERSION"
  if [[ -x "$out/csi-provisioner" ]]; then return; fi
  log "building csi-provisioner $PROVISIONER_VERSION"
  build_sidecars github.com/kubernetes-csi/external-provisioner/v6 "$PROVISIONER_VERSION" "$out" csi-provisioner
}

build_snapshotter() {
  local out="$CACHE/csi-snapshotter/$SNAPSHOTTER_VERSION"
  if [[ -x "$out/csi-snapshotter" && -x "$out/snapshot-controller" && -d "$out/crd" ]]; then return; fi
  log "building csi-snapshotter and snapshot-controller $SNAPSHOTTER_VERSION"
  build_sidecars github.com/kubernetes-csi/external-snapshotter/v8 "$SNAPSHOTTER_VERSION" "$out" \
    csi-snapshotter snapshot-controller
  # The CRDs the snapshot-controller serves, from the client module of the same release.
  local client
  client="$(go mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@$SNAPSHOTTER_VERSION" |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).Dir)')"
  mkdir -p "$out/crd.tmp"
  cp "$client"/config/crd/*.k8s.io_*.yaml "$out/crd.tmp/"
  chmod 0644 "$out"/crd.tmp/*.yaml
  rm -rf "$out/crd" && mv "$out/crd.tmp" "$out/crd"
}

command -v go >/dev/null || { log "go is not installed; it is needed to build the CSI driver and sidecars"; exit 1; }
build_driver
build_provisioner
build_snapshotter

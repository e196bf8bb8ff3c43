#!/usr/bin/env bash
# Builds and installs what the test ground's node needs (called by build-ground.sh):
#  - kubelet and kube-scheduler, built from k8s.io/kubernetes exactly as build-ground.sh builds
#    kube-apiserver (same wrapper module, replaces and ldflags, so Go's build cache is shared),
#    cached under ~/.cache/lifeboat/kube/<version>/;
#  - the pause binary, compiled static from Kubernetes' own build/pause/linux/pause.c (it ships in
#    the k8s.io/kubernetes module), cached under ~/.cache/lifeboat/pause/<version>/;
#  - containerd, runc, the CNI plugins and busybox-static from Debian's packages, installed when
#    missing (this needs root: the node itself runs as root).
set -euo pipefail

VERSIONS="$(cd "$(dirname "$0")/.." && pwd)/test/ground/versions.json"
KUBE_VERSION="$(node -e "process.stdout.write(require(process.argv[1]).kube)" "$VERSIONS")"
CACHE="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}"
PACKAGES=(containerd runc containernetworking-plugins busybox-static)

export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[build-node] %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    log "root is needed to install ${PACKAGES[*]} (and to run the node); run as root or with passwordless sudo"
    exit 1
  fi
}

install_packages() {
  local missing=() p
  # gcc and the static C library, for the pause binary.
  command -v gcc >/dev/null || PACKAGES+=(gcc libc6-dev)
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then return; fi
  log "installing ${missing[*]} from Debian's packages"
  # Another process (a second checkout's build) may hold the dpkg lock; wait for it.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
    --no-install-recommends "${missing[@]}"
}

# shellcheck source=kube-build.sh
source "$(dirname "$0")/kube-build.sh"

build_kubelet_scheduler() {
  local out="$CACHE/kube/$KUBE_VERSION"
  if [[ -x "$out/kubelet" && -x "$out/kube-scheduler" ]]; then return; fi
  log "building kubelet and kube-scheduler $KUBE_VERSION (about 6 min on 2 cores with a warm Go cache)"
  build_kube_commands "$KUBE_VERSION" "$out" kubelet kube-scheduler
}

build_pause() {
  local out="$CACHE/pause/$KUBE_VERSION"
  if [[ -x "$out/pause" ]]; then return; fi
  local src
  src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
  if [[ ! -f "$src" ]]; then
    go mod download "k8s.io/kubernetes@$KUBE_VERSION"
  fi
  log "compiling pause from $src"
  mkdir -p "$out"
  # The flags of Kubernetes' own build/pause/Makefile.
  gcc -Os -Wall -Werror -static -DVERSION="$KUBE_VERSION-lifeboat" -o "$out/pause.tmp" "$src"
  strip "$out/pause.tmp"
  mv "$out/pause.tmp" "$out/pause"
}

install_packages
build_kubelet_scheduler
build_pause

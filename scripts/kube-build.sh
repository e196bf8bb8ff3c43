# Sourced by build-ground.sh and build-node.sh: the one place that knows how to build commands of
# k8s.io/kubernetes from the Go module proxy. Both scripts build at the same version with the same
# wrapper module, replaces and ldflags, so Go's build cache is shared between them.

# build_kube_commands VERSION OUT CMD... : builds k8s.io/kubernetes/cmd/CMD for each CMD and moves
# the binaries into OUT once every one of them has built (other binaries in OUT are left alone).
build_kube_commands() {
  local version="$1" out="$2"
  shift 2
  local work
  work=$(mktemp -d)
  local minor="v0.${version#v1.}"
  (
    cd "$work"
    go mod init lifeboat.dev/ground/kube >/dev/null 2>&1
    go mod download -json "k8s.io/kubernetes@$version" >/dev/null
    local gomod
    gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$version.mod"
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
    # ./staging paths that do not exist outside its repo; point each at its published release.
    {
      echo "require k8s.io/kubernetes $version"
      grep -E '^\s+k8s.io/[a-z0-9-]+ => ./staging/' "$gomod" | awk -v v="$minor" '{print "replace " $1 " => " $1 " " v}'
    } >>go.mod
    local cmd pkgs=()
    for cmd in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd@$version"); done
    go get "${pkgs[@]}"
    local ld="-s -w"
    ld+=" -X k8s.io/component-base/version.gitVersion=$version"
    ld+=" -X k8s.io/component-base/version.gitMajor=1"
    ld+=" -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)"
    ld+=" -X k8s.io/component-base/version.gitTreeState=clean"
    ld+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
    mkdir -p bin
    for cmd in "$@"; do go build -trimpath -ldflags "$ld" -o "bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"; done
  )
  mkdir -p "$out"
  local cmd
  for cmd in "$@"; do mv "$work/bin/$cmd" "$out/$cmd"; done
  rm -rf "$work"
}

#!/usr/bin/env bash
# Builds the test control plane's binaries from the Go module proxy and caches them
# outside the repository. Each tool has its own cache directory keyed by its version and
# this recipe's revision, so bumping one version rebuilds only that tool.
#
#   tests/testbed/build.sh            # build what is missing, print the bin directories
#   tests/testbed/build.sh --print    # only print where the binaries are (or would be)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${LANDSCAPE_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/landscape-testbed}
k8s_dir=$cache/kubernetes-$K8S_VERSION-r$RECIPE_REVISION
etcd_dir=$cache/etcd-$ETCD_VERSION-r$RECIPE_REVISION
kwok_dir=$cache/kwok-$KWOK_VERSION-r$RECIPE_REVISION
helm_dir=$cache/helm-$HELM_VERSION-r$RECIPE_REVISION
# The operators that run for real beside the control plane (operators.py): one binary per
# program, each with a stamp of the version it was built at.
ops_dir=$cache/operators-r$RECIPE_REVISION

if [[ ${1:-} == --print ]]; then
  printf '%s\n' "$k8s_dir/bin" "$etcd_dir/bin" "$kwok_dir/bin" "$helm_dir/bin" "$ops_dir"
  exit 0
fi

export CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local
log() { printf '[testbed build] %s\n' "$*" >&2; }
gomod_json() { python3 -c 'import sys,json;print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Builds into a temporary directory and renames it into place, so an interrupted build
# never leaves a half-filled cache entry that later runs would trust.
finish() { rm -rf "$1"; mv "$2" "$1"; }

build_kubernetes() {
  [[ -x $k8s_dir/bin/kube-apiserver && -x $k8s_dir/bin/kubectl ]] && return
  log "kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
  local tmp work staging minor kmod ldf m kv
  tmp=$(mktemp -d "$cache/.k8s.XXXXXX"); work=$tmp/src; mkdir -p "$work" "$tmp/bin"
  staging=v0.${K8S_VERSION#v1.}
  minor=$(cut -d. -f2 <<<"$K8S_VERSION")
  (
    cd "$work"
    go mod init landscape.testbed/kubernetes >/dev/null 2>&1
    go mod edit -go=1.26.0
    kmod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | gomod_json GoMod)
    # k8s.io/kubernetes points its staging modules at ./staging; a consumer must pin the
    # published v0.X.Y tags instead, one replace per staging module, derived from the served go.mod.
    for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$kmod"); do
      go mod edit -replace="$m=$m@$staging"
    done
    sed -n 's/^godebug[[:space:]]\{1,\}\([^ (]*=[^ ]*\)$/\1/p' "$kmod" | while read -r kv; do go mod edit -godebug="$kv"; done
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" >&2
    ldf="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldf+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
      ldf+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    go build -tags=notest -ldflags="$ldf" -o "$tmp/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  )
  rm -rf "$work"
  finish "$k8s_dir" "$tmp"
}

build_etcd() {
  [[ -x $etcd_dir/bin/etcd ]] && return
  log "etcd $ETCD_VERSION"
  local tmp; tmp=$(mktemp -d "$cache/.etcd.XXXXXX"); mkdir -p "$tmp/src" "$tmp/bin"
  (
    cd "$tmp/src"
    go mod init landscape.testbed/etcd >/dev/null 2>&1
    go mod edit -go=1.26.0
    go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
    go build -ldflags="-s -w" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$tmp/src"
  finish "$etcd_dir" "$tmp"
}

build_kwok() {
  [[ -x $kwok_dir/bin/kwok && -d $kwok_dir/stages ]] && return
  log "kwok $KWOK_VERSION"
  local tmp src; tmp=$(mktemp -d "$cache/.kwok.XXXXXX"); mkdir -p "$tmp/bin"
  GOBIN="$tmp/bin" go install -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # Standalone kwok has no built-in stages: keep the upstream default stage files next to the
  # binary so the launcher does not depend on the module cache still being there.
  src=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | gomod_json Dir)
  cp -r "$src/kustomize/stage" "$tmp/stages"
  chmod -R u+w "$tmp/stages"
  finish "$kwok_dir" "$tmp"
}

build_helm() {
  [[ -x $helm_dir/bin/helm ]] && return
  log "helm $HELM_VERSION"
  local tmp major; tmp=$(mktemp -d "$cache/.helm.XXXXXX"); mkdir -p "$tmp/bin"
  major=$(cut -d. -f1 <<<"$HELM_VERSION")
  GOBIN="$tmp/bin" go install \
    -ldflags="-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
  finish "$helm_dir" "$tmp"
}

# A Go program from the module proxy, built in a throwaway module: NAME VERSION PACKAGE
# [MODULE...]. The modules are required at the same version — for projects whose go.mod
# replaces its own submodules with local directories, which a consumer never sees.
build_program() {
  local name=$1 version=$2 pkg=$3; shift 3
  [[ -x $ops_dir/$name && $(cat "$ops_dir/$name.version" 2>/dev/null) == "$version" ]] && return
  log "$name $version"
  local tmp m; tmp=$(mktemp -d "$cache/.$name.XXXXXX")
  (
    cd "$tmp"
    go mod init "landscape.testbed/$name" >/dev/null 2>&1
    go mod edit -go=1.26.0
    local want=("$pkg@$version")
    for m in "$@"; do want+=("$m@$version"); done
    go get -tool "${want[@]}" >&2
    go build -ldflags="-s -w" -o "$tmp/$name.bin" "$pkg"
  )
  mkdir -p "$ops_dir"
  mv "$tmp/$name.bin" "$ops_dir/$name"
  echo "$version" >"$ops_dir/$name.version"
  rm -rf "$tmp"
}

build_operators() {
  build_program metrics-server "$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server/cmd/metrics-server
  local po=github.com/prometheus-operator/prometheus-operator
  build_program prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" "$po/cmd/operator" \
    "$po/pkg/apis/monitoring" "$po/pkg/client"
  build_program gatekeeper "$GATEKEEPER_VERSION" github.com/open-policy-agent/gatekeeper/v3
}

mkdir -p "$cache"
start=$(date +%s)
build_etcd
build_kwok
build_helm
build_kubernetes
build_operators
log "done in $(( $(date +%s) - start ))s"
printf '%s\n' "$k8s_dir/bin" "$etcd_dir/bin" "$kwok_dir/bin" "$helm_dir/bin" "$ops_dir"

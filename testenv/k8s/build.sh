#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd that test/k8s runs against, from the Go modules pinned in
# testenv/k8s/go.mod, into a cache outside the repository:
#   ${LEGATE_K8S_CACHE:-$HOME/.cache/legate-k8s}/<kubernetes version>/{kube-apiserver,etcd}
# Module downloads (gomod/) and compiled packages (gocache/) live beside it, so a reused machine
# skips the build and a go.sum change rebuilds from a warm cache.
#
# Skips the build when both binaries exist and their stamp (a hash of go.mod, go.sum and the build
# flags) matches. Safe to run concurrently: a lock serialises builders, and binaries are moved into
# place before the stamp is written, so a reader never sees a half-written binary with a valid stamp.
# Compiles at the lowest CPU and I/O priority: the machine is shared with benchmarks.
# Prints the binary directory on the last line of stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

command -v go >/dev/null 2>&1 || { echo "build.sh: go is not on PATH (need Go >= 1.26)" >&2; exit 1; }

t0=$(date +%s)
k8s_version=$(sed -nE 's/^[[:space:]]*(require[[:space:]]+)?k8s\.io\/kubernetes[[:space:]]+(v[0-9]+\.[0-9]+\.[0-9]+).*/\2/p' go.mod)
[ -n "$k8s_version" ] || { echo "build.sh: no k8s.io/kubernetes version in go.mod" >&2; exit 1; }
major=${k8s_version#v}; major=${major%%.*}
minor=${k8s_version#v*.}; minor=${minor%%.*}

home="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache="${LEGATE_K8S_CACHE:-$home/.cache/legate-k8s}"
out="$cache/$k8s_version"
mkdir -p "$out"
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOFLAGS="-modcacherw -buildvcs=false -mod=readonly"
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0

# Version variables the release build sets (kubernetes hack/lib/version.sh); without them /version
# reports v0.0.0-master. buildDate is fixed so the stamp, and the binary, are reproducible.
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
buildflags=(-trimpath "-ldflags=$ldflags")

stamp=$({ cat go.mod go.sum; printf '%s\n' "$(go version)" "${buildflags[@]}"; } | sha256sum | cut -d' ' -f1)

fresh() {
  [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]
}

exec 9>"$cache/.build.lock"
if ! fresh; then
  flock 9
fi
if fresh; then
  echo "kube-apiserver + etcd $k8s_version: cached in $out ($(( $(date +%s) - t0 ))s)" >&2
  echo "$out"
  exit 0
fi

low=(nice -n 19)
command -v ionice >/dev/null 2>&1 && low+=(ionice -c 3)
timed=()
[ -x /usr/bin/time ] && timed=(/usr/bin/time -f '  %es elapsed, %Us user + %Ss sys CPU, %MKB peak RSS of the largest process')

# A hand-edited version or replace block would build a mix of Kubernetes versions: refuse it.
node "$here/gen-replaces.mjs" --check >&2

rm -f "$out/stamp"
step() { # name package
  local s
  s=$(date +%s)
  echo "building $1 ($2) ..." >&2
  "${timed[@]}" "${low[@]}" go build "${buildflags[@]}" -o "$out/.$1.tmp" "$2" >&2
  mv -f "$out/.$1.tmp" "$out/$1"
  echo "  $1 done in $(( $(date +%s) - s ))s" >&2
}

step etcd go.etcd.io/etcd/server/v3
step kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
echo "$stamp" >"$out/stamp"

echo "kube-apiserver + etcd $k8s_version built in $out in $(( $(date +%s) - t0 ))s" >&2
echo "$out"

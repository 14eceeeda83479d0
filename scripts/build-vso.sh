#!/usr/bin/env bash
# Builds HashiCorp Vault Secrets Operator (the benchmark's peer) from the Go module proxy,
# cached by version under $VSO_TS_CACHE/vso-<version>/ (binary in bin/manager, CRDs in crds/).
# VSO is BUSL-1.1: it is only built and run here, never copied from.
# Its go.mod replaces k8s.io/cloud-provider and k8s.io/kubelet v0.0.0, which a dependent module
# ignores, so the wrapper module repeats those replaces; the checksum database does not know its
# pinned github.com/hashicorp/vault/sdk pseudo-version (its hash is checked against VSO's go.sum).
#
# Usage: scripts/build-vso.sh [version]   (prints the cache directory on its last line)
set -euo pipefail

VERSION="${1:-${VSO_VERSION:-v1.5.0}}"
CACHE="${VSO_TS_CACHE:-$HOME/.cache/vso-ts}"
DIR="$CACHE/vso-$VERSION"
MODULE=github.com/hashicorp/vault-secrets-operator
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOFLAGS="-mod=mod -buildvcs=false -p=1"
export GONOSUMDB=github.com/hashicorp/vault/sdk
export CGO_ENABLED=0

START=$SECONDS
log() { printf '[build-vso %4ds] %s\n' "$((SECONDS - START))" "$*" >&2; }

if [[ -f "$DIR/.complete" && -x "$DIR/bin/manager" ]]; then
  log "VSO $VERSION cached"
  echo "$DIR"
  exit 0
fi

source "$(dirname "${BASH_SOURCE[0]}")/progress.sh"

rm -rf "$DIR" && mkdir -p "$DIR/src" "$DIR/bin" "$DIR/crds"
cd "$DIR/src"
go mod init vsots.local/vsobuild >/dev/null 2>&1
gomod="$(go mod download -json "$MODULE@$VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[[ -f "$gomod" ]] || { log "could not download $MODULE@$VERSION"; exit 1; }
# Repeat the module's own replace directives (single-line form) in the wrapper.
while read -r from to; do
  log "replace $from => $to"
  go mod edit -replace "$from=$to"
done < <(sed -n 's#^replace[[:space:]]\+\([^[:space:]]\+\)[[:space:]]\+[^=]*=>[[:space:]]\+\([^[:space:]]\+\)[[:space:]]\+\([^[:space:]]\+\).*#\1 \2@\3#p' "$gomod")
while read -r from to; do
  log "replace $from => $to"
  go mod edit -replace "$from=$to"
done < <(awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r&&/=>/{split($0,a,"=>"); split(a[1],l," "); split(a[2],t," "); print l[1], t[1]"@"t[2]}' "$gomod")
with_progress "VSO $VERSION (go get)" "$DIR/get.log" nice -n 10 go get "$MODULE@$VERSION"
with_progress "VSO $VERSION" "$DIR/build.log" \
  nice -n 10 go build -trimpath -o "$DIR/bin/manager" "$MODULE"
moddir="$(go list -m -f '{{.Dir}}' "$MODULE")"
cp "$moddir"/chart/crds/*.yaml "$DIR/crds/"
chmod -R u+w "$DIR/crds"
date -u +%FT%TZ >"$DIR/.complete"
log "VSO $VERSION built: $DIR/bin/manager"
echo "$DIR"

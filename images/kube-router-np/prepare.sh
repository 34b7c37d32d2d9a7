#!/usr/bin/env bash
# images/kube-router-np/prepare.sh - the build context of the kube-router image
# ($KUBE_ROUTER_CACHE/context), run by scripts/build-image.sh before it decides whether to build:
#   1. go mod download github.com/cloudnativelabs/kube-router/v2@v2.1.0 (h1 sum and zip sha256
#      checked against versions.sh);
#   2. a static build of its cmd/kube-router from the wrapper module in this folder (go.mod,
#      go.sum, tools.go), whose dependency versions are newer than kube-router's own go.mod
#      (README.md); -mod=readonly: the committed go.mod and go.sum are used exactly as they are;
#   3. images/kind-node/iptables-mode.sh and cleanup.sh next to the binary.
# The binary is rebuilt only when its inputs change (FORCE=1: always).
set -euo pipefail
kr_t0=$(date +%s)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=images/kube-router-np/versions.sh
. "$here/versions.sh"
# shellcheck source=images/go-build.sh
. "$here/../go-build.sh"
# Go's tarball install, when it is not on PATH (as images/kind-node/lib.sh does)
command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "kube-router build: needs Go on PATH" >&2; exit 2; }

ctx="$KUBE_ROUTER_CACHE/context"
mkdir -p "$ctx"

# ---- 1. the pinned module ---------------------------------------------------------------
# From the context directory (no go.mod): the download touches nothing in the clone.
json="$(cd "$ctx" && go mod download -modcacherw -json "$KUBE_ROUTER_MODULE@$KUBE_ROUTER_VERSION")" || {
  echo "$json" >&2; exit 1; }
sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p' <<<"$json")"
zip="$(sed -n 's/^[[:space:]]*"Zip": "\(.*\)",*$/\1/p' <<<"$json")"
[ "$sum" = "$KUBE_ROUTER_MODULE_SUM" ] || {
  echo "kube-router build: module sum $sum != pinned $KUBE_ROUTER_MODULE_SUM" >&2; exit 1; }
echo "$KUBE_ROUTER_ZIP_SHA256  $zip" | sha256sum -c --status - || {
  echo "kube-router build: $zip does not match the pinned sha256" >&2; exit 1; }
grep -qxF "$KUBE_ROUTER_MODULE $KUBE_ROUTER_VERSION $KUBE_ROUTER_MODULE_SUM" "$here/go.sum" || {
  echo "kube-router build: go.sum does not hold $KUBE_ROUTER_MODULE $KUBE_ROUTER_VERSION $KUBE_ROUTER_MODULE_SUM" >&2; exit 1; }

# ---- 2. the binary -------------------------------------------------------------------------
pkg="$KUBE_ROUTER_MODULE/pkg/version"
ldflags="-s -w -X $pkg.Version=$KUBE_ROUTER_VERSION -X $pkg.BuildDate=$KUBE_ROUTER_BUILD_DATE"
goarch="${GOARCH:-$(go env GOARCH)}"
# The binary is a pure function of these: reuse it without asking Go when they match.
stamp="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-64) $(go env GOVERSION) linux/$goarch $ldflags"
go_build_stamped kr_log "$ctx/kube-router" "$stamp" "$here" \
  -mod=readonly -modcacherw -buildvcs=false -trimpath -ldflags "$ldflags" "$KUBE_ROUTER_MODULE/cmd/kube-router"

# ---- 3. the scripts ------------------------------------------------------------------------
install -m 0755 "$repo/images/kind-node/iptables-mode.sh" "$ctx/iptables-mode.sh"
install -m 0755 "$here/cleanup.sh" "$ctx/cleanup.sh"
kr_log "build context ready in $ctx"

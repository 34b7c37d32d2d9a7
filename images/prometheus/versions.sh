# shellcheck shell=bash disable=SC2034  # sourced; the callers use the variables
# images/prometheus/versions.sh - the one pin of Prometheus in the repository and the one way to
# build a command of it (sourced, not run). Both builds of the same module version source it:
#   images/prometheus/prepare.sh         the server, cmd/prometheus, for the kind loop's image
#   scripts/lint/install-promtool.sh     promtool, cmd/promtool, for the chart's rule tests
# Everything downloaded or built lives outside the clone, under
# ${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline/.

# Prometheus 3.16.0 is the Go module version v0.316.0 (v0.3MM.P stands for 3.MM.P; the module's
# VERSION file says which release it is). The go.sum lines of the module (`go mod download -json`
# prints them as Sum and GoModSum; the same as the checksum database's lookup of that version).
PROMETHEUS_MODULE=github.com/prometheus/prometheus
PROMETHEUS_VERSION=v0.316.0
PROMETHEUS_RELEASE=3.16.0
PROMETHEUS_SUM="h1:f1GRFerhTMKQma+awCoC9T820ecWeGSdF+xAlMHzZzM="
PROMETHEUS_GOMOD_SUM="h1:nd2m0IehYLgxV4yAmoQDsvV45I9Xerh+uTUeCioEMis="
# Build tags of the server (README.md): every service discovery but Kubernetes' and DNS' left out
# (file and HTTP discovery are always in); no `builtinassets` (upstream's release embeds the web
# UI with it: the HTTP API needs no assets). promtool is built without tags (it checks any config).
PROMETHEUS_SERVER_TAGS=remove_all_sd,enable_kubernetes_sd,enable_dns_sd

ARTICLE_PIPELINE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
# Go caches shared with the project's other Go builds (kind node, Spark Operator, kube-router,
# kube-score); the module is checked against the checksum database (sum.golang.org, reached through
# the proxy) by `go mod download`, whatever the caller's environment says to skip.
export GOMODCACHE="${GOMODCACHE:-$ARTICLE_PIPELINE_CACHE/go/mod}"
export GOCACHE="${GOCACHE:-$ARTICLE_PIPELINE_CACHE/go/build}"
export GOPATH="$ARTICLE_PIPELINE_CACHE/go/path"
export GOTOOLCHAIN=local GOWORK=off
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOSUMDB="${GOSUMDB:-sum.golang.org}"
unset GONOSUMDB GONOSUMCHECK GOPRIVATE GOINSECURE
PROMETHEUS_CACHE="$ARTICLE_PIPELINE_CACHE/prometheus/$PROMETHEUS_VERSION"

# shellcheck source=images/go-build.sh
. "$(dirname "${BASH_SOURCE[0]}")/../go-build.sh"

# pm_log MSG: progress on stderr with seconds since the script started.
pm_log() { echo "[$(basename "$0") +$(( $(date +%s) - ${pm_t0:-$(date +%s)} ))s] $*" >&2; }

# prometheus_build LOG_FN CMD OUT [TAGS]: the static binary OUT of the pinned module's ./cmd/CMD
# (prometheus or promtool), built with the build tags TAGS (comma-separated; default none).
#   1. `go mod download` of the module (checked against the checksum database), then its two
#      go.sum lines against the pins above, and its VERSION file against PROMETHEUS_RELEASE;
#   2. go_build_stamped (images/go-build.sh) inside the module's directory: its own go.mod and
#      go.sum, -mod=readonly (no replace directive in v0.316.0), CGO off, -trimpath, the version
#      stamp upstream's promu sets (the module version stands in for the git revision, which a
#      module zip does not carry; no build user or date: the same inputs give the same bytes).
# Skipped when OUT was built from the same sums, Go version, architecture, tags and flags
# (FORCE=1: always). Go is `go` on PATH (else /usr/local/go/bin/go).
prometheus_build() {
  local log_fn="$1" cmd="$2" out="$3" tags="${4:-}" dir release ldflags stamp goarch
  local v=github.com/prometheus/common/version
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || { echo "prometheus build: Go is needed (go or /usr/local/go/bin/go)" >&2; return 2; }
  mkdir -p "${out%/*}"
  dir="$(go_module_verified "prometheus build" "$PROMETHEUS_MODULE" "$PROMETHEUS_VERSION" \
    "$PROMETHEUS_SUM" "$PROMETHEUS_GOMOD_SUM")" || return 1
  release="$(tr -d '[:space:]' <"$dir/VERSION")"
  [ "$release" = "$PROMETHEUS_RELEASE" ] || {
    echo "prometheus build: $PROMETHEUS_MODULE@$PROMETHEUS_VERSION is release $release, not $PROMETHEUS_RELEASE" >&2
    return 1
  }
  [ -f "$dir/cmd/$cmd/main.go" ] || { echo "prometheus build: no cmd/$cmd in $dir" >&2; return 1; }
  ldflags="-s -w -X $v.Version=$PROMETHEUS_RELEASE -X $v.Revision=$PROMETHEUS_VERSION -X $v.Branch=module"
  goarch="${GOARCH:-$(go env GOARCH)}"
  # The binary is a pure function of these: reuse it without asking Go when they match.
  stamp="$PROMETHEUS_SUM $PROMETHEUS_GOMOD_SUM $(go env GOVERSION) linux/$goarch cmd/$cmd tags=$tags $ldflags"
  go_build_stamped "$log_fn" "$out" "$stamp" "$dir" \
    -mod=readonly -modcacherw -buildvcs=false -trimpath -tags "$tags" -ldflags "$ldflags" "./cmd/$cmd"
}

#!/usr/bin/env bash
# scripts/lint/install-promtool.sh - build the pinned promtool (Prometheus 3.16.0, Go module
# github.com/prometheus/prometheus v0.316.0) from the Go module proxy into
# ~/.cache/article-pipeline/bin/promtool-v0.316.0 and print its path. The chart tier's rule tests
# (tests/chart/article-pipeline/test_article_pipeline_rules.py) run `promtool check rules` and
# `promtool test rules` with it.
#
# As scripts/lint/install-kube-score.sh: the module zip is checked twice, by `go mod download`
# against the checksum database (sum.golang.org, which Go reaches through the proxy) and by this
# script against the pinned go.sum hashes below; its dependencies against the module's own go.sum
# (`go install module@version` builds in module mode with -mod=readonly; the module has no replace
# directive). No build tags: promtool needs none (upstream's `netgo,builtinassets` only matter to the
# server's web UI and the resolver); CGO off gives the same pure-Go resolver. Idempotent: does
# nothing when the binary reports the pinned version. A cold build takes minutes (a large module
# graph: every service discovery); one build at a time.
set -euo pipefail
PROMETHEUS_MODULE="github.com/prometheus/prometheus"
PROMETHEUS_VERSION="v0.316.0"
# the release the module version stands for (the module's VERSION file; v0.3MM.P is 3.MM.P)
PROMETHEUS_RELEASE="3.16.0"
# go.sum lines of github.com/prometheus/prometheus v0.316.0 (`go mod download -json` prints them as
# Sum and GoModSum; the same as the checksum database's lookup of the module at that version).
PROMETHEUS_SUM="h1:f1GRFerhTMKQma+awCoC9T820ecWeGSdF+xAlMHzZzM="
PROMETHEUS_GOMOD_SUM="h1:nd2m0IehYLgxV4yAmoQDsvV45I9Xerh+uTUeCioEMis="

cache="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
bin="$cache/bin/promtool-$PROMETHEUS_VERSION"
stamp="^promtool, version $PROMETHEUS_RELEASE (branch: module, revision: $PROMETHEUS_VERSION)"
if "$bin" --version 2>/dev/null | grep "$stamp" >/dev/null; then
  echo "$bin"
  exit 0
fi

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || { echo "install-promtool: Go is needed (go or /usr/local/go/bin/go)" >&2; exit 1; }
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOPATH="$cache/go/path"
# the caller's GOFLAGS come after (e.g. GOFLAGS=-p=1 next to a busy CI run)
export GOFLAGS="-buildvcs=false -modcacherw${GOFLAGS:+ $GOFLAGS}" GOTOOLCHAIN=local
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOSUMDB="${GOSUMDB:-sum.golang.org}"
unset GONOSUMDB GONOSUMCHECK GOPRIVATE GOINSECURE
start=$(date +%s)
mkdir -p "$cache/locks"
# one build at a time (parallel test workers, make chart-lint next to make test)
exec 9>"$cache/locks/promtool-$PROMETHEUS_VERSION.lock"
flock 9
if "$bin" --version 2>/dev/null | grep "$stamp" >/dev/null; then
  echo "$bin"
  exit 0
fi

json="$("$GO" mod download -json "$PROMETHEUS_MODULE@$PROMETHEUS_VERSION")" || { echo "$json" >&2; exit 1; }
sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p' <<<"$json")"
gomod_sum="$(sed -n 's/^[[:space:]]*"GoModSum": "\(.*\)",*$/\1/p' <<<"$json")"
dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$json")"
if [ "$sum" != "$PROMETHEUS_SUM" ] || [ "$gomod_sum" != "$PROMETHEUS_GOMOD_SUM" ]; then
  echo "install-promtool: $PROMETHEUS_MODULE@$PROMETHEUS_VERSION sums $sum / $gomod_sum" \
    "differ from the pinned $PROMETHEUS_SUM / $PROMETHEUS_GOMOD_SUM" >&2
  exit 1
fi
release="$(tr -d '[:space:]' <"$dir/VERSION")"
[ "$release" = "$PROMETHEUS_RELEASE" ] || {
  echo "install-promtool: $PROMETHEUS_MODULE@$PROMETHEUS_VERSION is release $release, not $PROMETHEUS_RELEASE" >&2
  exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# the version stamp upstream's promu sets (github.com/prometheus/common/version); the module
# version stands in for the git revision, which a module zip does not carry
v="github.com/prometheus/common/version"
CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 "$GO" install -trimpath \
  -ldflags "-s -w -X $v.Version=$PROMETHEUS_RELEASE -X $v.Revision=$PROMETHEUS_VERSION -X $v.Branch=module" \
  "$PROMETHEUS_MODULE/cmd/promtool@$PROMETHEUS_VERSION" >&2
mkdir -p "${bin%/*}"
install -m 0755 "$tmp/promtool" "$bin.part"
mv -f "$bin.part" "$bin"
"$bin" --version | grep "$stamp" >/dev/null || {
  echo "install-promtool: $bin does not report $PROMETHEUS_RELEASE ($PROMETHEUS_VERSION)" >&2; exit 1; }
echo "install-promtool: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"

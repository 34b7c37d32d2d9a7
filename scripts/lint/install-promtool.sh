#!/usr/bin/env bash
# scripts/lint/install-promtool.sh - build the pinned promtool (Prometheus 3.16.0, Go module
# github.com/prometheus/prometheus v0.316.0) from the Go module proxy into
# ~/.cache/article-pipeline/bin/promtool-v0.316.0 and print its path. The chart tier's rule tests
# (tests/chart/article-pipeline/test_article_pipeline_rules.py) run `promtool check rules` and
# `promtool test rules` with it.
#
# The pins and the build are those of the kind loop's Prometheus server (images/prometheus/
# versions.sh, sourced here: one module version for both): the module zip is checked twice, by
# `go mod download` against the checksum database (sum.golang.org, which Go reaches through the
# proxy) and against the pinned go.sum lines; its dependencies against the module's own go.sum
# (-mod=readonly; the module has no replace directive). No build tags: promtool needs none
# (upstream's `netgo,builtinassets` only matter to the server's web UI and the resolver); CGO off
# gives the same pure-Go resolver. Idempotent: does nothing when the binary reports the pinned
# version (Go is not even needed then). A cold build takes minutes (a large module graph: every
# service discovery); one build at a time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/prometheus/versions.sh
. "$here/../../images/prometheus/versions.sh"

bin="$ARTICLE_PIPELINE_CACHE/bin/promtool-$PROMETHEUS_VERSION"
stamp="^promtool, version $PROMETHEUS_RELEASE (branch: module, revision: $PROMETHEUS_VERSION)"
if "$bin" --version 2>/dev/null | grep "$stamp" >/dev/null; then
  echo "$bin"
  exit 0
fi

# GO names the toolchain to use (default: go on PATH, else /usr/local/go/bin/go)
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || { echo "install-promtool: Go is needed (go or /usr/local/go/bin/go)" >&2; exit 1; }
PATH="$(dirname "$GO"):$PATH"
pm_t0=$(date +%s)
mkdir -p "$ARTICLE_PIPELINE_CACHE/locks"
# one build at a time (parallel test workers, make chart-lint next to make test)
exec 9>"$ARTICLE_PIPELINE_CACHE/locks/promtool-$PROMETHEUS_VERSION.lock"
flock 9
if "$bin" --version 2>/dev/null | grep "$stamp" >/dev/null; then
  echo "$bin"
  exit 0
fi

prometheus_build pm_log promtool "$bin"
"$bin" --version | grep "$stamp" >/dev/null || {
  echo "install-promtool: $bin does not report $PROMETHEUS_RELEASE ($PROMETHEUS_VERSION)" >&2; exit 1; }
echo "install-promtool: built $bin in $(( $(date +%s) - pm_t0 ))s" >&2
echo "$bin"

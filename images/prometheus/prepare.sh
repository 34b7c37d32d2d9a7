#!/usr/bin/env bash
# images/prometheus/prepare.sh - the build context of the Prometheus image
# ($PROMETHEUS_CACHE/context), run by scripts/build-image.sh before it decides whether to build:
#   1. the server: prometheus_build (versions.sh, shared with scripts/lint/install-promtool.sh)
#      downloads github.com/prometheus/prometheus@v0.316.0, checks it against the pinned go.sum
#      lines and its VERSION file, and builds cmd/prometheus statically (CGO off, -trimpath,
#      -mod=readonly, PROMETHEUS_SERVER_TAGS, version stamp); rebuilt only when its inputs
#      change (FORCE=1: always);
#   2. prometheus.yml, the default configuration (scrapes itself), next to it.
set -euo pipefail
pm_t0=$(date +%s)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/prometheus/versions.sh
. "$here/versions.sh"

ctx="$PROMETHEUS_CACHE/context"
mkdir -p "$ctx"
prometheus_build pm_log prometheus "$ctx/prometheus" "$PROMETHEUS_SERVER_TAGS"
if [ "${GOARCH:-$(go env GOARCH)}" = "$(go env GOHOSTARCH)" ]; then
  pm_log "binary: $("$ctx/prometheus" --version 2>&1 | head -n 1)"
fi
install -m 0644 "$here/prometheus.yml" "$ctx/prometheus.yml"
pm_log "build context ready in $ctx"

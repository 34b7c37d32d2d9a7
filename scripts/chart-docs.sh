#!/usr/bin/env bash
# Write the values table of every chart's README.md from its values.yaml `# --` comments, with
# helm-docs (pinned; built once from the Go module proxy into ~/.cache/article-pipeline/bin).
# Each chart's README.md.gotmpl holds the prose around the table. Fails when helm-docs warns
# (it skips a chart it cannot parse and still exits 0). That every value has a `# --` comment is
# checked by tests/chart (helm-docs' --documentation-strict-mode is broken in 1.14.2: it reports
# every key, norwoodj/helm-docs#228).
#
# Usage: scripts/chart-docs.sh [CHARTS_DIR]   (default: charts/ of this repository)
# tests/chart runs it on a copy of charts/ and fails when a committed README.md differs.
set -euo pipefail

HELM_DOCS_VERSION="1.14.2"   # github.com/norwoodj/helm-docs, latest release (2024-07)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHARTS_DIR="${1:-${ROOT}/charts}"

AP_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
# Go caches shared with the project's other Go builds (kind, the Spark Operator, the kind node).
export GOBIN="${AP_CACHE}/bin"
export GOMODCACHE="${GOMODCACHE:-${AP_CACHE}/go/mod}"
export GOCACHE="${GOCACHE:-${AP_CACHE}/go/build}"
export GOFLAGS="${GOFLAGS:--modcacherw}"
export PATH="${PATH}:/usr/local/go/bin"
HELM_DOCS="${GOBIN}/helm-docs"

# grep without -q: it reads all its input, so the writer never dies of SIGPIPE under pipefail
if ! "${HELM_DOCS}" --version 2>/dev/null | grep -x "helm-docs version ${HELM_DOCS_VERSION}" >/dev/null; then
  command -v go >/dev/null || { echo "chart-docs: Go is needed to build helm-docs" >&2; exit 1; }
  echo "chart-docs: go install github.com/norwoodj/helm-docs/cmd/helm-docs@v${HELM_DOCS_VERSION} (GOBIN=${GOBIN})" >&2
  mkdir -p "${GOBIN}"
  CGO_ENABLED=0 go install -trimpath -ldflags "-s -w -X main.version=${HELM_DOCS_VERSION}" \
    "github.com/norwoodj/helm-docs/cmd/helm-docs@v${HELM_DOCS_VERSION}"
fi

log="$("${HELM_DOCS}" \
  --chart-search-root "${CHARTS_DIR}" \
  --sort-values-order file \
  --log-level warning 2>&1)" || { echo "${log}" >&2; exit 1; }
if [ -n "${log}" ]; then
  echo "${log}" >&2
  echo "chart-docs: helm-docs warned (see above): README.md files may be stale" >&2
  exit 1
fi

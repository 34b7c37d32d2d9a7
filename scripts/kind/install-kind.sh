#!/usr/bin/env bash
# scripts/kind/install-kind.sh - build the pinned kind CLI from the Go module proxy
# (`go install sigs.k8s.io/kind@v0.30.0`, GOBIN in the article-pipeline cache) and print its
# path. Idempotent: does nothing when that kind already reports the pinned version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=images/kind-node/lib.sh
. "$repo/images/kind-node/lib.sh"
if ! "$GOBIN/kind" version 2>/dev/null | grep -q "^kind ${KIND_VERSION} "; then
  step "go install sigs.k8s.io/kind@${KIND_VERSION}" \
    env CGO_ENABLED=0 nice -n 10 go install -trimpath "sigs.k8s.io/kind@${KIND_VERSION}" >&2
fi
echo "$GOBIN/kind"

#!/usr/bin/env bash
# scripts/kind/load-image.sh IMAGE... - put each IMAGE into the kind node unless the node already
# holds that very image (same image ID), so repeated `make operator`/`make deploy` skip the
# multi-second save and load. Env: KIND_CLUSTER (article-pipeline), CONTAINER_ENGINE (default:
# scripts/container-engine.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/container-engine.sh
. "$here/../container-engine.sh"
engine="$(container_engine)" || exit
cluster="${KIND_CLUSTER:-article-pipeline}"
for image in "$@"; do
  id="$("$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null | sed 's/^sha256://')"
  [ -n "$id" ] || { echo "image $image not found in $engine" >&2; exit 1; }
  if "$engine" exec "$cluster-control-plane" crictl inspecti -o json "$image" 2>/dev/null | grep -q "sha256:$id"; then
    echo "$image already loaded into $cluster"
  else
    KIND_CLUSTER="$cluster" bash "$here/cluster.sh" load "$image"
  fi
done

#!/usr/bin/env bash
# scripts/kind/check-pids-limit.sh - warn (never fail) when the kind node container may run too
# few processes for Spark's JVMs (podman's default pids_limit of 2048), before `make deploy`.
# Env: KIND_CLUSTER (article-pipeline), CONTAINER_ENGINE (default: scripts/container-engine.sh).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/container-engine.sh
. "$here/../container-engine.sh"
engine="$(container_engine)" || exit
cluster="${KIND_CLUSTER:-article-pipeline}"
limit="$("$engine" inspect --format '{{.HostConfig.PidsLimit}}' "$cluster-control-plane" 2>/dev/null || echo 0)"
if [ "${limit:-0}" -gt 0 ] && [ "$limit" -lt 8192 ]; then
  echo "WARNING: the kind node container may run only $limit processes/threads (podman's default pids_limit)." >&2
  echo "  Spark's JVMs need more: the driver dies with 'unable to create native thread'." >&2
  echo "  Set pids_limit = 0 in containers.conf [containers] and recreate the cluster." >&2
fi
exit 0

#!/usr/bin/env bash
# scripts/kind/health.sh - port-forward the publisher Service to 127.0.0.1:PORT and GET /health
# until it answers 200 (30 s at most). Behind `make health`.
# Env: KUBECTL (kubectl), KUBE_CONTEXT (kind-article-pipeline), NAMESPACE and RELEASE
# (article-pipeline), HEALTH_PORT (18001).
set -euo pipefail
kubectl=("${KUBECTL:-kubectl}" --context "${KUBE_CONTEXT:-kind-article-pipeline}")
namespace="${NAMESPACE:-article-pipeline}"
release="${RELEASE:-article-pipeline}"
port="${HEALTH_PORT:-18001}"
"${kubectl[@]}" -n "$namespace" port-forward --address 127.0.0.1 "svc/$release-publisher" "$port:8000" >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null || true' EXIT
for _ in $(seq 1 30); do
  if curl -fsS --max-time 2 "http://127.0.0.1:$port/health"; then echo; exit 0; fi
  kill -0 "$pf" 2>/dev/null || { echo "port-forward exited" >&2; exit 1; }
  sleep 1
done
echo "publisher /health did not answer 200" >&2
exit 1

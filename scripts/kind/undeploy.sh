#!/usr/bin/env bash
# scripts/kind/undeploy.sh - the full reset behind `make undeploy`: uninstall the release
# (waiting for every object; an absent release is fine), delete its PVCs (kept ones too), then
# wait up to 5 minutes until none of its pods is left.
# Env: HELM (helm), KUBECTL (kubectl), KUBE_CONTEXT (kind-article-pipeline), NAMESPACE and
# RELEASE (article-pipeline).
set -euo pipefail
context="${KUBE_CONTEXT:-kind-article-pipeline}"
helm=("${HELM:-helm}" --kube-context "$context")
kubectl=("${KUBECTL:-kubectl}" --context "$context")
namespace="${NAMESPACE:-article-pipeline}"
release="${RELEASE:-article-pipeline}"
selector="app.kubernetes.io/instance=$release"
"${helm[@]}" uninstall "$release" --namespace "$namespace" --wait --timeout 5m ||
  echo "(helm uninstall failed or there was no release $release: going on)" >&2
"${kubectl[@]}" -n "$namespace" delete pvc -l "$selector" --ignore-not-found --wait
left=""
for _ in $(seq 1 150); do
  left="$("${kubectl[@]}" -n "$namespace" get pods -l "$selector" -o name)"
  [ -z "$left" ] && { echo "release $release removed: no pod, no PVC left"; exit 0; }
  sleep 2
done
echo "pods still there after 5 minutes: $left" >&2
exit 1

#!/usr/bin/env bash
# scripts/kind/prometheus.sh up|down - a Prometheus server on the kind cluster (behind `make
# prometheus` / `make prometheus-down`). `up` loads the image built from source
# (images/prometheus/, `make prometheus-image`), applies scripts/kind/prometheus/prometheus.yaml
# (namespace `monitoring`: the server, its config, a Role to discover the release's pods), copies
# the release's alert rules (the ConfigMap `<release>-alert-rules`, monitoring.rules.configMap.enabled)
# into it, restarts the server on the new rules and waits until it is ready. `down` deletes it all.
# Env: KUBECTL (kubectl), KUBE_CONTEXT (kind-article-pipeline), NAMESPACE and RELEASE
# (article-pipeline), KIND_CLUSTER, CONTAINER_ENGINE, PROMETHEUS_IMAGE
# (localhost/article-pipeline/prometheus:3.16.0).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kubectl=("${KUBECTL:-kubectl}" --context "${KUBE_CONTEXT:-kind-article-pipeline}")
namespace="${NAMESPACE:-article-pipeline}"
release="${RELEASE:-article-pipeline}"
image="${PROMETHEUS_IMAGE:-localhost/article-pipeline/prometheus:3.16.0}"
manifest() { sed -e "s|__APP_NAMESPACE__|$namespace|g" -e "s|__IMAGE__|$image|g" "$here/prometheus/prometheus.yaml"; }

case "${1:-}" in
  up)
    bash "$here/load-image.sh" "$image"
    "${kubectl[@]}" create namespace "$namespace" --dry-run=client -o yaml | "${kubectl[@]}" apply -f -
    rules="$(mktemp -d)"
    trap 'rm -rf "$rules"' EXIT
    # every key of the release's rules ConfigMap becomes a file the server loads (rule_files: *.yaml)
    if "${kubectl[@]}" -n "$namespace" get configmap "$release-alert-rules" -o json >"$rules/configmap.json" 2>/dev/null; then
      python3 - "$rules" <<'PY'
import json, pathlib, sys
folder = pathlib.Path(sys.argv[1])
for key, text in json.loads((folder / "configmap.json").read_text()).get("data", {}).items():
    (folder / "files").mkdir(exist_ok=True)
    (folder / "files" / key).write_text(text)
PY
      echo "prometheus: the alerts of $namespace/$release-alert-rules"
    else
      mkdir -p "$rules/files"
      echo "prometheus: no ConfigMap $namespace/$release-alert-rules (monitoring.rules.configMap.enabled): scraping without alerts"
    fi
    manifest | "${kubectl[@]}" apply -f -
    "${kubectl[@]}" -n monitoring create configmap prometheus-rules --from-file="$rules/files" \
      --dry-run=client -o yaml | "${kubectl[@]}" apply -f -
    # a new pod reads the rules and the config as they are now
    "${kubectl[@]}" -n monitoring rollout restart deployment/prometheus
    "${kubectl[@]}" -n monitoring rollout status deployment/prometheus --timeout=300s
    echo "prometheus: ready; its API: ${kubectl[*]} -n monitoring port-forward svc/prometheus 9090" \
      "then http://127.0.0.1:9090/api/v1/alerts"
    ;;
  down)
    manifest | "${kubectl[@]}" delete --ignore-not-found --wait=true -f -
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac

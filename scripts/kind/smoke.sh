#!/usr/bin/env bash
# scripts/kind/smoke.sh - prove a kind cluster made by `make kind-up` works: the node is
# Ready, CoreDNS and local-path-provisioner run, a PVC of storageClass "standard" binds and is
# written, a pod resolves kubernetes.default.svc, and a NodePort Service (30800) answers on the
# host at 127.0.0.1:18000 through kind's port mapping. Uses only the busybox helper image that
# the locally built node image preloads. Cleans up after itself (namespace kind-smoke).
# Env: KIND_CLUSTER (article-pipeline), KUBECTL (kubectl), SMOKE_HOST_PORT (18000).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=images/kind-node/lib.sh
. "$repo/images/kind-node/lib.sh"

CLUSTER="${KIND_CLUSTER:-article-pipeline}"
K=("${KUBECTL:-kubectl}" --context "kind-$CLUSTER")
NS=kind-smoke
HOST_PORT="${SMOKE_HOST_PORT:-18000}"
HELPER="localhost/article-pipeline/kind-helper:${BUSYBOX_DEB_VERSION#*:}"
HELPER="${HELPER//+/_}"

cleanup() { "${K[@]}" delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

node_ready() { "${K[@]}" wait --for=condition=Ready node --all --timeout=60s; }
system_pods() {
  "${K[@]}" -n kube-system rollout status deploy/coredns --timeout=120s
  "${K[@]}" -n local-path-storage rollout status deploy/local-path-provisioner --timeout=120s
  "${K[@]}" get pods -A -o wide
}

apply_workloads() {
  "${K[@]}" delete namespace "$NS" --ignore-not-found --wait --timeout=120s   # a previous run's
  "${K[@]}" create namespace "$NS" --dry-run=client -o yaml | "${K[@]}" apply -f -
  "${K[@]}" -n "$NS" apply -f - <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  storageClassName: standard
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  containers:
    - name: w
      image: $HELPER
      command: [sh, -c, 'echo smoke-ok > /data/file && cat /data/file']
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
---
# glibc's resolver (search list, ndots) from the Debian-based kube-proxy image of the node
# store: busybox-static cannot resolve names through it
apiVersion: v1
kind: Pod
metadata: {name: resolver}
spec:
  restartPolicy: Never
  containers:
    - name: r
      image: registry.k8s.io/kube-proxy:${K8S_VERSION}
      imagePullPolicy: Never
      command: [getent, hosts, kubernetes.default.svc]
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: smoke-web}}
spec:
  containers:
    - name: httpd
      image: $HELPER
      command: [sh, -c, 'mkdir -p /www && echo smoke-nodeport-ok > /www/index.html && exec httpd -f -p 8080 -h /www']
      ports: [{containerPort: 8080}]
      readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: smoke-web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30800}]
EOF
}

pvc_and_dns() {
  "${K[@]}" -n "$NS" wait --for=jsonpath='{.status.phase}'=Succeeded pod/writer --timeout=180s || {
    "${K[@]}" -n "$NS" describe pod writer; "${K[@]}" -n "$NS" logs writer || true; return 1; }
  "${K[@]}" -n "$NS" logs writer | grep -qx smoke-ok
  "${K[@]}" -n "$NS" get pvc data -o jsonpath='{.status.phase}{"\n"}' | grep -qx Bound
  echo "PVC data: Bound, written and read back"
  "${K[@]}" -n "$NS" wait --for=jsonpath='{.status.phase}'=Succeeded pod/resolver --timeout=60s || {
    "${K[@]}" -n "$NS" logs resolver || true; return 1; }
  "${K[@]}" -n "$NS" logs resolver | tee /dev/stderr | grep '^10\.96\.0\.1 .*kubernetes\.default\.svc' >/dev/null
}

nodeport() {
  "${K[@]}" -n "$NS" wait --for=condition=Ready pod/web --timeout=120s
  local _
  for _ in $(seq 1 30); do
    if curl -fsS -m 2 "http://127.0.0.1:${HOST_PORT}/" | grep -qx smoke-nodeport-ok; then
      echo "127.0.0.1:${HOST_PORT} -> NodePort 30800 answered"; return 0
    fi
    sleep 1
  done
  return 1
}

step "node Ready" node_ready
step "CoreDNS and local-path-provisioner running" system_pods
step "smoke workloads applied" apply_workloads
step "PVC (standard) bound and written; kubernetes.default.svc resolved" pvc_and_dns
step "NodePort reachable from the host" nodeport
log "smoke test passed"

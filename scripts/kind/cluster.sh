#!/usr/bin/env bash
# scripts/kind/cluster.sh - the kind cluster behind `make kind-up`, `make kind-load`,
# `make kind-down`, with one code path for two kinds of machine:
#   - Docker engine and an image registry reachable (laptop, GitHub Actions): kind's docker
#     provider and the stock kindest/node image of kind v0.30.0, pinned by digest;
#   - otherwise (these VMs): kind's podman provider and a node image built here from source
#     by `scripts/build-image.sh kind-node` (images/kind-node/; cached: seconds when it exists).
# NetworkPolicy is enforced on both: by kindnetd on the stock node; on the local node, whose CNI
# enforces nothing, `up` installs kube-router as a firewall-only DaemonSet (images/kube-router-np/).
# Usage: cluster.sh up | image | load IMAGE... | down      (env: KIND_CLUSTER, KIND_CONFIG, KUBECTL,
#        KIND_NODE_IMAGE to force a node image, KIND_WAIT seconds for node Ready and rollouts)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=images/kind-node/lib.sh
. "$repo/images/kind-node/lib.sh"

# kindest/node for Kubernetes 1.34 as named by kind v0.30.0 (pkg/apis/config/defaults/image.go)
STOCK_NODE_IMAGE="kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
CLUSTER="${KIND_CLUSTER:-article-pipeline}"
CONFIG="${KIND_CONFIG:-kind-config.yaml}"
KUBECTL="${KUBECTL:-kubectl}"
WAIT="${KIND_WAIT:-180}"

# shellcheck source=scripts/container-engine.sh
. "$repo/scripts/container-engine.sh"
if [ -z "${KIND_EXPERIMENTAL_PROVIDER:-}" ]; then
  # no engine: say how to get one before kind or the node image is compiled
  KIND_EXPERIMENTAL_PROVIDER="$(CONTAINER_ENGINE="" container_engine)" || exit
  export KIND_EXPERIMENTAL_PROVIDER
fi
ENGINE="$KIND_EXPERIMENTAL_PROVIDER"

registry_reachable() {
  # any HTTP answer (401 included) from Docker Hub's registry API means it is reachable
  curl -sS -o /dev/null -m 5 https://registry-1.docker.io/v2/ 2>/dev/null
}

cluster_exists() { "$KIND" get clusters 2>/dev/null | grep -x "$CLUSTER" >/dev/null; }  # no -q: no SIGPIPE

# node_image: print the node image this machine uses, building it first when it is the local one
node_image() {
  if [ -n "${KIND_NODE_IMAGE:-}" ]; then
    echo "$KIND_NODE_IMAGE"
  elif [ "$ENGINE" = docker ] && registry_reachable; then
    echo "$STOCK_NODE_IMAGE"
  else
    # `|| return`: errexit does not reach into the command substitution that calls this
    step "node image $NODE_IMAGE" bash "$repo/scripts/build-image.sh" kind-node >&2 || return
    echo "$NODE_IMAGE"
  fi
}

up() {
  local t0 image
  t0=$(date +%s)
  KIND="$("$here/install-kind.sh")"
  # kind's podman provider bind-mounts /lib/modules, which this kind of VM does not have
  if [ "$ENGINE" = podman ] && [ ! -d /lib/modules ]; then
    log "creating empty /lib/modules (bind-mounted by kind's podman provider)"
    mkdir -p /lib/modules
  fi
  image="$(node_image)"
  log "provider $ENGINE, node image $image"
  if cluster_exists; then
    log "kind cluster $CLUSTER already exists"
    # after a reboot of the host the node container exists but is stopped
    local stopped
    stopped="$("$ENGINE" ps -a --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --filter status=exited --format '{{.Names}}')"
    if [ -n "$stopped" ]; then
      # shellcheck disable=SC2086 # one name per word
      step "start stopped node containers: $stopped" "$ENGINE" start $stopped
    fi
  else
    step "kind create cluster $CLUSTER" \
      "$KIND" create cluster --name "$CLUSTER" --config "$CONFIG" --image "$image" --wait "${WAIT}s"
  fi
  step "node Ready" "$KUBECTL" --context "kind-$CLUSTER" wait --for=condition=Ready node --all --timeout "${WAIT}s"
  netpol
  "$KUBECTL" --context "kind-$CLUSTER" get nodes -o wide
  log "kind-up done in $(( $(date +%s) - t0 ))s"
}

# netpol: make the cluster enforce NetworkPolicy. kind v0.30.0's kindnetd (stock kindest/node)
# enforces it itself; elsewhere build, load and roll out kube-router's DaemonSet (each step a
# no-op when already done, so `up` on an existing cluster only checks).
netpol() {
  local kubectl=("$KUBECTL" --context "kind-$CLUSTER") built image
  if "${kubectl[@]}" -n kube-system get daemonset kindnet >/dev/null 2>&1; then
    log "NetworkPolicy: kindnetd enforces it on this node image; kube-router not installed"
    return
  fi
  built="$(step "kube-router image" env CONTAINER_ENGINE="$ENGINE" \
    bash "$repo/scripts/build-image.sh" kube-router-np)" || return
  image="$(sed -n 's/^image=\([^ ]*\) .*/\1/p' <<<"$built")"
  step "load $image" env KIND_CLUSTER="$CLUSTER" CONTAINER_ENGINE="$ENGINE" \
    bash "$here/load-image.sh" "$image" >&2
  step "apply kube-router-np" "${kubectl[@]}" apply -f "$repo/images/kube-router-np/daemonset.yaml" >&2
  step "kube-router-np rollout" "${kubectl[@]}" -n kube-system rollout status daemonset/kube-router-np \
    --timeout "${WAIT}s" >&2
}

load() {
  [ "$#" -gt 0 ] || { echo "cluster.sh load: no images given" >&2; exit 2; }
  KIND="$("$here/install-kind.sh")"
  local img tmp
  if [ "$ENGINE" = docker ]; then
    step "kind load docker-image $*" "$KIND" load docker-image --name "$CLUSTER" "$@"
    return
  fi
  # `kind load docker-image` shells out to docker: save with podman, load the archive
  tmp="$(mktemp -d /var/tmp/kind-load.XXXXXX)"
  # the path is expanded now: the trap runs at exit, where this function's locals are gone
  trap 'rm -rf "'"$tmp"'"' EXIT
  for img in "$@"; do
    step "podman save $img" podman save -q --format docker-archive -o "$tmp/image.tar" "$img"
    step "kind load image-archive ($img)" "$KIND" load image-archive --name "$CLUSTER" "$tmp/image.tar"
    rm -f "$tmp/image.tar"
  done
}

down() {
  KIND="$("$here/install-kind.sh")"
  step "kind delete cluster $CLUSTER" "$KIND" delete cluster --name "$CLUSTER"
  local left
  left="$("$ENGINE" ps -a --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --format '{{.Names}}')"
  if [ -n "$left" ]; then
    echo "cluster.sh down: containers left behind: $left" >&2; exit 1
  fi
  log "no container of $CLUSTER left"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up) up ;;
  image) "$here/install-kind.sh" >/dev/null && node_image ;;
  load) load "$@" ;;
  down) down ;;
  *) echo "usage: $0 up | image | load IMAGE... | down" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# scripts/kind/cluster.sh - the kind cluster behind `make kind-up`, `make kind-load`,
# `make kind-down`, with one code path for two kinds of machine:
#   - Docker engine and an image registry reachable (laptop, GitHub Actions): kind's docker
#     provider and the stock kindest/node image of kind v0.30.0, pinned by digest;
#   - otherwise (these VMs): kind's podman provider and a node image built here from source
#     by `scripts/build-image.sh kind-node` (images/kind-node/; cached: seconds when it exists).
# The cluster (kind-config.yaml) has a control plane and two workers and the same pod network on
# both images: kind's default CNI off, each node's containerd renders its CNI config from
# scripts/kind/cni/, `up` adds the routes between nodes and the masquerade (pod-network.sh) and
# installs kube-router as a firewall-only DaemonSet for NetworkPolicy (images/kube-router-np/);
# where the engine's network has no DNS for container names (podman here), node-hosts.sh gives
# the nodes each other's names.
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

# kind_create IMAGE: kind create cluster, run from the repository root: kind resolves the
# config's relative extraMounts hostPaths (scripts/kind/cni) against its working directory, and
# CONFIG (relative to the caller's) is made absolute first
kind_create() {
  local config
  config="$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")"
  cd "$repo"
  # workers join through the control plane's name, which podman's network may not resolve
  KIND_CLUSTER="$CLUSTER" KIND_EXPERIMENTAL_PROVIDER="$ENGINE" bash "$here/node-hosts.sh" --watch &
  local watcher=$! rc=0
  "$KIND" create cluster --name "$CLUSTER" --config "$config" --image "$1" --wait "${WAIT}s" || rc=$?
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  return "$rc"
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
      step "start stopped node containers: ${stopped//$'\n'/ }" "$ENGINE" start $stopped
    fi
  else
    step "kind create cluster $CLUSTER" kind_create "$image"
  fi
  # every time, before anything talks to the API server: addresses change when nodes restart
  step "node names" env KIND_CLUSTER="$CLUSTER" KIND_EXPERIMENTAL_PROVIDER="$ENGINE" \
    bash "$here/node-hosts.sh"
  step "node Ready" nodes_ready
  # every time: routes and rules are lost when a node container stops
  step "pod network" env KIND_CLUSTER="$CLUSTER" KUBECTL="$KUBECTL" KIND_WAIT="$WAIT" \
    KIND_EXPERIMENTAL_PROVIDER="$ENGINE" bash "$here/pod-network.sh"
  netpol
  "$KUBECTL" --context "kind-$CLUSTER" get nodes -o wide
  log "kind-up done in $(( $(date +%s) - t0 ))s"
}

# nodes_ready: every node Ready by a status its kubelet posted since its node container last
# started: after a restart (of the host, or `$ENGINE stop/start`) the Node objects keep showing
# the Ready of before until kubelet reports again or the node controller gives up on it (40 s).
# A container's start is PID 1's, read inside the node (same kernel clock as the API server's).
nodes_ready() {
  local kubectl=("$KUBECTL" --context "kind-$CLUSTER") name ready beat out stale deadline
  local -A started=() status=()
  for name in $("$ENGINE" ps --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --format '{{.Names}}'); do
    # shellcheck disable=SC2016 # expanded by the node's sh
    started[$name]="$("$ENGINE" exec "$name" sh -c 'b=$(awk "/^btime/ { print \$2 }" /proc/stat)
      t=$(cut -d" " -f22 /proc/1/stat); date -u -d "@$((b + t / $(getconf CLK_TCK)))" +%Y-%m-%dT%H:%M:%SZ')" ||
      { echo "node container $name does not answer (not running?)" >&2; return 1; }
  done
  [ "${#started[@]}" -gt 0 ] || { echo "no node container of $CLUSTER" >&2; return 1; }
  deadline=$(( $(date +%s) + WAIT ))
  while :; do
    out="$("${kubectl[@]}" get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\n"}{end}' 2>/dev/null)" || out=""
    status=()
    while read -r name ready beat; do
      # RFC 3339 times in UTC, to the second: they sort as strings
      if [ "$ready" = True ] && [ -n "${started[$name]:-}" ] && [[ ! "$beat" < "${started[$name]}" ]]; then
        status[$name]=ok
      fi
    done <<<"$out"
    stale=""
    for name in "${!started[@]}"; do [ "${status[$name]:-}" = ok ] || stale="$stale $name"; done
    if [ -z "$stale" ]; then echo "nodes Ready: ${!started[*]}"; return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "nodes not Ready since their container started (after ${WAIT}s):$stale" >&2; return 1
    fi
    sleep 2
  done
}

# netpol: make the cluster enforce NetworkPolicy: build, load and roll out kube-router's DaemonSet
# on every node (each step a no-op when already done, so `up` on an existing cluster only checks).
# kind-config.yaml turns kind's default CNI off; a config that keeps it on the stock kindest/node
# gets kindnetd, which enforces NetworkPolicy itself: nothing is installed then.
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

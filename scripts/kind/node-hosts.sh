#!/usr/bin/env bash
# scripts/kind/node-hosts.sh [--watch] - make every node of a kind cluster resolve the names of the
# other nodes, in particular `<cluster>-control-plane`, the API server's address in every worker's
# kubeadm join, kubelet and kube-proxy kubeconfig.
#
# Why: kind's nodes find each other by container name through the container network's DNS.
# Docker's user networks have it; podman's have it only with a DNS plugin (aardvark-dns under
# netavark, dnsname under CNI), and these VMs run podman 4.3 with CNI and no dnsname: a worker's
# `kubeadm join` then fails after 5 minutes with "lookup <cluster>-control-plane ... no such host".
# So each node whose DNS does not give a peer's current address gets a line for that peer in its
# /etc/hosts (the engine's own file, bind-mounted, rewritten in place), marked `# node-hosts.sh`;
# marked lines are kept up to date with the nodes' addresses (they can change when a node
# container restarts). Where the network's DNS already answers (docker), nothing is written.
#
#   node-hosts.sh            once, for the running node containers of the cluster
#   node-hosts.sh --watch    again whenever the set of running nodes or their addresses change,
#                            until killed: `cluster.sh up` runs it beside `kind create cluster`,
#                            whose joins need the names while the nodes come up
# Env: KIND_CLUSTER (article-pipeline), KIND_EXPERIMENTAL_PROVIDER or CONTAINER_ENGINE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/container-engine.sh
. "$here/../container-engine.sh"

CLUSTER="${KIND_CLUSTER:-article-pipeline}"
ENGINE="${KIND_EXPERIMENTAL_PROVIDER:-}"
[ -n "$ENGINE" ] || ENGINE="$(container_engine)" || exit

# nodes: "NAME IPV4" per running node container of the cluster, sorted
nodes() {
  local name ip
  "$ENGINE" ps --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --filter status=running \
    --format '{{.Names}}' | sort | while read -r name; do
    ip="$("$ENGINE" inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$name" |
      awk '{ print $1 }')" || continue
    [ -z "$ip" ] || echo "$name $ip"
  done
}

# Run inside each node (sh): NAME IP pairs of every node. Prints the changes, nothing otherwise.
# shellcheck disable=SC2016 # expanded by the node's sh
NODE_SCRIPT='
set -eu
mark="# node-hosts.sh"
self=$(hostname)
want=""
while [ $# -ge 2 ]; do
  name=$1; ip=$2; shift 2
  [ "$name" != "$self" ] || continue
  if ! grep -q " $name $mark\$" /etc/hosts; then
    # no line of ours: needed only when DNS does not give the address
    if timeout 5 getent ahostsv4 "$name" 2>/dev/null | grep -q "^$ip "; then continue; fi
  fi
  want="$want$ip $name $mark
"
done
have=$(grep -F "$mark" /etc/hosts || true)
if [ "$have" != "${want%?}" ]; then
  tmp=$(mktemp)
  { grep -vF "$mark" /etc/hosts || true; printf "%s" "$want"; } >"$tmp"
  cat "$tmp" >/etc/hosts   # in place: /etc/hosts is a bind mount, a rename would fail
  rm -f "$tmp"
  if [ -n "$want" ]; then printf "%s" "$want" | sed "s/ $mark\$//; s/^/ /" | tr "\n" ";"
  else echo " no line needed, old ones removed"; fi
fi
'

# sync NODES: bring every listed node's /etc/hosts in line; one log line per node changed
sync_nodes() {
  local list="$1" name ip out rc=0
  local -a pairs=()
  while read -r name ip; do pairs+=("$name" "$ip"); done <<<"$list"
  while read -r name ip; do
    if out="$("$ENGINE" exec -i "$name" sh -s -- "${pairs[@]}" <<<"$NODE_SCRIPT" 2>&1)"; then
      [ -z "$out" ] || echo "node-hosts: $name:$out" >&2
    else
      echo "node-hosts: $name: failed: $out" >&2; rc=1
    fi
  done <<<"$list"
  return "$rc"
}

if [ "${1:-}" = --watch ]; then
  # SIGTERM ends the loop between two commands, never in the middle of a node's update
  last="" stop=""
  trap 'stop=1' TERM
  while [ -z "$stop" ]; do
    now="$(nodes 2>/dev/null || true)"
    if [ -n "$now" ] && [ "$now" != "$last" ] && sync_nodes "$now"; then last="$now"; fi
    [ -n "$stop" ] || sleep 2
  done
  exit 0
fi
list="$(nodes)"
[ -n "$list" ] || { echo "node-hosts: no running node container of kind cluster $CLUSTER" >&2; exit 1; }
sync_nodes "$list"

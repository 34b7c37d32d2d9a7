#!/usr/bin/env bash
# scripts/kind/pod-network.sh - the part of a multi-node kind cluster's pod network that the CNI
# config (scripts/kind/cni/pod-network.conflist.tmpl: ptp + host-local over the node's own pod
# CIDR) does not do, what kindnetd does on kind's stock setup. On every node:
#   - a route to each other node's pod CIDR (Node .spec.podCIDR) via that node's address on
#     kind's network (its eth0: the address kubelet reports as InternalIP, read from the node
#     container itself so that it is the current one right after a restart); routes into the
#     cluster's pod subnet via a node that no longer has that CIDR are deleted;
#   - one nat POSTROUTING rule: masquerade what pods send outside the pod subnet (the API server,
#     other nodes, the internet), never pod-to-pod traffic, whose pod source address
#     NetworkPolicy peers (kube-router, images/kube-router-np/) match;
#   - net.ipv4.ip_forward on.
# Written with the node's own `ip` and `iptables`, run through `$ENGINE exec` (podman or docker):
# `iptables` there is the backend (legacy or nft) the node's entrypoint chose at boot, the one
# kubelet and kube-proxy (images/kind-node/iptables-mode.sh) use. Idempotent: prints one line
# per node, "no change" when all was in place. Routes and rules live in the node container's
# network namespace and are gone after `$ENGINE stop/start`: `cluster.sh up` runs this every time.
# Env: KIND_CLUSTER (article-pipeline), KUBECTL (kubectl), KIND_WAIT (180: seconds to wait for the
# API server and every node's pod CIDR), KIND_EXPERIMENTAL_PROVIDER or CONTAINER_ENGINE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/container-engine.sh
. "$here/../container-engine.sh"

CLUSTER="${KIND_CLUSTER:-article-pipeline}"
K=("${KUBECTL:-kubectl}" --context "kind-$CLUSTER")
WAIT="${KIND_WAIT:-180}"
ENGINE="${KIND_EXPERIMENTAL_PROVIDER:-}"
[ -n "$ENGINE" ] || ENGINE="$(container_engine)" || exit

say() { echo "pod-network: $*" >&2; }

# until_ok SECONDS CMD...: run CMD every 2 s until it succeeds (its stdout printed) or time is up
until_ok() {
  local deadline=$(( $(date +%s) + $1 )) out; shift
  while :; do
    if out="$("$@" 2>/dev/null)" && [ -n "$out" ]; then printf '%s\n' "$out"; return 0; fi
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 2
  done
}

# node_cidrs: "NAME PODCIDR" per node, only when every node has its pod CIDR
node_cidrs() {
  local out
  out="$("${K[@]}" get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR}{"\n"}{end}')" || return
  awk 'NF != 2 { bad = 1 } END { exit bad }' <<<"$out" || return
  printf '%s\n' "$out"
}

# pod_subnet: the cluster's pod subnet (kubeadm's networking.podSubnet, kind's 10.244.0.0/16)
pod_subnet() {
  "${K[@]}" -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' |
    sed -n 's/^ *podSubnet: *\([0-9.]*\/[0-9]*\).*/\1/p' | head -n 1
}

# node_ip NODE: the node container's IPv4 address on kind's network
node_ip() {
  "$ENGINE" exec "$1" ip -4 -o addr show dev eth0 scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}

# Run inside each node (sh): $1 the pod subnet, then CIDR VIA pairs for the other nodes.
# shellcheck disable=SC2016 # expanded by the node's sh
NODE_SCRIPT='
set -eu
subnet=$1; shift
changes=""
want=" "
while [ $# -ge 2 ]; do
  cidr=$1; via=$2; shift 2
  want="$want$cidr "
  case " $(ip -4 route show exact "$cidr") " in
    *" via $via "*) ;;
    *) ip -4 route replace "$cidr" via "$via"; changes="$changes route $cidr via $via;" ;;
  esac
done
changes="$changes$(ip -4 route show root "$subnet" | while read -r dst rest; do
  case "$rest" in *via*) ;; *) continue ;; esac
  case "$want" in *" $dst "*) ;; *) ip -4 route del "$dst" && printf " deleted route %s %s;" "$dst" "$rest" ;; esac
done)"
masq() {
  iptables -w -t nat "$1" POSTROUTING -s "$subnet" ! -d "$subnet" \
    -m comment --comment "pod-network.sh: masquerade pod traffic leaving the pod network" -j MASQUERADE
}
if ! masq -C 2>/dev/null; then masq -A; changes="$changes masquerade -s $subnet ! -d $subnet;"; fi
if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]; then
  echo 1 >/proc/sys/net/ipv4/ip_forward; changes="$changes ip_forward on;"
fi
echo "${changes:- no change}"
'

main() {
  local cidrs subnet name cidr ip line peers
  if "${K[@]}" -n kube-system get daemonset kindnet >/dev/null 2>&1; then
    say "kindnetd runs on this cluster and does this itself: nothing to do"
    return 0
  fi
  cidrs="$(until_ok "$WAIT" node_cidrs)" || { say "not every node of kind-$CLUSTER has a pod CIDR after ${WAIT}s"; return 1; }
  subnet="$(until_ok "$WAIT" pod_subnet)" || { say "no podSubnet in kube-system/kubeadm-config"; return 1; }
  declare -A ips=()
  while read -r name cidr; do
    ip="$(node_ip "$name" </dev/null)"
    [ -n "$ip" ] || { say "node $name: no IPv4 address on eth0"; return 1; }
    ips[$name]="$ip"
  done <<<"$cidrs"
  while read -r name cidr; do
    peers=()
    while read -r line; do
      # shellcheck disable=SC2086 # "NAME CIDR": two words
      set -- $line
      [ "$1" = "$name" ] || peers+=("$2" "${ips[$1]}")
    done <<<"$cidrs"
    say "$name (${ips[$name]}, pods $cidr):$("$ENGINE" exec -i "$name" sh -s -- "$subnet" "${peers[@]}" <<<"$NODE_SCRIPT")"
  done <<<"$cidrs"
}

main "$@"

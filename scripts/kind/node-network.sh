#!/usr/bin/env bash
# scripts/kind/node-network.sh - print the IPv4 subnet of the container network the kind node sits
# on (`kind`, e.g. 10.89.0.0/24 under podman, 172.18.0.0/16 under docker), one line, nothing else.
#
# Why: the host reaches the release's NodePorts (kind-config.yaml: 127.0.0.1:18000 publisher,
# 127.0.0.1:14566 LocalStack) through the engine's port mapping, so the packets arrive at the node
# from that network's gateway address, and the chart's default-deny NetworkPolicies drop them unless
# an allow names that network. `make deploy` passes it as a host peer:
#
#   --set "networkPolicy.ingressFrom[0].ipBlock.cidr=$(bash scripts/kind/node-network.sh)"
#
# The engine is chosen like every other script here (scripts/container-engine.sh; CONTAINER_ENGINE
# or KIND_EXPERIMENTAL_PROVIDER picks one). Env: KIND_NETWORK (default `kind`, kind's own name for
# it). Fails (exit 1, a line on stderr) when the network does not exist or has no IPv4 subnet.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/container-engine.sh
. "$here/../container-engine.sh"

network="${KIND_NETWORK:-kind}"
engine="${KIND_EXPERIMENTAL_PROVIDER:-}"
[ -n "$engine" ] || engine="$(container_engine)"

case "$engine" in
  podman) format='{{range .Subnets}}{{.Subnet}}{{"\n"}}{{end}}' ;;
  docker) format='{{range .IPAM.Config}}{{.Subnet}}{{"\n"}}{{end}}' ;;
  *) echo "node-network.sh: unknown container engine '$engine' (docker or podman)" >&2; exit 1 ;;
esac

if ! subnets="$("$engine" network inspect "$network" --format "$format" 2>/dev/null)"; then
  echo "node-network.sh: $engine has no network '$network' (is the kind cluster up? \`make kind-up\`)" >&2
  exit 1
fi
# kind's network is dual-stack; the host's port mapping (127.0.0.1) arrives over IPv4
subnet="$(printf '%s\n' "$subnets" | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$' | head -n 1 || true)"
if [ -z "$subnet" ]; then
  echo "node-network.sh: network '$network' of $engine has no IPv4 subnet (found: ${subnets:-none})" >&2
  exit 1
fi
echo "$subnet"

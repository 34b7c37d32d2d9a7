#!/bin/sh
# images/kind-node/iptables-mode.sh - installed in the kube-proxy image as iptables,
# iptables-save, iptables-restore (and ip6tables-*). kube-proxy must write its rules with the
# same backend (legacy or nft) as the node, whose entrypoint picks one at boot. On the first
# call this looks at what the node uses (kubelet's KUBE-IPTABLES-HINT / KUBE-KUBELET-CANARY
# chains, else whichever backend holds more rules, ties going to legacy as kind's entrypoint
# does), remembers the answer, and from then on execs the matching Debian binary.
set -eu
state=/run/iptables-mode
if [ ! -s "$state" ]; then
  mode=""
  for m in legacy nft; do
    if "iptables-$m-save" -t mangle 2>/dev/null | grep -qE '^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)'; then
      mode=$m; break
    fi
  done
  if [ -z "$mode" ]; then
    l=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
    n=$( (iptables-nft-save; ip6tables-nft-save) 2>/dev/null | grep -c '^-' || true)
    if [ "$l" -ge "$n" ]; then mode=legacy; else mode=nft; fi
  fi
  mkdir -p /run && echo "$mode" >"$state.$$" && mv "$state.$$" "$state"
fi
mode=$(cat "$state")
tool=$(basename "$0")
case "$tool" in
  iptables|ip6tables) exec "/usr/sbin/$tool-$mode" "$@" ;;
  *-save|*-restore)  exec "/usr/sbin/${tool%-*}-$mode-${tool##*-}" "$@" ;;
  *) echo "iptables-mode: unexpected name $tool" >&2; exit 2 ;;
esac

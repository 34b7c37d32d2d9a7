#!/bin/sh
# kube-router-np-cleanup - remove what kube-router's firewall controller left on this node: the
# jumps it put at the top of INPUT/FORWARD/OUTPUT, its KUBE-ROUTER-*, KUBE-POD-FW-* and
# KUBE-NWPLCY-* chains, and its KUBE-SRC-*/KUBE-DST-* ipsets. Stands in for
# `kube-router --cleanup-config`, which in v2.1.0 removes nothing (its netpol cleanup has no
# iptables handlers) and then panics in the service-proxy cleanup. Idempotent.
set -eu
ours='^(KUBE-ROUTER-|KUBE-POD-FW-|KUBE-NWPLCY-)'
for ipt in iptables ip6tables; do
  "$ipt" -w -t filter -S >/dev/null 2>&1 || continue
  for chain in INPUT FORWARD OUTPUT; do
    "$ipt" -w -t filter -S "$chain" | grep -- '--comment "kube-router netpol' | sed 's/^-A /-D /' |
      while read -r rule; do eval "$ipt -w -t filter $rule"; done
  done
  chains=$("$ipt" -w -t filter -S | sed -n 's/^-N //p' | grep -E "$ours" || true)
  for c in $chains; do "$ipt" -w -t filter -F "$c"; done
  for c in $chains; do "$ipt" -w -t filter -X "$c"; done
  echo "$ipt: removed $(echo "$chains" | grep -c . || true) chains"
done
sets=$(ipset list -n | grep -E '^(inet6:)?KUBE-(SRC|DST)-' || true)
for s in $sets; do ipset destroy "$s"; done
echo "ipset: destroyed $(echo "$sets" | grep -c . || true) sets"

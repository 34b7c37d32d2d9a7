# shellcheck shell=bash disable=SC2034,SC2154  # sourced by scripts/build-image.sh, which sets dir, repo, cache
# kube-router (NetworkPolicy enforcer only) from its Go module with bumped dependencies, as
# scripts/build-image.sh builds it: prepare.sh puts the static binary, iptables-mode.sh and
# cleanup.sh into the build context; the Dockerfile adds Debian bookworm's iptables and ipset.
# shellcheck source=images/kube-router-np/versions.sh
. "$dir/versions.sh"
tag="$KUBE_ROUTER_VERSION"
context="$KUBE_ROUTER_CACHE/context"
build_args=("KUBE_ROUTER_VERSION=$KUBE_ROUTER_VERSION")
inputs=(Dockerfile "$context/kube-router" "$context/iptables-mode.sh" "$context/cleanup.sh")
prepare() { bash "$dir/prepare.sh"; }

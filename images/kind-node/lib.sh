# images/kind-node/lib.sh - shared settings for the kind node-image build (sourced, not run).
# Pins every version the node image is made of and puts every cache outside the clone,
# under ${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline/, so a clean clone reuses them.
# shellcheck shell=bash disable=SC2034  # sourced; the variables are used by the scripts

# --- pinned versions -------------------------------------------------------------------
KIND_VERSION="v0.30.0"                 # last kind release whose base image is bookworm
K8S_VERSION="v1.34.4"                  # latest v1.34 patch on the Go module proxy (go list -m -versions)
K8S_STAGING_VERSION="v0.34.4"          # published staging modules matching K8S_VERSION
ETCD_VERSION="v3.6.5"                  # go.etcd.io/etcd/server/v3; kubeadm 1.34.4 asks for etcd:3.6.5-0
ETCD_IMAGE_TAG="3.6.5-0"
COREDNS_VERSION="v1.12.1"              # kubeadm 1.34.4 constants.CoreDNSVersion
PAUSE_IMAGE_TAG="3.10.1"               # kubeadm 1.34.4 constants.PauseVersion
KIND_SANDBOX_PAUSE_TAG="3.10"          # sandbox_image in kind v0.30.0's containerd config.toml
CONTAINERD_VERSION="v2.1.4"            # github.com/containerd/containerd/v2, as kind v0.30.0's base
RUNC_VERSION="v1.3.0"                  # github.com/opencontainers/runc, as kind v0.30.0's base
CRI_TOOLS_VERSION="v1.34.0"            # sigs.k8s.io/cri-tools (crictl), matches Kubernetes 1.34
CNI_PLUGINS_VERSION="v1.7.1"           # containernetworking/plugins, as kind v0.30.0's base
LOCAL_PATH_VERSION="v0.0.30"           # rancher/local-path-provisioner, what kind v0.30.0 builds
BUSYBOX_DEB_VERSION="1:1.35.0-4+deb12u1+b1"  # Debian bookworm busybox-static (local-path helper)
# Debian bookworm packages added to kind's own package list for the node base
NODE_APT_PACKAGES="systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2 pigz fuse-overlayfs nfs-common open-iscsi bash ca-certificates curl jq procps"
GO_BIN="${GO_BIN:-/usr/local/go/bin/go}"

# --- names -----------------------------------------------------------------------------
NODE_IMAGE="${NODE_IMAGE:-localhost/article-pipeline/kind-node:${K8S_VERSION}}"
BASE_IMAGE="${NODE_BASE_IMAGE:-localhost/article-pipeline/base:bookworm}"

# --- caches ----------------------------------------------------------------------------
ARTICLE_PIPELINE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
KIND_NODE_CACHE="${ARTICLE_PIPELINE_CACHE}/kind-node"
export GOMODCACHE="${ARTICLE_PIPELINE_CACHE}/go/mod"
export GOCACHE="${ARTICLE_PIPELINE_CACHE}/go/build"
export GOBIN="${ARTICLE_PIPELINE_CACHE}/bin"
export GOPATH="${ARTICLE_PIPELINE_CACHE}/go/path"
export GOFLAGS="-buildvcs=false"
export GOTOOLCHAIN=local
PATH="${GOBIN}:${GO_BIN%/*}:${PATH}"
export PATH
mkdir -p "$GOMODCACHE" "$GOCACHE" "$GOBIN" "$GOPATH" "$KIND_NODE_CACHE"

# --- logging with per-step timings -----------------------------------------------------
_kn_t0=$(date +%s)
log() { printf '[kind-node %s +%ss] %s\n' "$(date -u +%H:%M:%S)" "$(( $(date +%s) - _kn_t0 ))" "$*" >&2; }
# step NAME CMD...: run CMD (a command or a function, in a subshell with errexit in force),
# print how long it took, return its status.
step() {
  local name="$1" s rc errexit=0; shift
  [[ $- == *e* ]] && errexit=1
  s=$(date +%s); log "$name: start"
  set +e
  ( set -e; "$@" )
  rc=$?
  ((errexit)) && set -e
  local what="done"
  ((rc == 0)) || what="FAILED rc=$rc"
  log "$name: $what in $(( $(date +%s) - s ))s"
  return "$rc"
}

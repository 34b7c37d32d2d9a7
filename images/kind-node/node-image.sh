#!/usr/bin/env bash
# images/kind-node/node-image.sh - assemble the kind node image localhost/article-pipeline/kind-node:<k8s>
# locally, for machines that reach no image registry (run by scripts/build-image.sh kind-node,
# which builds it only when it does not exist: images/kind-node/image.sh). Same order as `kind build node-image`
# (kind v0.30.0): a systemd bookworm base with kind's images/base files (read from the kind
# Go module), containerd/runc/crictl/CNI plugins, kubelet/kubeadm/kubectl in /usr/bin,
# /kind/version, /kind/manifests, and a containerd image store preloaded (ctr import) with
# every image kubeadm and the default add-ons request; then podman commit.
# Every binary is built from source (build-k8s.sh, build-components.sh); everything is cached
# under ${XDG_CACHE_HOME:-~/.cache}/article-pipeline. Every part already built is reused;
# FORCE_PARTS=1 rebuilds the intermediate images too.
# shellcheck disable=SC2016  # the single-quoted scripts run inside containers
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

ENGINE=podman
PARTS="localhost/article-pipeline/kind-node-parts"      # own names for the intermediate images
NODE_BASE="${PARTS}/base:kind-${KIND_VERSION}-bookworm"
HELPER_IMAGE="localhost/article-pipeline/kind-helper:${BUSYBOX_DEB_VERSION#*:}"
HELPER_IMAGE="${HELPER_IMAGE//+/_}"                      # '+' is not allowed in a tag
LOCAL_PATH_IMAGE="localhost/article-pipeline/local-path-provisioner:${LOCAL_PATH_VERSION}"
K8S_BIN="${KIND_NODE_CACHE}/k8s-${K8S_VERSION}/bin"
COMPONENTS_DIR="${KIND_NODE_CACHE}/components"
ARCHIVES="${KIND_NODE_CACHE}/image-archives"   # only while assembling; removed afterwards

[ "$(id -u)" -eq 0 ] || { echo "node-image.sh: run as root (podman privileged build container)" >&2; exit 1; }

kind_mod() { go mod download -json "sigs.k8s.io/kind@${KIND_VERSION}" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'; }

# --- 1. binaries (Kubernetes compile in the background while the rest builds) ----------
binaries() {
  local k8s_pid rc=0
  "$here/build-k8s.sh" & k8s_pid=$!
  "$here/build-components.sh" || rc=$?
  wait "$k8s_pid" || rc=$?
  return "$rc"
}

# --- 2. node base: kind v0.30.0 images/base on our bookworm base ------------------------
node_base() {
  if [ "${FORCE_PARTS:-0}" != 1 ] && "$ENGINE" image exists "$NODE_BASE"; then
    log "$NODE_BASE exists"; return 0
  fi
  BASE_IMAGE_NAME="$BASE_IMAGE" DEBIAN_SUITE=bookworm bash "$here/../../scripts/build-base-image.sh"
  local files c="kind-node-base-build-$$"
  files="$(kind_mod)/images/base/files"
  "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true
  # shellcheck disable=SC2086 # the package list is split on purpose
  "$ENGINE" run --name "$c" -v "$files:/kind-files:ro" -v "$here/node-base.sh:/node-base.sh:ro" \
    "$BASE_IMAGE" bash /node-base.sh $NODE_APT_PACKAGES
  "$ENGINE" commit -q \
    --change 'ENV container=docker' --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
    "$c" "$NODE_BASE" >/dev/null
  "$ENGINE" rm -f "$c" >/dev/null
}

# --- 3. the images the cluster runs, each a binary on a minimal base --------------------
# static_image NAME ENTRYPOINT_JSON FILE:DEST...: single-layer image from a root tree
static_image() {
  local name="$1" entry="$2" root spec; shift 2
  if [ "${FORCE_PARTS:-0}" != 1 ] && "$ENGINE" image exists "$name"; then return 0; fi
  root="$(mktemp -d)"
  mkdir -p "$root/tmp" "$root/etc" "$root/usr/local/bin"; chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  for spec in "$@"; do install -D -m 0755 "${spec%%:*}" "$root/${spec#*:}"; done
  tar -C "$root" --owner=0 --group=0 --numeric-owner -c . | "$ENGINE" import -q \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change "ENTRYPOINT $entry" \
    --message "article-pipeline kind-node part" - "$name" >/dev/null
  rm -rf "$root"
  log "built $name"
}

kube_proxy_image() {
  # kube-proxy runs iptables-save/-restore and conntrack: Debian base with both, plus a
  # small switch that follows the node's iptables mode (legacy or nft, by rule count).
  local name="${PARTS}/kube-proxy:${K8S_VERSION}" c="kind-kube-proxy-build-$$"
  if [ "${FORCE_PARTS:-0}" != 1 ] && "$ENGINE" image exists "$name"; then return 0; fi
  "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true
  "$ENGINE" run --name "$c" -v "$K8S_BIN/kube-proxy:/in/kube-proxy:ro" -v "$here/iptables-mode.sh:/in/iptables-mode.sh:ro" \
    "$BASE_IMAGE" bash -euo pipefail -c '
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq --no-install-recommends iptables conntrack >/dev/null
      rm -rf /var/lib/apt/lists/*
      install -m 0755 /in/kube-proxy /usr/local/bin/kube-proxy
      install -m 0755 /in/iptables-mode.sh /usr/sbin/iptables-mode
      for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
        ln -sf iptables-mode /usr/sbin/$t
      done'
  "$ENGINE" commit -q --change 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]' --change 'CMD []' "$c" "$name" >/dev/null
  "$ENGINE" rm -f "$c" >/dev/null
  log "built $name"
}

# image name in the node's containerd (what kubeadm, containerd and the manifests request)
# -> our own name for the image in podman's store
declare -A IMAGE_MAP=(
  ["registry.k8s.io/kube-apiserver:${K8S_VERSION}"]="${PARTS}/kube-apiserver:${K8S_VERSION}"
  ["registry.k8s.io/kube-controller-manager:${K8S_VERSION}"]="${PARTS}/kube-controller-manager:${K8S_VERSION}"
  ["registry.k8s.io/kube-scheduler:${K8S_VERSION}"]="${PARTS}/kube-scheduler:${K8S_VERSION}"
  ["registry.k8s.io/kube-proxy:${K8S_VERSION}"]="${PARTS}/kube-proxy:${K8S_VERSION}"
  ["registry.k8s.io/etcd:${ETCD_IMAGE_TAG}"]="${PARTS}/etcd:${ETCD_IMAGE_TAG}"
  ["registry.k8s.io/coredns/coredns:${COREDNS_VERSION}"]="${PARTS}/coredns:${COREDNS_VERSION}"
  ["registry.k8s.io/pause:${PAUSE_IMAGE_TAG}"]="${PARTS}/pause:${PAUSE_IMAGE_TAG}"
  ["registry.k8s.io/pause:${KIND_SANDBOX_PAUSE_TAG}"]="${PARTS}/pause:${PAUSE_IMAGE_TAG}"
  ["$LOCAL_PATH_IMAGE"]="$LOCAL_PATH_IMAGE"
  ["$HELPER_IMAGE"]="$HELPER_IMAGE"
)
component_images() {
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    static_image "${PARTS}/$c:${K8S_VERSION}" "[\"/usr/local/bin/$c\"]" "$K8S_BIN/$c:usr/local/bin/$c"
  done
  kube_proxy_image
  static_image "${PARTS}/etcd:${ETCD_IMAGE_TAG}" '["/usr/local/bin/etcd"]' "$COMPONENTS_DIR/etcd-$ETCD_VERSION/etcd:usr/local/bin/etcd"
  static_image "${PARTS}/coredns:${COREDNS_VERSION}" '["/coredns"]' "$COMPONENTS_DIR/coredns-$COREDNS_VERSION/coredns:coredns"
  static_image "${PARTS}/pause:${PAUSE_IMAGE_TAG}" '["/pause"]' "$COMPONENTS_DIR/pause-$PAUSE_IMAGE_TAG/pause:pause"
  static_image "$LOCAL_PATH_IMAGE" '["/usr/local/bin/local-path-provisioner"]' \
    "$COMPONENTS_DIR/local-path-provisioner-$LOCAL_PATH_VERSION/local-path-provisioner:usr/local/bin/local-path-provisioner"
  helper_image
}

helper_image() {
  # busybox: sh, rm, mkdir, cat, sleep... for local-path's helper pods and the CNI installer
  if [ "${FORCE_PARTS:-0}" != 1 ] && "$ENGINE" image exists "$HELPER_IMAGE"; then return 0; fi
  local root; root="$(mktemp -d)"
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"; chmod 1777 "$root/tmp"
  install -m 0755 "$COMPONENTS_DIR/busybox-$BUSYBOX_DEB_VERSION/busybox" "$root/bin/busybox"
  local a; for a in $("$root/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"; printf 'root:x:0:\n' >"$root/etc/group"
  tar -C "$root" --owner=0 --group=0 --numeric-owner -c . | "$ENGINE" import -q \
    --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' --message "busybox-static ${BUSYBOX_DEB_VERSION}" - "$HELPER_IMAGE" >/dev/null
  rm -rf "$root"
  log "built $HELPER_IMAGE"
}

# --- 4. manifests -----------------------------------------------------------------------
manifests() {
  mkdir -p "$KIND_NODE_CACHE/manifests"
  # CNI: our own installer (kindnetd's module is not on the proxy); see default-cni.yaml
  sed "s#@HELPER_IMAGE@#${HELPER_IMAGE}#g" "$here/default-cni.yaml" >"$KIND_NODE_CACHE/manifests/default-cni.yaml"
  # storage: kind v0.30.0's own manifest, read from its module source, with our image names
  python3 - "$(kind_mod)/pkg/build/nodeimage/const_storage.go" "$LOCAL_PATH_IMAGE" "$HELPER_IMAGE" \
      >"$KIND_NODE_CACHE/manifests/default-storage.yaml" <<'PY'
import re, sys
src, prov, helper = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src).read()
body = re.search(r'const defaultStorageManifest = `(.*?\n)`\n', text, re.S).group(1)
body = body.replace('` + storageProvisionerImage + `', prov).replace('` + storageHelperImage + `', helper)
assert '`' not in body, "unexpected Go expression left in the storage manifest"
sys.stdout.write(body)
PY
  grep -q "image: $LOCAL_PATH_IMAGE" "$KIND_NODE_CACHE/manifests/default-storage.yaml"
}

# --- 5. archives of the images, under the names the cluster requests --------------------
archives() {
  local want img
  # every image kubeadm will ask for must be in the map
  want="$("$K8S_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION")"
  for img in $want; do
    [ -n "${IMAGE_MAP[$img]:-}" ] || { echo "node-image.sh: no local image for kubeadm's $img" >&2; return 1; }
  done
  mkdir -p "$ARCHIVES"
  local src id
  for img in "${!IMAGE_MAP[@]}"; do
    src="${IMAGE_MAP[$img]}"
    id="$("$ENGINE" image inspect --format '{{.Id}}' "$src")"
    if [ ! -f "$ARCHIVES/$id.tar" ]; then
      "$ENGINE" save -q --format docker-archive -o "$ARCHIVES/$id.tar.tmp" "$src"
      mv "$ARCHIVES/$id.tar.tmp" "$ARCHIVES/$id.tar"
    fi
  done
}

# --- 6. assemble and commit --------------------------------------------------------------
assemble() {
  local c="kind-node-build-$$" img src id
  "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true
  trap '"$ENGINE" rm -f "'"$c"'" >/dev/null 2>&1 || true' EXIT   # step() runs this in a subshell: EXIT covers failures too
  "$ENGINE" run -d --name "$c" --entrypoint sleep --security-opt seccomp=unconfined \
    -v "$ARCHIVES:/kind-archives:ro" "$NODE_BASE" infinity >/dev/null
  cp_in() { "$ENGINE" cp "$1" "$c:$2"; "$ENGINE" exec "$c" chmod 0755 "$2"; "$ENGINE" exec "$c" chown root:root "$2"; }
  for b in kubeadm kubelet kubectl; do cp_in "$K8S_BIN/$b" "/usr/bin/$b"; done
  for b in containerd ctr containerd-shim-runc-v2; do cp_in "$COMPONENTS_DIR/containerd-$CONTAINERD_VERSION/$b" "/usr/local/bin/$b"; done
  cp_in "$COMPONENTS_DIR/runc-$RUNC_VERSION/runc" /usr/local/sbin/runc
  cp_in "$COMPONENTS_DIR/crictl-$CRI_TOOLS_VERSION/crictl" /usr/local/bin/crictl
  for b in ptp host-local loopback portmap; do cp_in "$COMPONENTS_DIR/cni-plugins-$CNI_PLUGINS_VERSION/$b" "/opt/cni/bin/$b"; done
  "$ENGINE" exec "$c" bash -euo pipefail -c '
    ctr oci spec \
      | jq ".hooks.createContainer[.hooks.createContainer| length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}" \
      | jq "del(.process.rlimits)" > /etc/containerd/cri-base.json
    containerd --version; runc --version | sed -n 1p; crictl --version; kubelet --version'
  printf '%s' "$K8S_VERSION" | "$ENGINE" exec -i "$c" tee /kind/version >/dev/null
  "$ENGINE" exec "$c" mkdir -p /kind/manifests
  "$ENGINE" cp "$KIND_NODE_CACHE/manifests/default-cni.yaml" "$c:/kind/manifests/default-cni.yaml"
  "$ENGINE" cp "$KIND_NODE_CACHE/manifests/default-storage.yaml" "$c:/kind/manifests/default-storage.yaml"
  "$ENGINE" exec "$c" chmod 0644 /kind/manifests/default-cni.yaml /kind/manifests/default-storage.yaml /kind/version
  # containerd just for the import, as kind's build does
  "$ENGINE" exec "$c" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
  "$ENGINE" exec "$c" bash -c 'for i in $(seq 1 30); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; cat /tmp/containerd.log; exit 1'
  for img in "${!IMAGE_MAP[@]}"; do
    src="${IMAGE_MAP[$img]}"
    id="$("$ENGINE" image inspect --format '{{.Id}}' "$src")"
    "$ENGINE" exec "$c" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
      --all-platforms --no-unpack --digests "/kind-archives/$id.tar" >/dev/null
    if [ "$img" != "$src" ]; then
      "$ENGINE" exec "$c" ctr --namespace=k8s.io images tag --force "$src" "$img" >/dev/null
    fi
  done
  # only the names the cluster requests stay in the node's store
  for src in $(printf '%s\n' "${IMAGE_MAP[@]}" | sort -u); do
    grep -qxF "$src" <<<"$(printf '%s\n' "${!IMAGE_MAP[@]}")" && continue
    "$ENGINE" exec "$c" ctr --namespace=k8s.io images rm "$src" >/dev/null
  done
  "$ENGINE" exec "$c" ctr --namespace=k8s.io images ls -q | sed 's/^/  node image store: /'
  "$ENGINE" exec "$c" bash -c 'pkill containerd; for i in $(seq 1 20); do pgrep -x containerd >/dev/null || break; sleep 0.5; done; rm -rf /tmp/* /run/containerd'
  "$ENGINE" commit -q \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
    --change 'ENV container=docker' --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' \
    "$c" "$NODE_IMAGE" >/dev/null
}

# `node-image.sh STEP...` runs single steps (binaries node_base component_images manifests archives
# assemble), for debugging.
if [ "$#" -gt 0 ]; then
  for s in "$@"; do
    step "$s" "$s"
  done
  exit 0
fi
step "binaries (k8s ${K8S_VERSION} + components)" binaries
step "node base ${NODE_BASE}" node_base
step "component images" component_images
step "manifests" manifests
step "image archives" archives
step "assemble ${NODE_IMAGE}" assemble
rm -rf "$ARCHIVES"
size=$("$ENGINE" image inspect --format '{{.Size}}' "$NODE_IMAGE")
log "built $NODE_IMAGE ($(( size / 1000000 )) MB)"

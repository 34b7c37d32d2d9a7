#!/usr/bin/env bash
# Build localhost/article-pipeline/localstack:4.14.0 without an image registry: LocalStack
# 4.14.0 from PyPI (localstack-core[runtime], pinned by requirements.txt + constraints.txt)
# under Python 3.13 on Debian trixie, kinesis-mock (npm kinesis-local) installed at build time.
# With podman the base is the local debootstrap trixie image, built on demand by
# scripts/build-base-image.sh. Idempotent: an unchanged build is a layer-cache hit.
#
#   images/localstack/build.sh             # build
#   FORCE=1 images/localstack/build.sh     # rebuild without the layer cache
#   images/localstack/smoke-test.sh        # run it on 127.0.0.1 and exercise Kinesis + S3
#
# Env: CONTAINER_ENGINE (docker|podman, default podman when present), BASE_IMAGE,
#      BUILD_NETWORK (default host), HOST_CA_BUNDLE, LOCALSTACK_IMAGE, VERBOSE=1.
# Last line: image=<name> seconds=<n> bytes=<n>
set -euo pipefail
# shellcheck source=scripts/build-lock.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/build-lock.sh"   # one build at a time
t0=$(date +%s)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
LOCALSTACK_VERSION=4.14.0
image="${LOCALSTACK_IMAGE:-localhost/article-pipeline/localstack:$LOCALSTACK_VERSION}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline/localstack"
mkdir -p "$cache"
log() { echo "[localstack build +$(( $(date +%s) - t0 ))s] $*" >&2; }

grep -qx "localstack-core\[runtime\]==$LOCALSTACK_VERSION" "$here/requirements.txt" || {
  echo "localstack build: requirements.txt does not pin localstack-core[runtime]==$LOCALSTACK_VERSION" >&2; exit 1; }

engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then engine=podman
  elif command -v docker >/dev/null 2>&1; then engine=docker
  else echo "localstack build: neither podman nor docker" >&2; exit 2; fi
fi

args=(build)
local_base="localhost/article-pipeline/base:trixie"
if [ "$engine" = podman ]; then
  args+=(--layers --network "${BUILD_NETWORK:-host}")
  base="${BASE_IMAGE:-$local_base}"
  if [ "$base" = "$local_base" ] && ! podman image exists "$base"; then
    log "building the trixie base $base"
    DEBIAN_SUITE=trixie BASE_IMAGE_NAME="$base" bash "$repo/scripts/build-base-image.sh"
  fi
else
  export DOCKER_BUILDKIT=1
  if [ -n "${BUILD_NETWORK:-}" ]; then args+=(--network "$BUILD_NETWORK"); fi
  base="${BASE_IMAGE:-}"
fi
[ -z "$base" ] || args+=(--build-arg "BASE_IMAGE=$base")
ca="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
if [ -s "$ca" ]; then args+=(--secret "id=host_ca,src=$ca"); fi

# Skip the engine entirely when the image was built from exactly these inputs (a layer-cache
# hit still costs podman ~10-40 s of checksumming on a busy machine).
base_id="$([ -z "$base" ] || "$engine" image inspect --format '{{.Id}}' "$base" 2>/dev/null || echo "$base")"
inputs="$( { cat "$here/Dockerfile" "$here/requirements.txt" "$here/constraints.txt" "$here/entrypoint.sh";
             echo "$base_id ${args[*]}"; } | sha256sum | cut -c1-64)"
args+=(--label "io.article-pipeline.inputs=$inputs")
[ "${FORCE:-0}" != "1" ] || args+=(--no-cache)
have="$("$engine" image inspect --format '{{index .Config.Labels "io.article-pipeline.inputs"}}' "$image" 2>/dev/null || true)"
if [ "${FORCE:-0}" != "1" ] && [ "$have" = "$inputs" ]; then
  bytes=$("$engine" image inspect --format '{{.Size}}' "$image")
  log "$image is up to date (same inputs), $(( bytes / 1000000 )) MB"
  echo "image=$image seconds=$(( $(date +%s) - t0 )) bytes=$bytes"
  exit 0
fi

step=$(date +%s)
log "$engine build $image${base:+ (BASE_IMAGE=$base)}; log: $cache/image-build.log"
buildlog="$cache/image-build.log"
rc=0
if [ "${VERBOSE:-0}" = "1" ]; then
  nice -n "${NICE:-10}" "$engine" "${args[@]}" -f "$here/Dockerfile" -t "$image" "$here" 2>&1 | tee "$buildlog" || rc=$?
else
  nice -n "${NICE:-10}" "$engine" "${args[@]}" -f "$here/Dockerfile" -t "$image" "$here" >"$buildlog" 2>&1 || rc=$?
fi
if [ "$rc" -ne 0 ]; then
  echo "localstack build: $engine build failed (exit $rc), last lines of $buildlog:" >&2
  tail -n 60 "$buildlog" >&2
  exit "$rc"
fi
log "image built in $(( $(date +%s) - step ))s"

bytes=$("$engine" image inspect --format '{{.Size}}' "$image")
secs=$(( $(date +%s) - t0 ))
log "$image ready in ${secs}s, size $(( bytes / 1000000 )) MB"
echo "image=$image seconds=$secs bytes=$bytes"

#!/usr/bin/env bash
# Build the project's images with docker (when `docker info` works) or podman.
#
#   scripts/build-images.sh                 # both images
#   scripts/build-images.sh publisher       # one of: publisher spark-job
#
# Env: CONTAINER_ENGINE (docker|podman, default: auto), IMAGE_TAG (default 0.1.0),
#      BUILD_NETWORK (podman default: host; docker default: its own),
#      BASE_IMAGE (default: the Dockerfile's public default with docker; the local
#      debootstrap base localhost/article-pipeline/base:bookworm with podman, built on
#      demand by scripts/build-base-image.sh), VERBOSE=1 to stream build output.
# Prints build time and size of each image; the last line per image is machine-readable:
#   image=<name> seconds=<n> bytes=<n>
set -euo pipefail
# shellcheck source=scripts/build-lock.sh
. "$(dirname "${BASH_SOURCE[0]}")/build-lock.sh"   # one build at a time

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
tag="${IMAGE_TAG:-0.1.0}"
local_base="localhost/article-pipeline/base:bookworm"

engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null 2>&1; then
    engine=podman
  else
    echo "build-images: neither a working docker nor podman (run scripts/setup-podman.sh)" >&2
    exit 2
  fi
fi

args=(build)
if [ "$engine" = podman ]; then
  # Host networking for RUN steps (pip, apt): what works on sandboxed machines like CI here.
  args+=(--layers --network "${BUILD_NETWORK:-host}")
  base="${BASE_IMAGE:-$local_base}"
  if [ "$base" = "$local_base" ] && ! podman image exists "$base"; then
    bash "$here/build-base-image.sh"
  fi
else
  # BuildKit (RUN --mount=type=secret); Docker's default build network unless BUILD_NETWORK.
  export DOCKER_BUILDKIT=1
  if [ -n "${BUILD_NETWORK:-}" ]; then args+=(--network "$BUILD_NETWORK"); fi
  base="${BASE_IMAGE:-}"
fi
# The host's CA bundle reaches pip inside the build as the optional build secret host_ca
# (needed behind a TLS-intercepting proxy, as on this CI; harmless elsewhere, never stored).
ca="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
if [ -s "$ca" ]; then args+=(--secret "id=host_ca,src=$ca"); fi
if [ -n "$base" ]; then args+=(--build-arg "BASE_IMAGE=$base"); fi

images=("$@")
[ "${#images[@]}" -gt 0 ] || images=(publisher spark-job)

log_dir="$(mktemp -d "${TMPDIR:-/tmp}/build-images.XXXXXX")"
trap 'rm -rf "$log_dir"' EXIT
total_start=$(date +%s)
for name in "${images[@]}"; do
  dockerfile="$repo/images/$name/Dockerfile"
  [ -f "$dockerfile" ] || { echo "build-images: no $dockerfile" >&2; exit 2; }
  ref="article-pipeline/$name:$tag"
  echo "build-images: $engine build $ref${base:+ (BASE_IMAGE=$base)}"
  start=$(date +%s)
  log="$log_dir/$name.log"
  if [ "${VERBOSE:-0}" = "1" ]; then
    "$engine" "${args[@]}" -f "$dockerfile" -t "$ref" "$repo" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
  else
    rc=0; "$engine" "${args[@]}" -f "$dockerfile" -t "$ref" "$repo" >"$log" 2>&1 || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    echo "build-images: building $ref failed (exit $rc); last lines:" >&2
    tail -n 60 "$log" >&2
    exit "$rc"
  fi
  secs=$(( $(date +%s) - start ))
  bytes=$("$engine" image inspect --format '{{.Size}}' "$ref")
  echo "build-images: $ref built in ${secs}s, size $(( bytes / 1000000 )) MB"
  echo "image=$ref seconds=$secs bytes=$bytes"
done
echo "build-images: done in $(( $(date +%s) - total_start ))s with $engine"

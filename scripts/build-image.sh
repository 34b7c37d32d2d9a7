#!/usr/bin/env bash
# scripts/build-image.sh - the one build recipe of every image under images/.
#
#   scripts/build-image.sh FOLDER...         # publisher spark-job localstack spark-operator kind-node
#   FORCE=1 scripts/build-image.sh FOLDER    # build even when up to date, without the layer cache
#   scripts/build-image.sh --print FOLDER... # print the image names only (no build): make kind-load/deploy
#
# The image is named after its folder: localhost/article-pipeline/<folder>:<tag>.
# images/<folder>/image.sh (sourced here; it may use $dir, the folder, $repo and $cache, the
# cache root) declares only what is specific to the image:
#   tag=...              the tag (required unless version= and inputs=)
#   version=...          with inputs= and no tag: the tag is made from the content,
#                        <version>-<the first 12 hex digits of the inputs' hash> (e.g.
#                        0.1.0-3f9a1c0d2b7e): same inputs, same tag; any change, a new tag. The
#                        image is also tagged <version>, moved to the newest build
#   registry=            the bare name article-pipeline/<folder>:<tag> (what `kind load` and the
#                        chart use for the app images); default localhost
#   context=DIR          the build context (default: the image folder)
#   base=bookworm|trixie podman builds on the local debootstrap base localhost/article-pipeline/
#                        base:<suite>, made on demand by scripts/build-base-image.sh; docker on the
#                        Dockerfile's default BASE_IMAGE. base=none: the image makes its own base
#   build_args=(K=V...)  more --build-arg
#   inputs=(FILE...)     what the image is made of (paths relative to the folder or absolute;
#                        a directory stands for every file under it that .dockerignore lets in):
#                        the image carries the hash of these files, inputs_text, the base image ID
#                        and the build arguments as label io.article-pipeline.inputs, and is not
#                        handed to the engine while that hash matches (a layer-cache hit still
#                        costs podman 10-40 s of checksumming on a busy machine)
#   inputs_text=...      anything else the image is made of (a pinned checksum)
#   up_to_date=exists    the image is current as soon as it exists (its own build decides about
#                        its parts). Neither inputs nor this: the engine's layer cache decides
#   engine=podman        the only engine the image can be built with
#   prepare()            runs before the decision (e.g. compiles a binary into the context)
#   build()              replaces `$engine build`; gets the image name as $1 (its output is
#                        streamed to stderr)
#
# Env: CONTAINER_ENGINE (docker|podman; default: scripts/container-engine.sh), BASE_IMAGE,
#      BUILD_NETWORK (podman default: host), HOST_CA_BUNDLE (default: the host's CA bundle,
#      handed to the build as the optional secret host_ca), NICE (default 10), VERBOSE=1 to
#      stream the build output (else it goes to ~/.cache/article-pipeline/logs/build-<folder>.log).
# Progress goes to stderr; the last line per image, on stdout, is machine-readable:
#   image=<name> seconds=<n> bytes=<n>
set -euo pipefail
scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$scripts/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
# shellcheck source=scripts/container-engine.sh
. "$scripts/container-engine.sh"

print_only=""
if [ "${1:-}" = --print ]; then print_only=1; shift; fi
[ "$#" -gt 0 ] || { echo "usage: $0 [--print] FOLDER...   (folders under images/)" >&2; exit 2; }
for folder in "$@"; do
  [ -f "$repo/images/$folder/image.sh" ] || { echo "build-image: no images/$folder/image.sh" >&2; exit 2; }
done
# Several images: one run each, so each takes only its own lock.
if [ "$#" -gt 1 ]; then
  for folder in "$@"; do bash "${BASH_SOURCE[0]}" ${print_only:+--print} "$folder"; done
  exit 0
fi

folder="$1"
if [ -z "$print_only" ]; then
  BUILD_LOCK_NAME="image-$folder"
  # shellcheck source=scripts/build-lock.sh
  . "$scripts/build-lock.sh"   # one build of this image at a time
fi
# shellcheck source=scripts/image-inputs.sh
. "$scripts/image-inputs.sh"   # inputs_hash, content_tag

t0=$(date +%s)
dir="$repo/images/$folder"
log() { echo "[build-image $folder +$(( $(date +%s) - t0 ))s] $*" >&2; }

tag="" version="" registry=localhost context="$dir" base=bookworm engine="" up_to_date="" inputs_text=""
build_args=() inputs=()
# shellcheck source=/dev/null
. "$dir/image.sh"
[ -n "$tag" ] || { [ -n "$version" ] && [ "${#inputs[@]}" -gt 0 ]; } \
  || { echo "build-image: images/$folder/image.sh sets no tag (nor version and inputs)" >&2; exit 2; }
name="${registry:+$registry/}article-pipeline/$folder"
if [ -n "$engine" ]; then
  CONTAINER_ENGINE="$engine" container_engine >/dev/null || exit
else
  engine="$(container_engine)" || exit
fi

if [ -z "$print_only" ] && declare -F prepare >/dev/null; then prepare >&2; fi

args=(build)
if [ "$engine" = podman ]; then
  # Host networking for RUN steps (pip, apt): what works on sandboxed machines like CI here.
  args+=(--layers --network "${BUILD_NETWORK:-host}")
  local_base="localhost/article-pipeline/base:$base"
  from="${BASE_IMAGE:-$local_base}"
  if [ "$base" = none ]; then
    from=""
  elif [ "$from" = "$local_base" ] && [ -z "$print_only" ] && ! podman image exists "$from"; then
    log "building the $base base $from"
    DEBIAN_SUITE="$base" BASE_IMAGE_NAME="$from" bash "$scripts/build-base-image.sh"
  fi
else
  # BuildKit (RUN --mount=type=secret); Docker's default build network unless BUILD_NETWORK.
  export DOCKER_BUILDKIT=1
  if [ -n "${BUILD_NETWORK:-}" ]; then args+=(--network "$BUILD_NETWORK"); fi
  from="${BASE_IMAGE:-}"
  [ "$base" != none ] || from=""
fi
[ -z "$from" ] || args+=(--build-arg "BASE_IMAGE=$from")
for kv in "${build_args[@]}"; do args+=(--build-arg "$kv"); done
# The host's CA bundle reaches pip inside the build as the optional build secret host_ca
# (needed behind a TLS-intercepting proxy, as on this CI; harmless elsewhere, never stored).
ca="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
if [ -s "$ca" ]; then args+=(--secret "id=host_ca,src=$ca"); fi

hash=""
if [ "${#inputs[@]}" -gt 0 ] && [ "$up_to_date" != exists ]; then
  from_id="$([ -z "$from" ] || "$engine" image inspect --format '{{.Id}}' "$from" 2>/dev/null || echo "$from")"
  hash="$(inputs_hash "$dir" "$repo" "$inputs_text" "$from_id" "${args[*]}" "${inputs[@]}")"
fi
[ -n "$tag" ] || tag="$(content_tag "$version" "$hash")"
image="$name:$tag"
if [ -n "$print_only" ]; then echo "$image"; exit 0; fi

# the <version> tag follows the newest build of a content-tagged image
alias_version() {
  if [ -n "$version" ] && [ "$tag" != "$version" ]; then "$engine" tag "$image" "$name:$version"; fi
}

done_line() {
  local bytes
  bytes=$("$engine" image inspect --format '{{.Size}}' "$image")
  log "$image $1, $(( bytes / 1000000 )) MB"
  echo "image=$image seconds=$(( $(date +%s) - t0 )) bytes=$bytes"
}

if [ "$up_to_date" = exists ]; then
  if [ "${FORCE:-0}" != 1 ] && "$engine" image inspect "$image" >/dev/null 2>&1; then
    done_line "exists (FORCE=1 to rebuild)"; exit 0
  fi
elif [ -n "$hash" ]; then
  have="$("$engine" image inspect --format '{{index .Config.Labels "io.article-pipeline.inputs"}}' "$image" 2>/dev/null || true)"
  if [ "${FORCE:-0}" != 1 ] && [ "$have" = "$hash" ]; then
    alias_version
    done_line "is up to date (same inputs)"; exit 0
  fi
  args+=(--label "io.article-pipeline.inputs=$hash")
fi
[ "${FORCE:-0}" != 1 ] || args+=(--no-cache)

mkdir -p "$cache/logs"
build_log="$cache/logs/build-$folder.log"
step=$(date +%s)
rc=0
if declare -F build >/dev/null; then
  # its own build (long, with its own step timings): streamed to stderr as well as logged
  log "building $image; log: $build_log"
  build "$image" 2>&1 | tee "$build_log" >&2 || rc=$?
else
  log "$engine build $image${from:+ (BASE_IMAGE=$from)}; log: $build_log"
  cmd=(nice -n "${NICE:-10}" "$engine" "${args[@]}" -f "$dir/Dockerfile" -t "$image" "$context")
  if [ "${VERBOSE:-0}" = 1 ]; then "${cmd[@]}" 2>&1 | tee "$build_log" || rc=$?
  else "${cmd[@]}" >"$build_log" 2>&1 || rc=$?; fi
fi
if [ "$rc" -ne 0 ]; then
  echo "build-image: building $image failed (exit $rc); last lines of $build_log:" >&2
  tail -n 60 "$build_log" >&2
  exit "$rc"
fi
alias_version
done_line "built in $(( $(date +%s) - step ))s"

#!/usr/bin/env bash
# Build localhost/article-pipeline/spark-operator:2.5.2 from source, no image registry needed:
#   1. go mod download github.com/kubeflow/spark-operator/v2@v2.5.2 (hash-checked) and
#      `go build ./cmd/operator` inside the module directory (its go.mod has replaces);
#   2. the pyspark 4.2.0 sdist from PyPI (sha256-checked), for SPARK_HOME/bin/spark-submit;
#   3. podman/docker build of images/spark-operator/Dockerfile on a Debian bookworm base
#      (podman: the local debootstrap base, built on demand by scripts/build-base-image.sh).
# Idempotent and cached outside the clone (${XDG_CACHE_HOME:-~/.cache}/article-pipeline/:
# go/mod, go/build, downloads/, spark-operator/v2.5.2/); the binary is reproducible
# (-trimpath, pinned stamp), so an unchanged build hits the image layer cache.
#
#   images/spark-operator/build.sh            # build (a no-op in ~seconds when cached)
#   FORCE=1 images/spark-operator/build.sh    # rebuild the image without the layer cache
#
# Env: CONTAINER_ENGINE (docker|podman, default podman when present), BASE_IMAGE,
#      BUILD_NETWORK (default host), HOST_CA_BUNDLE, SPARK_OPERATOR_IMAGE (image name),
#      VERBOSE=1 to stream the image build output.
# Last line: image=<name> seconds=<n> bytes=<n>
set -euo pipefail
so_t0=$(date +%s)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=images/spark-operator/versions.sh
. "$here/versions.sh"

engine="${CONTAINER_ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then engine=podman
  elif command -v docker >/dev/null 2>&1; then engine=docker
  else echo "spark-operator build: neither podman nor docker" >&2; exit 2; fi
fi
command -v go >/dev/null 2>&1 || { echo "spark-operator build: needs Go (>= 1.24) on PATH" >&2; exit 2; }

ctx="$SPARK_OPERATOR_CACHE/context"
mkdir -p "$ctx" "$AP_CACHE/downloads"

# ---- 1. the operator binary --------------------------------------------------------------
step=$(date +%s)
so_log "go mod download $SPARK_OPERATOR_MODULE@v$SPARK_OPERATOR_VERSION (GOMODCACHE=$GOMODCACHE)"
so_module_zip >/dev/null
moddir="$(go mod download -json "$SPARK_OPERATOR_MODULE@v$SPARK_OPERATOR_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
[ -f "$moddir/cmd/operator/main.go" ] || { echo "spark-operator build: no cmd/operator in $moddir" >&2; exit 1; }
so_log "go mod download done in $(( $(date +%s) - step ))s: $moddir"

step=$(date +%s)
so_log "go build ./cmd/operator ($(go env GOVERSION), GOCACHE=$GOCACHE; a cold build takes minutes)"
ldflags="-s -w"
for kv in "gitVersion=v$SPARK_OPERATOR_VERSION" "gitCommit=$SPARK_OPERATOR_COMMIT" \
          "gitTreeState=clean" "buildDate=$SPARK_OPERATOR_BUILD_DATE"; do
  ldflags+=" -X k8s.io/component-base/version.$kv"
done
# Build inside the module directory, so its go.mod (with its replace directives) applies.
(cd "$moddir" && CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$(go env GOARCH)}" \
  nice -n "${NICE:-10}" go build -trimpath -ldflags "$ldflags" -o "$ctx/.spark-operator.new" ./cmd/operator)
if cmp -s "$ctx/.spark-operator.new" "$ctx/spark-operator"; then
  rm -f "$ctx/.spark-operator.new"
else
  chmod 0755 "$ctx/.spark-operator.new"
  mv "$ctx/.spark-operator.new" "$ctx/spark-operator"
fi
so_log "go build done in $(( $(date +%s) - step ))s: $("$ctx/spark-operator" version 2>/dev/null | head -1)," \
  "$(( $(stat -c %s "$ctx/spark-operator") / 1000000 )) MB"

# ---- 2. pyspark sdist ----------------------------------------------------------------------
step=$(date +%s)
sdist="$AP_CACHE/downloads/pyspark-$PYSPARK_VERSION.tar.gz"
if ! { [ -s "$sdist" ] && echo "$PYSPARK_SDIST_SHA256  $sdist" | sha256sum -c --status -; }; then
  so_log "downloading pyspark $PYSPARK_VERSION sdist (~450 MB)"
  curl -fsSL --retry 3 -o "$sdist.part.$$" "$PYSPARK_SDIST_URL"
  echo "$PYSPARK_SDIST_SHA256  $sdist.part.$$" | sha256sum -c --status - || {
    rm -f "$sdist.part.$$"; echo "spark-operator build: pyspark sdist sha256 mismatch" >&2; exit 1; }
  mv "$sdist.part.$$" "$sdist"
fi
# A hard link (same file system) or a copy: the build context must hold it.
if ! cmp -s "$sdist" "$ctx/pyspark-$PYSPARK_VERSION.tar.gz"; then
  rm -f "$ctx/pyspark-$PYSPARK_VERSION.tar.gz"
  ln "$sdist" "$ctx/pyspark-$PYSPARK_VERSION.tar.gz" 2>/dev/null || cp "$sdist" "$ctx/"
fi
install -m 0755 "$here/entrypoint.sh" "$ctx/entrypoint.sh"
so_log "pyspark sdist ready in $(( $(date +%s) - step ))s"

# ---- 3. the image ---------------------------------------------------------------------------
args=(build)
local_base="localhost/article-pipeline/base:bookworm"
if [ "$engine" = podman ]; then
  args+=(--layers --network "${BUILD_NETWORK:-host}")
  base="${BASE_IMAGE:-$local_base}"
  if [ "$base" = "$local_base" ] && ! podman image exists "$base"; then
    bash "$repo/scripts/build-base-image.sh"
  fi
else
  export DOCKER_BUILDKIT=1
  if [ -n "${BUILD_NETWORK:-}" ]; then args+=(--network "$BUILD_NETWORK"); fi
  base="${BASE_IMAGE:-}"
fi
[ -z "$base" ] || args+=(--build-arg "BASE_IMAGE=$base")
args+=(--build-arg "PYSPARK_VERSION=$PYSPARK_VERSION")
[ "${FORCE:-0}" != "1" ] || args+=(--no-cache)
ca="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
if [ -s "$ca" ]; then args+=(--secret "id=host_ca,src=$ca"); fi

step=$(date +%s)
so_log "$engine build $SPARK_OPERATOR_IMAGE${base:+ (BASE_IMAGE=$base)}"
log="$SPARK_OPERATOR_CACHE/image-build.log"
rc=0
if [ "${VERBOSE:-0}" = "1" ]; then
  nice -n "${NICE:-10}" "$engine" "${args[@]}" -f "$here/Dockerfile" -t "$SPARK_OPERATOR_IMAGE" "$ctx" 2>&1 | tee "$log" || rc=$?
else
  nice -n "${NICE:-10}" "$engine" "${args[@]}" -f "$here/Dockerfile" -t "$SPARK_OPERATOR_IMAGE" "$ctx" >"$log" 2>&1 || rc=$?
fi
if [ "$rc" -ne 0 ]; then
  echo "spark-operator build: $engine build failed (exit $rc), last lines of $log:" >&2
  tail -n 60 "$log" >&2
  exit "$rc"
fi
so_log "image built in $(( $(date +%s) - step ))s"

bytes=$("$engine" image inspect --format '{{.Size}}' "$SPARK_OPERATOR_IMAGE")
secs=$(( $(date +%s) - so_t0 ))
so_log "$SPARK_OPERATOR_IMAGE ready in ${secs}s total, size $(( bytes / 1000000 )) MB"
echo "image=$SPARK_OPERATOR_IMAGE seconds=$secs bytes=$bytes"

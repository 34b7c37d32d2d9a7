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
# shellcheck source=scripts/build-lock.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/build-lock.sh"   # one build at a time
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

ldflags="-s -w"
for kv in "gitVersion=v$SPARK_OPERATOR_VERSION" "gitCommit=$SPARK_OPERATOR_COMMIT" \
          "gitTreeState=clean" "buildDate=$SPARK_OPERATOR_BUILD_DATE"; do
  ldflags+=" -X k8s.io/component-base/version.$kv"
done
goarch="${GOARCH:-$(go env GOARCH)}"
# The binary is a pure function of these: reuse it without asking Go when they match.
stamp="$SPARK_OPERATOR_MODULE_SUM $(go env GOVERSION) linux/$goarch $ldflags"
if [ "${FORCE:-0}" != "1" ] && [ -x "$ctx/spark-operator" ] && [ "$(cat "$ctx/spark-operator.stamp" 2>/dev/null)" = "$stamp" ]; then
  so_log "go build skipped: $ctx/spark-operator is built from the same inputs"
else
  step=$(date +%s)
  so_log "go build ./cmd/operator ($(go env GOVERSION), GOCACHE=$GOCACHE; a cold build takes minutes)"
  # Build inside the module directory, so its go.mod (with its replace directives) applies.
  (cd "$moddir" && CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" \
    nice -n "${NICE:-10}" go build -trimpath -ldflags "$ldflags" -o "$ctx/.spark-operator.new" ./cmd/operator)
  if cmp -s "$ctx/.spark-operator.new" "$ctx/spark-operator"; then
    rm -f "$ctx/.spark-operator.new"
  else
    chmod 0755 "$ctx/.spark-operator.new"
    mv "$ctx/.spark-operator.new" "$ctx/spark-operator"
  fi
  echo "$stamp" >"$ctx/spark-operator.stamp"
  so_log "go build done in $(( $(date +%s) - step ))s: $(( $(stat -c %s "$ctx/spark-operator") / 1000000 )) MB"
fi
if [ "$goarch" = "$(go env GOHOSTARCH)" ]; then
  so_log "binary: $("$ctx/spark-operator" version 2>/dev/null | tr '\n' ' ')"
fi

# ---- 2. pyspark sdist ----------------------------------------------------------------------
step=$(date +%s)
sdist="$AP_CACHE/downloads/pyspark-$PYSPARK_VERSION.tar.gz"
# Hash checked once per download (the stamp holds size and mtime of the checked file).
if [ ! -s "$sdist" ] || [ "$(cat "$sdist.verified" 2>/dev/null)" != "$PYSPARK_SDIST_SHA256 $(stat -c '%s %Y' "$sdist")" ]; then
  if ! { [ -s "$sdist" ] && echo "$PYSPARK_SDIST_SHA256  $sdist" | sha256sum -c --status -; }; then
    so_log "downloading pyspark $PYSPARK_VERSION sdist (~450 MB)"
    curl -fsSL --retry 3 -o "$sdist.part.$$" "$PYSPARK_SDIST_URL"
    echo "$PYSPARK_SDIST_SHA256  $sdist.part.$$" | sha256sum -c --status - || {
      rm -f "$sdist.part.$$"; echo "spark-operator build: pyspark sdist sha256 mismatch" >&2; exit 1; }
    mv "$sdist.part.$$" "$sdist"
  fi
  echo "$PYSPARK_SDIST_SHA256 $(stat -c '%s %Y' "$sdist")" >"$sdist.verified"
fi
# The build context must hold it: a hard link (same file system) or else a copy.
if ! [ "$sdist" -ef "$ctx/pyspark-$PYSPARK_VERSION.tar.gz" ]; then
  rm -f "$ctx/pyspark-$PYSPARK_VERSION.tar.gz"
  ln "$sdist" "$ctx/pyspark-$PYSPARK_VERSION.tar.gz" 2>/dev/null || cp -p "$sdist" "$ctx/"
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
ca="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
if [ -s "$ca" ]; then args+=(--secret "id=host_ca,src=$ca"); fi

# Skip the engine entirely when the image was built from exactly these inputs (a layer-cache
# hit still costs podman ~10-40 s of checksumming on a busy machine).
base_id="$([ -z "$base" ] || "$engine" image inspect --format '{{.Id}}' "$base" 2>/dev/null || echo "$base")"
inputs="$( { cat "$here/Dockerfile" "$ctx/entrypoint.sh"; sha256sum "$ctx/spark-operator";
             echo "$PYSPARK_SDIST_SHA256 $base_id ${args[*]}"; } | sha256sum | cut -c1-64)"
args+=(--label "io.article-pipeline.inputs=$inputs")
[ "${FORCE:-0}" != "1" ] || args+=(--no-cache)
have="$("$engine" image inspect --format '{{index .Config.Labels "io.article-pipeline.inputs"}}' "$SPARK_OPERATOR_IMAGE" 2>/dev/null || true)"
if [ "${FORCE:-0}" != "1" ] && [ "$have" = "$inputs" ]; then
  bytes=$("$engine" image inspect --format '{{.Size}}' "$SPARK_OPERATOR_IMAGE")
  secs=$(( $(date +%s) - so_t0 ))
  so_log "$SPARK_OPERATOR_IMAGE is up to date (same inputs), $(( bytes / 1000000 )) MB"
  echo "image=$SPARK_OPERATOR_IMAGE seconds=$secs bytes=$bytes"
  exit 0
fi

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

#!/usr/bin/env bash
# images/spark-operator/prepare.sh - the build context of the Spark Operator image
# ($SPARK_OPERATOR_CACHE/context), run by scripts/build-image.sh before it decides whether to
# build (images/spark-operator/image.sh):
#   1. go mod download github.com/kubeflow/spark-operator/v2@v2.5.2 (hash-checked) and
#      `go build ./cmd/operator` inside the module directory (its go.mod has replaces);
#   2. the pyspark 4.2.0 sdist from PyPI (sha256-checked), for SPARK_HOME/bin/spark-submit;
#   3. the entrypoint.
# Cached outside the clone (${XDG_CACHE_HOME:-~/.cache}/article-pipeline/: go/mod, go/build,
# downloads/, spark-operator/v2.5.2/); the binary is reproducible (-trimpath, pinned stamp) and
# rebuilt only when its inputs change (FORCE=1: always).
set -euo pipefail
so_t0=$(date +%s)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/spark-operator/versions.sh
. "$here/versions.sh"
# shellcheck source=images/go-build.sh
. "$here/../go-build.sh"

command -v go >/dev/null 2>&1 || { echo "spark-operator build: needs Go (>= 1.24) on PATH" >&2; exit 2; }

ctx="$SPARK_OPERATOR_CACHE/context"
mkdir -p "$ctx" "$ARTICLE_PIPELINE_CACHE/downloads"

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
# Built inside the module directory, so its go.mod (with its replace directives) applies.
go_build_stamped so_log "$ctx/spark-operator" "$stamp" "$moddir" -trimpath -ldflags "$ldflags" ./cmd/operator
if [ "$goarch" = "$(go env GOHOSTARCH)" ]; then
  so_log "binary: $("$ctx/spark-operator" version 2>/dev/null | tr '\n' ' ')"
fi

# ---- 2. pyspark sdist ----------------------------------------------------------------------
step=$(date +%s)
sdist="$ARTICLE_PIPELINE_CACHE/downloads/pyspark-$PYSPARK_VERSION.tar.gz"
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
so_log "build context ready in $ctx"

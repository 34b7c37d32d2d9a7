# shellcheck shell=bash
# Pins and cache layout shared by images/spark-operator/ (image.sh, prepare.sh) and
# scripts/kind/spark-operator-chart.sh (sourced, not run).
# Everything downloaded or built lives outside the clone, under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline/
# so `git clean` never throws it away and every clone on the machine shares it.

# Spark Operator: the Go module the binary and the Helm chart both come from.
SPARK_OPERATOR_MODULE=github.com/kubeflow/spark-operator/v2
SPARK_OPERATOR_VERSION=2.5.2
# go.sum-style hash of the module zip (`go mod download -json` prints it as "Sum"),
# the sha256 of the zip itself (checked when the zip is fetched without Go), and the
# commit/time of the tag (the proxy's .info), stamped into the binary like upstream's Makefile.
SPARK_OPERATOR_MODULE_SUM="h1:6nX2UhwSfnYi1mtwczgFfJTMeLSL/1ajTvkFe8R7Vdc="
SPARK_OPERATOR_ZIP_SHA256=955b59a7b138cef1c2f2e0e119e6ae48b962e3f42361a0f323f21fea5c895d2c
SPARK_OPERATOR_COMMIT=43afb8bbd32463037d8fb6e414e252c69081882b
SPARK_OPERATOR_BUILD_DATE=2026-07-31T00:47:14Z

# Spark for the controller's spark-submit: the PyPI sdist of pyspark (bin/ + jars/ incl.
# spark-kubernetes). The image uses Java 17 from Debian bookworm.
PYSPARK_VERSION=4.2.0
PYSPARK_SDIST_URL=https://files.pythonhosted.org/packages/c3/33/c987434f5d50aa802779a004ca0fd45ee4350caab50554ad7283d5a22b50/pyspark-4.2.0.tar.gz
PYSPARK_SDIST_SHA256=5ad689d53570ee1674193fd4f9bda065f0db3be9363a27d2a3406cc457b70b61

ARTICLE_PIPELINE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
# Go caches shared with the other Go builds of the project (kind node, Kubernetes).
export GOMODCACHE="${GOMODCACHE:-$ARTICLE_PIPELINE_CACHE/go/mod}"
export GOCACHE="${GOCACHE:-$ARTICLE_PIPELINE_CACHE/go/build}"
# Writable module cache, so `rm -rf` of the cache works without chmod.
export GOFLAGS="${GOFLAGS:--modcacherw}"
SPARK_OPERATOR_CACHE="$ARTICLE_PIPELINE_CACHE/spark-operator/v$SPARK_OPERATOR_VERSION"

# so_log MSG: progress on stderr with seconds since the script started.
so_log() { echo "[$(basename "$0") +$(( $(date +%s) - ${so_t0:-$(date +%s)} ))s] $*" >&2; }

# so_module_zip: print the path of the pinned module zip, downloading it if needed and
# checking its hash. With Go: `go mod download` (verified against go.sum's checksum DB and
# our pinned h1 sum). Without Go: the module proxy's zip, checked against the pinned sha256.
so_module_zip() {
  local json sum zip
  if command -v go >/dev/null 2>&1; then
    json="$(go mod download -json "$SPARK_OPERATOR_MODULE@v$SPARK_OPERATOR_VERSION")" || {
      echo "$json" >&2; return 1; }
    sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p' <<<"$json")"
    zip="$(sed -n 's/^[[:space:]]*"Zip": "\(.*\)",*$/\1/p' <<<"$json")"
    if [ "$sum" != "$SPARK_OPERATOR_MODULE_SUM" ]; then
      echo "spark-operator: module sum $sum != pinned $SPARK_OPERATOR_MODULE_SUM" >&2; return 1
    fi
  else
    local proxy="${GOPROXY:-https://proxy.golang.org}"
    proxy="${proxy%%,*}"; proxy="${proxy%%|*}"
    zip="$SPARK_OPERATOR_CACHE/module-v$SPARK_OPERATOR_VERSION.zip"
    if [ ! -s "$zip" ]; then
      mkdir -p "$SPARK_OPERATOR_CACHE"
      curl -fsSL --retry 3 -o "$zip.part" \
        "$proxy/${SPARK_OPERATOR_MODULE}/@v/v$SPARK_OPERATOR_VERSION.zip"
      mv "$zip.part" "$zip"
    fi
  fi
  if ! echo "$SPARK_OPERATOR_ZIP_SHA256  $zip" | sha256sum -c --status -; then
    echo "spark-operator: $zip does not match the pinned sha256" >&2; return 1
  fi
  echo "$zip"
}

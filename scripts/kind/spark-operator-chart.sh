#!/usr/bin/env bash
# Print the path of the Spark Operator Helm chart, taken from the pinned Go module zip
# (github.com/kubeflow/spark-operator/v2@v2.5.2, charts/spark-operator-chart) and extracted
# into the cache on first use. No chart repository needed:
#
#   helm upgrade --install spark-operator "$(scripts/kind/spark-operator-chart.sh)" \
#     -f images/spark-operator/values.yaml --namespace spark-operator --create-namespace
#
# stdout: the chart directory only; progress goes to stderr. Idempotent (FORCE=1 re-extracts).
set -euo pipefail
so_t0=$(date +%s)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/spark-operator/versions.sh
. "$here/../../images/spark-operator/versions.sh"

dest="$SPARK_OPERATOR_CACHE/chart/spark-operator"
stamp="$SPARK_OPERATOR_CACHE/chart/.extracted-from"
want="$SPARK_OPERATOR_MODULE@v$SPARK_OPERATOR_VERSION $SPARK_OPERATOR_ZIP_SHA256"
if [ "${FORCE:-0}" != "1" ] && [ -f "$dest/Chart.yaml" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$dest"
  exit 0
fi

zip="$(so_module_zip)"
so_log "extracting charts/spark-operator-chart from $zip"
mkdir -p "$SPARK_OPERATOR_CACHE/chart"
tmp="$(mktemp -d "$SPARK_OPERATOR_CACHE/chart/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$SPARK_OPERATOR_MODULE@v$SPARK_OPERATOR_VERSION/charts/spark-operator-chart/"
if command -v unzip >/dev/null 2>&1; then
  unzip -q "$zip" "${prefix}*" -d "$tmp"
else
  python3 - "$zip" "$prefix" "$tmp" <<'PY'
import sys, zipfile
zip_path, prefix, dest = sys.argv[1:]
with zipfile.ZipFile(zip_path) as z:
    z.extractall(dest, [n for n in z.namelist() if n.startswith(prefix)])
PY
fi
src="$tmp/$prefix"
version="$(sed -n 's/^version:[[:space:]]*//p' "$src/Chart.yaml")"
if [ "$version" != "$SPARK_OPERATOR_VERSION" ]; then
  echo "spark-operator-chart.sh: chart version '$version' != $SPARK_OPERATOR_VERSION" >&2
  exit 1
fi
# Module zips keep files read-only; make the copy ours, then swap it in whole.
chmod -R u+w "$src"
rm -rf "$dest" "$stamp"
mv "$src" "$dest"
echo "$want" >"$stamp"
so_log "chart spark-operator $version at $dest"
echo "$dest"

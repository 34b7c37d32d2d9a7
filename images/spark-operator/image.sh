# shellcheck shell=bash disable=SC2034,SC2154  # sourced by scripts/build-image.sh, which sets dir, repo, cache
# Spark Operator 2.5.2 from its Go module, as scripts/build-image.sh builds it (sourced there):
# prepare.sh puts the operator binary and the pyspark sdist into the build context.
# shellcheck source=images/spark-operator/versions.sh
. "$dir/versions.sh"
tag="$SPARK_OPERATOR_VERSION"
context="$SPARK_OPERATOR_CACHE/context"
build_args=("PYSPARK_VERSION=$PYSPARK_VERSION")
inputs=(Dockerfile "$context/entrypoint.sh" "$context/spark-operator")
inputs_text="$PYSPARK_SDIST_SHA256"
prepare() { bash "$dir/prepare.sh"; }

# shellcheck shell=bash disable=SC2034,SC2154  # sourced by scripts/build-image.sh, which sets dir, repo, cache
# The Prometheus server (release 3.16.0) from its Go module, as scripts/build-image.sh builds it:
# prepare.sh puts the static binary and the default configuration into the build context; the
# Dockerfile adds nothing else to the base.
# shellcheck source=images/prometheus/versions.sh
. "$dir/versions.sh"
tag="$PROMETHEUS_RELEASE"
context="$PROMETHEUS_CACHE/context"
build_args=("PROMETHEUS_VERSION=$PROMETHEUS_RELEASE")
inputs=(Dockerfile "$context/prometheus" "$context/prometheus.yml")
prepare() { bash "$dir/prepare.sh"; }

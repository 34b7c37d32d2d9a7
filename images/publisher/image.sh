# shellcheck shell=bash disable=SC2034,SC2154  # sourced by scripts/build-image.sh, which sets dir, repo, cache
# The publisher image, as scripts/build-image.sh builds it (sourced there).
tag="${IMAGE_TAG:-0.1.0}"
registry=""      # article-pipeline/publisher:<tag>, the name `make kind-load` and the chart use
context="$repo"  # the repository root (.dockerignore keeps it small); the layer cache decides

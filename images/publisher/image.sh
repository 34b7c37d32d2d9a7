# shellcheck shell=bash disable=SC2034,SC2154  # sourced by scripts/build-image.sh, which sets dir, repo, cache
# The publisher image, as scripts/build-image.sh builds it (sourced there).
# Tagged by content: article-pipeline/publisher:0.1.0-<12 hex of the inputs' hash> (and 0.1.0,
# moved to the newest build); IMAGE_TAG=... names the tag instead.
version=0.1.0
tag="${IMAGE_TAG:-}"
registry=""      # article-pipeline/publisher:<tag>, the name `make kind-load` and the chart use
context="$repo"  # the repository root (.dockerignore keeps it small)
# Everything the Dockerfile copies from the context: unchanged, the engine is not even called.
inputs=(Dockerfile "$repo/.dockerignore" "$repo/requirements-bootstrap.txt" "$repo/pyproject.toml" "$repo/uv.lock"
        "$repo/README.md" "$repo/common" "$repo/publisher")

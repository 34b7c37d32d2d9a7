# shellcheck shell=bash disable=SC2034,SC2154  # sourced by scripts/build-image.sh, which sets dir, repo, cache
# The kind node image, as scripts/build-image.sh builds it (sourced there): node-image.sh
# compiles Kubernetes and the node's components and assembles the image with podman.
tag="$(. "$dir/lib.sh" && echo "$K8S_VERSION")"
base=none          # node-image.sh makes the node base itself
engine=podman      # podman run, import and commit
up_to_date=exists  # node-image.sh reuses every part already built (binaries, intermediate images)
build() { NODE_IMAGE="$1" bash "$dir/node-image.sh"; }

# shellcheck shell=bash disable=SC2034,SC2154  # sourced by scripts/build-image.sh, which sets dir, repo, cache
# LocalStack 4.14.0 from PyPI, as scripts/build-image.sh builds it (sourced there).
tag=4.14.0
base=trixie      # LocalStack 4.14.0 fails at import on Python 3.11: trixie's 3.13
inputs=(Dockerfile requirements.txt constraints.txt entrypoint.sh)
prepare() {
  grep -qx "localstack-core\[runtime\]==$tag" "$dir/requirements.txt" || {
    echo "localstack: requirements.txt does not pin localstack-core[runtime]==$tag" >&2; return 1; }
}

# scripts/build-lock.sh - sourced by every image build script (not run): re-runs the calling
# script under an exclusive lock of its own, so two builds of the same images never race. .ci/run
# starts the slow builds in the background while the Python tiers run; a test that needs an image
# still being built waits here (and says so) instead of building it a second time.
# flock -o: the lock stays with flock itself, so containers the build leaves running never hold it.
# The lock is named after the calling script (<folder>-<script>), or BUILD_LOCK_NAME when the
# caller sets it before sourcing (scripts/build-image.sh: one lock per image).
# shellcheck shell=bash
_build_script="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)/$(basename "${BASH_SOURCE[1]}")"
_build_lock_name="${BUILD_LOCK_NAME:-$(basename "$(dirname "$_build_script")")-$(basename "$_build_script" .sh)}"
_build_lock="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline/locks/$_build_lock_name.lock"
if [ "${ARTICLE_PIPELINE_BUILD_LOCK:-}" != "$_build_lock" ]; then
  mkdir -p "$(dirname "$_build_lock")"
  if ! flock -n "$_build_lock" true; then
    echo "$(basename "$_build_script"): waiting for the same build running elsewhere (lock $_build_lock)" >&2
  fi
  ARTICLE_PIPELINE_BUILD_LOCK="$_build_lock" exec flock -o "$_build_lock" bash "$_build_script" "$@"
fi
unset _build_script _build_lock _build_lock_name

#!/usr/bin/env bash
# scripts/lint/install-checkov.sh - install the pinned checkov (3.3.30, PyPI) into a venv of its own,
# ~/.cache/article-pipeline/checkov-3.3.30/, and print the path of its `checkov`.
#
# checkov brings ~95 packages that must not enter the project's .venv: they come, hash-pinned
# (`pip install --require-hashes`), from scripts/lint/checkov-requirements.txt, compiled from
# checkov-requirements.in with pip-tools 7.6.2:
#   pip-compile --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
#     --no-emit-find-links -o scripts/lint/checkov-requirements.txt scripts/lint/checkov-requirements.in
# Idempotent: does nothing when the venv was installed from this very lock (its sha256 is stamped)
# and checkov reports the pinned version.
set -euo pipefail
CHECKOV_VERSION="3.3.30"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lock="$here/checkov-requirements.txt"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/article-pipeline"
venv="$cache/checkov-$CHECKOV_VERSION"
bin="$venv/bin/checkov"
stamp="$venv/.installed-from"
want="$(sha256sum "$lock" | cut -d' ' -f1)"

installed() {
  [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
    [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null)" \
      = "$CHECKOV_VERSION" ]
}
if installed; then
  echo "$bin"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
start=$(date +%s)
mkdir -p "$cache/locks"
# one install at a time (parallel test workers, make chart-lint next to make test)
exec 9>"$cache/locks/checkov-$CHECKOV_VERSION.lock"
flock 9
if ! installed; then
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --no-deps --only-binary=:all: -r "$lock" >&2
  echo "$want" >"$stamp"
  [ "$("$bin" --version)" = "$CHECKOV_VERSION" ] || {
    echo "install-checkov: $bin does not report $CHECKOV_VERSION" >&2; exit 1; }
  echo "install-checkov: installed $bin in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"

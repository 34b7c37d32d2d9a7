#!/usr/bin/env bash
# Install kinesis-local (kinesis-mock, the Kinesis engine LocalStack uses), pinned, into .tools/.
# Idempotent: does nothing when the pinned version is already installed. Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.6.2
PREFIX=.tools/kinesis-local
MARKER="$PREFIX/node_modules/kinesis-local/package.json"
if [ -f "$MARKER" ] && grep -q "\"version\": \"$VERSION\"" "$MARKER"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-kinesis-local: npm is required (apt-get install -y nodejs npm)" >&2
  exit 1
fi
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "kinesis-local@$VERSION"
echo "kinesis-local $VERSION installed in $PREFIX"

#!/usr/bin/env bash
# scripts/container-engine.sh - which container engine builds and runs the images here: docker
# when its engine answers `docker info`, else podman when it is installed. Without either it
# prints one line saying how to get one and fails (exit 2), before anything is compiled.
#
#   scripts/container-engine.sh          # prints docker or podman (`make engine-check` runs it)
#   . scripts/container-engine.sh        # defines container_engine, which does the same
#
# CONTAINER_ENGINE=docker|podman picks one (it must be on PATH).
# shellcheck shell=bash

container_engine() {
  local want="${CONTAINER_ENGINE:-}"
  if [ -n "$want" ]; then
    if command -v "$want" >/dev/null 2>&1; then echo "$want"; return 0; fi
  elif command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
    echo docker; return 0
  elif command -v podman >/dev/null 2>&1; then
    echo podman; return 0
  fi
  local missing="neither podman nor a running docker"
  [ -z "$want" ] || missing="CONTAINER_ENGINE=$want is not on PATH"
  echo "no container engine: $missing;" \
    "\`make podman-setup\` installs podman (Debian/Ubuntu, about 10 s), or install Docker" >&2
  return 2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  container_engine
fi

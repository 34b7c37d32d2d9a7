#!/usr/bin/env bash
# Make a local Debian bookworm base image for podman when no image registry is reachable:
# debootstrap --variant=minbase bookworm into a temp dir, trim it, `podman import` it as
# localhost/article-pipeline/base:bookworm. Cached: does nothing when the image exists
# (FORCE=1 rebuilds). Users with Docker Hub access do not need this: the Dockerfiles
# default to public bases.
set -euo pipefail
# shellcheck source=scripts/build-lock.sh
. "$(dirname "${BASH_SOURCE[0]}")/build-lock.sh"   # one build at a time

IMAGE="${BASE_IMAGE_NAME:-localhost/article-pipeline/base:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ENGINE="${CONTAINER_ENGINE:-podman}"

if [ "${FORCE:-0}" != "1" ] && "$ENGINE" image exists "$IMAGE" 2>/dev/null; then
  echo "build-base-image: $IMAGE exists (FORCE=1 to rebuild)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "build-base-image: debootstrap missing (run scripts/setup-podman.sh)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "build-base-image: debootstrap needs root" >&2; exit 1; }

start=$(date +%s)
rootfs="$(mktemp -d /var/tmp/ap-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "build-base-image: debootstrap --variant=minbase $SUITE ($MIRROR)"
debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || {
  tail -30 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"

# Same apt sources a bookworm image from a registry has (updates + security).
cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SRC
# Container-friendly apt and dpkg defaults, as Docker's debian images ship them.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
cat >"$rootfs/etc/apt/apt.conf.d/docker-no-languages" <<'CONF'
Acquire::Languages "none";
CONF
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-excludes" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true

tar -C "$rootfs" --numeric-owner -c . | "$ENGINE" import -q \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --message "debootstrap --variant=minbase $SUITE" - "$IMAGE" >/dev/null

size=$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE")
echo "build-base-image: $IMAGE built in $(( $(date +%s) - start ))s, $(( size / 1000000 )) MB"

#!/usr/bin/env bash
# Install and configure podman so the image tier can build and run OCI images on a
# machine without a Docker engine (CI here, a fresh Debian/Ubuntu box).
# Idempotent: installs only what is missing, rewrites the config only when it differs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
conf_src="$repo/images/containers.conf"

pkgs=(podman buildah runc debootstrap catatonit)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-podman: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup-podman: packages already installed (${pkgs[*]})"
fi

if [ "$(id -u)" -eq 0 ]; then
  conf_dir=/etc/containers/containers.conf.d
else
  conf_dir="${XDG_CONFIG_HOME:-$HOME/.config}/containers/containers.conf.d"
fi
conf_dst="$conf_dir/50-article-pipeline.conf"
mkdir -p "$conf_dir"
if ! cmp -s "$conf_src" "$conf_dst" 2>/dev/null; then
  install -m 0644 "$conf_src" "$conf_dst"
  echo "setup-podman: wrote $conf_dst"
else
  echo "setup-podman: $conf_dst up to date"
fi

# Smoke check: podman must at least answer `info` with the runtime we configured.
if ! info="$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}' 2>/dev/null)"; then
  echo "setup-podman: 'podman info' failed" >&2
  podman info >&2 || true
  exit 1
fi
echo "setup-podman: podman $(podman --version | awk '{print $3}') ready (runtime/cgroups: $info)"

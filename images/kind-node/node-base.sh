#!/usr/bin/env bash
# images/kind-node/node-base.sh PACKAGE... - runs inside a container of the bookworm base and
# turns it into the kind node base, as kind v0.30.0's images/base/Dockerfile does: kind's own
# files (its module's images/base/files, mounted at /kind-files), the Debian packages given as
# arguments, systemd as init with kubelet and containerd enabled. node-image.sh commits the
# container as the node base image.
set -euo pipefail
f=/kind-files
install -m 0755 $f/usr/local/bin/* /usr/local/bin/
mkdir -p /kind/bin /LICENSES /etc/containerd /etc/default /etc/sysctl.d /etc/systemd/system/kubelet.service.d
cp -r $f/kind/. /kind/ && find /kind -type f -exec chmod 0644 {} + && chmod 0755 /kind/bin /kind/bin/*
install -m 0644 $f/LICENSES/* /LICENSES/
install -m 0644 $f/etc/crictl.yaml /etc/
install -m 0644 $f/etc/containerd/* /etc/containerd/
install -m 0644 $f/etc/default/* /etc/default/
install -m 0644 $f/etc/sysctl.d/* /etc/sysctl.d/
find $f/etc/systemd/system -maxdepth 1 -type f -exec install -m 0644 {} /etc/systemd/system/ \;
install -m 0644 $f/etc/systemd/system/kubelet.service.d/* /etc/systemd/system/kubelet.service.d/
export DEBIAN_FRONTEND=noninteractive
clean-install "$@"
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >> /etc/systemd/journald.conf
ln -sf "$(which systemd)" /sbin/init
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
mkdir -p /etc/kubernetes/manifests /opt/cni/bin

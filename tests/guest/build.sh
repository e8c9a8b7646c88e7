#!/usr/bin/env bash
# Builds the test guest into DIR (default target/guest), once: Debian's cloud kernel and a
# static busybox, unpacked from their packages (nothing is installed), and a gzip'd newc
# initramfs whose /init loads virtio_net, gets a lease with udhcpc and runs the steps named on
# the kernel command line (see init). Prints DIR. Needs apt-get (with package lists), dpkg-deb
# and busybox.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../../target/guest}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
stamp=$(cat "$here/init" "$here/../e2e/udhcpc.script" "$0" | md5sum | cut -c1-12)
if [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd-$stamp.gz" ]; then
  ln -sf "initrd-$stamp.gz" "$dir/initrd.gz"
  echo "$dir"
  exit 0
fi
work=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
chmod 777 "$work" # apt-get download drops to the _apt user
if [ ! -f "$dir/vmlinuz" ] || [ ! -d "$dir/modules" ]; then
  apt-get download -q linux-image-cloud-amd64 >/dev/null 2>&1
  kernel=$(dpkg-deb -f linux-image-cloud-amd64_*.deb Depends | grep -o 'linux-image-[^ ,]*-cloud-amd64' | head -1)
  apt-get download -q "$kernel" >/dev/null 2>&1
  dpkg-deb -x "$kernel"_*.deb k
  cp k/boot/vmlinuz-* "$dir/vmlinuz"
  mkdir -p "$dir/modules"
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
    f=$(find k/lib/modules -name "$m.ko" | head -1)
    [ -n "$f" ] && cp "$f" "$dir/modules/"
  done
fi
if [ ! -f "$dir/busybox" ]; then
  apt-get download -q busybox-static >/dev/null 2>&1
  dpkg-deb -x busybox-static_*.deb b
  cp b/bin/busybox "$dir/busybox"
fi
mkdir -p root/bin root/lib/modules root/proc root/sys root/dev root/etc
cp "$dir/busybox" root/bin/busybox
cp "$dir"/modules/*.ko root/lib/modules/
cp "$here/init" root/init
cp "$here/../e2e/udhcpc.script" root/udhcpc.script
chmod 755 root/init root/udhcpc.script root/bin/busybox
(cd root && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9 >"$dir/initrd-$stamp.gz")
ln -sf "initrd-$stamp.gz" "$dir/initrd.gz"
echo "$dir"

#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test initramfs built by scripts/vm/run (busybox, no udev).
# Loads the modules listed in /lib/vm/order, mounts the host root (9p, ro),
# builds a chroot with tmpfs /tmp and /run, devtmpfs, proc, sysfs, debugfs,
# mounts the launcher's control share at /run/vm and the optional OUT share
# at its host path, runs /run/vm/exec.sh in the chroot, hands the exit status
# back through /run/vm/rc and the console, and powers off.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /host
/bin/busybox --install -s

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

die() {
	echo "vm-init: $*" >/dev/console
	echo "vm-exit-status: 125" >/dev/console
	poweroff -f
}

for m in $(cat /lib/vm/order); do
	insmod "/lib/vm/$m" || die "insmod $m failed"
done

opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro,cache=loose" host /host || die "cannot mount the host root"
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
mount -t tmpfs -o mode=755 tmpfs /host/run
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/pts /host/dev/shm
# what udev would add: bash process substitution needs /dev/fd
ln -s /proc/self/fd /host/dev/fd
ln -s fd/0 /host/dev/stdin
ln -s fd/1 /host/dev/stdout
ln -s fd/2 /host/dev/stderr
mount -t devpts devpts /host/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t debugfs debugfs /host/sys/kernel/debug
mkdir -p /host/run/vm
mount -t 9p -o "$opts" ctl /host/run/vm || die "cannot mount the control share"
repo=$(cat /host/run/vm/repo_path)
mkdir -p "/host$repo"
mount -t 9p -o "$opts,ro" repo "/host$repo" || die "cannot mount the repository at $repo"
if [ -s /host/run/vm/out_path ]; then
	out=$(cat /host/run/vm/out_path)
	mkdir -p "/host$out"
	mount -t 9p -o "$opts" out "/host$out" || die "cannot mount OUT at $out"
fi

chroot /host /bin/bash /run/vm/exec.sh
rc=$?
echo "$rc" >/host/run/vm/rc
echo "vm-exit-status: $rc" >/dev/console
poweroff -f

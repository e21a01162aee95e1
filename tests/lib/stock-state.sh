# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by the host checks that install our module into the system's
# module trees inside a throw-away overlay (tests/host/dkms.sh, deb.sh):
# what "the host still has the stock virtio_blk" means, checked before and
# after the namespace is gone.

stock_re='/kernel/drivers/block/virtio_blk\.ko(\.[a-z]+)?$'
# shellcheck disable=SC2034 # used by the checks that source this
ours_re='/updates/dkms/virtio_blk\.ko(\.[a-z]+)?$'
modpath() { modinfo -k "$1" -n virtio_blk 2>/dev/null; }

# Checksums of the kernels' initramfs images, in the associative array
# initrd_sum (declared by the caller with declare -A).
initrd_sums() {	# KERNEL...
	local f
	for f in "$@"; do
		[ -e "/boot/initrd.img-$f" ] &&
			initrd_sum[$f]=$(sha256sum <"/boot/initrd.img-$f")
	done
}

# What differs from the stock state recorded by initrd_sums, one
# "...;" phrase per finding; nothing when the host is as before.
stock_state_diff() {	# DKMS-NAME KERNEL...
	local name=$1 f bad=
	shift
	for f in "$@"; do
		[[ $(modpath "$f") =~ $stock_re ]] ||
			bad+=" virtio_blk for $f resolves to '$(modpath "$f")';"
		compgen -G "/lib/modules/$f/updates/dkms/virtio_blk.ko*" >/dev/null &&
			bad+=" /lib/modules/$f/updates/dkms/virtio_blk left behind;"
		[ -n "${initrd_sum[$f]:-}" ] &&
			[ "${initrd_sum[$f]}" != "$(sha256sum <"/boot/initrd.img-$f")" ] &&
			bad+=" /boot/initrd.img-$f changed;"
	done
	dkms status -m "$name" 2>/dev/null | grep -q . && bad+=" dkms lists $name;"
	compgen -G "/usr/src/$name-*" >/dev/null && bad+=" /usr/src/$name-* left behind;"
	printf '%s' "$bad"
}

# Inside a test's private mount namespace: bind-mount initramfs-tools to
# MODULES=list with virtio_blk listed.  Every rebuild still resolves
# virtio_blk through modules.dep (ours or the stock one), in seconds rather
# than the minute MODULES=most takes here.  Prints a "# " note when conf.d
# overrides MODULES; fails only when the bind mounts fail.
lean_initramfs() {	# SCRATCH-DIR
	local f=/etc/initramfs-tools tmp=$1
	[ -f "$f/initramfs.conf" ] || return 0
	sed 's/^MODULES=.*/MODULES=list/' "$f/initramfs.conf" >"$tmp/initramfs.conf"
	{ cat "$f/modules" 2>/dev/null; echo virtio_blk; } >"$tmp/modules"
	mount --bind "$tmp/initramfs.conf" "$f/initramfs.conf" &&
		{ [ ! -f "$f/modules" ] || mount --bind "$tmp/modules" "$f/modules"; } ||
		return 1
	[ ! -d "$f/conf.d" ] || ! grep -qs '^MODULES=' "$f"/conf.d/* ||
		echo "# $f/conf.d sets MODULES: initramfs rebuilds take the long way"
}

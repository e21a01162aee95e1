#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install virtio_blk with iopoll completion through DKMS, or go back to the
# kernel's own virtio_blk.  Run as root; "make dkms-install" and
# "make dkms-remove" call this.
#
#   scripts/dkms.sh install [KVER...]  build and install for KVER (default:
#                                      the running kernel), rebuild its
#                                      initramfs
#   scripts/dkms.sh remove [KVER...]   uninstall from KVER (default: from
#                                      every kernel), rebuild the initramfs,
#                                      check that the stock module is back
#   scripts/dkms.sh status             what dkms and modinfo report
#
# Only the build sources are staged under /usr/src/<name>-<version> (the
# file list comes from the Makefile), never .git, .cache or build/.
# Reinstalling the same version replaces it, on every kernel it was on.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
conf=$top/dkms.conf
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$conf")

say() { echo "dkms.sh: $*"; }
die() { echo "dkms.sh: error: $*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "must run as root"
	command -v dkms >/dev/null ||
		die "dkms is not installed (make deps, or apt-get install dkms)"
}

# versions of our package that dkms knows about
versions() {
	dkms status -m "$name" 2>/dev/null |
		sed -n "s|^$name/\([^,:]*\)[,:].*|\1|p" | sort -u
}

# kernels that version $1 is installed for
installed_kernels() {
	dkms status -m "$name" -v "$1" 2>/dev/null |
		sed -n "s|^$name/$1, \([^,]*\), [^:]*: installed.*|\1|p"
}

# Rebuild the initramfs of kernel $1, if it has one.
initramfs() {
	if [ -e "/boot/initrd.img-$1" ] && command -v update-initramfs >/dev/null; then
		say "rebuilding /boot/initrd.img-$1"
		update-initramfs -u -k "$1"
	fi
}

# The module modprobe would load for kernel $1 ("" if none).
module_path() {
	modinfo -k "$1" -n virtio_blk 2>/dev/null || true
}

# dkms replaces a module the kernel ships only if ours has a newer or
# different MODULE_VERSION; the stock virtio_blk has none, and neither two
# versionless modules nor a plain "dkms autoinstall" on a kernel upgrade
# get past that check.  A driver with MODULE_VERSION(VBLK_VERSION) gets
# PACKAGE_VERSION from the build (dkms.conf passes VBLK_VERSION); otherwise
# the staged copy of the driver declares PACKAGE_VERSION, and a version the
# driver declares itself must be the same.
stamp_version() {
	local have
	grep -q '^MODULE_VERSION(VBLK_VERSION);' "$1" && return 0
	have=$(sed -n 's/^MODULE_VERSION("\(.*\)");$/\1/p' "$1")
	if [ -z "$have" ]; then
		printf '\n/* added by scripts/dkms.sh from dkms.conf */\nMODULE_VERSION("%s");\n' \
			"$ver" >>"$1"
	elif [ "$have" != "$ver" ]; then
		die "the driver declares MODULE_VERSION(\"$have\"), dkms.conf $ver"
	fi
}

do_install() {
	local k v kernels=() srcs
	need_root
	[ $# -gt 0 ] || set -- "$(uname -r)"
	for k in "$@"; do
		[ -e "/lib/modules/$k/build/Makefile" ] ||
			die "no headers for $k (apt-get install linux-headers-$k)"
	done

	srcs=$(make -s --no-print-directory -C "$top" dkms-srcs)
	[ -n "$srcs" ] || die "make dkms-srcs listed no sources"

	# Drop what is registered now, remembering where it was installed.
	kernels=("$@")
	for v in $(versions); do
		for k in $(installed_kernels "$v"); do
			[ -e "/lib/modules/$k/build/Makefile" ] && kernels+=("$k")
		done
		say "removing the registered $name/$v first"
		dkms remove -m "$name" -v "$v" --all
		rm -rf "/usr/src/$name-$v"
	done
	mapfile -t kernels < <(printf '%s\n' "${kernels[@]}" | sort -u)

	say "staging the sources in /usr/src/$name-$ver"
	rm -rf "/usr/src/$name-$ver"
	mkdir -p "/usr/src/$name-$ver"
	# shellcheck disable=SC2086 # a list of paths without blanks
	(cd "$top" && cp --parents Makefile $srcs dkms.conf "/usr/src/$name-$ver/")
	stamp_version "/usr/src/$name-$ver/drivers/block/virtio_blk.c"
	dkms add -m "$name" -v "$ver"

	for k in "${kernels[@]}"; do
		dkms install -m "$name" -v "$ver" -k "$k"
		initramfs "$k"
		case $(module_path "$k") in
		*/updates/*) say "$k: modprobe virtio_blk now loads $(module_path "$k")" ;;
		*) die "$k: modinfo still names '$(module_path "$k")', not the dkms module" ;;
		esac
	done
	say "installed; reboot into the kernel (or reload virtio_blk) to use it"
}

do_remove() {
	local k v removed=() check=() left
	need_root
	for v in $(versions); do
		if [ $# -eq 0 ]; then
			mapfile -t -O "${#removed[@]}" removed < <(installed_kernels "$v")
			dkms remove -m "$name" -v "$v" --all
		else
			for k in "$@"; do
				grep -qxF "$k" <<<"$(installed_kernels "$v")" || continue
				dkms remove -m "$name" -v "$v" -k "$k"
				removed+=("$k")
			done
			# dkms drops a version with its last kernel itself;
			# one left merely "added" goes too
			left=$(dkms status -m "$name" -v "$v" 2>/dev/null)
			if [ -n "$left" ] && ! grep -q ', ' <<<"$left"; then
				dkms remove -m "$name" -v "$v" --all
			fi
		fi
		[ -n "$(dkms status -m "$name" -v "$v" 2>/dev/null)" ] || rm -rf "/usr/src/$name-$v"
	done
	[ ${#removed[@]} -gt 0 ] || say "$name was not installed${1:+ for $*}"

	mapfile -t removed < <(printf '%s\n' "${removed[@]}" | sed '/^$/d' | sort -u)
	for k in "${removed[@]}"; do
		[ -d "/lib/modules/$k" ] && initramfs "$k"
	done

	# Whatever was or was not installed: the named kernels (or all that
	# lost the module) must resolve virtio_blk to the kernel's own file.
	mapfile -t check < <(printf '%s\n' "${removed[@]}" "$@" | sed '/^$/d' | sort -u)
	for k in "${check[@]}"; do
		[ -d "/lib/modules/$k" ] || continue
		case $(module_path "$k") in
		*/kernel/drivers/block/virtio_blk.ko*)
			say "$k: back to the stock module $(module_path "$k")" ;;
		"")	say "$k: no virtio_blk module (built in, or not shipped)" ;;
		*)	die "$k: modinfo names '$(module_path "$k")', not the stock module" ;;
		esac
	done
}

do_status() {
	local k
	command -v dkms >/dev/null && dkms status -m "$name" 2>/dev/null
	for k in /lib/modules/*/; do
		k=$(basename "$k")
		echo "$k: $(module_path "$k")"
	done
}

case ${1:-} in
install) shift; do_install "$@" ;;
remove) shift; do_remove "$@" ;;
status) do_status ;;
*) echo "usage: $0 install|remove [KVER...] | status" >&2; exit 2 ;;
esac

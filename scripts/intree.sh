#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Integrate virtio_blk with iopoll completion into a kernel source tree the
# way a patch would, and build it there with the tree's own Kconfig.
#
#   scripts/intree.sh [options]          ("make intree")
#
#   --source DIR     tree to integrate into.  Default: Debian's
#                    linux-source-6.12, unpacked once from
#                    /usr/src/linux-source-6.12.tar.xz into .cache/intree/
#                    and put back to pristine on every run.  A tree of your
#                    own is patched in place (repeatable) and never reset.
#   --integrate-only stop after patching the tree
#   --kver KVER      Debian kernel whose /boot/config-KVER starts the
#                    configuration and whose headers' Module.symvers vets
#                    the module's symbols (default: the 6.12 kernel of
#                    .cache/kernels)
#   --settings LIST  VIRTIO_BLK_IOPOLL values to build (default "y n")
#   --out DIR        build trees, modules, patch (default .cache/intree/out)
#   -j N             parallel jobs (default 2)
#
# Integration: drivers/block/virtio_blk.c, drivers/block/virtio_blk_trace.h
# and include/virtio_blk_compat.h go to drivers/block/ (the driver includes
# the headers by a quoted path; define_trace.h includes the trace header
# again through -I$(src), a CFLAGS_virtio_blk.o line added to the tree's
# drivers/block/Makefile, as in-tree drivers with their own trace header do);
# the VIRTIO_BLK_IOPOLL entry of our top-level Kconfig goes into
# drivers/block/Kconfig right after the VIRTIO_BLK entry.  The tree's
# drivers/block/Makefile already builds virtio_blk.o for CONFIG_VIRTIO_BLK;
# our out-of-tree Kbuild files are not used.  Only a tree older than 6.11
# (or one without struct rq_list) gets the compat flags that
# drivers/block/Kbuild would have set.
#
# Build, per setting S: a separate object tree (O=) configured from the
# Debian config with scripts/config (VIRTIO_BLK=m, VIRTIO_BLK_IOPOLL=S, and
# DEBUG_INFO_BTF_MODULES off: module BTF needs a linked vmlinux), "make
# olddefconfig", then the single module drivers/block/virtio_blk.ko (which
# runs modules_prepare; modpost cannot check imports without vmlinux.o, so
# they are checked against the Debian kernel's Module.symvers instead).  The setting must show in .config and
# include/generated/autoconf.h, and the module must (S=y) or must not (S=n)
# reference irq_poll and carry the blk_iopoll parameters.  With the
# cached tree a git format-patch of the integration is written to OUT.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/.cache/intree
tarball=/usr/src/linux-source-6.12.tar.xz
source="" integrate_only=0 kver="" settings="y n" out=$cache/out jobs=2

say() { echo "intree: $*"; }
die() { echo "intree: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--source) source=$(realpath "$2"); shift 2 ;;
	--integrate-only) integrate_only=1; shift ;;
	--kver) kver=$2; shift 2 ;;
	--settings) settings=$2; shift 2 ;;
	--out) out=$(realpath -m "$2"); shift 2 ;;
	-j) jobs=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

# ---------------------------------------------------------------------------
# The cached Debian tree: unpacked once (stamped with the tarball's size and
# mtime), pristine copies of the files the integration changes kept aside.

cached_tree() {
	local stamp want top_dir tmp
	[ -r "$tarball" ] || die "no $tarball (make deps installs linux-source-6.12)"
	top_dir=$(basename "$tarball" | sed 's/\.tar\..*//')
	want=$(stat -c '%s %Y' "$tarball")
	source=$cache/$top_dir
	stamp=$cache/$top_dir.unpacked
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		say "unpacking $tarball into $cache (once)"
		rm -rf "$source" "$cache/pristine" "$stamp" "$cache/out"
		tmp=$(mktemp -d "$cache/unpack.XXXXXX")
		tar -xf "$tarball" -C "$tmp"
		mv "$tmp/$top_dir" "$source"
		rmdir "$tmp"
		mkdir -p "$cache/pristine"
		cp "$source/drivers/block/Kconfig" "$source/drivers/block/virtio_blk.c" \
			"$source/drivers/block/Makefile" "$cache/pristine/"
		echo "$want" >"$stamp"
	fi
	# a cache from before the Makefile was kept aside: from the tarball
	if [ ! -e "$cache/pristine/Makefile" ]; then
		tar -xOf "$tarball" "$top_dir/drivers/block/Makefile" >"$cache/pristine/Makefile.new"
		mv "$cache/pristine/Makefile.new" "$cache/pristine/Makefile"
	fi
	cp "$cache/pristine/Kconfig" "$cache/pristine/virtio_blk.c" \
		"$cache/pristine/Makefile" "$source/drivers/block/"
	rm -f "$source/drivers/block/virtio_blk_compat.h" \
		"$source/drivers/block/virtio_blk_trace.h"
}

# ---------------------------------------------------------------------------
# Integration

# Our Kconfig entry: the top-level Kconfig from its "config" line on.
fragment() {
	sed -n '/^config /,$p' "$top/Kconfig"
}

integrate() {
	local t=$1 kc=$1/drivers/block/Kconfig frag
	grep -qs '^config VIRTIO_BLK$' "$kc" ||
		die "$t: no 'config VIRTIO_BLK' in drivers/block/Kconfig"
	grep -Eq '^obj-\$\(CONFIG_VIRTIO_BLK\)[[:space:]]*\+=[[:space:]]*virtio_blk\.o' \
		"$t/drivers/block/Makefile" ||
		die "$t: drivers/block/Makefile does not build virtio_blk.o for CONFIG_VIRTIO_BLK"
	[ ! -e "$t/drivers/block/Kbuild" ] ||
		die "$t: drivers/block/Kbuild exists and would shadow drivers/block/Makefile"

	cp "$top/drivers/block/virtio_blk.c" "$top/drivers/block/virtio_blk_trace.h" \
		"$top/include/virtio_blk_compat.h" "$t/drivers/block/"
	# define_trace.h finds the trace header through the driver's directory
	# ($(src): the source directory since 6.10's kbuild)
	grep -qxF 'CFLAGS_virtio_blk.o += -I$(src)' "$t/drivers/block/Makefile" ||
		echo 'CFLAGS_virtio_blk.o += -I$(src)' >>"$t/drivers/block/Makefile"

	# Drop an entry from an earlier run, then insert ours before the
	# first top-level Kconfig keyword after the VIRTIO_BLK entry.
	frag=$(mktemp)
	fragment >"$frag"
	awk -v frag="$frag" '
	function kw(l) {
		return l ~ /^(config|menuconfig|choice|endchoice|comment|menu|endmenu|if|endif|source)([ \t]|$)/
	}
	BEGIN { while ((getline l < frag) > 0) text = text l "\n" }
	skip && !kw($0) { next }
	{ skip = 0 }
	/^config VIRTIO_BLK_IOPOLL[ \t]*$/ { skip = 1; next }
	in_vb && kw($0) { printf "%s\n", text; in_vb = 0; done = 1 }
	/^config VIRTIO_BLK[ \t]*$/ { in_vb = 1 }
	{ print }
	END {
		if (in_vb) { printf "\n%s", text; done = 1 }
		if (!done) exit 1
	}' "$kc" >"$kc.new" || { rm -f "$frag" "$kc.new"; die "could not place the Kconfig entry"; }
	rm -f "$frag"
	mv "$kc.new" "$kc"

	# The API probes of drivers/block/Kbuild, for trees older than
	# 6.11 (no struct virtqueue_info): a per-object flag in the tree's
	# Makefile.  Current trees need nothing.
	if ! grep -qs 'struct virtqueue_info {' "$t/include/linux/virtio_config.h" &&
		! grep -q 'COMPAT_FIND_VQS_ARRAYS' "$t/drivers/block/Makefile"; then
		echo 'CFLAGS_virtio_blk.o += -DCOMPAT_FIND_VQS_ARRAYS' >>"$t/drivers/block/Makefile"
		say "pre-6.11 tree: CFLAGS_virtio_blk.o += -DCOMPAT_FIND_VQS_ARRAYS in drivers/block/Makefile"
	fi
	# and for trees whose ->queue_rqs takes a struct request ** (no
	# struct rq_list)
	if ! grep -qs 'struct rq_list {' "$t/include/linux/blkdev.h" &&
		! grep -q 'COMPAT_QUEUE_RQS_REQUEST_PTR' "$t/drivers/block/Makefile"; then
		echo 'CFLAGS_virtio_blk.o += -DCOMPAT_QUEUE_RQS_REQUEST_PTR' >>"$t/drivers/block/Makefile"
		say "tree without struct rq_list: CFLAGS_virtio_blk.o += -DCOMPAT_QUEUE_RQS_REQUEST_PTR in drivers/block/Makefile"
	fi
	say "integrated into $t/drivers/block (virtio_blk.c, virtio_blk_trace.h, virtio_blk_compat.h, Kconfig, Makefile)"
}

# A git format-patch of the integration against the pristine files.
write_patch() {
	local r=$out/patch-repo f
	rm -rf "$r" "$out"/*.patch
	mkdir -p "$r/drivers/block"
	cp "$cache/pristine/Kconfig" "$cache/pristine/virtio_blk.c" \
		"$cache/pristine/Makefile" "$r/drivers/block/"
	export GIT_AUTHOR_NAME="virtio-blk iopoll developers" \
		GIT_AUTHOR_EMAIL="virtio-blk-iopoll@invalid" \
		GIT_COMMITTER_NAME="virtio-blk iopoll developers" \
		GIT_COMMITTER_EMAIL="virtio-blk-iopoll@invalid" \
		GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000"
	git -C "$r" init -q
	git -C "$r" add -A
	git -C "$r" commit -q -m "pristine $(basename "$source")"
	for f in Kconfig Makefile virtio_blk.c virtio_blk_trace.h virtio_blk_compat.h; do
		cp "$source/drivers/block/$f" "$r/drivers/block/"
	done
	git -C "$r" add -A
	{
		echo "virtio_blk: complete requests from a budgeted irq_poll softirq"
		echo
		echo "Replace the virtio-blk driver with one that can complete requests"
		echo "from irq_poll, under the new option VIRTIO_BLK_IOPOLL (default y)."
		echo
		fragment | sed -n '/^	help$/,$p' | sed '1d;/If unsure/d;s/^	  //' |
			sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
	} | git -C "$r" commit -q -F -
	git -C "$r" format-patch -q -1 -o "$out" >/dev/null
	rm -rf "$r"
	say "patch: $(ls "$out"/*.patch)"
}

# ---------------------------------------------------------------------------
# Build with one setting of VIRTIO_BLK_IOPOLL

build() {
	local s=$1 o=$out/build-iopoll-$1 log ko sym missing imports parms
	log=$out/build-iopoll-$s.log
	mkdir -p "$o"
	cp "/boot/config-$kver" "$o/.config"
	"$source/scripts/config" --file "$o/.config" --module VIRTIO_BLK
	# A module with BTF needs vmlinux to be linked first: no BTF here.
	"$source/scripts/config" --file "$o/.config" --disable DEBUG_INFO_BTF_MODULES
	if [ "$s" = y ]; then
		"$source/scripts/config" --file "$o/.config" --enable VIRTIO_BLK_IOPOLL
	else
		"$source/scripts/config" --file "$o/.config" --disable VIRTIO_BLK_IOPOLL
	fi
	# a fresh object: nothing of an earlier run may pass for this one
	rm -f "$o"/drivers/block/virtio_blk.* "$o"/drivers/block/.virtio_blk.*

	say "VIRTIO_BLK_IOPOLL=$s: olddefconfig, modules_prepare, drivers/block/virtio_blk.ko (log: $log)"
	{
		make -C "$source" O="$o" olddefconfig &&
		make -C "$source" O="$o" -j"$jobs" KBUILD_MODPOST_WARN=1 \
			drivers/block/virtio_blk.ko
	} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "build with VIRTIO_BLK_IOPOLL=$s failed"; }

	# Prove the setting took effect, from Kconfig down to the object.
	# (Outputs go through variables: with pipefail, "| grep -q" can fail
	# on the writer's SIGPIPE.)
	ko=$o/drivers/block/virtio_blk.ko
	imports=$(nm -u "$ko" | awk '{ print $2 }')
	parms=$(modinfo -F parm "$ko" | cut -d: -f1)
	grep -qx 'CONFIG_VIRTIO_BLK=m' "$o/.config" || die "$s: .config lost VIRTIO_BLK=m"
	grep -q -- '-DCONFIG_VIRTIO_BLK_IOPOLL' "$o/drivers/block/.virtio_blk.o.cmd" &&
		die "$s: the compile line defines CONFIG_VIRTIO_BLK_IOPOLL itself"
	if [ "$s" = y ]; then
		grep -qx 'CONFIG_VIRTIO_BLK_IOPOLL=y' "$o/.config" || die "y: not in .config"
		grep -qx 'CONFIG_IRQ_POLL=y' "$o/.config" || die "y: IRQ_POLL not selected"
		grep -qx '#define CONFIG_VIRTIO_BLK_IOPOLL 1' "$o/include/generated/autoconf.h" ||
			die "y: not in autoconf.h"
		for sym in irq_poll_init irq_poll_sched irq_poll_complete irq_poll_disable; do
			grep -qx "$sym" <<<"$imports" || die "y: $ko does not use $sym"
		done
		grep -qx 'blk_iopoll' <<<"$parms" || die "y: no blk_iopoll parameter"
	else
		grep -qx '# CONFIG_VIRTIO_BLK_IOPOLL is not set' "$o/.config" || die "n: not off in .config"
		grep -q 'CONFIG_VIRTIO_BLK_IOPOLL' "$o/include/generated/autoconf.h" &&
			die "n: still in autoconf.h"
		grep -q '^irq_poll_' <<<"$imports" && die "n: $ko still uses irq_poll"
		grep -q '^blk_iopoll' <<<"$parms" && die "n: $ko still has blk_iopoll parameters"
	fi

	# modpost ran without vmlinux.o; check the imports against what the
	# Debian kernel of this config exports instead.
	missing=
	if [ -r "/usr/src/linux-headers-$kver/Module.symvers" ]; then
		for sym in $imports; do
			awk -v s="$sym" '$2 == s { f = 1 } END { exit !f }' \
				"/usr/src/linux-headers-$kver/Module.symvers" || missing+=" $sym"
		done
		[ -z "$missing" ] || die "$s: $kver exports none of:$missing"
	fi
	if grep -E '^[^ ]*virtio_blk[^ ]*: (warning|error):' "$log" >&2; then
		die "$s: the compiler warned about the driver (log: $log)"
	fi

	cp "$ko" "$out/virtio_blk-iopoll-$s.ko"
	say "VIRTIO_BLK_IOPOLL=$s ok: $out/virtio_blk-iopoll-$s.ko" \
		"(irq_poll imports: $(grep -c '^irq_poll_' <<<"$imports" || true)," \
		"parameters: ${parms//$'\n'/ })"
}

# ---------------------------------------------------------------------------

mkdir -p "$out"
if [ -z "$source" ]; then
	cached_tree
	cached=1
else
	if [ ! -f "$source/Makefile" ] || [ ! -d "$source/drivers/block" ]; then
		die "$source is not a kernel source tree"
	fi
	cached=0
fi
integrate "$source"
[ "$integrate_only" = 0 ] || exit 0

[ "$cached" = 0 ] || write_patch

if [ -z "$kver" ]; then
	kver=$(grep -m1 '^6\.12\.' "$top/.cache/kernels" 2>/dev/null || true)
	[ -n "$kver" ] || die "no 6.12 kernel in .cache/kernels (make deps), or give --kver"
fi
[ -r "/boot/config-$kver" ] || die "no /boot/config-$kver (apt-get install linux-image-$kver)"
[ -e "$source/.config" ] && die "$source has a .config: O= builds need a clean tree (make mrproper)"

start=$SECONDS
for s in $settings; do
	case $s in y|n) build "$s" ;; *) die "--settings takes y and/or n" ;; esac
done
say "built in $((SECONDS - start))s"

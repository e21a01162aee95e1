#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS round trip for one kernel (DKMS_KVER, default: the last line of
# .cache/kernels): "make dkms-install" must make modinfo and the rebuilt
# initramfs resolve virtio_blk to our module in updates/dkms, the dkms
# kernel hook must install it for a second kernel (AUTOINSTALL), and a
# guest booted on that root must get it from "modprobe virtio_blk" with the
# examples/ settings applied; "make dkms-remove" must bring back the stock
# module everywhere.  Exit 0 pass, 1 fail, 77 skip (reason printed).
# Two module builds, two initramfs rebuilds, one TCG guest boot: about 2
# minutes here.  The rebuilds use MODULES=list with virtio_blk listed
# (tests/lib/stock-state.sh) unless CHECK_STRESS=1 (make check-stress),
# which keeps the machine's own initramfs-tools settings (MODULES=most on
# Debian: a minute per rebuild on this 2-core machine).
#
# Guest tests boot Debian kernels on the HOST root and load the "stock"
# virtio_blk from the host's /lib/modules.  A DKMS install left behind would
# make them load ours without noticing.  So the round trip runs in a private
# mount namespace whose /usr/lib/modules, /boot, /usr/src, /var/lib/dkms and
# /var/lib/initramfs-tools are overlays on a tmpfs: the real install and
# removal happen there, invisible to everything else on the machine, and
# vanish with the namespace.  Inside, a trap removes the install on
# EXIT/INT/TERM anyway; outside, the real module paths, dkms state and
# initramfs checksums are compared with what they were before.
# DKMS_TEST_REAL=1 runs it without the namespace where one cannot be made
# (same trap, initramfs restored byte for byte from a backup).
set -u
cd "$(dirname "$0")/../.." || exit 1

LOG=
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*${LOG:+ (log: $LOG)}"; exit 1; }

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' dkms.conf)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
if [ -z "$name" ] || [ -z "$ver" ]; then
	fail "dkms.conf lacks PACKAGE_NAME/PACKAGE_VERSION"
fi
# shellcheck source=tests/lib/stock-state.sh
. tests/lib/stock-state.sh

# A module file's contents, uncompressed (initramfs-tools unpacks them).
modcat() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -dcq "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# ---------------------------------------------------------------------------
# Boot kernel $1 under QEMU (scripts/vm/run, no module preloaded) on the
# namespace's root and check in the guest what "modprobe virtio_blk" loads.
# $2: scratch directory; its vm/ is shared with the guest.
guest_check() {
	local k=$1 tmp=$2
	mkdir -p "$tmp/ov/umd" "$tmp/ov/wmd" "$tmp/vm"
	mount -t overlay overlay -o \
		"lowerdir=/etc/modprobe.d,upperdir=$tmp/ov/umd,workdir=$tmp/ov/wmd" \
		/etc/modprobe.d || return 1
	sed 's/^#options /options /' examples/modprobe.d/virtio-blk-iopoll.conf \
		>/etc/modprobe.d/virtio-blk-iopoll.conf
	sed 's/^#\(kernel\.\)/\1/' examples/sysctl.d/90-virtio-blk-iopoll.conf \
		>"$tmp/vm/sysctl.conf"
	cat >"$tmp/vm/guest.sh" <<'GUEST'
set -u
ver=$1 dir=$2
modprobe virtio_blk || { echo "modprobe virtio_blk failed"; exit 3; }
p=$(modinfo -n virtio_blk)
case $p in */updates/dkms/*) ;; *) echo "modinfo in the guest names $p"; exit 3 ;; esac
v=$(cat /sys/module/virtio_blk/version 2>/dev/null)
[ "$v" = "$ver" ] || { echo "the loaded virtio_blk has version '$v', not $ver"; exit 3; }
for o in $(sed -n 's/^options virtio_blk //p' /etc/modprobe.d/virtio-blk-iopoll.conf); do
	got=$(cat "/sys/module/virtio_blk/parameters/${o%%=*}")
	[ "$got" = "${o#*=}" ] || { echo "modprobe.d $o not applied: $got"; exit 4; }
done
sysctl -q -p "$dir/sysctl.conf" || { echo "sysctl -p of the example failed"; exit 5; }
awk -F' *= *' '/^kernel\./ { print $1, $2 }' "$dir/sysctl.conf" | while read -r key val; do
	got=$(cat "/proc/sys/${key//.//}")
	[ "$got" = "$val" ] || { echo "sysctl $key is $got, not $val"; exit 5; }
done || exit 5
echo "guest: $p version $v, examples applied"
GUEST
	scripts/vm/run -k "$k" -m none -o "$tmp/vm" -t 300 -- \
		bash "$tmp/vm/guest.sh" "$ver" "$tmp/vm" >"$tmp/vm.log" 2>&1 || return 1
	echo "# $(grep '^guest: ' "$tmp/vm.log")"
}

# ---------------------------------------------------------------------------
# Inside the namespace (or for real with DKMS_TEST_REAL=1): $2 = kernel,
# $3 = scratch directory.  Prints FAIL:/SKIP: lines like the outer part.
inner() {
	local k=$1 tmp=$2 p i=0 log=$2/dkms.log installed=0
	LOG=$log

	if [ "${DKMS_TEST_REAL:-0}" != 1 ]; then
		mount -t tmpfs -o size=4g tmpfs "$tmp/ov" ||
			skip "cannot mount tmpfs in a private namespace"
		for p in /usr/lib/modules /boot /usr/src /var/lib/dkms \
			/var/lib/initramfs-tools; do
			[ -d "$p" ] || continue
			i=$((i + 1))
			mkdir -p "$tmp/ov/u$i" "$tmp/ov/w$i"
			mount -t overlay overlay -o \
				"lowerdir=$p,upperdir=$tmp/ov/u$i,workdir=$tmp/ov/w$i" "$p" ||
				skip "no overlayfs over $p (DKMS_TEST_REAL=1 runs it for real)"
		done
		# make check rebuilds with MODULES=list (a minute saved per
		# rebuild); make check-stress with the machine's own settings
		if [ "${CHECK_STRESS:-0}" = 1 ]; then
			echo "# initramfs rebuilt with this machine's initramfs-tools settings"
		else
			lean_initramfs "$tmp" ||
				skip "cannot bind-mount over /etc/initramfs-tools"
		fi
	else
		cp -p "/boot/initrd.img-$k" "$tmp/initrd.bak"
		[ -e "/var/lib/initramfs-tools/$k" ] &&
			cp -p "/var/lib/initramfs-tools/$k" "$tmp/initramfs-state.bak"
	fi

	# Whatever happens from here on: uninstall, give the initramfs back.
	# shellcheck disable=SC2317 # runs from the trap
	cleanup() {
		local rc=$?
		trap - EXIT INT TERM
		if [ "$installed" = 1 ] || dkms status -m "$name" 2>/dev/null | grep -q .; then
			echo "# cleanup: removing $name" >>"$log"
			scripts/dkms.sh remove >>"$log" 2>&1 ||
				{ echo "FAIL: cleanup: scripts/dkms.sh remove failed (see $log)"; rc=1; }
		fi
		if [ -e "$tmp/initrd.bak" ]; then
			cp -p "$tmp/initrd.bak" "/boot/initrd.img-$k"
			[ -e "$tmp/initramfs-state.bak" ] &&
				cp -p "$tmp/initramfs-state.bak" "/var/lib/initramfs-tools/$k"
		fi
		if ! [[ $(modpath "$k") =~ $stock_re ]]; then
			echo "FAIL: after cleanup virtio_blk for $k resolves to '$(modpath "$k")'"
			rc=1
		fi
		exit "$rc"
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local stock initrd=/boot/initrd.img-$k t0 t_in t_out f
	stock=$(modpath "$k")
	[[ $stock =~ $stock_re ]] || fail "$k: virtio_blk resolves to '$stock' before the test"
	[ -e "$initrd" ] || skip "no $initrd to check the initramfs with"
	lsinitramfs "$initrd" | grep -Eq "$ours_re" &&
		fail "$initrd already holds a dkms virtio_blk"

	# --- install ----------------------------------------------------------
	t0=$SECONDS
	installed=1
	make --no-print-directory dkms-install KVER="$k" >>"$log" 2>&1 ||
		{ tail -n 20 "$log"; fail "make dkms-install KVER=$k failed"; }
	t_in=$((SECONDS - t0))

	p=$(modpath "$k")
	[[ $p =~ $ours_re ]] || fail "after install modinfo -n names '$p', not updates/dkms"
	[ "$(modinfo -F description "$p")" = \
		"Virtio block driver with budgeted irq_poll completion" ] ||
		fail "$p is not our driver: '$(modinfo -F description "$p")'"
	modinfo -F parm "$p" | grep -q '^blk_iopoll_budget:' ||
		fail "$p has no blk_iopoll_budget parameter (built without IOPOLL?)"
	[ "$(modinfo -F vermagic "$p" | cut -d' ' -f1)" = "$k" ] ||
		fail "$p vermagic is not $k"
	[ "$(modinfo -F version "$p")" = "$ver" ] ||
		fail "$p has version '$(modinfo -F version "$p")', dkms.conf says $ver"
	dkms status -m "$name" -v "$ver" -k "$k" 2>/dev/null | grep -q ': installed' ||
		fail "dkms status does not list $name/$ver installed for $k"
	for f in "${kernels[@]}"; do
		[ "$f" = "$k" ] && continue
		[[ $(modpath "$f") =~ $stock_re ]] ||
			fail "installing for $k changed $f: '$(modpath "$f")'"
	done

	# A kernel installed later: apt runs the dkms kernel hook, which must
	# build and install ours for it (AUTOINSTALL).  No initramfs here:
	# initramfs-tools' own hook runs after dkms' and is tested above.
	local other=
	for f in "${kernels[@]}"; do
		[ "$f" != "$k" ] && [ -e "/lib/modules/$f/build/Makefile" ] && other=$f
	done
	if grep -q '^AUTOINSTALL="yes"' dkms.conf && [ -n "$other" ]; then
		/etc/kernel/postinst.d/dkms "$other" >>"$log" 2>&1 ||
			fail "the dkms kernel hook failed for $other"
		[[ $(modpath "$other") =~ $ours_re ]] ||
			fail "AUTOINSTALL: after the kernel hook $other resolves to '$(modpath "$other")'"
		dkms remove -m "$name" -v "$ver" -k "$other" >>"$log" 2>&1 ||
			fail "dkms remove -k $other failed"
		[[ $(modpath "$other") =~ $stock_re ]] ||
			fail "$other did not go back to stock: '$(modpath "$other")'"
	fi

	# The initramfs holds the very same file, and its modules.dep maps
	# virtio_blk there, so early boot loads ours.
	rm -rf "$tmp/ir"
	unmkinitramfs "$initrd" "$tmp/ir" || fail "unmkinitramfs $initrd failed"
	f=$(find "$tmp/ir" -path "*/lib/modules/$k/updates/dkms/virtio_blk.ko*" | head -n 1)
	[ -n "$f" ] || fail "rebuilt $initrd lacks updates/dkms/virtio_blk"
	cmp -s "$f" <(modcat "$p") ||
		fail "the initramfs copy of virtio_blk differs from $p"
	p=$(find "$tmp/ir" -path "*/lib/modules/$k/modules.dep" | head -n 1)
	[ "$(grep -E '(^|/)virtio_blk\.ko[^:]*:' "$p" | cut -d: -f1)" = \
		"updates/dkms/$(basename "$f")" ] ||
		fail "the initramfs modules.dep does not map virtio_blk (only) to updates/dkms"
	rm -rf "$tmp/ir"

	# A guest of that kernel on this (namespace's) root: "modprobe
	# virtio_blk" must load the dkms module, with the options of
	# examples/modprobe.d in /etc/modprobe.d, and "sysctl -p" must take
	# examples/sysctl.d; commented-out example lines are tried as well.
	if [ "${DKMS_TEST_REAL:-0}" = 1 ]; then
		echo "# guest check skipped: DKMS_TEST_REAL=1 would write /etc/modprobe.d"
	elif [ ! -x scripts/vm/run ] || ! command -v qemu-system-x86_64 >/dev/null; then
		echo "# guest check skipped: no scripts/vm/run or QEMU"
	else
		guest_check "$k" "$tmp" ||
			fail "guest check: $(grep -v '^vm: accel' "$tmp/vm.log" | tail -n 3 | tr '\n' ' ')"
	fi

	# --- back to stock ----------------------------------------------------
	t0=$SECONDS
	make --no-print-directory dkms-remove KVER="$k" >>"$log" 2>&1 ||
		{ tail -n 20 "$log"; fail "make dkms-remove KVER=$k failed"; }
	installed=0
	t_out=$((SECONDS - t0))

	[ "$(modpath "$k")" = "$stock" ] ||
		fail "after removal modinfo -n names '$(modpath "$k")', not $stock"
	compgen -G "/lib/modules/$k/updates/dkms/virtio_blk.ko*" >/dev/null &&
		fail "updates/dkms/virtio_blk left in /lib/modules/$k"
	dkms status -m "$name" 2>/dev/null | grep -q . && fail "dkms still lists: $(dkms status -m "$name" 2>/dev/null)"
	compgen -G "/usr/src/$name-*" >/dev/null && fail "/usr/src/$name-* left behind"
	lsinitramfs "$initrd" | grep -Eq "$ours_re" &&
		fail "$initrd still holds updates/dkms/virtio_blk after dkms-remove"
	lsinitramfs "$initrd" | grep -Eq "$stock_re" ||
		fail "$initrd lost the stock virtio_blk"

	echo "# $k: dkms-install ${t_in}s, dkms-remove ${t_out}s (initramfs rebuilt by both)"
	exit 0
}

if [ "${1:-}" = --inner ]; then
	mapfile -t kernels <.cache/kernels
	inner "$2" "$3"
fi

# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (installs with dkms)"
for t in dkms update-initramfs lsinitramfs unmkinitramfs modinfo unshare; do
	command -v "$t" >/dev/null || skip "$t not installed (run 'make deps')"
done
[ -s .cache/kernels ] || skip "no .cache/kernels (run 'make deps')"
mapfile -t kernels <.cache/kernels
k=${DKMS_KVER:-$(tail -n 1 .cache/kernels)}
[ -e "/lib/modules/$k/build/Makefile" ] || skip "no headers for $k (run 'make deps')"
[ -e "/boot/initrd.img-$k" ] || skip "no /boot/initrd.img-$k"

# The machine must be clean before: otherwise "stock" guest tests are
# already loading something else, and this test would hide it.
for f in "${kernels[@]}"; do
	[[ $(modpath "$f") =~ $stock_re ]] ||
		fail "virtio_blk for $f resolves to '$(modpath "$f")', not the stock module: run 'make dkms-remove'"
done
dkms status -m "$name" 2>/dev/null | grep -q . &&
	fail "$name is registered with dkms already ($(dkms status -m "$name" 2>/dev/null)): run 'make dkms-remove'"

declare -A initrd_sum
initrd_sums "${kernels[@]}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dkms-test.XXXXXX") || exit 1
mkdir -p "$tmp/ov"
t0=$SECONDS
if [ "${DKMS_TEST_REAL:-0}" = 1 ]; then
	bash "$0" --inner "$k" "$tmp"
else
	unshare -m --propagation private bash "$0" --inner "$k" "$tmp"
fi
rc=$?

# Outside again: the real system must be exactly as before.
bad=$(stock_state_diff "$name" "${kernels[@]}")
if [ -n "$bad" ]; then
	echo "FAIL: THE HOST IS NOT BACK TO THE STOCK virtio_blk:$bad" \
		"stock-module guest tests would load the wrong driver; log: $tmp/dkms.log"
	exit 1
fi
[ "$rc" = 0 ] || exit "$rc"
rm -rf "$tmp"
echo "PASS ($((SECONDS - t0))s, $k)"
exit 0

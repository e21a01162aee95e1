#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian package round trip: "make deb" builds
# virtio-blk-iopoll-dkms_<version>_all.deb; "apt-get install ./<deb>" must
# build and install our module with DKMS for every kernel of .cache/kernels
# (updates/dkms, MODULE_VERSION = the package version), rebuild their
# initramfs with it, ship vblkstat and the examples, and a guest booted on
# that root must load it with "modprobe virtio_blk" and show its disk in
# vblkstat; "apt-get remove" must bring back the stock module and
# initramfs everywhere.  Exit 0 pass, 1 fail, 77 skip (reason printed).
# Two module builds, four initramfs rebuilds (with MODULES=list, see
# below), one TCG guest boot; the "# " lines give the times.
#
# Like tests/host/dkms.sh, everything that installing touches happens in a
# private mount namespace whose /usr, /boot and /var are overlays on a
# tmpfs (dpkg's database included), and initramfs-tools is bind-mounted
# to MODULES=list with virtio_blk: invisible to the rest of the machine,
# gone with the namespace.  Inside, a trap purges the package on exit
# anyway; outside, the real module paths, dpkg and dkms state and the
# initramfs checksums are compared with what they were before.
set -u
cd "$(dirname "$0")/../.." || exit 1

LOG=
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*${LOG:+ (log: $LOG)}"; exit 1; }

pkg=virtio-blk-iopoll-dkms
name=virtio-blk-iopoll
# shellcheck source=tests/lib/stock-state.sh
. tests/lib/stock-state.sh
installed() { dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q ' installed$'; }

# ---------------------------------------------------------------------------
# Inside the namespace: $2 = .deb, $3 = version, $4 = kernel to boot,
# $5 = scratch directory.
inner() {
	local deb=$1 ver=$2 k=$3 tmp=$4 p i=0 f log=$4/deb.log
	LOG=$log
	mount -t tmpfs -o size=4g tmpfs "$tmp/ov" ||
		skip "cannot mount tmpfs in a private namespace"
	for p in /usr /boot /var; do
		i=$((i + 1))
		mkdir -p "$tmp/ov/u$i" "$tmp/ov/w$i"
		mount -t overlay overlay -o \
			"lowerdir=$p,upperdir=$tmp/ov/u$i,workdir=$tmp/ov/w$i" "$p" ||
			skip "no overlayfs over $p"
	done

	# initramfs-tools with MODULES=list (tests/lib/stock-state.sh), in
	# here only; tests/host/dkms.sh under make check-stress rebuilds with
	# the machine's own settings.
	lean_initramfs "$tmp" || skip "cannot bind-mount over /etc/initramfs-tools"

	# shellcheck disable=SC2317 # runs from the trap
	cleanup() {
		local rc=$?
		trap - EXIT INT TERM
		if installed; then
			echo "# cleanup: purging $pkg" >>"$log"
			dpkg --purge "$pkg" >>"$log" 2>&1 ||
				{ echo "FAIL: cleanup: dpkg --purge $pkg failed (see $log)"; rc=1; }
		fi
		exit "$rc"
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	export DEBIAN_FRONTEND=noninteractive
	local t0=$SECONDS t_in t_out
	apt-get install -y -q --no-install-recommends "$deb" >>"$log" 2>&1 ||
		{ tail -n 20 "$log"; fail "apt-get install $deb failed"; }
	t_in=$((SECONDS - t0))
	installed || fail "$pkg is not installed after apt-get install"

	for f in "${kernels[@]}"; do
		p=$(modpath "$f")
		[[ $p =~ $ours_re ]] || fail "$f: after install modinfo -n names '$p', not updates/dkms"
		[ "$(modinfo -F version "$p")" = "$ver" ] ||
			fail "$f: $p has version '$(modinfo -F version "$p")', the package $ver"
		[ "$(modinfo -F description "$p")" = \
			"Virtio block driver with budgeted irq_poll completion" ] ||
			fail "$f: $p is not our driver"
		modinfo -F parm "$p" | grep -q '^blk_iopoll:' || fail "$f: $p has no blk_iopoll parameter"
		[ "$(modinfo -F vermagic "$p" | cut -d' ' -f1)" = "$f" ] || fail "$f: $p vermagic is not $f"
		dkms status -m "$name" -v "$ver" -k "$f" 2>/dev/null | grep -q ': installed' ||
			fail "dkms does not list $name/$ver installed for $f"
		if [ -e "/boot/initrd.img-$f" ]; then
			lsinitramfs "/boot/initrd.img-$f" | grep -Eq "$ours_re" ||
				fail "/boot/initrd.img-$f lacks updates/dkms/virtio_blk after the install"
		fi
	done
	[ -x /usr/sbin/vblkstat ] || fail "no /usr/sbin/vblkstat"
	for f in modprobe.d/virtio-blk-iopoll.conf sysctl.d/90-virtio-blk-iopoll.conf; do
		[ -f "/usr/share/doc/$pkg/examples/$f" ] || fail "no examples/$f in /usr/share/doc/$pkg"
	done
	dpkg-query -W -f '${Conffiles}' "$pkg" | grep -q . && fail "$pkg has conffiles"

	# A guest of kernel $k on this root: "modprobe virtio_blk" loads the
	# package's module, and the packaged vblkstat sees the disk.
	if [ ! -x scripts/vm/run ] || ! command -v qemu-system-x86_64 >/dev/null; then
		echo "# guest check skipped: no scripts/vm/run or QEMU"
	else
		mkdir -p "$tmp/vm"	# -o: the guest sees it at the same path
		cat >"$tmp/vm/guest.sh" <<'GUEST'
set -u
ver=$1
modprobe virtio_blk || { echo "modprobe virtio_blk failed"; exit 3; }
p=$(modinfo -n virtio_blk)
case $p in */updates/dkms/*) ;; *) echo "modinfo in the guest names $p"; exit 3 ;; esac
v=$(cat /sys/module/virtio_blk/version 2>/dev/null)
[ "$v" = "$ver" ] || { echo "the loaded virtio_blk has version '$v', not $ver"; exit 3; }
for _ in $(seq 50); do [ -e /sys/block/vda ] && break; sleep 0.1; done
out=$(/usr/sbin/vblkstat -p 0.2 1) || { echo "vblkstat failed: $out"; exit 4; }
echo "$out" | grep -q '^t=0.00 event=start interval=0.2 disks=vda$' ||
	{ echo "vblkstat printed: $out"; exit 4; }
echo "$out" | grep -q ' disk=vda q=0 .*completed=' || { echo "vblkstat printed: $out"; exit 4; }
echo "guest: $p version $v, vblkstat sees vda"
GUEST
		scripts/vm/run -k "$k" -m none -o "$tmp/vm" -t 300 \
			-d "-blockdev driver=null-co,node-name=n0,size=67108864,read-zeroes=on -device virtio-blk-pci,drive=n0,serial=n0" \
			-- bash "$tmp/vm/guest.sh" "$ver" >"$tmp/vm.log" 2>&1 ||
			fail "guest check: $(grep -v '^vm: accel' "$tmp/vm.log" | tail -n 3 | tr '\n' ' ')"
		echo "# $(grep '^guest: ' "$tmp/vm.log")"
	fi

	# --- back to stock ----------------------------------------------------
	t0=$SECONDS
	apt-get remove -y -q "$pkg" >>"$log" 2>&1 ||
		{ tail -n 20 "$log"; fail "apt-get remove $pkg failed"; }
	t_out=$((SECONDS - t0))
	installed && fail "$pkg still installed after apt-get remove"
	for f in "${kernels[@]}"; do
		[[ $(modpath "$f") =~ $stock_re ]] ||
			fail "$f: after removal modinfo -n names '$(modpath "$f")', not the stock module"
		compgen -G "/lib/modules/$f/updates/dkms/virtio_blk.ko*" >/dev/null &&
			fail "updates/dkms/virtio_blk left in /lib/modules/$f"
		if [ -e "/boot/initrd.img-$f" ]; then
			lsinitramfs "/boot/initrd.img-$f" >"$tmp/ls"
			grep -Eq "$ours_re" "$tmp/ls" &&
				fail "/boot/initrd.img-$f still holds updates/dkms/virtio_blk"
			grep -Eq "$stock_re" "$tmp/ls" || fail "/boot/initrd.img-$f lost the stock virtio_blk"
		fi
	done
	dkms status -m "$name" 2>/dev/null | grep -q . && fail "dkms still lists: $(dkms status -m "$name")"
	compgen -G "/usr/src/$name-*" >/dev/null && fail "/usr/src/$name-* left behind"
	echo "# $pkg $ver: apt install ${t_in}s (${#kernels[@]} kernels), apt remove ${t_out}s"
	exit 0
}

if [ "${1:-}" = --inner ]; then
	mapfile -t kernels <.cache/kernels
	inner "$2" "$3" "$4" "$5"
fi

# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (installs with dpkg)"
for t in dpkg-buildpackage dh_dkms dkms apt-get update-initramfs lsinitramfs modinfo unshare; do
	command -v "$t" >/dev/null || skip "$t not installed (run 'make deps')"
done
[ -s .cache/kernels ] || skip "no .cache/kernels (run 'make deps')"
mapfile -t kernels <.cache/kernels
for f in "${kernels[@]}"; do
	[ -e "/lib/modules/$f/build/Makefile" ] || skip "no headers for $f (run 'make deps')"
done
k=${DEB_KVER:-$(tail -n 1 .cache/kernels)}

installed && fail "$pkg is installed on this machine: apt-get remove $pkg"
for f in "${kernels[@]}"; do
	[[ $(modpath "$f") =~ $stock_re ]] ||
		fail "virtio_blk for $f resolves to '$(modpath "$f")', not the stock module"
done
dkms status -m "$name" 2>/dev/null | grep -q . &&
	fail "$name is registered with dkms already: $(dkms status -m "$name")"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb-test.XXXXXX") || exit 1
mkdir -p "$tmp/ov"
t0=$SECONDS
ver=$(scripts/version.sh) || fail "scripts/version.sh failed"
make --no-print-directory deb >"$tmp/make-deb.log" 2>&1 ||
	{ tail -n 20 "$tmp/make-deb.log"; fail "make deb failed"; }
deb=$PWD/build/deb/${pkg}_${ver}_all.deb
[ -s "$deb" ] || fail "make deb did not produce $deb"
f=$(dpkg-deb -f "$deb" Version)
[ "$f" = "$ver" ] || fail "$deb says Version $f, scripts/version.sh $ver"
dpkg-deb -c "$deb" | grep -q "\./usr/src/$name-$ver/dkms.conf\$" ||
	fail "$deb lacks usr/src/$name-$ver/dkms.conf"
echo "# make deb: $((SECONDS - t0))s, $(basename "$deb")"

declare -A initrd_sum
initrd_sums "${kernels[@]}"

unshare -m --propagation private bash "$0" --inner "$deb" "$ver" "$k" "$tmp"
rc=$?

# Outside again: the real system must be exactly as before.
bad=$(stock_state_diff "$name" "${kernels[@]}")
installed && bad+=" dpkg lists $pkg installed;"
if [ -n "$bad" ]; then
	echo "FAIL: THE HOST IS NOT BACK TO THE STOCK virtio_blk:$bad log: $tmp/deb.log"
	exit 1
fi
[ "$rc" = 0 ] || exit "$rc"
rm -rf "$tmp"
echo "PASS ($((SECONDS - t0))s, $k)"
exit 0

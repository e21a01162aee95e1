# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by every guest test (tests/guest/*.sh); they run as root inside a
# guest started by scripts/vm/run, driven by tests/lib/guest-runner.sh.
#
# Result protocol: print exactly one of
#   ok - NAME            exit 0
#   not ok - NAME: why   exit 1
#   skip - NAME: why     exit 77
# Lines starting with "# " are figures/diagnostics the runner always shows.
#
# Environment from the runner: TEST_MANIFEST (one disk per line:
# "serial=S size=BYTES kind=file|null [key=value...]"), TEST_MODE (stock,
# iopoll0, iopoll1), TEST_SCRATCH (a per-test tmpfs dir), plus the VM_*
# variables of scripts/vm/run.
set -u
T_NAME=$(basename "$0" .sh)

pass() { echo "ok - $T_NAME"; exit 0; }
fail() { echo "not ok - $T_NAME: $*"; exit 1; }
skip() { echo "skip - $T_NAME: $*"; exit 77; }
info() { echo "# $*"; }

# Field KEY of the manifest line of disk SERIAL (empty when absent).
mget() {
	awk -v s="serial=$1" -v k="$2=" '$1 == s {
		for (i = 2; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1)
	}' "${TEST_MANIFEST:?}"
}

# Serials of all disks in this boot.
manifest_serials() { sed -n 's/^serial=\([^ ]*\).*/\1/p' "${TEST_MANIFEST:?}"; }

# vdX carrying SERIAL, by /sys/block/vd*/serial (never by name).
disk_by_serial() {
	local f
	for f in /sys/block/vd*/serial; do
		[ -r "$f" ] || continue
		if [ "$(cat "$f" 2>/dev/null)" = "$1" ]; then
			f=${f%/serial}
			echo "${f##*/}"
			return 0
		fi
	done
	return 1
}

# DISK=vdX of SERIAL; skips the test when the boot has no such disk and
# fails it when the disk is configured but the guest does not show it.
need_disk() {
	[ -n "$(mget "$1" size)" ] || skip "no disk '$1' in this boot configuration"
	DISK=$(disk_by_serial "$1") || fail "disk with serial '$1' not found in /sys/block"
}

# The guest runs our driver with the iopoll interface (not the stock one).
ours() { [ "${VM_MODULE:-stock}" != stock ] && [ -e /proc/sys/kernel/blk_iopoll ]; }
need_ours() {
	[ "${VM_MODULE:-stock}" != stock ] || skip "stock driver has no iopoll interface"
	[ -e /proc/sys/kernel/blk_iopoll ] ||
		fail "our module is loaded but /proc/sys/kernel/blk_iopoll is missing"
}

# virtioN of a vdX.
virtio_of() { basename "$(readlink -f "/sys/block/$1/device")"; }

# "name count" for every request-vq interrupt line of vdX, count summed
# over CPUs (names virtioN-req.M).
vq_irqs() {
	local v
	v=$(virtio_of "$1")
	awk -v re="^$v-req\\\\.[0-9]+\$" 'NR == 1 { ncpu = NF; next }
		$NF ~ re { s = 0; for (i = 2; i <= ncpu + 1; i++) s += $i; print $NF, s }' \
		/proc/interrupts
}
vq_irq_total() { vq_irqs "$1" | awk '{ s += $2 } END { print s + 0 }'; }

# Sum of debugfs counter KEY over the request queues of vdX.
dbg_sum() {
	cat /sys/kernel/debug/virtio_blk/"$1"/q* 2>/dev/null |
		awk -v k="$2" '$1 == k { s += $2; n++ } END { if (n) print s; else exit 1 }'
}

# Field N (1-based) of /sys/block/vdX/stat.
bstat() { awk -v n="$2" '{ print $n }' "/sys/block/$1/stat"; }

# fio with its output in $TEST_SCRATCH/fio-<tag>.log; on failure the log
# tail is shown. Usage: run_fio TAG fio-args...
run_fio() {
	local tag=$1 log
	shift
	log=${TEST_SCRATCH:-/tmp}/fio-$tag.log
	if ! fio --output="$log" "$@"; then
		info "fio $tag failed:"
		tail -n 20 "$log" | sed 's/^/#   /'
		return 1
	fi
	if grep -qiE 'verify: bad|crc32c: verify failed|bad magic' "$log"; then
		info "fio $tag reported verify errors:"
		grep -iE 'verify' "$log" | head -n 10 | sed 's/^/#   /'
		return 1
	fi
}

# Read sysfs/procfs value; write one and report failure (with errno text).
write_to() {	# FILE VALUE -> 0 ok, 1 failed; error text in $WRITE_ERR
	WRITE_ERR=$( { printf '%s\n' "$2" >"$1"; } 2>&1 )
}

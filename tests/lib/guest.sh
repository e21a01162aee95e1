# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by every guest test (tests/guest/*.sh); they run as root inside a
# guest started by scripts/vm/run, driven by tests/lib/guest-runner.sh.
#
# Result protocol: tests/lib/result.sh.
#
# Environment from the runner: TEST_MANIFEST (one disk per line:
# "serial=S size=BYTES kind=file|null [key=value...]"), TEST_MODE (stock,
# iopoll0, iopoll1, iopoll1p, iopoll1d, noiopoll), TEST_SCRATCH (a per-test tmpfs dir, also
# the cwd), TEST_KO (the virtio_blk.ko loaded now, for reloading), plus the
# VM_* variables of scripts/vm/run. A test with a line "# vmtest: once"
# runs in the first mode of a boot only (it switches modes itself); only
# tests with "# vmtest: core" also run against the IOPOLL=n build.
set -u
# shellcheck source=tests/lib/result.sh
. "${BASH_SOURCE[0]%/*}/result.sh"

# The manifest, parsed once with builtins only: under TCG every fork+exec
# of a dynamic binary costs 0.1-0.3 s, so helpers avoid external commands.
declare -A MANIFEST=()
SERIALS=()
if [ -r "${TEST_MANIFEST:-}" ]; then
	while read -r first rest; do
		[[ $first == serial=* ]] || continue
		_s=${first#serial=}
		SERIALS+=("$_s")
		for kv in $rest; do MANIFEST[$_s.${kv%%=*}]=${kv#*=}; done
	done <"$TEST_MANIFEST"
	unset _s
fi

# Field KEY of disk SERIAL in the manifest (empty when absent).
mget() { printf '%s\n' "${MANIFEST[$1.$2]:-}"; }

# Serials of all disks in this boot.
manifest_serials() { printf '%s\n' "${SERIALS[@]}"; }

# vdX carrying SERIAL, by /sys/block/vd*/serial (never by name).
disk_by_serial() {
	local f s
	for f in /sys/block/vd*/serial; do
		s=
		# the serial attribute has no trailing newline: read fails at EOF
		read -r s <"$f" 2>/dev/null || [ -n "$s" ] || continue
		if [ "$s" = "$1" ]; then
			f=${f%/serial}
			echo "${f##*/}"
			return 0
		fi
	done
	return 1
}

# DISK=vdX of SERIAL; skips the test when the boot has no such disk and
# fails it when the disk is configured but the guest does not show it.
# shellcheck disable=SC2034 # DISK is for the tests
need_disk() {
	[ -n "${MANIFEST[$1.size]:-}" ] || skip "no disk '$1' in this boot configuration"
	DISK=$(disk_by_serial "$1") || fail "disk with serial '$1' not found in /sys/block"
}

# VAR=first line of FILE, without a fork. Usage: rd VAR FILE
# (true when something was read: sysfs 'serial' lacks the final newline)
rd() { read -r "$1" <"$2" || [ -n "${!1}" ]; }
# First line of FILE on stdout, without an exec (use instead of cat).
val() { local v; rd v "$1" && printf '%s\n' "$v"; }

# The guest runs our driver with the iopoll interface (not the stock one).
ours() { [ "${VM_MODULE:-stock}" != stock ] && [ -e /proc/sys/kernel/blk_iopoll ]; }
need_ours() {
	[ "${VM_MODULE:-stock}" != stock ] || skip "stock driver has no iopoll interface"
	[ "${TEST_MODE:-}" != noiopoll ] || skip "IOPOLL=n build has no iopoll interface"
	[ -e /proc/sys/kernel/blk_iopoll ] ||
		fail "our module is loaded but /proc/sys/kernel/blk_iopoll is missing"
}

# For tests that switch the controller themselves: kernel.blk_iopoll,
# blk_iopoll_defer_us and blk_iopoll_adaptive go back to their present
# values when the test exits.
restore_iopoll_on_exit() {
	local s=/proc/sys/kernel k t=
	for k in blk_iopoll blk_iopoll_defer_us blk_iopoll_adaptive; do
		t+="echo $(val $s/$k) >$s/$k; "
	done
	# shellcheck disable=SC2064 # the values are taken now
	trap "$t" EXIT
}

# virtioN of a vdX.
virtio_of() { local p; p=$(readlink -f "/sys/block/$1/device"); echo "${p##*/}"; }

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
bstat() { local a; read -ra a <"/sys/block/$1/stat"; echo "${a[$2 - 1]}"; }

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
	# shellcheck disable=SC2034 # WRITE_ERR is for the tests
	WRITE_ERR=$( { printf '%s\n' "$2" >"$1"; } 2>&1 )
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Module unload/load cycles with every disk present: 10 cycles (100 with
# TEST_STRESS=1), alternating blk_iopoll=0/1 at load with our module, and
# in each cycle a 64k write to data0 and a read of null0 started and
# finished before the next unload. Every load must give back the same
# vdX names (a leaked index would shift them) and one debugfs directory
# per disk; at the end every block written survives.
# vmtest: once (reloads the module itself)
. "${0%/*}/../lib/guest.sh"

ko=${TEST_KO:?}
need_disk data0
need_disk null0
cycles=10
[ -z "${TEST_STRESS:-}" ] || cycles=100
names() { local f; for f in /sys/block/vd*; do printf '%s ' "${f##*/}"; done; }
before=$(names)
is_ours=
ours && is_ours=1
src=$TEST_SCRATCH/src
head -c $((cycles * 65536)) /dev/urandom >"$src"
mkfifo "$TEST_SCRATCH/tick"
exec {tick}<>"$TEST_SCRATCH/tick"

load() {	# CYCLE
	local p=() s ok _
	[ -z "$is_ours" ] || p=(blk_iopoll=$(($1 % 2)))
	# shellcheck disable=SC2086 # parameters are separate words
	insmod "$ko" "${p[@]}" ${VM_MODPARAMS:-} || fail "cycle $1: insmod $ko ${p[*]} failed"
	for _ in $(seq 300); do
		ok=1
		for s in "${SERIALS[@]}"; do
			disk_by_serial "$s" >/dev/null || { ok=; break; }
		done
		[ -n "$ok" ] && return 0
		read -rt 0.1 -u "$tick"
	done
	fail "cycle $1: not every disk came back within 30 s (have: $(names))"
}

for ((i = 0; i < cycles; i++)); do
	rmmod virtio_blk || fail "cycle $i: rmmod failed"
	load $i
	[ "$(names)" = "$before" ] || fail "cycle $i: disks are '$(names)', were '$before'"
	if [ -n "$is_ours" ]; then
		[ "$(val /proc/sys/kernel/blk_iopoll)" = $((i % 2)) ] ||
			fail "cycle $i: loaded with blk_iopoll=$((i % 2)), sysctl says $(val /proc/sys/kernel/blk_iopoll)"
		dbg=(/sys/kernel/debug/virtio_blk/*)
		[ ${#dbg[@]} -eq ${#SERIALS[@]} ] ||
			fail "cycle $i: ${#dbg[@]} debugfs directories for ${#SERIALS[@]} disks"
	fi
	d=$(disk_by_serial data0) n=$(disk_by_serial null0)
	dd if="/dev/$n" of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null &
	dd if="$src" of="/dev/$d" bs=64k skip=$i seek=$i count=1 oflag=direct 2>/dev/null ||
		fail "cycle $i: write to data0 failed"
	wait $! || fail "cycle $i: read of null0 failed"
done
d=$(disk_by_serial data0)
cmp <(dd if="/dev/$d" bs=64k count=$cycles iflag=direct 2>/dev/null) "$src" ||
	fail "data written across the cycles differs on read-back"
info "$cycles unload/load cycles with ${#SERIALS[@]} disks: same names, data intact"
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# CPU hotplug during I/O: CPU1 goes offline and online in a loop while
# two fio jobs write and verify on a disk with one queue per CPU. Taking a
# CPU down drains its hardware queue and hands any poller scheduled there
# to a live CPU; nothing may be lost or hang, and (runner) no splat.
# Rounds of fio repeat until CPU1 went down and up 10 times (100 with
# TEST_STRESS=1).
# vmtest: boot shapes
. "${0%/*}/../lib/guest.sh"

need_disk nq8
d=$DISK
on=/sys/devices/system/cpu/cpu1/online
[ -w $on ] || skip "CPU1 cannot be taken offline here"
want=10
[ -z "${TEST_STRESS:-}" ] || want=100
cycles=$TEST_SCRATCH/cycles

mkfifo "$TEST_SCRATCH/tick"
exec {tick}<>"$TEST_SCRATCH/tick"
# TERM waits for the builtin in progress: $cycles is never left half-written
flipper() {
	local n=0
	trap 'exit 0' TERM
	while :; do
		echo 0 >$on || exit 1
		read -rt 0.$((RANDOM % 200 + 100)) -u "$tick"
		echo 1 >$on || exit 1
		n=$((n + 1))
		echo $n >"$cycles"
		read -rt 0.$((RANDOM % 200 + 100)) -u "$tick"
	done
}
flipper 2>"$TEST_SCRATCH/flip.err" &
fpid=$!
trap 'kill $fpid 2>/dev/null; wait $fpid 2>/dev/null; echo 1 >$on' EXIT

round=0 n=0
while [ "${n:-0}" -lt $want ] && [ $round -lt $((want * 2)) ]; do
	round=$((round + 1))
	run_fio "round$round" --randseed=$round --filename="/dev/$d" \
		--ioengine=libaio --direct=1 --rw=randwrite --bsrange=4k-64k \
		--iodepth=32 --numjobs=2 --size=4M --offset_increment=4M \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --name=hotplug ||
		fail "fio round $round: write/verify failed during CPU hotplug"
	kill -0 $fpid 2>/dev/null ||
		fail "taking CPU1 off/online failed: $(head -n 1 "$TEST_SCRATCH/flip.err")"
	read -r n <"$cycles" 2>/dev/null
done
info "$round fio rounds (2 jobs, QD32, verify) across ${n:-0} offline/online cycles of CPU1"
[ "${n:-0}" -ge $want ] || fail "only ${n:-0} hotplug cycles in $round rounds"
pass

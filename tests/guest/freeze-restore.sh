#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Freeze/restore (the driver's system-sleep callbacks) on the data disk:
# during fio write+verify rounds (QD16, 2 jobs; with deferred re-arm in
# iopoll1d, so that a poller timer may be pending at the freeze) a cycle
# every 20-150 ms, at least 10 of them; then between runs: data written,
# a cycle with the disk idle, the same data verified by a second fio.
# I/O resumes after every cycle, nothing fails verification, and (runner)
# the kernel log stays clean. With our module, a cache mode set through
# cache_type survives the cycle (the device reset alone would bring back
# the device's default).
#
# The cycle is tests/helpers/virtio_pm_cycle.ko: virtio_device_freeze(),
# hold, virtio_device_restore() on this one device, what the virtio
# transports' suspend/resume callbacks do. A whole-guest suspend in PM test
# mode (/sys/power/pm_test=devices, freeze) cannot be used here: it also
# resets the virtio-9p devices the guest runs from, which have no
# freeze/restore, and every later file access hangs.
# vmtest: core (also run against the IOPOLL=n build)
. "${0%/*}/../lib/guest.sh"

need_disk data0
d=$DISK
v=$(virtio_of "$d")
helper=$(cd "${0%/*}/../.." && pwd)/build/$(uname -r)-helpers/virtio_pm_cycle.ko
P=/sys/module/virtio_pm_cycle/parameters
[ -f "$helper" ] || fail "no $helper ('make helpers KVER=$(uname -r)')"
if [ ! -d $P ]; then
	insmod "$helper" || fail "insmod $helper failed"
	trap 'rmmod virtio_pm_cycle' EXIT
fi
mkfifo "$TEST_SCRATCH/tick"
exec {tick}<>"$TEST_SCRATCH/tick"

ncycles=0
cycle() {
	write_to $P/cycle "$v" || fail "freeze/restore of $v ($d) failed: $WRITE_ERR"
	ncycles=$((ncycles + 1))
}

tp0=0
ours && [ "$TEST_MODE" = iopoll1d ] && tp0=$(dbg_sum "$d" timer_polls)

# during I/O: a cycler in the background, fio rounds until it did >= 10
# The status file is replaced by rename, never rewritten in place: a reader
# (or the kill below) landing mid-write must not see it empty.
report() {
	echo "$*" >"$TEST_SCRATCH/cycles.new" && mv -f "$TEST_SCRATCH/cycles.new" "$TEST_SCRATCH/cycles"
}
cycler() {
	local n=0 p
	while :; do
		printf -v p 0.%03d $((RANDOM % 131 + 20))
		read -rt "$p" -u "$tick"
		write_to $P/cycle "$v" || { report fail "$n $WRITE_ERR"; return 1; }
		n=$((n + 1))
		report ok $n
	done
}
cycler &
cpid=$!
round=0 n=0 st=ok
while :; do
	round=$((round + 1))
	run_fio "round$round" --randseed=$round --filename="/dev/$d" \
		--ioengine=libaio --direct=1 --bsrange=4k-64k --iodepth=16 \
		--numjobs=2 --size=4M --offset_increment=4M --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --group_reporting \
		--name=randwrite --rw=randwrite ||
		{ kill $cpid; fail "fio round $round: write/verify failed across freeze/restore"; }
	read -r st n _ <"$TEST_SCRATCH/cycles" 2>/dev/null
	[ "$st" = ok ] || break
	[ "${n:-0}" -ge 10 ] || [ $round -ge 20 ] || continue
	break
done
kill $cpid 2>/dev/null
wait $cpid 2>/dev/null
read -r st n why <"$TEST_SCRATCH/cycles"
[ "$st" = ok ] || fail "freeze/restore during fio failed after $n cycles: $why"
[ "$n" -ge 10 ] || fail "only $n cycles during $round fio rounds"
ncycles=$n
info "$round fio write+verify rounds across $n freeze/restore cycles"

# between runs: write, cycle with the disk idle, verify
common=(--filename="/dev/$d" --ioengine=libaio --direct=1 --bs=64k --iodepth=8
	--offset=16M --size=8M --verify=crc32c --verify_fatal=1 --name=between --rw=write)
run_fio write "${common[@]}" --do_verify=0 || fail "fio write before the idle cycle failed"
cycle
run_fio verify "${common[@]}" --verify_only=1 || fail "data written before an idle freeze/restore does not verify"

if ours && [ "$TEST_MODE" = iopoll1d ]; then
	info "deferred re-arm: $(($(dbg_sum "$d" timer_polls) - tp0)) timer polls during the test"
fi

# the cache mode chosen through cache_type survives
ct=/sys/block/$d/cache_type
if [ -w "$ct" ] && [ "$(val $ct)" = "write back" ]; then
	write_to $ct "write through" || fail "cannot set write through: $WRITE_ERR"
	cycle
	got=$(val $ct) wc=$(val "/sys/block/$d/queue/write_cache")
	write_to $ct "write back" || fail "cannot set write back again: $WRITE_ERR"
	if [ "$got" != "write through" ] || [ "$wc" != "write through" ]; then
		[ "${VM_MODULE:-stock}" != stock ] ||
			info "stock module: cache_type '$got', queue write_cache '$wc' after the cycle (mode not kept)"
		[ "${VM_MODULE:-stock}" = stock ] || fail "after freeze/restore cache_type is '$got' and queue/write_cache '$wc', set to write through"
	fi
fi
info "$ncycles cycles in all, data verified"
pass

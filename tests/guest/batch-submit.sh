#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Batched submission (->queue_rqs): fio libaio 4k random reads at QD32 with
# iodepth_batch_submit=16 (and as many reaped before the next submit) on
# null0, a disk without an I/O scheduler. Every io_submit of 16 requests is
# one plug list: the driver's vblk_queue_rqs must be called (a kprobe
# counts the calls) with several requests per call on average, and the
# debugfs 'kicks' counters must stay well below one per I/O (< 1/4). Then
# 64k random write+verify on data0 through the same path: data intact.
# With the batch_submit parameter off, the same reads go through
# ->queue_rq one by one and complete.
# vmtest: core (also run against the IOPOLL=n build)
# vmtest: modes iopoll1 (the completion mode does not change what it checks; every mode with TEST_STRESS=1)
. "${0%/*}/../lib/guest.sh"

[ "${VM_MODULE:-stock}" != stock ] || skip "counts our driver's kicks and calls"
need_disk null0
d=$DISK
sched=$(val "/sys/block/$d/queue/scheduler")
[[ $sched == *"[none]"* ]] || skip "null0 has an I/O scheduler ($sched): no queue_rqs"
T=/sys/kernel/tracing
[ -e $T/kprobe_events ] || T=/sys/kernel/debug/tracing
[ -e $T/kprobe_events ] || skip "no tracefs kprobe_events"
ev=vmtest_qrs$$
echo "p:$ev vblk_queue_rqs" >>$T/kprobe_events ||
	fail "cannot place a kprobe on vblk_queue_rqs (no such function?)"
trap 'echo 0 >$T/events/kprobes/$ev/enable; echo "-:$ev" >>$T/kprobe_events' EXIT
hits() { awk -v e="$ev" '$1 == e { print $2 }' $T/kprobe_profile; }
echo 0 >$T/tracing_on
echo 1 >$T/events/kprobes/$ev/enable || fail "cannot enable the kprobe"

k0=$(dbg_sum "$d" kicks) || fail "no debugfs kicks counters for $d"
r0=$(bstat "$d" 1) s0=$(bstat "$d" 3) h0=$(hits)
run_fio batch --filename="/dev/$d" --name=batch --ioengine=libaio --direct=1 \
	--rw=randread --bs=4k --iodepth=32 --iodepth_batch_submit=16 \
	--iodepth_batch_complete_min=16 --size=64M --norandommap ||
	fail "batched reads failed"
kicks=$(($(dbg_sum "$d" kicks) - k0)) ios=$(($(bstat "$d" 1) - r0))
sectors=$(($(bstat "$d" 3) - s0))
calls=$(($(hits) - h0))
info "QD32, batches of 16: $ios reads, $kicks kicks ($((kicks * 1000 / (ios ? ios : 1))) per 1000 I/Os), $calls queue_rqs calls ($((ios / (calls ? calls : 1))) reads per call)"
# adjacent random reads may merge: count the sectors
[ "$sectors" -ge 131072 ] || fail "only $sectors sectors read of 131072"
[ "$calls" -gt 0 ] || fail "vblk_queue_rqs was never called"
[ $((calls * 4)) -le "$ios" ] || fail "$calls queue_rqs calls for $ios reads: fewer than 4 requests per call"
[ $((kicks * 4)) -lt "$ios" ] || fail "$kicks kicks for $ios reads: not well below one per I/O"

# batch_submit=0: the same list goes back to the block layer untouched,
# which issues it through ->queue_rq (one lock hold per request)
B=/sys/module/virtio_blk/parameters/batch_submit
[ -w $B ] || fail "no writable $B"
write_to $B 0 || fail "cannot turn batch_submit off: $WRITE_ERR"
k0=$(dbg_sum "$d" kicks) r0=$(bstat "$d" 1)
run_fio single --filename="/dev/$d" --name=single --ioengine=libaio --direct=1 \
	--rw=randread --bs=4k --iodepth=32 --iodepth_batch_submit=16 \
	--iodepth_batch_complete_min=16 --size=16M --norandommap
st=$?
write_to $B 1 || fail "cannot turn batch_submit on again: $WRITE_ERR"
[ $st = 0 ] || fail "batched reads with batch_submit=0 failed"
info "batch_submit=0: $(($(bstat "$d" 1) - r0)) reads, $(($(dbg_sum "$d" kicks) - k0)) kicks"

need_disk data0
run_fio verify --filename="/dev/$DISK" --name=verify --ioengine=libaio --direct=1 \
	--rw=randwrite --bs=64k --iodepth=32 --iodepth_batch_submit=16 \
	--iodepth_batch_complete_min=8 --size=16M --verify=crc32c --verify_fatal=1 \
	--do_verify=1 || fail "batched write+verify on data0 failed"
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The adaptive controller's probe: a submitter that batches (fio
# io_submit of 16 requests, waiting for 16 completions, QD32) gets its
# whole batch in one interrupt, so deferring the re-arm only replaces that
# interrupt by a timer expiry and adds latency.  The controller re-arms as
# a probe every 16 deferred runs; where the interrupt that follows brings
# at least half a deferred batch, it shuts its gate.  First the same
# workload with blk_iopoll=0 measures what one interrupt brings on this
# host; where that is at least 12 of the 16 (the probe then sees its
# threshold met), the controller must have shut its gate and deferred on
# fewer than a quarter of the completion events.  Elsewhere only the
# probes are checked.  Counters only, nothing is timed.
# vmtest: once (switches kernel.blk_iopoll itself)
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk null0
d=$DISK
S=/proc/sys/kernel
restore_iopoll_on_exit
echo 1 >$S/blk_iopoll_adaptive
echo 0 >$S/blk_iopoll_defer_us

batched() {	# TAG: 16384 reads, 16 per io_submit, QD32
	echo 1 >"/sys/kernel/debug/virtio_blk/$d/reset"
	run_fio "$1" --name=probe --filename="/dev/$d" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth=32 \
		--iodepth_batch_submit=16 --iodepth_batch_complete_min=16 \
		--number_ios=16384 --size=1G || fail "fio failed ($1)"
}
sum() { dbg_sum "$d" "$1" || fail "no $1 counter in debugfs"; }

echo 0 >$S/blk_iopoll
batched off
irq=$(sum interrupts) done=$(sum completed)
[ "$irq" -gt 0 ] || fail "no interrupts with blk_iopoll=0"
per_irq=$((done / irq))
info "blk_iopoll=0: $done completions in $irq interrupts ($per_irq per interrupt)"

echo 1 >$S/blk_iopoll
batched auto
irq=$(sum interrupts) tp=$(sum timer_polls) defer=$(sum deferrals)
probes=$(sum probes) shuts=$(sum probe_shuts)
info "adaptive: $irq interrupts, $tp timer polls, $defer deferrals, $probes probes, $shuts shut the gate"
[ "$probes" -gt 0 ] || fail "the controller never probed ($defer deferrals)"
if [ "$per_irq" -ge 12 ]; then
	[ "$shuts" -gt 0 ] || fail "interrupts bring $per_irq per event, yet no probe shut the gate"
	[ $((4 * defer)) -lt $((irq + tp)) ] ||
		fail "still deferring on $defer of $((irq + tp)) completion events"
else
	info "interrupts bring $per_irq per event here: deferring may pay, shutting not checked"
fi
pass

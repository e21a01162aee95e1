#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The adaptive controller's gate, which holds by construction on any host:
# a workload of queue depth 1, 2 or 4 never has the five requests in
# flight the gate asks for, so its interrupts complete inline, as with blk_iopoll=0: no
# poller run, no deferral, no timer, apart from what a gate left open by
# earlier deep I/O allows (at most 64 completion events per queue).  The
# closed gate's exploration (one deferral after 64 interrupts, doubling)
# needs three requests in flight: never at QD1 or QD2, and at QD4 it stays
# within the same slack.  At QD32 the gate opens and the controller defers
# re-arming.  Counters only, nothing is timed.
# vmtest: once (switches kernel.blk_iopoll itself)
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk null0
d=$DISK
S=/proc/sys/kernel
GATE_EVENTS=64
IOS=4096
restore_iopoll_on_exit
echo 1 >$S/blk_iopoll
echo 1 >$S/blk_iopoll_adaptive
echo 0 >$S/blk_iopoll_defer_us
nq=$(vq_irqs "$d" | wc -l)
slack=$((GATE_EVENTS * nq))

run_qd() {	# QD -> "interrupts polls inline deferrals timer_polls explores"
	echo 1 >"/sys/kernel/debug/virtio_blk/$d/reset"
	run_fio "qd$1" --name=gate --filename="/dev/$d" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth="$1" --numjobs=1 \
		--number_ios=$IOS --size=1G || fail "fio failed at QD$1"
	echo "$(dbg_sum "$d" interrupts) $(dbg_sum "$d" polls)" \
		"$(dbg_sum "$d" inline_irqs) $(dbg_sum "$d" deferrals)" \
		"$(dbg_sum "$d" timer_polls) $(dbg_sum "$d" explores)"
}

for qd in 1 2 4; do
	read -r irq polls inl defer tp expl < <(run_qd $qd)
	info "QD$qd: $irq interrupts, $inl inline, $polls poller runs, $defer deferrals, $tp timer polls, $expl explorations"
	[ "$qd" -gt 2 ] || [ "$expl" -eq 0 ] ||
		fail "QD$qd: $expl explorations (they need 3 in flight)"
	[ "$irq" -gt 0 ] || fail "QD$qd: no interrupts"
	[ "$polls" -le $slack ] && [ "$defer" -le $slack ] && [ "$tp" -le $slack ] ||
		fail "QD$qd: $polls poller runs, $defer deferrals, $tp timer polls (gate allows $slack)"
	[ $((inl + slack)) -ge "$irq" ] ||
		fail "QD$qd: only $inl of $irq interrupts completed inline"
done
read -r irq polls inl defer tp expl < <(run_qd 32)
info "QD32: $irq interrupts, $inl inline, $polls poller runs, $defer deferrals, $tp timer polls, $expl explorations"
[ "$defer" -gt 0 ] || fail "QD32: the controller never deferred"
pass

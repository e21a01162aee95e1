#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interrupt mitigation: 4k random reads at QD32 on a null-co disk, once with
# kernel.blk_iopoll=0 and =1, interleaved twice (same I/O count each).
# Asserted, because it holds on any host: with blk_iopoll=1 every interrupt
# hands the ring to the poller and the requests complete there; with
# blk_iopoll=0 the poller never runs; and the driver's debugfs interrupt
# count agrees with the /proc/interrupts deltas of the disk's request
# vectors.  How many interrupts per I/O iopoll saves is a performance
# figure, not a property: it depends on the host (under QEMU TCG,
# event-index suppression already folds each device batch into one
# interrupt) and on noise, so it is printed here and `make bench` measures
# it properly.  Nothing is timed.
# vmtest: once (switches kernel.blk_iopoll itself)
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk null0
d=$DISK
S=/proc/sys/kernel
old=$(val $S/blk_iopoll)
trap 'echo $old >$S/blk_iopoll' EXIT
IOS=4096

measure() {	# MODE -> "ios irqs dbg_irqs polls completed"
	echo "$1" >$S/blk_iopoll
	echo 1 >"/sys/kernel/debug/virtio_blk/$d/reset"
	local i0 r0
	i0=$(vq_irq_total "$d") r0=$(bstat "$d" 1)
	run_fio "mode$1" --name=irq --filename="/dev/$d" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth=32 --numjobs=1 \
		--number_ios=$IOS --size=1G || fail "fio failed (blk_iopoll=$1)"
	echo "$(($(bstat "$d" 1) - r0)) $(($(vq_irq_total "$d") - i0))" \
		"$(dbg_sum "$d" interrupts) $(dbg_sum "$d" polls) $(dbg_sum "$d" completed)"
}

IO=(0 0) IRQ=(0 0) DBG=(0 0) POLLS=(0 0)
for round in 1 2; do
	for m in 0 1; do
		read -r io irq dbg polls ncomp < <(measure $m)
		[ "${io:-0}" -ge $IOS ] || fail "fio did ${io:-no} reads, want $IOS (blk_iopoll=$m)"
		[ "${ncomp:-0}" -ge "$io" ] ||
			fail "debugfs completed $ncomp < $io reads (blk_iopoll=$m)"
		info "round $round blk_iopoll=$m: $io reads, $irq interrupts, debugfs $dbg interrupts, $polls polls"
		IO[m]=$((IO[m] + io)) IRQ[m]=$((IRQ[m] + irq)) DBG[m]=$((DBG[m] + dbg))
		POLLS[m]=$((POLLS[m] + polls))
	done
done
io0=${IO[0]} irq0=${IRQ[0]} dbg0=${DBG[0]} io1=${IO[1]} irq1=${IRQ[1]} dbg1=${DBG[1]}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
info "blk_iopoll=0: $io0 reads, $irq0 interrupts ($(ratio "$irq0" "$io0")/IO), debugfs $dbg0 ($(ratio "$dbg0" "$io0")/IO)"
info "blk_iopoll=1: $io1 reads, $irq1 interrupts ($(ratio "$irq1" "$io1")/IO), debugfs $dbg1 ($(ratio "$dbg1" "$io1")/IO), $(ratio "$io1" "${POLLS[1]}") completions/poll"
info "iopoll/interrupt-completion interrupts per I/O: $(ratio "$((irq1 * io0))" "$((irq0 * io1))")"
[ "$irq0" -gt 0 ] && [ "$dbg0" -gt 0 ] || fail "no interrupts counted with blk_iopoll=0"
[ "${POLLS[0]}" -eq 0 ] || fail "the poller ran ${POLLS[0]} times with blk_iopoll=0"
# an interrupt that finds the poller already scheduled is served by that run
[ $((10 * POLLS[1])) -ge $((9 * dbg1)) ] && [ "$dbg1" -gt 0 ] ||
	fail "blk_iopoll=1: $dbg1 interrupts but only ${POLLS[1]} poller runs"
# debugfs counts in the vq callback, /proc/interrupts in the IRQ core: the
# same events, read a few instructions apart
agree() {	# WHAT PROC DEBUGFS
	local d=$(($2 - $3))
	[ $((d < 0 ? -d : d)) -le $(($2 / 50 + 2)) ] ||
		fail "$1: /proc/interrupts counted $2, debugfs $3"
}
agree "blk_iopoll=0" "$irq0" "$dbg0"
agree "blk_iopoll=1" "$irq1" "$dbg1"
pass

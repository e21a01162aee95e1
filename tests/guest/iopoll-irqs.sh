#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interrupt mitigation: 4k random reads at QD32 on a null-co disk with
# kernel.blk_iopoll=0, with =1 and the plain poller (blk_iopoll_adaptive=0),
# with =1 plus a fixed deferred re-arm (kernel.blk_iopoll_defer_us=200),
# and with =1 and the adaptive controller (the default), interleaved twice
# (same I/O count each).
# Asserted, because it holds on any host: with the plain poller every
# interrupt hands the ring to the poller; under the controller (adaptive,
# or with the fixed delay) every interrupt either does or completes
# inline, counted as such; with blk_iopoll=0 the poller never runs; the plain poller never
# arms the timer, the fixed delay does; and the driver's debugfs interrupt
# count agrees with the /proc/interrupts deltas of the disk's request
# vectors.  How many
# interrupts per I/O each mode saves is a performance figure, not a
# property: it depends on the host and on noise, so it is printed here
# (interrupts, and interrupts plus timer expiries, since each expiry is a
# guest interrupt too) and `make bench` measures it properly.  Nothing is
# timed.
# vmtest: once (switches kernel.blk_iopoll itself)
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk null0
d=$DISK
S=/proc/sys/kernel
restore_iopoll_on_exit
IOS=4096
MODES=(0 1p 1d 1)
DEFER_US=200

measure() {	# MODE -> "ios irqs dbg_irqs polls completed timer_polls inline"
	echo "${1:0:1}" >$S/blk_iopoll
	if [ "$1" = 1 ]; then echo 1; else echo 0; fi >$S/blk_iopoll_adaptive
	if [ "$1" = 1d ]; then echo $DEFER_US; else echo 0; fi >$S/blk_iopoll_defer_us
	echo 1 >"/sys/kernel/debug/virtio_blk/$d/reset"
	local i0 r0
	i0=$(vq_irq_total "$d") r0=$(bstat "$d" 1)
	run_fio "mode$1" --name=irq --filename="/dev/$d" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth=32 --numjobs=1 \
		--number_ios=$IOS --size=1G || fail "fio failed (mode $1)"
	echo "$(($(bstat "$d" 1) - r0)) $(($(vq_irq_total "$d") - i0))" \
		"$(dbg_sum "$d" interrupts) $(dbg_sum "$d" polls)" \
		"$(dbg_sum "$d" completed) $(dbg_sum "$d" timer_polls)" \
		"$(dbg_sum "$d" inline_irqs)"
}

declare -A IO IRQ DBG POLLS TP INL
for m in "${MODES[@]}"; do IO[$m]=0 IRQ[$m]=0 DBG[$m]=0 POLLS[$m]=0 TP[$m]=0 INL[$m]=0; done
for round in 1 2; do
	for m in "${MODES[@]}"; do
		read -r io irq dbg polls ncomp tp inl < <(measure "$m")
		[ "${io:-0}" -ge $IOS ] || fail "fio did ${io:-no} reads, want $IOS (mode $m)"
		[ "${ncomp:-0}" -ge "$io" ] ||
			fail "debugfs completed $ncomp < $io reads (mode $m)"
		info "round $round mode $m: $io reads, $irq interrupts, debugfs $dbg interrupts, $polls polls, $tp timer polls, $inl inline"
		IO[$m]=$((IO[$m] + io)) IRQ[$m]=$((IRQ[$m] + irq)) DBG[$m]=$((DBG[$m] + dbg))
		POLLS[$m]=$((POLLS[$m] + polls)) TP[$m]=$((TP[$m] + tp)) INL[$m]=$((INL[$m] + inl))
	done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
for m in "${MODES[@]}"; do
	info "mode $m: ${IO[$m]} reads, $(ratio "${IRQ[$m]}" "${IO[$m]}") interrupts/IO (debugfs $(ratio "${DBG[$m]}" "${IO[$m]}")), $(ratio "${TP[$m]}" "${IO[$m]}") timer polls/IO, $(ratio "$((IRQ[$m] + TP[$m]))" "${IO[$m]}") both"
done
both() { ratio "$(((IRQ[$1] + TP[$1]) * IO[0]))" "$((IRQ[0] * IO[$1]))"; }
info "interrupts+timer polls per I/O over blk_iopoll=0: plain $(both 1p), fixed delay $(both 1d), adaptive $(both 1)"
[ "${IRQ[0]}" -gt 0 ] && [ "${DBG[0]}" -gt 0 ] || fail "no interrupts counted with blk_iopoll=0"
[ "${POLLS[0]}" -eq 0 ] || fail "the poller ran ${POLLS[0]} times with blk_iopoll=0"
[ $((INL[0] + INL[1p])) -eq 0 ] ||
	fail "inline completions counted without the controller: ${INL[0]}/${INL[1p]}"
# an interrupt that finds the poller already scheduled is served by that
# run; under the controller it may complete inline instead
for m in 1p 1d 1; do
	[ $((10 * (POLLS[$m] + INL[$m]))) -ge $((9 * DBG[$m])) ] && [ "${DBG[$m]}" -gt 0 ] ||
		fail "mode $m: ${DBG[$m]} interrupts but only ${POLLS[$m]} poller runs and ${INL[$m]} inline"
done
[ $((TP[0] + TP[1p])) -eq 0 ] || fail "the defer timer fired ${TP[0]}/${TP[1p]} times without deferral"
# at QD32 the gate opens, and then a fixed delay always arms the timer
[ "${TP[1d]}" -gt 0 ] || fail "blk_iopoll_defer_us=$DEFER_US: the timer never fired"
# debugfs counts in the vq callback, /proc/interrupts in the IRQ core: the
# same events, read a few instructions apart
agree() {	# WHAT PROC DEBUGFS
	local d=$(($2 - $3))
	[ $((d < 0 ? -d : d)) -le $(($2 / 50 + 2)) ] ||
		fail "$1: /proc/interrupts counted $2, debugfs $3"
}
for m in "${MODES[@]}"; do agree "mode $m" "${IRQ[$m]}" "${DBG[$m]}"; done
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interrupt mitigation: 4k random reads at QD32 on a null-co disk with
# kernel.blk_iopoll=0, with =1, and with =1 plus deferred re-arm
# (kernel.blk_iopoll_defer_us=200), interleaved twice (same I/O count each).
# Asserted, because it holds on any host: with blk_iopoll=1 every interrupt
# hands the ring to the poller and the requests complete there; with
# blk_iopoll=0 the poller never runs; only deferred re-arm arms the timer,
# and it does arm it; and the driver's debugfs interrupt count agrees with
# the /proc/interrupts deltas of the disk's request vectors.  How many
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
old=$(val $S/blk_iopoll) old_defer=$(val $S/blk_iopoll_defer_us)
trap 'echo $old >$S/blk_iopoll; echo $old_defer >$S/blk_iopoll_defer_us' EXIT
IOS=4096
MODES=(0 1 1d)
DEFER_US=200

measure() {	# MODE -> "ios irqs dbg_irqs polls completed timer_polls"
	echo "${1:0:1}" >$S/blk_iopoll
	if [ "$1" = 1d ]; then echo $DEFER_US; else echo 0; fi >$S/blk_iopoll_defer_us
	echo 1 >"/sys/kernel/debug/virtio_blk/$d/reset"
	local i0 r0
	i0=$(vq_irq_total "$d") r0=$(bstat "$d" 1)
	run_fio "mode$1" --name=irq --filename="/dev/$d" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth=32 --numjobs=1 \
		--number_ios=$IOS --size=1G || fail "fio failed (mode $1)"
	echo "$(($(bstat "$d" 1) - r0)) $(($(vq_irq_total "$d") - i0))" \
		"$(dbg_sum "$d" interrupts) $(dbg_sum "$d" polls)" \
		"$(dbg_sum "$d" completed) $(dbg_sum "$d" timer_polls)"
}

declare -A IO IRQ DBG POLLS TP
for m in "${MODES[@]}"; do IO[$m]=0 IRQ[$m]=0 DBG[$m]=0 POLLS[$m]=0 TP[$m]=0; done
for round in 1 2; do
	for m in "${MODES[@]}"; do
		read -r io irq dbg polls ncomp tp < <(measure "$m")
		[ "${io:-0}" -ge $IOS ] || fail "fio did ${io:-no} reads, want $IOS (mode $m)"
		[ "${ncomp:-0}" -ge "$io" ] ||
			fail "debugfs completed $ncomp < $io reads (mode $m)"
		info "round $round mode $m: $io reads, $irq interrupts, debugfs $dbg interrupts, $polls polls, $tp timer polls"
		IO[$m]=$((IO[$m] + io)) IRQ[$m]=$((IRQ[$m] + irq)) DBG[$m]=$((DBG[$m] + dbg))
		POLLS[$m]=$((POLLS[$m] + polls)) TP[$m]=$((TP[$m] + tp))
	done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
for m in "${MODES[@]}"; do
	info "mode $m: ${IO[$m]} reads, $(ratio "${IRQ[$m]}" "${IO[$m]}") interrupts/IO (debugfs $(ratio "${DBG[$m]}" "${IO[$m]}")), $(ratio "${TP[$m]}" "${IO[$m]}") timer polls/IO, $(ratio "$((IRQ[$m] + TP[$m]))" "${IO[$m]}") both"
done
info "interrupts+timer polls per I/O over blk_iopoll=0: iopoll $(ratio "$((IRQ[1] * IO[0]))" "$((IRQ[0] * IO[1]))"), deferred re-arm $(ratio "$(((IRQ[1d] + TP[1d]) * IO[0]))" "$((IRQ[0] * IO[1d]))")"
[ "${IRQ[0]}" -gt 0 ] && [ "${DBG[0]}" -gt 0 ] || fail "no interrupts counted with blk_iopoll=0"
[ "${POLLS[0]}" -eq 0 ] || fail "the poller ran ${POLLS[0]} times with blk_iopoll=0"
# an interrupt that finds the poller already scheduled is served by that run
for m in 1 1d; do
	[ $((10 * POLLS[$m])) -ge $((9 * DBG[$m])) ] && [ "${DBG[$m]}" -gt 0 ] ||
		fail "mode $m: ${DBG[$m]} interrupts but only ${POLLS[$m]} poller runs"
done
[ $((TP[0] + TP[1])) -eq 0 ] || fail "the defer timer fired ${TP[0]}/${TP[1]} times with blk_iopoll_defer_us=0"
# the first drained run after an interrupt always tries deferring
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

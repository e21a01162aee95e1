#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Our driver's control interface: module parameters exist and mirror the
# sysctls; kernel.blk_iopoll (0/1), kernel.blk_iopoll_budget (1..256),
# kernel.blk_iopoll_defer_us (0..10000), kernel.blk_iopoll_adaptive (0/1),
# /sys/block/vdX/iopoll_budget (0..256) and /sys/block/vdX/iopoll_adaptive
# (-1..1) accept their range and reject anything else with EINVAL keeping
# the old value; debugfs has one qN file per virtqueue with the twelve
# counters and the controller's state, and 'reset' zeroes the counters.
# vmtest: once (switches kernel.blk_iopoll itself)
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk null0
d=$DISK
P=/sys/module/virtio_blk/parameters
S=/proc/sys/kernel

for p in num_request_queues poll_queues queue_depth blk_iopoll blk_iopoll_budget \
	blk_iopoll_defer_us blk_iopoll_adaptive; do
	[ -r "$P/$p" ] || fail "no module parameter $p"
done

# FILE: every GOOD value is accepted and reads back, every BAD one fails
# with EINVAL and leaves the previous value.
check_range() {	# FILE "GOOD..." "BAD..."
	local f=$1 v old
	old=$(val "$f")
	for v in $2; do
		write_to "$f" "$v" || fail "$f: writing $v failed: $WRITE_ERR"
		[ "$(val "$f")" = "$v" ] || fail "$f reads '$(val "$f")' after writing $v"
	done
	for v in $3; do
		before=$(val "$f")
		write_to "$f" "$v" && fail "$f accepted '$v'"
		[[ $WRITE_ERR == *"Invalid argument"* ]] || fail "$f: writing '$v' failed with '$WRITE_ERR', want EINVAL"
		[ "$(val "$f")" = "$before" ] || fail "$f changed to '$(val "$f")' by rejected '$v'"
	done
	write_to "$f" "$old" || fail "$f: cannot restore $old"
	info "$f: accepts $2; rejects $3"
}

check_range $S/blk_iopoll "1 0" "2 -1 abc 10"
check_range $S/blk_iopoll_budget "1 256 17" "0 257 -1 abc 1000"
check_range $S/blk_iopoll_defer_us "0 10000 200" "10001 -1 abc 4294967296"
check_range $S/blk_iopoll_adaptive "0 1" "2 -1 abc"
check_range "/sys/block/$d/iopoll_budget" "0 1 256 33" "257 -1 abc"
check_range "/sys/block/$d/iopoll_adaptive" "0 1 -1" "2 -2 abc 1x"

# the sysctls and the module parameters are the same settings
old=$(val $S/blk_iopoll)
for v in 0 1; do
	echo $v >$S/blk_iopoll
	[ "$(val $P/blk_iopoll)" = $v ] || { echo "$old" >$S/blk_iopoll; fail "parameter blk_iopoll does not follow the sysctl"; }
done
echo "$old" >$S/blk_iopoll
old=$(val $S/blk_iopoll_budget)
echo 99 >$P/blk_iopoll_budget
[ "$(val $S/blk_iopoll_budget)" = 99 ] || { echo "$old" >$S/blk_iopoll_budget; fail "sysctl blk_iopoll_budget does not follow the parameter"; }
echo "$old" >$S/blk_iopoll_budget
old=$(val $S/blk_iopoll_defer_us)
echo 77 >$P/blk_iopoll_defer_us
[ "$(val $S/blk_iopoll_defer_us)" = 77 ] || { echo "$old" >$S/blk_iopoll_defer_us; fail "sysctl blk_iopoll_defer_us does not follow the parameter"; }
echo "$old" >$S/blk_iopoll_defer_us
old=$(val $S/blk_iopoll_adaptive)
echo 0 >$P/blk_iopoll_adaptive
[ "$(val $S/blk_iopoll_adaptive)" = 0 ] || { echo "$old" >$S/blk_iopoll_adaptive; fail "sysctl blk_iopoll_adaptive does not follow the parameter"; }
echo "$old" >$S/blk_iopoll_adaptive
write_to $P/blk_iopoll 2 && fail "parameter blk_iopoll accepted 2"
write_to $P/blk_iopoll_adaptive 2 && fail "parameter blk_iopoll_adaptive accepted 2"
write_to $P/blk_iopoll_defer_us 10001 && fail "parameter blk_iopoll_defer_us accepted 10001"

[ -r "/sys/block/$d/cache_type" ] || fail "no cache_type attribute"
[ -r "/sys/block/$d/serial" ] || fail "no serial attribute"

dbg=/sys/kernel/debug/virtio_blk/$d
[ -d "$dbg" ] || fail "no $dbg"
qfiles=("$dbg"/q[0-9]*)
nq=${#qfiles[@]}
[ -e "${qfiles[0]}" ] || nq=0
nirq=$(vq_irqs "$d" | wc -l)
info "$d: $nq debugfs queue files, $nirq request vq interrupt lines"
[ "$nq" -ge 1 ] && [ "$nq" -ge "$nirq" ] || fail "$nq qN files for $nirq request virtqueues"
KEYS="budget_exhausted completed defer_ns deferrals explore_opens explores fallbacks gate gate_rearms inflight inline_irqs interrupts kicks polls probe_shuts probes rearm_races shut timeout_recoveries timer_polls "
for ((i = 0; i < nq; i++)); do
	[ -r "$dbg/q$i" ] || fail "queue files not numbered q0..q$((nq - 1))"
	keys=$(awk '$2 ~ /^[0-9]+$/ && NF == 2 { print $1 }' "$dbg/q$i" | LC_ALL=C sort | tr '\n' ' ')
	[ "$keys" = "$KEYS" ] || fail "$dbg/q$i: keys '$keys'"
done
dd if="/dev/$d" of=/dev/null bs=4k count=64 iflag=direct 2>/dev/null
c=$(dbg_sum "$d" completed)
[ "$c" -ge 64 ] || fail "completed=$c after 64 reads"
echo 1 >"$dbg/reset" || fail "cannot write $dbg/reset"
nz=$(cat "$dbg"/q* | awk '$1 !~ /^(defer_ns|gate|inflight|shut)$/ && $2 != 0' | head -n 3 | tr '\n' ' ')
[ -z "$nz" ] || fail "counters not zero after reset: $nz"
pass

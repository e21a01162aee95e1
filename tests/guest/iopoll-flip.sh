#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flip kernel.blk_iopoll, kernel.blk_iopoll_budget, kernel.blk_iopoll_defer_us
# (0, 100 or 200 us), kernel.blk_iopoll_adaptive, and the disk's
# iopoll_budget and iopoll_adaptive every 10-100 ms (random)
# while multi-job fio write+verify runs on a file-backed disk: zero verify
# errors, every write of a valid value accepted, and (runner) no kernel
# splat. fio rounds repeat until at least 30 flips happened; with
# TEST_STRESS=1, until 1 GiB was written.
# vmtest: once (switches kernel.blk_iopoll itself)
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk data0
d=$DISK
S=/proc/sys/kernel
pb=/sys/block/$d/iopoll_budget
old_mode=$(val $S/blk_iopoll) old_budget=$(val $S/blk_iopoll_budget) old_disk=$(val "$pb")
old_defer=$(val $S/blk_iopoll_defer_us) old_adaptive=$(val $S/blk_iopoll_adaptive)
pa=/sys/block/$d/iopoll_adaptive old_disk_adaptive=$(val "$pa")
flips=$TEST_SCRATCH/flips

# builtins only: under TCG an exec costs 0.1-0.3 s, more than the period
mkfifo "$TEST_SCRATCH/tick"
exec {tick}<>"$TEST_SCRATCH/tick"
# TERM waits for the builtin in progress: $flips is never left half-written
flipper() {
	local n=0 errs=0 v p
	trap 'exit 0' TERM
	while :; do
		v=$((n % 2))
		echo $v >$S/blk_iopoll || errs=$((errs + 1))
		echo $((RANDOM % 256 + 1)) >$S/blk_iopoll_budget || errs=$((errs + 1))
		echo $((RANDOM % 3 * 100)) >$S/blk_iopoll_defer_us || errs=$((errs + 1))
		echo $((RANDOM % 257)) >"$pb" || errs=$((errs + 1))
		echo $((RANDOM % 2)) >$S/blk_iopoll_adaptive || errs=$((errs + 1))
		echo $((RANDOM % 3 - 1)) >"$pa" || errs=$((errs + 1))
		n=$((n + 1))
		echo "$n $errs" >"$flips"
		# sleep 10-100 ms without a fork
		printf -v p 0.%03d $((RANDOM % 91 + 10))
		read -rt "$p" -u "$tick"
	done
}
flipper 2>"$TEST_SCRATCH/flip.err" &
fpid=$!
trap 'kill $fpid 2>/dev/null; echo $old_mode >$S/blk_iopoll; echo $old_budget >$S/blk_iopoll_budget; echo $old_defer >$S/blk_iopoll_defer_us; echo $old_disk >$pb; echo $old_adaptive >$S/blk_iopoll_adaptive; echo $old_disk_adaptive >$pa' EXIT

# per round: 4 jobs, each a randwrite and a write pass over its own slice
mb=2 min_bytes=0
[ -z "${TEST_STRESS:-}" ] || mb=16 min_bytes=$((1 << 30))
round=0 written=0
while :; do
	round=$((round + 1))
	# one fio process a round (its start costs seconds under TCG)
	run_fio "round$round" --randseed=$round --filename="/dev/$d" \
		--ioengine=libaio --direct=1 --bsrange=4k-64k --iodepth=16 \
		--numjobs=4 --size=${mb}M --offset_increment=${mb}M --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --group_reporting \
		--name=randwrite --rw=randwrite --name=write --stonewall --rw=write ||
		fail "fio round $round: write/verify failed while flipping"
	written=$((written + 8 * (mb << 20)))
	n=0
	read -r n errs <"$flips" 2>/dev/null
	[ "${n:-0}" -ge 30 ] || [ $round -ge 20 ] || continue
	[ $written -ge $min_bytes ] && break
done
kill $fpid
wait $fpid 2>/dev/null
read -r n errs <"$flips"
info "$round fio rounds (4 jobs, randwrite+write, verify, $((written >> 20)) MiB written) across $n flips, $errs rejected writes"
[ "$errs" = 0 ] || fail "$errs valid settings rejected: $(head -n 1 "$TEST_SCRATCH/flip.err")"
[ "$n" -ge 30 ] || fail "only $n flips in $round rounds"
pass

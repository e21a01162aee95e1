#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The driver's debugfs counters agree with independent sources, in the
# current blk_iopoll mode: after a reset, the sum of 'interrupts' over the
# disk's queues matches the /proc/interrupts delta of its request vectors
# (within max(5, 5%)), 'completed' equals the reads fio issued (+-4), and
# 'kicks' never exceeds the requests.
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk null0
d=$DISK
IOS=8192
echo 1 >"/sys/kernel/debug/virtio_blk/$d/reset" || fail "cannot reset the counters"
i0=$(vq_irq_total "$d")
run_fio counters --name=counters --filename="/dev/$d" --ioengine=libaio \
	--direct=1 --rw=randread --bs=4k --iodepth=16 --number_ios=$IOS \
	--size=1G --output-format=json || fail "fio failed"
i1=$(vq_irq_total "$d")
ios=$(python3 -c 'import json, sys
text = open(sys.argv[1]).read()
text = text[text.index("{"):]
print(sum(j["read"]["total_ios"] for j in json.loads(text)["jobs"]))' \
	"$TEST_SCRATCH/fio-counters.log") || fail "cannot read fio's I/O count"
irqs=$((i1 - i0))
dirq=$(dbg_sum "$d" interrupts) comp=$(dbg_sum "$d" completed) kicks=$(dbg_sum "$d" kicks)
info "mode ${TEST_MODE:-?}: fio $ios reads; debugfs completed $comp, interrupts $dirq, polls $(dbg_sum "$d" polls), kicks $kicks, budget_exhausted $(dbg_sum "$d" budget_exhausted), rearm_races $(dbg_sum "$d" rearm_races); /proc/interrupts delta $irqs"
[ "$ios" = $IOS ] || fail "fio issued $ios reads, asked for $IOS"
diff=$((dirq > irqs ? dirq - irqs : irqs - dirq))
tol=$((irqs / 20 > 5 ? irqs / 20 : 5))
[ $diff -le $tol ] || fail "debugfs interrupts $dirq vs /proc/interrupts delta $irqs (tolerance $tol)"
diff=$((comp > ios ? comp - ios : ios - comp))
[ $diff -le 4 ] || fail "debugfs completed $comp vs $ios reads issued"
[ "$kicks" -gt 0 ] && [ "$kicks" -le $((comp + 4)) ] || fail "kicks $kicks for $comp requests"
pass

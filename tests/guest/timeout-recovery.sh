#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A completion stranded on the ring (callbacks off, nobody to drain it) is
# recovered by the ->timeout handler instead of hanging: the debugfs fault
# knob swallow_irqs makes the next interrupts leave the ring that way while
# fio write+verify runs with a 500 ms I/O timeout. The I/O completes, the
# data verifies, the handler counts each recovery (timeout_recoveries) and
# says so at most once per disk in the kernel log.
. "${0%/*}/../lib/guest.sh"

need_ours
need_disk data0
d=$DISK
dbg=/sys/kernel/debug/virtio_blk/$d
[ -e "$dbg/swallow_irqs" ] || fail "no $dbg/swallow_irqs"
tmo=/sys/block/$d/queue/io_timeout
old_tmo=$(val "$tmo")
trap 'echo 0 >$dbg/swallow_irqs; echo $old_tmo >$tmo' EXIT
echo 500 >"$tmo" || fail "cannot set $tmo"
SWALLOW=3
marker="timeout-recovery $(date +%s%N)"
echo "$marker" >/dev/kmsg
echo 1 >"$dbg/reset"
echo $SWALLOW >"$dbg/swallow_irqs"
run_fio recover --name=recover --filename="/dev/$d" --ioengine=libaio \
	--direct=1 --rw=randwrite --bs=4k --size=4M --iodepth=4 \
	--verify=crc32c --verify_fatal=1 --do_verify=1 ||
	fail "fio write+verify failed with swallowed interrupts"
left=$(val "$dbg/swallow_irqs")
rec=$(dbg_sum "$d" timeout_recoveries)
said=$(dmesg | awk -v m="$marker" 'index($0, m) { n = 0; next } /stranded on the ring/ { n++ } END { print n + 0 }')
info "$SWALLOW interrupts swallowed ($left left), $rec recoveries, $said log lines"
[ "$left" = 0 ] || fail "only $((SWALLOW - left)) of $SWALLOW interrupts were swallowed"
[ "$rec" -ge 1 ] || fail "I/O finished but the handler recovered nothing"
[ "$said" -le 1 ] || fail "the recovery was logged $said times"
pass

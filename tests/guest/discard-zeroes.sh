#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Discard and write-zeroes on a disk with discard=unmap and QEMU limits
# max-discard-sectors / max-write-zeroes-sectors (manifest dmax/wzmax bytes):
# the limits show in queue/discard_max_bytes and write_zeroes_max_bytes,
# blkdiscard over 2x the limit is split and reaches the disk (discard
# sector counter), and after blkdiscard -z the range reads back as zeroes.
# vmtest: modes iopoll1 (the completion mode does not change what it checks; every mode with TEST_STRESS=1)
. "${0%/*}/../lib/guest.sh"

need_disk data0
d=$DISK
q=/sys/block/$d/queue
dmax=$(mget data0 dmax)
wzmax=$(mget data0 wzmax)
info "discard_max_bytes=$(val $q/discard_max_bytes) write_zeroes_max_bytes=$(val $q/write_zeroes_max_bytes) discard_granularity=$(val $q/discard_granularity)"
[ "$(val $q/discard_max_bytes)" = "$dmax" ] || fail "discard_max_bytes $(val $q/discard_max_bytes), QEMU limit $dmax"
[ "$(val $q/write_zeroes_max_bytes)" = "$wzmax" ] || fail "write_zeroes_max_bytes $(val $q/write_zeroes_max_bytes), QEMU limit $wzmax"

pattern() {	# OFFSET LEN: fill with non-zero data
	python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, b"\x5a\xc3" * (int(sys.argv[3]) // 2), int(sys.argv[2]))
os.fsync(fd)
os.close(fd)' "/dev/$d" "$1" "$2"
}
is_zero() {	# OFFSET LEN
	echo 3 >/proc/sys/vm/drop_caches
	cmp -s -n "$2" <(dd if="/dev/$d" bs=1M iflag=direct,skip_bytes,count_bytes \
		skip="$1" count="$2" 2>/dev/null) /dev/zero
}

len=$((2 * dmax))
pattern 0 "$len" || fail "writing the pattern failed"
s0=$(bstat "$d" 14)
blkdiscard -o 0 -l "$len" "/dev/$d" || fail "blkdiscard of $len bytes failed"
s1=$(bstat "$d" 14)
info "discard: $(( (s1 - s0) * 512 )) bytes in $(( $(bstat "$d" 12) )) discard requests so far"
[ $(((s1 - s0) * 512)) -ge "$len" ] || fail "only $(((s1 - s0) * 512)) of $len bytes discarded"

off=$((32 * 1048576)) len=$((wzmax + wzmax / 2))
pattern "$off" "$len" || fail "writing the pattern failed"
is_zero "$off" "$len" && fail "pattern did not stick"
blkdiscard -z -o "$off" -l "$len" "/dev/$d" || fail "blkdiscard -z failed"
is_zero "$off" "$len" || fail "range not zero after blkdiscard -z"
info "write-zeroes: $len bytes at $off read back as zeroes"
# a device that failed WRITE_ZEROES would have made the kernel fall back to
# writing zero pages and drop the limit to 0
[ "$(val $q/write_zeroes_max_bytes)" = "$wzmax" ] ||
	fail "write_zeroes_max_bytes changed to $(val $q/write_zeroes_max_bytes) (write-zeroes rejected?)"
pass

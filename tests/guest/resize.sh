#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Capacity change: QMP block_resize grows the disk by 16 MiB; the guest sees
# the new size (sysfs size, blockdev --getsize64) via the config-change
# interrupt, and I/O in the new tail verifies; then it shrinks back to the
# configured size, which the guest sees too.
# vmtest: modes iopoll1 (the completion mode does not change what it checks; every mode with TEST_STRESS=1)
. "${0%/*}/../lib/guest.sh"

[ "${VM_QMP:-0}" = 1 ] || skip "guest started without --qmp"
need_disk rs0
d=$DISK
node=$(mget rs0 node)
orig=$(mget rs0 size)
qmp=${VM_REPO:?}/scripts/vm/qmp

wait_size() {	# BYTES: wait up to 30 s for sysfs to show it
	local _
	for _ in $(seq 300); do
		[ $(($(val "/sys/block/$d/size") * 512)) = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
resize() {	# BYTES
	local r
	r=$("$qmp" block_resize node-name="$node" size="$1") ||
		fail "QMP block_resize to $1 failed: $r"
	wait_size "$1" || fail "guest size stays $(($(val "/sys/block/$d/size") * 512)) after block_resize to $1"
	[ "$(blockdev --getsize64 "/dev/$d")" = "$1" ] ||
		fail "blockdev --getsize64 $(blockdev --getsize64 "/dev/$d") != $1"
	info "resized to $1: seen in sysfs and by blockdev"
}

cur=$(blockdev --getsize64 "/dev/$d")
[ "$cur" = "$orig" ] || fail "size $cur before resizing, configured $orig"
big=$((orig + 16 * 1048576))
resize "$big"
run_fio tail --name=tail --filename="/dev/$d" --ioengine=libaio --direct=1 \
	--rw=randwrite --bs=4k --iodepth=8 --offset="$orig" --size=4M \
	--verify=crc32c --verify_fatal=1 --do_verify=1 ||
	fail "write/verify in the grown part failed"
resize "$orig"
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flush: with the write cache on (cache_type "write back", QEMU's default),
# fio fsync=1 writes verify and flush requests reach the disk (sysfs stat
# flush counter grows); switched to "write through" the block layer stops
# sending flushes; switching back restores write back.
# vmtest: core (also run against the IOPOLL=n build)
# vmtest: modes iopoll1 (the completion mode does not change what it checks; every mode with TEST_STRESS=1)
. "${0%/*}/../lib/guest.sh"

need_disk data0
d=$DISK
ct=/sys/block/$d/cache_type
[ -r "$ct" ] || fail "no $ct"
[ "$(val "$ct")" = "write back" ] || fail "cache_type is '$(val "$ct")', want 'write back'"

fsync_fio() {	# TAG
	run_fio "$1" --name="$1" --filename="/dev/$d" --ioengine=psync \
		--rw=randwrite --bs=4k --size=2M --offset=48M --fsync=1 \
		--verify=crc32c --verify_fatal=1 --do_verify=1
}

f0=$(bstat "$d" 16)
fsync_fio wb || fail "fio fsync=1 write/verify failed (write back)"
f1=$(bstat "$d" 16)
info "write back: $((f1 - f0)) flush requests for 512 fsync'ed 4k writes"
[ $((f1 - f0)) -gt 0 ] || fail "no flush request reached the disk with the write cache on"

write_to "$ct" "write through" || fail "cannot set cache_type to write through: $WRITE_ERR"
[ "$(val "$ct")" = "write through" ] || { echo "write back" >"$ct"; fail "cache_type reads '$(val "$ct")' after writing 'write through'"; }
f0=$(bstat "$d" 16)
fsync_fio wt || { echo "write back" >"$ct"; fail "fio fsync=1 write/verify failed (write through)"; }
f1=$(bstat "$d" 16)
write_to "$ct" "write back" || fail "cannot restore cache_type write back: $WRITE_ERR"
info "write through: $((f1 - f0)) flush requests"
[ $((f1 - f0)) -eq 0 ] || fail "$((f1 - f0)) flushes sent with the write cache off"
[ "$(val "$ct")" = "write back" ] || fail "cache_type reads '$(val "$ct")' after restoring write back"
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Device I/O errors: QEMU blkdebug fails reads of one sector and writes of
# another with EIO. Sequential 4k direct I/O at QD32 (merging off, so one
# request per fio I/O) sees EIO on exactly the 4k blocks holding those
# sectors; everything around them then writes and verifies clean, so the
# driver keeps serving after the errors.
# vmtest: boot shapes
. "${0%/*}/../lib/guest.sh"

need_disk eio0
d=$DISK
size=$(mget eio0 size)
rblock=$(($(mget eio0 rsector) / 8)) wblock=$(($(mget eio0 wsector) / 8))
nm=/sys/block/$d/queue/nomerges
old_nm=$(val "$nm")
trap 'echo $old_nm >$nm' EXIT
echo 2 >"$nm"

failed_blocks() {	# RW: 4k blocks fio reported EIO on, sorted
	fio --name="$1" --filename="/dev/$d" --ioengine=libaio --direct=1 \
		--rw="$1" --bs=4k --iodepth=32 --size="$size" \
		--continue_on_error="$1" --error_dump=1 --output="$TEST_SCRATCH/$1.log" \
		2>"$TEST_SCRATCH/$1.err"
	sed -n 's/.*Input\/output error: [a-z]* offset=\([0-9]*\).*/\1/p' \
		"$TEST_SCRATCH/$1.err" "$TEST_SCRATCH/$1.log" | awk '{ print $1 / 4096 }' | sort -nu | tr '\n' ' '
}
r=$(failed_blocks read)
[ "$r" = "$rblock " ] || fail "reads failed on 4k blocks '$r', want '$rblock'" \
	"(fio: $(grep -m1 -v 'Input/output' "$TEST_SCRATCH/read.err"))"
w=$(failed_blocks write)
[ "$w" = "$wblock " ] || fail "writes failed on 4k blocks '$w', want '$wblock'"
info "EIO on read of block $rblock and write of block $wblock only, $((size / 4096)) blocks each way"

# the blocks between and around the failing ones
ranges() {
	echo "0 $rblock"
	echo "$((rblock + 1)) $((wblock - rblock - 1))"
	echo "$((wblock + 1)) $((size / 4096 - wblock - 1))"
}
jobs=()
while read -r first count; do
	jobs+=("--name=clean$first" --offset=$((first * 4096)) --size=$((count * 4096)))
done < <(ranges)
run_fio clean --filename="/dev/$d" --ioengine=libaio --direct=1 \
	--rw=randwrite --bs=4k --iodepth=32 --verify=crc32c --verify_fatal=1 \
	--do_verify=1 "${jobs[@]}" || fail "write/verify around the failing blocks failed"
pass

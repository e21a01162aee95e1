#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data integrity on a file-backed raw disk: fio write then verify (crc32c),
# random and sequential, 4k and 64k, QD1 and QD32, two jobs each on its own
# 4 MiB region, O_DIRECT libaio. Zero verify errors allowed.
. "${0%/*}/../lib/guest.sh"

need_disk data0
d=$DISK
for rw in randwrite write; do
	for bs in 4k 64k; do
		for qd in 1 32; do
			tag=$rw-$bs-qd$qd
			run_fio "$tag" --name="$tag" --filename="/dev/$d" \
				--ioengine=libaio --direct=1 --rw="$rw" --bs="$bs" \
				--iodepth="$qd" --numjobs=2 --size=4M \
				--offset_increment=4M --verify=crc32c \
				--verify_fatal=1 --do_verify=1 --group_reporting ||
				fail "fio $tag: write/verify failed"
			info "$tag: 2 jobs x 4 MiB written and verified"
		done
	done
done
pass

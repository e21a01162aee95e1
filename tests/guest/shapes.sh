#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Device shapes: a 16-entry and a 1024-entry ring, more queues than vCPUs,
# 4k logical blocks, seg-max-adjust=off, legacy-only and modern-only
# virtio-pci. Each disk shows the limits its shape implies, then all of
# them take concurrent write+verify at QD32 with requests up to 512k (split
# by the block layer where a shape demands it).
# vmtest: boot shapes
# vmtest: core (also run against the IOPOLL=n build)
. "${0%/*}/../lib/guest.sh"

q() { val "/sys/block/$d/queue/$1"; }
jobs=()
for s in "${SERIALS[@]}"; do
	shape=$(mget "$s" shape)
	[ -n "$shape" ] || continue
	need_disk "$s"
	d=$DISK
	[ "$(val "/sys/block/$d/size")" = $(($(mget "$s" size) / 512)) ] ||
		fail "$s: size $(val "/sys/block/$d/size") sectors, want $(($(mget "$s" size) / 512))"
	features=$(val "/sys/block/$d/device/features")
	pci=$(readlink -f "/sys/block/$d/device/..")
	case $shape in
	qs16)	[ "$(q nr_requests)" -le 16 ] ||
			fail "$s: nr_requests $(q nr_requests) on a 16-entry ring" ;;
	nq8)	hw=(/sys/block/"$d"/mq/*)
		[ ${#hw[@]} -eq "$(nproc)" ] ||
			fail "$s: ${#hw[@]} hardware queues for 8 virtqueues and $(nproc) CPUs" ;;
	lbs4k)	[ "$(q logical_block_size)" = 4096 ] && [ "$(q physical_block_size)" = 4096 ] ||
			fail "$s: block sizes $(q logical_block_size)/$(q physical_block_size), want 4096" ;;
	segoff)	# without the adjustment the device reports seg_max 126
		[ "$(q max_segments)" -le 126 ] ||
			fail "$s: max_segments $(q max_segments), device seg_max is 126" ;;
	legacy)	[ "$(val "$pci/device")" = 0x1001 ] && [ "${features:32:1}" = 0 ] ||
			fail "$s: PCI id $(val "$pci/device"), VERSION_1 bit '${features:32:1}': not legacy" ;;
	modern)	[ "$(val "$pci/device")" = 0x1042 ] && [ "${features:32:1}" = 1 ] ||
			fail "$s: PCI id $(val "$pci/device"), VERSION_1 bit '${features:32:1}': not modern" ;;
	esac
	info "$s ($d): $shape, nr_requests $(q nr_requests), max_segments $(q max_segments), lbs $(q logical_block_size)"
	jobs+=(--name="$s" --filename="/dev/$d")
done
[ ${#jobs[@]} -gt 0 ] || skip "no shaped disks in this boot"
run_fio shapes --ioengine=libaio --direct=1 --rw=randwrite --bsrange=4k-512k \
	--iodepth=32 --size=8M --verify=crc32c --verify_fatal=1 --do_verify=1 \
	"${jobs[@]}" || fail "write/verify on the shaped disks failed"
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module builds for every kernel of .cache/kernels with and without
# CONFIG_VIRTIO_BLK_IOPOLL: 'make modules-all' and 'make modules-all
# IOPOLL=n' succeed and leave build/<kver>[-noiopoll]/.../virtio_blk.ko.
. "$(dirname "$0")/../lib/host.sh"

need_driver
need_kernels
scratch
for iopoll in y n; do
	log=$SCRATCH/build-$iopoll.log
	if ! make --no-print-directory modules-all IOPOLL=$iopoll >"$log" 2>&1; then
		show_tail "$log" 25
		fail "'make modules-all IOPOLL=$iopoll' failed"
	fi
	suffix=
	[ $iopoll = y ] || suffix=-noiopoll
	for k in $KERNELS; do
		ko=build/$k$suffix/drivers/block/virtio_blk.ko
		[ -f "$ko" ] || fail "IOPOLL=$iopoll: no $ko after the build"
		[ "$ko" -nt "$DRIVER" ] || fail "IOPOLL=$iopoll: $ko is older than $DRIVER"
		info "built $ko"
	done
done
pass

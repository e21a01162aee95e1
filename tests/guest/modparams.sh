#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad module parameters at load: each is refused (insmod fails, no disk
# appears) with a kernel message naming the parameter; a good load after
# them brings every disk back.
# vmtest: once (reloads the module itself)
. "${0%/*}/../lib/guest.sh"

need_ours
ko=${TEST_KO:?}
bad=(blk_iopoll=2 blk_iopoll=-1 blk_iopoll=abc blk_iopoll_budget=0
	blk_iopoll_budget=257 blk_iopoll_budget=-5 blk_iopoll_budget=abc
	blk_iopoll_budget=99999999999 queue_depth=abc num_request_queues=x)
rmmod virtio_blk || fail "rmmod virtio_blk failed"
trap '[ -d /sys/module/virtio_blk ] || insmod "$ko" ${VM_MODPARAMS:-}' EXIT
for p in "${bad[@]}"; do
	mark="vmtest: modparams $p $RANDOM"
	echo "$mark" >/dev/kmsg
	# shellcheck disable=SC2086 # parameters are separate words
	if insmod "$ko" "$p" ${VM_MODPARAMS:-} 2>"$TEST_SCRATCH/insmod.err"; then
		fail "insmod $p was accepted"
	fi
	[ -d /sys/module/virtio_blk ] && fail "module present after refused insmod $p"
	msg=$(dmesg | awk -v m="$mark" 'index($0, m) { f = 1; next } f' | grep -F "${p%%=*}")
	[ -n "$msg" ] || fail "insmod $p: no kernel message names ${p%%=*}"
	info "$p: ${msg##*] }"
done
ls /sys/block/vd* >/dev/null 2>&1 && fail "disks appeared during refused loads"
# shellcheck disable=SC2086 # parameters are separate words
insmod "$ko" ${VM_MODPARAMS:-} || fail "insmod with good parameters failed"
for s in "${SERIALS[@]}"; do
	for _ in $(seq 100); do
		disk_by_serial "$s" >/dev/null && break
		sleep 0.1
	done
	disk_by_serial "$s" >/dev/null || fail "disk $s did not come back"
done
info "${#bad[@]} bad parameters refused by name; good load brings ${#SERIALS[@]} disks back"
pass

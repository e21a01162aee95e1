#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Module unload/reload with all disks present (idle): rmmod removes every
# virtio disk, loading the same module again (same parameters) brings each
# configured serial back and every disk reads.
# vmtest: core (also run against the IOPOLL=n build)
. "${0%/*}/../lib/guest.sh"

ko=${TEST_KO:?}
before=()
for s in "${SERIALS[@]}"; do
	need_disk "$s"
	before+=("$DISK")
done
rmmod virtio_blk || fail "rmmod virtio_blk failed"
left=(/sys/block/vd*)
[ -e "${left[0]}" ] && fail "disks left after rmmod: ${left[*]##*/}"
# shellcheck disable=SC2086 # parameters are separate words
insmod "$ko" ${VM_MODPARAMS:-} || fail "insmod $ko ${VM_MODPARAMS:-} failed"
for s in "${SERIALS[@]}"; do
	d=
	for _ in $(seq 100); do
		d=$(disk_by_serial "$s") && break
		sleep 0.1
	done
	[ -n "$d" ] || fail "disk $s did not come back after reloading"
	dd if="/dev/$d" of=/dev/null bs=64k count=16 iflag=direct 2>"$TEST_SCRATCH/dd.err" ||
		fail "reading $s ($d) after the reload: $(tail -n 1 "$TEST_SCRATCH/dd.err")"
done
info "unloaded with ${#before[@]} disks, reloaded $ko: all back and readable"
pass

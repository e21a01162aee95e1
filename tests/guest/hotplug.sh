#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-unplug with I/O in flight (QD32), then re-plug (QMP device_del/device_add of
# a disk behind a pcie-root-port): the guest acknowledges the unplug
# (DEVICE_DELETED), the disk goes away, the in-flight fio sees errors and
# ends long before its run time (no request left hanging), and the re-plugged
# disk comes back with its serial and size and verifies. The runner's later
# module swap unloads the module that served the removed disk.
. "${0%/*}/../lib/guest.sh"

[ "${VM_QMP:-0}" = 1 ] || skip "guest started without --qmp"
need_disk hp0
d=$DISK
qmp=${VM_REPO:?}/scripts/vm/qmp
id=$(mget hp0 id) bus=$(mget hp0 bus) node=$(mget hp0 node) size=$(mget hp0 size)

fio --name=inflight --filename="/dev/$d" --ioengine=libaio --direct=1 \
	--rw=randrw --bs=4k --iodepth=32 --time_based --runtime=600 \
	--output="$TEST_SCRATCH/inflight.log" &
fpid=$!
sleep 1
r=$("$qmp" --wait-event DEVICE_DELETED --event-data device="$id" --timeout 60 \
	device_del id="$id") || { kill "$fpid"; fail "device_del: $r"; }
for _ in $(seq 300); do
	disk_by_serial hp0 >/dev/null || break
	sleep 0.1
done
disk_by_serial hp0 >/dev/null && fail "disk still present after DEVICE_DELETED"
# fio must end on its own: its I/O fails once the device is gone
for _ in $(seq 600); do
	kill -0 "$fpid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$fpid" 2>/dev/null; then
	kill -9 "$fpid"
	fail "fio with I/O in flight did not end within 60 s of the unplug"
fi
wait "$fpid"
st=$?
info "unplugged with I/O in flight; fio ended with status $st"
[ $st != 0 ] || fail "fio reported no error for I/O to a removed disk"

r=$("$qmp" device_add driver=virtio-blk-pci drive="$node" id="$id" serial=hp0 bus="$bus") ||
	fail "device_add: $r"
for _ in $(seq 300); do
	d=$(disk_by_serial hp0) && break
	sleep 0.1
done
[ -n "$d" ] || fail "re-plugged disk did not appear"
[ "$(blockdev --getsize64 "/dev/$d")" = "$size" ] || fail "re-plugged disk has size $(blockdev --getsize64 "/dev/$d"), want $size"
info "re-plugged as $d"
run_fio replug --name=replug --filename="/dev/$d" --ioengine=libaio \
	--direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=8M \
	--verify=crc32c --verify_fatal=1 --do_verify=1 || fail "write/verify after re-plug failed"
pass

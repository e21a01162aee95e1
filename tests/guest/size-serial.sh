#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every disk of the boot: blockdev --getsize64 equals the size QEMU was
# given, /sys/block/vdX/size agrees, and the serial attribute equals the
# QEMU serial= (one disk carries a full 20-byte serial, no NUL terminator).
# vmtest: core (also run against the IOPOLL=n build)
# vmtest: modes iopoll1 (the completion mode does not change what it checks; every mode with TEST_STRESS=1)
. "${0%/*}/../lib/guest.sh"

n=0 sectors=0 serial=''
for s in "${SERIALS[@]}"; do
	want=$(mget "$s" size)
	need_disk "$s"
	d=$DISK
	got=$(blockdev --getsize64 "/dev/$d") || fail "blockdev --getsize64 /dev/$d failed"
	[ "$got" = "$want" ] || fail "$s ($d): size $got, QEMU was given $want"
	rd sectors "/sys/block/$d/size"
	[ $((sectors * 512)) = "$want" ] || fail "$s ($d): sysfs size $sectors sectors != $want bytes"
	rd serial "/sys/block/$d/serial" || fail "$s ($d): reading the serial attribute failed"
	[ "$serial" = "$s" ] || fail "$d: serial '$serial', QEMU serial='$s'"
	info "$d serial=$serial size=$got"
	n=$((n + 1))
done
[ $n -gt 0 ] || fail "no disks in the manifest"
pass

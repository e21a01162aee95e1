#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Multiqueue: a num-queues=N disk gets min(N, CPUs) request virtqueues
# (each with its own virtioX-req.M interrupt), and during a write+verify
# with one job per CPU every one of them takes interrupts. Unless
# num_request_queues / poll_queues are set, whose effect is not modelled.
# vmtest: core (also run against the IOPOLL=n build)
. "${0%/*}/../lib/guest.sh"

need_disk mq0
d=$DISK
n=$(mget mq0 queues)
ncpu=$(nproc)
want=$((n < ncpu ? n : ncpu))
mapfile -t before < <(vq_irqs "$d")
info "$d ($(virtio_of "$d")): ${#before[@]} request vq interrupt lines, num-queues=$n, $ncpu CPUs"
[ ${#before[@]} -gt 0 ] || fail "no $(virtio_of "$d")-req.M lines in /proc/interrupts"
case " ${VM_MODPARAMS:-} " in
*" num_request_queues="*|*" poll_queues="*) info "queue-count params set: count not checked" ;;
*) [ ${#before[@]} -eq "$want" ] || fail "${#before[@]} request vqs, want min($n, $ncpu) = $want" ;;
esac

run_fio mq --name=mq --filename="/dev/$d" --ioengine=libaio --direct=1 \
	--rw=randwrite --bs=4k --iodepth=8 --numjobs="$ncpu" --size=4M \
	--offset_increment=4M --cpus_allowed="0-$((ncpu - 1))" \
	--cpus_allowed_policy=split --verify=crc32c --verify_fatal=1 \
	--do_verify=1 --group_reporting || fail "fio write/verify failed"

mapfile -t after < <(vq_irqs "$d")
[ ${#after[@]} -eq ${#before[@]} ] || fail "interrupt lines changed during the run"
idle=
for i in "${!after[@]}"; do
	set -- ${before[$i]} ${after[$i]}
	info "$1: $(($4 - $2)) interrupts"
	[ $(($4 - $2)) -gt 0 ] || idle="$idle $1"
done
if ours; then
	for q in /sys/kernel/debug/virtio_blk/"$d"/q[0-9]*; do
		info "debugfs ${q##*/}: $(tr '\n' ' ' <"$q")"
	done
fi
[ -z "$idle" ] || fail "request vqs without interrupts:$idle"
pass

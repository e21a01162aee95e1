# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Second half of /run/vm/exec.sh, run by the guest /init inside the chroot of
# the host root. scripts/vm/run writes the first half (VM_* variables and
# 'set -- <guest command>') and appends this file. Loads the block driver
# named by VM_MODULE, then runs the command in the launcher's working
# directory; its exit status is the launcher's.
exec </dev/null >/run/vm/stdout 2>/run/vm/stderr

# The kernel's own virtio_blk by path: 'modprobe virtio_blk' would pick a
# DKMS-installed copy of ours from /lib/modules/<kver>/updates/ instead.
# Its dependencies (virtio, virtio_ring) are loaded or built in already.
VM_STOCK_KO=$(ls /lib/modules/"$VM_KVER"/kernel/drivers/block/virtio_blk.ko* 2>/dev/null | head -n 1)
export VM_STOCK_KO
[ "$VM_MODULE" = none ] || echo "vm: loading virtio_blk ($VM_MODULE${VM_MODPARAMS:+ $VM_MODPARAMS})" >&2
case $VM_MODULE in
none) ;;
stock)
	[ -n "$VM_STOCK_KO" ] || { echo "vm: no stock virtio_blk.ko for $VM_KVER" >&2; exit 125; }
	# shellcheck disable=SC2086 # parameters are separate words
	insmod "$VM_STOCK_KO" $VM_MODPARAMS ||
		{ echo "vm: insmod $VM_STOCK_KO $VM_MODPARAMS failed" >&2; exit 125; }
	;;
*)
	# shellcheck disable=SC2086
	insmod "$VM_MODULE" $VM_MODPARAMS ||
		{ echo "vm: insmod $VM_MODULE $VM_MODPARAMS failed" >&2; exit 125; }
	;;
esac

cd "$VM_CWD" 2>/dev/null || cd /
"$@"

# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Second half of /run/vm/exec.sh, run by the guest /init inside the chroot of
# the host root. scripts/vm/run writes the first half (VM_* variables and
# 'set -- <guest command>') and appends this file. Loads the block driver
# named by VM_MODULE, then runs the command in the launcher's working
# directory; its exit status is the launcher's.
exec </dev/null >/run/vm/stdout 2>/run/vm/stderr

case $VM_MODULE in
none) ;;
stock)
	# shellcheck disable=SC2086 # parameters are separate words
	modprobe virtio_blk $VM_MODPARAMS ||
		{ echo "vm: modprobe virtio_blk $VM_MODPARAMS failed" >&2; exit 125; }
	;;
*)
	# shellcheck disable=SC2086
	insmod "$VM_MODULE" $VM_MODPARAMS ||
		{ echo "vm: insmod $VM_MODULE $VM_MODPARAMS failed" >&2; exit 125; }
	;;
esac

cd "$VM_CWD" 2>/dev/null || cd /
"$@"

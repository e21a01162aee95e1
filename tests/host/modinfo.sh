#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# modinfo of our module (IOPOLL=y, every kernel): description, author,
# license GPL, vermagic of the kernel, and the documented parameters
# (num_request_queues, poll_queues, queue_depth, batch_submit, blk_iopoll,
# blk_iopoll_budget, blk_iopoll_defer_us), each parameter with a description.
. "$(dirname "$0")/../lib/host.sh"

need_driver
need_kernels
scratch
for k in $KERNELS; do
	make --no-print-directory modules KVER="$k" >"$SCRATCH/build.log" 2>&1 ||
		{ show_tail "$SCRATCH/build.log"; fail "building for $k failed"; }
	ko=build/$k/drivers/block/virtio_blk.ko
	for f in description author; do
		[ -n "$(modinfo -F $f "$ko")" ] || fail "$k: no $f"
	done
	lic=$(modinfo -F license "$ko")
	case $lic in
	GPL|"GPL v2") ;;
	*) fail "$k: license '$lic', want GPL" ;;
	esac
	vm=$(modinfo -F vermagic "$ko")
	[ "${vm%% *}" = "$k" ] || fail "$k: vermagic '$vm'"
	params=$(modinfo -F parm "$ko")
	for p in num_request_queues poll_queues queue_depth batch_submit \
		blk_iopoll blk_iopoll_budget blk_iopoll_defer_us; do
		grep -q "^$p:" <<<"$params" || fail "$k: no parameter $p"
	done
	# "name:description (type)"; without MODULE_PARM_DESC only "name:(type)"
	while IFS= read -r line; do
		desc=${line#*:}
		desc=$(sed -E 's/ ?\([a-z]+\)$//' <<<"$desc")
		[ -n "$desc" ] || fail "$k: parameter ${line%%:*} has no description"
	done <<<"$params"
	info "$k: $(modinfo -F description "$ko") | license $lic | $(wc -l <<<"$params") parameters"
done
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# W=1 and sparse (C=2) report nothing for our sources, on every kernel and
# with IOPOLL=y and =n. Built from a copy of the sources in a temp dir, so
# build/ is left alone. Warnings inside kernel headers are not ours and are
# ignored; anything reported at a line of our files counts.
. "$(dirname "$0")/../lib/host.sh"

need_driver
need_kernels
command -v sparse >/dev/null || fail "sparse is not installed (run 'make deps')"
scratch
copy_sources "$SCRATCH/src" || fail "cannot copy the sources"
ours='(drivers/block/[^ :]*|include/[^ :]*)\.[ch]:[0-9]+(:[0-9]+)?: (warning|error)'
nfound=0
for iopoll in y n; do
	for k in $KERNELS; do
		log=$SCRATCH/w1-$k-$iopoll.log
		make --no-print-directory -C "$SCRATCH/src" modules KVER="$k" \
			IOPOLL=$iopoll W=1 C=2 >"$log" 2>&1 ||
			{ show_tail "$log" 25; fail "W=1 C=2 build failed for $k IOPOLL=$iopoll"; }
		# sparse must really have looked at our file
		grep -qE '^ *CHECK .*drivers/block/virtio_blk\.c' "$log" ||
			{ show_tail "$log" 10; fail "sparse did not run on virtio_blk.c ($k IOPOLL=$iopoll)"; }
		hits=$(grep -E "$SCRATCH/src/build/[^/]+/$ours|^$ours" "$log")
		if [ -n "$hits" ]; then
			info "$k IOPOLL=$iopoll:"
			head -n 20 <<<"$hits" | sed "s|$SCRATCH/src/build/[^/]*/||; s/^/#   /"
			nfound=$((nfound + $(wc -l <<<"$hits")))
		fi
	done
done
[ $nfound -eq 0 ] || fail "$nfound W=1/sparse warnings in our sources"
info "W=1 + sparse clean for $(wc -w <<<"$KERNELS") kernels, IOPOLL=y and n"
pass

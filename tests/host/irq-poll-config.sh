#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A kernel configured without CONFIG_IRQ_POLL stops the IOPOLL=y build
# early, with a message naming the option and the way out (IOPOLL=n),
# instead of a modpost error about undefined irq_poll_* symbols; the way
# out it names, IOPOLL=n, builds against that same kernel.  The
# kernel is each headers tree of .cache/kernels, mirrored with symlinks
# except for its configuration, which has CONFIG_IRQ_POLL taken out, and
# its Module.symvers, which loses the irq_poll_* exports as such a kernel
# would.
. "$(dirname "$0")/../lib/host.sh"

need_driver
need_kernels
scratch
src=$SCRATCH/src
copy_sources "$src" || fail "cannot copy the sources"
for k in $KERNELS; do
	kdir=$(readlink -f "/lib/modules/$k/build") || fail "no headers for $k"
	fake=$SCRATCH/kdir-$k
	cp -as "$kdir" "$fake" || fail "cannot mirror $kdir"
	for f in include/config/auto.conf .config; do
		[ -e "$kdir/$f" ] || fail "$kdir has no $f"
		grep -q '^CONFIG_IRQ_POLL=y$' "$kdir/$f" ||
			fail "$kdir/$f lacks CONFIG_IRQ_POLL=y: the test needs a kernel that has it"
		rm -f "$fake/$f"
		grep -v '^CONFIG_IRQ_POLL=' "$kdir/$f" >"$fake/$f"
	done
	h=include/generated/autoconf.h
	rm -f "$fake/$h"
	grep -v 'define CONFIG_IRQ_POLL 1$' "$kdir/$h" >"$fake/$h"
	rm -f "$fake/Module.symvers"
	grep -v '[[:space:]]irq_poll_[a-z_]*[[:space:]]' "$kdir/Module.symvers" >"$fake/Module.symvers"

	log=$SCRATCH/build-$k.log
	if make --no-print-directory -C "$src" modules KVER="$k" KDIR="$fake" \
		IOPOLL=y >"$log" 2>&1; then
		show_tail "$log"
		fail "$k without CONFIG_IRQ_POLL: the IOPOLL=y build succeeded"
	fi
	grep -q 'configured without CONFIG_IRQ_POLL' "$log" ||
		{ show_tail "$log"; fail "$k without CONFIG_IRQ_POLL: no message naming the option"; }
	grep -q 'IOPOLL=n' "$log" ||
		{ show_tail "$log"; fail "$k: the message does not name IOPOLL=n"; }
	grep -q 'modpost\|undefined' "$log" &&
		{ show_tail "$log"; fail "$k: the build went on to modpost"; }
	objs=$(find "$src/build/$k" -name '*.o' | wc -l)
	[ "$objs" -eq 0 ] || fail "$k: $objs objects compiled before the check stopped the build"
	info "$k without CONFIG_IRQ_POLL: $(grep -m1 -o 'virtio_blk: kernel.*' "$log")"

	log=$SCRATCH/build-$k-noiopoll.log
	make --no-print-directory -C "$src" modules KVER="$k" KDIR="$fake" \
		IOPOLL=n >"$log" 2>&1 ||
		{ show_tail "$log"; fail "$k without CONFIG_IRQ_POLL: the IOPOLL=n build failed"; }
	[ -f "$src/build/$k-noiopoll/drivers/block/virtio_blk.ko" ] ||
		fail "$k without CONFIG_IRQ_POLL: IOPOLL=n left no module"
done
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict --no-tree -f is clean (0 errors, 0 warnings,
# 0 checks) on drivers/block/virtio_blk.c and include/*.h.
. "$(dirname "$0")/../lib/host.sh"

need_driver
cp=.cache/checkpatch/scripts/checkpatch.pl
[ -f "$cp" ] || fail "no $cp (run 'make deps')"
scratch
bad=0
for f in "$DRIVER" include/*.h; do
	[ -f "$f" ] || continue
	perl "$cp" --strict --no-tree --no-summary --terse --show-types -f "$f" \
		>"$SCRATCH/out" 2>&1
	rc=$?
	if [ -s "$SCRATCH/out" ] || [ $rc != 0 ]; then
		info "$f:"
		head -n 20 "$SCRATCH/out" | sed 's/^/#   /'
		bad=$((bad + 1))
	fi
done
[ $bad -eq 0 ] || fail "checkpatch --strict complains about $bad file(s)"
pass

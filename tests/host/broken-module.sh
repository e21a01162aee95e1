#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The harness fails, within its timeout, on a driver that never completes
# a request: a copy of our driver patched (sed) so that virtqueue_get_buf()
# always returns NULL is built for the first kernel and booted with the
# guest test runner; scripts/vm/run must kill the guest at its timeout
# (exit 124, console tail printed) after the module load started, instead
# of hanging or reporting a pass.
. "$(dirname "$0")/../lib/host.sh"

need_driver
need_kernels
scratch
k=${KERNELS%%$'\n'*}
src=$SCRATCH/src
copy_sources "$src" || fail "cannot copy the sources"
f=$src/$DRIVER
grep -q 'virtqueue_get_buf' "$f" || fail "the driver does not call virtqueue_get_buf(): patch needs updating"
# after the last #include: no completion is ever taken off a virtqueue
last=$(grep -n '^#include' "$f" | tail -n 1 | cut -d: -f1)
sed -i "${last}a\\
#define virtqueue_get_buf(vq, len) ((void)(vq), (void)(len), NULL)\\
#define virtqueue_get_buf_ctx(vq, len, ctx) ((void)(vq), (void)(len), (void)(ctx), NULL)" "$f"
make --no-print-directory -C "$src" modules KVER="$k" >"$SCRATCH/build.log" 2>&1 ||
	{ show_tail "$SCRATCH/build.log"; fail "building the broken module failed"; }
ko=$src/build/$k/drivers/block/virtio_blk.ko

echo "serial=null0 size=67108864 kind=null" >"$SCRATCH/manifest"
limit=60
start=$(date +%s)
timeout -s KILL $((limit * 4)) scripts/vm/run -k "$k" -m "$ko" -t $limit -o "$SCRATCH/out" \
	-d "-blockdev null-co,node-name=n0,size=67108864,read-zeroes=on -device virtio-blk-pci,drive=n0,serial=null0" \
	-- tests/lib/guest-runner.sh broken iopoll1 "$SCRATCH/manifest" size-serial fio-verify \
	>"$SCRATCH/stdout" 2>"$SCRATCH/stderr"
rc=$?
secs=$(($(date +%s) - start))
info "broken module on $k: launcher exit $rc after ${secs}s (timeout ${limit}s)"
case $rc in
124) ;;
137) fail "the launcher itself hung: killed after $((limit * 4))s" ;;
0) fail "a driver that never completes a request passed" ;;
*) show_tail "$SCRATCH/stderr"; fail "launcher exit $rc, want 124 (timeout)" ;;
esac
grep -q '^vm: loading virtio_blk' "$SCRATCH/stderr" ||
	{ show_tail "$SCRATCH/stderr"; fail "the guest timed out before loading the module: nothing was tested"; }
grep -q 'timed out' "$SCRATCH/stderr" || fail "no timeout message on stderr"
grep -q 'last console lines' "$SCRATCH/stderr" || fail "no console tail on stderr"
grep -q '^ok - ' "$SCRATCH/stdout" && fail "a test passed on the broken driver: $(grep -m1 '^ok - ' "$SCRATCH/stdout")"
pass

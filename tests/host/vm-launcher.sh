#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/vm/run itself, on the first kernel: the guest command's exit
# status, stdout and stderr come back; OUT is writable at the same path;
# the QMP channel answers; --trace writes OUT/qemu-trace.log; the module
# is loaded; a guest panic is a failure (125) and a hung guest is killed at
# its timeout (124), both with the console tail.
. "$(dirname "$0")/../lib/host.sh"

need_kernels
scratch
k=${KERNELS%%$'\n'*}
run() {	# TAG ARGS... : scripts/vm/run with an outer safety net
	local tag=$1
	shift
	timeout -s KILL 600 scripts/vm/run -k "$k" "$@" \
		>"$SCRATCH/$tag.out" 2>"$SCRATCH/$tag.err"
}

out=$SCRATCH/share
run status -o "$out" --qmp -t 300 -m stock --trace virtio_queue_notify \
	-d "-blockdev null-co,node-name=n0,size=1048576,read-zeroes=on -device virtio-blk-pci,drive=n0,serial=trace0" \
	-- bash -c '
	echo to-stdout; echo to-stderr >&2
	echo "$VM_KVER $PWD" >"$VM_OUT/from-guest"
	grep -q "^virtio_blk " /proc/modules || exit 8
	dd if=/dev/vda of=/dev/null bs=4k count=4 iflag=direct 2>/dev/null || exit 8
	scripts/vm/qmp query-status || exit 9
	exit 7'
rc=$?
[ $rc = 7 ] || { show_tail "$SCRATCH/status.err"; fail "guest 'exit 7' gave launcher exit $rc"; }
grep -qx to-stdout "$SCRATCH/status.out" || fail "guest stdout did not come back"
grep -qx to-stderr "$SCRATCH/status.err" || fail "guest stderr did not come back"
grep -q "^vm: accel=[a-z]* kernel=$k\$" "$SCRATCH/status.err" || fail "no 'vm: accel=... kernel=$k' line"
[ "$(cat "$out/from-guest" 2>/dev/null)" = "$k $REPO" ] || fail "OUT file: '$(cat "$out/from-guest" 2>/dev/null)'"
grep -q '"status": "running"' "$SCRATCH/status.out" || fail "QMP query-status: $(grep -m1 return "$SCRATCH/status.out")"
[ -s "$out/console.log" ] || fail "no OUT/console.log"
grep -q '^virtio_queue_notify ' "$out/qemu-trace.log" 2>/dev/null || fail "--trace: no virtio_queue_notify events in OUT/qemu-trace.log"
info "exit status, stdout/stderr, stock module, OUT share, --trace and QMP ok ($(sed -n 's/^vm: \(accel=[a-z]*\).*/\1/p' "$SCRATCH/status.err"))"

run panic -t 300 -- sh -c 'echo c >/proc/sysrq-trigger; sleep 60'
rc=$?
[ $rc = 125 ] || { show_tail "$SCRATCH/panic.err"; fail "guest panic gave launcher exit $rc, want 125"; }
grep -q 'sysrq' "$SCRATCH/panic.err" || fail "panic: console tail missing from stderr"

start=$(date +%s)
run hang -t 20 -o "$SCRATCH/hang-out" -- sleep 600
rc=$?
[ $rc = 124 ] || { show_tail "$SCRATCH/hang.err"; fail "hung guest gave launcher exit $rc, want 124"; }
grep -q 'timed out after 20s' "$SCRATCH/hang.err" || fail "no timeout message"
info "panic -> 125, hang -> 124 after $(($(date +%s) - start))s with a 20s timeout"
sleep 1
pgrep -f "qemu-system.*$SCRATCH" >/dev/null && fail "QEMU still running after the launcher exited"
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench` smoke test: QUICK=1 bench into a temporary RESULTS_DIR, then
# scripts/bench/check.py (table, summary JSON/CSV with non-zero IOPS,
# targets whose verdicts follow from their intervals, host CPU per I/O from
# the host sampler, SVG plots, README) for every kernel.  Exit 0 pass, 1
# fail, 77 skip (reason printed).  About 4 minutes for two kernels on a
# quiet 2-core TCG host (319 s with other guests running), less under KVM.
set -u
cd "$(dirname "$0")/../.." || exit 1

skip() { echo "SKIP: $*"; exit 77; }

[ -x scripts/vm/run ] || skip "no VM launcher scripts/vm/run"
[ -s .cache/kernels ] || skip "no .cache/kernels (run 'make deps')"
for t in fio gnuplot qemu-system-x86_64 /usr/bin/python3; do
	command -v "$t" >/dev/null || skip "$t not installed (run 'make deps')"
done
kernels=${KERNELS:-$(cat .cache/kernels)}
# host checks run in name order, before host/build: build what is missing
for k in $kernels; do
	[ -f "build/$k/drivers/block/virtio_blk.ko" ] ||
		make -s modules KVER="$k" >/dev/null ||
		{ echo "FAIL: the driver does not build for $k"; exit 1; }
done

out=$(mktemp -d "${TMPDIR:-/tmp}/bench-quick.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
log=$out/bench.log

start=$SECONDS
# shellcheck disable=SC2086 # kernels are separate words
if ! QUICK=1 KERNELS="$kernels" RESULTS_DIR="$out/results" \
	timeout 900 scripts/bench/run >"$log" 2>&1; then
	echo "FAIL: scripts/bench/run failed; last lines:"
	tail -n 30 "$log"
	exit 1
fi
echo "bench QUICK=1 took $((SECONDS - start))s"
# shellcheck disable=SC2086
if ! scripts/bench/check.py "$out/results" $kernels; then
	echo "FAIL: incomplete results; bench log tail:"
	tail -n 15 "$log"
	exit 1
fi
echo "PASS"
exit 0

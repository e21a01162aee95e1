#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make check-debug': the guest tests (tests/run) with our module on the
# debug kernel of scripts/debug-kernel.sh (KASAN, PROVE_LOCKING,
# DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS), built and installed first if needed.
# Fails on any failed test and on any kernel report in the guests' console
# logs (the debug config lowers the 'quiet' console level to warnings, so
# lockdep and WARN reports reach the console too; the guest runner also
# checks dmesg around every test).
#
# Environment:
#   CHECK_MODULES  default "ours"; "stock ours" adds the stock driver
#   CHECK_BOOTS, CHECK_TESTS, CHECK_MODES, CHECK_ACCEL   as for tests/run
#   VM_TIMEOUT     per boot, seconds (default 5400 here: TCG + KASAN is slow)
#   CHECK_TEST_TIMEOUT  per guest test, seconds (default 1200 here)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# Kernel log lines that count as a report (superset of the guest runner's).
REPORT='WARNING:|BUG:|Oops|Kernel panic|KASAN:|UBSAN:|ODEBUG:|hung task|blocked for more than|soft lockup|detected stalls|general protection fault|list_(add|del) corruption|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|turning off the locking correctness validator|Disabling lock debugging|Call Trace'

t0=$(date +%s)
rel=$(scripts/debug-kernel.sh | tail -n 1) && [ -n "$rel" ] || {
	echo "check-debug: no debug kernel (scripts/debug-kernel.sh failed)" >&2
	exit 1
}
echo "# check-debug: kernel $rel"

make --no-print-directory modules KVER="$rel" >/dev/null ||
	{ echo "check-debug: building our module for $rel failed" >&2; exit 1; }

out=$(mktemp "${TMPDIR:-/tmp}/check-debug.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
CHECK_ONLY=guest CHECK_KERNELS=$rel CHECK_MODULES=${CHECK_MODULES:-ours} \
	VM_TIMEOUT=${VM_TIMEOUT:-5400} CHECK_TEST_TIMEOUT=${CHECK_TEST_TIMEOUT:-1200} tests/run | tee "$out"
rc=${PIPESTATUS[0]}
run=$(sed -n 's/^# logs: //p' "$out" | tail -n 1)

nrep=0
if [ -n "$run" ] && [ -d "$run" ]; then
	for log in "$run"/*/console.log; do
		[ -f "$log" ] || continue
		hits=$(grep -nE "$REPORT" "$log")
		[ -n "$hits" ] || continue
		nrep=$((nrep + $(wc -l <<<"$hits")))
		echo "# check-debug: kernel reports in $log:"
		# each report with some context
		grep -nE -B2 -A25 "$REPORT" "$log" | head -n 120 | sed 's/^/#   /'
	done
	n=$(ls "$run"/*/console.log 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || { echo "# check-debug: no guest console logs in $run"; rc=1; }
else
	echo "# check-debug: tests/run printed no log directory"
	rc=1
fi

secs=$(($(date +%s) - t0))
echo "# check-debug: $rel, ${secs}s, tests/run exit $rc, $nrep kernel report lines"
if [ "$rc" != 0 ] || [ "$nrep" != 0 ]; then
	echo "check-debug: FAILED"
	exit 1
fi
echo "check-debug: passed, zero kernel reports"

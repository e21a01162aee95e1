#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/vblkstat, run by busybox sh with nothing but busybox applets on
# PATH, adds up to the counters: two instances (-p, every key per queue;
# and the default per-second table) bracket fio reading a fixed number of
# I/Os from null0, then get SIGTERM (which makes them report the partial
# last interval).  The -p deltas summed over the intervals must equal the
# debugfs counter deltas of each queue and the /proc/interrupts delta of
# its vector over the same window (the disk is idle outside fio); the
# table's rates times its interval lengths must match them within the
# rounding of the printed figures.  Under the stock module vblkstat must
# refuse to run (exit 1, a message), then the test skips.
# vmtest: modes iopoll1 (the completion mode does not change what it checks; every mode with TEST_STRESS=1)
. "${0%/*}/../lib/guest.sh"

VBS=${0%/*}/../../scripts/vblkstat
bb=$(command -v busybox) || skip "no busybox in the guest root"
bin=$TEST_SCRATCH/bin
mkdir -p "$bin"
for a in sh awk sleep mktemp rm cat; do ln -sf "$bb" "$bin/$a"; done
vbs() { PATH=$bin "$bb" sh "$VBS" "$@"; }

if [ "${VM_MODULE:-stock}" = stock ] || [ "${TEST_MODE:-}" = noiopoll ]; then
	vbs 1 1 >"$TEST_SCRATCH/refuse.out" 2>&1
	rc=$?
	[ $rc = 1 ] || fail "vblkstat under the ${TEST_MODE:-stock} module exited $rc, not 1: $(head -c 300 "$TEST_SCRATCH/refuse.out")"
	grep -q 'not the iopoll driver' "$TEST_SCRATCH/refuse.out" ||
		fail "vblkstat under the ${TEST_MODE:-stock} module said: $(head -c 300 "$TEST_SCRATCH/refuse.out")"
	skip "${TEST_MODE:-stock} module has no iopoll counters (vblkstat refused it: exit 1, '$(head -n 1 "$TEST_SCRATCH/refuse.out")')"
fi
need_ours
need_disk null0
d=$DISK
IOS=4096
N=200	# reports at most (1 s each); SIGTERM ends both runs long before

# "q key value" for every debugfs counter of vdX, and "q irq count" for
# the /proc/interrupts line of each request queue.
snap() {
	local f q
	for f in /sys/kernel/debug/virtio_blk/"$d"/q*; do
		q=${f##*/q}
		awk -v q="$q" 'NF == 2 { print q, $1, $2 }' "$f"
	done
	vq_irqs "$d" | awk '{ n = split($1, a, "."); print a[n], "irq", $2 }'
}

snap >"$TEST_SCRATCH/c0"
# simple commands, so that $! is busybox itself (it gets the SIGTERM)
PATH=$bin "$bb" sh "$VBS" -p -d "$d" 1 $N >"$TEST_SCRATCH/p.out" 2>"$TEST_SCRATCH/p.err" &
p1=$!
PATH=$bin "$bb" sh "$VBS" -d "$d" 1 $N >"$TEST_SCRATCH/h.out" 2>"$TEST_SCRATCH/h.err" &
p2=$!
# both have taken their baseline once they print their first line
for _ in $(seq 300); do
	[ -s "$TEST_SCRATCH/p.out" ] && [ -s "$TEST_SCRATCH/h.out" ] && break
	kill -0 $p1 2>/dev/null && kill -0 $p2 2>/dev/null || break
	sleep 0.1
done
grep -q "^t=0.00 event=start interval=1 disks=$d\$" "$TEST_SCRATCH/p.out" ||
	fail "vblkstat -p did not start: $(head -c 300 "$TEST_SCRATCH/p.out" "$TEST_SCRATCH/p.err")"
grep -q "^vblkstat: interval 1 s, 1 disk: $d (virtio" "$TEST_SCRATCH/h.out" ||
	fail "vblkstat did not start: $(head -c 300 "$TEST_SCRATCH/h.out" "$TEST_SCRATCH/h.err")"

run_fio vblkstat --name=vblkstat --filename="/dev/$d" --ioengine=libaio \
	--direct=1 --rw=randread --bs=4k --iodepth=16 --number_ios=$IOS \
	--size=1G || fail "fio failed"
snap >"$TEST_SCRATCH/c1"
for p in $p1 $p2; do
	kill -0 "$p" 2>/dev/null ||
		fail "a vblkstat run ended before fio did ($N reports of 1 s)"
	kill -TERM "$p"
done
wait $p1 || fail "vblkstat -p exited $?: $(head -c 300 "$TEST_SCRATCH/p.err")"
wait $p2 || fail "vblkstat exited $?: $(head -c 300 "$TEST_SCRATCH/h.err")"
[ -s "$TEST_SCRATCH/p.err" ] && fail "vblkstat -p wrote to stderr: $(head -c 300 "$TEST_SCRATCH/p.err")"
[ -s "$TEST_SCRATCH/h.err" ] && fail "vblkstat wrote to stderr: $(head -c 300 "$TEST_SCRATCH/h.err")"

# expected deltas "q key delta", the -p sums "q key sum", compared
awk 'FNR == NR { c0[$1, $2] = $3; next }
	$2 !~ /_(ns|us)$/ && $2 !~ /^(inflight|gate|shut)$/ { print $1, $2, $3 - c0[$1, $2] }' \
	"$TEST_SCRATCH/c0" "$TEST_SCRATCH/c1" | sort >"$TEST_SCRATCH/want"
awk -v d="$d" '/ event=/ { next }
	{ ok = 0
	  for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	  if (f["disk"] != d) next
	  for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] ~ /^(t|dt|disk|q|inflight|gate|shut)$/ || kv[1] ~ /_(ns|us)$/) continue
		s[f["q"] " " kv[1]] += kv[2]
	  }
	  n++ }
	END { for (k in s) print k, s[k]; print n " queue reports" > "/dev/stderr" }' \
	"$TEST_SCRATCH/p.out" 2>"$TEST_SCRATCH/p.n" | sort >"$TEST_SCRATCH/got"
diff "$TEST_SCRATCH/want" "$TEST_SCRATCH/got" >"$TEST_SCRATCH/diff" ||
	{ sed 's/^/#   /' "$TEST_SCRATCH/diff"; fail "vblkstat -p deltas (>) differ from the counter deltas (<)"; }
comp=$(awk '$2 == "completed" { s += $3 } END { print s + 0 }' "$TEST_SCRATCH/want")
irqs=$(awk '$2 == "irq" { s += $3 } END { print s + 0 }' "$TEST_SCRATCH/want")
[ "$comp" -ge $IOS ] || fail "the counters saw $comp completions for $IOS reads"
[ "$irqs" -gt 0 ] || fail "no interrupts counted"

# The table: per queue rate x interval, summed, against the same deltas
# (irq/s, runs/s, cpl/s; figures printed with one decimal).
awk -v d="$d" 'FNR == NR { want[$1, $2] = $3; next }
	$1 == "disk" { dt = $(NF - 1); sub(/\(/, "", dt); tol += 0.05 * dt + 0.001; next }
	$1 == d && $2 ~ /^[0-9]+$/ {
		if ($3 != "-") got[$2, "irq"] += $3 * dt
		got[$2, "polls"] += $4 * dt; got[$2, "completed"] += $5 * dt
		qs[$2] = 1; n++ }
	END {
		if (!n) { print "no table rows for " d; exit 1 }
		for (q in qs) for (k = 1; k <= 3; k++) {
			key = k == 1 ? "irq" : k == 2 ? "polls" : "completed"
			e = got[q, key] - want[q, key]; if (e < 0) e = -e
			if (e > tol + 0.5) { printf "q%s %s: rates add up to %.1f, counters %d (tolerance %.1f)\n", q, key, got[q, key], want[q, key], tol; bad = 1 }
		}
		exit bad }' "$TEST_SCRATCH/want" "$TEST_SCRATCH/h.out" >"$TEST_SCRATCH/h.check" ||
	fail "vblkstat table: $(tr '\n' ' ' <"$TEST_SCRATCH/h.check")"
info "mode ${TEST_MODE:-?}: $(cat "$TEST_SCRATCH/p.n"), completed $comp, irq $irqs, polls $(awk '$2 == "polls" { s += $3 } END { print s + 0 }' "$TEST_SCRATCH/want") over $(grep -c . "$TEST_SCRATCH/want") queue counters; every -p sum equal, table within rounding"
pass

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The driver's tracepoints (events/virtio_blk/) add up to its debugfs
# counters over the same window, per queue: with the events on, counters
# reset, fio (randread QD32 with a budget of 8, then randrw QD4) and a
# pause for the last deferral's timer, every counter equals what the trace
# says:
#   interrupts       virtio_blk_irq events; inline_irqs: those "gated"
#   completed        completed summed over virtio_blk_irq + virtio_blk_poll
#   polls            virtio_blk_poll events; budget_exhausted, deferrals,
#                    fallbacks, gate_rearms, probes, explores: those
#                    "more", "defer" or "explore", "fallback", "gate",
#                    "probe", "explore"
#   rearm_races      virtio_blk_rearm_race events
#   timer_polls      virtio_blk_defer_expired events
#   kicks            virtio_blk_kick events
# and a deferral carries its delay, other runs none; a "more" run completed
# its full weight.  A trace ring that overflowed fails the test rather than
# miscounting.  Events a mode never produces count 0 (IOPOLL=n has only
# virtio_blk_irq and virtio_blk_kick).  Our module only.
# vmtest: core (also run against the IOPOLL=n build)
. "${0%/*}/../lib/guest.sh"

[ "${VM_MODULE:-stock}" != stock ] || skip "the stock driver has no virtio_blk tracepoints"
need_disk null0
d=$DISK
dbg=/sys/kernel/debug/virtio_blk/$d
[ -d "$dbg" ] || fail "no $dbg"

T=
for t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
	[ -e "$t/events" ] && { T=$t; break; }
done
if [ -z "$T" ] && mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
	T=/sys/kernel/tracing
fi
[ -n "$T" ] || skip "no tracefs (not mounted, cannot mount)"
ev=$T/events/virtio_blk
[ -d "$ev" ] || fail "$ev missing: the module has no tracepoints"

# A small budget, so that poller runs also end with their full weight
# ("more"); IOPOLL=n has no budget.
budget=/sys/block/$d/iopoll_budget
old_budget=
[ ! -e "$budget" ] || old_budget=$(val "$budget") || fail "cannot read $budget"
# "1408", or "7 (expanded: 1408)" before the ring was first used
old_kb=$(awk '{ print $2 == "(expanded:" ? $3 + 0 : $1; exit }' "$T/buffer_size_kb")
cleanup() {
	echo 0 >"$ev/enable"
	echo 0 >"$ev/filter"
	echo "${old_kb:-1408}" >"$T/buffer_size_kb"
	: >"$T/trace"
	[ -z "$old_budget" ] || echo "$old_budget" >"$budget"
}
trap cleanup EXIT

echo 0 >"$ev/enable" || fail "cannot write $ev/enable"
[ -z "$old_budget" ] || echo 8 >"$budget" || fail "cannot set $budget"
echo 16384 >"$T/buffer_size_kb" || fail "cannot size the trace buffer"
echo 1 >"$T/tracing_on"
echo "disk == \"$d\"" >"$ev/filter" || fail "the events do not take a filter on disk"
: >"$T/trace"
echo 1 >"$ev/enable" || fail "cannot enable $ev"
echo 1 >"$dbg/reset" || fail "cannot reset the counters"

run_fio qd32 --name=qd32 --filename="/dev/$d" --ioengine=libaio --direct=1 \
	--rw=randread --bs=4k --iodepth=32 --number_ios=4096 --size=1G ||
	fail "fio (randread) failed"
run_fio qd4 --name=qd4 --filename="/dev/$d" --ioengine=libaio --direct=1 \
	--rw=randrw --bs=4k --iodepth=4 --number_ios=1024 --size=1G ||
	fail "fio (randrw) failed"
# the last drained run may defer: its timer and the run after it land here
sleep 1

for q in "$dbg"/q*; do
	awk -v q="${q##*/q}" '{ print q, $1, $2 }' "$q"
done >counters || fail "cannot read $dbg"
echo 0 >"$ev/enable"

lost=$(cat "$T"/per_cpu/cpu*/stats 2>/dev/null |
	awk '$1 == "overrun:" || $2 == "overrun:" || ($1 == "dropped" && $2 == "events:") { s += $NF }
	END { print s + 0 }')
[ "$lost" = 0 ] || fail "the trace ring lost $lost events (overrun/dropped): counts would be wrong"
cp "$T/trace" trace || fail "cannot read $T/trace"

# The trace, reduced to the counters' names: "queue key value" lines.
awk -v d="$d" '
function kv(    i, f) {
	delete F
	for (i = 1; i <= NF; i++)
		if (split($i, f, "=") == 2)
			F[f[1]] = f[2]
}
/^#/ { next }
{
	e = ""
	for (i = 1; i <= NF; i++)
		if ($i ~ /^virtio_blk_[a-z_]+:$/) { e = substr($i, 1, length($i) - 1); break }
	if (e == "")
		next
	kv()
	if (F["disk"] != d) { printf "other disk: %s\n", $0 > "/dev/stderr"; bad = 1; next }
	q = F["queue"]
	Q[q] = 1
	if (e == "virtio_blk_irq") {
		n[q, "interrupts"]++
		n[q, "completed"] += F["completed"]
		if (F["action"] == "gated")
			n[q, "inline_irqs"]++
		else if (F["action"] != "inline" && F["action"] != "poller" && F["action"] != "lost")
			{ printf "bad action: %s\n", $0 > "/dev/stderr"; bad = 1 }
	} else if (e == "virtio_blk_poll") {
		n[q, "polls"]++
		n[q, "completed"] += F["completed"]
		o = F["outcome"]
		if (o == "more") {
			n[q, "budget_exhausted"]++
			if (F["completed"] != F["weight"]) { printf "short full run: %s\n", $0 > "/dev/stderr"; bad = 1 }
		} else if (o == "defer")
			n[q, "deferrals"]++
		else if (o == "explore") {
			n[q, "deferrals"]++
			n[q, "explores"]++
		}
		else if (o == "fallback")
			n[q, "fallbacks"]++
		else if (o == "gate")
			n[q, "gate_rearms"]++
		else if (o == "probe")
			n[q, "probes"]++
		else if (o != "rearm")
			{ printf "bad outcome: %s\n", $0 > "/dev/stderr"; bad = 1 }
		if ((o == "defer" || o == "explore") != (F["delay_ns"] + 0 > 0)) { printf "delay vs outcome: %s\n", $0 > "/dev/stderr"; bad = 1 }
	} else if (e == "virtio_blk_rearm_race")
		n[q, "rearm_races"]++
	else if (e == "virtio_blk_defer_expired")
		n[q, "timer_polls"]++
	else if (e == "virtio_blk_kick")
		n[q, "kicks"]++
	else { printf "unknown event: %s\n", $0 > "/dev/stderr"; bad = 1 }
}
END {
	split("interrupts completed polls budget_exhausted rearm_races kicks timer_polls inline_irqs gate_rearms deferrals fallbacks probes explores", K, " ")
	for (q in Q)
		for (k in K)
			print q, K[k], n[q, K[k]] + 0
	exit bad
}' trace >traced || fail "malformed events in the trace (above)"

# Every counter of every queue against the trace (a queue the trace never
# saw counts 0 there).
report=$(awk '
FNR == NR { t[$1, $2] = $3; next }
$2 == "timeout_recoveries" && $3 != 0 { printf "q%s: %s timeout recoveries (not traced)\n", $1, $3; bad = 1 }
$2 ~ /^(interrupts|completed|polls|budget_exhausted|rearm_races|kicks|timer_polls|inline_irqs|gate_rearms|deferrals|fallbacks|probes|explores)$/ {
	tr = t[$1, $2] + 0
	sum[$2] += $3
	if (tr != $3) { printf "q%s: debugfs %s %s, trace %s\n", $1, $2, $3, tr; bad = 1 }
}
END {
	printf "totals:"
	for (k in sum) printf " %s %s", k, sum[k]
	printf "\n"
	exit bad
}' traced counters) || { info "$report"; fail "trace and debugfs counters differ"; }
info "mode ${TEST_MODE:-?}: $(wc -l <trace) trace lines; $report"

total() { awk -v k="$1" '$2 == k { s += $3 } END { print s + 0 }' counters; }
comp=$(total completed)
[ "$comp" -ge 5120 ] || fail "debugfs completed $comp for 5120 I/Os: the window missed I/O"
[ "$(total interrupts)" -gt 0 ] || fail "no interrupts in the window"
[ "$(total kicks)" -gt 0 ] || fail "no kicks in the window"
pass

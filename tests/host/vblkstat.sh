#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/vblkstat against a made-up /proc and /sys (VBLKSTAT_ROOT) that a
# stand-in "sleep" changes by known amounts between intervals, run by
# dash with only busybox applets on PATH: exact deltas and rates per
# queue, counters of unknown names passed through (-p), missing ones shown
# as "-", state keys (_ns, inflight, gate, shut) as values, a counter
# reset, a disk that disappears and one that appears, the -d filter,
# SIGTERM ending with the partial interval, and the refusals (debugfs not
# mounted, module not loaded, stock module, bad arguments).  The counters
# of the real driver: tests/guest/vblkstat.sh.
. "$(dirname "$0")/../lib/host.sh"

bb=$(command -v busybox) || skip "busybox is not installed (make deps)"
dash=$(command -v dash) || skip "dash is not installed"
scratch
R=$SCRATCH/root
bin=$SCRATCH/bin
mkdir -p "$bin"
for a in sh awk mktemp rm cat; do ln -s "$bb" "$bin/$a"; done
# the stand-in sleep: runs the next step script (the tree changes), if any
cat >"$bin/sleep" <<EOF
#!$bb sh
PATH=/usr/bin:/bin
n=\$(cat "$SCRATCH/step" 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >"$SCRATCH/step"
[ -f "$SCRATCH/step\$n.sh" ] && . "$SCRATCH/step\$n.sh"
exit 0
EOF
chmod +x "$bin/sleep"
# dash, not busybox sh: busybox sh runs its own sleep applet whatever PATH
# says (tests/guest/vblkstat.sh runs it under busybox sh)
vbs() { VBLKSTAT_ROOT=$R PATH=$bin "$dash" scripts/vblkstat "$@"; }

D=$R/sys/kernel/debug/virtio_blk
qfile() {	# DISK Q "key value" lines
	mkdir -p "$D/$1" && printf '%s\n' "$3" | tr ',' '\n' >"$D/$1/q$2"
}
irqs() {	# the /proc/interrupts rows (3 CPUs)
	{
		echo "           CPU0       CPU1       CPU2"
		echo "  0:         40          0          0   IO-APIC   2-edge      timer"
		printf '%s\n' "$@"
	} >"$R/proc/interrupts"
}
tree() {
	rm -rf "$R" "$SCRATCH/step"
	mkdir -p "$R/proc" "$R/sys/module/virtio_blk/parameters" "$D" \
		"$R/sys/bus/virtio/devices/virtio2/block/vda" \
		"$R/sys/bus/virtio/devices/virtio3/block/vdb"
	echo "debugfs /sys/kernel/debug debugfs rw,relatime 0 0" >"$R/proc/mounts"
	echo 1 >"$R/sys/module/virtio_blk/parameters/blk_iopoll"
	echo "100.00 180.00" >"$R/proc/uptime"
	qfile vda 0 "interrupts 10,polls 20,completed 300,budget_exhausted 1,rearm_races 0,kicks 150,timer_polls 2"
	qfile vda 1 "interrupts 5,polls 5,completed 50,budget_exhausted 0,rearm_races 0,kicks 40,timer_polls 0"
	qfile vdb 0 "interrupts 1,polls 1,completed 9,kicks 9,inline_irqs 4,deferrals 0,fallbacks 0,defer_ns 200000,inflight 2,gate 0,shut 10,newctr 7"
	irqs " 24:          5          3          4  PCI-MSIX   1-edge      virtio2-req.0" \
		" 25:          1          1          1  PCI-MSIX   2-edge      virtio2-req.1" \
		" 26:          0          1          0  PCI-MSIX   1-edge      virtio3-req.0"
	# +2 s: vda q0 +6 irqs +4 interrupts +10 polls +80 completed +20 kicks;
	# vdb +7 completed +3 inline_irqs, its delay 150 us, state keys
	# inflight 5, gate 8, shut 64 (values, not deltas), newctr +1
	cat >"$SCRATCH/step1.sh" <<-EOF
	echo "102.00 1" >"$R/proc/uptime"
	sed -i 's/^interrupts 10$/interrupts 14/; s/^polls 20$/polls 30/; s/^completed 300$/completed 380/; s/^kicks 150$/kicks 170/' "$D/vda/q0"
	sed -i 's/^completed 9$/completed 16/; s/^inline_irqs 4$/inline_irqs 7/; s/^defer_ns .*/defer_ns 150000/; s/^inflight 2$/inflight 5/; s/^gate 0$/gate 8/; s/^shut 10$/shut 64/; s/^newctr 7$/newctr 8/' "$D/vdb/q0"
	sed -i 's/^\( 24: *\)5 /\\111 /' "$R/proc/interrupts"
	EOF
	# +1 s: vdb gone, vdc (virtio4) appears
	cat >"$SCRATCH/step2.sh" <<-EOF
	echo "103.00 1" >"$R/proc/uptime"
	rm -rf "$D/vdb" "$R/sys/bus/virtio/devices/virtio3"
	sed -i '/virtio3-req/d' "$R/proc/interrupts"
	mkdir -p "$R/sys/bus/virtio/devices/virtio4/block/vdc" "$D/vdc"
	printf 'completed 1000\npolls 100\n' >"$D/vdc/q0"
	EOF
	# +1 s: vda q1 reset, then 3 completions; vdc +5
	cat >"$SCRATCH/step3.sh" <<-EOF
	echo "104.00 1" >"$R/proc/uptime"
	sed -i 's/^completed 50$/completed 3/' "$D/vda/q1"
	sed -i 's/^completed 1000$/completed 1005/' "$D/vdc/q0"
	EOF
}

# --- parseable ---------------------------------------------------------------
tree
vbs -p 1 3 >"$SCRATCH/p.out" 2>"$SCRATCH/p.err" || fail "vblkstat -p exited $?: $(cat "$SCRATCH/p.err")"
[ -s "$SCRATCH/p.err" ] && fail "vblkstat -p wrote to stderr: $(cat "$SCRATCH/p.err")"
cat >"$SCRATCH/p.want" <<'EOF'
t=0.00 event=start interval=1 disks=vda,vdb
t=2.00 dt=2.00 disk=vda q=0 irq=6 interrupts=4 polls=10 completed=80 budget_exhausted=0 rearm_races=0 kicks=20 timer_polls=0
t=2.00 dt=2.00 disk=vda q=1 irq=0 interrupts=0 polls=0 completed=0 budget_exhausted=0 rearm_races=0 kicks=0 timer_polls=0
t=2.00 dt=2.00 disk=vdb q=0 irq=0 interrupts=0 polls=0 completed=7 kicks=0 inline_irqs=3 deferrals=0 fallbacks=0 defer_ns=150000 inflight=5 gate=8 shut=64 newctr=1
t=3.00 event=gone disk=vdb
t=3.00 dt=1.00 disk=vda q=0 irq=0 interrupts=0 polls=0 completed=0 budget_exhausted=0 rearm_races=0 kicks=0 timer_polls=0
t=3.00 dt=1.00 disk=vda q=1 irq=0 interrupts=0 polls=0 completed=0 budget_exhausted=0 rearm_races=0 kicks=0 timer_polls=0
t=3.00 event=appeared disk=vdc queues=1
t=4.00 dt=1.00 disk=vda q=0 irq=0 interrupts=0 polls=0 completed=0 budget_exhausted=0 rearm_races=0 kicks=0 timer_polls=0
t=4.00 dt=1.00 disk=vda q=1 irq=0 interrupts=0 polls=0 completed=3 budget_exhausted=0 rearm_races=0 kicks=0 timer_polls=0
t=4.00 dt=1.00 disk=vdc q=0 completed=5 polls=0
EOF
diff "$SCRATCH/p.want" "$SCRATCH/p.out" >"$SCRATCH/p.diff" ||
	{ sed 's/^/#   /' "$SCRATCH/p.diff"; fail "vblkstat -p output (>) differs from the expected (<)"; }

# --- the table ---------------------------------------------------------------
tree
vbs 1 2 >"$SCRATCH/h.out" 2>"$SCRATCH/h.err" || fail "vblkstat exited $?: $(cat "$SCRATCH/h.err")"
row() {	# what a row must look like (fields separated by one blank)
	awk -v want="$*" '{ $1 = $1 } $0 == want { f = 1 } END { exit !f }' "$SCRATCH/h.out" ||
		{ sed 's/^/#   /' "$SCRATCH/h.out"; fail "no table row '$*'"; }
}
row "vblkstat: interval 1 s, 2 disks: vda (virtio2, 2 queues), vdb (virtio3, 1 queue)"
row "disk q irq/s runs/s cpl/s cpl/run tmr/s bexh/s kick/io +2.00 s (2.00 s)"
row "vda 0 3.0 5.0 40.0 8.0 0.0 0.0 0.25"
row "vda 1 0.0 0.0 0.0 - 0.0 0.0 -"
row "vda all 3.0 5.0 40.0 8.0 0.0 0.0 0.25"
row "disk q irq/s runs/s cpl/s cpl/run tmr/s bexh/s kick/io inl/s dfr/s fbk/s defer_us +2.00 s (2.00 s)"
row "vdb 0 0.0 0.0 3.5 - - - 0.00 1.5 0.0 0.0 150.0"
row "- vdb gone"
row "+ vdc appeared (virtio4, 1 queue)"
tree
vbs -r -d vdb,vdz 1 1 >"$SCRATCH/r.out" 2>&1 || fail "vblkstat -r -d vdb exited $?: $(cat "$SCRATCH/r.out")"
mv "$SCRATCH/r.out" "$SCRATCH/h.out"
row "vblkstat: interval 1 s, 1 disk: vdb (virtio3, 1 queue)"
row "vdb 0 0 0 7 - - - 0.00 3 0 0 150.0"
grep -q vda "$SCRATCH/h.out" && fail "-d vdb shows vda: $(cat "$SCRATCH/h.out")"

# --- SIGTERM: the partial interval, exit 0 ------------------------------------
tree
rm "$SCRATCH/step1.sh"
# the real sleep: vblkstat waits in its 100 s interval until the signal
VBLKSTAT_ROOT=$R PATH=/usr/bin:/bin "$dash" scripts/vblkstat -p -d vda 100 5 >"$SCRATCH/t.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$SCRATCH/t.out" ] && break; sleep 0.1; done
echo "100.50 1" >"$R/proc/uptime"
sed -i 's/^completed 300$/completed 333/' "$D/vda/q0"
kill -TERM $pid
wait $pid || fail "vblkstat exited $? on SIGTERM: $(cat "$SCRATCH/t.out")"
grep -qx 't=0.50 dt=0.50 disk=vda q=0 irq=0 interrupts=0 polls=0 completed=33 budget_exhausted=0 rearm_races=0 kicks=0 timer_polls=0' \
	"$SCRATCH/t.out" || fail "no partial interval after SIGTERM: $(cat "$SCRATCH/t.out")"
[ "$(grep -c ' q=0 ' "$SCRATCH/t.out")" = 1 ] || fail "more than one report after SIGTERM: $(cat "$SCRATCH/t.out")"

# --- refusals ------------------------------------------------------------------
refuse() {	# RC PATTERN ARGS...: vblkstat must exit RC saying PATTERN
	local rc=$1 pat=$2 got
	shift 2
	vbs "$@" >"$SCRATCH/e.out" 2>&1
	got=$?
	[ "$got" = "$rc" ] && grep -q "$pat" "$SCRATCH/e.out" ||
		fail "vblkstat $* exited $got (want $rc, '$pat'): $(cat "$SCRATCH/e.out")"
}
tree
refuse 2 "not a number" abc
refuse 2 "more than 0" 0
refuse 2 "not a whole number" 1 x
refuse 2 "too many" 1 1 1
rm "$R/sys/module/virtio_blk/parameters/blk_iopoll"
refuse 1 "not the iopoll driver" 1 1
rm -rf "$D"
refuse 1 "not the iopoll driver" 1 1
rm -rf "$R/sys/module/virtio_blk"
refuse 1 "virtio_blk is not loaded" 1 1
: >"$R/proc/mounts"
refuse 1 "debugfs is not mounted" 1 1
info "exact -p deltas, table rates, appear/gone, reset, -d, SIGTERM and 8 refusals (dash, busybox awk)"
pass

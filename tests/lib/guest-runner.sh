#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside one guest (scripts/vm/run) and executes guest tests for one
# (kernel, module configuration) boot:
#
#   guest-runner.sh LABEL MODES MANIFEST TEST...
#
# LABEL   result-name prefix, e.g. "6.1/main"
# MODES   "stock", or a space-separated list of modes for our module, run
#         one after the other in this boot: "iopoll0" sets
#         kernel.blk_iopoll=0 (module VM_MODULE); "iopoll1" =1 with the
#         adaptive controller (the default); "iopoll1p" =1 with
#         kernel.blk_iopoll_adaptive=0 (plain poller); "iopoll1d" =1 with a
#         fixed deferred re-arm (kernel.blk_iopoll_defer_us=200); the iopoll
#         modes write all three sysctls before every test; "noiopoll:KO" swaps in
#         the IOPOLL=n build KO (rmmod + insmod with VM_MODPARAMS). Tests
#         marked "# vmtest: once" run in the first mode only; in noiopoll
#         mode only the tests marked "# vmtest: core" run (the IOPOLL=n
#         build differs in the completion path only). Tests marked
#         "# vmtest: modes M..." check what the completion mode does not
#         change: they run in those modes (in the first mode where none of
#         them is in MODES), and in every mode with TEST_STRESS=1.
# TEST    names of tests/guest/NAME.sh
#
# Prints one result line per (mode, test): "ok - LABEL/MODE/NAME",
# "not ok - ...: why", "skip - ...: why", plus "# " diagnostics. A test
# passes only if it says ok, exits 0 and the kernel log since it started
# has no WARNING/BUG/Oops/hung task/Call Trace. Logs: $VM_OUT/logs/.
# Exit status 0 when nothing failed, 1 otherwise.
# The whole script is one brace group, parsed before it runs: editing this
# file while a run is in progress cannot derail that run.
{
set -u
label=$1 modes=$2 manifest=$3
shift 3
here=$(cd "$(dirname "$0")/../guest" && pwd)
TEST_TIMEOUT=${TEST_TIMEOUT:-300}	# tests/run passes it, empty for 300
logroot=${VM_OUT:-/tmp}/logs/${label//\//-}
mkdir -p "$logroot"
export TEST_MANIFEST=$manifest

SPLAT='WARNING:|BUG:|Oops|hung task|blocked for more than|Call Trace|soft lockup|detected stalls|general protection fault|Kernel panic|UBSAN:|KASAN:|list_(add|del) corruption'

nfail=0
# a fifo nobody writes: 'read -t' on it is a sleep without a fork
mkfifo /tmp/vmtest-tick.$$
exec {tick}<>/tmp/vmtest-tick.$$
rm -f /tmp/vmtest-tick.$$
first_mode=${modes%% *}
mode_names=" "
for m in $modes; do mode_names+="${m%%:*} "; done
# Each test's "# vmtest:" markers, read once with builtins: under TCG a
# grep per (mode, test) cost about a minute of every boot.  ONLY: the
# modes a "# vmtest: modes" test runs in here (those of its list this boot
# has, else the first).
declare -A ONCE=() CORE=() ONLY=()
for t in "$@"; do
	[ -r "$here/$t.sh" ] || continue
	while IFS= read -r l; do
		[[ $l == "#"* ]] || break
		case $l in
		"# vmtest: once"*) ONCE[$t]=1 ;;
		"# vmtest: core"*) CORE[$t]=1 ;;
		"# vmtest: modes "*)
			only=
			l=${l#"# vmtest: modes "}
			for m in ${l%%(*}; do
				[[ $mode_names == *" $m "* ]] && only+=" $m"
			done
			ONLY[$t]="${only:- ${first_mode%%:*}} " ;;
		esac
	done <"$here/$t.sh"
done
wanted() {	# MODE TEST: does TEST run in MODE?
	case $1 in
	noiopoll:*) [ -n "${CORE[$2]:-}" ] || return 1 ;;
	esac
	if [ -z "${TEST_STRESS:-}" ] && [ -n "${ONLY[$2]:-}" ]; then
		[[ ${ONLY[$2]} == *" ${1%%:*} "* ]]
		return
	fi
	[ "$1" = "$first_mode" ] || [ -z "${ONCE[$2]:-}" ]
}
plan=1
for mode in $modes; do
	for t in "$@"; do
		wanted "$mode" "$t" && plan=$((plan + 1))
	done
done
echo "# plan $plan"
echo "# guest: $(uname -r), $(nproc) CPUs, module=$VM_MODULE ${VM_MODPARAMS:+($VM_MODPARAMS)}"

# The module loaded now; tests reload it from TEST_KO.
if [ "$VM_MODULE" = stock ]; then CUR_KO=$VM_STOCK_KO; else CUR_KO=$VM_MODULE; fi
serials=$(sed -n 's/^serial=\([^ ]*\).*/\1/p' "$manifest")

use_module() {	# KO: make it the loaded virtio_blk, wait for every disk
	local s ok _
	[ "$CUR_KO" = "$1" ] && return 0
	rmmod virtio_blk || return 1
	# shellcheck disable=SC2086 # parameters are separate words
	insmod "$1" ${VM_MODPARAMS:-} || return 1
	CUR_KO=$1
	for _ in $(seq 200); do
		ok=1
		for s in $serials; do
			grep -qsx -- "$s" /sys/block/vd*/serial || { ok=; break; }
		done
		[ -n "$ok" ] && return 0
		read -rt 0.1 -u "$tick"
	done
	return 1
}

set_sysctl() {	# NAME VALUE: write, and read back
	local v
	echo "$2" >"/proc/sys/kernel/$1" 2>/dev/null &&
		read -r v <"/proc/sys/kernel/$1" && [ "$v" = "$2" ]
}

set_mode() {	# stock | iopoll0 | iopoll1 | iopoll1p | iopoll1d | noiopoll:KO
	local on=1 adaptive=1 defer=0
	case $1 in
	stock) return 0 ;;
	iopoll0) on=0 ;;
	iopoll1) ;;
	iopoll1p) adaptive=0 ;;
	iopoll1d) adaptive=0 defer=200 ;;
	noiopoll:*) use_module "${1#noiopoll:}"; return ;;
	*) return 1 ;;
	esac
	use_module "$VM_MODULE" && set_sysctl blk_iopoll $on &&
		set_sysctl blk_iopoll_adaptive $adaptive &&
		set_sysctl blk_iopoll_defer_us $defer
}

# Kernel log lines after the marker line (the last one containing it).
log_since() {
	dmesg 2>/dev/null | awk -v m="$1" 'index($0, m) { buf = ""; found = 1; next }
		found { buf = buf $0 "\n" } END { printf "%s", buf }'
}

result() {	# STATUS NAME [REASON]
	case $1 in
	ok) echo "ok - $2" ;;
	fail) echo "not ok - $2: $3"; nfail=$((nfail + 1)) ;;
	skip) echo "skip - $2: $3" ;;
	esac
}

run_one() {	# MODE TEST
	local mode=${1%%:*} t=$2 log marker pid rc line why splat
	local name=$label/$mode/$t
	log=$logroot/$mode-$t.log
	marker="vmtest: begin $name $RANDOM$RANDOM"
	if [ ! -f "$here/$t.sh" ]; then
		result fail "$name" "no test tests/guest/$t.sh"
		return
	fi
	if ! set_mode "$1"; then
		result fail "$name" "cannot switch to mode $1 (module $CUR_KO)"
		return
	fi
	echo "$marker" >/dev/kmsg
	local t0=$SECONDS
	TEST_SCRATCH=$(mktemp -d /tmp/vmtest.XXXXXX)
	export TEST_SCRATCH TEST_MODE=$mode TEST_KO=$CUR_KO
	# in a writable cwd: fio drops verify state files there
	(cd "$TEST_SCRATCH" && exec timeout -k 10 "$TEST_TIMEOUT" bash "$here/$t.sh") \
		>"$log" 2>&1 </dev/null &
	pid=$!
	# A test stuck in D state survives SIGKILL: stop waiting on it and
	# end the boot, the host counts the tests that never reported. The
	# poll is a builtin read on a fifo: a 'sleep' exec per tick would eat
	# the guest's CPU under TCG.
	local deadline=$((SECONDS + TEST_TIMEOUT + 30))
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
		read -rt 0.2 -u "$tick"
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo w >/proc/sysrq-trigger 2>/dev/null
		result fail "$name" "unkillable after ${TEST_TIMEOUT}s timeout (hung I/O?)"
		log_since "$marker" | tail -n 40 | sed 's/^/#   /'
		echo "# aborting this boot"
		exit 1
	fi
	wait "$pid"
	rc=$?
	echo "# time: $name $((SECONDS - t0))s"
	rm -rf "$TEST_SCRATCH"
	local l
	line=
	while IFS= read -r l; do
		case $l in
		"# "*) printf '%s\n' "$l" ;;
		"ok - "* | "not ok - "* | "skip - "*) line=$l ;;
		esac
	done <"$log"
	why=${line#*: }
	splat=$(dmesg 2>/dev/null | awk -v m="$marker" -v re="$SPLAT" \
		'index($0, m) { found = 1; next } found && $0 ~ re { print; exit }')
	if [ -n "$splat" ]; then
		result fail "$name" "kernel log: $splat"
		log_since "$marker" | tail -n 40 | sed 's/^/#   /'
		return
	fi
	case $rc:$line in
	0:"ok - $t") result ok "$name" ;;
	77:"skip - $t: "*) result skip "$name" "$why" ;;
	124:* | 137:*) result fail "$name" "timed out after ${TEST_TIMEOUT}s" ;;
	1:"not ok - $t: "*) result fail "$name" "$why" ;;
	*) result fail "$name" "exit $rc with result line '${line:-none}'" ;;
	esac
	case $rc in
	0|77) ;;
	*) grep -v '^# ' "$log" | tail -n 25 | sed 's/^/#   /' ;;
	esac
}

# Boot and module load (probe of every disk) must leave a clean log.
splat=$(dmesg 2>/dev/null | grep -E "$SPLAT" | head -n 1)
if [ -n "$splat" ]; then
	result fail "$label/boot-dmesg" "kernel log: $splat"
	dmesg | tail -n 40 | sed 's/^/#   /'
else
	result ok "$label/boot-dmesg"
fi

for mode in $modes; do
	for t in "$@"; do
		wanted "$mode" "$t" || continue
		run_one "$mode" "$t"
	done
done
[ $nfail -eq 0 ]
exit
}

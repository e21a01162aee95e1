#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Drop-in parity of the limits: for every disk of the boot (the device
# shapes, and the main boot's disks with QEMU discard and write-zeroes
# limits), every /sys/block/vdX/queue/* value, the tag count and number of
# each hardware queue and the disk's size/ro/alignment attributes are the
# same under the kernel's own virtio_blk and under ours, loaded one after
# the other in this boot: with default parameters, then both with
# queue_depth=300 (above the 256-entry default ring, below the 1024 one:
# the stock module takes the value as given; ours then reads every disk at
# QD64 in batches of 32 to show that requests beyond a 16-entry ring wait
# and complete, batched submission included).
# A difference fails the test unless the allow-list below names it with
# its reason. Not shown here:
# a device that reports 0 for max_discard_sectors, max_write_zeroes_sectors
# (both: no limit) or max_discard_seg (as many as data segments); QEMU
# refuses the first two and always reports 1 for the last.
# vmtest: boot shapes main
# vmtest: once (swaps the modules itself)
. "${0%/*}/../lib/guest.sh"

[ "${VM_MODULE:-stock}" != stock ] || skip "compares the stock module with ours: runs in our module's boots"
ko=${TEST_KO:?}
stock=${VM_STOCK_KO:?}
[ ${#SERIALS[@]} -gt 0 ] || skip "no disks in this boot"

# Differences that are expected: ALLOWED[attribute]=reason, an attribute
# being the path under /sys/block/vdX/.
declare -A ALLOWED=(
	[queue/io_timeout]="ours has a ->timeout handler (stranded-ring recovery); 6.1 shows the attribute only for drivers with one"
)

mkfifo "$TEST_SCRATCH/tick"
exec {tick}<>"$TEST_SCRATCH/tick"
names() { local f; for f in /sys/block/vd*; do printf '%s ' "${f##*/}"; done; }

load() {	# KO [PARAM...]: make it the only virtio_blk, wait for every disk
	local s ok _
	rmmod virtio_blk || fail "rmmod virtio_blk failed"
	insmod "$@" || fail "insmod $* failed"
	for _ in $(seq 300); do
		ok=1
		for s in "${SERIALS[@]}"; do
			disk_by_serial "$s" >/dev/null || { ok=; break; }
		done
		[ -n "$ok" ] && return 0
		read -rt 0.1 -u "$tick"
	done
	fail "insmod $*: not every disk came back within 30 s (have: $(names))"
}

# "SERIAL ATTRIBUTE VALUE" lines for every disk into FILE (builtins only).
dump() {	# FILE
	local s d f v hw
	for s in "${SERIALS[@]}"; do
		d=$(disk_by_serial "$s") || fail "no disk $s"
		for f in /sys/block/"$d"/queue/* /sys/block/"$d"/mq/*/nr_tags \
			/sys/block/"$d"/mq/*/nr_reserved_tags \
			/sys/block/"$d"/{size,ro,removable,alignment_offset,discard_alignment,capability,ext_range}; do
			[ -f "$f" ] && [ -r "$f" ] || continue
			v=
			read -r v <"$f" 2>/dev/null
			echo "$s ${f#/sys/block/"$d"/} ${v:-<empty>}"
		done
		hw=(/sys/block/"$d"/mq/*)
		echo "$s mq/count ${#hw[@]}"
	done >"$1"
}

# Compare the dumps A (stock) and B (ours); print and count differences.
ndiff=0
compare() {	# LABEL A B
	local s k v
	declare -A a=() b=()
	while read -r s k v; do a[$s $k]=$v; done <"$2"
	while read -r s k v; do b[$s $k]=$v; done <"$3"
	for k in "${!a[@]}"; do
		[ "${a[$k]}" = "${b[$k]-<missing>}" ] && continue
		if [ -n "${ALLOWED[${k#* }]:-}" ]; then
			info "$1: $k: stock '${a[$k]}', ours '${b[$k]-<missing>}' (allowed: ${ALLOWED[${k#* }]})"
			continue
		fi
		info "$1: $k: stock '${a[$k]}', ours '${b[$k]-<missing>}'"
		ndiff=$((ndiff + 1))
	done
	for k in "${!b[@]}"; do
		[ -n "${a[$k]+set}" ] && continue
		[ -n "${ALLOWED[${k#* }]:-}" ] && continue
		info "$1: $k: only ours has it ('${b[$k]}')"
		ndiff=$((ndiff + 1))
	done
}

# shellcheck disable=SC2086 # parameters are separate words
trap '[ -d /sys/module/virtio_blk ] || insmod "$ko" ${VM_MODPARAMS:-}' EXIT
D=$TEST_SCRATCH
dump "$D/ours"
load "$stock"
dump "$D/stock"
load "$stock" queue_depth=300
dump "$D/stock-qd"
load "$ko" queue_depth=300
dump "$D/ours-qd"
# more tags than ring entries on the small rings: requests wait for
# descriptors and still complete
jobs=()
for s in "${SERIALS[@]}"; do
	# not the disk that fails chosen sectors
	[ -z "$(mget "$s" rsector)" ] || continue
	jobs+=(--name="$s" --filename="/dev/$(disk_by_serial "$s")")
done
run_fio qd300 --ioengine=libaio --direct=1 --rw=randread --bs=4k --iodepth=64 \
	--iodepth_batch_submit=32 --size=2M "${jobs[@]}" ||
	fail "reads at QD64 with queue_depth=300 failed"
# shellcheck disable=SC2086 # parameters are separate words
load "$ko" ${VM_MODPARAMS:-}
rd n "$D/ours"
[ -n "$n" ] || fail "nothing dumped"
compare default "$D/stock" "$D/ours"
compare queue_depth=300 "$D/stock-qd" "$D/ours-qd"
# the full table, in the test log
echo "serial attribute: stock ours stock(qd=300) ours(qd=300)"
awk '{ k = $1 " " $2 ":"; $1 = $2 = ""; v[k, FILENAME] = substr($0, 3) }
	FILENAME == ARGV[1] { keys[++n] = k }
	END { for (i = 1; i <= n; i++) { k = keys[i]; printf "%s", k
		for (j = 1; j < ARGC; j++) printf " %s", ((k, ARGV[j]) in v) ? v[k, ARGV[j]] : "-"
		print "" } }' "$D/stock" "$D/ours" "$D/stock-qd" "$D/ours-qd"
[ $ndiff -eq 0 ] || fail "$ndiff limit(s) differ from the stock module"
info "${#SERIALS[@]} disks, $(wc -l <"$D/stock") attributes each under stock and ours, default and queue_depth=300: same"
pass

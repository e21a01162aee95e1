#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data integrity on a file-backed raw disk: fio write then verify (crc32c),
# random and sequential, 4k and 64k, QD1 and QD32, two jobs per case each on
# its own 4 MiB region, O_DIRECT libaio, up to 8 I/Os per submission (so
# that QD32 goes through batched submission, ->queue_rqs, as well as
# ->queue_rq). Zero verify errors allowed. One
# fio process runs the eight cases one after the other (stonewall): under
# TCG a fio start costs seconds.
# vmtest: core (also run against the IOPOLL=n build)
. "${0%/*}/../lib/guest.sh"

need_disk data0
d=$DISK
job=$TEST_SCRATCH/verify.fio
cat >"$job" <<JOB
[global]
filename=/dev/$d
ioengine=libaio
direct=1
numjobs=2
size=4M
offset_increment=4M
iodepth_batch_submit=8
verify=crc32c
verify_fatal=1
do_verify=1
group_reporting=1
stonewall
JOB
cases=()
for rw in randwrite write; do
	for bs in 4k 64k; do
		for qd in 1 32; do
			cases+=("$rw-$bs-qd$qd")
			printf '[%s]\nrw=%s\nbs=%s\niodepth=%s\n' "$rw-$bs-qd$qd" $rw $bs $qd >>"$job"
		done
	done
done
run_fio verify --output-format=json "$job" || fail "fio write/verify failed"
# every case ran both jobs to completion, without errors
python3 - "$TEST_SCRATCH/fio-verify.log" "${cases[@]}" <<'PY' || fail "fio results incomplete"
import json, sys
text = open(sys.argv[1]).read()
res = json.loads(text[text.index("\n{") + 1:] if not text.startswith("{") else text)
jobs = {j["jobname"]: j for j in res["jobs"]}
ok = True
for case in sys.argv[2:]:
    j = jobs.get(case)
    if j is None:
        print("# %s: missing from fio's results" % case)
        ok = False
        continue
    wrote, read = j["write"]["io_bytes"], j["read"]["io_bytes"]
    print("# %s: error %d, %d KiB written, %d KiB verified"
          % (case, j["error"], wrote >> 10, read >> 10))
    if j["error"] or wrote != 8 << 20 or read != 8 << 20:
        ok = False
sys.exit(0 if ok else 1)
PY
pass

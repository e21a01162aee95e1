# SPDX-License-Identifier: GPL-2.0
"""What `make bench` measures: disks, driver configurations, fio cells, and
which (disk, cell, config) combinations each mode runs.

Imported by the host orchestrator (scripts/bench/run), which writes the
chosen plan to plan.json for the guest (scripts/bench/guest.py) and for the
report (scripts/bench/report.py).  Nothing here is a measured number.
"""

BUDGETS = (1, 4, 16, 64, 256)
# Budget used for the "iopoll" line of the QD sweeps (interrupts/IO and CPU/IO
# vs queue depth).  The budget sweep itself covers every value in BUDGETS.
REF_BUDGET = 64
# Deferred re-arm (kernel.blk_iopoll_defer_us) measured at REF_BUDGET: config
# DEFER_CONFIG.  Not part of the budget sweep.
REF_DEFER_US = 200
DEFER_CONFIG = f"d{REF_DEFER_US}"

# Virtual disks, both attached in every boot.  The guest tells them apart by
# size (and serial where the driver exposes it).
DISKS = {
    "null": {
        "desc": "QEMU null-co, read-zeroes",
        "size": 1 << 30,
        "blockdev": "null-co,node-name=bnull,size=1073741824,read-zeroes=on",
    },
    "lat20us": {
        "desc": "QEMU null-co, read-zeroes, latency-ns=20000",
        "size": 2 << 30,
        "blockdev": ("null-co,node-name=blat20us,size=2147483648,"
                     "read-zeroes=on,latency-ns=20000"),
    },
}


def disk_qemu_args(name, num_queues):
    """Raw QEMU arguments for one bench disk (one launcher -d value)."""
    d = DISKS[name]
    node = d["blockdev"].split("node-name=")[1].split(",")[0]
    return (f"-blockdev {d['blockdev']} -device virtio-blk-pci,drive={node},"
            f"num-queues={num_queues},serial=bench-{name}")


def _configs():
    # Configs of one module load run back to back and sysctls persist
    # between them, so every config of ours without poll_queues sets
    # blk_iopoll_defer_us explicitly.  pollq reloads the module, which
    # starts from the module defaults (iopoll 1, budget 64, defer 0).
    c = {"stock": {"module": "stock", "params": "", "sysctl": {},
                   "engine": "libaio",
                   "desc": "Debian's own virtio_blk"},
         "off": {"module": "ours", "params": "",
                 "sysctl": {"blk_iopoll": 0, "blk_iopoll_defer_us": 0},
                 "engine": "libaio",
                 "desc": "ours, kernel.blk_iopoll=0"}}
    for b in BUDGETS:
        c[f"b{b}"] = {"module": "ours", "params": "",
                      "sysctl": {"blk_iopoll": 1, "blk_iopoll_budget": b,
                                 "blk_iopoll_defer_us": 0},
                      "engine": "libaio", "budget": b,
                      "desc": f"ours, kernel.blk_iopoll=1, budget {b}"}
    c[DEFER_CONFIG] = {"module": "ours", "params": "",
                       "sysctl": {"blk_iopoll": 1,
                                  "blk_iopoll_budget": REF_BUDGET,
                                  "blk_iopoll_defer_us": REF_DEFER_US},
                       "engine": "libaio",
                       "desc": f"ours, kernel.blk_iopoll=1, budget "
                               f"{REF_BUDGET}, kernel.blk_iopoll_defer_us="
                               f"{REF_DEFER_US} (deferred re-arm)"}
    c["pollq"] = {"module": "ours", "params": "poll_queues=1", "sysctl": {},
                  "engine": "io_uring-hipri",
                  "desc": "ours, poll_queues=1, fio io_uring hipri "
                          "(interrupt-free reference)"}
    return c


CONFIGS = _configs()
ALL = list(CONFIGS)
SWEEP = ALL                # every config (the budgets and DEFER_CONFIG)
CORE = ["stock", "off", f"b{REF_BUDGET}", DEFER_CONFIG, "pollq"]

# fio workload file (scripts/bench/jobs/<file>.fio), queue depth, jobs
def cell(workload, qd, jobs):
    return {"name": f"{workload}-qd{qd}-j{jobs}", "workload": workload,
            "qd": qd, "jobs": jobs}


def _items(spec):
    """spec: list of (disk, workload, qd, jobs, configs) -> plan items."""
    return [{"disk": d, **cell(w, q, j), "configs": list(cfgs)}
            for d, w, q, j, cfgs in spec]


def _qd_matrix(disk, rr_cfg, rw_cfg, sweep_cfg):
    """randread/randwrite at QD 1/8/32 x 1/2 jobs; sweep_cfg (the budget
    sweep and the deferred re-arm) on the three headline randread cells
    (QD1 one job, QD32 one and two jobs)."""
    spec = []
    for qd in (1, 8, 32):
        for jobs in (1, 2):
            headline = (qd, jobs) in ((1, 1), (32, 1), (32, 2))
            spec.append((disk, "randread", qd, jobs,
                         sweep_cfg if headline else rr_cfg))
    for qd in (1, 8, 32):
        for jobs in (1, 2):
            spec.append((disk, "randwrite", qd, jobs, rw_cfg))
    return spec


def make_plan(mode):
    """mode: quick | default | full.  Returns a JSON-able dict."""
    if mode == "quick":
        # smoke-test size: two budgets so every plot has lines; no trace boot
        q = ["stock", "b4", "b64"]
        main = _items([
            ("null", "randread", 1, 1, q + [DEFER_CONFIG]),
            ("null", "randread", 32, 1, ["stock", "off", "b4", "b64",
                                         DEFER_CONFIG, "pollq"]),
            ("null", "randread", 32, 2, q),
        ])
        trace = _items([
            ("null", "randread", 32, 1, ["stock", "b64", "pollq"]),
        ])
        return {"mode": mode, "runtime": 1, "ramp": 0.5, "repeats": 2,
                "trace_repeats": 1, "trace_default": False, "main": main,
                "trace": trace}
    if mode == "full":
        # ~35 min per kernel (TCG): the budget sweep on the headline cells of
        # both disks, every other cell with the core configs, 5 repeats
        spec = _qd_matrix("null", CORE, CORE, SWEEP)
        spec += [("null", "seqread", 8, 1, CORE)]
        spec += [("lat20us", "randread", q, j, SWEEP)
                 for q, j in ((1, 1), (32, 1), (32, 2))]
        spec += [("lat20us", "seqread", 8, 1, CORE)]
        trace = [(d, "randread", q, j, CORE) for d in ("null", "lat20us")
                 for q, j in ((1, 1), (32, 1), (32, 2))]
        return {"mode": mode, "runtime": 2, "ramp": 1, "repeats": 5,
                "trace_repeats": 2, "main": _items(spec),
                "trace": _items(trace)}
    # default: about 20 minutes for two kernels (TCG: ~3 s per run)
    rr = ["stock", f"b{REF_BUDGET}", DEFER_CONFIG, "pollq"]
    wr = ["stock", f"b{REF_BUDGET}"]
    spec = _qd_matrix("null", rr, wr, SWEEP)
    spec += [("null", "seqread", 8, 1, wr)]
    spec += [("lat20us", "randread", 1, 1, wr + [DEFER_CONFIG]),
             ("lat20us", "randread", 32, 1, wr + [DEFER_CONFIG])]
    trace = [("null", "randread", 1, 1, CORE),
             ("null", "randread", 32, 1, CORE)]
    return {"mode": mode, "runtime": 1.5, "ramp": 0.5, "repeats": 3,
            "trace_repeats": 1, "main": _items(spec), "trace": _items(trace)}


def run_count(plan, phase):
    reps = plan["repeats"] if phase == "main" else plan["trace_repeats"]
    return reps * sum(len(it["configs"]) for it in plan[phase])

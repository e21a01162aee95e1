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
# Adaptive completion moderation (kernel.blk_iopoll_adaptive=1): the
# driver's default since issue 12; the configuration the targets are for.
AUTO_CONFIG = "auto"
NOBATCH_CONFIG = "nobatch"
# The A/A control: stock again, from a module load of its own.  Every
# ratio to stock compares two module loads; this one compares the same
# module with itself, so its spread is what a reload alone moves (the
# bench's resolution), and a ratio of ours inside it is no difference.
AA_CONFIG = "stockr"

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
    # a real filesystem: a raw image file in host tmpfs (scripts/bench/run
    # creates it per boot), ext4 made in the guest, fio on files in it
    "ext4": {
        "desc": "raw image file in host tmpfs (/dev/shm), ext4 made in the "
                "guest (mkfs.ext4), fio on files in it",
        "size": 1536 << 20,
        "image": True,
        "fs": "ext4",
    },
}
# fio workloads that run on a file in the filesystem, and the file size
FS_FILE_SIZE = "256m"


def disk_qemu_args(name, num_queues, image=None):
    """Raw QEMU arguments for one bench disk (one launcher -d value);
    image: the host file behind an image disk."""
    d = DISKS[name]
    if d.get("image"):
        return (f"-blockdev driver=file,node-name=b{name},filename={image},"
                f"aio=threads -device virtio-blk-pci,drive=b{name},"
                f"num-queues={num_queues},serial=bench-{name}")
    node = d["blockdev"].split("node-name=")[1].split(",")[0]
    return (f"-blockdev {d['blockdev']} -device virtio-blk-pci,drive={node},"
            f"num-queues={num_queues},serial=bench-{name}")


def _configs():
    # Configs of one module load run back to back and sysctls persist
    # between them, so every config of ours without poll_queues sets
    # blk_iopoll_defer_us and blk_iopoll_adaptive explicitly.  pollq
    # reloads the module, which starts from the module defaults.  A value
    # of 0 for a sysctl in OPTIONAL_ZERO is satisfied by a build without
    # that sysctl (the feature is off there); any other missing sysctl
    # skips the configuration with a reason.
    c = {"stock": {"module": "stock", "params": "", "sysctl": {},
                   "engine": "libaio",
                   "desc": "Debian's own virtio_blk"},
         AA_CONFIG: {"module": "stock", "params": "", "load": "again",
                     "sysctl": {}, "engine": "libaio",
                     "desc": "Debian's own virtio_blk, loaded apart from "
                             "stock's runs (the A/A control)"},
         "off": {"module": "ours", "params": "",
                 "sysctl": {"blk_iopoll": 0, "blk_iopoll_defer_us": 0,
                            "blk_iopoll_adaptive": 0},
                 "engine": "libaio",
                 "desc": "ours, kernel.blk_iopoll=0"}}
    for b in BUDGETS:
        c[f"b{b}"] = {"module": "ours", "params": "",
                      "sysctl": {"blk_iopoll": 1, "blk_iopoll_budget": b,
                                 "blk_iopoll_defer_us": 0,
                                 "blk_iopoll_adaptive": 0},
                      "engine": "libaio", "budget": b,
                      "desc": f"ours, kernel.blk_iopoll=1, budget {b}, "
                              "adaptive off (plain iopoll)"}
    c[DEFER_CONFIG] = {"module": "ours", "params": "",
                       "sysctl": {"blk_iopoll": 1,
                                  "blk_iopoll_budget": REF_BUDGET,
                                  "blk_iopoll_defer_us": REF_DEFER_US,
                                  "blk_iopoll_adaptive": 0},
                       "engine": "libaio",
                       "desc": f"ours, kernel.blk_iopoll=1, budget "
                               f"{REF_BUDGET}, kernel.blk_iopoll_defer_us="
                               f"{REF_DEFER_US} (fixed deferred re-arm), "
                               "adaptive off"}
    c[AUTO_CONFIG] = {"module": "ours", "params": "",
                      "sysctl": {"blk_iopoll": 1,
                                 "blk_iopoll_budget": REF_BUDGET,
                                 "blk_iopoll_defer_us": 0,
                                 "blk_iopoll_adaptive": 1},
                      "engine": "libaio",
                      "desc": f"ours, kernel.blk_iopoll=1, budget "
                              f"{REF_BUDGET}, kernel.blk_iopoll_adaptive=1, "
                              "defer 0 (adaptive moderation: the default)"}
    # ->queue_rqs off (module parameter batch_submit=0, a module reload):
    # the batched-submission cell's comparison, ours with and without it
    c[NOBATCH_CONFIG] = {"module": "ours", "params": "batch_submit=0",
                         "sysctl": dict(c[AUTO_CONFIG]["sysctl"]),
                         "engine": "libaio",
                         "desc": f"as {AUTO_CONFIG}, module parameter "
                                 "batch_submit=0 (no ->queue_rqs: a plugged "
                                 "list is added one request at a time)"}
    c["pollq"] = {"module": "ours", "params": "poll_queues=1", "sysctl": {},
                  "engine": "io_uring-hipri",
                  "desc": "ours, poll_queues=1, fio io_uring hipri "
                          "(interrupt-free reference)"}
    return c


# sysctls whose value 0 means "feature off", which a build of ours without
# the sysctl satisfies as well
OPTIONAL_ZERO = ("blk_iopoll_defer_us", "blk_iopoll_adaptive")
CONFIGS = _configs()
ALL = list(CONFIGS)
# budgets, d200, auto, pollq
SWEEP = [c for c in ALL if c not in (NOBATCH_CONFIG, AA_CONFIG)]
CORE = ["stock", AA_CONFIG, "off", f"b{REF_BUDGET}", DEFER_CONFIG,
        AUTO_CONFIG, "pollq"]
# The QD sweep (4k randread, one job, null-co)
QDS = (1, 2, 4, 8, 16, 32, 64)
# Cells whose fio output keeps the full completion-latency histogram
# (fio json+), for the latency CDF plots
HIST_CELLS = ("randread-qd1-j1", "randread-qd4-j1")


# fio workload file (scripts/bench/jobs/<file>.fio), queue depth, jobs
def cell(workload, qd, jobs):
    return {"name": f"{workload}-qd{qd}-j{jobs}", "workload": workload,
            "qd": qd, "jobs": jobs}


def _items(spec):
    """spec: list of (disk, workload, qd, jobs, configs) -> plan items."""
    out = []
    for d, w, q, j, cfgs in spec:
        it = {"disk": d, **cell(w, q, j), "configs": list(cfgs)}
        if d == "null" and it["name"] in HIST_CELLS:
            it["hist"] = True
        out.append(it)
    return out


def _core_spec(cfgs):
    """The second edition's cells: the QD sweep (4k randread, one job, QD
    1..64), randread QD32 with two jobs, randwrite QD32, and the
    latency-ns=20000 disk at QD1 and QD32."""
    spec = [("null", "randread", q, 1, cfgs) for q in QDS]
    spec += [("null", "randread", 32, 2, cfgs),
             ("null", "randwrite", 32, 1, cfgs),
             ("lat20us", "randread", 1, 1, cfgs),
             ("lat20us", "randread", 32, 1, cfgs)]
    return spec


def _batch_spec():
    """Batched submission (io_submit of 16, ->queue_rqs) at QD32: stock,
    ours by default, and ours without ->queue_rqs."""
    return [("null", "randbatch", 32, 1, ["stock", AUTO_CONFIG,
                                           NOBATCH_CONFIG])]


# configurations on the filesystem cells (the polled-queue reference is
# left out: fsync and io_uring hipri on a file are a different engine path)
FS_CONFIGS = ["stock", "off", f"b{REF_BUDGET}", AUTO_CONFIG]


def _fs_spec(cfgs):
    """ext4 on a tmpfs-backed image: a database-like mix (8k random 70/30
    read/write, fsync every 16 writes, 4 jobs at QD4 each on one file) and
    a sequential 1M write then read."""
    return [("ext4", "dbmix", 4, 4, cfgs), ("ext4", "seq1m", 4, 1, cfgs)]


def make_plan(mode):
    """mode: quick | default | full.  Returns a JSON-able dict."""
    if mode == "quick":
        # smoke-test size: every plot gets at least two points; no trace
        # boot (BENCH_TRACE=1 adds it)
        q = ["stock", f"b{REF_BUDGET}", AUTO_CONFIG]
        main = _items([
            ("null", "randread", 1, 1, q + [DEFER_CONFIG]),
            ("null", "randread", 32, 1, CORE),
            ("null", "randread", 32, 2, q),
        ])
        trace = _items([
            ("null", "randread", 32, 1, ["stock", f"b{REF_BUDGET}",
                                         "pollq"]),
        ])
        return {"mode": mode, "runtime": 1, "ramp": 0.5, "repeats": 2,
                "trace_repeats": 1, "trace_default": False, "main": main,
                "trace": trace}
    trace = _items([("null", "randread", 1, 1, CORE),
                    ("null", "randread", 32, 1, CORE)])
    if mode == "full":
        # the default cells plus the budget sweep (every budget) on the
        # headline randread cells of both disks, more repeats
        spec = (_core_spec(CORE) + _batch_spec() +
                _fs_spec(FS_CONFIGS + [DEFER_CONFIG]))
        sweep = [c for c in SWEEP if c not in CORE]
        spec += [(d, "randread", q, j, ["stock"] + sweep)
                 for d, q, j in (("null", 1, 1), ("null", 32, 1),
                                 ("null", 32, 2), ("lat20us", 32, 1))]
        return {"mode": mode, "runtime": 3, "ramp": 1, "repeats": 6,
                "trace_repeats": 2, "main": _items(spec), "trace": trace}
    # default: about 25 minutes per kernel on the 2-core TCG host; 4
    # repeats of 2.5 s cells, chosen from the measured spread of the paired
    # ratios (scripts/bench/README.md, "Choosing repeats and cell length")
    return {"mode": mode, "runtime": 2.5, "ramp": 0.75, "repeats": 4,
            "trace_repeats": 1,
            "main": _items(_core_spec(CORE) + _batch_spec() +
                           _fs_spec(FS_CONFIGS)),
            "trace": trace}


def run_count(plan, phase):
    reps = plan["repeats"] if phase == "main" else plan["trace_repeats"]
    return reps * sum(len(it["configs"]) for it in plan[phase])

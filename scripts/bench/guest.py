#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Guest side of `make bench`: runs inside the VM started by scripts/vm/run.

Loads the stock and our virtio_blk in turn (both are called virtio_blk, so it
is rmmod + insmod in the same boot), sets the iopoll sysctls, runs the fio
cells of plan.json interleaved across configurations and repeats, and stores
raw fio JSON plus before/after counter snapshots.  It computes nothing: the
report (scripts/bench/report.py) derives every figure from these raw files.

Output (under --out):
  guest-info.json         guest kernel, CPU, clocksource, module identities
  runs.jsonl              one record per run (or skipped config)
  raw/NNNN-...fio.json    fio's JSON output of that run
  guest.log               progress log
"""
import argparse
import json
import mmap
import os
import platform
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plan as planmod  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
JOBS = os.path.join(HERE, "jobs")
DEVDIR = "/tmp/bench-dev"
DEBUGFS = "/sys/kernel/debug/virtio_blk"
SYSCTL = "/proc/sys/kernel"
TRACE_FLUSH_BYTES = 64 << 10   # > any stdio buffer QEMU's log file can have

LOG = None


def log(msg):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if LOG:
        LOG.write(line + "\n")
        LOG.flush()


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def sh(*cmd, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: rc {r.returncode}: "
                           f"{r.stdout.strip()}")
    return r


# ---------------------------------------------------------------- modules

class Modules:
    """Which virtio_blk is loaded, and swapping it."""

    def __init__(self, ours_path):
        self.kver = platform.release()
        r = sh("modinfo", "-n", "virtio_blk", check=False)
        self.stock_path = r.stdout.strip() if r.returncode == 0 else None
        self.ours_path = ours_path if os.path.isfile(ours_path) else None
        self.loaded = None          # (module, params) we loaded
        self.load_seconds = []

    @staticmethod
    def key(cfg):
        return (cfg["module"], cfg["params"], cfg.get("load", ""))

    def identity(self, path):
        if not path:
            return None
        r = sh("modinfo", "-F", "srcversion", path, check=False)
        v = sh("modinfo", "-F", "vermagic", path, check=False)
        return {"path": path, "srcversion": r.stdout.strip(),
                "vermagic": v.stdout.strip()}

    def unload(self):
        for _ in range(50):
            if not os.path.isdir("/sys/module/virtio_blk"):
                self.loaded = None
                return
            r = sh("rmmod", "virtio_blk", check=False)
            if r.returncode == 0:
                continue
            time.sleep(0.1)
        raise RuntimeError(f"cannot unload virtio_blk: {r.stdout.strip()}")

    def ensure(self, cfg):
        want = self.key(cfg)
        if self.loaded == want and os.path.isdir("/sys/module/virtio_blk"):
            return
        t0 = time.monotonic()
        self.unload()
        path = self.stock_path if cfg["module"] == "stock" else self.ours_path
        if not path:
            raise RuntimeError(f"no {cfg['module']} module")
        sh("insmod", path, *cfg["params"].split())
        self.loaded = want
        self.load_seconds.append(time.monotonic() - t0)

    def loaded_srcversion(self):
        return read("/sys/module/virtio_blk/srcversion")


# ---------------------------------------------------------------- disks

def find_disks(timeout=15.0):
    """Map bench disk name -> info, matching /sys/block/vd* by size."""
    by_size = {d["size"]: name for name, d in planmod.DISKS.items()}
    deadline = time.monotonic() + timeout
    while True:
        found = {}
        for blk in sorted(os.listdir("/sys/block")):
            if not blk.startswith("vd"):
                continue
            base = f"/sys/block/{blk}"
            size = int(read(f"{base}/size", "0")) * 512
            name = by_size.get(size)
            if not name:
                continue
            found[name] = {
                "blk": blk,
                "virtio": os.path.basename(os.path.realpath(f"{base}/device")),
                "devno": read(f"{base}/dev"),
                "serial": read(f"{base}/serial"),
                "size": size,
            }
        if len(found) == len(by_size) or time.monotonic() > deadline:
            missing = set(by_size.values()) - set(found)
            if missing:
                raise RuntimeError(f"bench disks not found: {sorted(missing)}"
                                   f" (/sys/block: {os.listdir('/sys/block')})")
            return found
        time.sleep(0.05)


def device_node(name, info):
    """A block device node for the disk, independent of devtmpfs/udev."""
    os.makedirs(DEVDIR, exist_ok=True)
    path = os.path.join(DEVDIR, name)
    major, minor = (int(x) for x in info["devno"].split(":"))
    try:
        if os.path.exists(path):
            os.unlink(path)
        os.mknod(path, 0o600 | stat.S_IFBLK, os.makedev(major, minor))
        fd = os.open(path, os.O_RDONLY)
        os.close(fd)
        return path
    except OSError:
        dev = f"/dev/{info['blk']}"
        if os.path.exists(dev):
            return dev
        raise


# ---------------------------------------------------------------- counters

def proc_stat_cpu():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                return [int(x) for x in line.split()[1:]]
    return []


def irq_counts(virtio):
    """Per-vector interrupt totals (summed over CPUs) of one virtio device."""
    out = {}
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        for line in f:
            parts = line.split()
            if not parts or not parts[-1].startswith(virtio + "-"):
                continue
            out[parts[-1]] = sum(int(x) for x in parts[1:1 + ncpu]
                                 if x.isdigit())
    return out


def all_irqs():
    """Every interrupt the guest took: each row of /proc/interrupts summed
    over CPUs (device vectors, LOC, IPIs, ...); ERR/MIS are error counts,
    not interrupts, and are left out."""
    out = {}
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        for line in f:
            parts = line.split()
            if not parts:
                continue
            name = parts[0].rstrip(":")
            if name in ("ERR", "MIS"):
                continue
            out[name] = sum(int(x) for x in parts[1:1 + ncpu]
                            if x.isdigit())
    return out


def softirqs():
    out = {}
    with open("/proc/softirqs") as f:
        f.readline()
        for line in f:
            parts = line.split()
            if parts and parts[0].rstrip(":") in ("IRQ_POLL", "BLOCK"):
                out[parts[0].rstrip(":")] = sum(int(x) for x in parts[1:])
    return out


def driver_counters(blk):
    """Our driver's debugfs counters: {queue: {key: value}}; {} if absent."""
    base = os.path.join(DEBUGFS, blk)
    out = {}
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return out
    for q in names:
        if not q.startswith("q"):
            continue
        text = read(os.path.join(base, q), "")
        vals = {}
        for line in text.splitlines():
            kv = line.split()
            if len(kv) == 2:
                try:
                    vals[kv[0]] = int(kv[1])
                except ValueError:
                    pass
        out[q] = vals
    return out


def settings(blk):
    """Effective driver/queue settings, read back for the record."""
    base = f"/sys/block/{blk}"
    return {
        "sysctl_blk_iopoll": read(f"{SYSCTL}/blk_iopoll"),
        "sysctl_blk_iopoll_budget": read(f"{SYSCTL}/blk_iopoll_budget"),
        "sysctl_blk_iopoll_defer_us": read(f"{SYSCTL}/blk_iopoll_defer_us"),
        "sysctl_blk_iopoll_adaptive": read(f"{SYSCTL}/blk_iopoll_adaptive"),
        "sysfs_iopoll_budget": read(f"{base}/iopoll_budget"),
        "sysfs_iopoll_adaptive": read(f"{base}/iopoll_adaptive"),
        "io_poll": read(f"{base}/queue/io_poll"),
        "scheduler": read(f"{base}/queue/scheduler"),
        "nr_hw_queues": len(os.listdir(f"{base}/mq"))
        if os.path.isdir(f"{base}/mq") else None,
        "module_params": {p: read(f"/sys/module/virtio_blk/parameters/{p}")
                          for p in sorted(os.listdir(
                              "/sys/module/virtio_blk/parameters"))}
        if os.path.isdir("/sys/module/virtio_blk/parameters") else {},
        "srcversion": read("/sys/module/virtio_blk/srcversion"),
        "taint": read("/sys/module/virtio_blk/taint"),
    }


class TraceLog:
    """Byte offsets into QEMU's trace log (host file, read over 9p)."""

    def __init__(self, path, scratch_dir):
        self.path = path
        self.scratch = os.path.join(scratch_dir, ".trace-flush")

    def size(self):
        return os.stat(self.path).st_size

    def flush_offset(self):
        """Make virtio traffic on the 9p device until QEMU must have written
        everything logged so far, and return the log size then.  The extra
        events belong to the 9p device and are filtered out by vdev."""
        s0 = self.size()
        n = 0
        while self.size() - s0 < TRACE_FLUSH_BYTES and n < 20000:
            n += 1
            if n > 100:       # stat alone may be cached by 9p: write too
                with open(self.scratch, "w") as f:
                    f.write("x")
                    f.flush()
                    os.fsync(f.fileno())
        return self.size(), n


def snapshot(disk, trace=None, before=True):
    """Counters of one disk.  With a trace log, its offset is taken outside
    the counter window (flush first before a run, last after it), so the
    9p traffic of the flush is not counted as CPU or I/O of the run."""
    s = {}
    if trace and before:
        s["trace_offset"], s["trace_flush_iters"] = trace.flush_offset()
    s.update({"t": time.monotonic(), "wall": time.time(),
              "cpu": proc_stat_cpu(), "irq": irq_counts(disk["virtio"]),
              "softirq": softirqs(), "irq_all": all_irqs(),
              "diskstat": [int(x) for x in
                           read(f"/sys/block/{disk['blk']}/stat", "").split()],
              "driver": driver_counters(disk["blk"])})
    if trace and not before:
        s["trace_offset"], s["trace_flush_iters"] = trace.flush_offset()
    return s


# ---------------------------------------------------------------- runs

class Marker:
    """Cell windows for the host: the guest rewrites OUT/cell-marker (the
    writable 9p share) right before and after each fio run; the host's
    sampler (scripts/bench/run) polls it and records QEMU's CPU time at
    each change.  The file holds "<seq> <start|end> <counter> r<repeat>"."""

    def __init__(self, out):
        self.path = os.path.join(out, "cell-marker")
        self.n = 0

    def mark(self, seq, what, rep):
        self.n += 1
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{seq} {what} {self.n} r{rep}\n")
        os.rename(tmp, self.path)


def apply_sysctls(cfg):
    """Set the config's sysctls; return a skip reason or None."""
    for key, val in cfg["sysctl"].items():
        path = f"{SYSCTL}/{key}"
        if not os.path.exists(path):
            if key in planmod.OPTIONAL_ZERO and val == 0:
                continue        # a build without the feature: it is off
            return f"driver has no {path}"
        write(path, val)
        back = read(path)
        if back != str(val):
            return f"{path}: wrote {val}, reads back {back}"
    return None


def engine_args(cfg):
    if cfg["engine"] == "io_uring-hipri":
        return ["--ioengine=io_uring", "--hipri"]
    return [f"--ioengine={cfg['engine']}"]


FS_MNT = "/tmp/bench-fs"


class FsDisk:
    """A disk with a filesystem made in this boot (plan DISKS "fs"): made
    on first use, mounted around each run and unmounted after it, so the
    module can be swapped between runs.  fio's files are laid out once per
    workload (fio --create_only) before their first measured run."""

    def __init__(self, name, fstype):
        self.name, self.fstype = name, fstype
        self.made = False
        self.broken = None
        self.laid_out = set()
        self.mnt = os.path.join(FS_MNT, name)

    def mount(self, dev):
        if not self.made:
            sh("modprobe", self.fstype, check=False)
            sh(f"mkfs.{self.fstype}", "-q", "-F", "-E",
               "lazy_itable_init=0,lazy_journal_init=0", dev)
            self.made = True
        os.makedirs(self.mnt, exist_ok=True)
        sh("mount", "-t", self.fstype, "-o", "noatime", dev, self.mnt)

    def umount(self):
        if os.path.ismount(self.mnt):
            sh("umount", self.mnt)

    def path(self, workload):
        return os.path.join(self.mnt, workload + ".dat")


def fio_cpus(jobs):
    """Guest CPUs the fio jobs are pinned to (jobs.fio: cpus_allowed, split
    policy).  Unpinned, the guest scheduler moved a lone job between vCPUs,
    and with it the queue it submits to and the vCPU its interrupts land on:
    stock randread QD32 ranged 12.0k-21.9k IOPS over 8 repeats, 19.9k-20.5k
    pinned (scripts/bench/README.md, "Noise").  One job takes the last CPU,
    away from CPU 0's housekeeping; several jobs are spread over all."""
    ncpu = os.cpu_count()
    return str(ncpu - 1) if jobs == 1 else f"0-{ncpu - 1}"


def run_fio(item, cfg, dev, plan, out_json, create_only=False):
    """One fio run; returns (exit status, output tail, command).  fio takes
    whole seconds unless given a unit, so times go in as milliseconds.  On
    a hang the whole process group is killed so no job keeps the disk."""
    env = dict(os.environ, BENCH_DEV=dev, BENCH_QD=str(item["qd"]),
               BENCH_JOBS=str(item["jobs"]),
               BENCH_CPUS=fio_cpus(item["jobs"]),
               BENCH_RUNTIME=f"{round(plan['runtime'] * 1000)}ms",
               BENCH_RAMP=f"{round(plan['ramp'] * 1000)}ms",
               BENCH_SIZE=planmod.FS_FILE_SIZE)
    # json+ keeps the completion-latency histogram (for the CDF plots)
    ofmt = "json+" if item.get("hist") else "json"
    cmd = ["fio", f"--output-format={ofmt}", f"--output={out_json}",
           *engine_args(cfg), os.path.join(JOBS, item["workload"] + ".fio")]
    if create_only:
        cmd.insert(1, "--create_only=1")
    limit = plan["runtime"] + plan["ramp"] + 60
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=limit)
        return p.returncode, out[-2000:], cmd
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return 124, f"killed after {limit}s: " + out[-1900:], cmd


def schedule(plan, phase):
    """Interleaved run order: every repeat goes over all cells, and within a
    cell over its configs back to back.  Configs are grouped by module load
    (stock / ours / ours+poll queue); a cell starts with the group already
    loaded (fewer rmmod/insmod), the other groups follow in an order that
    rotates from cell to cell, and the order inside a group rotates with
    the repeat."""
    reps = plan["repeats"] if phase == "main" else plan["trace_repeats"]
    order = []
    loaded = None
    turn = 0
    for rep in range(reps):
        for item in plan[phase]:
            groups = {}
            for c in item["configs"]:
                groups.setdefault(Modules.key(planmod.CONFIGS[c]), []).append(c)
            keys = list(groups)
            turn += 1
            keys = keys[turn % len(keys):] + keys[:turn % len(keys)]
            if loaded in groups:
                keys.remove(loaded)
                keys.insert(0, loaded)
            for k in keys:
                g = groups[k]
                r = rep % len(g)
                order += [(rep, item, c) for c in g[r:] + g[:r]]
            loaded = keys[-1]
    return order


def calibrate_trace(trace, disks, nodes):
    """Windows in the trace log that identify each disk's vdev pointer: one
    with no block I/O (9p and other devices only), then one per disk with a
    known number of single 4 KiB direct reads."""
    cal = {}
    a, _ = trace.flush_offset()
    b, _ = trace.flush_offset()
    cal["idle"] = {"start": a, "end": b, "reads": 0}
    buf = mmap.mmap(-1, 4096)
    for name in disks:
        fd = os.open(nodes[name], os.O_RDONLY | os.O_DIRECT)
        n = 1000
        start, _ = trace.flush_offset()
        for i in range(n):
            os.preadv(fd, [buf], (i * 7919 % 4096) * 4096)
        end, _ = trace.flush_offset()
        os.close(fd)
        cal[name] = {"start": start, "end": end, "reads": n}
    return cal


def guest_info(mods, disks):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cs = "/sys/devices/system/clocksource/clocksource0"
    avail = read(f"{cs}/available_clocksource", "")
    return {
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "cpu_model": cpu,
        "nr_cpus": os.cpu_count(),
        "mem_kb": int(read("/proc/meminfo", "MemTotal: 0").split()[1]),
        "clocksource_available": avail,
        "clocksource_current": read(f"{cs}/current_clocksource"),
        "accel_hint": "kvm" if "kvm-clock" in avail else "tcg",
        "user_hz": os.sysconf("SC_CLK_TCK"),
        "fio": sh("fio", "--version").stdout.strip(),
        "stock_module": mods.identity(mods.stock_path),
        "our_module": mods.identity(mods.ours_path),
        "disks": disks,
        "env": {k: v for k, v in os.environ.items() if k.startswith("VM_")},
    }


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan", required=True)
    ap.add_argument("--phase", choices=("main", "trace"), default="main")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ours", help="our virtio_blk.ko "
                    "(default build/<running kernel>/drivers/block/)")
    ap.add_argument("--trace-log", help="QEMU trace log to take offsets in")
    args = ap.parse_args()

    with open(args.plan) as f:
        plan = json.load(f)
    os.makedirs(os.path.join(args.out, "raw"), exist_ok=True)
    LOG = open(os.path.join(args.out, "guest.log"), "a")
    ours = args.ours or os.path.join(REPO, "build", platform.release(),
                                     "drivers/block/virtio_blk.ko")
    mods = Modules(ours)
    trace = TraceLog(args.trace_log, args.out) if args.trace_log else None
    if trace and not os.path.exists(trace.path):
        log(f"trace log {trace.path} not readable in the guest; "
            "no host-side counts this boot")
        trace = None
    if not os.path.isdir(DEBUGFS) and not os.path.ismount("/sys/kernel/debug"):
        sh("mount", "-t", "debugfs", "none", "/sys/kernel/debug", check=False)

    # Initial state: stock loaded (also proves the disks are there).
    mods.ensure(planmod.CONFIGS["stock"])
    disks = find_disks()
    info = guest_info(mods, disks)
    info["phase"] = args.phase
    runs_path = os.path.join(args.out, "runs.jsonl")
    runs = open(runs_path, "w")

    def record(rec):
        runs.write(json.dumps(rec, sort_keys=True) + "\n")
        runs.flush()

    if trace:
        nodes = {n: device_node(n, d) for n, d in disks.items()}
        info["trace_calibration"] = calibrate_trace(trace, disks, nodes)
    with open(os.path.join(args.out, "guest-info.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
    log(f"guest {info['kernel']} {info['accel_hint']} cpus={info['nr_cpus']} "
        f"stock={mods.stock_path} ours={mods.ours_path}")

    marker = Marker(args.out)
    fsdisks = {}
    order = schedule(plan, args.phase)
    skip_reason = {}
    t_start = time.monotonic()
    for seq, (rep, item, cname) in enumerate(order):
        cfg = planmod.CONFIGS[cname]
        base = {"seq": seq, "rep": rep, "disk": item["disk"],
                "cell": item["name"], "workload": item["workload"],
                "qd": item["qd"], "jobs": item["jobs"], "config": cname,
                "phase": args.phase}
        if cfg["module"] == "ours" and not mods.ours_path:
            skip_reason[cname] = f"our module not built ({ours})"
        if cname in skip_reason:
            record({**base, "skipped": skip_reason[cname]})
            continue
        try:
            mods.ensure(cfg)
            disks = find_disks()
        except (RuntimeError, subprocess.SubprocessError) as e:
            skip_reason[cname] = f"module load failed: {e}"
            log(f"{cname}: {skip_reason[cname]}")
            record({**base, "skipped": skip_reason[cname]})
            try:
                mods.unload()
            except RuntimeError as e2:
                log(f"giving up: {e2}")
                break
            continue
        why = apply_sysctls(cfg)
        if why:
            skip_reason[cname] = why
            log(f"{cname}: skipped: {why}")
            record({**base, "skipped": why})
            continue
        disk = disks[item["disk"]]
        dev = device_node(item["disk"], disk)
        fs = None
        if planmod.DISKS[item["disk"]].get("fs"):
            fs = fsdisks.setdefault(item["disk"], FsDisk(
                item["disk"], planmod.DISKS[item["disk"]]["fs"]))
            try:
                if fs.broken:
                    raise RuntimeError(fs.broken)
                fs.mount(dev)
            except RuntimeError as e:
                if not fs.broken:
                    log(f"{item['disk']}: {e}")
                fs.broken = str(e).splitlines()[0]
                record({**base, "skipped": f"filesystem: {fs.broken}"})
                continue
            dev = fs.path(item["workload"])
            if item["workload"] not in fs.laid_out:
                lay = os.path.join(args.out, "raw", ".layout.json")
                run_fio(item, cfg, dev, plan, lay, create_only=True)
                fs.laid_out.add(item["workload"])
        stem = (f"{seq:04d}-r{rep}-{item['disk']}-{item['name']}-{cname}")
        fio_json = os.path.join(args.out, "raw", stem + ".fio.json")
        before = snapshot(disk, trace)
        marker.mark(seq, "start", rep)
        rc, tail, cmd = run_fio(item, cfg, dev, plan, fio_json)
        marker.mark(seq, "end", rep)
        after = snapshot(disk, trace, before=False)
        if fs:
            fs.umount()
        rec = {**base, "fio_json": os.path.relpath(fio_json, args.out),
               "fio_rc": rc, "fio_cmd": cmd, "dev": dev, "disk_info": disk,
               "settings": settings(disk["blk"]),
               "before": before, "after": after}
        if rc:
            rec["fio_tail"] = tail
        record(rec)
        done = seq + 1
        eta = (time.monotonic() - t_start) / done * (len(order) - done)
        log(f"{done}/{len(order)} r{rep} {item['disk']} {item['name']} "
            f"{cname} rc={rc} (eta {eta:.0f}s)")
    runs.close()
    summary = {"runs": len(order), "skipped": skip_reason,
               "module_loads": len(mods.load_seconds),
               "module_load_seconds_total": round(sum(mods.load_seconds), 3),
               "elapsed_s": round(time.monotonic() - t_start, 1)}
    with open(os.path.join(args.out, "guest-done.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    log(f"done: {summary}")
    mods.unload()
    return 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: GPL-2.0
"""Host-side sampler for `make bench`: QEMU's CPU time per cell window, and
host load before, during and between cells.

The guest cannot read host /proc, so it marks its cell windows by rewriting
OUT/cell-marker ("<seq> <start|end> <counter>") on the writable 9p share
right before and after each fio run (scripts/bench/guest.py, Marker).  A
thread here polls that file every POLL_S and, at each change, records the
QEMU process's utime+stime (whole process and per thread group: vCPU
threads, everything else), the host's busy jiffies and /proc/loadavg, into
OUT/host-samples.jsonl.  The report turns consecutive start/end records
into host CPU per I/O and other processes' share of the host CPUs.

pin (scripts/bench/run: BENCH_PIN): "1" pins the vCPU threads ("CPU
<n>/TCG", "CPU <n>/KVM") to host CPU n mod ncpu; "alt" pins them in the
even repeats and lets them run on every host CPU in the odd ones, so one
boot measures whether pinning lowers the spread (the report compares the
two halves); "0" (default) leaves them alone.
"""
import json
import os
import threading
import time

POLL_S = 0.02


def _stat_ticks(path):
    """(comm, utime + stime) from a /proc/.../stat file, or None."""
    try:
        with open(path) as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    # fields 14 and 15 (utime, stime) are rest[11], rest[12]
    return comm, int(rest[11]) + int(rest[12])


def host_busy_jiffies():
    """Host CPU time in use so far (all CPUs, all processes), in jiffies."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]          # minus idle and iowait


def find_qemu(outdir):
    """PID of the QEMU whose command line names outdir (its 9p OUT share)."""
    key = f"path={os.path.realpath(outdir)},".encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if cmd.startswith(b"qemu-system") or b"/qemu-system" in \
                cmd.split(b"\0")[0]:
            if key in cmd:
                return int(d)
    return None


class Sampler(threading.Thread):
    def __init__(self, outdir, pin="0"):
        super().__init__(daemon=True)
        self.outdir = outdir
        self.marker = os.path.join(outdir, "cell-marker")
        self.pin = pin if pin in ("1", "alt") else None
        self.pinned = {}
        self.want_pin = pin == "1"
        self.stop_ev = threading.Event()
        self.pid = None
        self.records = []
        self.polls = 0
        self.cpu_s = 0.0
        self.ncpu = os.cpu_count()
        self.all_cpus = os.sched_getaffinity(0)

    def sample(self, tag):
        threads = {"vcpu": 0, "other": 0}
        base = f"/proc/{self.pid}"
        tot = _stat_ticks(f"{base}/stat")
        try:
            tids = os.listdir(f"{base}/task")
        except OSError:
            tids = []
        for tid in tids:
            r = _stat_ticks(f"{base}/task/{tid}/stat")
            if not r:
                continue
            grp = "vcpu" if r[0].startswith("CPU ") else "other"
            threads[grp] += r[1]
            if self.pin and grp == "vcpu":
                self._pin(int(tid), r[0])
        with open("/proc/loadavg") as f:
            load = f.read().split()
        return {"marker": tag, "t": time.monotonic(),
                "qemu_ticks": tot[1] if tot else None,
                "threads": threads, "host_busy": host_busy_jiffies(),
                "loadavg": load[:3], "running": load[3],
                "pinned": self.want_pin if self.pin else None}

    def _pin(self, tid, comm):
        """Pin (or unpin) one vCPU thread as self.want_pin says."""
        try:
            n = int(comm.split()[1].split("/")[0])
            cpus = {sorted(self.all_cpus)[n % len(self.all_cpus)]} \
                if self.want_pin else set(self.all_cpus)
            if os.sched_getaffinity(tid) != cpus:
                os.sched_setaffinity(tid, cpus)
            self.pinned[str(tid)] = sorted(cpus)[0] if self.want_pin \
                else None
        except (ValueError, IndexError, OSError):
            pass

    def run(self):
        t_cpu0 = time.thread_time()
        last = None
        out = open(os.path.join(self.outdir, "host-samples.jsonl"), "w")
        try:
            while not self.stop_ev.wait(POLL_S):
                self.polls += 1
                if self.pid is None:
                    self.pid = find_qemu(self.outdir)
                    if self.pid is None:
                        continue
                    rec = self.sample("qemu-found")
                    rec["pid"] = self.pid
                    out.write(json.dumps(rec) + "\n")
                try:
                    with open(self.marker) as f:
                        tag = f.read().strip()
                except OSError:
                    continue
                if tag == last or not tag:
                    continue
                last = tag
                parts = tag.split()
                if self.pin == "alt" and len(parts) >= 4 and \
                        parts[1] == "start" and parts[3][1:].isdigit():
                    self.want_pin = int(parts[3][1:]) % 2 == 0
                rec = self.sample(tag)
                out.write(json.dumps(rec) + "\n")
                out.flush()
        finally:
            self.cpu_s = time.thread_time() - t_cpu0
            out.write(json.dumps({"marker": "sampler-done",
                                  "t": time.monotonic(),
                                  "sampler_cpu_s": self.cpu_s,
                                  "polls": self.polls, "pid": self.pid,
                                  "pin": self.pin, "pinned": self.pinned,
                                  "clk_tck": os.sysconf("SC_CLK_TCK"),
                                  "host_ncpu": self.ncpu}) + "\n")
            out.close()

    def stop(self):
        self.stop_ev.set()
        self.join(timeout=5)

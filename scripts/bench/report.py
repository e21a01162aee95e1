#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Report for `make bench`: derives every figure from the raw files the guest
and the host sampler wrote (fio JSON, counter snapshots, QEMU CPU samples,
trace counts) and writes, per results/<kernel>-<accel>/:

  summary.json   per run, and per (disk, cell, config): median, min, max,
                 paired ratios to stock with bootstrap 95% intervals, target
                 verdicts
  summary.csv    the same aggregates, one row per (phase, disk, cell, config)
  table.md       markdown tables, targets with verdicts
  *.svg, *.png   gnuplot plots (PNG where gnuplot has a png terminal)

and results/README.md over every result directory found.

Statistics: in every repeat each configuration runs back to back with stock
in the same cell, so each repeat gives one paired ratio config/stock.  A
cell reports the median of those per-repeat ratios and a bootstrap 95%
interval of that median (BOOT resamples, fixed seed: the report is
reproducible).  A target's verdict comes from the interval: met when the
whole interval is on the good side of the threshold, not met when the whole
interval is on the bad side, undecided otherwise.

Usage: scripts/bench/report.py RESULT_DIR...   (one per kernel), or
       scripts/bench/report.py --readme RESULTS_DIR
"""
import collections
import csv
import json
import os
import random
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import plan as planmod  # noqa: E402

BOOT = 2000          # bootstrap resamples
SEED = 14            # fixed: the same data gives the same intervals
LEVEL = 0.95

# Metric key -> column heading.  Order = CSV order.
METRICS = {
    "iops": "IOPS",
    "clat_mean_us": "clat mean µs",
    "clat_p50_us": "clat p50 µs",
    "clat_p99_us": "clat p99 µs",
    "clat_p999_us": "clat p99.9 µs",
    "cpu_us_per_io": "guest CPU µs/IO",
    "cpu_irq_us_per_io": "guest irq+softirq µs/IO",
    "cpu_busy_frac": "guest CPU busy fraction",
    "host_cpu_us_per_io": "host QEMU CPU µs/IO",
    "host_vcpu_us_per_io": "host QEMU vCPU threads µs/IO",
    "host_other_us_per_io": "host QEMU other threads µs/IO",
    "host_other_load": "other host processes' CPU share",
    "irq_per_io": "interrupts/IO (/proc/interrupts)",
    "drv_timer_polls_per_io": "timer polls/IO",
    "transitions_per_io": "interrupts+timer polls/IO",
    "xtrans_per_io": "kicks+interrupts+timer polls/IO",
    "irq_all_per_io": "all guest interrupts/IO",
    "irq_loc_per_io": "local timer interrupts/IO",
    "irqpoll_softirq_per_io": "IRQ_POLL softirqs/IO",
    "drv_kicks_per_io": "kicks/IO (driver)",
    "drv_irq_per_io": "interrupts/IO (driver)",
    "drv_inline_frac": "interrupts completed inline",
    "drv_deferrals_per_io": "deferrals/IO",
    "drv_explores_per_io": "explorations/IO",
    "drv_compl_per_poll": "completions/poller run",
    "drv_exhausted_frac": "poller runs that used the whole budget",
    "host_kicks_per_io": "kicks/IO (QEMU trace)",
    "host_irq_per_io": "interrupts/IO (QEMU trace)",
    "host_xtrans_per_io": "kicks+interrupts+timer polls/IO (QEMU trace)",
}
# metrics that get a paired ratio to stock
RATIO_METRICS = ("iops", "clat_mean_us", "clat_p99_us", "cpu_us_per_io",
                 "host_cpu_us_per_io", "transitions_per_io",
                 "irq_all_per_io")
HEADLINE = ("randread-qd1-j1", "randread-qd4-j1", "randread-qd32-j1",
            "randread-qd32-j2")


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def load_runs(phase_dir):
    out = []
    try:
        with open(os.path.join(phase_dir, "runs.jsonl")) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
    except OSError:
        pass
    return out


# ------------------------------------------------------------ per-run metrics

def _delta(a, b):
    return [y - x for x, y in zip(a, b)]


def _fio_metrics(fio):
    """IOPS and completion latency (µs) of the run, from fio's JSON, and
    the clat histogram bins where fio wrote json+."""
    jobs = fio.get("jobs", [])
    iops = sum(j[d]["iops"] for j in jobs for d in ("read", "write"))
    # dominant direction of the (single-direction) workload
    d = max(("read", "write"), key=lambda d: sum(j[d]["total_ios"]
                                                 for j in jobs))
    clat = jobs[0][d]["clat_ns"] if jobs else {}
    pct = clat.get("percentile", {})

    def p(key):
        v = pct.get(key)
        return v / 1000.0 if v is not None else None
    return {"iops": iops,
            "clat_mean_us": clat.get("mean", 0) / 1000.0,
            "clat_p50_us": p("50.000000"), "clat_p99_us": p("99.000000"),
            "clat_p999_us": p("99.900000"),
            "fio_ios": sum(j[d]["total_ios"] for j in jobs)}, \
        clat.get("bins")


def _driver_delta(before, after):
    tot = {}
    for q, vals in after.items():
        for k, v in vals.items():
            tot[k] = tot.get(k, 0) + v - before.get(q, {}).get(k, 0)
    return tot


def run_metrics(rec, fio, user_hz, trace=None, host=None):
    """All per-run figures.  'Per IO' divides by requests the disk completed
    (/sys/block/vdX/stat) over the same window as the counters (fio start to
    exit, ramp included); IOPS and latency are fio's (ramp excluded).
    host: the host sampler's (start, end, clk_tck, ncpu) for this run."""
    m, bins = _fio_metrics(fio)
    b, a = rec["before"], rec["after"]
    ds = _delta(b["diskstat"], a["diskstat"])
    ios = ds[0] + ds[4] + (ds[11] if len(ds) > 11 else 0)
    m["ios"] = ios
    cpu = _delta(b["cpu"], a["cpu"])
    # user nice system idle iowait irq softirq steal (guest* are in user)
    busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6]
    total = sum(cpu[:8])
    us = 1e6 / user_hz
    m["wall_s"] = a["t"] - b["t"]
    m["cpu_busy_frac"] = busy / total if total else None
    irq = sum(a["irq"].get(k, 0) - b["irq"].get(k, 0) for k in a["irq"]
              if "-req." in k)
    if ios:
        m["cpu_us_per_io"] = busy * us / ios
        m["cpu_irq_us_per_io"] = (cpu[5] + cpu[6]) * us / ios
        m["irq_per_io"] = irq / ios
        m["irqpoll_softirq_per_io"] = (a["softirq"].get("IRQ_POLL", 0) -
                                       b["softirq"].get("IRQ_POLL", 0)) / ios
        if "irq_all" in a and "irq_all" in b:
            ia, ib = a["irq_all"], b["irq_all"]
            m["irq_all_per_io"] = sum(v - ib.get(k, 0)
                                      for k, v in ia.items()) / ios
            m["irq_loc_per_io"] = (ia.get("LOC", 0) - ib.get("LOC", 0)) / ios
    drv = _driver_delta(b.get("driver", {}), a.get("driver", {}))
    if drv and ios:
        m["drv_kicks_per_io"] = drv.get("kicks", 0) / ios
        m["drv_irq_per_io"] = drv.get("interrupts", 0) / ios
        if "timer_polls" in drv:        # drivers with deferred re-arm
            m["drv_timer_polls_per_io"] = drv["timer_polls"] / ios
        if "deferrals" in drv:
            m["drv_deferrals_per_io"] = drv["deferrals"] / ios
        if "explores" in drv:
            m["drv_explores_per_io"] = drv["explores"] / ios
        if "inline_irqs" in drv and drv.get("interrupts"):
            m["drv_inline_frac"] = drv["inline_irqs"] / drv["interrupts"]
        polls = drv.get("polls", 0)
        if polls:
            m["drv_compl_per_poll"] = drv.get("completed", 0) / polls
            m["drv_exhausted_frac"] = drv.get("budget_exhausted", 0) / polls
    if ios:
        # guest interrupts of the disk's I/O: its vectors plus the deferred
        # re-arm's timer expiries (none without that counter: stock, older
        # builds of ours)
        m["transitions_per_io"] = (m["irq_per_io"] +
                                   m.get("drv_timer_polls_per_io", 0))
        if "drv_kicks_per_io" in m:     # ours: kicks from debugfs
            m["xtrans_per_io"] = (m["transitions_per_io"] +
                                  m["drv_kicks_per_io"])
    if trace and ios:
        m["host_kicks_per_io"] = trace["kicks"] / ios
        m["host_irq_per_io"] = trace["interrupts"] / ios
        m["host_xtrans_per_io"] = (m["host_kicks_per_io"] +
                                   m["host_irq_per_io"] +
                                   m.get("drv_timer_polls_per_io", 0))
    if host and ios:
        s, e, hz, ncpu = host
        if s.get("qemu_ticks") is not None and \
                e.get("qemu_ticks") is not None:
            q = e["qemu_ticks"] - s["qemu_ticks"]
            m["host_cpu_us_per_io"] = q * 1e6 / hz / ios
            m["host_vcpu_us_per_io"] = ((e["threads"]["vcpu"] -
                                         s["threads"]["vcpu"]) * 1e6 / hz /
                                        ios)
            m["host_other_us_per_io"] = ((e["threads"]["other"] -
                                          s["threads"]["other"]) * 1e6 /
                                         hz / ios)
            dt = e["t"] - s["t"]
            if dt > 0:
                other = (e["host_busy"] - s["host_busy"] - q) / hz
                m["host_other_load"] = max(0.0, other) / (dt * ncpu)
            m["host_loadavg_start"] = float(s["loadavg"][0])
            if s.get("pinned") is not None:
                m["host_pinned"] = int(bool(s["pinned"]))
    return m, bins


def host_windows(pdir):
    """seq -> (start record, end record, clk_tck, ncpu) from the host
    sampler's host-samples.jsonl; and the sampler's closing record."""
    recs = []
    try:
        with open(os.path.join(pdir, "host-samples.jsonl")) as f:
            for line in f:
                if line.strip():
                    recs.append(json.loads(line))
    except (OSError, ValueError):
        return {}, {}
    done = next((r for r in recs if r.get("marker") == "sampler-done"), {})
    hz = done.get("clk_tck", 100)
    ncpu = done.get("host_ncpu") or os.cpu_count()
    starts, out = {}, {}
    for r in recs:
        parts = str(r.get("marker", "")).split()
        if len(parts) < 3 or "qemu_ticks" not in r:
            continue
        if parts[1] == "start":
            starts[parts[0]] = r
        elif parts[1] == "end" and parts[0] in starts:
            out[parts[0]] = (starts[parts[0]], r, hz, ncpu)
    # host load between cells: other processes' share from one cell's end
    # to the next cell's start
    gaps = []
    ends = sorted((r for r in recs
                   if len(str(r.get("marker", "")).split()) >= 3 and
                   str(r["marker"]).split()[1] == "end" and
                   "qemu_ticks" in r), key=lambda r: r["t"])
    svals = sorted(starts.values(), key=lambda r: r["t"])
    for e in ends:
        s = next((s for s in svals if s["t"] > e["t"]), None)
        if s is None:
            continue
        dt = s["t"] - e["t"]
        if dt > 0.05 and s.get("qemu_ticks") is not None:
            other = (s["host_busy"] - e["host_busy"] -
                     (s["qemu_ticks"] - e["qemu_ticks"])) / hz
            gaps.append(max(0.0, other) / (dt * ncpu))
    done = dict(done, between_cells_other_load=gaps)
    return out, done


# ------------------------------------------------------------ statistics

def agg(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "n": len(vals), "values": vals}


def bootstrap_median(vals, boot=BOOT, seed=SEED, level=LEVEL):
    """Percentile bootstrap interval of the median of vals: (lo, hi)."""
    n = len(vals)
    if n == 0:
        return None
    if n == 1:
        return (vals[0], vals[0])
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(vals, k=n))
                  for _ in range(boot))
    a = (1 - level) / 2
    lo = meds[int(a * (boot - 1))]
    hi = meds[int(round((1 - a) * (boot - 1)))]
    return (lo, hi)


def paired(byrep, key_a, key_b, metric):
    """Per-repeat ratios a/b (same repeat, run back to back) and their
    median and bootstrap interval; None without pairs."""
    ra, rb = byrep.get(key_a, {}), byrep.get(key_b, {})
    vals = []
    for rep in sorted(set(ra) & set(rb)):
        x, y = ra[rep].get(metric), rb[rep].get(metric)
        if x is not None and y:
            vals.append(x / y)
    if not vals:
        return None
    lo, hi = bootstrap_median(vals)
    return {"median": statistics.median(vals), "lo": lo, "hi": hi,
            "n": len(vals), "values": vals}


def interval(groups, key, metric):
    """Median of per-repeat values and its bootstrap interval."""
    a = groups.get(key, {}).get(metric)
    if not a:
        return None
    lo, hi = bootstrap_median(a["values"])
    return {"median": a["median"], "lo": lo, "hi": hi, "n": a["n"],
            "values": a["values"]}


def verdict(est, kind, thr):
    """met / not met / undecided from an interval (est: median, lo, hi)."""
    if not est:
        return None
    lo, hi = est["lo"], est["hi"]
    if est["n"] < 2:
        return "undecided"
    if kind == "ge":
        return "met" if lo >= thr else "not met" if hi < thr else \
            "undecided"
    return "met" if hi <= thr else "not met" if lo > thr else "undecided"


def collect(rdir):
    """Per-run metrics of both phases, their aggregates, per-repeat values
    (for paired ratios) and merged latency histograms."""
    meta = load_json(os.path.join(rdir, "meta.json"), {})
    out = {"meta": meta, "runs": [], "skipped": {}, "groups": {},
           "byrep": {}, "hist": {}, "sampler": {}}
    for phase in ("main", "trace"):
        pdir = os.path.join(rdir, phase)
        info = load_json(os.path.join(pdir, "guest-info.json"), {})
        if phase == "main" or "guest" not in out:
            out["guest"] = info or out.get("guest", {})
        tc = load_json(os.path.join(pdir, "trace-counts.json"), {})
        hw, done = host_windows(pdir)
        if done:
            out["sampler"][phase] = done
        for rec in load_runs(pdir):
            key = (phase, rec["disk"], rec["cell"], rec["config"])
            if "skipped" in rec:
                out["skipped"][rec["config"]] = rec["skipped"]
                continue
            fio = load_json(os.path.join(pdir, rec["fio_json"]))
            if rec.get("fio_rc") or not fio:
                out["runs"].append({"phase": phase, "seq": rec["seq"],
                                    "error": rec.get("fio_tail", "no JSON")})
                continue
            m, bins = run_metrics(rec, fio, info.get("user_hz", 100),
                                  tc.get("runs", {}).get(str(rec["seq"])),
                                  hw.get(str(rec["seq"])))
            out["runs"].append({"phase": phase, "seq": rec["seq"],
                                "rep": rec["rep"], "disk": rec["disk"],
                                "cell": rec["cell"], "config": rec["config"],
                                "workload": rec["workload"], "qd": rec["qd"],
                                "jobs": rec["jobs"],
                                "settings": rec.get("settings", {}),
                                "fio_json": f"{phase}/{rec['fio_json']}",
                                "metrics": m})
            out["groups"].setdefault(key, []).append(m)
            out["byrep"].setdefault(key, {})[rec["rep"]] = m
            if bins and phase == "main":
                h = out["hist"].setdefault(key, collections.Counter())
                for ns, c in bins.items():
                    h[int(ns)] += c
    groups = {}
    for key, ms in out["groups"].items():
        names = sorted({k for m in ms for k in m})
        groups[key] = {k: agg([m.get(k) for m in ms]) for k in names}
    out["groups"] = groups
    # paired ratios to stock (same phase, disk, cell, repeat)
    ratios = {}
    for key in groups:
        if key[3] == "stock":
            continue
        skey = key[:3] + ("stock",)
        if skey not in groups:
            continue
        ratios[key] = {m: paired(out["byrep"], key, skey, m)
                       for m in RATIO_METRICS}
    out["ratios"] = ratios
    return out


def med(groups, key, metric):
    g = groups.get(key, {}).get(metric)
    return g["median"] if g else None


def ratio_est(data, key, metric):
    return data["ratios"].get(key, {}).get(metric)


# ------------------------------------------------------------ targets

def _qd(cell):
    try:
        return int(cell.split("-qd")[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _jobs(cell):
    try:
        return int(cell.split("-j")[-1])
    except ValueError:
        return None


def target_list(data):
    """Targets of issue 12 (for the default configuration `auto`), over the
    cells this run measured: (id, text, disk, cell, metric, kind, thr,
    versus).  kind: ge | le on the paired ratio to `versus` (a config,
    normally stock), or abs_le on the value itself (versus None)."""
    T = []
    cells = []
    for k in data["groups"]:
        if k[0] == "main" and k[3] == "stock" and (k[1], k[2]) not in cells:
            cells.append((k[1], k[2]))
    disks = list(planmod.DISKS)
    order = {(d, c): i for i, (d, c) in enumerate(
        (d, c) for d in disks for c in cells_of(data, "main", d))}
    cells.sort(key=lambda dc: order.get(dc, 999))
    for disk, cell in cells:
        where = f"{disk} {cell}"
        T.append((f"iops/{disk}/{cell}", f"IOPS ≥ 0.97× stock ({where})",
                  disk, cell, "iops", "ge", 0.97, "stock"))
        T.append((f"cpu/{disk}/{cell}",
                  f"guest CPU/IO ≤ 1.05× stock ({where})",
                  disk, cell, "cpu_us_per_io", "le", 1.05, "stock"))
        # the latency targets are for the random 4k cells (QD sweep)
        qd = _qd(cell) if cell.startswith("rand") else None
        if qd == 1:
            T.append((f"lat_mean/{disk}/{cell}",
                      f"mean latency ≤ 1.03× stock ({where})",
                      disk, cell, "clat_mean_us", "le", 1.03, "stock"))
            T.append((f"lat_p99/{disk}/{cell}",
                      f"p99 latency ≤ 1.03× stock ({where})",
                      disk, cell, "clat_p99_us", "le", 1.03, "stock"))
        elif qd in (2, 4, 8):
            T.append((f"lat_p99/{disk}/{cell}",
                      f"p99 latency ≤ 1.10× stock ({where})",
                      disk, cell, "clat_p99_us", "le", 1.10, "stock"))
    c1, c2 = "randread-qd32-j1", "randread-qd32-j2"
    if ("null", c1) in cells:
        T += [("irq/null/qd32-j1", "interrupts+timer polls/IO ≤ 0.15 "
               "(null randread QD32, 1 job)", "null", c1,
               "transitions_per_io", "abs_le", 0.15, None),
              ("iops13/null/qd32-j1", "IOPS ≥ 1.3× stock (null randread "
               "QD32, 1 job)", "null", c1, "iops", "ge", 1.3, "stock"),
              ("cpu075/null/qd32-j1", "guest CPU/IO ≤ 0.75× stock (null "
               "randread QD32, 1 job)", "null", c1, "cpu_us_per_io", "le",
               0.75, "stock"),
              ("irq_vs_d200/null/qd32-j1", "interrupts+timer polls/IO ≤ "
               f"1.00× {planmod.DEFER_CONFIG} (null randread QD32, 1 job; "
               f"{planmod.AUTO_CONFIG} only)", "null", c1,
               "transitions_per_io", "le", 1.0, planmod.DEFER_CONFIG)]
    if ("null", c2) in cells:
        T += [("iops1/null/qd32-j2", "IOPS ≥ 1.00× stock (null randread "
               "QD32, 2 jobs)", "null", c2, "iops", "ge", 1.0, "stock"),
              ("cpu1/null/qd32-j2", "guest CPU/IO ≤ 1.00× stock (null "
               "randread QD32, 2 jobs)", "null", c2, "cpu_us_per_io", "le",
               1.0, "stock")]
    return T


def evaluate(data, config):
    """Each target for one config: estimate (median, lo, hi, n), verdict."""
    res = []
    for tid, text, disk, cell, metric, kind, thr, versus in \
            target_list(data):
        key = ("main", disk, cell, config)
        if versus == config or (versus not in (None, "stock") and
                                config != planmod.AUTO_CONFIG):
            continue
        if kind == "abs_le":
            est = interval(data["groups"], key, metric)
            v = verdict(est, "le", thr)
        elif versus == "stock":
            est = ratio_est(data, key, metric)
            v = verdict(est, kind, thr)
        else:
            est = paired(data["byrep"], key,
                         ("main", disk, cell, versus), metric)
            v = verdict(est, kind, thr)
        res.append({"id": tid, "text": text, "config": config,
                    "metric": metric, "kind": kind, "threshold": thr,
                    "versus": versus,
                    "estimate": {k: est[k] for k in ("median", "lo", "hi",
                                                     "n")} if est else None,
                    "verdict": v})
    return res


def ours_configs(data):
    """Configurations of ours (not stock, not the polled-queue reference)
    with main-phase data, in plan order."""
    seen = {k[3] for k in data["groups"] if k[0] == "main"}
    return [c for c in config_order(data)
            if c in seen and c not in ("stock", planmod.AA_CONFIG, "pollq")]


# the targets every cell has, which the A/A control is held to as well
PER_CELL_TARGETS = ("iops/", "cpu/", "lat_mean/", "lat_p99/")


def evaluate_aa(data):
    """The per-cell targets for the A/A control: how often stock, reloaded,
    'fails' against itself."""
    return [e for e in evaluate(data, planmod.AA_CONFIG)
            if e["id"].startswith(PER_CELL_TARGETS)]


def aa_spread(data):
    """Per-cell IOPS ratios of the A/A control: how far a reload alone
    moves the median ratio, and how wide its interval is."""
    rs = [r["iops"] for k, r in data["ratios"].items()
          if k[0] == "main" and k[3] == planmod.AA_CONFIG and r.get("iops")
          and r["iops"]["n"] > 1]
    if not rs:
        return None
    dev = [abs(r["median"] - 1) for r in rs]
    return {"cells": len(rs),
            "width_median": statistics.median(r["hi"] - r["lo"] for r in rs),
            "dev_median": statistics.median(dev), "dev_max": max(dev)}


def primary_config(data):
    """The configuration the headline targets are for: auto where it ran,
    else plain iopoll at the reference budget (a build without the
    adaptive controller), else the first of ours."""
    ours = ours_configs(data)
    for c in (planmod.AUTO_CONFIG, f"b{planmod.REF_BUDGET}"):
        if c in ours:
            return c
    return ours[0] if ours else None


def verdict_counts(evs):
    c = collections.Counter(e["verdict"] or "n/a" for e in evs)
    return {k: c.get(k, 0) for k in ("met", "not met", "undecided", "n/a")}


# ------------------------------------------------------------ formatting

def fmt(v, metric=""):
    if v is None:
        return "n/a"
    if metric == "iops":
        return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def cell_str(g, metric):
    a = g.get(metric) if g else None
    if not a:
        return "n/a"
    if a["n"] == 1:
        return fmt(a["median"], metric)
    return (f"{fmt(a['median'], metric)} "
            f"({fmt(a['min'], metric)}–{fmt(a['max'], metric)})")


def stamp(meta, guest):
    return (f"kernel {guest.get('kernel', meta.get('kernel'))}, "
            f"{meta.get('accel', '?')}, {meta.get('qemu', '?')}, "
            f"host {meta.get('host_cpu', '?')} ({meta.get('host_ncpu')} cpus),"
            f" {meta.get('date', '?')}, mode {meta.get('mode')}, "
            f"git {meta.get('git', '?')}")


def short_stamp(meta, guest):
    q = meta.get("qemu", "")
    qv = q.split("version ")[1].split()[0] if "version " in q else q
    return (f"{guest.get('kernel', meta.get('kernel'))} | "
            f"{meta.get('accel', '?')} | QEMU {qv} | "
            f"{meta.get('host_cpu', '?')} x{meta.get('host_ncpu')} | "
            f"{meta.get('date', '?')} | {meta.get('mode')} | "
            f"git {meta.get('git', '?')}")


def config_order(data):
    plan = load_json(os.path.join(data["dir"], "plan.json"), {})
    order = list(plan.get("config_order") or planmod.CONFIGS)
    seen = {k[3] for k in data["groups"]}
    return order + sorted(seen - set(order))


def cells_of(data, phase, disk):
    plan = load_json(os.path.join(data["dir"], "plan.json"), {})
    seen = []
    for it in plan.get(phase, []):
        if it["disk"] == disk and it["name"] not in seen:
            seen.append(it["name"])
    return seen


def host_busy(meta):
    """A note when other host work took more than a quarter of the host's
    CPU time during the boots (measured by scripts/bench/run: host busy
    time minus the CPU time of our own launcher and QEMU)."""
    parts = [f"{ph} boot {n['other_cpu_frac'] * 100:.0f}%"
             for ph, n in sorted(meta.get("host_noise", {}).items())
             if n.get("other_cpu_frac", 0) > 0.25]
    if parts:
        return ("other processes used this share of the host CPUs during "
                "the run: " + ", ".join(parts))
    return None


def setup_table(data):
    """What each configuration really ran with, read back in the guest."""
    seen = {}
    for r in data["runs"]:
        if r.get("phase") != "main" or "settings" not in r:
            continue
        st = r["settings"]
        bud = st.get("sysfs_iopoll_budget")
        if bud in (None, "0"):
            bud = st.get("sysctl_blk_iopoll_budget")
        if st.get("sysctl_blk_iopoll") == "0":
            bud = "-"                   # no poller: budget unused
        row = (st.get("taint") or "-", str(st.get("nr_hw_queues")),
               str(st.get("io_poll")), str(st.get("sysctl_blk_iopoll")),
               str(bud), str(st.get("sysctl_blk_iopoll_defer_us")),
               str(st.get("sysctl_blk_iopoll_adaptive")),
               str(st.get("sysfs_iopoll_adaptive")),
               str(st.get("module_params", {}).get("poll_queues")))
        seen.setdefault(r["config"], set()).add(row)
    if not seen:
        return []
    L = ["Observed setup (read back in the guest at every run; several "
         "rows mean it changed between runs):", "",
         "| config | module taint | hw queues | io_poll | kernel.blk_iopoll "
         "| effective budget | kernel.blk_iopoll_defer_us | "
         "kernel.blk_iopoll_adaptive | sysfs iopoll_adaptive | poll_queues |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for c in config_order(data):
        for row in sorted(seen.get(c, ())):
            L.append(f"| {c} | " + " | ".join(
                "n/a" if v == "None" else v for v in row) + " |")
    return L + [""]


def setup_summary(data):
    """Per config: the distinct hw queue counts seen (strings)."""
    out = {}
    for r in data["runs"]:
        if r.get("phase") == "main" and "settings" in r:
            q = str(r["settings"].get("nr_hw_queues"))
            hw = out.setdefault(r["config"], {"hw_queues": []})["hw_queues"]
            if q not in hw:
                hw.append(q)
    return out


def trace_check(data):
    """Host trace vs guest counters over the traced runs: worst absolute
    difference in interrupts and kicks per I/O, and traced/untraced IOPS."""
    irq, kick, over, n = [], [], [], 0
    for r in data["runs"]:
        m = r.get("metrics", {})
        if r.get("phase") != "trace" or "host_irq_per_io" not in m:
            continue
        n += 1
        for host, guest, acc in (("host_irq_per_io", "irq_per_io", irq),
                                 ("host_kicks_per_io", "drv_kicks_per_io",
                                  kick)):
            h, gv = m.get(host), m.get(guest)
            if h is not None and gv is not None:
                acc.append(abs(h - gv))
    for k, a in data["groups"].items():
        if k[0] == "trace":
            base = med(data["groups"], ("main",) + k[1:], "iops")
            if base and a.get("iops"):
                over.append(a["iops"]["median"] / base)
    if not n:
        return None
    tc = load_json(os.path.join(data["dir"], "trace", "trace-counts.json"),
                   {})
    events = {}
    for r in tc.get("runs", {}).values():
        for e, c in r.get("events", {}).items():
            events[e] = events.get(e, 0) + c
    return {"n": n, "events": events, "irq_dev": max(irq, default=0.0),
            "kick_dev": max(kick, default=0.0),
            "overhead": statistics.median(over) if over else float("nan")}



def fmt_ratio(est):
    """'1.23× [1.10–1.35]' for a paired-ratio estimate."""
    if not est:
        return "n/a"
    if est["n"] < 2:
        return f"{est['median']:.2f}× (n=1)"
    return f"{est['median']:.2f}× [{est['lo']:.2f}–{est['hi']:.2f}]"


def fmt_est(est, kind):
    if not est:
        return "n/a"
    if kind == "abs_le":
        return f"{fmt(est['median'])} [{fmt(est['lo'])}–{fmt(est['hi'])}]"
    return fmt_ratio(est)


VERDICT_MD = {"met": "met", "not met": "**not met**",
              "undecided": "undecided", None: "n/a"}


def table_rows(data, phase, disk, cells, cols):
    """cols: list of (metric, with_ratio)."""
    g = data["groups"]
    order = config_order(data)
    lines = []
    for cell in cells:
        cfgs = sorted({k[3] for k in g if k[:3] == (phase, disk, cell)},
                      key=order.index)
        for c in cfgs:
            key = (phase, disk, cell, c)
            row = [cell, c, str(g[key]["iops"]["n"])]
            for m, with_ratio in cols:
                row.append(cell_str(g[key], m))
                if with_ratio:
                    row.append("—" if c == "stock" else
                               fmt_ratio(ratio_est(data, key, m)))
            lines.append("| " + " | ".join(row) + " |")
    return lines


def noise_section(data):
    """Host load during and between cells, and the sampler's cost."""
    L = []
    loads = [r["metrics"].get("host_other_load") for r in data["runs"]
             if r.get("phase") == "main" and "metrics" in r]
    loads = [x for x in loads if x is not None]
    la = [r["metrics"].get("host_loadavg_start") for r in data["runs"]
          if r.get("phase") == "main" and "metrics" in r]
    la = [x for x in la if x is not None]
    smp = data.get("sampler", {}).get("main", {})
    gaps = smp.get("between_cells_other_load", [])
    if not loads and not smp:
        return ["No host samples (host-samples.jsonl missing): host cost "
                "and per-cell host load not measured.", ""]
    L.append("Host load: other processes' share of the host CPUs (host busy "
             "time minus QEMU's own CPU time, over the host CPUs) during "
             "each cell: median "
             f"{statistics.median(loads) * 100:.0f}%, max "
             f"{max(loads) * 100:.0f}% over {len(loads)} cells"
             if loads else "Host load during cells: n/a")
    if gaps:
        L[-1] += (f"; between cells median {statistics.median(gaps) * 100:.0f}"
                  f"%, max {max(gaps) * 100:.0f}%")
    if la:
        L[-1] += (f"; 1-minute load average at cell start {min(la):.2f}–"
                  f"{max(la):.2f}")
    L[-1] += "."
    busy = [r for r in data["runs"] if r.get("phase") == "main" and
            (r.get("metrics", {}).get("host_other_load") or 0) > 0.25]
    if busy:
        L[-1] += (f" **{len(busy)} cells ran while other work took more "
                  "than 25% of the host CPUs** (runs: " +
                  ", ".join(str(r["seq"]) for r in busy[:20]) +
                  (" …" if len(busy) > 20 else "") + ").")
    if smp.get("polls"):
        noise = data["meta"].get("host_noise", {}).get("main", {})
        wall = noise.get("wall_s")
        L[-1] += (f" Host sampler: {smp['polls']} polls every "
                  f"{int(hostsample_poll() * 1000)} ms, "
                  f"{smp.get('sampler_cpu_s', 0):.2f} s of CPU"
                  + (f" over {wall:.0f} s "
                     f"({smp.get('sampler_cpu_s', 0) / wall * 100:.2f}% of "
                     "one CPU)" if wall else "") + ".")
        if smp.get("pin") == "1" and smp.get("pinned"):
            L[-1] += (" vCPU threads pinned (BENCH_PIN=1): " +
                      ", ".join(f"tid {t}→CPU {c}" for t, c in
                                sorted(smp["pinned"].items())) + ".")
    L += [""] + pin_comparison(data)
    return L + [""]


def pin_comparison(data):
    """BENCH_PIN=alt: vCPU threads pinned in even repeats only.  Compare the
    spread of the repeats with and without pinning: per (cell, config), the
    coefficient of variation of IOPS within each half, and the spread of
    the paired IOPS ratios to stock; medians over cells."""
    halves = {0: {}, 1: {}}
    for r in data["runs"]:
        m = r.get("metrics", {})
        if r.get("phase") != "main" or "host_pinned" not in m:
            continue
        k = (r["disk"], r["cell"], r["config"])
        halves[m["host_pinned"]].setdefault(k, {})[r["rep"]] = m["iops"]
    if not halves[0] or not halves[1]:
        return []
    res = {}
    for pin, groups in halves.items():
        cvs, rsp, lvl = [], [], []
        for k, reps in groups.items():
            v = list(reps.values())
            if len(v) >= 2 and statistics.mean(v) > 0:
                cvs.append(statistics.stdev(v) / statistics.mean(v))
            st = groups.get(k[:2] + ("stock",), {})
            rat = [reps[x] / st[x] for x in reps if st.get(x)]
            if k[2] != "stock" and len(rat) >= 2:
                rsp.append(statistics.stdev(rat) / statistics.mean(rat))
            if v:
                lvl.append(statistics.median(v))
        res[pin] = (cvs, rsp, lvl)
    out = ["Pinning (BENCH_PIN=alt: vCPU threads pinned to one host CPU "
           "each in even repeats, free in odd ones, same boot):", "",
           "| vCPU threads | cells | median IOPS CV across repeats | median "
           "CV of paired IOPS ratios to stock |",
           "|---|---|---|---|"]
    for pin in (1, 0):
        cvs, rsp, _ = res[pin]
        out.append(f"| {'pinned' if pin else 'free'} | {len(cvs)} | "
                   + (f"{statistics.median(cvs) * 100:.1f}%" if cvs
                      else "n/a") + " | "
                   + (f"{statistics.median(rsp) * 100:.1f}%" if rsp
                      else "n/a") + " |")
    data["pin_comparison"] = {
        "pinned": {"iops_cv": res[1][0], "ratio_cv": res[1][1]},
        "free": {"iops_cv": res[0][0], "ratio_cv": res[0][1]}}
    return out + [""]


def hostsample_poll():
    try:
        import hostsample
        return hostsample.POLL_S
    except ImportError:
        return 0.02


def target_rows(evs):
    L = []
    for e in evs:
        L.append(f"| {e['text']} | {fmt_est(e['estimate'], e['kind'])} | "
                 f"{VERDICT_MD[e['verdict']]} |")
    return L


def write_table(data, path):
    meta, guest = data["meta"], data.get("guest", {})
    plan = load_json(os.path.join(data["dir"], "plan.json"), {})
    L = [f"# virtio_blk bench: {guest.get('kernel', meta.get('kernel'))} "
         f"({meta.get('accel')})", "",
         f"_{stamp(meta, guest)}_", "",
         f"Guest: {guest.get('nr_cpus')} vCPUs, {plan.get('mem_mb')} MiB, "
         f"clocksource {guest.get('clocksource_current')}; "
         f"{plan.get('repeats')} repeats per cell, fio runtime "
         f"{plan.get('runtime')} s after {plan.get('ramp')} s ramp, "
         f"configurations interleaved within each repeat. "
         f"Host load average at start/end: "
         f"{' '.join(meta.get('host_loadavg_at_start', []))} / "
         f"{' '.join(meta.get('host_loadavg_at_end', []))}.", "",
         "**How to read:** absolute columns show median (min–max) over "
         "repeats. ×stock columns show the median of the per-repeat paired "
         "ratios (config/stock in the same repeat, run back to back) and, "
         f"in brackets, its bootstrap {int(LEVEL * 100)}% interval "
         f"({BOOT} resamples, fixed seed). A target is *met* when the whole "
         "interval is on the good side of its threshold, *not met* when the "
         "whole interval is on the bad side, *undecided* when the threshold "
         "lies inside it (the data cannot tell). With few repeats the "
         "percentile bootstrap is optimistic (narrow); read undecided and "
         "borderline verdicts as such.", "",
         "Per-IO counters divide by requests completed by the disk over the "
         "fio process lifetime. Guest CPU is system-wide busy time from "
         "/proc/stat (user+nice+system+irq+softirq, fio included). "
         "Interrupts/IO: the disk's request vectors in /proc/interrupts; "
         "timer polls/IO: the deferred re-arm's hrtimer expiries (debugfs "
         "`timer_polls`, each a guest timer interrupt); interrupts+timer "
         "polls/IO is their sum. Transitions/IO = kicks + interrupts + "
         "timer polls per I/O, kicks from our debugfs counters (n/a for "
         "stock, whose kicks only the host trace sees: see the cross-check "
         "section). All guest interrupts/IO sums every row of "
         "/proc/interrupts (device vectors, local timer LOC, IPIs, …) so no "
         "interrupt moves out of sight. Host CPU/IO is the QEMU process's "
         "utime+stime (/proc/<pid>/stat) over the cell's window, marked by "
         "the guest on the 9p share and sampled by the host every 20 ms; "
         "vCPU threads and the other threads (main loop, I/O) are split.",
         ""]
    configs = plan.get("configs") or planmod.CONFIGS
    L += ["Configurations: " + "; ".join(
        f"`{k}` {configs[k]['desc']}" for k in config_order(data)
        if k in configs and (k in data["skipped"] or
                             any(g[3] == k for g in data["groups"]))) +
        ".", ""]
    L += ["## Noise", ""] + noise_section(data)
    if meta.get("our_module_sha256_16"):
        L += [f"Our module: `{os.path.relpath(meta['our_module'], REPO)}` "
              f"sha256 {meta['our_module_sha256_16']}…"
              + (" (**older than drivers/block/virtio_blk.c**)"
                 if meta.get("our_module_stale") else "")
              + f"; launcher sha256 {meta.get('launcher_sha256_16')}….", ""]
    hint = guest.get("accel_hint")
    if hint and hint != meta.get("accel"):
        L += [f"**Warning:** requested accelerator {meta.get('accel')}, but "
              f"the guest's clocksources suggest {hint}.", ""]
    L += setup_table(data)
    if data["skipped"]:
        L += ["**Skipped configurations:** " + "; ".join(
            f"`{k}`: {v}" for k, v in data["skipped"].items()), ""]
    errors = [r for r in data["runs"] if "error" in r]
    if errors:
        L += [f"**{len(errors)} fio runs failed** (see runs.jsonl).", ""]

    L += ["## Targets", ""]
    prim = data.get("primary")
    if prim:
        evs = data["targets"]
        cnt = verdict_counts(evs)
        L += [f"Targets of issue 12 for `{prim}`"
              + ("" if prim == planmod.AUTO_CONFIG else
                 f" (`{planmod.AUTO_CONFIG}` has no data in this run, so "
                 "the table shows the default of this build instead)")
              + f": {cnt['met']} met, {cnt['not met']} not met, "
              f"{cnt['undecided']} undecided"
              + (f", {cnt['n/a']} not measured" if cnt["n/a"] else "")
              + ".", "",
              "| target | value [95% interval] | verdict |",
              "|---|---|---|"]
        L += target_rows(evs)
        L += ["", "The same targets for every configuration of ours "
              "(verdict, paired ratio or value)"
              + (f", and the per-cell ones for the A/A control "
                 f"`{planmod.AA_CONFIG}` (stock against stock from another "
                 "module load: where it misses or is undecided, a reload "
                 "alone moves the figure that much)"
                 if planmod.AA_CONFIG in data["targets_all"] else "")
              + ":", ""]
        cfgs = list(data["targets_all"])
        L += ["| target | " + " | ".join(f"`{c}`" for c in cfgs) + " |",
              "|---|" + "---|" * len(cfgs)]
        byid = {c: {e["id"]: e for e in evs_c}
                for c, evs_c in data["targets_all"].items()}
        for tid, text, *_ in target_list(data):
            row = []
            for c in cfgs:
                e = byid[c].get(tid)
                if not e:
                    row.append("—")
                    continue
                v = {"met": "✓", "not met": "✗", "undecided": "?",
                     None: "n/a"}[e["verdict"]]
                est = e["estimate"]
                val = ("" if not est else fmt(est["median"])
                       if e["kind"] == "abs_le"
                       else f"{est['median']:.2f}×")
                row.append(f"{v} {val}".strip())
            L.append(f"| {text} | " + " | ".join(row) + " |")
        L += ["", "✓ met, ✗ not met, ? undecided (interval straddles the "
              "threshold).", ""]
    else:
        L += ["No configuration of ours has data: targets not evaluated.",
              ""]

    perf = [("iops", True), ("clat_mean_us", True), ("clat_p50_us", False),
            ("clat_p99_us", True), ("clat_p999_us", False)]
    ctrs = [("cpu_us_per_io", True), ("host_cpu_us_per_io", True),
            ("host_vcpu_us_per_io", False), ("host_other_us_per_io", False),
            ("irq_per_io", False), ("drv_timer_polls_per_io", False),
            ("transitions_per_io", False), ("drv_kicks_per_io", False),
            ("xtrans_per_io", False), ("irq_all_per_io", True),
            ("irq_loc_per_io", False), ("drv_compl_per_poll", False),
            ("host_other_load", False)]
    for disk in sorted({k[1] for k in data["groups"] if k[0] == "main"},
                       key=lambda d: list(planmod.DISKS).index(d)
                       if d in planmod.DISKS else 99):
        desc = plan.get("disks", {}).get(disk, disk)
        cells = cells_of(data, "main", disk)
        L += [f"## Disk `{disk}`", "", f"`{desc}`", "", "### Throughput and "
              "latency", "",
              "| cell | config | n | IOPS | ×stock | clat mean µs | ×stock |"
              " p50 µs | p99 µs | ×stock | p99.9 µs |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        L += table_rows(data, "main", disk, cells, perf)
        L += ["", "### CPU, host cost and transitions per I/O", "",
              "| cell | config | n | guest CPU µs/IO | ×stock | host QEMU CPU "
              "µs/IO | ×stock | host vCPU thr. µs/IO | host other thr. µs/IO"
              " | interrupts/IO | timer polls/IO | interrupts+timer polls/IO"
              " | kicks/IO | transitions/IO | all guest interrupts/IO | "
              "×stock | LOC/IO | completions/poll | other host load |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
              "---|---|---|---|"]
        L += table_rows(data, "main", disk, cells, ctrs)
        L.append("")
        ctl = [("drv_inline_frac", False), ("drv_deferrals_per_io", False),
               ("drv_explores_per_io", False),
               ("drv_timer_polls_per_io", False),
               ("drv_compl_per_poll", False), ("drv_exhausted_frac", False),
               ("irqpoll_softirq_per_io", False)]
        rows = [r for r in table_rows(data, "main", disk, cells, ctl)
                if r.count("n/a") < len(ctl) and " | stock | " not in r]
        if rows:
            L += ["### Driver decisions (ours, debugfs)", "",
                  "Interrupts completed inline by the adaptive controller's "
                  "gate (share of the disk's interrupts), deferrals (drained "
                  "runs that kept callbacks off and armed the timer), those "
                  "of them made by a closed gate's exploration, and "
                  "timer polls per I/O, completions per poller run, poller "
                  "runs that used the whole budget, IRQ_POLL softirqs per "
                  "I/O; n/a where the build has no such counter.", "",
                  "| cell | config | n | inline share | deferrals/IO | "
                  "explorations/IO | timer "
                  "polls/IO | completions/poll | budget-exhausted polls | "
                  "IRQ_POLL softirqs/IO |",
                  "|---|---|---|---|---|---|---|---|---|---|"] + rows + [""]

    # host-side cross-check
    tkeys = sorted(k for k in data["groups"] if k[0] == "trace")
    if tkeys:
        tc = load_json(os.path.join(data["dir"], "trace",
                                    "trace-counts.json"), {})
        L += ["## Host-side cross-check (QEMU trace, separate boot)", "",
              "Counts of `virtio_queue_notify` (guest kicks) and "
              "`virtio_notify_irqfd` + `virtio_notify` (interrupts sent) on "
              "the bench disk's own virtio device, in a second boot with "
              "these trace events on; the guest interrupt counts are from "
              "the same runs. For stock this is the only source of kicks, "
              "so its transitions/IO (host) column is the one to compare. "
              "Trace overhead: IOPS of the traced boot over the untraced "
              "boot's median for the same cell and config. "
              f"Disk vdev identification: `{tc.get('vdevs')}`.", "",
              "| disk | cell | config | n | host kicks/IO | driver kicks/IO |"
              " host interrupts/IO | guest interrupts/IO | transitions/IO "
              "(host) | IOPS traced/untraced |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        g = data["groups"]
        for k in tkeys:
            t = g[k]
            base = med(g, ("main",) + k[1:], "iops")
            ov = (f"{t['iops']['median'] / base:.2f}"
                  if base and t.get("iops") else "n/a")
            L.append(f"| {k[1]} | {k[2]} | {k[3]} | {t['iops']['n']} | "
                     f"{cell_str(t, 'host_kicks_per_io')} | "
                     f"{cell_str(t, 'drv_kicks_per_io')} | "
                     f"{cell_str(t, 'host_irq_per_io')} | "
                     f"{cell_str(t, 'irq_per_io')} | "
                     f"{cell_str(t, 'host_xtrans_per_io')} | {ov} |")
        ev = {}
        for r in tc.get("runs", {}).values():
            for e, n in r.get("events", {}).items():
                ev[e] = ev.get(e, 0) + n
        L += ["", "Events counted on the disk's vdev over all traced runs: " +
              ", ".join(f"`{e}` {n}" for e, n in sorted(ev.items())) + ".",
              ""]
    L += ["## Plots", ""] + [f"![{p}]({p})" for p in data.get("plots", [])]
    L += ["", "Raw data: `main/` and `trace/` (fio JSON under `raw/`, counter "
          "snapshots in `runs.jsonl`, QEMU CPU samples in "
          "`host-samples.jsonl`), derived per-run figures in "
          "`summary.json`, aggregates in `summary.csv`.", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_csv(data, path):
    meta, guest = data["meta"], data.get("guest", {})
    stampcols = {"kernel": guest.get("kernel", meta.get("kernel")),
                 "accel": meta.get("accel"), "qemu": meta.get("qemu"),
                 "host_cpu": meta.get("host_cpu"), "date": meta.get("date"),
                 "mode": meta.get("mode")}
    cols = list(stampcols) + ["phase", "disk", "cell", "config", "n"]
    for m in METRICS:
        cols += [f"{m}_median", f"{m}_min", f"{m}_max"]
    for m in RATIO_METRICS:
        cols += [f"{m}_ratio_stock", f"{m}_ratio_lo", f"{m}_ratio_hi"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        g = data["groups"]
        for k in sorted(g):
            row = list(stampcols.values()) + list(k) + [g[k]["iops"]["n"]]
            for m in METRICS:
                a = g[k].get(m)
                row += ([f"{a['median']:.6g}", f"{a['min']:.6g}",
                         f"{a['max']:.6g}"] if a else ["", "", ""])
            for m in RATIO_METRICS:
                e = ratio_est(data, k, m)
                row += ([f"{e['median']:.4f}", f"{e['lo']:.4f}",
                         f"{e['hi']:.4f}"] if e else ["", "", ""])
            w.writerow(row)


# ------------------------------------------------------------ plots

_PNG = []


def png_terminal():
    """'pngcairo' or 'png' if the installed gnuplot has one, else None."""
    if not _PNG:
        try:
            r = subprocess.run(["gnuplot", "-e", "set terminal"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=30)
            names = {ln.split()[0] for ln in r.stdout.splitlines()
                     if ln.strip()}
        except (OSError, subprocess.SubprocessError):
            names = set()
        _PNG.append("pngcairo" if "pngcairo" in names else
                    "png" if "png" in names else None)
    return _PNG[0]


def gnuplot(data, name, blocks, titles, ttl, xl, yl, xlog, ref, ylog=False,
            styles=None, points=True):
    """blocks: list of list of rows (x, median, min, max[, baseline]);
    styles: (colour, dash type) per block, default distinct colours.
    xlog: 0, 2 or 10 (log base of the x axis).  Writes NAME.svg and, where
    gnuplot has a png terminal, NAME.png; returns the SVG's name."""
    if not blocks:
        return None
    styles = styles or [(i + 1, 1) for i in range(len(blocks))]
    pdir = os.path.join(data["dir"], "plotdata")
    os.makedirs(pdir, exist_ok=True)
    dat = os.path.join(pdir, name + ".dat")
    with open(dat, "w") as f:
        for i, rows in enumerate(blocks):
            if i:
                f.write("\n\n")
            f.write(f"# {titles[i]}\n")
            for r in rows:
                f.write(" ".join(f"{v:.6g}" for v in r) + "\n")

    def q(s):
        return "'" + str(s).replace("'", "") + "'"
    terms = [("svg", name + ".svg")]
    if png_terminal():
        terms.append((png_terminal(), name + ".png"))
    for term, fname in terms:
        out = os.path.join(data["dir"], fname)
        expr = (f"datafile={q(dat)}; out={q(out)}; term={q(term)}; "
                f"nblocks={len(blocks)}; "
                f"titles={q(' '.join(t.replace(' ', '_') for t in titles))}; "
                f"ttl={q(ttl)}; "
                f"stamp={q(short_stamp(data['meta'], data['guest']))}; "
                f"xl={q(xl)}; yl={q(yl)}; xlog={int(xlog)}; "
                f"ylog={int(ylog)}; ref={int(ref)}; pts={int(points)}; "
                f"lcs={q(' '.join(str(c) for c, _ in styles))}; "
                f"dts={q(' '.join(str(d) for _, d in styles))}")
        r = subprocess.run(["gnuplot", "-e", expr,
                            os.path.join(HERE, "plot.gp")],
                           stderr=subprocess.PIPE, text=True)
        if r.returncode:        # single-point blocks only warn; this is real
            raise RuntimeError(f"gnuplot {name}: {r.stderr.strip()}")
    return name + ".svg"


def _series(g, key, metric, scale=1.0):
    a = g.get(key, {}).get(metric)
    if not a:
        return None
    return [a["median"] * scale, a["min"] * scale, a["max"] * scale]


def budgets_in(data):
    cfgs = {k[3] for k in data["groups"] if k[0] == "main"}
    return sorted((c for c in cfgs if c.startswith("b") and c[1:].isdigit()),
                  key=lambda c: int(c[1:]))


def qd_plot(data, metric, name, yl, ttl, scale=1.0, ylog=False,
            skip=()):
    """One line per configuration over the QD sweep (4k randread, one
    job, null-co): median with min–max bars."""
    g = data["groups"]
    order = [c for c in config_order(data) if c in planmod.CORE]
    qds = sorted({_qd(k[2]) for k in g if k[0] == "main" and
                  k[1] == "null" and k[2].startswith("randread-") and
                  k[2].endswith("-j1")} - {None})
    blocks, titles, styles = [], [], []
    for c in order:
        if c in skip:
            continue
        rows = []
        for qd in qds:
            s = _series(g, ("main", "null", f"randread-qd{qd}-j1", c),
                        metric, scale)
            if s:
                rows.append([qd] + s)
        if len(rows) >= 2:
            blocks.append(rows)
            titles.append(c)
            styles.append((planmod.CORE.index(c) + 1, 1))
    return gnuplot(data, name, blocks, titles,
                   f"4k randread, 1 job, null-co: {ttl}", "queue depth", yl,
                   2, False, ylog, styles=styles)


def cdf_plot(data, cell):
    """Completion-latency CDF (fio json+ histograms, all repeats merged) of
    stock and our default in one cell."""
    prim = data.get("primary")
    cfgs = ["stock"] + [c for c in (prim, planmod.DEFER_CONFIG, "off")
                        if c][:1]
    blocks, titles, styles = [], [], []
    for c in cfgs:
        h = data["hist"].get(("main", "null", cell, c))
        if not h:
            continue
        tot = sum(h.values())
        acc, rows = 0, []
        for ns in sorted(h):
            acc += h[ns]
            y = acc / tot
            rows.append([ns / 1000.0, y, y, y])
        blocks.append(rows)
        titles.append(c)
        styles.append((planmod.CORE.index(c) + 1 if c in planmod.CORE
                       else 8, 1))
    if len(blocks) < 2:
        return None
    qd = _qd(cell)
    return gnuplot(data, f"clat_cdf_qd{qd}", blocks, titles,
                   f"4k randread QD{qd}, 1 job, null-co: completion latency "
                   "CDF (fio histograms, all repeats)", "completion latency "
                   "(µs, log scale)", "fraction of I/Os", 10, False,
                   styles=styles, points=False)


def make_plots(data):
    plots = [
        qd_plot(data, "iops", "iops_vs_qd", "kIOPS", "IOPS vs queue depth",
                1e-3),
        qd_plot(data, "clat_p99_us", "p99_vs_qd", "clat p99 (µs, log)",
                "p99 completion latency vs queue depth", ylog=True),
        qd_plot(data, "transitions_per_io", "irq_per_io_vs_qd",
                "interrupts + timer polls per I/O",
                "interrupts (+ timer polls) per I/O vs queue depth"),
        qd_plot(data, "xtrans_per_io", "transitions_per_io_vs_qd",
                "kicks + interrupts + timer polls per I/O",
                "transitions per I/O vs queue depth (stock: see the host "
                "trace table)", skip=("stock",)),
        qd_plot(data, "irq_all_per_io", "all_irq_per_io_vs_qd",
                "all guest interrupts per I/O",
                "every guest interrupt (all /proc/interrupts rows) per I/O"),
        qd_plot(data, "cpu_us_per_io", "cpu_per_io_vs_qd",
                "guest CPU µs per I/O", "guest CPU per I/O vs queue depth"),
        qd_plot(data, "host_cpu_us_per_io", "host_cpu_per_io_vs_qd",
                "host QEMU CPU µs per I/O",
                "host CPU (QEMU process) per I/O vs queue depth"),
    ]
    for cell in planmod.HIST_CELLS:
        plots.append(cdf_plot(data, cell))
    g = data["groups"]
    budgets = budgets_in(data)
    if len(budgets) >= 2:
        for metric, name, yl, scale, ylog in (
                ("iops", "iops_vs_budget", "kIOPS", 1e-3, False),
                ("clat_p99_us", "p99_vs_budget", "clat p99 (µs, log scale)",
                 1.0, True)):
            blocks, titles = [], []
            for cell in ("randread-qd1-j1", "randread-qd32-j1",
                         "randread-qd32-j2"):
                rows = []
                stock = _series(g, ("main", "null", cell, "stock"), metric,
                                scale)
                for c in budgets:
                    s = _series(g, ("main", "null", cell, c), metric, scale)
                    if s:
                        rows.append([int(c[1:])] + s +
                                    ([stock[0]] if stock
                                     else [float("nan")]))
                if rows:
                    blocks.append(rows)
                    titles.append(cell)
            plots.append(gnuplot(
                data, name, blocks, titles,
                f"4k randread on null-co: {yl} vs iopoll budget (dashed: "
                "stock, same cell)", "iopoll budget", yl, 2, True, ylog))
    return [p for p in plots if p]


# ------------------------------------------------------------ README

def observations(s):
    """Sentences on setup differences and the host-side cross-check."""
    out = []
    setup = s.get("setup", {})
    sq, oq = setup.get("stock", {}).get("hw_queues"), \
        setup.get("off", {}).get("hw_queues")
    if sq and oq and sq != oq:
        out.append(f"Our driver exposed {'/'.join(oq)} blk-mq hardware "
                   f"queue(s) where stock exposed {'/'.join(sq)} on the same "
                   "2-queue device, which matters for the two-job cells.")
    tr = s.get("trace_check")
    if tr:
        out.append(f"Over {tr['n']} traced runs the host-side QEMU trace "
                   f"and the guest's counters differ by at most "
                   f"{tr['irq_dev']:.3f} interrupts/IO and "
                   f"{tr['kick_dev']:.3f} kicks/IO; the traced boot ran at "
                   f"{tr['overhead']:.2f}× the untraced IOPS (median over "
                   "cells).")
    return out


def headline_table(s):
    """Markdown rows: per headline cell and configuration, IOPS, p99, guest
    CPU/IO and host CPU/IO ratios to stock with intervals, and
    interrupts+timer polls/IO."""
    g = s["groups_by_name"]
    L = ["| cell | config | IOPS ×stock | p99 ×stock | guest CPU/IO ×stock |"
         " host CPU/IO ×stock | interrupts+timer polls/IO |",
         "|---|---|---|---|---|---|---|"]
    n = 0
    for cell in HEADLINE:
        for c in s.get("config_order", []):
            e = g.get(f"main/null/{cell}/{c}")
            if not e:
                continue
            r = e.get("ratios", {})
            tr = e.get("transitions_per_io")
            L.append(f"| {cell} | {c} | " + " | ".join(
                "—" if c == "stock" else fmt_ratio(r.get(m))
                for m in ("iops", "clat_p99_us", "cpu_us_per_io",
                          "host_cpu_us_per_io")) +
                f" | {fmt(tr['median']) if tr else 'n/a'} |")
            n += 1
    return L if n else []


def reading(s):
    """One paragraph from a summary (every number from the data)."""
    meta, guest = s["meta"], s.get("guest", {})
    k = guest.get("kernel", meta.get("kernel"))
    prim = s.get("primary")
    if not prim:
        return (f"On {k} ({meta.get('accel')}) no configuration of ours "
                "produced data" +
                (f" ({'; '.join(set(s['skipped'].values()))})"
                 if s.get("skipped") else "") + ".")
    cnt = verdict_counts(s["targets"])
    txt = (f"On {k} under {meta.get('accel')} ({meta.get('mode')} run, "
           f"{s.get('repeats')} repeats), `{prim}` meets {cnt['met']} of "
           f"{len(s['targets'])} targets, misses {cnt['not met']}, and "
           f"{cnt['undecided']} are undecided (the 95% interval straddles "
           "the threshold).")
    if prim != planmod.AUTO_CONFIG and planmod.AUTO_CONFIG in \
            s.get("skipped", {}):
        txt += (f" `{planmod.AUTO_CONFIG}` was skipped: "
                f"{s['skipped'][planmod.AUTO_CONFIG]}.")
    missed = [e["text"] for e in s["targets"] if e["verdict"] == "not met"]
    if missed:
        txt += " Not met: " + "; ".join(missed[:8]) + \
            (" …" if len(missed) > 8 else "") + "."
    sp = s.get("ratio_width")
    if sp:
        txt += (f" The 95% interval of the IOPS ratio is "
                f"{sp['median'] * 100:.0f}% wide (hi−lo) in the median cell "
                f"and {sp['qd32'] * 100:.0f}% at randread QD32 one job"
                if sp.get("qd32") is not None else
                f" The 95% interval of the IOPS ratio is "
                f"{sp['median'] * 100:.0f}% wide in the median cell")
        txt += f" (max {sp['max'] * 100:.0f}%)."
    aa = s.get("aa")
    if aa:
        cnt = verdict_counts(s.get("targets_by_config", {})
                             .get(planmod.AA_CONFIG, []))
        txt += (f" The A/A control (`{planmod.AA_CONFIG}`: stock against "
                "stock from another module load) puts the IOPS ratio "
                f"{aa['dev_median'] * 100:.0f}% off 1.00 in the median cell "
                f"(up to {aa['dev_max'] * 100:.0f}%), with an interval "
                f"{aa['width_median'] * 100:.0f}% wide, and meets "
                f"{cnt['met']}, misses {cnt['not met']}, leaves "
                f"{cnt['undecided']} undecided of its per-cell targets: "
                "that much is what a reload alone moves here.")
    busy = host_busy(meta)
    if busy:
        txt += f" The host was busy ({busy})."
    return " ".join([txt] + observations(s))


def write_readme(results):
    dirs = sorted(d for d in os.listdir(results)
                  if os.path.isfile(os.path.join(results, d, "summary.json")))
    L = ["# Benchmark results", "",
         "Produced by `make bench` (scripts/bench/run; `QUICK=1` for a short "
         "run, `FULL=1` for the budget sweep and more repeats). Every figure "
         "below and in the linked tables is computed by "
         "scripts/bench/report.py from the raw files next to it; nothing is "
         "typed in by hand.", "",
         "Method, in short: per kernel one guest boot (2 vCPUs, 1 GiB) with "
         "two virtio-blk disks (QEMU null-co, and null-co with "
         "latency-ns=20000; num-queues = vCPUs) runs every configuration: "
         "the stock module and ours are swapped with rmmod/insmod in the "
         "same boot; iopoll, budget, fixed deferral and the adaptive "
         "controller are set through kernel.blk_iopoll, "
         "kernel.blk_iopoll_budget, kernel.blk_iopoll_defer_us and "
         "kernel.blk_iopoll_adaptive; the polled-queue reference reloads "
         "ours with poll_queues=1 and runs fio io_uring with hipri. fio "
         "jobs are pinned to guest CPUs (one job to the last vCPU, "
         "several spread over all). Within "
         "every repeat each fio cell runs once per configuration back to "
         "back. Ratios to stock are medians of the per-repeat paired "
         "ratios, with a bootstrap 95% interval in brackets; a target is "
         "met / not met only when the whole interval is on one side of its "
         "threshold, otherwise undecided. Host CPU per I/O is the QEMU "
         "process's utime+stime over each cell's window. A second boot with "
         "QEMU trace events cross-checks kicks and interrupts on the host "
         "side. Targets are reported, never asserted; see "
         "scripts/bench/README.md for how to read them.", ""]
    if not dirs:
        L.append("No results yet: run `make bench` on a quiet host.")
    for d in dirs:
        s = load_json(os.path.join(results, d, "summary.json"), {})
        L += [f"## {d}", "", f"_{stamp(s['meta'], s.get('guest', {}))}_", "",
              f"[table]({d}/table.md) · [summary.csv]({d}/summary.csv) · "
              f"[summary.json]({d}/summary.json) · " +
              " · ".join(f"[{p[:-4]}]({d}/{p})" for p in s.get("plots", [])),
              ""]
        if "primary" not in s:
            L += ["(Summary from an older report: rerun "
                  f"`scripts/bench/report.py` on {d} for this section.)", ""]
            continue
        L += [reading(s), ""]
        ht = headline_table(s)
        if ht:
            L += ht + [""]
        if s.get("targets"):
            L += [f"Targets for `{s['primary']}`:", "",
                  "| target | value [95% interval] | verdict |",
                  "|---|---|---|"] + target_rows(s["targets"]) + [""]
    with open(os.path.join(results, "README.md"), "w") as f:
        f.write("\n".join(L))


HEADLINE_BEGIN = "<!-- bench headline: generated by scripts/bench/report.py -->"
HEADLINE_END = "<!-- end of bench headline -->"


def write_top_readme(results):
    """Replace the headline block of the repository README (between the
    two markers) with each result directory's reading, headline table and
    target verdicts; only for the repository's own results/."""
    readme = os.path.join(os.path.dirname(os.path.abspath(results)),
                          "README.md")
    try:
        with open(readme) as f:
            text = f.read()
    except OSError:
        return
    a, b = text.find(HEADLINE_BEGIN), text.find(HEADLINE_END)
    if a < 0 or b < a:
        return
    L = []
    for d in sorted(d for d in os.listdir(results) if os.path.isfile(
            os.path.join(results, d, "summary.json"))):
        s = load_json(os.path.join(results, d, "summary.json"), {})
        if "primary" not in s:
            continue
        L += [f"**{d}** ([table](results/{d}/table.md)): {reading(s)}", ""]
        L += headline_table(s) + [""]
        if s.get("targets"):
            L += [f"Targets for `{s['primary']}`:", "",
                  "| target | value [95% interval] | verdict |",
                  "|---|---|---|"] + target_rows(s["targets"]) + [""]
    body = "\n".join(L) if L else "No results yet: run `make bench`.\n"
    with open(readme, "w") as f:
        f.write(text[:a + len(HEADLINE_BEGIN)] + "\n\n" + body +
                text[b:])


# ------------------------------------------------------------ driver

def _clean(est):
    return {k: v for k, v in est.items()} if est else None


def report_kernel(rdir):
    data = collect(rdir)
    data["dir"] = rdir
    data["primary"] = primary_config(data)
    data["targets"] = evaluate(data, data["primary"]) \
        if data["primary"] else []
    data["targets_all"] = {c: evaluate(data, c) for c in ours_configs(data)}
    if any(k[3] == planmod.AA_CONFIG for k in data["ratios"]):
        data["targets_all"][planmod.AA_CONFIG] = evaluate_aa(data)
    data["plots"] = make_plots(data)
    write_table(data, os.path.join(rdir, "table.md"))
    write_csv(data, os.path.join(rdir, "summary.csv"))
    g = data["groups"]
    by_name = {}
    widths, qd32 = [], None
    for k, v in g.items():
        e = {m: dict(a) for m, a in v.items() if a}
        rs = data["ratios"].get(k, {})
        e["ratios"] = {m: _clean(r) for m, r in rs.items() if r}
        e["iops_ratio"] = rs["iops"]["median"] if rs.get("iops") else None
        by_name["/".join(k)] = e
        r = rs.get("iops")
        if k[0] == "main" and r and r["n"] > 1:
            widths.append(r["hi"] - r["lo"])
            if k[1:] == ("null", "randread-qd32-j1", data["primary"]):
                qd32 = r["hi"] - r["lo"]
    plan = load_json(os.path.join(rdir, "plan.json"), {})
    summary = {"meta": data["meta"], "guest": data.get("guest", {}),
               "primary": data["primary"], "targets": data["targets"],
               "targets_by_config": data["targets_all"],
               "verdicts": {c: verdict_counts(e)
                            for c, e in data["targets_all"].items()},
               "repeats": plan.get("repeats"),
               "config_order": config_order(data),
               "bootstrap": {"resamples": BOOT, "seed": SEED,
                             "level": LEVEL},
               "skipped": data["skipped"], "plots": data["plots"],
               "ratio_width": {"median": statistics.median(widths),
                               "max": max(widths), "qd32": qd32}
               if widths else None,
               "aa": aa_spread(data),
               "sampler": data["sampler"],
               "pin_comparison": data.get("pin_comparison"),
               "setup": setup_summary(data),
               "trace_check": trace_check(data),
               "groups_by_name": by_name, "runs": data["runs"]}
    with open(os.path.join(rdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    return summary


def main(argv):
    if len(argv) == 2 and argv[0] == "--readme":
        write_readme(argv[1])
        if os.path.samefile(argv[1], os.path.join(REPO, "results")):
            write_top_readme(argv[1])
        return 0
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for d in argv:
        report_kernel(d)
        results = os.path.dirname(os.path.abspath(d))
        write_readme(results)
        if os.path.samefile(results, os.path.join(REPO, "results")):
            write_top_readme(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

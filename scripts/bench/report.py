#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Report for `make bench`: derives every figure from the raw files the guest
wrote (fio JSON, counter snapshots, trace counts) and writes, per
results/<kernel>-<accel>/:

  summary.json   per run and per (disk, cell, config): median, min, max
  summary.csv    the same aggregates, one row per (phase, disk, cell, config)
  table.md       markdown tables, targets, best budget
  *.svg          gnuplot plots

and results/README.md over every result directory found.

Usage: scripts/bench/report.py RESULT_DIR...   (one per kernel), or
       scripts/bench/report.py --readme RESULTS_DIR
"""
import csv
import json
import math
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import plan as planmod  # noqa: E402

# Metric key -> (column heading, unit scale note).  Order = table order.
METRICS = {
    "iops": "IOPS",
    "clat_mean_us": "clat mean µs",
    "clat_p50_us": "clat p50 µs",
    "clat_p99_us": "clat p99 µs",
    "clat_p999_us": "clat p99.9 µs",
    "cpu_us_per_io": "guest CPU µs/IO",
    "cpu_irq_us_per_io": "guest irq+softirq µs/IO",
    "cpu_busy_frac": "guest CPU busy fraction",
    "irq_per_io": "interrupts/IO (/proc/interrupts)",
    "drv_timer_polls_per_io": "timer polls/IO",
    "transitions_per_io": "interrupts+timer polls/IO",
    "irqpoll_softirq_per_io": "IRQ_POLL softirqs/IO",
    "drv_kicks_per_io": "kicks/IO (driver)",
    "drv_irq_per_io": "interrupts/IO (driver)",
    "drv_compl_per_poll": "completions/poller run",
    "drv_exhausted_frac": "poller runs that used the whole budget",
    "host_kicks_per_io": "kicks/IO (QEMU trace)",
    "host_irq_per_io": "interrupts/IO (QEMU trace)",
}

# Targets from the issue, evaluated against the data (never asserted).
# (id, text, disk, cell, metric, kind, threshold); kind: abs | ratio
# The interrupt targets count the deferred re-arm's timer expiries too: each
# is a guest interrupt (local APIC timer) just like a virtqueue interrupt.
TARGETS = [
    ("irq_qd32_j1", "interrupts+timer polls/IO <= 0.05 (randread QD32, "
     "1 job)", "null", "randread-qd32-j1", "transitions_per_io", "abs", 0.05),
    ("irq_qd32_j2", "interrupts+timer polls/IO <= 0.05 (randread QD32, "
     "2 jobs)", "null", "randread-qd32-j2", "transitions_per_io", "abs",
     0.05),
    ("iops_qd32_j1", "IOPS >= 1.35x stock (randread QD32, 1 job)",
     "null", "randread-qd32-j1", "iops", "ratio_ge", 1.35),
    ("iops_qd32_j2", "IOPS >= 1.15x stock (randread QD32, 2 jobs)",
     "null", "randread-qd32-j2", "iops", "ratio_ge", 1.15),
    ("cpu_qd32_j1", "guest CPU/IO <= 0.7x stock (randread QD32, 1 job)",
     "null", "randread-qd32-j1", "cpu_us_per_io", "ratio_le", 0.7),
    ("cpu_qd32_j2", "guest CPU/IO <= 0.7x stock (randread QD32, 2 jobs)",
     "null", "randread-qd32-j2", "cpu_us_per_io", "ratio_le", 0.7),
    ("lat_mean_qd1", "mean latency <= 1.03x stock (randread QD1)",
     "null", "randread-qd1-j1", "clat_mean_us", "ratio_le", 1.03),
    ("lat_p99_qd1", "p99 latency <= 1.03x stock (randread QD1)",
     "null", "randread-qd1-j1", "clat_p99_us", "ratio_le", 1.03),
]
HEADLINE = ("randread-qd1-j1", "randread-qd32-j1", "randread-qd32-j2")


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
    """IOPS and completion latency (µs) of the run, from fio's JSON."""
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
            "fio_ios": sum(j[d]["total_ios"] for j in jobs)}


def _driver_delta(before, after):
    tot = {}
    for q, vals in after.items():
        for k, v in vals.items():
            tot[k] = tot.get(k, 0) + v - before.get(q, {}).get(k, 0)
    return tot


def run_metrics(rec, fio, user_hz, trace=None):
    """All per-run figures.  'Per IO' divides by requests the disk completed
    (/sys/block/vdX/stat) over the same window as the counters (fio start to
    exit, ramp included); IOPS and latency are fio's (ramp excluded)."""
    m = _fio_metrics(fio)
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
    drv = _driver_delta(b.get("driver", {}), a.get("driver", {}))
    if drv and ios:
        m["drv_kicks_per_io"] = drv.get("kicks", 0) / ios
        m["drv_irq_per_io"] = drv.get("interrupts", 0) / ios
        if "timer_polls" in drv:        # drivers with deferred re-arm
            m["drv_timer_polls_per_io"] = drv["timer_polls"] / ios
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
    if trace and ios:
        m["host_kicks_per_io"] = trace["kicks"] / ios
        m["host_irq_per_io"] = trace["interrupts"] / ios
    return m


# ------------------------------------------------------------ aggregation

def agg(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "n": len(vals), "values": vals}


def collect(rdir):
    """Per-run metrics of both phases and their aggregates."""
    meta = load_json(os.path.join(rdir, "meta.json"), {})
    out = {"meta": meta, "runs": [], "skipped": {}, "groups": {}}
    for phase in ("main", "trace"):
        pdir = os.path.join(rdir, phase)
        info = load_json(os.path.join(pdir, "guest-info.json"), {})
        if phase == "main" or "guest" not in out:
            out["guest"] = info or out.get("guest", {})
        tc = load_json(os.path.join(pdir, "trace-counts.json"), {})
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
            m = run_metrics(rec, fio, info.get("user_hz", 100),
                            tc.get("runs", {}).get(str(rec["seq"])))
            out["runs"].append({"phase": phase, "seq": rec["seq"],
                                "rep": rec["rep"], "disk": rec["disk"],
                                "cell": rec["cell"], "config": rec["config"],
                                "workload": rec["workload"], "qd": rec["qd"],
                                "jobs": rec["jobs"],
                                "settings": rec.get("settings", {}),
                                "fio_json": f"{phase}/{rec['fio_json']}",
                                "metrics": m})
            out["groups"].setdefault(key, []).append(m)
    groups = {}
    for key, ms in out["groups"].items():
        names = sorted({k for m in ms for k in m})
        groups[key] = {k: agg([m.get(k) for m in ms]) for k in names}
    out["groups"] = groups
    return out


def med(groups, key, metric):
    g = groups.get(key, {}).get(metric)
    return g["median"] if g else None


def ratio(groups, phase, disk, cell, config, metric):
    a = med(groups, (phase, disk, cell, config), metric)
    s = med(groups, (phase, disk, cell, "stock"), metric)
    if a is None or not s:
        return None
    return a / s


# ------------------------------------------------------------ targets

def budgets_in(data):
    cfgs = {k[3] for k in data["groups"] if k[0] == "main"}
    return sorted((c for c in cfgs if c.startswith("b") and c[1:].isdigit()),
                  key=lambda c: int(c[1:]))


def defer_info(data):
    """The deferred re-arm configuration (plan.DEFER_CONFIG) when it has
    main-phase data: {config, budget, defer_us}; else None.  Budget and
    delay are the sysctls the plan recorded for it."""
    c = planmod.DEFER_CONFIG
    if not any(k[0] == "main" and k[3] == c for k in data["groups"]):
        return None
    plan = load_json(os.path.join(data["dir"], "plan.json"), {})
    sc = ((plan.get("configs") or planmod.CONFIGS).get(c)
          or planmod.CONFIGS[c])["sysctl"]
    return {"config": c, "budget": sc.get("blk_iopoll_budget"),
            "defer_us": sc.get("blk_iopoll_defer_us")}


def _range(groups, key, metric):
    a = groups.get(key, {}).get(metric)
    return (a["min"], a["max"]) if a else None


def evaluate(data, config):
    """Each target for one config: value (medians), the range the min–max
    of the repeats allows, met (True/False/None), and whether that verdict
    holds over the whole range (False: within noise)."""
    res = []
    g = data["groups"]
    for tid, text, disk, cell, metric, kind, thr in TARGETS:
        key = ("main", disk, cell, config)
        ours = _range(g, key, metric)
        if kind == "abs":
            val = med(g, key, metric)
            rng = ours
            met = None if val is None else val <= thr
        else:
            val = ratio(g, "main", disk, cell, config, metric)
            st = _range(g, ("main", disk, cell, "stock"), metric)
            rng = (ours[0] / st[1], ours[1] / st[0]) \
                if ours and st and st[0] > 0 and st[1] > 0 else None
            met = (None if val is None else
                   val >= thr if kind == "ratio_ge" else val <= thr)
        robust = None if rng is None or met is None else \
            not rng[0] <= thr <= rng[1]
        res.append({"id": tid, "text": text, "config": config,
                    "value": val, "range": rng, "met": met,
                    "robust": robust, "threshold": thr, "kind": kind})
    return res


def best_budget(data):
    """Rule (stated in the report): most targets met; ties broken by the
    geometric mean of IOPS/stock at randread QD32 (1 and 2 jobs) and
    stock/mean latency at QD1."""
    best = None
    for c in budgets_in(data):
        ev = evaluate(data, c)
        met = sum(1 for e in ev if e["met"])
        g = data["groups"]
        parts = [ratio(g, "main", "null", "randread-qd32-j1", c, "iops"),
                 ratio(g, "main", "null", "randread-qd32-j2", c, "iops")]
        lat = ratio(g, "main", "null", "randread-qd1-j1", c, "clat_mean_us")
        parts.append(1 / lat if lat else None)
        parts = [p for p in parts if p]
        score = math.exp(sum(map(math.log, parts)) / len(parts)) if parts \
            else 0
        cand = (met, score, c)
        if best is None or cand[:2] > best[:2]:
            best = cand
    if not best:
        return None
    return {"config": best[2], "budget": int(best[2][1:]),
            "targets_met": best[0], "score": best[1]}


# ------------------------------------------------------------ formatting

def fmt(v, metric=""):
    if v is None:
        return "n/a"
    if metric == "iops":
        return f"{v / 1000:.1f}k"
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


def table_rows(data, phase, disk, cells, metrics, with_ratio):
    g = data["groups"]
    order = config_order(data)
    lines = []
    for cell in cells:
        cfgs = sorted({k[3] for k in g if k[:3] == (phase, disk, cell)},
                      key=order.index)
        for c in cfgs:
            row = [cell, c, str(g[(phase, disk, cell, c)]["iops"]["n"])]
            for m in metrics:
                row.append(cell_str(g[(phase, disk, cell, c)], m))
                if m in with_ratio:
                    r = ratio(g, phase, disk, cell, c, m)
                    row.append(f"{r:.2f}×" if r is not None else "n/a")
            lines.append("| " + " | ".join(row) + " |")
    return lines


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
               str(st.get("module_params", {}).get("poll_queues")))
        seen.setdefault(r["config"], set()).add(row)
    if not seen:
        return []
    L = ["Observed setup (read back in the guest at every run; several "
         "rows mean it changed between runs):", "",
         "| config | module taint | hw queues | io_poll | kernel.blk_iopoll "
         "| effective budget | kernel.blk_iopoll_defer_us | poll_queues |",
         "|---|---|---|---|---|---|---|---|"]
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


def target_rows(evs):
    """Markdown rows: target, value, range, met? (for evaluate()'s list)."""
    L = []
    for e in evs:
        x = "" if e["kind"] == "abs" else "×"
        v = f"{fmt(e['value'])}{x}" if e["value"] is not None else "n/a"
        rng = (f"{fmt(e['range'][0])}{x}–{fmt(e['range'][1])}{x}"
               if e["range"] else "n/a")
        met = {True: "yes", False: "**no**", None: "n/a"}[e["met"]]
        if e["robust"] is False:
            met += " (within noise)"
        L.append(f"| {e['text']} | {v} | {rng} | {met} |")
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
         f"{' '.join(meta.get('host_loadavg_at_end', []))}; other host work "
         "during the boots (host CPU time not spent by our launcher/QEMU): " +
         (", ".join(f"{ph} {n['other_cpu_frac'] * 100:.0f}%"
                    for ph, n in sorted(meta.get("host_noise", {}).items()))
          or "n/a") + ".", "",
         "Cells show median (min–max) over repeats; ×stock is the ratio of "
         "medians to the stock driver in the same cell. Per-IO counters "
         "divide by requests completed by the disk over the fio process "
         "lifetime; guest CPU is system-wide busy time from /proc/stat "
         "(user+nice+system+irq+softirq), so it includes fio itself. "
         "Interrupts/IO are the disk's request vectors in /proc/interrupts; "
         "timer polls/IO are the driver's deferred re-arm timer expiries "
         "(debugfs `timer_polls`, each one a guest timer interrupt, n/a "
         "where the driver has no such counter), and interrupts+timer "
         "polls/IO is their sum, which the interrupt targets use.", ""]
    configs = plan.get("configs") or planmod.CONFIGS
    L += ["Configurations: " + "; ".join(
        f"`{k}` {configs[k]['desc']}" for k in config_order(data)
        if k in configs) + ".", ""]
    busy = host_busy(meta)
    if busy:
        L += [f"**Host busy:** {busy}; other work shared the CPUs, so "
              "expect wide min–max ranges.", ""]
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

    best = data.get("best")
    dinfo = data.get("defer")
    L += ["## Targets", ""]
    if best:
        L += [f"Best budget from this data: **{best['budget']}** "
              f"({best['targets_met']}/{len(TARGETS)} targets met; rule: "
              "most targets met, ties broken by the geometric mean of "
              "IOPS/stock at randread QD32 with 1 and 2 jobs and "
              "stock/iopoll mean latency at QD1).", "",
              "The range column combines the repeats' min–max (for ratios: "
              "our min over stock max to our max over stock min); 'within "
              "noise' means the threshold lies inside it.", "",
              "Interrupts count the disk's vectors in /proc/interrupts plus "
              "the driver's deferred re-arm timer expiries (`timer_polls`, "
              "each a guest timer interrupt; 0 where the driver has none).",
              "",
              "| target | value at best budget | range | met? |",
              "|---|---|---|---|"]
        L += target_rows(data["targets"])
        L += ["", "All budgets (value, ✓ = target met):", "",
              "| budget | " + " | ".join(t[0] for t in TARGETS) + " |",
              "|---|" + "---|" * len(TARGETS)]
        rows = [(c[1:], evaluate(data, c)) for c in budgets_in(data)]
        if dinfo:
            rows.append((f"{dinfo['budget']} + defer {dinfo['defer_us']} µs",
                         data["targets_defer"]))
        for label, evs in rows:
            cells = []
            for e in evs:
                if e["value"] is None:
                    cells.append("n/a")
                    continue
                v = (fmt(e["value"]) if e["kind"] == "abs"
                     else f"{e['value']:.2f}×")
                cells.append(v + (" ✓" if e["met"] else ""))
            L.append(f"| {label} | " + " | ".join(cells) + " |")
    else:
        L += ["No iopoll budget configuration has data: targets not "
              "evaluated."]
    L.append("")
    if dinfo:
        met = sum(1 for e in data["targets_defer"] if e["met"])
        na = sum(1 for e in data["targets_defer"] if e["met"] is None)
        L += [f"### Deferred re-arm (budget {dinfo['budget']}, defer "
              f"{dinfo['defer_us']} µs)", "",
              f"Configuration `{dinfo['config']}`, not part of the budget "
              f"choice above: {met}/{len(TARGETS)} targets met"
              + (f" ({na} not measured in this run)" if na else "") + ".",
              "",
              "| target | value | range | met? |", "|---|---|---|---|"]
        L += target_rows(data["targets_defer"]) + [""]

    perf = ["iops", "clat_mean_us", "clat_p50_us", "clat_p99_us",
            "clat_p999_us"]
    ctrs = ["cpu_us_per_io", "cpu_irq_us_per_io", "irq_per_io",
            "drv_timer_polls_per_io", "transitions_per_io",
            "drv_kicks_per_io", "drv_compl_per_poll", "drv_exhausted_frac",
            "irqpoll_softirq_per_io"]
    for disk in sorted({k[1] for k in data["groups"] if k[0] == "main"}):
        desc = plan.get("disks", {}).get(disk, disk)
        cells = cells_of(data, "main", disk)
        L += [f"## Disk `{disk}`", "", f"`{desc}`", "", "### Throughput and "
              "latency", "",
              "| cell | config | n | IOPS | ×stock | clat mean µs | ×stock |"
              " p50 µs | p99 µs | ×stock | p99.9 µs |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        L += table_rows(data, "main", disk, cells, perf,
                        {"iops", "clat_mean_us", "clat_p99_us"})
        L += ["", "### CPU and counters", "",
              "| cell | config | n | CPU µs/IO | ×stock | irq+softirq µs/IO |"
              " interrupts/IO | timer polls/IO | interrupts+timer polls/IO |"
              " kicks/IO | completions/poll | budget-exhausted polls |"
              " IRQ_POLL softirqs/IO |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        L += table_rows(data, "main", disk, cells, ctrs, {"cpu_us_per_io"})
        L.append("")

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
              "the same runs. Trace overhead: IOPS of the traced boot over "
              "the untraced boot's median for the same cell and config. "
              f"Disk vdev identification: `{tc.get('vdevs')}`.", "",
              "| disk | cell | config | n | host kicks/IO | driver kicks/IO |"
              " host interrupts/IO | guest interrupts/IO | IOPS traced/"
              "untraced |", "|---|---|---|---|---|---|---|---|---|"]
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
                     f"{cell_str(t, 'irq_per_io')} | {ov} |")
        ev = {}
        for r in tc.get("runs", {}).values():
            for e, n in r.get("events", {}).items():
                ev[e] = ev.get(e, 0) + n
        L += ["", "Events counted on the disk's vdev over all traced runs: " +
              ", ".join(f"`{e}` {n}" for e, n in sorted(ev.items())) + ".",
              ""]
    L += ["## Plots", ""] + [f"![{p}]({p})" for p in data.get("plots", [])]
    L += ["", "Raw data: `main/` and `trace/` (fio JSON under `raw/`, counter "
          "snapshots in `runs.jsonl`), derived per-run figures in "
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
    cols += ["iops_ratio_stock", "clat_mean_ratio_stock",
             "clat_p99_ratio_stock", "cpu_per_io_ratio_stock"]
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
            for m in ("iops", "clat_mean_us", "clat_p99_us",
                      "cpu_us_per_io"):
                r = ratio(g, *k, m)
                row.append(f"{r:.4f}" if r is not None else "")
            w.writerow(row)


# ------------------------------------------------------------ plots

def gnuplot(data, name, blocks, titles, ttl, xl, yl, xlog, ref, ylog=False,
            styles=None):
    """blocks: list of list of rows (x, median, min, max[, baseline]);
    styles: (colour, dash type) per block, default distinct colours."""
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
    out = os.path.join(data["dir"], name + ".svg")

    def q(s):
        return "'" + str(s).replace("'", "") + "'"
    expr = (f"datafile={q(dat)}; out={q(out)}; nblocks={len(blocks)}; "
            f"titles={q(' '.join(t.replace(' ', '_') for t in titles))}; "
            f"ttl={q(ttl)}; "
            f"stamp={q(short_stamp(data['meta'], data['guest']))}; "
            f"xl={q(xl)}; yl={q(yl)}; xlog={int(xlog)}; ylog={int(ylog)}; "
            f"ref={int(ref)}; "
            f"lcs={q(' '.join(str(c) for c, _ in styles))}; "
            f"dts={q(' '.join(str(d) for _, d in styles))}")
    r = subprocess.run(["gnuplot", "-e", expr, os.path.join(HERE, "plot.gp")],
                       stderr=subprocess.PIPE, text=True)
    if r.returncode:        # single-point blocks only warn; this is real
        raise RuntimeError(f"gnuplot {name}: {r.stderr.strip()}")
    return name + ".svg"


def _series(g, key, metric, scale=1.0):
    a = g.get(key, {}).get(metric)
    if not a:
        return None
    return [a["median"] * scale, a["min"] * scale, a["max"] * scale]


def make_plots(data):
    g = data["groups"]
    plots = []
    budgets = budgets_in(data)
    for metric, name, yl, scale, ylog in (
            ("iops", "iops_vs_budget", "kIOPS", 1e-3, False),
            ("clat_p99_us", "p99_vs_budget", "clat p99 (µs, log scale)", 1.0,
             True)):
        blocks, titles = [], []
        for cell in HEADLINE:
            rows = []
            stock = _series(g, ("main", "null", cell, "stock"), metric, scale)
            for c in budgets:
                s = _series(g, ("main", "null", cell, c), metric, scale)
                if s:
                    rows.append([int(c[1:])] + s +
                                ([stock[0]] if stock else [float("nan")]))
            if rows:
                blocks.append(rows)
                titles.append(cell)
        p = gnuplot(data, name, blocks, titles,
                    f"4k randread on null-co: {yl} vs iopoll budget "
                    "(dashed: stock, same cell)", "iopoll budget", yl,
                    True, True, ylog)
        plots.append(p)
    # QD sweeps: the core configs only (colour = config, dash = workload
    # and job count); the budget sweep has its own plots.  The deferred
    # re-arm's interrupts include its timer expiries (interrupts+timer
    # polls), so its line is not flattered by moving them to the timer.
    order = [c for c in config_order(data) if c in planmod.CORE]
    defer = planmod.DEFER_CONFIG
    for metric, name, yl, ttl in (
            ("irq_per_io", "irq_per_io_vs_qd", "interrupts per I/O",
             f" ({defer}: interrupts + timer polls)"),
            ("cpu_us_per_io", "cpu_per_io_vs_qd", "guest CPU µs per I/O",
             "")):
        blocks, titles, styles = [], [], []
        combos = [(w, j) for w in ("randread", "randwrite") for j in (1, 2)]
        for dash, (wl, jobs) in enumerate(combos):
            for c in order:
                cm, label = metric, c
                if metric == "irq_per_io" and c == defer:
                    cm, label = "transitions_per_io", f"{c} irq+timer"
                rows = []
                for qd in (1, 8, 32):
                    s = _series(g, ("main", "null", f"{wl}-qd{qd}-j{jobs}",
                                    c), cm)
                    if s:
                        rows.append([qd] + s)
                if len(rows) >= 2:
                    blocks.append(rows)
                    titles.append(f"{label} {wl} {jobs}j")
                    styles.append((order.index(c) + 1, dash + 1))
        if not any(t.startswith(defer + " ") for t in titles):
            ttl = ""
        p = gnuplot(data, name, blocks, titles,
                    f"4k random I/O on null-co: {yl} vs queue depth{ttl}",
                    "queue depth", yl, True, False, styles=styles)
        plots.append(p)
    return [p for p in plots if p]


# ------------------------------------------------------------ README

def _tv(e):
    """'value (target: verdict)' for one evaluated target."""
    if e["value"] is None:
        return "n/a"
    v = fmt(e["value"]) if e["kind"] == "abs" else f"{e['value']:.2f}×"
    verdict = "met" if e["met"] else "not met"
    if e["robust"] is False:
        verdict += ", within noise"
    return f"{v} ({verdict})"


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
                   "cells; a separate boot, so boot-to-boot noise "
                   "included). The disk's interrupts reached QEMU's trace as "
                   + ", ".join(f"`{e}` ×{c}" for e, c in
                               sorted(tr["events"].items())
                               if e != "virtio_queue_notify") + ".")
    return out


def defer_reading(s):
    """One sentence on the deferred re-arm config, or None without data."""
    d = s.get("targets_defer")
    if not d:
        return None
    g = s["groups_by_name"]

    def gm(cell, config, metric):
        a = g.get(f"main/null/{cell}/{config}", {}).get(metric)
        return a["median"] if a else None
    c = d["config"]
    parts = []
    for cell, what in (("randread-qd32-j1", "one job"),
                       ("randread-qd32-j2", "two jobs")):
        irq = gm(cell, c, "irq_per_io")
        if irq is None:
            continue
        tp = gm(cell, c, "drv_timer_polls_per_io")
        r = g.get(f"main/null/{cell}/{c}", {}).get("iops_ratio")
        parts.append(f"{fmt(irq)} interrupts/IO plus "
                     f"{fmt(tp)} timer polls/IO at "
                     + (f"{r:.2f}×" if r is not None else "n/a")
                     + f" stock IOPS with {what}")
    lat, st = (gm("randread-qd1-j1", c, "clat_mean_us"),
               gm("randread-qd1-j1", "stock", "clat_mean_us"))
    if not parts and lat is None:
        return None
    met = sum(1 for e in d["targets"] if e["met"])
    txt = (f"Deferred re-arm (`{c}`: budget {d['budget']}, "
           f"kernel.blk_iopoll_defer_us={d['defer_us']}) meets {met} of "
           f"{len(d['targets'])} targets")
    if parts:
        txt += "; at randread QD32 it took " + " and ".join(parts)
    if lat is not None and st:
        txt += f"; QD1 mean latency {lat / st:.2f}× stock"
    return txt + "."


def reading(s):
    """One paragraph from a summary (every number from the data)."""
    meta, guest = s["meta"], s.get("guest", {})
    k = guest.get("kernel", meta.get("kernel"))
    best = s.get("best")
    if not best:
        return (f"On {k} ({meta.get('accel')}) no iopoll configuration "
                "produced data" + (f" ({'; '.join(set(s['skipped'].values()))})"
                                   if s.get("skipped") else "") + ".")
    ev = {e["id"]: e for e in s["targets"]}
    met = sum(1 for e in s["targets"] if e["met"])
    txt = (f"On {k} under {meta.get('accel')} ({meta.get('mode')} run), the "
           f"best iopoll budget in this data is {best['budget']}, meeting "
           f"{met} of {len(s['targets'])} targets against stock (medians). "
           f"4k randread QD32 on null-co: IOPS {_tv(ev['iops_qd32_j1'])} "
           f"with one job (target ≥1.35×) and {_tv(ev['iops_qd32_j2'])} with "
           f"two (≥1.15×); interrupts+timer polls/IO "
           f"{_tv(ev['irq_qd32_j1'])} and "
           f"{_tv(ev['irq_qd32_j2'])} (≤0.05); guest CPU/IO "
           f"{_tv(ev['cpu_qd32_j1'])} and {_tv(ev['cpu_qd32_j2'])} (≤0.7×). "
           f"QD1: mean latency {_tv(ev['lat_mean_qd1'])}, p99 "
           f"{_tv(ev['lat_p99_qd1'])} (≤1.03×).")
    g = s["groups_by_name"]
    off = g.get("main/null/randread-qd32-j1/off", {}).get("iops_ratio")
    pq = g.get("main/null/randread-qd32-j1/pollq", {}).get("iops_ratio")
    if off is not None:
        txt += (f" With iopoll off our driver runs at {off:.2f}× stock IOPS "
                "at QD32 (one job)")
        txt += (f"; the interrupt-free polled-queue reference at "
                f"{pq:.2f}×." if pq is not None else ".")
    dtxt = defer_reading(s)
    if dtxt:
        txt += " " + dtxt
    sp = s.get("rel_spread")
    if sp:
        txt += (f" Repeat-to-repeat IOPS spread ((max−min)/median) is "
                f"{sp['median'] * 100:.0f}% in the median cell and up to "
                f"{sp['max'] * 100:.0f}%; verdicts marked 'within noise' "
                "flip somewhere inside the min–max ranges.")
    busy = host_busy(meta)
    if busy:
        txt += f" The host was busy ({busy})."
    return " ".join([txt] + observations(s))


def write_readme(results):
    dirs = sorted(d for d in os.listdir(results)
                  if os.path.isfile(os.path.join(results, d, "summary.json")))
    L = ["# Benchmark results", "",
         "Produced by `make bench` (scripts/bench/run; `QUICK=1` for a short "
         "run, `FULL=1` for more repeats). Every figure below and in the "
         "linked tables is computed by scripts/bench/report.py from the raw "
         "files next to it; nothing is typed in by hand. The shared host is "
         "noisy: configurations are interleaved and repeated, tables show "
         "median and min–max.", "",
         "Method, in short: per kernel one guest boot (2 vCPUs, 1 GiB) with "
         "two virtio-blk disks (QEMU null-co, and null-co with "
         "latency-ns=20000; num-queues = vCPUs) runs every configuration: "
         "the stock module and ours are swapped with rmmod/insmod in the "
         "same boot, iopoll on/off, the budget and the deferred re-arm "
         "are set through kernel.blk_iopoll, kernel.blk_iopoll_budget and "
         "kernel.blk_iopoll_defer_us at run time (the delay is 0 in every "
         "configuration of ours but the deferred re-arm one), and "
         "the polled-queue reference reloads ours with poll_queues=1 and "
         "runs fio io_uring with hipri (others use libaio). Within every "
         "repeat each fio cell (scripts/bench/jobs/) runs once per "
         "configuration back to back, the order rotating between repeats. "
         "Per-I/O counters divide by the requests the disk completed over "
         "the same window (/sys/block/vdX/stat): interrupts from "
         "/proc/interrupts (the disk's req vectors), guest CPU as "
         "system-wide busy time from /proc/stat, kicks, completions per "
         "poller run and deferred re-arm timer expiries (timer polls) from "
         "the driver's debugfs counters (n/a for stock); the interrupt "
         "targets count interrupts plus timer polls, since each timer "
         "expiry is a guest interrupt too. A "
         "second boot with QEMU trace events virtio_queue_notify (guest "
         "kicks) and virtio_notify_irqfd / virtio_notify (interrupts) "
         "repeats a few cells as a host-side cross-check; each disk's vdev "
         "is identified by 1000 known reads, so 9p traffic is excluded. "
         "Targets are reported, never asserted.", ""]
    if not dirs:
        L.append("No results yet: run `make bench` on a quiet host.")
    for d in dirs:
        s = load_json(os.path.join(results, d, "summary.json"), {})
        L += [f"## {d}", "", f"_{stamp(s['meta'], s.get('guest', {}))}_", "",
              f"[table]({d}/table.md) · [summary.csv]({d}/summary.csv) · "
              f"[summary.json]({d}/summary.json) · " +
              " · ".join(f"[{p[:-4]}]({d}/{p})" for p in s.get("plots", [])),
              "", reading(s), ""]
    with open(os.path.join(results, "README.md"), "w") as f:
        f.write("\n".join(L))


# ------------------------------------------------------------ driver

def report_kernel(rdir):
    data = collect(rdir)
    data["dir"] = rdir
    data["best"] = best_budget(data)
    data["targets"] = evaluate(data, data["best"]["config"]) \
        if data["best"] else []
    data["defer"] = defer_info(data)
    data["targets_defer"] = evaluate(data, data["defer"]["config"]) \
        if data["defer"] else []
    data["plots"] = make_plots(data)
    write_table(data, os.path.join(rdir, "table.md"))
    write_csv(data, os.path.join(rdir, "summary.csv"))
    g = data["groups"]
    by_name = {}
    spreads = []
    for k, v in g.items():
        e = {m: {kk: vv for kk, vv in a.items()} for m, a in v.items() if a}
        r = ratio(g, *k, "iops")
        e["iops_ratio"] = r
        by_name["/".join(k)] = e
        if k[0] == "main" and v.get("iops") and v["iops"]["n"] > 1:
            a = v["iops"]
            spreads.append((a["max"] - a["min"]) / a["median"])
    summary = {"meta": data["meta"], "guest": data.get("guest", {}),
               "best": data["best"], "targets": data["targets"],
               "targets_by_budget": {c: evaluate(data, c)
                                     for c in budgets_in(data)},
               "targets_defer": dict(data["defer"],
                                     targets=data["targets_defer"])
               if data["defer"] else None,
               "skipped": data["skipped"], "plots": data["plots"],
               "rel_spread": {"median": statistics.median(spreads),
                              "max": max(spreads)} if spreads else None,
               "setup": setup_summary(data),
               "trace_check": trace_check(data),
               "groups_by_name": by_name, "runs": data["runs"]}
    with open(os.path.join(rdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    return summary


def main(argv):
    if len(argv) == 2 and argv[0] == "--readme":
        write_readme(argv[1])
        return 0
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for d in argv:
        report_kernel(d)
        write_readme(os.path.dirname(os.path.abspath(d)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

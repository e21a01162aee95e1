#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check that a bench RESULTS_DIR is complete and parses (used by
tests/host/bench-quick.sh; handy after any `make bench`).

usage: scripts/bench/check.py RESULTS_DIR KERNEL...
Exit 0 when every kernel has a result dir with a table, a summary (JSON and
CSV) with non-zero IOPS for every (cell, config), targets with verdicts
from intervals that contain their medians, host CPU per I/O from the host
sampler, the QD and latency CDF plots as SVG, and the README links it; 1
otherwise (problems printed).
"""
import csv
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

PLOTS = ("iops_vs_qd.svg", "p99_vs_qd.svg", "irq_per_io_vs_qd.svg",
         "cpu_per_io_vs_qd.svg", "host_cpu_per_io_vs_qd.svg",
         "clat_cdf_qd1.svg")
VERDICTS = ("met", "not met", "undecided", None)


def expected_verdict(est, kind, thr):
    """The rule of scripts/bench/README.md, restated independently."""
    good_lo = est["lo"] >= thr if kind == "ge" else est["hi"] <= thr
    bad = est["hi"] < thr if kind == "ge" else est["lo"] > thr
    return "met" if good_lo else "not met" if bad else "undecided"


def check_kernel(results, kver, problems):
    dirs = sorted(glob.glob(os.path.join(results, f"{kver}-*")))
    dirs = [d for d in dirs if os.path.isfile(os.path.join(d, "meta.json"))]
    if len(dirs) != 1:
        problems.append(f"{kver}: expected one result dir, found {dirs}")
        return None
    d = dirs[0]
    name = os.path.basename(d)
    try:
        with open(os.path.join(d, "summary.json")) as f:
            s = json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"{name}: summary.json: {e}")
        return name
    for key in ("kernel", "accel", "qemu", "host_cpu", "date"):
        if not s.get("meta", {}).get(key):
            problems.append(f"{name}: summary.json meta lacks {key}")
    groups = s.get("groups_by_name", {})
    main = {k: v for k, v in groups.items() if k.startswith("main/")}
    if not main:
        problems.append(f"{name}: no main-phase results")
    for k, v in main.items():
        if not v.get("iops", {}).get("median", 0) > 0:
            problems.append(f"{name}: {k}: no IOPS")
    if not any(k.endswith("/stock") for k in main):
        problems.append(f"{name}: no stock results")
    if not any(k.split("/")[-1].startswith("b") for k in main):
        problems.append(f"{name}: no iopoll results "
                        f"(skipped: {s.get('skipped')})")
    if len(s.get("targets", [])) < 8:
        problems.append(f"{name}: targets not evaluated")
    for t in s.get("targets", []):
        if t.get("verdict") not in VERDICTS:
            problems.append(f"{name}: target {t.get('id')}: bad verdict "
                            f"{t.get('verdict')!r}")
        est = t.get("estimate")
        if est and not est["lo"] <= est["median"] <= est["hi"]:
            problems.append(f"{name}: target {t.get('id')}: median outside "
                            f"its interval {est}")
        if est and est["n"] >= 2 and t.get("verdict") != \
                expected_verdict(est, t["kind"], t["threshold"]):
            problems.append(f"{name}: target {t.get('id')}: verdict "
                            f"{t.get('verdict')!r} does not follow from "
                            f"{est} against {t['threshold']}")
    if not any("host_cpu_us_per_io" in r.get("metrics", {})
               for r in s.get("runs", [])):
        problems.append(f"{name}: no host CPU per I/O (host sampler)")
    try:
        with open(os.path.join(d, "summary.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows or any(float(r["iops_median"] or 0) <= 0 for r in rows):
            problems.append(f"{name}: summary.csv empty or zero IOPS")
    except (OSError, ValueError, KeyError) as e:
        problems.append(f"{name}: summary.csv: {e}")
    try:
        with open(os.path.join(d, "table.md")) as f:
            table = f.read()
        if "| randread-qd32-j1 | stock |" not in table or \
                "## Targets" not in table:
            problems.append(f"{name}: table.md lacks rows or targets")
    except OSError as e:
        problems.append(f"{name}: table.md: {e}")
    for p in PLOTS:
        path = os.path.join(d, p)
        try:
            root = ET.parse(path).getroot()
            if not root.tag.endswith("svg") or len(list(root.iter())) < 20:
                problems.append(f"{name}: {p} is not a drawn SVG")
        except (OSError, ET.ParseError) as e:
            problems.append(f"{name}: {p}: {e}")
    return name


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    results, kernels = argv[0], argv[1:]
    problems = []
    names = [check_kernel(results, k, problems) for k in kernels]
    try:
        with open(os.path.join(results, "README.md")) as f:
            readme = f.read()
        for n in names:
            if n and f"]({n}/table.md)" not in readme:
                problems.append(f"README.md does not link {n}/table.md")
    except OSError as e:
        problems.append(f"README.md: {e}")
    for p in problems:
        print(f"check: {p}")
    if not problems:
        print(f"check: {results}: {len(kernels)} kernel(s) complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

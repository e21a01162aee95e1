# SPDX-License-Identifier: GPL-2.0
"""Host-side counts from QEMU's trace log of the traced bench boot.

The guest (guest.py --trace-log) records byte offsets of the log around every
fio run and around calibration reads.  Here every log line is attributed to
the window its first byte falls in and counted per (event, vdev pointer).
The calibration tells which vdev pointer is which bench disk: the vdevs that
are active with no block I/O (9p shares) are excluded, and the disk's vdev is
the one with the most virtio_queue_notify lines during its 1000 known reads.

Writes trace-counts.json (per run seq: kicks and interrupt events of the
disk's own vdev) and trace-sample.txt (first lines of the log, showing its
format) into the phase directory.
"""
import bisect
import collections
import json
import os
import re

LINE = re.compile(rb"^(?:\d+@[\d.]+:)?(virtio_\w+) vdev (0x[0-9a-f]+|\(nil\))")
KICK = "virtio_queue_notify"
IRQ_EVENTS = ("virtio_notify_irqfd", "virtio_notify")


def _windows(phase_dir):
    with open(os.path.join(phase_dir, "guest-info.json")) as f:
        info = json.load(f)
    wins = []      # (start, end, key)
    for name, w in info.get("trace_calibration", {}).items():
        wins.append((w["start"], w["end"], ("cal", name)))
    with open(os.path.join(phase_dir, "runs.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "before" in r and "trace_offset" in r["before"]:
                wins.append((r["before"]["trace_offset"],
                             r["after"]["trace_offset"], ("run", r["seq"])))
    wins.sort()
    return info, wins


def count(log_path, wins):
    """{window key: Counter((event, vdev))} for lines starting in windows."""
    starts = [w[0] for w in wins]
    counts = collections.defaultdict(collections.Counter)
    off = 0
    with open(log_path, "rb") as f:
        for line in f:
            i = bisect.bisect_right(starts, off) - 1
            if i >= 0 and off < wins[i][1]:
                m = LINE.match(line)
                if m:
                    counts[wins[i][2]][(m.group(1).decode(),
                                        m.group(2).decode())] += 1
            off += len(line)
    return counts


def identify(info, counts):
    """{disk: vdev} from the calibration windows (None if unclear)."""
    cal = info.get("trace_calibration", {})
    other = {v for (_, v) in counts.get(("cal", "idle"), {})}
    out = {}
    for name, w in cal.items():
        if name == "idle":
            continue
        kicks = collections.Counter()
        for (ev, v), n in counts.get(("cal", name), {}).items():
            if ev == KICK and v not in other:
                kicks[v] += n
        best = kicks.most_common(1)
        # QD1 reads: about one kick per read unless the device suppresses them
        out[name] = (best[0][0] if best and best[0][1] >= w["reads"] // 2
                     else None)
        out[name + "_calibration_kicks"] = best[0][1] if best else 0
    return out


def summarize(phase_dir, log_path):
    info, wins = _windows(phase_dir)
    with open(log_path, "rb") as f, \
            open(os.path.join(phase_dir, "trace-sample.txt"), "wb") as g:
        for _ in range(20):
            g.write(f.readline())
    counts = count(log_path, wins)
    vdevs = identify(info, counts)
    runs = {}
    with open(os.path.join(phase_dir, "runs.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            key = ("run", r["seq"])
            vdev = vdevs.get(r["disk"])
            if key not in {w[2] for w in wins} or not vdev:
                continue
            c = counts.get(key, {})
            ev = {e: c.get((e, vdev), 0) for e in (KICK,) + IRQ_EVENTS}
            runs[str(r["seq"])] = {
                "kicks": ev[KICK],
                "interrupts": sum(ev[e] for e in IRQ_EVENTS),
                "events": ev,
                "other_vdev_lines": sum(n for (e, v), n in c.items()
                                        if v != vdev),
            }
    out = {"log_bytes": os.path.getsize(log_path), "vdevs": vdevs,
           "calibration": {f"{k[1]}": dict((f"{e} {v}", n) for (e, v), n
                                           in c.items())
                           for k, c in counts.items() if k[0] == "cal"},
           "runs": runs}
    with open(os.path.join(phase_dir, "trace-counts.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    return out

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host half of the guest->host QMP channel of scripts/vm/run (--qmp).

Usage: qmp-bridge.py QMP_SOCKET REQUEST_DIR

Connects to QEMU's QMP socket and serves request files that the guest writes
into REQUEST_DIR (the launcher's control share, /run/vm/qmp in the guest):

  NAME.req   JSON {"execute": ..., "arguments": {...},
                   "wait-event": {"event": NAME, "data": {...}, "timeout": S}}
  NAME.resp  written (atomically) by this bridge: QEMU's reply object, plus
             "event": the first event named in wait-event (received after the
             command was sent) whose data contains the given key/values, or
             "error" {"class": "Timeout"} when none arrived within timeout.

Every asynchronous event is also appended to REQUEST_DIR/events.jsonl.
Exits when QEMU closes the socket.
"""
import json
import os
import select
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        deadline = time.monotonic() + 60
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self.events = []    # (sequence, event object)
        self.seq = 0
        self.read(timeout=30)   # greeting
        self.command({"execute": "qmp_capabilities"})

    def read(self, timeout):
        """Next non-event message, or None on timeout. Events are queued."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if not line.strip():
                    continue
                msg = json.loads(line)
                if "event" in msg:
                    self.seq += 1
                    self.events.append((self.seq, msg))
                    log_event(msg)
                    continue
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                data = self.sock.recv(65536)
                if not data:
                    raise EOFError("QMP socket closed")
                self.buf += data

    def command(self, req):
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        reply = self.read(timeout=120)
        if reply is None:
            return {"error": {"class": "Timeout", "desc": "no reply from QEMU"}}
        return reply

    def wait_event(self, after, name, data, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for seq, ev in self.events:
                if seq > after and ev.get("event") == name and all(
                        ev.get("data", {}).get(k) == v for k, v in data.items()):
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.read(timeout=min(left, 0.2))


EVENTS_LOG = None


def log_event(msg):
    if EVENTS_LOG:
        with open(EVENTS_LOG, "a") as f:
            f.write(json.dumps(msg) + "\n")


def serve(qmp, reqdir):
    while True:
        names = sorted(n for n in os.listdir(reqdir) if n.endswith(".req"))
        for name in names:
            path = os.path.join(reqdir, name)
            try:
                with open(path) as f:
                    req = json.load(f)
            except (OSError, ValueError) as e:
                resp = {"error": {"class": "BadRequest", "desc": str(e)}}
            else:
                wait = req.pop("wait-event", None)
                mark = qmp.seq
                resp = qmp.command(req)
                if wait and "return" in resp:
                    ev = qmp.wait_event(mark, wait["event"], wait.get("data", {}),
                                        float(wait.get("timeout", 30)))
                    if ev is None:
                        resp = {"error": {"class": "Timeout",
                                          "desc": "no %s event" % wait["event"]}}
                    else:
                        resp["event"] = ev
            base = path[:-len(".req")]
            with open(base + ".resp.tmp", "w") as f:
                json.dump(resp, f)
            os.rename(base + ".resp.tmp", base + ".resp")
            os.unlink(path)
        qmp.read(timeout=0.1)   # collects events, notices EOF


def main():
    global EVENTS_LOG
    sockpath, reqdir = sys.argv[1:3]
    os.makedirs(reqdir, exist_ok=True)
    EVENTS_LOG = os.path.join(reqdir, "events.jsonl")
    try:
        serve(Qmp(sockpath), reqdir)
    except (EOFError, ConnectionError):
        pass


if __name__ == "__main__":
    main()

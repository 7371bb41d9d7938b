#!/usr/bin/env python3
"""The deadlock detector (STYLE.md): when work is pending and no unit can progress, the run ends
with exit 3 and one line on stderr that gives every unit's queue depths — never a hang.

Firmware made to deadlock: tests/run/deadlock.uc (an event storm: each data segment and each
internal event raises two more internal events for the same flow). They queue behind the core
holding the flow's portion until the dispatcher's pool of parked events is full; the dispatcher
then takes no input, the internal-event channel fills, and that core waits for room there to
finish. Every config is legal; the sizes in the report follow the config."""
import argparse
import json
import os
import re
import subprocess
import tempfile

from common import ROOT, check, main, wrap

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()
UC = "tests/run/deadlock.uc"
PREFIX = "sppsim: deadlock: work is pending but no unit can progress: "
# every unit and channel of the chip, in the order of the report
UNITS = ["source", "ingress FIFO", "ipu in", "events", "dispatcher in", "parked", "requests",
         "lookup:", "jobs0", "cluster0", "jobs1", "cluster1", "luc_ctl", "disp_ctl",
         "timer_events", "internal_events", "tx", "tx queue", "scratchpad", "pages"]


def deadlock(extra):
    with tempfile.TemporaryDirectory() as tmp:
        stats = os.path.join(tmp, "s.json")
        cmd = [args.sppsim, "--no-progress", "--quiet", "--trace", "traces/tcp_basic.pcap",
               "--microcode", UC, "--stats", stats] + extra
        try:
            p = subprocess.run(wrap(cmd), cwd=ROOT, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            check(False, f"[{' '.join(extra)}] the run hung instead of reporting the deadlock")
        with open(stats) as f:
            s = json.load(f)
    what = " ".join(extra) or "defaults"
    check(p.returncode == 3, f"[{what}] exit {p.returncode}, expected 3; stderr {p.stderr!r}")
    lines = p.stderr.splitlines()
    check(len(lines) == 1 and lines[0].startswith(PREFIX),
          f"[{what}] stderr is not the one-line deadlock report: {p.stderr!r}")
    line = lines[0][len(PREFIX):]
    pos = -1
    for u in UNITS:
        i = line.find(u, pos + 1)
        check(i > pos, f"[{what}] the report does not give {u!r} (in order): {line}")
        pos = i
    return line, s


def depth(line, name):
    m = re.search(r"(?:^|; |\s)" + re.escape(name) + r" (\d+)/(\d+)", line)
    check(m, f"no depth of {name} in: {line}")
    return int(m.group(1)), int(m.group(2))


def body():
    for extra in ([], ["--set", "chip.sample_ps=0"],
                  ["--set", "dispatcher.pending=100", "--set", "chip.ctl_depth=40"]):
        line, s = deadlock(extra)
        cfg = s["config"]
        what = " ".join(extra) or "defaults"
        # the depths are the stuck state: the pool full, the internal channel without room for
        # the two events the finishing core emits, the core's cluster busy
        parked, pool = depth(line, "parked")
        check(parked == pool == cfg["dispatcher"]["pending"],
              f"[{what}] parked {parked}/{pool}, pool {cfg['dispatcher']['pending']}")
        n, cap = depth(line, "internal_events")
        check(cap == cfg["chip"]["ctl_depth"] and cap - n < 2,
              f"[{what}] internal_events {n}/{cap}: room for the core's two events")
        check("busy" in line, f"[{what}] no cluster busy: {line}")
        ing, icap = depth(line, "ingress FIFO")
        check(icap == cfg["chip"]["ingress_depth"], f"[{what}] ingress FIFO capacity {icap}")
        d = s["units"]["dispatcher"]
        check(d["stall_pending_full"] > 0, f"[{what}] no stall_pending_full in the stats")
        # the stats are written; work was stuck: some packets neither processed nor dropped
        pk = s["packets"]
        check(pk["in"] > pk["processed"] + sum(pk["dropped"].values()),
              f"[{what}] every packet accounted for, yet a deadlock was reported")
        again, _ = deadlock(extra)
        check(again == line, f"[{what}] a second run reported another state")


main(body)

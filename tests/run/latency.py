#!/usr/bin/env python3
"""Analytic test: the unloaded latency of one segment equals the sum of the configured costs on
its path, to the cycle. The first packet of tcp_basic.pcap (a 74-byte SYN, arriving at t = 0
into an idle chip) is followed through every unit with count_bytes.uc, whose SYN handler is
one `fin`. Each configuration below changes some of the costs; the event log's end time of
that SYN must equal, step by step along the path,

  the ingress FIFO's latency, then the IPU's next clock edge + (cycles_per_msg +
  ceil(74 * millicycles_per_byte / 1000)) IPU cycles, the event channel's latency, the
  dispatcher's next edge + lookup_cycles, a channel, the lookup controller's next edge +
  issue_cycles + ceil(portion bytes / move_bytes_per_cycle), a channel, the core's next edge +
  fin_cycles

where a unit works on its own clock's edges (a 500 MHz unit's cycle is 2000 ps)."""
import json
import math
import os
import subprocess
import sys
import tempfile

from common import ROOT, Failure, check, main

SPPSIM = sys.argv[sys.argv.index("--sppsim") + 1]
UC = os.path.join(ROOT, "microcode", "examples", "count_bytes.uc")
PORTION = 8  # count_bytes.uc: the stats portion, which receive events need
FRAME = 74


def expected(c):
    def unit(t, mhz, cycles):  # the unit's next clock edge, then its cycles
        period = 1000000 // mhz
        return -(-t // period) * period + cycles * period

    t = c["chip.ingress_latency_ps"]
    t = unit(t, c["ipu.clock_mhz"], c["ipu.cycles_per_msg"] +
             math.ceil(FRAME * c["ipu.millicycles_per_byte"] / 1000))
    t = unit(t + c["chip.event_latency_ps"], c["dispatcher.clock_mhz"],
             c["dispatcher.lookup_cycles"])
    t = unit(t + c["chip.ctl_latency_ps"], c["lookup.clock_mhz"],
             c["lookup.issue_cycles"] + math.ceil(PORTION / c["lookup.move_bytes_per_cycle"]))
    return unit(t + c["chip.ctl_latency_ps"], c["core.clock_mhz"], c["core.fin_cycles"])


BASE = {"ipu.cycles_per_msg": 20, "ipu.millicycles_per_byte": 16, "chip.ingress_latency_ps": 0,
        "chip.event_latency_ps": 1000, "chip.ctl_latency_ps": 1000,
        "dispatcher.lookup_cycles": 4, "lookup.issue_cycles": 2,
        "lookup.move_bytes_per_cycle": 32, "core.fin_cycles": 1, "ipu.clock_mhz": 1000,
        "dispatcher.clock_mhz": 1000, "lookup.clock_mhz": 1000, "core.clock_mhz": 1000}
VARIANTS = [
    {},
    {"ipu.cycles_per_msg": 100, "ipu.millicycles_per_byte": 1000},
    {"chip.ingress_latency_ps": 7000, "chip.event_latency_ps": 3000, "chip.ctl_latency_ps": 5000},
    {"dispatcher.lookup_cycles": 50, "lookup.issue_cycles": 9, "lookup.move_bytes_per_cycle": 1},
    {"core.fin_cycles": 13, "lookup.move_bytes_per_cycle": 3},
    # clocks other than 1 GHz and latencies between edges
    {"ipu.clock_mhz": 500, "chip.ingress_latency_ps": 500, "chip.event_latency_ps": 2500},
    {"dispatcher.clock_mhz": 800, "lookup.clock_mhz": 250, "core.clock_mhz": 2000,
     "chip.ctl_latency_ps": 1700},
]


def end_of_first_event(cfg):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "events.jsonl")
        cmd = [SPPSIM, "--quiet", "--no-progress", "--trace", "traces/tcp_basic.pcap",
               "--microcode", UC, "--event-log", log]
        for k, v in cfg.items():
            cmd += ["--set", f"{k}={v}"]
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
        with open(log) as f:
            first = json.loads(f.readline())
    check(first["pkt"] == 0 and first["type"] == "tcp_syn", f"first event: {first}")
    return first["end_ps"] - first["arrival_ps"]


def body():
    for v in VARIANTS:
        cfg = dict(BASE, **v)
        got, want = end_of_first_event(cfg), expected(cfg)
        check(got == want, f"{v or 'defaults'}: SYN latency {got} ps, the sum of costs is {want}")


main(body)

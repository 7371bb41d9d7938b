#!/usr/bin/env python3
"""The two ways SystemC drives the units' scheduler (docs/architecture.md, "Scheduling") give the
same run: by default one kernel activation runs the whole simulation; with --lockstep (and with
--vcd) SystemC's time follows every simulated time step. On every bundled trace (with the queue
pairs file beside it where there is one), on a closed loop and on a sampled run (chip.sample_ps),
the stats file, the transmit capture and the report's scheduler counts must be byte-identical
between the two; --vcd must not change the stats either. The counts must also be sane: at least
one activation per packet that reached the dispatcher, and no more notifications than
activations plus the packets (a notification wakes at least one process or is replaced)."""
import argparse
import filecmp
import glob
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, check, main, run  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()

SCHED = re.compile(r"scheduler\s+(\d+) activations, (\d+) notifications")


def counts(stdout, name):
    m = SCHED.search(stdout)
    check(m is not None, f"{name}: no scheduler line in the report")
    return int(m.group(1)), int(m.group(2))


def compare(name, feed, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        out = {}
        for mode, flags in (("ahead", []), ("lockstep", ["--lockstep"]),
                            ("vcd", ["--vcd", os.path.join(tmp, "w.vcd")])):
            tx = os.path.join(tmp, f"{mode}.pcap")
            rc, stdout, stderr, st = run(args.sppsim, list(feed) + list(extra) + flags +
                                         ["--tx-pcap", tx], expect_rc=None)
            check(st is not None, f"{name} ({mode}): exit {rc}, no stats: {stderr.strip()}")
            out[mode] = (st["_raw"], tx, counts(stdout, name), st, rc, stderr)
        for mode in ("lockstep", "vcd"):
            check(out[mode][4:] == out["ahead"][4:],
                  f"{name}: exit status or stderr differs between the default run and {mode}")
            check(out[mode][0] == out["ahead"][0],
                  f"{name}: the stats file differs between the default run and {mode}")
            check(filecmp.cmp(out[mode][1], out["ahead"][1], shallow=False),
                  f"{name}: the transmit capture differs between the default run and {mode}")
        check(out["lockstep"][2] == out["ahead"][2],
              f"{name}: scheduler counts {out['ahead'][2]} by default, {out['lockstep'][2]} "
              f"in lockstep")
        check(os.path.getsize(os.path.join(tmp, "w.vcd")) > 0, f"{name}: empty VCD")
        act, notif = out["ahead"][2]
        st = out["ahead"][3]
        processed = st["packets"]["processed"]
        check(act >= processed, f"{name}: {act} activations for {processed} packets processed")
        check(notif <= act + st["packets"]["in"],
              f"{name}: {notif} notifications, more than {act} activations + packets in")
        return act


def body():
    n = 0
    for trace in sorted(glob.glob(os.path.join(ROOT, "traces", "*.pcap*"))):
        base = os.path.basename(trace)
        if base == "unsupported_link.pcap":
            continue
        compare(base, ["--trace", trace])
        n += 1
    compare("closed loop", ["--generate", os.path.join(ROOT, "configs", "generate",
                                                         "closed_loop.json")])
    compare("sampled", ["--trace", os.path.join(ROOT, "traces", "tcp_loss.pcap")],
            ["--set", "chip.sample_ps=2000000"])
    print(f"lockstep: {n} traces, a closed loop and a sampled run identical in both modes")


main(body)

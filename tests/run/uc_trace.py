#!/usr/bin/env python3
"""The instruction trace (--uc-trace): per flow, it holds every instruction the flow's events
retired, in time order, with the source line each came from; per core, only that core's; and a
bad core or a missing selector is a one-line error."""
import argparse
import json
import os
import re
import tempfile

from common import check, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()
LINE = re.compile(r"^(\d+) c(\d+)\.(\d+) flow (\d+) pc (\d+) (\S+):(\d+): (.+?)(  ; r(\d+) = 0x[0-9a-f]+)?$")


def body():
    with tempfile.TemporaryDirectory() as tmp:
        tr, ev = os.path.join(tmp, "trace.txt"), os.path.join(tmp, "events.jsonl")
        common = ["--quiet", "--trace", "traces/default.pcap", "--event-log", ev]
        run(args.sppsim, common + ["--uc-trace", tr, "--uc-trace-flow", "3"])
        with open(tr) as f:
            lines = f.read().splitlines()
        with open(ev) as f:
            events = [json.loads(x) for x in f]
        mine = [e for e in events if e["flow"] == 3]
        check(lines and len(lines) == sum(e["insns"] for e in mine),
              f"flow trace: {len(lines)} lines, the flow's events retired "
              f"{sum(e['insns'] for e in mine)} instructions")
        times = []
        for ln in lines:
            m = LINE.match(ln)
            check(m, f"flow trace: unexpected line {ln!r}")
            check(m.group(4) == "3" and m.group(6).endswith("tcp.uc"), f"flow trace: {ln!r}")
            times.append(int(m.group(1)))
        check(times == sorted(times), "flow trace: not in time order")

        run(args.sppsim, common + ["--uc-trace", tr, "--uc-trace-core", "0.1"])
        with open(tr) as f:
            lines = f.read().splitlines()
        on_core = [e for e in events if e["cluster"] == 0 and e["core"] == 1]
        check(len(lines) == sum(e["insns"] for e in on_core) and
              all(" c0.1 " in ln for ln in lines), f"core trace: {len(lines)} lines")

        _, _, err, _ = run(args.sppsim, common + ["--uc-trace", tr, "--uc-trace-core", "5.0"],
                           expect_rc=1)
        check("no such core" in err and err.count("\n") == 1, f"bad core: {err!r}")
        _, _, err, _ = run(args.sppsim, common + ["--uc-trace", tr], expect_rc=1)
        check("--uc-trace needs one of" in err, f"no selector: {err!r}")


main(body)

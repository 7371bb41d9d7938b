#!/usr/bin/env python3
"""scripts/plot run turns a run's stats JSON into a PNG of its four panels, and refuses a file
that is not a stats JSON with a one-line error."""
import argparse
import os
import subprocess
import tempfile

from common import ROOT, check, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()
PLOT = os.path.join(ROOT, "scripts", "plot")


def body():
    with tempfile.TemporaryDirectory() as tmp:
        stats, png = os.path.join(tmp, "s.json"), os.path.join(tmp, "run.png")
        _, _, _, s = run(args.sppsim, ["--quiet", "--trace", "traces/default.pcap"])
        with open(stats, "w") as f:
            f.write(s["_raw"])
        p = subprocess.run([PLOT, "run", stats, "-o", png], capture_output=True, text=True,
                           timeout=120)
        check(p.returncode == 0, f"plot run: exit {p.returncode}: {p.stderr.strip()}")
        with open(png, "rb") as f:
            data = f.read()
        check(data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, f"plot run: {len(data)} bytes")
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"x": 1}')
        p = subprocess.run([PLOT, "run", bad, "-o", png], capture_output=True, text=True,
                           timeout=120)
        check(p.returncode == 1 and p.stderr.count("\n") == 1 and "not an sppsim stats file"
              in p.stderr, f"plot run on a bad file: {p.returncode} {p.stderr!r}")


main(body)

#!/usr/bin/env python3
"""Whole-run test of what the host receives: runs sppsim on one trace with --deliver-dir and
compares every connection's delivered byte stream with the independent reference
(reassemble.py): the same set of files, the same bytes. Also checks the stats JSON: packets in
= processed + sum(dropped), and delivered.bytes = the sum of the expected streams' lengths.
A truncated trace (the file ends inside a record) is expected to exit 2, any other 0."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, Failure, check, main, stream_problems  # noqa: E402
import reassemble  # noqa: E402
from reassemble import Reassembler  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--trace", required=True, help="file name under the traces directory")
ap.add_argument("--traces", default=os.path.join(ROOT, "traces"),
                help="traces directory (default: traces/ of this source tree)")
ap.add_argument("--no-verify", action="store_true",
                help="trust checksums (captures taken with checksum offload): both the chip "
                     "(ipu.verify_checksums=false) and the reference")
ap.add_argument("--sim-arg", action="append", default=[],
                help="an extra sppsim argument (repeatable), e.g. --sim-arg=--saturate")
args = ap.parse_args()


def body():
    name = args.trace
    trace = os.path.abspath(os.path.join(args.traces, name))
    check(os.path.exists(trace), f"{name}: no such trace {trace}")
    if args.no_verify:
        reassemble.VERIFY_CHECKSUMS = False
    ref = Reassembler(trace)
    want = ref.streams()
    rc_want = 2 if ref.truncated else 0

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "deliver")
        stats_path = os.path.join(tmp, "stats.json")
        cmd = [args.sppsim, "--quiet", "--no-progress", "--stats", stats_path,
               "--trace", trace, "--deliver-dir", out]
        if args.no_verify:
            cmd += ["--set", "ipu.verify_checksums=false"]
        cmd += args.sim_arg
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        check(p.returncode == rc_want,
              f"{name}: {' '.join(cmd)}: exit {p.returncode}, expected {rc_want}\n"
              f"stderr: {p.stderr.strip()}")
        check(os.path.exists(stats_path) and os.path.getsize(stats_path),
              f"{name}: no stats written")
        with open(stats_path) as f:
            stats = json.load(f)
        got = {}
        if os.path.isdir(out):
            for fn in sorted(os.listdir(out)):
                with open(os.path.join(out, fn), "rb") as f:
                    got[fn] = f.read()

    problems = stream_problems(want, got)

    pk = stats["packets"]
    dropped = sum(pk["dropped"].values())
    if pk["in"] != pk["processed"] + dropped:
        problems.append(f"  stats: packets in {pk['in']} != processed {pk['processed']} "
                        f"+ dropped {dropped}")
    total = sum(len(v) for v in want.values())
    delivered = stats["delivered"]["bytes"]
    if delivered != total:
        problems.append(f"  stats: delivered.bytes {delivered}, expected {total}")
    check(not problems, f"{name}: {len(problems)} problem(s) "
          f"({len(want)} connections expected, {len(got)} files delivered):\n" + "\n".join(problems))


main(body)

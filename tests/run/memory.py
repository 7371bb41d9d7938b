#!/usr/bin/env python3
"""Memory does not grow with trace length: the peak RSS of a run over a 15x longer trace (same
flows, same frame sizes) stays within a small margin of the short one's.

The units' per-flow tables are allocated once, for dispatcher.flows proxies, and the host only
backs the pages a run touches: a run that cycles through more proxies (the longer trace opens
more connections over time) touches more of them, up to the tables' fixed size. So both runs
get a table just larger than the 1000 flows open at once, which either run fills."""
import argparse
import os
import subprocess
import tempfile

from common import ROOT, check, main

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def peak_rss_kib(cmd):
    # /usr/bin/time measures the program alone (a child forked from this Python would carry
    # Python's own peak across the exec into its ru_maxrss)
    with tempfile.NamedTemporaryFile("r") as out:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        check(p.returncode == 0, f"{' '.join(cmd)} failed: {p.stderr}")
        return int(out.read().split()[-1])


def body():
    gen = os.path.join(ROOT, "scripts", "gen-traces")
    with tempfile.TemporaryDirectory() as tmp:
        rss = {}
        for n in (20000, 300000):
            trace = os.path.join(tmp, f"bulk{n}.pcap")
            subprocess.run([gen, "--bulk", trace, "--packets", str(n), "--flows", "1000"],
                           check=True, capture_output=True)
            rss[n] = peak_rss_kib([args.sppsim, "--trace", trace, "--quiet", "--no-progress",
                                   "--saturate", "--set", "dispatcher.flows=1200"])
            os.unlink(trace)
        print(f"peak RSS: {rss[20000]} KiB for 20k packets, {rss[300000]} KiB for 300k packets")
        check(rss[300000] <= rss[20000] + 3072,
              f"peak RSS grew from {rss[20000]} KiB to {rss[300000]} KiB with a 15x longer trace")


main(body)

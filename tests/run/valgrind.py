#!/usr/bin/env python3
"""valgrind memcheck over the GoogleTest unit binaries and a few whole runs of sppsim: any
memory error or any definite or indirect leak fails the test (valgrind's exit status 99).

The whole runs cover the normal path with every output file switched on, a truncated capture
(exit 2), a core fault that stops the run (exit 3) and a deadlock report (exit 3). Skipped,
with a message, when valgrind is not installed. scripts/test --valgrind runs the whole suite
under valgrind instead (tests/run/common.py reads SPPSIM_VALGRIND)."""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

from common import ROOT

SKIP = 77  # ctest's SKIP_RETURN_CODE for this test
ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--tests-dir", required=True, help="the build's tests/ (the gtest binaries)")
ap.add_argument("--jobs", type=int, default=2)
args = ap.parse_args()

SUPP = os.path.join(ROOT, "tests", "valgrind.supp")
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            f"--suppressions={SUPP}"]


def memcheck(name, argv, want_rc):
    p = subprocess.run(VALGRIND + argv, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if p.returncode == 99 or p.returncode != want_rc:
        # valgrind's own report: the lines it prefixes with ==pid==
        report = "\n".join(line for line in p.stderr.splitlines() if line.startswith("==")) \
            or p.stderr[-3000:]
        return f"FAIL {name}: exit {p.returncode} (expected {want_rc})\n{report[:6000]}"
    return None


def main():
    if not shutil.which("valgrind"):
        print("valgrind is not installed (scripts/setup installs it): skipped")
        sys.exit(SKIP)
    gtests = sorted(os.path.join(args.tests_dir, f) for f in os.listdir(args.tests_dir)
                    if f.startswith("test_") and os.access(os.path.join(args.tests_dir, f),
                                                           os.X_OK)
                    and os.path.isfile(os.path.join(args.tests_dir, f)))
    with tempfile.TemporaryDirectory() as tmp:
        out = lambda n: os.path.join(tmp, n)  # noqa: E731
        os.mkdir(out("deliver"))
        with open(out("host.txt"), "w") as f:  # an active open to the remote's server
            f.write("5 connect 10.0.0.1:5000 10.0.1.1:8080\n5 send #1 30000\n300 close #1\n")
        q = [args.sppsim, "--quiet", "--no-progress"]
        jobs = [(os.path.basename(g), [g, "--gtest_brief=1"], 0) for g in gtests]
        jobs += [
            ("sppsim default.pcap (every output)",
             q + ["--trace", "traces/default.pcap", "--stats", out("s.json"),
                      "--tx-pcap", out("tx.pcap"), "--deliver-dir", out("deliver"),
                      "--event-log", out("ev.jsonl"), "--flow-log", out("flows.jsonl"),
                      "--timeline", out("tl.json"), "--html", out("r.html"),
                      "--vcd", out("w.vcd"), "--history", "5"], 0),
            ("sppsim tcp_many.pcap (small tables)",
             q + ["--trace", "traces/tcp_many.pcap", "--set", "dispatcher.flows=8",
                  "--set", "smc.pages=4", "--set", "tx.depth=1"], 0),
            ("sppsim --generate (closed loop, send side, host script)",
             q + ["--generate", "configs/generate/closed_loop.json", "--set", "remote.clients=4",
                  "--set", "remote.role=both", "--host-script", out("host.txt"),
                  "--tx-pcap", out("gtx.pcap"), "--gen-pcap", out("gin.pcap")], 0),
            ("sppsim truncated.pcap", q + ["--trace", "traces/truncated.pcap"], 2),
            ("sppsim faulty.uc", q + ["--trace", "traces/tcp_basic.pcap",
                                      "--microcode", "tests/run/faulty.uc"], 3),
            ("sppsim deadlock.uc", q + ["--trace", "traces/tcp_basic.pcap",
                                        "--microcode", "tests/run/deadlock.uc"], 3),
        ]
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
            results = list(ex.map(lambda j: memcheck(*j), jobs))
    failed = [r for r in results if r]
    for r in failed:
        print(r)
    if failed:
        sys.exit(1)
    print(f"ok: {len(jobs)} programs under valgrind memcheck, no error, no leak")


main()

#!/usr/bin/env python3
"""Bad input of every kind gets one line on stderr naming the input and what is wrong, a
non-zero exit, and no crash (the ASan build runs this too)."""
import argparse
import os
import subprocess
import tempfile

from common import ROOT, Failure, check, main

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def expect_error(argv, rc, *needles):
    p = subprocess.run([args.sppsim, "--no-progress", "--quiet"] + argv, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    lines = p.stderr.splitlines()
    what = " ".join(argv)
    check(p.returncode == rc, f"[{what}] exit {p.returncode}, expected {rc}; stderr: {p.stderr!r}")
    check(len(lines) == 1, f"[{what}] expected one line on stderr, got {len(lines)}: {p.stderr!r}")
    check(lines[0].startswith("sppsim: "), f"[{what}] stderr line does not start with 'sppsim: ': {lines[0]!r}")
    for n in needles:
        check(n in lines[0], f"[{what}] stderr {lines[0]!r} does not mention {n!r}")


def body():
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.pcap")
        open(empty, "wb").close()
        garbage = os.path.join(tmp, "garbage.pcap")
        with open(garbage, "wb") as f:
            f.write(bytes((i * 37 + 11) % 256 for i in range(4096)))
        short_hdr = os.path.join(tmp, "short.pcap")
        with open(short_hdr, "wb") as f:
            f.write(bytes.fromhex("d4c3b2a1020004"))
        bad_json = os.path.join(tmp, "bad.json")
        with open(bad_json, "w") as f:
            f.write('{"ipu": {"cycles_per_msg": 30,}')
        unknown_key = os.path.join(tmp, "unknown.json")
        with open(unknown_key, "w") as f:
            f.write('{"ipu": {"cycles_per_mesg": 30}}')
        unknown_unit = os.path.join(tmp, "unit.json")
        with open(unknown_unit, "w") as f:
            f.write('{"ipx": {"cycles_per_msg": 30}}')
        range_json = os.path.join(tmp, "range.json")
        with open(range_json, "w") as f:
            f.write('{"scratchpad": {"capacity": 12}}')
        trace = "traces/tcp_basic.pcap"

        expect_error(["--trace", "no/such/file.pcap"], 1, "no/such/file.pcap", "No such file")
        expect_error(["--trace", tmp], 1, tmp, "directory")
        expect_error(["--trace", empty], 1, empty, "empty file")
        expect_error(["--trace", garbage], 1, garbage, "not a pcap or pcapng file")
        expect_error(["--trace", short_hdr], 1, short_hdr)
        expect_error(["--trace", "traces/truncated.pcap"], 2, "traces/truncated.pcap", "truncated")
        expect_error(["--trace", "traces/unsupported_link.pcap"], 1, "traces/unsupported_link.pcap",
                     "unsupported link type")
        expect_error([], 1, "--trace")
        expect_error(["--trace", trace, "--bogus"], 1, "bogus")
        expect_error(["--trace", trace, "--rate", "fast"], 1, "--rate", "fast")
        expect_error(["--trace", trace, "--rate", "-5G"], 1, "--rate")
        expect_error(["--trace", trace, "--rate", "1T"], 1, "--rate")
        expect_error(["--trace", trace, "--rate", "10G", "--saturate"], 1, "--saturate")
        expect_error(["--trace", trace, "--set", "ipu.cycles_per_msg=-1"], 1, "ipu.cycles_per_msg", "-1")
        expect_error(["--trace", trace, "--set", "ipu.cycles_per_msg=abc"], 1, "ipu.cycles_per_msg", "abc")
        expect_error(["--trace", trace, "--set", "ipu.in_depth=0"], 1, "ipu.in_depth", "out of range")
        expect_error(["--trace", trace, "--set", "ipu.in_depth=99999999999999999999"], 1, "ipu.in_depth")
        expect_error(["--trace", trace, "--set", "ipu.verify_checksums=maybe"], 1, "ipu.verify_checksums")
        expect_error(["--trace", trace, "--set", "source.mode=warp"], 1, "source.mode", "warp")
        expect_error(["--trace", trace, "--set", "nounit.key=1"], 1, "nounit")
        expect_error(["--trace", trace, "--set", "ipu.nokey=1"], 1, "ipu", "nokey")
        expect_error(["--trace", trace, "--set", "justtext"], 1, "justtext")
        expect_error(["--trace", trace, "--set", "scratchpad.cell=8192", "--set",
                      "scratchpad.capacity=4096"], 1, "scratchpad.cell")
        expect_error(["--trace", trace, "--config", os.path.join(tmp, "missing.json")], 1, "missing.json")
        expect_error(["--trace", trace, "--config", bad_json], 1, bad_json)
        expect_error(["--trace", trace, "--config", unknown_key], 1, unknown_key, "cycles_per_mesg")
        expect_error(["--trace", trace, "--config", unknown_unit], 1, unknown_unit, "ipx")
        expect_error(["--trace", trace, "--config", range_json], 1, range_json, "scratchpad.capacity")
        expect_error(["--trace", trace, "--stats", os.path.join(tmp, "no", "dir", "s.json")], 1, "s.json")

        # the stateful path: microcode, routes, outputs
        bad_uc = os.path.join(tmp, "bad.uc")
        with open(bad_uc, "w") as f:
            f.write(".protocol tcp\n        ad r1, 1\n")
        corrupt_img = os.path.join(tmp, "corrupt.img")
        with open(corrupt_img, "wb") as f:
            f.write(b"SPPUCIMG" + bytes(range(40)))
        expect_error(["--trace", trace, "--microcode", os.path.join(tmp, "none.uc")], 1,
                     "none.uc", "cannot open the microcode")
        expect_error(["--trace", trace, "--microcode", bad_uc], 1, f"{bad_uc}:2:9:", "ad")
        expect_error(["--trace", trace, "--microcode", corrupt_img], 1, "corrupt.img")
        expect_error(["--trace", trace, "--set", "route.tcp_data=4"], 1, "route.tcp_data",
                     "chip.clusters = 2")
        expect_error(["--trace", trace, "--set", "chip.clusters=9"], 1, "chip.clusters")
        expect_error(["--trace", trace, "--set", "dispatcher.policy=random"], 1,
                     "dispatcher.policy", "random")
        expect_error(["--trace", trace, "--set", "dispatcher.flows=0"], 1, "dispatcher.flows")
        expect_error(["--trace", trace, "--set", "smc.buf_min=2000000", "--set",
                      "smc.buf_max=1000000"], 1, "smc.buf_min", "smc.buf_max")
        expect_error(["--trace", trace, "--set", "chip.on_fault=ignore"], 1, "chip.on_fault")
        expect_error(["--trace", trace, "--tx-pcap", os.path.join(tmp, "no", "tx.pcap")], 1,
                     "tx.pcap", "transmit capture")
        blocker = os.path.join(tmp, "file")
        open(blocker, "w").close()
        expect_error(["--trace", trace, "--deliver-dir", os.path.join(blocker, "d")], 1,
                     "deliver directory")
        expect_error(["--trace", trace, "--event-log", os.path.join(tmp, "no", "e.jsonl")], 1,
                     "e.jsonl", "event log")
        expect_error(["--trace", trace, "--uc-trace-flow", "3"], 1, "--uc-trace")


main(body)

#!/usr/bin/env python3
"""Bad input of every kind gets one line on stderr naming the input and what is wrong, a
non-zero exit, and no crash (the ASan build runs this too)."""
import argparse
import json
import os
import struct
import subprocess
import tempfile

from common import ROOT, Failure, check, conservation, main, run, wrap

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def expect_error(argv, rc, *needles):
    p = subprocess.run(wrap([args.sppsim, "--no-progress", "--quiet"] + argv), cwd=ROOT,
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

        # closed loop and the host script (issue 5)
        gen = os.path.join(tmp, "gen.json")
        with open(gen, "w") as f:
            f.write('{"remote": {"clients": 2}}')
        expect_error(["--generate", os.path.join(tmp, "nogen.json")], 1, "nogen.json")
        expect_error(["--generate", gen, "--trace", trace], 1, "--generate", "--trace")
        expect_error(["--trace", trace, "--gen-pcap", os.path.join(tmp, "g.pcap")], 1,
                     "--gen-pcap", "--generate")
        expect_error(["--generate", gen, "--saturate"], 1, "--saturate")
        expect_error(["--generate", gen, "--set", "remote.loss_ppm=2000000"], 1,
                     "remote.loss_ppm")
        expect_error(["--generate", gen, "--set", "remote.clients=0"], 1, "remote.clients")
        expect_error(["--generate", gen, "--gen-pcap", os.path.join(tmp, "no", "dir.pcap")], 1,
                     "dir.pcap")
        bad_script = os.path.join(tmp, "host.txt")
        with open(bad_script, "w") as f:
            f.write("# a script\n10 connect 10.0.0.1:80 10.0.1.1:5000\n20 sned #1 100\n")
        expect_error(["--generate", gen, "--host-script", bad_script], 1, f"{bad_script}:3:")
        expect_error(["--trace", trace, "--host-script", os.path.join(tmp, "none.txt")], 1,
                     "none.txt")
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
        expect_error(["--trace", trace, "--vcd", os.path.join(tmp, "no", "w.vcd")], 1,
                     "w.vcd", "waveform file")
        blocker = os.path.join(tmp, "file")
        open(blocker, "w").close()
        expect_error(["--trace", trace, "--deliver-dir", os.path.join(blocker, "d")], 1,
                     "deliver directory")
        expect_error(["--trace", trace, "--event-log", os.path.join(tmp, "no", "e.jsonl")], 1,
                     "e.jsonl", "event log")
        expect_error(["--trace", trace, "--uc-trace-flow", "3"], 1, "--uc-trace")

    damaged_captures()


def records(path):
    """(global header, [(record header, data)]) of a little-endian pcap file."""
    with open(os.path.join(ROOT, path), "rb") as f:
        raw = f.read()
    out, off = [], 24
    while off < len(raw):
        incl = struct.unpack_from("<I", raw, off + 8)[0]
        out.append((bytearray(raw[off:off + 16]), raw[off + 16:off + 16 + incl]))
        off += 16 + incl
    return raw[:24], out


def write(path, head, recs, tail=b""):
    with open(path, "wb") as f:
        f.write(head)
        for h, d in recs:
            f.write(bytes(h) + d)
        f.write(tail)


def damaged_captures():
    """Captures damaged in the ways real ones are: simulated as far as they are valid, with one
    line on stderr and a count in the stats, never a crash."""
    src = "traces/tcp_basic.pcap"
    head, recs = records(src)
    _, _, _, whole = run(args.sppsim, ["--quiet", "--trace", src])
    with tempfile.TemporaryDirectory() as tmp:
        # cut inside record 5's data, and inside its 16-byte header: exit 2, the 5 complete
        # records before it simulated and reported
        for what, tail in (("data", bytes(recs[5][0]) + recs[5][1][:30]),
                           ("header", bytes(recs[5][0][:9]))):
            cut = os.path.join(tmp, f"cut_{what}.pcap")
            write(cut, head, recs[:5], tail)
            _, _, err, s = run(args.sppsim, ["--quiet", "--trace", cut], expect_rc=2)
            lines = err.splitlines()
            check(len(lines) == 1 and cut in lines[0] and "truncated" in lines[0] and
                  "5 complete records" in lines[0], f"cut in the {what}: stderr {err!r}")
            check(s["packets"]["in"] == 5 and s["input"]["truncated"] is True,
                  f"cut in the {what}: packets in {s['packets']['in']}, truncated "
                  f"{s['input']['truncated']}")
            conservation(s, f"cut in the {what}")

        # records shorter than the frames they held (snaplen): dropped as capture_truncated
        with open(os.path.join(ROOT, "traces", "expected.json")) as f:
            want = json.load(f)["snaplen.pcap"]["dropped"]["capture_truncated"]
        _, _, err, s = run(args.sppsim, ["--quiet", "--trace", "traces/snaplen.pcap"])
        check(err == "", f"snaplen: stderr {err!r}")
        check(s["packets"]["dropped"]["capture_truncated"] == want > 0,
              f"snaplen: capture_truncated {s['packets']['dropped']['capture_truncated']}, "
              f"expected {want}")
        check(s["units"]["ipu"]["checks"].get("capture_truncated", want) == want,
              f"snaplen: ipu checks {s['units']['ipu']['checks']}")
        conservation(s, "snaplen")

        # timestamps going backwards: record 6 stamped as record 4 (one record earlier than
        # the one before), then every record in reverse order (all but the first)
        back = [(bytearray(h), d) for h, d in recs]
        back[6][0][0:8] = recs[4][0][0:8]
        rev = [(bytearray(h), d) for h, d in recs]
        for i, (h, _) in enumerate(rev):
            h[0:8] = recs[len(recs) - 1 - i][0][0:8]
        for name, rs, n in (("one", back, 1), ("reversed", rev, len(recs) - 1)):
            path = os.path.join(tmp, f"back_{name}.pcap")
            write(path, head, rs)
            _, _, err, s = run(args.sppsim, ["--quiet", "--trace", path])
            lines = err.splitlines()
            check(len(lines) == 1 and lines[0].startswith("sppsim: warning: ") and path in
                  lines[0] and f" {n} records have a timestamp earlier" in lines[0],
                  f"backwards ({name}): stderr {err!r}")
            check(s["input"]["timestamps_backwards"] == n,
                  f"backwards ({name}): counted {s['input']['timestamps_backwards']}, "
                  f"expected {n}")
            check(s["packets"]["in"] == whole["packets"]["in"] and
                  s["packets"]["dropped"] == whole["packets"]["dropped"],
                  f"backwards ({name}): packets {s['packets']}, in order {whole['packets']}")
            conservation(s, f"backwards ({name})")


main(body)

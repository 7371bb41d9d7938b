#!/usr/bin/env python3
"""Whole-run behaviour of replay modes, timing and back-pressure, with exact values where the
model is deterministic and the conservation invariants everywhere."""
import argparse
import json
import os
import struct
import tempfile

from common import ROOT, check, conservation, main, pcap_records, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def syn_frame(payload=b""):
    src, dst = bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 0, 5 << 4, 0x02, 65535, 0, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + tcp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i * 10, len(fr), len(fr)))
            f.write(fr)


def line_rate():
    """--rate R: frame i's last bit arrives after the bits of frames 0..i, each with 20 bytes of
    preamble and gap, at R."""
    trace = "traces/tcp_basic.pcap"
    recs = pcap_records(os.path.join(ROOT, trace))
    for rate, mbps in [("1G", 1000), ("100G", 100000), ("2.5G", 2500)]:
        _, _, _, s = run(args.sppsim, ["--quiet", "--trace", trace, "--rate", rate])
        bits = sum((orig + 20) * 8 for _, _, orig in recs)
        want = bits * 10**6 // mbps
        got = s["units"]["source"]["last_arrival_ps"]
        check(got == want, f"--rate {rate}: last arrival {got} ps, expected {want}")
        check(s["config"]["source"]["mode"] == "rate" and s["config"]["source"]["rate_mbps"] == mbps,
              f"--rate {rate}: config not recorded")
        conservation(s, f"rate {rate}")


def timestamps():
    trace = "traces/tcp_basic.pcap"
    recs = pcap_records(os.path.join(ROOT, trace))
    _, _, _, s = run(args.sppsim, ["--quiet", "--trace", trace])
    want = (recs[-1][0] - recs[0][0]) * 1000
    check(s["units"]["source"]["last_arrival_ps"] == want,
          f"timestamps: last arrival {s['units']['source']['last_arrival_ps']}, expected {want}")


def overflow_and_saturate():
    """A slow IPU behind a small FIFO drops at the capture's pace, and never in saturate mode."""
    slow = ["--set", "ipu.cycles_per_msg=200000", "--set", "chip.ingress_depth=4"]
    trace = "traces/default.pcap"
    _, _, _, s = run(args.sppsim, ["--quiet", "--trace", trace] + slow)
    d = s["packets"]["dropped"]["ingress_overflow"]
    check(d > 0, "a 200 us/packet IPU behind a 4-deep FIFO dropped nothing")
    check(s["units"]["ingress_fifo"]["stall_full"] == d, "every overflow drop is a refused push")
    check(s["units"]["ingress_fifo"]["max_depth"] == 4, "FIFO never filled")
    conservation(s, "overflow")
    _, _, _, t = run(args.sppsim, ["--quiet", "--trace", trace, "--saturate"] + slow)
    # the IPU's own reasons (the dispatcher's depend on which packets got through, e.g. a lost
    # SYN makes its flow's later packets no_flow)
    ipu_reasons = ("capture_truncated", "malformed", "bad_checksum", "ip_fragment", "oversize")
    check(sum(t["packets"]["dropped"][k] for k in ipu_reasons) ==
          sum(s["packets"]["dropped"][k] for k in ipu_reasons),
          "saturate mode dropped at the ingress")
    check(t["packets"]["dropped"]["ingress_overflow"] == 0, "saturate mode dropped at the ingress")
    check(t["units"]["ipu"]["frames"] == t["packets"]["in"], "saturate: IPU did not see every frame")
    # back-to-back at saturation: the IPU is busy all the time from the first frame to the last
    ipu = t["units"]["ipu"]
    check(ipu["busy_cycles"] == 200000 * t["packets"]["in"] + sum(
        -(-r[1] * 16 // 1000) for r in pcap_records(os.path.join(ROOT, trace))),
          "saturate: busy cycles are not the sum of the frames' costs")
    conservation(t, "saturate")


def scratchpad_backpressure():
    """Frames held long downstream fill a small scratchpad: the IPU stalls, the FIFO fills, and
    frames are dropped at the ingress with their reason; nothing is lost uncounted."""
    _, _, _, s = run(args.sppsim, ["--quiet", "--trace", "traces/default.pcap",
                                   "--set", "scratchpad.capacity=4096",
                                   "--set", "chip.event_latency_ps=200000000",
                                   "--set", "chip.ingress_depth=8"])
    ipu = s["units"]["ipu"]
    sp = s["units"]["scratchpad"]
    check(ipu["stall_scratchpad_full"] > 0, "no scratchpad stall")
    check(sp["alloc_fail"] > 0, "no allocation refused")
    check(sp["cells_peak"] <= 64, f"peak {sp['cells_peak']} cells > 64")
    check(s["packets"]["dropped"]["ingress_overflow"] > 0, "no ingress drop behind a stalled IPU")
    conservation(s, "backpressure")


def config_file_roundtrip(tmp):
    """configs/default.json is the resolved default config, and a config file is equivalent to
    the same --set overrides."""
    _, out, _, _ = run(args.sppsim, ["--print-config"])
    with open(os.path.join(ROOT, "configs", "default.json")) as f:
        check(f.read() == out, "configs/default.json differs from `sppsim --print-config`")
    cfg = os.path.join(tmp, "c.json")
    with open(cfg, "w") as f:
        json.dump({"ipu": {"cycles_per_msg": 33, "verify_checksums": False}, "chip": {"event_depth": 7}}, f)
    base = ["--quiet", "--trace", "traces/bad_checksum.pcap"]
    _, _, _, a = run(args.sppsim, base + ["--config", cfg])
    _, _, _, b = run(args.sppsim, base + ["--set", "ipu.cycles_per_msg=33", "--set",
                                          "ipu.verify_checksums=false", "--set", "chip.event_depth=7"])
    check(a["_raw"] == b["_raw"], "--config and --set gave different results")
    check(a["packets"]["dropped"]["bad_checksum"] == 0, "verify_checksums=false still dropped")
    # docs/config.md carries the parameter tables exactly as the binary declares them
    _, table, _, _ = run(args.sppsim, ["--list-params"])
    with open(os.path.join(ROOT, "docs", "config.md")) as f:
        check(table in f.read(), "docs/config.md is out of date: regenerate with scripts/gen-docs")


def body():
    with tempfile.TemporaryDirectory() as tmp:
        line_rate()
        timestamps()
        overflow_and_saturate()
        scratchpad_backpressure()
        config_file_roundtrip(tmp)


main(body)

#!/usr/bin/env python3
"""Closed-loop runs (--generate, issue 5): the generator's remote clients talk to the chip's
microcode through a link with delay, loss and reordering, and the host application answers.

Checked, per scenario, independently of the simulator's own counters where it can be:
- every byte each client sent reached the chip's host exactly once and in order: the chip's
  delivered streams (--deliver-dir) equal the data pattern of docs/generator.md, recomputed
  here in Python from its definition (pat_key, pat_fill), byte for byte and length for length;
- every byte the chip's application sent reached the remote exactly once (the remote checks
  each byte it receives against the same pattern: verified == received == what the chip's
  host wrote, none corrupt);
- every connection completed, none failed or was reset; every request was answered;
- the conservation invariants (packets in = processed + dropped; scratchpad empty, pages held =
  pages of open flows: sppsim itself exits 3 otherwise);
- the same config twice gives byte-identical stats and captures;
- with loss, retransmissions happened (on both sides) and still nothing was lost or doubled.
"""
import argparse
import ipaddress
import json
import os
import struct
import tempfile

from common import ROOT, check, conservation, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--only", help="run one scenario by name")
ap.add_argument("--microcode", help="another TCP microcode than the bundled one")
args = ap.parse_args()

M64 = (1 << 64) - 1


def mix64(x):
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def pat_key(src, sport, dst, dport):
    """The pattern key of the stream src:sport sends to dst:dport (IPv4, TCP): the flow-key hash
    of docs/generator.md with the pattern's seed, over the key's 40 bytes before its qp."""
    raw = (ipaddress.IPv4Address(src).packed + bytes(12) + ipaddress.IPv4Address(dst).packed +
           bytes(12) + struct.pack("<HHBB2x", sport, dport, 4, 6))
    h = 0x7061747465726E31 ^ 0x9E3779B97F4A7C15
    for i in range(5):
        h = mix64(h ^ struct.unpack_from("<Q", raw, 8 * i)[0])
    return h


def pat_bytes(key, n):
    out = bytearray()
    for w in range((n + 7) // 8):
        z = (key + (w + 1) * 0x9E3779B97F4A7C15) & M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        out += struct.pack("<Q", z ^ (z >> 31))
    return bytes(out[:n])


def scenario(name, remote, host_app, sets=(), expect_retrans=False):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "gen.json")
        with open(cfg, "w") as f:
            json.dump({"remote": remote, "host_app": host_app}, f)
        outs = []
        for k in range(2):
            d = os.path.join(tmp, f"run{k}")
            os.mkdir(d)
            extra = ["--microcode", args.microcode] if args.microcode else []
            for s in sets:
                extra += ["--set", s]
            _, _, _, st = run(args.sppsim, ["--quiet", "--generate", cfg, "--deliver-dir",
                                            os.path.join(d, "deliver"), "--tx-pcap",
                                            os.path.join(d, "tx.pcap"), "--gen-pcap",
                                            os.path.join(d, "in.pcap")] + extra)
            outs.append((d, st))
        (d, st), (d2, st2) = outs
        conservation(st, name)
        for f in ("tx.pcap", "in.pcap"):
            with open(os.path.join(d, f), "rb") as a, open(os.path.join(d2, f), "rb") as b:
                check(a.read() == b.read(), f"{name}: {f} differs between two identical runs")
        strip = lambda s: {k: v for k, v in s.items() if k not in ("_raw", "tool")}
        check(strip(st) == strip(st2), f"{name}: the stats differ between two identical runs")
        cl = st["closed_loop"]
        clients = remote["clients"]
        reqs = remote.get("requests", 1)
        check(cl["conns_completed"] == clients and cl["conns_failed"] == 0 and
              cl["conns_reset"] == 0 and cl["conns_incomplete"] == 0,
              f"{name}: connections {clients}: completed {cl['conns_completed']}, failed "
              f"{cl['conns_failed']}, reset {cl['conns_reset']}, incomplete "
              f"{cl['conns_incomplete']}")
        check(cl["requests_completed"] == clients * reqs,
              f"{name}: {cl['requests_completed']} requests completed of {clients * reqs}")
        check(cl["bytes_corrupt"] == 0 and cl["bytes_verified"] == cl["bytes_received"],
              f"{name}: remote received {cl['bytes_received']}, verified {cl['bytes_verified']}, "
              f"corrupt {cl['bytes_corrupt']}")
        want_resp = clients * reqs * remote.get("resp_bytes", 0)
        check(cl["bytes_received"] == want_resp,
              f"{name}: the remote received {cl['bytes_received']} bytes of responses, "
              f"expected {want_resp}")
        check(st["units"]["host_app"]["bytes_written"] == want_resp,
              f"{name}: the chip's host wrote {st['units']['host_app']['bytes_written']}")
        # the chip's side, recomputed here: each client's stream, exactly once, in order
        dl = os.path.join(d, "deliver")
        files = sorted(os.listdir(dl))
        check(len(files) == clients, f"{name}: {len(files)} delivered streams, expected {clients}")
        per = reqs * remote["req_bytes"]
        for fn in files:
            ra, rp = fn.split("-")[0].rsplit(".", 1)
            la, lp = fn.split("-")[1].rsplit(".", 1)
            with open(os.path.join(dl, fn), "rb") as f:
                got = f.read()
            want = pat_bytes(pat_key(ra, int(rp), la, int(lp)), per)
            check(len(got) == per, f"{name}: {fn}: {len(got)} bytes delivered, expected {per}")
            first = next((i for i in range(per) if got[i] != want[i]), None)
            check(first is None, f"{name}: {fn}: differs from the client's data at offset {first}")
        check(st["delivered"]["bytes"] == clients * per,
              f"{name}: delivered {st['delivered']['bytes']}, expected {clients * per}")
        retrans = cl["segs_retrans_fast"] + cl["segs_retrans_rto"]
        if expect_retrans:
            check(cl["lost_to_chip"] + cl["lost_from_chip"] > 0, f"{name}: the link lost nothing")
            check(retrans > 0, f"{name}: loss but the remote never retransmitted")
        else:
            check(retrans == 0 and cl["lost_to_chip"] == 0,
                  f"{name}: {retrans} retransmissions without loss")
        print(f"{name}: {clients} connections x {reqs} requests, {cl['bytes_sent']} bytes to the "
              f"chip, {cl['bytes_received']} back; lost {cl['lost_to_chip']}/"
              f"{cl['lost_from_chip']}, remote retransmitted {retrans}; "
              f"{st['sim_time_ps'] / 1e6:.1f} us simulated")


BASE = {"delay_us": 20, "rate_mbps": 10000, "chip_port": 80, "seed": 7}
SCENARIOS = {
    # bulk senders into a sink: the receive side alone
    "sink": lambda: scenario("sink", dict(BASE, clients=8, requests=1, req_bytes=150000,
                                          resp_bytes=0), {"app": "sink"}),
    "sink_loss5": lambda: scenario(
        "sink_loss5", dict(BASE, clients=8, requests=1, req_bytes=150000, resp_bytes=0,
                           loss_ppm=50000, reorder_ppm=20000, reorder_us=30),
        {"app": "sink"}, expect_retrans=True),
}


def body():
    names = [args.only] if args.only else list(SCENARIOS)
    for n in names:
        SCENARIOS[n]()


main(body)

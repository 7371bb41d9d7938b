#!/usr/bin/env python3
"""The chip's transmitted segments (--tx-pcap) are well-formed and acknowledge the right bytes.

For each trace: every frame of the transmit capture parses as Ethernet + IPv4/IPv6 + TCP with
correct checksums (checked here, independently of the chip) and, where tshark is installed,
tshark finds no malformed packet in it. Per connection (run/reassemble.py's reference), the
chip's acknowledgment numbers never go backwards, the first is the SYN-ACK's (for a flow picked
up mid-stream: not before the segment it was picked up at) and the last acknowledges exactly the
in-order bytes the remote sent, plus its FIN when the stream reached it (for a connection ended
by a RST: never more than those, as a delayed ACK may not have been due yet)."""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, check, main  # noqa: E402
import reassemble  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--trace", action="append", help="file under traces/ (repeatable; default: a set)")
args = ap.parse_args()

TRACES = ["tcp_basic.pcap", "tcp_loss.pcap", "tcp_reorder.pcap", "tcp_seqwrap.pcap",
          "tcp_pickup.pcap", "tcp_ipv6.pcap", "vlan.pcap", "linktypes_sll.pcap",
          "tcp_options.pcap", "rst.pcap", "default.pcap"]
LINKTYPE_ETHERNET = 1
SYN, ACK = 0x02, 0x10


def tx_segments(path):
    """(key, flags, seq, ack) per frame: key = (src ip, sport, dst ip, dport) as sent."""
    with open(path, "rb") as f:
        raw = f.read()
    out = []
    for i, (lt, frame, wire) in enumerate(reassemble.Records(raw)):
        check(lt == LINKTYPE_ETHERNET and len(frame) == wire,
              f"{path}: frame {i + 1}: link type {lt}, {len(frame)} of {wire} bytes")
        net = reassemble._network(lt, frame)
        check(net is not None, f"{path}: frame {i + 1}: no IP header")
        ver, pkt = net
        r = reassemble._tcp_of_ipv4(pkt) if ver == 4 else reassemble._tcp_of_ipv6(pkt)
        check(r is not None, f"{path}: frame {i + 1}: bad IP header or checksum")
        src, dst, seg, pseudo = r
        check(reassemble._csum_ok(pseudo, seg), f"{path}: frame {i + 1}: bad TCP checksum")
        sport, dport, seq, ack = struct.unpack_from("!HHII", seg, 0)
        out.append(((src, sport, dst, dport), seg[13], seq, ack))
    return out


def seq_after(a, b):
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


def check_trace(name, tshark):
    trace = os.path.join(ROOT, "traces", name)
    ref = reassemble.Reassembler(trace)
    with tempfile.TemporaryDirectory() as tmp:
        tx = os.path.join(tmp, "tx.pcap")
        p = subprocess.run([args.sppsim, "--quiet", "--no-progress", "--trace", trace,
                            "--tx-pcap", tx], cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
        check(p.returncode == 0, f"{name}: exit {p.returncode}: {p.stderr.strip()}")
        segs = tx_segments(tx)
        if tshark:
            t = subprocess.run([tshark, "-n", "-r", tx, "-Y", "_ws.malformed", "-T", "fields",
                                "-e", "frame.number"], capture_output=True, text=True,
                               timeout=300)
            check(t.returncode == 0, f"{name}: tshark failed: {t.stderr.strip()}")
            check(not t.stdout.strip(), f"{name}: tshark finds malformed frames: {t.stdout.split()}")
    check(segs, f"{name}: the chip sent nothing")
    tuples = {}
    for c in ref.conns:
        tuples.setdefault((c.local, c.remote), []).append(c)
    for (local, remote), conns in tuples.items():
        if len(conns) > 1:
            continue  # a reused 5-tuple: its segments cannot be told apart here
        c = conns[0]
        mine = [s for s in segs if s[0] == (local[0], local[1], remote[0], remote[1])]
        if not mine:
            continue  # e.g. a connection whose only packets were refused
        acks = [s[3] for s in mine if s[1] & ACK]
        if c.how == "syn":  # the SYN-ACK acknowledges the SYN
            check(acks[0] == c.base, f"{name}: {c.name}: first ACK {acks[0]}, expected {c.base}")
        else:  # picked up: never before the segment it was picked up at
            check(not seq_after(c.base, acks[0]),
                  f"{name}: {c.name}: first ACK {acks[0]} before the pickup point {c.base}")
        for a, b in zip(acks, acks[1:]):
            check(not seq_after(a, b), f"{name}: {c.name}: ACK went back from {a} to {b}")
        data = c.data()
        fin = 1 if c.fin_off is not None and c.fin_off == len(data) else 0
        want = (c.base + len(data) + fin) & 0xFFFFFFFF
        if c.reset:  # a RST may end it before a delayed ACK was due: never past the data
            check(not seq_after(acks[-1], want),
                  f"{name}: {c.name}: last ACK {acks[-1]} past the in-order data ({want})")
        else:
            check(acks[-1] == want, f"{name}: {c.name}: last ACK {acks[-1]}, expected {want} "
                                    f"({len(data)} bytes in order{', FIN' if fin else ''})")
        syn = [s for s in mine if s[1] & SYN]
        check(len(syn) <= 1 or c.how == "syn", f"{name}: {c.name}: SYN-ACK for a picked-up flow")


def window_follows_the_pool():
    """With a pool of 4 pages (8 KiB), the window the chip advertises never offers more than the
    pool can hold, and closes (0) when it is full."""
    trace = os.path.join(ROOT, "traces", "tcp_loss.pcap")
    with tempfile.TemporaryDirectory() as tmp:
        tx = os.path.join(tmp, "tx.pcap")
        p = subprocess.run([args.sppsim, "--quiet", "--no-progress", "--trace", trace,
                            "--tx-pcap", tx, "--set", "smc.pages=4"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, f"pool: exit {p.returncode}: {p.stderr.strip()}")
        with open(tx, "rb") as f:
            raw = f.read()
    wins = []
    for lt, frame, _ in reassemble.Records(raw):
        ver, pkt = reassemble._network(lt, frame)
        src, dst, seg, _ = (reassemble._tcp_of_ipv4 if ver == 4 else reassemble._tcp_of_ipv6)(pkt)
        if not seg[13] & SYN:
            wins.append(struct.unpack_from("!H", seg, 14)[0])
    check(wins and min(wins) == 0, f"pool: the window never closed: {sorted(set(wins))[:5]}")
    check(max(wins) << 7 <= 4 * 2048, f"pool: a window of {max(wins)} << 7 exceeds the pool")


def body():
    window_follows_the_pool()
    tshark = shutil.which("tshark")
    if not tshark:
        print("note: tshark is not installed: only this script's own checks ran")
    for name in args.trace or TRACES:
        check_trace(name, tshark)


main(body)

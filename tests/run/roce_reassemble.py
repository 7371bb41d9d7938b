#!/usr/bin/env python3
"""roce_reassemble.py -- independent reference for what a RoCEv2 responder places, per QP.

Usage: roce_reassemble.py TRACE [OUTDIR]
    Prints one line per QP (and write region) with its byte count and, with OUTDIR, writes each
    to OUTDIR/<file name>.
       roce_reassemble.py --self-check [--traces DIR]
    Reassembles the RoCE traces of scripts/gen-traces (ROCE_TRACES) and asserts that the result
    equals, file for file and byte for byte, what the generator meant to send (its roce_sent());
    also that the loss trace made the go-back-N rules work (duplicates and out-of-sequence
    packets seen). Exit 0 when all agree, 1 otherwise.

As a module: placements(path) -> {file name: bytes}; Placer(path) also exposes .stats.

Written from the packet formats (InfiniBand BTH/RETH/AETH/ImmDt, the RoCEv2 annex's ICRC),
sharing no code with the simulator or scripts/gen-traces (the capture reader and the link layer
come from reassemble.py). Rules:

Packets. IPv4 (IHL >= 5, lengths fit, header checksum right, not a fragment) or IPv6 (payload
length fits; hop-by-hop, routing, destination options walked; a fragment header ignores the
packet); UDP to port 4791 whose length fits, whose checksum is right when not 0 (0 is allowed
over IPv4 only); BTH (12 bytes) + ICRC (4) fit; transport version 0; the ICRC right (CRC-32 over
8 bytes of 0xff and the IP packet up to the ICRC with IPv4 ToS, TTL, header checksum / IPv6
traffic class, flow label, hop limit, the UDP checksum and BTH byte 4 as all ones; least
significant byte first); the opcode's headers and the pad count fit. Anything else is ignored
(the chip drops it). Only RC SEND and RDMA WRITE requests (opcodes 0x00-0x0b) are placed; ACKs
and NAKs are the responder's own packets (the reference for the chip's) and everything else is
not placed.

Queue pairs. A QP is (source address, destination address, destination QP): the requester's
packets to the responder's QP; the UDP source port is not part of it. Its expected PSN starts at
the PSN of its first request that begins a message (a FIRST or ONLY opcode; requests before
that are ignored). Go-back-N: a request is accepted only with exactly the expected PSN (then the
expected PSN advances by 1, modulo 2^24) and an opcode that may follow the previous one (after
a FIRST or MIDDLE, a MIDDLE or LAST of the same operation; otherwise a FIRST or ONLY); a PSN
behind the expected one (within 2^23) is a duplicate, one ahead a sequence error: both are
ignored, as are out-of-order opcodes.

Placement. SEND payloads are appended, in order, to the QP's receive stream: file
"<src>-<dst>.qp<QP, 6 hex digits>.send" (addresses in inet_ntop spelling), written for every QP
that had an accepted request, empty when it had no SEND. An RDMA WRITE places its payload at its
RETH's virtual address (FIRST/ONLY carry it; MIDDLE/LAST continue where the previous packet of
the message ended) in the region of its rkey: file "<QP name>.write.<rkey, 8 hex digits>",
whose byte 0 is the virtual address of the first accepted WRITE with that rkey on that QP;
bytes never written read 0; a later WRITE overwrites an earlier one. A WRITE below the region's
start, or a message whose length differs from its RETH's DMA length, is an error (exit 1).
"""

import importlib.machinery
import importlib.util
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reassemble import Records, _network  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PORT = 4791

# opcode -> (operation, position, has RETH, has ImmDt); position: F first, M middle, L last, O only
REQUESTS = {
    0x00: ("send", "F", False, False), 0x01: ("send", "M", False, False),
    0x02: ("send", "L", False, False), 0x03: ("send", "L", False, True),
    0x04: ("send", "O", False, False), 0x05: ("send", "O", False, True),
    0x06: ("write", "F", True, False), 0x07: ("write", "M", False, False),
    0x08: ("write", "L", False, False), 0x09: ("write", "L", False, True),
    0x0A: ("write", "O", True, False), 0x0B: ("write", "O", True, True),
}
ACK = 0x11


class PlacementError(Exception):
    pass


def _crc_table():
    t = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
        t.append(c)
    return t


CRC = _crc_table()


def crc32(data, c=0xFFFFFFFF):
    for x in data:
        c = CRC[(c ^ x) & 0xFF] ^ (c >> 8)
    return c


def _sum_ok(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def _udp_of(ver, p):
    """(src, dst, offset of the UDP header in p, UDP datagram) of a valid UDP packet, or None."""
    if ver == 4:
        if len(p) < 20 or p[0] >> 4 != 4:
            return None
        ihl, total = (p[0] & 15) * 4, struct.unpack_from("!H", p, 2)[0]
        if ihl < 20 or total < ihl or total > len(p) or not _sum_ok(p[:ihl]):
            return None
        if struct.unpack_from("!H", p, 6)[0] & 0x3FFF or p[9] != 17:
            return None
        src, dst, u, end = p[12:16], p[16:20], ihl, total
    else:
        if len(p) < 40 or p[0] >> 4 != 6:
            return None
        plen, nxt = struct.unpack_from("!HB", p, 4)
        if 40 + plen > len(p):
            return None
        src, dst, u, end = p[8:24], p[24:40], 40, 40 + plen
        while nxt in (0, 43, 60):
            if u + 2 > end or u + (p[u + 1] + 1) * 8 > end:
                return None
            nxt, u = p[u], u + (p[u + 1] + 1) * 8
        if nxt != 17:
            return None
    if end - u < 8:
        return None
    ulen = struct.unpack_from("!H", p, u + 4)[0]
    if ulen < 8 or u + ulen > end:
        return None
    d = p[u:u + ulen]
    csum = struct.unpack_from("!H", d, 6)[0]
    if csum == 0:
        if ver == 6:
            return None
    else:
        pseudo = (src + dst + struct.pack("!xBH", 17, ulen) if ver == 4
                  else src + dst + struct.pack("!I3xB", ulen, 17))
        if not _sum_ok(pseudo + d):
            return None
    return src, dst, u, d


def _icrc_ok(ver, p, u, d):
    m = bytearray(p[:u + len(d) - 4])
    if ver == 4:
        for i in (1, 8, 10, 11):
            m[i] = 0xFF
    else:
        m[0] |= 0x0F
        for i in (1, 2, 3, 7):
            m[i] = 0xFF
    for i in (u + 6, u + 7, u + 12):
        m[i] = 0xFF
    c = crc32(bytes(m), crc32(b"\xff" * 8)) ^ 0xFFFFFFFF
    return c == struct.unpack_from("<I", d, len(d) - 4)[0]


class Packet:
    __slots__ = ("src", "dst", "ver", "opcode", "qp", "psn", "va", "rkey", "dma_len", "payload")


def parse_roce(linktype, frame):
    """A valid RoCEv2 packet as a Packet, or None."""
    net = _network(linktype, frame)
    if net is None:
        return None
    ver, p = net
    udp = _udp_of(ver, p)
    if udp is None:
        return None
    src, dst, u, d = udp
    if struct.unpack_from("!H", d, 2)[0] != PORT:
        return None
    b = d[8:]
    if len(b) < 16 or b[1] & 15 or not _icrc_ok(ver, p, u, d):
        return None
    k = Packet()
    k.src, k.dst, k.ver = src, dst, ver
    k.opcode = b[0]
    k.qp = struct.unpack_from("!I", b, 4)[0] & 0xFFFFFF
    k.psn = struct.unpack_from("!I", b, 8)[0] & 0xFFFFFF
    k.va = k.rkey = k.dma_len = None
    pad = (b[1] >> 4) & 3
    info = REQUESTS.get(k.opcode)
    h = 12
    if info:
        if info[2]:
            h += 16
        if info[3]:
            h += 4
    elif k.opcode == ACK:
        h += 4
    if len(b) - 4 < h + pad:
        return None
    if info and info[2]:
        k.va, k.rkey, k.dma_len = struct.unpack_from("!QII", b, 12)
    k.payload = b[h:len(b) - 4 - pad]
    return k


def _addr(a):
    return socket.inet_ntop(socket.AF_INET if len(a) == 4 else socket.AF_INET6, a)


class QP:
    def __init__(self, name):
        self.name = name
        self.epsn = None
        self.op = None          # operation of the message in progress, or None between messages
        self.send = bytearray()
        self.regions = {}       # rkey -> [base va, bytearray]
        self.cur = None         # the WRITE in progress: [rkey, va of the next byte, left]


class Placer:
    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        self.qps = {}
        self.order = []
        self.stats = {"packets": 0, "roce": 0, "requests": 0, "accepted": 0, "duplicate": 0,
                      "out_of_sequence": 0, "bad_opcode_order": 0, "acks": 0}
        for linktype, frame, wirelen in Records(raw):
            self.stats["packets"] += 1
            if len(frame) < wirelen:
                continue
            k = parse_roce(linktype, frame)
            if k is None:
                continue
            self.stats["roce"] += 1
            if k.opcode == ACK:
                self.stats["acks"] += 1
            if k.opcode in REQUESTS:
                self.stats["requests"] += 1
                self._request(k)

    def _request(self, k):
        key = (k.src, k.dst, k.qp)
        q = self.qps.get(key)
        op, pos, _, _ = REQUESTS[k.opcode]
        if q is None:
            if pos not in "FO":
                return
            q = self.qps[key] = QP("%s-%s.qp%06x" % (_addr(k.src), _addr(k.dst), k.qp))
            self.order.append(key)
            q.epsn = k.psn
        dist = (k.psn - q.epsn) & 0xFFFFFF
        if dist != 0:
            self.stats["duplicate" if dist >= 0x800000 else "out_of_sequence"] += 1
            return
        if (q.op is None) != (pos in "FO") or (q.op is not None and q.op != op):
            self.stats["bad_opcode_order"] += 1
            return
        q.epsn = (q.epsn + 1) & 0xFFFFFF
        self.stats["accepted"] += 1
        q.op = op if pos in "FM" else None
        if op == "send":
            q.send += k.payload
            return
        if pos in "FO":
            q.cur = [k.rkey, k.va, k.dma_len]
        rkey, va, left = q.cur
        if len(k.payload) > left:
            raise PlacementError("%s: WRITE longer than its RETH's DMA length" % q.name)
        region = q.regions.setdefault(rkey, [va, bytearray()])
        off = va - region[0]
        if off < 0:
            raise PlacementError("%s: WRITE at 0x%x, below the region of rkey 0x%08x (0x%x)"
                                 % (q.name, va, rkey, region[0]))
        buf = region[1]
        if k.payload and len(buf) < off + len(k.payload):  # a zero-length WRITE places nothing
            buf.extend(b"\0" * (off + len(k.payload) - len(buf)))
        buf[off:off + len(k.payload)] = k.payload
        q.cur = [rkey, va + len(k.payload), left - len(k.payload)]
        if pos in "LO" and q.cur[2] != 0:
            raise PlacementError("%s: WRITE message shorter than its RETH's DMA length by %d"
                                 % (q.name, q.cur[2]))

    def files(self):
        out = {}
        for key in self.order:
            q = self.qps[key]
            out[q.name + ".send"] = bytes(q.send)
            for rkey, (_, buf) in q.regions.items():
                out["%s.write.%08x" % (q.name, rkey)] = bytes(buf)
        return out


def placements(path):
    return Placer(path).files()


def _generator():
    path = os.path.join(ROOT, "scripts", "gen-traces")
    loader = importlib.machinery.SourceFileLoader("gen_traces", path)
    spec = importlib.util.spec_from_loader("gen_traces", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def self_check(traces):
    gen = _generator()
    bad = 0
    for name in gen.ROCE_TRACES:
        want = gen.roce_sent(name)
        pl = Placer(os.path.join(traces, name))
        got = pl.files()
        problems = []
        if set(got) != set(want):
            problems.append("files: only placed %s; only sent %s"
                            % (sorted(set(got) - set(want)), sorted(set(want) - set(got))))
        for f in sorted(set(got) & set(want)):
            if got[f] != want[f]:
                n = next((i for i in range(min(len(got[f]), len(want[f])))
                          if got[f][i] != want[f][i]), min(len(got[f]), len(want[f])))
                problems.append("%s: %d bytes placed, %d sent, first difference at %d"
                                % (f, len(got[f]), len(want[f]), n))
        if not got or not any(got.values()):
            problems.append("nothing placed")
        if pl.stats["bad_opcode_order"]:
            problems.append("%d requests out of opcode order" % pl.stats["bad_opcode_order"])
        if name == "roce_loss.pcap" and not (pl.stats["duplicate"] and
                                             pl.stats["out_of_sequence"]):
            problems.append("no duplicate or out-of-sequence request: %s" % pl.stats)
        print("%-22s %3d files %8d bytes  %s%s" % (
            name, len(got), sum(len(v) for v in got.values()),
            " ".join("%s=%d" % kv for kv in pl.stats.items()),
            "" if not problems else "\n  " + "\n  ".join(problems)))
        bad += bool(problems)
    if bad:
        print("FAIL: %d trace(s) differ from what the generator sent" % bad)
        return 1
    print("ok")
    return 0


def main(argv):
    if argv and argv[0] == "--self-check":
        traces = os.path.join(ROOT, "traces")
        if len(argv) == 3 and argv[1] == "--traces":
            traces = argv[2]
        elif len(argv) != 1:
            print("usage: roce_reassemble.py --self-check [--traces DIR]", file=sys.stderr)
            return 2
        try:
            return self_check(traces)
        except (OSError, ValueError, PlacementError) as e:
            print("roce_reassemble.py: %s" % e, file=sys.stderr)
            return 1
    if len(argv) not in (1, 2) or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        files = placements(argv[0])
    except (OSError, ValueError, PlacementError) as e:
        print("roce_reassemble.py: %s: %s" % (argv[0], e), file=sys.stderr)
        return 1
    if len(argv) == 2:
        os.makedirs(argv[1], exist_ok=True)
    for name, data in files.items():
        print("%-60s %8d bytes" % (name, len(data)))
        if len(argv) == 2:
            with open(os.path.join(argv[1], name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

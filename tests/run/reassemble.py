#!/usr/bin/env python3
"""reassemble.py -- independent reference for the byte streams the chip delivers to the host.

Usage: reassemble.py TRACE [OUTDIR]
    Prints one line per connection (file name, bytes) and, with OUTDIR, writes each stream to
    OUTDIR/<name> like `sppsim --deliver-dir OUTDIR`.

As a module: expected_streams(path) -> {file name: bytes}; Reassembler(path) also exposes
.truncated (the file ends inside a record) and .conns (per-connection details).

Written from the capture formats and RFC 9293, sharing no code with scripts/gen-traces or the
simulator. Rules:

Records. Classic pcap (magic a1b2c3d4 / a1b23c4d, either byte order) and pcapng (SHB, IDB, EPB,
SPB, other blocks skipped; per-section byte order, per-interface link type and snaplen). A
record whose captured length is below its wire length is ignored (the chip drops it), and so is
an incomplete record at the end of the file. Link types: 1 Ethernet (up to two 802.1Q/802.1ad
tags), 113 Linux SLL, 276 SLL2, 101/12/14 raw IP, 0 BSD null (host-order family), 108 OpenBSD
loop (network-order family).

Packets. IPv4: IHL >= 5, IHL*4 <= total length <= bytes present, valid header checksum, not a
fragment (MF or offset != 0). IPv6: payload length fits (0 with a hop-by-hop Jumbo Payload option
uses the jumbo length); hop-by-hop, routing, destination options and AH are walked; a fragment
header drops the packet. TCP: 5 <= data offset, header fits, options well formed (kind 0 ends,
1 is one byte, others need a length >= 2 inside the option area), valid checksum over the
pseudo header. Anything else is not a TCP segment and is ignored.

Connections, per 5-tuple (either direction):
  - A SYN without ACK opens a connection when the 5-tuple has no live connection; the SYN's
    destination is the local side, its source the remote side; the stream starts at ISN + 1.
  - A connection stays live until it has ended: FINs seen from both sides, or a RST from either
    side. A SYN on a live connection (a retransmission) changes nothing.
  - Mid-stream pickup: on a 5-tuple that never had a connection, the first segment carrying
    payload (not SYN, not RST) opens one; its destination is the local side, and the stream
    starts at that segment's sequence number.
  - Only the remote side's payload is stream data (the local side's packets are the reference
    the chip's own output is compared with). A RST's payload is not data. A SYN's payload
    starts at seq + 1.
  - Bytes are placed by sequence number relative to the stream start (mod 2^32, as a signed
    32-bit distance: bytes before the start are ignored); where arrivals overlap, the first
    arrival's bytes count. Bytes at or after the remote FIN's sequence number are not data
    (bytes before it still fill holes after the FINs). Remote segments after a RST (either
    side) are ignored.
  - The expected stream is the contiguous prefix from offset 0: it ends at the first hole
    never filled.
File names: "<remote ip>.<remote port>-<local ip>.<local port>" (inet_ntop spelling), with
".2", ".3", ... for later connections of the same name, numbered in order of opening.
"""

import os
import socket
import struct
import sys

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


# ---------------------------------------------------------------------------
# capture files
# ---------------------------------------------------------------------------

class Records:
    """Iterates (linktype, data, wire length) over a pcap or pcapng image; .truncated is True
    once iteration met an incomplete record or block at the end."""

    def __init__(self, raw):
        self.raw = raw
        self.truncated = False

    def __iter__(self):
        raw = self.raw
        if raw[:4] == b"\x0a\x0d\x0d\x0a":
            return self._pcapng(raw)
        return self._pcap(raw)

    def _pcap(self, raw):
        magic = raw[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            bo = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            bo = ">"
        else:
            raise ValueError("not a pcap or pcapng file")
        if len(raw) < 24:
            self.truncated = True
            return
        linktype = struct.unpack_from(bo + "I", raw, 20)[0] & 0xFFFF
        hdr = struct.Struct(bo + "IIII")
        pos, end = 24, len(raw)
        while pos < end:
            if pos + 16 > end:
                self.truncated = True
                return
            _, _, caplen, wirelen = hdr.unpack_from(raw, pos)
            pos += 16
            if pos + caplen > end:
                self.truncated = True
                return
            yield linktype, raw[pos:pos + caplen], wirelen
            pos += caplen

    def _pcapng(self, raw):
        pos, end = 0, len(raw)
        bo = "<"
        ifaces = []     # (linktype, snaplen)
        while pos < end:
            if pos + 12 > end:
                self.truncated = True
                return
            if raw[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
                bom = raw[pos + 8:pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    bo = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    bo = ">"
                else:
                    raise ValueError("pcapng: bad byte-order magic")
                ifaces = []
            btype, blen = struct.unpack_from(bo + "II", raw, pos)
            if blen < 12 or blen % 4 or pos + blen > end:
                self.truncated = True
                return
            body = raw[pos + 8:pos + blen - 4]
            pos += blen
            if btype == 1:                          # interface description
                lt, _, snap = struct.unpack_from(bo + "HHI", body, 0)
                ifaces.append((lt, snap))
            elif btype == 6:                        # enhanced packet
                ifid, _, _, caplen, wirelen = struct.unpack_from(bo + "IIIII", body, 0)
                if ifid >= len(ifaces):
                    continue
                yield ifaces[ifid][0], body[20:20 + caplen], wirelen
            elif btype == 3:                        # simple packet (interface 0)
                if not ifaces:
                    continue
                wirelen = struct.unpack_from(bo + "I", body, 0)[0]
                lt, snap = ifaces[0]
                caplen = min(wirelen, len(body) - 4)
                if snap:
                    caplen = min(caplen, snap)
                yield lt, body[4:4 + caplen], wirelen
            # other block types carry no packets


# ---------------------------------------------------------------------------
# packet headers
# ---------------------------------------------------------------------------

VERIFY_CHECKSUMS = True  # False: trust them, as the chip with ipu.verify_checksums=false
TRUSTED = b"(TSO)"  # a pseudo header not to verify against: the NIC computed the checksum


def _csum_ok(*parts):
    """True when the 16-bit ones' complement sum of the concatenated parts is 0xffff."""
    if not VERIFY_CHECKSUMS:
        return True
    data = b"".join(parts)
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def _network(linktype, frame):
    """Returns (ip version, packet bytes) or None for a frame that carries no IP packet."""
    n = len(frame)
    if linktype == 1:                               # Ethernet II
        if n < 14:
            return None
        etype, off = struct.unpack_from("!H", frame, 12)[0], 14
        for _ in range(2):                          # 802.1Q / 802.1ad tags
            if etype not in (0x8100, 0x88A8) or off + 4 > n:
                break
            etype, off = struct.unpack_from("!H", frame, off + 2)[0], off + 4
        ver = {0x0800: 4, 0x86DD: 6}.get(etype)
    elif linktype == 113:                           # Linux cooked v1
        if n < 16:
            return None
        ver, off = {0x0800: 4, 0x86DD: 6}.get(struct.unpack_from("!H", frame, 14)[0]), 16
    elif linktype == 276:                           # Linux cooked v2
        if n < 20:
            return None
        ver, off = {0x0800: 4, 0x86DD: 6}.get(struct.unpack_from("!H", frame, 0)[0]), 20
    elif linktype in (101, 12, 14):                 # raw IP
        if n < 1:
            return None
        ver, off = frame[0] >> 4, 0
    elif linktype in (0, 108):                      # BSD null (host order) / loop (network order)
        if n < 4:
            return None
        fam = struct.unpack_from("!I" if linktype == 108 else "<I", frame, 0)[0]
        if linktype == 0 and fam > 0xFFFF:          # written by a big-endian host
            fam = struct.unpack_from("!I", frame, 0)[0]
        ver, off = {2: 4, 24: 6, 28: 6, 30: 6}.get(fam), 4
    else:
        return None
    if ver not in (4, 6):
        return None
    return ver, frame[off:]


def _tcp_of_ipv4(p):
    if len(p) < 20 or p[0] >> 4 != 4:
        return None
    ihl = (p[0] & 0x0F) * 4
    total = struct.unpack_from("!H", p, 2)[0]
    tso = total == 0  # captured before TCP segmentation offload: the frame gives the length,
    if tso:           # and the checksums were left to the NIC (as Wireshark reads it)
        total = len(p)
    if ihl < 20 or total < ihl or total > len(p):
        return None
    if not tso and not _csum_ok(p[:ihl]):
        return None
    if struct.unpack_from("!H", p, 6)[0] & 0x3FFF:  # MF or fragment offset
        return None
    if p[9] != 6:
        return None
    src, dst = p[12:16], p[16:20]
    seg = p[ihl:total]
    pseudo = src + dst + struct.pack("!xBH", 6, len(seg)) if len(seg) <= 0xFFFF else None
    if tso and pseudo is not None:
        pseudo = TRUSTED
    return src, dst, seg, pseudo


def _tcp_of_ipv6(p):
    if len(p) < 40 or p[0] >> 4 != 6:
        return None
    plen, nxt = struct.unpack_from("!HB", p, 4)
    src, dst = p[8:24], p[24:40]
    rest = p[40:]
    if plen == 0 and nxt == 0:                      # maybe a jumbogram (RFC 2675)
        jumbo = _jumbo_length(rest)
        if jumbo is not None:
            plen = jumbo
    if plen > len(rest):
        return None
    body = rest[:plen]
    i = 0
    while nxt in (0, 43, 60, 51):
        if i + 2 > len(body):
            return None
        hlen = (body[i + 1] + 2) * 4 if nxt == 51 else (body[i + 1] + 1) * 8
        if i + hlen > len(body):
            return None
        nxt, i = body[i], i + hlen
    if nxt != 6:                                    # fragments (44) and non-TCP
        return None
    seg = body[i:]
    pseudo = src + dst + struct.pack("!I3xB", len(seg), 6)
    return src, dst, seg, pseudo


def _jumbo_length(ext):
    """The Jumbo Payload option's length in a hop-by-hop header, or None."""
    if len(ext) < 2:
        return None
    hlen = (ext[1] + 1) * 8
    if hlen > len(ext):
        return None
    i = 2
    while i < hlen:
        kind = ext[i]
        if kind == 0:                               # Pad1
            i += 1
            continue
        if i + 2 > hlen or i + 2 + ext[i + 1] > hlen:
            return None
        if kind == 0xC2 and ext[i + 1] == 4:
            return struct.unpack_from("!I", ext, i + 2)[0]
        i += 2 + ext[i + 1]
    return None


def _tcp_options_ok(opts):
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            return True
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2 or i + opts[i + 1] > len(opts):
            return False
        i += opts[i + 1]
    return True


class Segment:
    __slots__ = ("src", "dst", "sport", "dport", "seq", "flags", "payload", "ver")


def parse_segment(linktype, frame):
    """A valid TCP segment as a Segment, or None."""
    net = _network(linktype, frame)
    if net is None:
        return None
    ver, pkt = net
    r = _tcp_of_ipv4(pkt) if ver == 4 else _tcp_of_ipv6(pkt)
    if r is None:
        return None
    src, dst, seg, pseudo = r
    if len(seg) < 20 or pseudo is None:
        return None
    doff = (seg[12] >> 4) * 4
    if doff < 20 or doff > len(seg):
        return None
    if not _tcp_options_ok(seg[20:doff]):
        return None
    if pseudo is not TRUSTED and not _csum_ok(pseudo, seg):
        return None
    s = Segment()
    s.ver = ver
    s.src, s.dst = src, dst
    s.sport, s.dport, s.seq = struct.unpack_from("!HHI", seg, 0)
    s.flags = seg[13]
    s.payload = seg[doff:]
    return s


# ---------------------------------------------------------------------------
# streams
# ---------------------------------------------------------------------------

class Stream:
    """Bytes by offset, first arrival wins; intervals kept sorted, disjoint, merged."""

    def __init__(self):
        self.buf = bytearray()
        self.have = []          # [start, end)

    def put(self, off, data):
        if off < 0:             # bytes before the stream's start
            data = data[-off:]
            off = 0
        if not data:
            return
        end = off + len(data)
        if len(self.buf) < end:
            self.buf.extend(b"\0" * (end - len(self.buf)))
        # write only the parts not held yet
        pos = off
        for a, b in self.have:
            if b <= pos or a >= end:
                continue
            if a > pos:
                self.buf[pos:a] = data[pos - off:a - off]
            pos = max(pos, b)
            if pos >= end:
                break
        if pos < end:
            self.buf[pos:end] = data[pos - off:end - off]
        merged = []
        for a, b in sorted(self.have + [(off, end)]):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.have = merged

    def prefix(self, limit=None):
        if not self.have or self.have[0][0] != 0:
            return b""
        n = self.have[0][1]
        if limit is not None:
            n = min(n, limit)
        return bytes(self.buf[:n])


class Connection:
    def __init__(self, remote, local, base, how, index):
        self.remote, self.local = remote, local   # (ip bytes, port)
        self.base = base                          # sequence number of stream offset 0
        self.how = how                            # "syn" or "pickup"
        self.index = index                        # order of opening
        self.stream = Stream()
        self.fin_off = None                       # stream offset of the remote's FIN
        self.fin_remote = self.fin_local = False
        self.reset = False
        self.name = None

    def ended(self):
        return self.reset or (self.fin_remote and self.fin_local)

    def data(self):
        return self.stream.prefix(self.fin_off)


def _addr(ip):
    return socket.inet_ntop(socket.AF_INET if len(ip) == 4 else socket.AF_INET6, ip)


def _rel(seq, base):
    """seq - base as a signed 32-bit distance."""
    d = (seq - base) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d


class Reassembler:
    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        recs = Records(raw)
        self.conns = []
        self.live = {}          # canonical 5-tuple -> live Connection
        self.ever = set()       # canonical 5-tuples that had a connection
        for linktype, frame, wirelen in recs:
            if len(frame) < wirelen:
                continue        # cut by the snaplen: dropped by the chip
            seg = parse_segment(linktype, frame)
            if seg is not None:
                self._segment(seg)
        self.truncated = recs.truncated
        seen = {}
        for c in self.conns:
            name = "%s.%d-%s.%d" % (_addr(c.remote[0]), c.remote[1], _addr(c.local[0]), c.local[1])
            seen[name] = seen.get(name, 0) + 1
            c.name = name if seen[name] == 1 else "%s.%d" % (name, seen[name])

    def _segment(self, s):
        a, b = (s.src, s.sport), (s.dst, s.dport)
        key = (s.ver,) + tuple(sorted((a, b)))
        c = self.live.get(key)
        if c is not None and c.ended():
            if s.flags & SYN and not s.flags & ACK:
                del self.live[key]
                c = None
            # else: a late segment of the finished connection: nothing to do
        if c is None:
            if s.flags & SYN and not s.flags & (ACK | RST):
                c = Connection(a, b, (s.seq + 1) & 0xFFFFFFFF, "syn", len(self.conns))
            elif key not in self.ever and s.payload and not s.flags & (SYN | RST):
                c = Connection(a, b, s.seq, "pickup", len(self.conns))
            else:
                return
            self.conns.append(c)
            self.live[key] = c
            self.ever.add(key)
        if c.reset:
            return              # a reset connection takes nothing more
        from_remote = a == c.remote
        if s.flags & RST:
            c.reset = True
            return
        if not from_remote:
            if s.flags & FIN:
                c.fin_local = True
            return
        start = (s.seq + 1) & 0xFFFFFFFF if s.flags & SYN else s.seq
        off = _rel(start, c.base)
        if s.payload:
            c.stream.put(off, s.payload)
        if s.flags & FIN:
            c.fin_remote = True
            fo = off + len(s.payload)
            if fo >= 0 and (c.fin_off is None or fo < c.fin_off):
                c.fin_off = fo

    def streams(self):
        return {c.name: c.data() for c in self.conns}


def expected_streams(path):
    return Reassembler(path).streams()


def main(argv):
    global VERIFY_CHECKSUMS
    if "--no-verify" in argv:
        VERIFY_CHECKSUMS = False
        argv = [a for a in argv if a != "--no-verify"]
    if len(argv) not in (2, 3) or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    r = Reassembler(argv[1])
    out = argv[2] if len(argv) == 3 else None
    if out:
        os.makedirs(out, exist_ok=True)
    total = 0
    for c in r.conns:
        data = c.data()
        total += len(data)
        held = c.stream.have
        note = ""
        if len(held) > 1 or (held and held[0][0] != 0):
            note = "  (holes: data held beyond the prefix, %d intervals)" % len(held)
        print("%-60s %8d bytes  %-6s%s%s" % (c.name, len(data), c.how,
                                            "  fin" if c.fin_off is not None else "", note))
        if out:
            with open(os.path.join(out, c.name), "wb") as f:
                f.write(data)
    print("%d connections, %d bytes%s" % (len(r.conns), total,
                                          ", file truncated" if r.truncated else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

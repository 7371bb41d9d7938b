#!/usr/bin/env python3
"""The host application's consumption rate (host_app.consume_mbps) shrinks the advertised window.

On a generated bulk trace:
- read at once (the default): no read is scheduled, every byte put in order is read, and every
  window the chip advertises after its SYN-ACK is the whole buffer;
- read at 200 Mb/s per flow (buffers of 128 KiB): the unread backlog builds up (reads, backlog_peak), the advertised
  windows shrink below the buffer size, the right edge of the window (ACK + window) never moves
  left (beyond the window scale's rounding), the bytes read plus those handed over at close equal the bytes put in order, and each
  connection's delivered stream is byte-identical to the run that read at once; the run is
  deterministic;
- read at 1 Mb/s: the window falls below one segment and the replayed sender, which ignores it, has data
  refused as outside the window; what is delivered is a prefix of each stream, and the SPEC §7
  invariants hold."""
import argparse
import filecmp
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bulk_trace, check, conservation, main, run  # noqa: E402
import reassemble  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()

SYN = 0x02


def windows(path):
    """Per connection (as sent by the chip): its SYN-ACK's window shift and, after the SYN-ACK,
    [(ack, window in bytes)] of each segment."""
    with open(path, "rb") as f:
        raw = f.read()
    conns = {}
    for lt, frame, _ in reassemble.Records(raw):
        ver, pkt = reassemble._network(lt, frame)
        src, dst, seg, _ = (reassemble._tcp_of_ipv4 if ver == 4 else reassemble._tcp_of_ipv6)(pkt)
        sport, dport, _seq, ack = struct.unpack_from("!HHII", seg, 0)
        key = (src, sport, dst, dport)
        win = struct.unpack_from("!H", seg, 14)[0]
        if seg[13] & SYN:
            shift = 0
            opts = seg[20:(seg[12] >> 4) * 4]
            i = 0
            while i < len(opts) and opts[i] != 0:
                if opts[i] == 1:
                    i += 1
                    continue
                if opts[i] == 3:
                    shift = opts[i + 2]
                i += max(opts[i + 1], 2)
            conns[key] = {"shift": shift, "acks": []}
        elif key in conns:
            conns[key]["acks"].append((ack, win << conns[key]["shift"]))
    return conns


def replay(tmp, trace, name, rate, read_bytes=16384):
    tx = os.path.join(tmp, name + ".pcap")
    out = os.path.join(tmp, name)
    _, _, _, st = run(args.sppsim, ["--quiet", "--trace", trace, "--tx-pcap", tx,
                                    "--deliver-dir", out, "--set", "smc.buf_max=131072",
                                    "--set", f"host_app.consume_mbps={rate}",
                                    "--set", f"host_app.read_bytes={read_bytes}"])
    conservation(st, name)
    smc = st["units"]["smc"]
    check(st["delivered"]["bytes"] == smc["bytes_consumed"],
          f"{name}: delivered {st['delivered']['bytes']} != read {smc['bytes_consumed']}")
    app = st["units"]["host_app"]
    check(smc["bytes_consumed"] == smc["bytes_delivered"],
          f"{name}: {smc['bytes_delivered']} bytes put in order, {smc['bytes_consumed']} read")
    check(rate == 0 or app["bytes_read"] + app["bytes_at_close"] == smc["bytes_consumed"],
          f"{name}: reads {app['bytes_read']} + at close {app['bytes_at_close']} != "
          f"{smc['bytes_consumed']} read from the buffers")
    return st, windows(tx), out


def right_edges_never_recede(name, conns):
    for key, c in conns.items():
        # The window is advertised in units of 2^shift bytes, rounded down: the edge may recede
        # by less than one unit, never more.
        edge, unit = None, 1 << c["shift"]
        for ack, win in c["acks"]:
            e = ack + win
            if edge is not None:
                check(((e + unit - 1 - edge) & 0xFFFFFFFF) < 0x80000000,
                      f"{name}: {key}: the window's right edge moved left ({edge} -> {e})")
            if edge is None or ((e - edge) & 0xFFFFFFFF) < 0x80000000:
                edge = e


def body():
    with tempfile.TemporaryDirectory() as tmp:
        trace = bulk_trace(os.path.join(tmp, "bulk.pcap"), 6000, 3, 7)
        a, wa, da = replay(tmp, trace, "at_once", 0)
        check(a["units"]["host_app"]["reads"] == 0, "at once: reads were scheduled")
        full = {w for c in wa.values() for _, w in c["acks"]}
        check(len(full) == 1, f"at once: the window varied: {sorted(full)[:5]}")
        buf = full.pop()

        b, wb, db = replay(tmp, trace, "rate_200", 200)
        app = b["units"]["host_app"]
        check(app["reads"] > 0 and app["backlog_peak"] > 0,
              f"200 Mb/s: no backlog built up: {app}")
        wins = [w for c in wb.values() for _, w in c["acks"]]
        check(min(wins) < buf // 2, f"200 Mb/s: the window never shrank below half of {buf}: "
                                    f"min {min(wins)}")
        check(max(wins) <= buf, f"200 Mb/s: a window of {max(wins)} exceeds the buffer {buf}")
        right_edges_never_recede("200 Mb/s", wb)
        check(b["units"]["smc"]["refused_window"] == 0,
              "200 Mb/s: data refused (the trace's sender stays within the shrunken window)")
        cmp = filecmp.dircmp(da, db)
        check(not cmp.left_only and not cmp.right_only and not cmp.diff_files and
              sorted(os.listdir(da)) == sorted(cmp.same_files),
              f"200 Mb/s: delivered streams differ from reading at once: {cmp.diff_files[:3]}")
        b2, _, _ = replay(tmp, trace, "rate_200_again", 200)
        strip = lambda s: {k: v for k, v in s.items() if k not in ("_raw", "input")}  # noqa: E731
        check(strip(b) == strip(b2), "200 Mb/s: a second run gave different stats")

        c, wc, dc = replay(tmp, trace, "rate_1", 1)
        low = min(w for cc in wc.values() for _, w in cc["acks"])
        check(low < 1460, f"1 Mb/s: the window never fell below a segment: {low}")
        check(c["units"]["smc"]["refused_window"] > 0,
              "1 Mb/s: no data refused though the sender ignores the closed window")
        right_edges_never_recede("1 Mb/s", wc)
        for f in os.listdir(da):
            with open(os.path.join(da, f), "rb") as x, open(os.path.join(dc, f), "rb") as y:
                full_stream, got = x.read(), y.read()
            check(full_stream.startswith(got), f"1 Mb/s: {f}: delivered bytes are not a prefix")
        check(c["delivered"]["bytes"] < a["delivered"]["bytes"],
              "1 Mb/s: everything was delivered though data was refused")


main(body)

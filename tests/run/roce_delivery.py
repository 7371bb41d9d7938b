#!/usr/bin/env python3
"""Whole-run test of the RoCEv2 responder (issue 6): for every RoCE trace of scripts/gen-traces
the chip runs with its queue pairs (TRACE's .qps.json, found beside it) and --deliver-dir, and
what the host got must equal, file for file and byte for byte, the independent placement of
roce_reassemble.py (SEND streams and WRITE regions), and for the mixed trace the TCP streams of
reassemble.py as well (with the default config, configs/roce_separate.json and
configs/roce_shared.json). Also, per run: SPEC §7 (packets in = processed + dropped, the
scratchpad empty), no request dropped as no_flow or no_route, the responder's own packets in
the capture dropped as sent_by_local_side (one per ACK/NAK in it); every frame the chip sent
for a RoCE flow is an RC ACKNOWLEDGE with an AETH, for a QP of the trace, with the requester's
QP number; every ACK and NAK of the capture's responder has a chip packet of the same kind
with the same PSN and MSN on the same QP; with tshark installed, tshark reads the chip's capture with no malformed packet and every
RoCE frame an RC Acknowledge. Last, bad queue pair files and two microcode files for one
protocol are refused with a one-line error naming the file and the entry. A zero-length RDMA WRITE places nothing (IBTA), in the chip and in
the reference."""
import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, Failure, check, conservation, main, run, stream_problems  # noqa: E402
import roce_reassemble  # noqa: E402
from reassemble import Reassembler  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--traces", default=os.path.join(ROOT, "traces"))
args = ap.parse_args()

TRACES = ["roce_one_qp.pcap", "roce_many_qp.pcap", "roce_loss.pcap", "mixed_tcp_roce.pcap"]
MIXED_CONFIGS = ["configs/roce_separate.json", "configs/roce_shared.json"]
ACK = 0x11


def records(path):
    """Frames of a pcap (micro- or nanosecond, either byte order; Ethernet)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def roce_of(frame):
    """(src, dst, opcode, dest QP, PSN, AETH syndrome or None, MSN) of a RoCEv2 frame over
    Ethernet (802.1Q tags skipped), or None for any other frame."""
    off, et = 12, struct.unpack_from("!H", frame, 12)[0]
    while et in (0x8100, 0x88A8):
        off += 4
        et = struct.unpack_from("!H", frame, off)[0]
    p = frame[off + 2:]
    if et == 0x0800 and len(p) >= 20 and p[9] == 17:
        src, dst, u = p[12:16], p[16:20], (p[0] & 15) * 4
    elif et == 0x86DD and len(p) >= 40 and p[6] == 17:
        src, dst, u = p[8:24], p[24:40], 40
    else:
        return None
    if len(p) < u + 8 + 12 or struct.unpack_from("!H", p, u + 2)[0] != 4791:
        return None
    b = u + 8
    opcode, dqp = p[b], struct.unpack_from("!I", p, b + 4)[0] & 0xFFFFFF
    psn = struct.unpack_from("!I", p, b + 8)[0] & 0xFFFFFF
    syn = msn = None
    if opcode == ACK and len(p) >= b + 16:
        aeth = struct.unpack_from("!I", p, b + 12)[0]
        syn, msn = aeth >> 24, aeth & 0xFFFFFF
    return bytes(src), bytes(dst), opcode, dqp, psn, syn, msn


def is_nak(syn):
    return syn is not None and syn >> 5 == 3


def tshark_check(name, tx):
    """tshark reads the capture: no malformed packet, every RoCE frame an RC Acknowledge."""
    if not shutil.which("tshark") or not records(tx):
        return False
    p = subprocess.run(["tshark", "-r", tx, "-T", "fields", "-e", "frame.number",
                        "-e", "_ws.malformed", "-e", "_ws.expert.severity",
                        "-e", "infiniband.bth.opcode", "-e", "udp.dstport"],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"{name}: tshark -r {tx}: exit {p.returncode}: {p.stderr}")
    for ln in p.stdout.splitlines():
        f = (ln.split("\t") + [""] * 5)[:5]
        check(not f[1], f"{name}: tshark finds frame {f[0]} of the chip's capture malformed")
        check(not f[2] or int(f[2].split(",")[0]) < 0x800000,
              f"{name}: tshark reports an expert error on frame {f[0]}")
        if f[4] == "4791":
            check(f[3] == "17", f"{name}: tshark reads frame {f[0]} as BTH opcode {f[3]!r}, "
                                f"not 17 (RC Acknowledge)")
    return True


def compare(name, want, got):
    problems = stream_problems(want, got)
    check(not problems, f"{name}: {len(problems)} problem(s):\n" + "\n".join(problems))


def one_run(name, config, counts):
    trace = os.path.join(args.traces, name)
    label = name + (f" ({config})" if config else "")
    qps_file = trace.rsplit(".", 1)[0] + ".qps.json"
    check(os.path.exists(qps_file), f"{name}: no queue pair file {qps_file}")
    with open(qps_file) as f:
        qps = json.load(f)
    want = roce_reassemble.placements(trace)
    tcp = Reassembler(trace).streams() if name.startswith("mixed") else {}
    with tempfile.TemporaryDirectory() as tmp:
        out, tx = os.path.join(tmp, "deliver"), os.path.join(tmp, "tx.pcap")
        extra = ["--config", config] if config else []
        _, stdout, _, stats = run(args.sppsim, ["--trace", trace, "--deliver-dir", out,
                                                "--tx-pcap", tx] + extra)
        check(f"roce queue pairs {len(qps)} from {qps_file} (found beside the trace)" in stdout,
              f"{label}: the report does not say where the queue pairs came from")
        got = {}
        for fn in sorted(os.listdir(out)):
            with open(os.path.join(out, fn), "rb") as f:
                got[fn] = f.read()
        frames = [roce_of(fr) for fr in records(tx)]
        counts["tshark"] += tshark_check(label, tx)

    # the host's files: RoCE placements, and TCP streams for the mixed trace
    compare(label, dict(want, **tcp), got)
    counts["files"] += len(got)
    conservation(stats, label)
    dropped = stats["packets"]["dropped"]
    check(dropped["no_flow"] == 0 and dropped["no_route"] == 0,
          f"{label}: requests dropped as no_flow {dropped['no_flow']} / no_route "
          f"{dropped['no_route']}")
    check(stats["input"]["roce_qps_count"] == len(qps), f"{label}: roce_qps_count")
    # the figures by protocol: packets add up, delivered bytes split as the references do
    pr = stats["protocols"]
    classified = sum(v["packets"] for v in pr.values())
    check(classified + dropped["malformed"] + dropped["bad_checksum"] + dropped["bad_icrc"]
          + dropped["ip_fragment"] + dropped["oversize"] + dropped["capture_truncated"]
          + dropped["ingress_overflow"] == stats["packets"]["in"],
          f"{label}: protocols' packets {classified} + the IPU's drops != packets in")
    send = sum(len(v) for k, v in want.items() if k.endswith(".send"))
    check(pr["roce"]["bytes_delivered"] == send and pr["tcp"]["bytes_delivered"] == sum(
        len(v) for v in tcp.values()) and sum(v["bytes_delivered"] for v in pr.values())
          == stats["delivered"]["bytes"],
          f"{label}: bytes delivered by protocol {pr}, expected roce {send} (SEND streams), "
          f"tcp {sum(len(v) for v in tcp.values())}")
    check(pr["roce"]["packets"] > 0 and (pr["tcp"]["packets"] > 0) == bool(tcp),
          f"{label}: packets by protocol {pr}")

    # the capture's responder packets: ACK/NAKs from a QP's local side
    local = {}
    for q in qps:
        fam = socket.AF_INET6 if ":" in q["remote"] else socket.AF_INET
        key = (socket.inet_pton(fam, q["remote"]), q["remote_qp"])
        local[key] = q
    cap = [roce_of(fr) for fr in records(trace)]
    responder = [c for c in cap if c and c[2] == ACK and (c[1], c[3]) in local]
    if not name.startswith("mixed"):
        check(dropped["sent_by_local_side"] == len(responder),
              f"{label}: sent_by_local_side {dropped['sent_by_local_side']}, the capture has "
              f"{len(responder)} responder packets")

    # the chip's packets: RC ACKNOWLEDGE to a QP of the file, with its requester's QP number
    chip = [f for f in frames if f]
    for c in chip:
        check(c[2] == ACK and c[5] is not None,
              f"{label}: the chip sent BTH opcode {c[2]:#x}, not an ACKNOWLEDGE with an AETH")
        check((c[1], c[3]) in local,
              f"{label}: the chip sent a RoCE packet to QP {c[3]:#x} of no queue pair")
    check(chip, f"{label}: the chip sent no RoCE packet")
    # every ACK and NAK of the capture's responder has a chip packet of the same kind with the
    # same PSN and MSN on the same QP (the chip also ACKs on its own coalescing rules: more)
    sent = {(c[1], c[3], c[4], c[5] >> 5, c[6]) for c in chip}
    missing = [c for c in responder if (c[1], c[3], c[4], c[5] >> 5, c[6]) not in sent]
    check(not missing, f"{label}: {len(missing)} of the capture's {len(responder)} ACK/NAKs have "
                       f"no chip packet of the same kind, PSN and MSN, e.g. QP {missing[0][3]:#x} "
                       f"PSN {missing[0][4]} syndrome {missing[0][5]:#x} MSN {missing[0][6]}"
          if missing else "")
    counts["naks"] += sum(1 for c in responder if is_nak(c[5]))
    counts["matched"] += len(responder)
    counts["acks"] += len(chip)
    counts["runs"] += 1


def bad_inputs():
    trace = os.path.join(args.traces, "roce_one_qp.pcap")
    good = {"local": "10.0.0.2", "remote": "10.0.0.1", "local_qp": 1, "remote_qp": 2,
            "start_psn": 0, "buffer": 65536, "regions": [{"rkey": 1, "va": 4096, "len": 4096}]}
    cases = [
        ([good, dict(good, local_qp=1 << 24)], "entry 1", "local_qp"),
        ([dict(good, remote="fd00::1")], "entry 0", "family"),
        ([dict(good, local="10.0.0")], "entry 0", "not an IP address"),
        ([good, good], "entry 1", "a second queue pair"),
        ([dict(good, regions=[{"rkey": 1, "va": 0, "len": 0}])], "entry 0: region 0", "empty"),
        ([dict(good, colour=1)], "entry 0", "unknown key"),
        ({"local": "x"}, "not a JSON list", ""),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "qps.json")
        for content, where, what in cases:
            with open(path, "w") as f:
                json.dump(content, f)
            rc, _, err, _ = run(args.sppsim, ["--quiet", "--trace", trace, "--roce-qps", path],
                                expect_rc=None)
            line = err.strip()
            check(rc == 1 and "\n" not in line and path in line and where in line and what in line,
                  f"--roce-qps {content}: exit {rc}, stderr {line!r}; expected one line naming "
                  f"{path}, {where!r} and {what!r}")
        tcp = os.path.join(ROOT, "microcode", "tcp.uc")
        other = os.path.join(ROOT, "microcode", "examples", "count_bytes.uc")
        rc, _, err, _ = run(args.sppsim, ["--quiet", "--trace", trace, "--microcode", tcp,
                                          "--microcode", other], expect_rc=None)
        check(rc == 1 and tcp in err and other in err and "protocol tcp" in err,
              f"two tcp images: exit {rc}, stderr {err.strip()!r}")


def body():
    counts = {"runs": 0, "files": 0, "naks": 0, "matched": 0, "acks": 0, "tshark": 0}
    for name in TRACES:
        one_run(name, None, counts)
    for config in MIXED_CONFIGS:
        one_run("mixed_tcp_roce.pcap", os.path.join(ROOT, config), counts)
    bad_inputs()
    print(f"{counts['runs']} runs, {counts['files']} files compared with the references, "
          f"{counts['acks']} chip ACK/NAKs, {counts['matched']} capture ACK/NAKs matched "
          f"({counts['naks']} NAKs), tshark read {counts['tshark']} captures")


main(body)

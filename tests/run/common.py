"""Helpers shared by the whole-run tests: run build/sppsim, read its JSON, report failures."""
import array
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Failure(Exception):
    pass


def wrap(cmd):
    """cmd under valgrind memcheck when SPPSIM_VALGRIND is set (scripts/test --valgrind): an
    error or a definite/indirect leak makes the exit status 99, which no test expects."""
    if not os.environ.get("SPPSIM_VALGRIND"):
        return list(cmd)
    supp = os.path.join(ROOT, "tests", "valgrind.supp")
    return ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            f"--suppressions={supp}"] + list(cmd)


def run(sppsim, args, expect_rc=0, cwd=ROOT):
    """Runs sppsim with args from the repo root; returns (rc, stdout, stderr, stats or None)."""
    with tempfile.TemporaryDirectory() as tmp:
        stats = os.path.join(tmp, "stats.json")
        cmd = wrap([sppsim, "--no-progress", "--stats", stats] + list(args))
        timeout = 600 * (20 if os.environ.get("SPPSIM_VALGRIND") else 1)
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        data = None
        if os.path.exists(stats) and os.path.getsize(stats):
            with open(stats) as f:
                raw = f.read()
            data = json.loads(raw)
            data["_raw"] = raw
        if expect_rc is not None and p.returncode != expect_rc:
            raise Failure(f"{' '.join(cmd)}: exit {p.returncode}, expected {expect_rc}\n"
                          f"stderr: {p.stderr}")
        return p.returncode, p.stdout, p.stderr, data


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def conservation(stats, name):
    pk = stats["packets"]
    dropped = sum(pk["dropped"].values())
    # after a warm-up (chip.warmup_*), the packets it left in the chip end in the measure phase
    flight = stats.get("warmup", {}).get("packets_in_flight", 0)
    check(pk["in"] + flight == pk["processed"] + dropped,
          f"{name}: packets in {pk['in']} + in flight at the warm-up's end {flight} != "
          f"processed {pk['processed']} + dropped {dropped}")
    sp = stats["units"]["scratchpad"]
    check(sp["cells_used"] == 0 and sp["bytes_used"] == 0,
          f"{name}: scratchpad not empty after the drain: {sp['cells_used']} cells")
    check(sp["allocs"] == sp["frees"], f"{name}: {sp['allocs']} allocs but {sp['frees']} frees")


def pcap_records(path):
    """(ts_ns, caplen, wirelen) of each record of a classic microsecond pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    check(magic == 0xA1B2C3D4, f"{path}: test reads little-endian microsecond pcap only")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec * 10**9 + usec * 1000, incl, orig))
        off += 16 + incl
    return out


def bulk_trace(path, packets, flows, seed):
    """Writes scripts/gen-traces' bulk TCP trace of that many packets and flows to path."""
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-traces"), "--bulk", path,
                    "--packets", str(packets), "--flows", str(flows), "--seed", str(seed)],
                   check=True, capture_output=True, timeout=300)
    return path


def stream_problems(want, got):
    """Lines naming each difference between two {file name: bytes} maps of delivered streams:
    a file missing, one not expected, or different contents (sizes, first differing offset)."""
    problems = []
    for fn in sorted(set(want) | set(got)):
        if fn not in got:
            problems.append(f"  {fn}: expected {len(want[fn])} bytes, no file delivered")
        elif fn not in want:
            problems.append(f"  {fn}: not expected, got {len(got[fn])} bytes")
        elif want[fn] != got[fn]:
            w, g = want[fn], got[fn]
            first = next((i for i in range(min(len(w), len(g))) if w[i] != g[i]),
                         min(len(w), len(g)))
            problems.append(f"  {fn}: expected {len(w)} bytes, got {len(g)}, first differing "
                            f"offset {first}")
    return problems


M64 = (1 << 64) - 1


# ---- the data pattern (models/common/pattern.c), many lanes at once ----

def pat_key(src, sport, dst, dport):
    """The pattern key of the stream src:sport sends to dst:dport (IPv4, TCP)."""
    raw = (ipaddress.IPv4Address(src).packed + bytes(12) + ipaddress.IPv4Address(dst).packed +
           bytes(12) + struct.pack("<HHBB2x", sport, dport, 4, 6))
    h = 0x7061747465726E31 ^ 0x9E3779B97F4A7C15
    for i in range(5):
        h ^= struct.unpack_from("<Q", raw, 8 * i)[0]
        h ^= h >> 30
        h = (h * 0xBF58476D1CE4E5B9) & M64
        h ^= h >> 27
        h = (h * 0x94D049BB133111EB) & M64
        h ^= h >> 31
    return h


_LANES = {}


def pat_bytes(key, n):
    """Bytes 0 .. n-1 of stream key: word w is splitmix64's mix of key + (w + 1) * golden, least
    significant byte first. Every word is computed at once: the words sit in 128-bit lanes of one
    Python integer, so a multiplication by a 64-bit constant cannot carry into the next lane, and
    a mask per lane keeps the low 64 bits."""
    words = (n + 7) // 8
    if words not in _LANES:  # (sum of 2^(128 w), sum of (w + 1) 2^(128 w), the lane mask)
        ones = int.from_bytes((b"\x01" + bytes(15)) * words, "little")
        steps = int.from_bytes(b"".join((w + 1).to_bytes(16, "little") for w in range(words)),
                               "little")
        mask = int.from_bytes((M64.to_bytes(8, "little") + bytes(8)) * words, "little")
        _LANES[words] = (ones, steps, mask)
    ones, steps, mask = _LANES[words]
    z = (key * ones + 0x9E3779B97F4A7C15 * steps) & mask
    for shift, mul in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        z ^= (z >> shift) & mask
        z = (z * mul) & mask
    z ^= (z >> 31) & mask
    # every other 8 bytes (each lane's low half); only sliced, so the host's byte order is moot
    return array.array("Q", z.to_bytes(words * 16, "little"))[::2].tobytes()[:n]


def tshark_findings(path, off=()):
    """Rows (number, protocols, malformed, ack_lost_segment, retransmission, duplicate_ack,
    out_of_order, lost_segment) of the frames tshark flags. Payload dissectors that guess at
    random bytes by port and call them malformed are switched off and the frames looked at
    again."""
    off = list(off)
    for _ in range(4):
        cmd = ["tshark", "-n", "-r", path]
        for p in off:
            cmd += ["--disable-protocol", p]
        r = subprocess.run(cmd + ["-Y", "_ws.malformed || tcp.analysis.flags", "-T", "fields",
                                  "-E", "separator=|", "-e", "frame.number", "-e",
                                  "frame.protocols", "-e", "_ws.malformed", "-e",
                                  "tcp.analysis.ack_lost_segment", "-e",
                                  "tcp.analysis.retransmission", "-e",
                                  "tcp.analysis.duplicate_ack", "-e",
                                  "tcp.analysis.out_of_order", "-e", "tcp.analysis.lost_segment"],
                           capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, f"tshark failed: {r.stderr}")
        rows = [ln.split("|") for ln in r.stdout.splitlines() if ln]
        above = set()
        for row in rows:
            protos = row[1].split(":")
            if row[2] and "tcp" in protos:
                above |= set(protos[protos.index("tcp") + 1:])
        above -= set(off)
        if not above:
            return rows
        off += sorted(above)
    return rows


def main(fn):
    """Runs fn(); prints 'ok' or the failure and exits 0/1."""
    try:
        fn()
    except Failure as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("ok")

"""Helpers shared by the whole-run tests: run build/sppsim, read its JSON, report failures."""
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


def main(fn):
    """Runs fn(); prints 'ok' or the failure and exits 0/1."""
    try:
        fn()
    except Failure as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("ok")

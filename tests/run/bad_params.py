#!/usr/bin/env python3
"""Every config parameter (all of `sppsim --list-params`) rejects a value of the wrong type, a
negative one, a huge one (10^30, 2^64 + min: no wrap-around) and the neighbours just outside
its range, through --set and through a --config JSON file, each with exit 1 and exactly one
line on stderr that names the parameter — and no crash. The range's own ends are not called
out of range."""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import tempfile

from common import ROOT, check, main, wrap

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def params():
    """[(unit, key, kind, lo, hi or choices)] from --list-params."""
    p = subprocess.run([args.sppsim, "--list-params"], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"--list-params: exit {p.returncode}")
    out, unit = [], None
    for line in p.stdout.splitlines():
        m = re.match(r"## `(\w+)`", line)
        if m:
            unit = m.group(1)
            continue
        m = re.match(r"\| `(\w+)` \| [^|]* \| ([^|]*) \|", line)
        if not (m and unit):
            continue
        key, rng = m.group(1), m.group(2).strip()
        r = re.fullmatch(r"(\d+) – (\d+)", rng)
        if r:
            out.append((unit, key, "int", int(r.group(1)), int(r.group(2))))
        else:
            out.append((unit, key, "choice", None, [c.strip() for c in rng.split(",")]))
    check(len(out) > 50, f"--list-params: only {len(out)} parameters parsed")
    return out


def sppsim(argv):
    try:
        return subprocess.run(wrap([args.sppsim, "--no-progress", "--quiet", "--print-config"] + argv),
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        check(False, f"[{' '.join(argv)}] hung")


def rejected(argv, name, value):
    p = sppsim(argv)
    what = " ".join(argv)
    check(p.returncode == 1, f"[{what}] exit {p.returncode}, expected 1; stderr {p.stderr!r}")
    lines = p.stderr.splitlines()
    check(len(lines) == 1, f"[{what}] {len(lines)} lines on stderr: {p.stderr!r}")
    check(lines[0].startswith("sppsim: ") and name in lines[0],
          f"[{what}] the error does not name {name}: {lines[0]!r}")
    check(value is None or value in lines[0],
          f"[{what}] the error does not show the value {value!r}: {lines[0]!r}")
    check(p.stdout == "", f"[{what}] printed a config although the value is bad")


def body():
    todo = params()
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        counts = list(ex.map(one, todo))
    print(f"{len(todo)} parameters, {sum(counts)} values checked")


def one(param):
    unit, key, kind, lo, hi = param
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "c.json")
        name = f"{unit}.{key}"
        if kind == "int":
            bad = ["abc", "-1", "1" + "0" * 30, str(2**64 + lo), "1.5", ""]
            bad.append(str(hi + 1))
            if hi < 2**32:
                bad.append(str(2**32 + lo))  # would wrap to lo in 32 bits
            if lo > 0:
                bad.append(str(lo - 1))
            # the ends of the range are not out of range (another rule may still apply,
            # e.g. smc.buf_min <= smc.buf_max, and says so)
            for ok in (lo, hi):
                p = sppsim(["--set", f"{name}={ok}"])
                check(p.returncode == 0 or ("out of range" not in p.stderr and
                                            "not a" not in p.stderr),
                      f"[{name}={ok}] the range's end is refused: {p.stderr!r}")
                n += 1
            json_bad = [[1], {"x": 1}, -1, 1e30, 2.5, "abc", hi + 1]
        else:
            bad = ["no_such_choice", "-1", "1" + "0" * 30, ""]
            json_bad = [[1], {"x": 1}, -1, 1e30, "no_such_choice"]
        for v in bad:
            rejected(["--set", f"{name}={v}"], name, v or None)
            n += 1
        for v in json_bad:
            with open(cfg, "w") as f:
                json.dump({unit: {key: v}}, f)
            rejected(["--config", cfg], name, None)
            n += 1
    return n


main(body)

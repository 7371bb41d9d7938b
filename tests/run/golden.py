#!/usr/bin/env python3
"""Whole-run test of one bundled trace: the stats JSON equals the golden file exactly (the run
is deterministic), agrees with the generator's independent expectations (traces/expected.json),
keeps the conservation invariants, and is byte-identical on a second run.
--update rewrites the golden file instead and prints what changed."""
import argparse
import json
import os

from common import ROOT, Failure, check, conservation, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--trace", required=True, help="file name under traces/")
ap.add_argument("--update", action="store_true")
args = ap.parse_args()


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def body():
    name = args.trace
    with open(os.path.join(ROOT, "traces", "expected.json")) as f:
        expected = json.load(f)[name]
    rc_want = 2 if expected.get("truncated_file") else 0
    _, _, _, stats = run(args.sppsim, ["--quiet", "--trace", f"traces/{name}"], expect_rc=rc_want)
    raw = stats.pop("_raw")

    # independent expectations
    pk = stats["packets"]
    check(pk["in"] == expected["packets"], f"{name}: packets in {pk['in']}, expected {expected['packets']}")
    # the generator's expectations are the IPU's: what it parsed, dropped and derived
    ipu = stats["units"]["ipu"]
    check(ipu["processed"] == expected["processed"],
          f"{name}: IPU processed {ipu['processed']}, expected {expected['processed']}")
    ipu_reasons = ("ingress_overflow", "capture_truncated", "malformed", "bad_checksum", "bad_icrc",
                   "ip_fragment", "oversize")
    got_drops = {k: v for k, v in pk["dropped"].items() if v and k in ipu_reasons}
    check(got_drops == expected.get("dropped", {}), f"{name}: drops {got_drops}, expected {expected.get('dropped', {})}")
    got_ev = {k: v for k, v in ipu["events_derived"].items() if v}
    check(got_ev == expected.get("events", {}), f"{name}: events {got_ev}, expected {expected.get('events', {})}")
    # every packet the IPU processed was dispatched to a core or dropped with a reason
    disp = stats["units"]["dispatcher"]
    check(disp["packets_in"] == ipu["processed"],
          f"{name}: the dispatcher saw {disp['packets_in']} packets, the IPU processed {ipu['processed']}")
    check(stats["input"]["truncated"] == bool(expected.get("truncated_file")), f"{name}: truncated flag")
    conservation(stats, name)

    # determinism: a second run writes the same bytes
    _, _, _, again = run(args.sppsim, ["--quiet", "--trace", f"traces/{name}"], expect_rc=rc_want)
    check(again["_raw"] == raw, f"{name}: a second run wrote different stats")

    golden = os.path.join(ROOT, "tests", "golden", name + ".json")
    if args.update:
        old = {}
        if os.path.exists(golden):
            with open(golden) as f:
                old = flatten(json.load(f))
        new = flatten(stats)
        for k in sorted(set(old) | set(new)):
            if old.get(k) != new.get(k):
                print(f"{name}: {k}: {old.get(k)} -> {new.get(k)}")
        with open(golden, "w") as f:
            f.write(raw)
        return
    check(os.path.exists(golden), f"{name}: no golden file {golden} (run with --update)")
    with open(golden) as f:
        want = flatten(json.load(f))
    got = flatten(stats)
    diffs = [f"  {k}: golden {want.get(k)!r}, got {got.get(k)!r}"
             for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    check(not diffs, f"{name}: stats differ from {os.path.relpath(golden, ROOT)}:\n" + "\n".join(diffs[:40]))


main(body)

#!/usr/bin/env python3
"""The stats JSON keeps its documented schema (docs/outputs.md, "Stats JSON, schema N"): the
schema number matches the document's; every top-level key, every `units.*` member and every
key of every `units.<unit>` object that has a documented list is documented; and the keys and
value types are the same on a second, different trace (the schema does not depend on the
input)."""
import argparse
import os
import re

from common import ROOT, check, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def shape(d, prefix=""):
    out = {}
    for k, v in d.items():
        if k == "_raw":
            continue
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(shape(v, key))
        elif isinstance(v, list):
            out[key] = "list"
        else:
            out[key] = "number" if isinstance(v, (int, float)) and not isinstance(v, bool) \
                else type(v).__name__
    return out


def body():
    with open(os.path.join(ROOT, "docs", "outputs.md")) as f:
        doc = f.read()
    _, _, _, s = run(args.sppsim, ["--quiet", "--trace", "traces/default.pcap"])
    m = re.search(r"## Stats JSON, schema (\d+)", doc)
    check(m and int(m.group(1)) == s["schema"], f"schema {s['schema']}, documented {m and m.group(1)}")
    for k in s:
        if k != "_raw":
            check(f"`{k}" in doc, f"top-level key '{k}' is not documented in docs/outputs.md")
    for unit, members in s["units"].items():
        check(f"units.{unit}" in doc or f"`units.{unit}`" in doc,
              f"'units.{unit}' is not documented")
        if isinstance(members, dict):
            row = next((ln for ln in doc.splitlines() if f"`units.{unit}`" in ln), "")
            for k, v in members.items():
                if isinstance(v, dict) or not row:
                    continue
                check(f"`{k}`" in row, f"units.{unit}.{k} is not in its documented list")
    # the same shape on another trace
    _, _, _, t = run(args.sppsim, ["--quiet", "--trace", "traces/tcp_loss.pcap"])
    a, b = shape(s), shape(t)
    ignore = re.compile(r"^(latency_ps|events_derived)\.")  # per type: only types that occurred
    ka = {k: v for k, v in a.items() if not ignore.match(k)}
    kb = {k: v for k, v in b.items() if not ignore.match(k)}
    diff = sorted(set(ka.items()) ^ set(kb.items()))
    check(not diff, f"the schema differs between two traces: {diff[:6]}")


main(body)

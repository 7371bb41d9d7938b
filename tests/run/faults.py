#!/usr/bin/env python3
"""Core faults end the event with a report naming cluster, core, pc, source line, flow and event
type, and then, per chip.on_fault, stop the run (exit 3, the report on stderr) or reset the flow
and go on — never a hang. Firmware: tests/run/faulty.uc (a trap on long data segments, an
endless loop on FIN)."""
import argparse
import json
import os
import tempfile

from common import ROOT, check, conservation, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()
UC = "tests/run/faulty.uc"  # relative to ROOT, where run() runs sppsim: reports show it so
TRAP_LINE = 19  # `trap 7` in faulty.uc
SPIN_LINE = 26  # `ja spin`


def lines_of(path):
    with open(path) as f:
        return f.read().split("\n")


def body():
    src = lines_of(os.path.join(ROOT, UC))
    check("trap 7" in src[TRAP_LINE - 1] and "ja   spin" in src[SPIN_LINE - 1],
          "faulty.uc changed: update TRAP_LINE and SPIN_LINE")
    base = ["--quiet", "--trace", "traces/tcp_basic.pcap", "--microcode", UC]

    # stop: the first long data segment (trace packet 3, flow 0) ends the run
    _, _, err, s = run(args.sppsim, base, expect_rc=3)
    want = f"fault trap 7 at pc 2 (tests/run/faulty.uc:{TRAP_LINE}: trap 7), flow 0, event tcp_data"
    check(err.count("\n") == 1 and "core fault stopped the run" in err and want in err,
          f"stop: stderr is not the one-line fault report: {err!r}")
    check(s["faults"]["count"] == 1 and want in s["faults"]["first"][0],
          f"stop: faults {s['faults']}")

    # reset_flow: the flow is closed and the run goes on; the flow's later packets find no flow
    # (without mid-stream pickup, which would open it again at its next data segment)
    _, _, err, s = run(args.sppsim, base + ["--set", "chip.on_fault=reset_flow",
                                            "--set", "dispatcher.pickup=false"])
    check(s["faults"]["count"] == 1, f"reset_flow: {s['faults']['count']} faults, expected 1")
    check(want in s["faults"]["first"][0], f"reset_flow: report {s['faults']['first']}")
    d = s["units"]["dispatcher"]
    check(d["flows_opened"] == 1 and d["flows_closed"] == 1 and d["flows_in_use"] == 0,
          f"reset_flow: flows opened {d['flows_opened']}, closed {d['flows_closed']}")
    # packets 0-2 are the handshake (1 is the server's), 3 faults; the 12 after it belong to no
    # flow any more, from either side (the server's can no longer be told to be the local side's)
    pk = s["packets"]["dropped"]
    check(pk["no_flow"] == 12 and pk["sent_by_local_side"] == 1,
          f"reset_flow: no_flow {pk['no_flow']}, sent_by_local_side {pk['sent_by_local_side']}; "
          "expected 12 and 1")
    check(s["units"]["smc"]["pages_in_use"] == 0, "reset_flow: the flow's pages were not freed")
    conservation(s, "reset_flow")
    # with pickup, each of the 6 long data segments opens the flow again and faults once
    _, _, err, s = run(args.sppsim, base + ["--set", "chip.on_fault=reset_flow"])
    d = s["units"]["dispatcher"]
    check(s["faults"]["count"] == 6 and d["flows_picked_up"] == 5 and d["flows_closed"] == 6,
          f"reset_flow with pickup: {s['faults']['count']} faults, {d['flows_picked_up']} "
          f"picked up, {d['flows_closed']} closed")

    # an endless loop: the budget stops it, on every FIN, after exactly max_cycles
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "events.jsonl")
        _, _, _, s = run(args.sppsim, ["--quiet", "--trace", "traces/default.pcap", "--microcode",
                                       UC, "--event-log", log, "--set", "chip.on_fault=reset_flow",
                                       "--set", "core.max_cycles=5000"])
        with open(log) as f:
            events = [json.loads(line) for line in f]
    spins = [e for e in events if e["type"] == "tcp_fin"]
    check(spins and all(e["fault"] == "budget" for e in spins),
          f"budget: FIN events ended {sorted({e['fault'] for e in spins})}")
    taken = s["config"]["core"]["taken_cycles"]
    for e in spins:  # each ja costs taken_cycles; the one that would pass 5000 does not issue
        check(e["end_ps"] - e["start_ps"] == 5000 // taken * taken * 1000,
              f"budget: a FIN ran {e['end_ps'] - e['start_ps']} ps")
    check(s["faults"]["count"] == sum(1 for e in events if e["fault"] != "ok"),
          "budget: the fault count differs from the event log")
    conservation(s, "budget")


main(body)

#!/usr/bin/env python3
"""Firmware whose internal events each raise one more (tests/run/chain.uc) would run for ever:
no handler is stuck and no unit waits, so neither the cycle budget nor the deadlock check ends
it. The chain limit does: the ev_emit that would make a chain longer than core.max_chain is a
core fault (`chain`), reported with its source line; chip.on_fault=stop ends the run (exit 3),
reset_flow closes the flow and the run goes on to its end. The chain's events are counted
exactly: max_chain internal events ran before the fault."""
import argparse
import os

from common import ROOT, check, conservation, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()
UC = "tests/run/chain.uc"
EMIT_LINE = 26  # `cmd  ev_emit`


def body():
    with open(os.path.join(ROOT, UC)) as f:
        check("cmd  ev_emit" in f.read().split("\n")[EMIT_LINE - 1], "chain.uc changed: EMIT_LINE")
    base = ["--quiet", "--trace", "traces/tcp_basic.pcap", "--microcode", UC,
            "--set", "core.max_chain=50"]
    want = f"fault chain at pc 5 (tests/run/chain.uc:{EMIT_LINE}: cmd  ev_emit), flow 0, " \
           "event tcp_internal"
    _, _, err, s = run(args.sppsim, base, expect_rc=3)
    check(err.count("\n") == 1 and want in err, f"stop: stderr is not the fault report: {err!r}")
    check(s["events"]["tcp_internal"] == 50, f"stop: {s['events']['tcp_internal']} internal "
                                             "events ran, expected core.max_chain = 50")
    # reset_flow (without pickup, which would reopen the flow at its next data segment and
    # start another chain): the flow is closed, the run goes on to the end of the trace
    _, _, err, s = run(args.sppsim, base + ["--set", "chip.on_fault=reset_flow",
                                            "--set", "dispatcher.pickup=false"])
    check(s["faults"]["count"] == 1 and want in s["faults"]["first"][0],
          f"reset_flow: faults {s['faults']}")
    check(s["events"]["tcp_internal"] == 50, "reset_flow: the chain's length")
    conservation(s, "reset_flow")


main(body)

#!/usr/bin/env python3
"""The warm-up phase (chip.warmup_packets, chip.warmup_ps): the stats restart when it ends.

On a generated bulk trace, replayed in saturation so that the chip is loaded when the warm-up
ends:
- a warm-up of 2000 packets ends at packet 2000, with packets still in the chip; the measure
  phase counts the 4000 packets after it, and packets in + in flight = processed + dropped;
  the scratchpad's allocations equal its frees; the latency histograms hold fewer events; the
  measured time is the whole run's less the warm-up's end;
- the warm-up changes what the stats count, never what the chip does: the transmit capture and
  the delivered streams are byte-identical to the run without it;
- a warm-up by time ends at the first packet arriving at or after it (at the capture's
  timestamps: computed here from the capture);
- a warm-up longer than the trace warns on stderr and leaves the stats of the whole run;
- the same warm-up twice gives the same stats."""
import argparse
import filecmp
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bulk_trace, check, conservation, main, pcap_records, run  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def arrivals_ps(path):
    """Each record's arrival (ps after the first)."""
    ts = [r[0] for r in pcap_records(path)]
    return [(t - ts[0]) * 1000 for t in ts]


def replay(tmp, trace, name, extra, expect_rc=0):
    tx = os.path.join(tmp, name + ".pcap")
    out = os.path.join(tmp, name)
    rc, _, err, st = run(args.sppsim, ["--quiet", "--trace", trace, "--tx-pcap", tx,
                                       "--deliver-dir", out] + extra, expect_rc=expect_rc)
    conservation(st, name)
    sp = st["units"]["scratchpad"]
    check(sp["allocs"] == sp["frees"], f"{name}: scratchpad {sp['allocs']} allocs, {sp['frees']} frees")
    return st, tx, out, err


def same_outputs(name, a, b):
    with open(a[1], "rb") as x, open(b[1], "rb") as y:
        check(x.read() == y.read(), f"{name}: the transmit capture changed")
    cmp = filecmp.dircmp(a[2], b[2])
    check(not cmp.left_only and not cmp.right_only and not cmp.diff_files,
          f"{name}: the delivered streams changed")


def latency_events(st):
    return sum(v["count"] for v in st["latency_ps"].values())


def body():
    with tempfile.TemporaryDirectory() as tmp:
        trace = bulk_trace(os.path.join(tmp, "bulk.pcap"), 6000, 3, 7)
        full = replay(tmp, trace, "full", ["--saturate"])
        s0 = full[0]
        check("warmup" not in s0, "a run without warm-up reports one")

        warm = replay(tmp, trace, "warm", ["--saturate", "--set", "chip.warmup_packets=2000"])
        w = warm[0]
        wu = w["warmup"]
        check(wu["ended"] and wu["first_packet"] == 2000, f"warm-up: {wu}")
        check(wu["packets_in_flight"] > 0, "warm-up: the saturated chip held no packet at its end")
        check(w["packets"]["in"] == s0["packets"]["in"] - 2000,
              f"warm-up: {w['packets']['in']} packets measured of {s0['packets']['in']}")
        check(w["units"]["source"]["first_arrival_ps"] >= wu["end_ps"] > 0,
              "warm-up: a packet measured arrived before its end")
        check(w["sim_time_ps"] == s0["sim_time_ps"] - wu["end_ps"],
              f"warm-up: measured {w['sim_time_ps']} ps, expected {s0['sim_time_ps']} - "
              f"{wu['end_ps']}")
        check(0 < latency_events(w) < latency_events(s0),
              f"warm-up: latency histograms hold {latency_events(w)} events of "
              f"{latency_events(s0)}")
        check(w["units"]["dispatcher"]["events_in"] < s0["units"]["dispatcher"]["events_in"],
              "warm-up: the dispatcher's counters did not restart")
        same_outputs("warm-up", full, warm)
        again = replay(tmp, trace, "warm_again", ["--saturate", "--set", "chip.warmup_packets=2000"])
        strip = lambda s: {k: v for k, v in s.items() if k != "_raw"}  # noqa: E731
        check(strip(again[0]) == strip(w), "warm-up: a second run gave different stats")

        # by time, at the capture's timestamps
        times = arrivals_ps(trace)
        t = times[len(times) // 3] + 1
        want = next(i for i, a in enumerate(times) if a >= t)
        ts = replay(tmp, trace, "by_time", ["--set", f"chip.warmup_ps={t}"])[0]
        check(ts["warmup"]["ended"] and ts["warmup"]["first_packet"] == want,
              f"warm-up by time: ended at packet {ts['warmup']['first_packet']}, expected {want}")
        check(ts["warmup"]["end_ps"] == times[want],
              f"warm-up by time: ended at {ts['warmup']['end_ps']} ps, expected {times[want]}")
        check(ts["packets"]["in"] == len(times) - want, "warm-up by time: packets measured")

        # longer than the trace
        st, _, _, err = replay(tmp, trace, "too_long",
                               ["--saturate", "--set", "chip.warmup_packets=100000"])
        check("warning" in err and "warm-up" in err, f"too long: no warning: {err!r}")
        check(not st["warmup"]["ended"] and st["packets"] == s0["packets"],
              "too long: the stats are not the whole run's")


main(body)

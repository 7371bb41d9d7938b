#!/usr/bin/env python3
"""Seeing inside the chip: the timeline (--timeline) is a well-formed trace-event file (every
slice has a duration, every flow arrow starts and ends on slices that exist, slices of one track
never overlap, the window and the cap are kept); the per-packet history (--history) tells every
step with the microcode the packet's events ran; and a network event's latency splits exactly
into its stages (latency_stages_ps); the latencies by protocol add up (latency_protocol_ps)."""
import argparse
import json
import os
import tempfile

from common import check, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
args = ap.parse_args()


def load_timeline(path):
    with open(path) as f:
        d = json.load(f)
    return d, d["traceEvents"]


def timeline_checks(evs, name):
    slices = {}
    for e in evs:
        if e["ph"] == "X":
            check(e["dur"] >= 0, f"{name}: a slice with negative duration: {e}")
            slices.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    for tid, ss in slices.items():
        ss.sort()
        for (a0, a1), (b0, _) in zip(ss, ss[1:]):
            check(b0 >= a1 - 1e-9, f"{name}: track {tid} has overlapping slices {a0}-{a1}, {b0}")

    def on_slice(e):
        return any(t0 - 1e-9 <= e["ts"] <= t1 + 1e-9 for t0, t1 in slices.get(e["tid"], []))

    flows = {}
    for e in evs:
        if e["ph"] in "stf":
            check(on_slice(e), f"{name}: flow step {e} is on no slice")
            flows.setdefault(e["id"], []).append(e["ph"])
    for i, phases in flows.items():
        check(phases[0] == "s" and phases[-1] == "f" and phases.count("s") == 1 and
              phases.count("f") == 1, f"{name}: flow {i} goes {phases}")
    names = {e["tid"]: e["args"]["name"] for e in evs
             if e["ph"] == "M" and e["name"] == "thread_name"}
    check(set(slices) <= set(names), f"{name}: a track without a name")
    return slices, names, flows


def body():
    with tempfile.TemporaryDirectory() as tmp:
        tl = os.path.join(tmp, "tl.json")
        _, _, _, s = run(args.sppsim, ["--quiet", "--trace", "traces/default.pcap",
                                       "--timeline", tl])
        d, evs = load_timeline(tl)
        slices, names, flows = timeline_checks(evs, "default")
        n = s["events"]
        check(d["otherData"]["events_recorded"] == sum(n.values()),
              f"timeline recorded {d['otherData']['events_recorded']} events, the run "
              f"handled {sum(n.values())}")
        cores = [t for t, nm in names.items() if nm.startswith("cluster ")]
        check(cores and sum(len(slices[t]) for t in cores) == sum(n.values()),
              "timeline: not one core slice per event")
        check({"ipu", "dispatcher", "lookup"} <= set(names.values()), f"tracks {set(names.values())}")
        check(len(flows) == sum(n.values()), "timeline: not one flow arrow per network event")

        # a window and a cap
        run(args.sppsim, ["--quiet", "--trace", "traces/default.pcap", "--timeline", tl,
                          "--timeline-from", "100", "--timeline-to", "1000",
                          "--timeline-max", "50"])
        d, evs = load_timeline(tl)
        timeline_checks(evs, "window")
        check(d["otherData"]["events_recorded"] == 50 and d["otherData"]["events_left_out"] > 0,
              f"window: {d['otherData']}")
        arrivals = [e["ts"] for e in evs if e["ph"] == "X" and names.get(e["tid"]) == "ipu"]
        check(all(100 <= t < 1000 for t in arrivals), "window: an event from outside it")

        # history of a packet that ran, and of one the dispatcher dropped
        ev_log = os.path.join(tmp, "ev.jsonl")
        _, out, _, _ = run(args.sppsim, ["--quiet", "--trace", "traces/tcp_basic.pcap",
                                         "--history", "3", "--event-log", ev_log])
        with open(ev_log) as f:
            mine = [json.loads(x) for x in f if json.loads(x)["pkt"] == 3]
        check(len(mine) == 1, "history: packet 3 is one data event")
        lines = out.splitlines()
        check(lines[0] == "history of packet 3 (its index in the trace)", f"history: {lines[:1]}")
        for step in ("arrived at the ingress port", "left the IPU", "taken by the dispatcher",
                     "dispatched to cluster 0 core", "workspace in the core's memory",
                     "handler starts on core", "handler ends: fin at", "commands: sock_append"):
            check(any(step in ln for ln in lines), f"history: no '{step}' line")
        insns = [ln for ln in lines if " pc " in ln and "tcp.uc:" in ln]
        check(len(insns) == mine[0]["insns"],
              f"history: {len(insns)} instruction lines, the event retired {mine[0]['insns']}")
        _, out, _, _ = run(args.sppsim, ["--quiet", "--trace", "traces/tcp_basic.pcap",
                                         "--history", "1"])
        check("dropped by the dispatcher: sent_by_local_side" in out, f"history 1: {out!r}")

    # the time series: evenly spaced, bounded, and its rates add up to the run's totals
    _, _, _, s = run(args.sppsim, ["--quiet", "--trace", "traces/tcp_many.pcap"])
    ts = s["timeseries"]
    t, dt = ts["t_ps"], ts["interval_ps"]
    base = s["config"]["chip"]["sample_ps"]
    check(dt % base == 0 and (dt // base) & (dt // base - 1) == 0 and 10 <= len(t) <=
          s["config"]["chip"]["max_samples"], f"series: {len(t)} samples every {dt} ps")
    check(all(abs((b - a) - dt) < 1e-6 for a, b in zip(t, t[1:])), "series: uneven spacing")
    check(t[-1] >= s["sim_time_ps"] - dt, "series: stops before the end of the run")
    tx = sum(ts["tx_gbps"]) * dt / 8e3
    check(abs(tx - s["units"]["tx"]["bytes"]) <= 1e-6 * tx,
          f"series: tx {tx} bytes, the run sent {s['units']['tx']['bytes']}")
    got = sum(ts["delivered_gbps"]) * dt / 8e3
    check(abs(got - s["delivered"]["bytes"]) <= 1e-6 * got, "series: delivered bytes")
    check(max(ts["flows_in_use"]) <= s["units"]["dispatcher"]["flows_peak"], "series: flows")
    n = len(t)
    _, _, _, h = run(args.sppsim, ["--quiet", "--trace", "traces/tcp_many.pcap",
                                   "--set", "chip.max_samples=16"])
    hs = h["timeseries"]
    check(len(hs["t_ps"]) < 16 and hs["interval_ps"] > dt and hs["interval_ps"] % dt == 0,
          f"halving: {len(hs['t_ps'])} samples every {hs['interval_ps']} ps (from {n})")
    check(abs(sum(hs["tx_gbps"]) * hs["interval_ps"] / 8e3 - tx) <= 1e-6 * tx,
          "halving: the merged series lost transmitted bytes")

    # waveforms: a VCD header with every signal, value changes in time order, core activity
    with tempfile.TemporaryDirectory() as tmp:
        vcd, ev_log = os.path.join(tmp, "w.vcd"), os.path.join(tmp, "ev.jsonl")
        run(args.sppsim, ["--quiet", "--trace", "traces/default.pcap", "--vcd", vcd,
                          "--event-log", ev_log])
        with open(vcd) as f:
            text = f.read()
        with open(ev_log) as f:
            events = [json.loads(x) for x in f]
    check("$timescale\n     1 ps\n$end" in text and "(simulated time)" in text, "vcd: header")
    ids, scope = {}, []
    for ln in text.splitlines():
        w = ln.split()
        if w[:2] == ["$scope", "module"]:
            scope.append(w[2])
        elif w[:1] == ["$upscope"]:
            scope.pop()
        elif w[:1] == ["$var"]:
            ids[w[3]] = ".".join(scope[1:] + [w[4]])
    for want in ("ingress_fifo.depth", "ipu.busy", "dispatcher.flows_in_use",
                 "lookup.timers_armed", "cluster0.core0.busy", "cluster1.core7.busy", "tx.depth"):
        check(want in ids.values(), f"vcd: no signal {want} in {sorted(ids.values())[:8]}...")
    t, last_t, rises, values = 0, -1, {}, {}
    for ln in text.split("$enddefinitions", 1)[1].splitlines():
        if ln.startswith("#"):
            t = int(ln[1:])
            check(t > last_t, f"vcd: time goes back to {t}")
            last_t = t
        elif ln[:1] in "01" and ln[1:] in ids:
            name = ids[ln[1:]]
            if ln[0] == "1" and values.get(name) == "0":
                rises[name] = rises.get(name, 0) + 1
            values[name] = ln[0]
    for c in range(8):
        name = f"cluster0.core{c}.busy"
        ran = sum(1 for e in events if e["cluster"] == 0 and e["core"] == c)
        check(rises.get(name, 0) <= ran and (ran == 0) == (rises.get(name, 0) == 0),
              f"vcd: {name} rose {rises.get(name, 0)} times for {ran} events")

    # a network event's latency is the sum of its stages, exactly
    _, _, _, s = run(args.sppsim, ["--quiet", "--trace", "traces/tcp_many.pcap"])
    st = s["latency_stages_ps"]
    net = ("tcp_syn", "tcp_synack", "tcp_ack", "tcp_data", "tcp_fin", "tcp_rst")
    total = sum(s["latency_ps"][t]["count"] * s["latency_ps"][t]["mean"]
                for t in net if t in s["latency_ps"])
    check(abs(sum(v["sum"] for v in st.values()) - total) <= 1e-6 * total,
          f"stages sum to {sum(v['sum'] for v in st.values())}, latencies to {total}")
    check(all(v["count"] == st["core"]["count"] for v in st.values()), "stage counts differ")
    # one segment latency per packet that reached a core, never less than any of its events'
    seg = s["latency_segment_ps"]
    check(seg["count"] == s["packets"]["processed"],
          f"{seg['count']} segment latencies for {s['packets']['processed']} packets")
    check(seg["max"] == max(s["latency_ps"][t]["max"] for t in net if t in s["latency_ps"]),
          "the slowest segment is not the slowest network event's")
    # by protocol: every TCP event and segment, exactly (only TCP ran)
    lp = s["latency_protocol_ps"]
    check(list(lp) == ["tcp"], f"protocols with latencies: {list(lp)}")
    tcp = [v for t, v in s["latency_ps"].items() if t.startswith("tcp_")]
    for k in ("count", "sum", "max"):
        want = max(v[k] for v in tcp) if k == "max" else sum(v[k] for v in tcp)
        check(lp["tcp"]["events"][k] == want, f"tcp events {k}: {lp['tcp']['events'][k]} != {want}")
    check(lp["tcp"]["segment"] == seg, "tcp segment latencies differ from all segments'")


main(body)

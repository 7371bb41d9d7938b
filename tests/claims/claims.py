#!/usr/bin/env python3
"""Claim tests: each asserts, on the whole simulated chip, the behaviour one claim of the
patent describes (../shared/000_*.txt, cited in SPEC.md). `claims.py --sppsim PATH --claim N`
runs the test of claim N; the suite registers one ctest per claim (claims.claimNN).

The evidence comes from the run's own outputs: the stats JSON, the event log (--event-log: one
line per event handled, with the cluster and core that ran it, its portions and times) and the
flow log (--flow-log: each connection's key, the buffer its socket memory got, what it was
delivered)."""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SPLIT = os.path.join(HERE, "split.uc")  # two portions, core-generated events


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Run:
    """One run of sppsim; its stats, events and flow-log lines."""

    def __init__(self, sppsim, trace, sets=(), microcode=None, extra=()):
        with tempfile.TemporaryDirectory() as tmp:
            paths = {k: os.path.join(tmp, k) for k in ("stats", "events", "flows")}
            cmd = [sppsim, "--quiet", "--no-progress", "--trace", os.path.join("traces", trace),
                   "--stats", paths["stats"], "--event-log", paths["events"],
                   "--flow-log", paths["flows"]]
            if microcode:
                cmd += ["--microcode", microcode]
            for s in sets:
                cmd += ["--set", s]
            cmd += list(extra)
            p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                raise Failure(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
            with open(paths["stats"]) as f:
                self.stats = json.load(f)
            with open(paths["events"]) as f:
                self.events = [json.loads(line) for line in f]
            with open(paths["flows"]) as f:
                self.flows = [json.loads(line) for line in f]
        pk = self.stats["packets"]
        check(pk["in"] == pk["processed"] + sum(pk["dropped"].values()),
              f"{trace}: packets in != processed + dropped")

    def by_flow(self, type_=None, chan=None):
        out = {}
        for e in self.events:
            if (type_ is None or e["type"] == type_) and (chan is None or e["chan"] == chan):
                out.setdefault(e["flow"], []).append(e)
        return out

    def cores(self, events):
        return {(e["cluster"], e["core"]) for e in events}


def two_types_on_two_cores(sppsim, claim, type1, type2):
    """Events of type1 and type2 of one flow: the config routes them to different clusters,
    and with flow affinity each type of a flow runs on exactly one core of its cluster."""
    sets = ["chip.clusters=2", "cluster.cores=4", "dispatcher.policy=affinity",
            f"route.{type1}=1", f"route.{type2}=2"]
    r = Run(sppsim, "default.pcap", sets)
    a, b = r.by_flow(type1), r.by_flow(type2)
    both = sorted(set(a) & set(b))
    check(len(both) >= 10, f"claim {claim}: only {len(both)} flows have both {type1} and {type2}")
    for f in both:
        ca, cb = r.cores(a[f]), r.cores(b[f])
        check(len(ca) == 1 and len(cb) == 1,
              f"claim {claim}: flow {f}: {type1} ran on {ca}, {type2} on {cb}: one core each")
        check(next(iter(ca))[0] == 0 and next(iter(cb))[0] == 1,
              f"claim {claim}: flow {f}: {type1} on cluster {ca}, {type2} on {cb}")
        check(ca != cb, f"claim {claim}: flow {f}: both types on {ca}")


def claim_1(sppsim):
    """Events of a first and a second type derived from one flow's messages are assigned to a
    first and a second core (tcp_data and tcp_ack of each connection)."""
    two_types_on_two_cores(sppsim, 1, "tcp_data", "tcp_ack")


def claim_30(sppsim):
    """As claim 1, for another pair of types of the first protocol (tcp_syn, tcp_data)."""
    two_types_on_two_cores(sppsim, 30, "tcp_syn", "tcp_data")


def plurality(sppsim, claim, type_, cluster):
    """The cores configured for a type (a cluster of 4) are identified, and the dispatcher
    selects one of them for each event: over many flows every one of the 4 is selected, and no
    core outside the cluster ever is."""
    sets = ["chip.clusters=2", "cluster.cores=4", "dispatcher.policy=round_robin",
            "route.tcp_data=1", "route.tcp_ack=2", "route.tcp_fin=1", "route.tcp_syn=1"]
    r = Run(sppsim, "default.pcap", sets)
    evs = [e for e in r.events if e["type"] == type_]
    check(len(evs) >= 8, f"claim {claim}: only {len(evs)} {type_} events")
    used = r.cores(evs)
    check(used == {(cluster, k) for k in range(4)},
          f"claim {claim}: {type_} ran on {sorted(used)}, expected all 4 cores of cluster "
          f"{cluster} and no other")


def claim_5(sppsim):
    plurality(sppsim, 5, "tcp_data", 0)


def claim_6(sppsim):
    plurality(sppsim, 6, "tcp_ack", 1)


def claim_7(sppsim):
    """A flow identification key is extracted, a local flow-ID proxy generated from it, and the
    flow's state retrieved with the proxy: every connection open at once has its own proxy, all
    of a connection's events carry it, and its state (rcv_nxt) carried from event to event
    delivers the connection's bytes in order."""
    r = Run(sppsim, "default.pcap")
    opens = [f for f in r.flows if f["event"] == "open"]
    check(len(opens) == 25, f"claim 7: {len(opens)} connections opened, expected 25")
    keys = {f["key"] for f in opens}
    check(len(keys) == 25, "claim 7: two connections share a key")
    proxies = {f["flow"] for f in opens}
    check(len(proxies) == 25, f"claim 7: 25 simultaneous connections got {len(proxies)} proxies")
    check(all(0 <= e["flow"] < 16384 for e in r.events), "claim 7: a proxy outside the table")
    luc = r.stats["units"]["lookup"]
    disp = r.stats["units"]["dispatcher"]
    check(luc["requests"] == disp["events_dispatched"],
          f"claim 7: {luc['requests']} state retrievals for {disp['events_dispatched']} events")
    closes = {f["flow"]: f["delivered"] for f in r.flows if f["event"] == "close"}
    check(sum(closes.values()) <= r.stats["delivered"]["bytes"], "claim 7: delivery accounting")
    check(r.stats["delivered"]["bytes"] > 40000, "claim 7: the connections delivered no data")


def claim_9(sppsim):
    """Messages of the first flow arrive on a first logical channel, their events form a first
    class, and that class's event-handling routine (its portions of the state) runs them."""
    r = Run(sppsim, "tcp_basic.pcap")
    net = [e for e in r.events if e["pkt"] >= 0]
    check(len(net) == 10, f"claim 9: {len(net)} network events, expected 10")
    for e in net:
        check(e["chan"] == "network" and e["class"] == "receive" and e["portions"] == 1,
              f"claim 9: {e['type']} on channel {e['chan']}, class {e['class']}, "
              f"portions {e['portions']}")


def overlapping(a, b):
    return a["start_ps"] < b["end_ps"] and b["start_ps"] < a["end_ps"]


def split_run(sppsim, clusters=2):
    sets = [f"chip.clusters={clusters}", "cluster.cores=2", "route.tcp_internal=2"]
    if clusters == 3:
        sets += ["route.tcp_ack=2", "route.tcp_internal=4"]
    return Run(sppsim, "tcp_basic.pcap", sets, microcode=SPLIT, extra=["--saturate"])


def claim_11(sppsim):
    """A flow's state is partitioned into two workspace portions, assigned to two cores: the
    receive events of a flow run with portion rx on cluster 0 while its internal events run
    with portion tx on cluster 1, and for some flows a received event and an internal event
    ran at the same time on their two cores."""
    r = split_run(sppsim)
    data, internal = r.by_flow("tcp_data"), r.by_flow("tcp_internal")
    check(data and internal, "claim 11: no data or no internal events")
    for f in data:
        check(all(e["portions"] == 1 and e["cluster"] == 0 for e in data[f]),
              f"claim 11: flow {f}: a data event without portion rx alone on cluster 0")
    for f in internal:
        check(all(e["portions"] == 2 and e["cluster"] == 1 for e in internal[f]),
              f"claim 11: flow {f}: an internal event without portion tx alone on cluster 1")
    received = {}
    for e in r.events:
        if e["class"] == "receive":
            received.setdefault(e["flow"], []).append(e)
    concurrent = sum(1 for f in received for a in received[f] for b in internal.get(f, [])
                     if overlapping(a, b) and (a["cluster"], a["core"]) != (b["cluster"], b["core"]))
    check(concurrent > 0, "claim 11: no flow ever had its two portions in use at the same time")


def claim_23(sppsim):
    """Each core has its own on-chip memory; the lookup controller transfers the first portion
    to the first core's memory and the second to the second's: the bytes it moved are exactly
    each event's portion size (16 bytes for rx or tx in split.uc), twice (in and back)."""
    r = split_run(sppsim)
    luc = r.stats["units"]["lookup"]
    n = luc["requests"]
    check(n == len(r.events), f"claim 23: {n} transfers for {len(r.events)} events")
    check(luc["bytes_moved"] == 2 * 16 * n,
          f"claim 23: {luc['bytes_moved']} bytes moved, expected {2 * 16 * n} (16 in, 16 out)")


def claim_13(sppsim):
    """A flow timer is set (split.uc arms one on each SYN), its expiry raises a timeout event,
    and the event is forwarded to a selected core of the cluster configured for it."""
    r = Run(sppsim, "default.pcap", ["route.tcp_rto=2", "cluster.cores=4",
                                     "dispatcher.policy=round_robin"], microcode=SPLIT)
    luc = r.stats["units"]["lookup"]
    syns = [e for e in r.events if e["type"] == "tcp_syn"]
    check(luc["timers_set"] == len(syns) == 25 and luc["timers_fired"] == 25,
          f"claim 13: {len(syns)} SYNs, timers set {luc['timers_set']}, fired "
          f"{luc['timers_fired']}")
    fired = [e for e in r.events if e["type"] == "tcp_rto"]
    check(len(fired) == 25, f"claim 13: 25 timers fired, {len(fired)} timeout events ran")
    check(sorted(e["flow"] for e in fired) == sorted(e["flow"] for e in syns),
          "claim 13: the timeout events are not one per flow that armed a timer")
    for e in fired:
        check(e["chan"] == "timer" and e["class"] == "timer" and e["cluster"] == 1,
              f"claim 13: a timeout event on {e['chan']}/{e['class']} on cluster {e['cluster']}")
    check(len(r.cores(fired)) > 1, "claim 13: every timeout went to the same core")


def claim_24(sppsim):
    """The lookup controller administers the timer: each expiry reaches a core 10 us after the
    handler that armed it (to the timer wheel's 1 us resolution)."""
    r = Run(sppsim, "default.pcap", microcode=SPLIT)
    armed = {e["flow"]: e["end_ps"] for e in r.events if e["type"] == "tcp_syn"}
    fired = [e for e in r.events if e["type"] == "tcp_rto"]
    check(len(fired) == len(armed) == 25, f"claim 24: {len(fired)} of {len(armed)} fired")
    for e in fired:
        dt = e["arrival_ps"] - armed[e["flow"]]
        check(9_000_000 <= dt <= 11_000_000,
              f"claim 24: flow {e['flow']}: the timeout came {dt} ps after arming, not 10 us")


def claim_15(sppsim):
    """A core generates an additional event from the flow's current state; the current state is
    retrieved for it and a third core, different from the cores that ran the first and second
    types, processes it (tcp_data on cluster 0, tcp_ack on cluster 1, internal on cluster 2)."""
    r = split_run(sppsim, clusters=3)
    emitted = sum(e["cmds"].count("ev_emit") for e in r.events)
    internal = [e for e in r.events if e["type"] == "tcp_internal"]
    check(emitted > 0 and len(internal) == emitted,
          f"claim 15: {emitted} events generated, {len(internal)} ran")
    d, a, i = r.by_flow("tcp_data"), r.by_flow("tcp_ack"), r.by_flow("tcp_internal")
    for f in i:
        third = r.cores(i[f])
        first, second = r.cores(d.get(f, [])), r.cores(a.get(f, []))
        check(not (third & first) and not (third & second),
              f"claim 15: flow {f}: internal events on {third}, data on {first}, acks on {second}")
        for e in i[f]:
            check(e["portions"] == 2 and e["cluster"] == 2,
                  f"claim 15: flow {f}: internal event with portions {e['portions']} on "
                  f"cluster {e['cluster']}")


def claim_25(sppsim):
    """The generated event carries the flow's current state: each internal event's argument is
    the payload of the data event that raised it, and there is one per data segment."""
    r = split_run(sppsim)
    d, i = r.by_flow("tcp_data"), r.by_flow("tcp_internal")
    for f in d:
        check(len(i.get(f, [])) == len(d[f]),
              f"claim 25: flow {f}: {len(d[f])} data events but {len(i.get(f, []))} internal")
    luc = r.stats["units"]["lookup"]
    check(luc["requests"] == len(r.events), "claim 25: an event ran without its state")


def claim_26(sppsim):
    claim_15(sppsim)


def buffer_rule(mss, shift, page=2048, segs=1024, lo=16384, hi=4194304):
    mss = mss or 536
    cap = min(hi, 65535 << shift)
    size = max(lo, mss * segs)
    size = min(size, cap)
    return max(page, size // page * page)


def claim_16(sppsim):
    """Each flow's communication buffer is sized from information in its messages (the peer's
    MSS and the window scale): every connection's size follows the documented rule, and
    connections that negotiated differently got different sizes."""
    r = Run(sppsim, "default.pcap")
    opens = [f for f in r.flows if f["event"] == "open"]
    for f in opens:
        want = buffer_rule(f["peer_mss"], f["shift"])
        check(f["buffer_bytes"] == want,
              f"claim 16: {f['key']}: buffer {f['buffer_bytes']}, rule gives {want}")
    sizes = {f["buffer_bytes"] for f in opens}
    check(len(sizes) >= 2, f"claim 16: every connection got the same buffer size {sizes}")


def claim_27(sppsim):
    claim_16(sppsim)


def claim_28(sppsim):
    """A second flow's buffer is sized from its own messages: with a smaller MSS limit the same
    connections get smaller buffers (smc.buf_segments halves the size of unclamped ones)."""
    a = Run(sppsim, "default.pcap")
    b = Run(sppsim, "default.pcap", ["smc.buf_segments=16"])
    sa = {f["key"]: f["buffer_bytes"] for f in a.flows if f["event"] == "open"}
    sb = {f["key"]: f["buffer_bytes"] for f in b.flows if f["event"] == "open"}
    check(sa.keys() == sb.keys(), "claim 28: the runs opened different connections")
    check(any(sb[k] < sa[k] for k in sa), "claim 28: no buffer followed the configuration")
    for f in (x for x in b.flows if x["event"] == "open"):
        check(f["buffer_bytes"] == buffer_rule(f["peer_mss"], f["shift"], segs=16),
              f"claim 28: {f['key']}: {f['buffer_bytes']}")


def claim_17(sppsim):
    """The buffer is made of pages of one size, one page allocated per allocation operation:
    for in-order streams consumed at once, the allocations equal the pages the streams
    touched, ceil(bytes / page) per connection, and every page returns to the pool."""
    r = Run(sppsim, "tcp_basic.pcap", ["smc.page_size=1024"])
    smc = r.stats["units"]["smc"]
    closes = [f for f in r.flows if f["event"] == "close"]
    check(len(closes) == 1, f"claim 17: {len(closes)} connections closed, expected 1")
    want = sum(math.ceil(f["delivered"] / 1024) for f in closes)
    check(smc["page_allocs"] == want,
          f"claim 17: {smc['page_allocs']} allocation operations, expected {want}")
    check(smc["pages_peak"] >= 1 and smc["page_frees"] == smc["page_allocs"],
          f"claim 17: {smc['page_allocs']} pages allocated, {smc['page_frees']} freed")
    opens = [f for f in r.flows if f["event"] == "open"]
    check(all(f["buffer_bytes"] % 1024 == 0 for f in opens), "claim 17: a partial page")


def claim_21(sppsim):
    """The dispatcher generates the proxy from the key, within a table of bounded capacity: with
    8 proxies, no event carries a proxy outside 0..7, and the opening events that found the
    table full were dropped as flow_table_full (counted, never silently)."""
    r = Run(sppsim, "default.pcap", ["dispatcher.flows=8"])
    check(all(0 <= e["flow"] < 8 for e in r.events), "claim 21: a proxy outside 0..7")
    full = r.stats["packets"]["dropped"]["flow_table_full"]
    check(full > 0, "claim 21: 25 connections fit in 8 proxies")
    opened = r.stats["units"]["dispatcher"]["flows_opened"]
    check(opened < 25 and r.stats["units"]["dispatcher"]["flows_peak"] <= 8,
          f"claim 21: {opened} flows opened with 8 proxies")


def claim_22(sppsim):
    """The lookup controller retrieves the flow state with the proxy: without a cache, every
    event of a known flow reads the whole record from external memory; new flows start from a
    zeroed record without a read."""
    r = Run(sppsim, "default.pcap", ["lookup.cache_flows=0"])
    luc = r.stats["units"]["lookup"]
    opened = r.stats["units"]["dispatcher"]["flows_opened"]
    check(luc["fresh"] == opened, f"claim 22: {luc['fresh']} fresh records for {opened} flows")
    check(luc["cache_misses"] == luc["requests"] - luc["fresh"] and luc["cache_hits"] == 0,
          f"claim 22: {luc['cache_misses']} misses for {luc['requests']} requests")
    ws = r.stats["units"]["lookup"]["memory"]["bytes_read"] // max(1, luc["cache_misses"])
    check(ws > 0 and luc["memory"]["bytes_read"] == ws * luc["cache_misses"],
          "claim 22: every miss reads one whole record")


CLAIMS = {n: f for n, f in ((int(k.split("_")[1]), v) for k, v in globals().items()
                            if k.startswith("claim_"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sppsim", required=True)
    ap.add_argument("--claim", type=int, required=True, choices=sorted(CLAIMS))
    args = ap.parse_args()
    try:
        CLAIMS[args.claim](os.path.abspath(args.sppsim))
    except Failure as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

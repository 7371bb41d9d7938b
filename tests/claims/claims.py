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
import struct
import subprocess
import sys
import tempfile
import zlib

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

    def __init__(self, sppsim, trace, sets=(), microcode=None, extra=(), config=None):
        with tempfile.TemporaryDirectory() as tmp:
            paths = {k: os.path.join(tmp, k) for k in ("stats", "events", "flows")}
            cmd = [sppsim, "--quiet", "--no-progress", "--trace", os.path.join("traces", trace),
                   "--stats", paths["stats"], "--event-log", paths["events"],
                   "--flow-log", paths["flows"]]
            if microcode:
                cmd += ["--microcode", microcode]
            if config:
                cmd += ["--config", os.path.join("configs", config)]
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


# --- a second stateful protocol (RoCEv2) beside TCP: traces/mixed_tcp_roce.pcap carries 6 TCP
# connections and 6 RoCE queue pairs (set up from its .qps.json by roce_connect host events) ---
MIXED = "mixed_tcp_roce.pcap"
SENDS = ["roce_send_first", "roce_send_middle", "roce_send_last", "roce_send_only"]
WRITES = ["roce_write_first", "roce_write_middle", "roce_write_last", "roce_write_only"]


def proto(e):
    return e["type"].split("_")[0]


def mixed_flows(r, claim):
    """The TCP and RoCE connections the run opened, by proxy; both protocols must be there."""
    opens = {f["flow"]: f["key"] for f in r.flows if f["event"] == "open"}
    tcp = {p for p, k in opens.items() if k.endswith("/tcp")}
    roce = {p for p, k in opens.items() if "/roce qp " in k}
    check(len(tcp) == 6 and len(roce) == 6,
          f"claim {claim}: {len(tcp)} TCP and {len(roce)} RoCE flows opened, expected 6 and 6")
    return tcp, roce


def network_types(r, flows, prefix):
    """The event types derived from received messages, per flow of one protocol."""
    out = {}
    for e in r.events:
        if e["flow"] in flows and e["chan"] == "network" and e["type"].startswith(prefix):
            out.setdefault(e["flow"], set()).add(e["type"])
    return out


def claim_2(sppsim):
    """A second flow of a second stateful protocol is received on the same chip and events of
    at least a third and a fourth type are derived from its messages: each RoCE queue pair's
    packets became roce_* events of two or more types (not TCP's), processed, beside the TCP
    connections' own tcp_* types."""
    r = Run(sppsim, MIXED, config="roce_separate.json")
    tcp, roce = mixed_flows(r, 2)
    rt, tt = network_types(r, roce, ""), network_types(r, tcp, "")
    for f in roce:
        types = rt.get(f, set())
        check(len(types) >= 2 and all(t.startswith("roce_") for t in types),
              f"claim 2: RoCE flow {f}: received events of types {sorted(types)}")
    for f in tcp:
        types = tt.get(f, set())
        check(len(types) >= 2 and all(t.startswith("tcp_") for t in types),
              f"claim 2: TCP flow {f}: received events of types {sorted(types)}")
    prot = r.stats["protocols"]
    check(prot["tcp"]["packets"] > 0 and prot["roce"]["packets"] > 0
          and prot["tcp"]["bytes_delivered"] > 0 and prot["roce"]["bytes_delivered"] > 0,
          f"claim 2: per-protocol counts {prot}")
    check(all(e["fault"] == "ok" for e in r.events), "claim 2: an event handler faulted")


def claim_3(sppsim):
    """The second protocol's third and fourth types are assigned to a third and a fourth core:
    with configs/roce_separate.json every RoCE event ran on clusters 2-3 and every TCP event on
    clusters 0-1; each queue pair's connect event ran on cluster 3 and its received events on
    cluster 2, so on cores other than each other's and than TCP's."""
    r = Run(sppsim, MIXED, config="roce_separate.json")
    tcp, roce = mixed_flows(r, 3)
    for e in r.events:
        want = {2, 3} if proto(e) == "roce" else {0, 1}
        check(e["cluster"] in want,
              f"claim 3: {e['type']} of flow {e['flow']} ran on cluster {e['cluster']}")
    check({e["flow"] for e in r.events if proto(e) == "tcp"} == tcp
          and {e["flow"] for e in r.events if proto(e) == "roce"} == roce,
          "claim 3: a flow's events were not all of its own protocol, or a flow ran no event")
    conn = r.by_flow("roce_connect")
    for f in roce:
        recv = [e for e in r.events if e["flow"] == f and e["chan"] == "network"]
        check(recv and all(e["cluster"] == 2 for e in recv),
              f"claim 3: RoCE flow {f}: received events on {sorted(r.cores(recv))}")
        check(len(conn.get(f, [])) == 1 and conn[f][0]["cluster"] == 3,
              f"claim 3: RoCE flow {f}: connect events {conn.get(f)}")


def claim_4(sppsim):
    """The first and second cores also process the second protocol's third and fourth types:
    with configs/roce_shared.json (both protocols on clusters 0-1) every event ran there and
    cores ran events of both protocols; with tcp_data and roce_send_* routed to cluster 0 and
    tcp_ack and roce_write_* to cluster 1, the cores that ran the TCP types ran the RoCE ones."""
    r = Run(sppsim, MIXED, config="roce_shared.json")
    mixed_flows(r, 4)
    check(all(e["cluster"] in (0, 1) for e in r.events), "claim 4: an event outside clusters 0-1")
    by_core = {}
    for e in r.events:
        by_core.setdefault((e["cluster"], e["core"]), set()).add(proto(e))
    both = [c for c, p in by_core.items() if p == {"tcp", "roce"}]
    check(both, f"claim 4: no core ran both protocols: {by_core}")
    sets = ["route.tcp_data=1", "route.tcp_ack=2"] + [f"route.{t}=1" for t in SENDS] + \
        [f"route.{t}=2" for t in WRITES]
    r = Run(sppsim, MIXED, sets, config="roce_shared.json")
    first = r.cores(e for e in r.events if e["type"] == "tcp_data")
    third = r.cores(e for e in r.events if e["type"] in SENDS)
    second = r.cores(e for e in r.events if e["type"] == "tcp_ack")
    fourth = r.cores(e for e in r.events if e["type"] in WRITES)
    check(first and third and {c[0] for c in first | third} == {0},
          f"claim 4: tcp_data on {sorted(first)}, roce_send on {sorted(third)}")
    check(second and fourth and {c[0] for c in second | fourth} == {1},
          f"claim 4: tcp_ack on {sorted(second)}, roce_write on {sorted(fourth)}")
    check(first & third and second & fourth,
          "claim 4: no core ran both a TCP type and the RoCE type routed with it")


def read_pcap(path):
    """(IPv4 source, destination, UDP source port, BTH destination QP) of each frame, or None
    for frames that are not RoCEv2 over IPv4 (the mixed trace has no VLAN tags)."""
    with open(path, "rb") as f:
        d = f.read()
    off, out = 24, []
    while off < len(d):
        cl = struct.unpack("<I", d[off + 8:off + 12])[0]
        p = d[off + 16:off + 16 + cl]
        off += 16 + cl
        if p[12:14] != b"\x08\x00" or p[23] != 17:
            out.append(None)
            continue
        l4 = 14 + (p[14] & 15) * 4
        ip = (".".join(map(str, p[26:30])), ".".join(map(str, p[30:34])))
        out.append((ip[0], ip[1], struct.unpack(">H", p[l4:l4 + 2])[0],
                    int.from_bytes(p[l4 + 13:l4 + 16], "big")))
    return out


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def own_udp_ports(src, dst):
    """Copy pcap src to dst giving every RoCEv2 frame its own UDP source port (49152 + frame
    index), with the UDP checksum and the ICRC (which covers the port) made right again."""
    with open(src, "rb") as f:
        d = bytearray(f.read())
    off, i = 24, 0
    while off < len(d):
        cl = struct.unpack("<I", d[off + 8:off + 12])[0]
        p = off + 16
        off, i = p + cl, i + 1
        if d[p + 12:p + 14] != b"\x08\x00" or d[p + 23] != 17:
            continue
        l4 = p + 14 + (d[p + 14] & 15) * 4
        end = p + cl
        d[l4:l4 + 2] = struct.pack(">H", 49152 + i)
        ip = bytearray(d[p + 14:l4])
        ip[1], ip[8], ip[10:12] = 0xFF, 0xFF, b"\xff\xff"
        udp = bytearray(d[l4:l4 + 8])
        udp[6:8] = b"\xff\xff"
        rest = bytearray(d[l4 + 8:end - 4])
        rest[4] = 0xFF
        d[end - 4:end] = struct.pack("<I", zlib.crc32(b"\xff" * 8 + ip + udp + rest))
        d[l4 + 6:l4 + 8] = b"\0\0"
        ulen = struct.unpack(">H", d[l4 + 4:l4 + 6])[0]
        c = csum16(bytes(d[p + 26:p + 34]) + struct.pack(">HH", 17, ulen) + bytes(d[l4:l4 + ulen]))
        d[l4 + 6:l4 + 8] = struct.pack(">H", c or 0xFFFF)
    with open(dst, "wb") as f:
        f.write(d)


def claim_19(sppsim):
    """The input processing unit derives typed events for both protocols, each with its own flow
    key: TCP's 5-tuple, RoCE's addresses and destination QP (the UDP source port is not part of
    it). Every RoCE event from a packet belongs to the flow whose key is that packet's
    addresses and QP; and when every RoCE packet of the trace is given its own UDP source port
    the chip runs the same flows with the same events, each QP's packets now from many ports."""
    r = Run(sppsim, MIXED, config="roce_separate.json")
    tcp, roce = mixed_flows(r, 19)
    derived = r.stats["units"]["ipu"]["events_derived"]
    for p in ("tcp_", "roce_"):
        n = [t for t, v in derived.items() if t.startswith(p) and v > 0]
        check(len(n) >= 2, f"claim 19: the IPU derived {p}* events of types {n}")
    keys = {f["flow"]: f["key"] for f in r.flows if f["event"] == "open"}
    frames = read_pcap(os.path.join(ROOT, "traces", MIXED))
    ports = {}
    checked = 0
    for e in r.events:
        if e["chan"] != "network" or proto(e) != "roce":
            continue
        fr = frames[e["pkt"]]
        check(fr is not None, f"claim 19: {e['type']} from packet {e['pkt']}, not RoCE")
        want = f"{fr[0]}>{fr[1]}/roce qp 0x{fr[3]:06x}"
        check(keys.get(e["flow"]) == want,
              f"claim 19: packet {e['pkt']} ({want}) ran as flow {e['flow']} "
              f"({keys.get(e['flow'])})")
        check(":" not in keys[e["flow"]], f"claim 19: a RoCE key with a port: {want}")
        ports.setdefault(e["flow"], set()).add(fr[2])
        checked += 1
    check(checked >= 50 and set(ports) == roce,
          f"claim 19: {checked} RoCE packet events over {len(ports)} flows")
    for f in tcp:
        check(keys[f].count(":") == 2, f"claim 19: TCP key without ports: {keys[f]}")
    with tempfile.TemporaryDirectory() as tmp:
        moved = os.path.join(tmp, "ports.pcap")
        own_udp_ports(os.path.join(ROOT, "traces", MIXED), moved)
        q = Run(sppsim, moved, config="roce_separate.json",
                extra=["--roce-qps", os.path.join("traces", "mixed_tcp_roce.qps.json")])
        moved_frames = read_pcap(moved)
    drops = {k: v for k, v in q.stats["packets"]["dropped"].items() if v}
    check(drops == {k: v for k, v in r.stats["packets"]["dropped"].items() if v},
          f"claim 19: with new UDP source ports the drops became {drops}")
    check(sorted(f["key"] for f in q.flows if f["event"] == "open")
          == sorted(f["key"] for f in r.flows if f["event"] == "open"),
          "claim 19: with new UDP source ports the chip opened other flows")
    check(q.stats["events"] == r.stats["events"],
          "claim 19: with new UDP source ports the chip ran other events")
    qports = {}
    for e in q.events:
        if e["chan"] == "network" and proto(e) == "roce":
            qports.setdefault(e["flow"], set()).add(moved_frames[e["pkt"]][2])
    check(all(len(v) >= 2 for v in qports.values()) and len(qports) == 6,
          f"claim 19: RoCE flows by source ports {qports}")


def claim_20(sppsim):
    """The dispatcher gives the second protocol's flows local proxies and assigns its third type
    to a third core and its fourth to a fourth: with roce_send_* routed to cluster 2 and
    roce_write_* to cluster 3 under flow affinity, each queue pair's sends ran on one core of
    cluster 2 and its writes on one core of cluster 3; every RoCE flow has its own proxy."""
    sets = ["dispatcher.policy=affinity"] + [f"route.{t}=4" for t in SENDS] + \
        [f"route.{t}=8" for t in WRITES]
    r = Run(sppsim, MIXED, sets, config="roce_separate.json")
    tcp, roce = mixed_flows(r, 20)
    check(len(tcp | roce) == 12 and all(0 <= e["flow"] < 16384 for e in r.events),
          "claim 20: the 12 flows do not have 12 local proxies")
    sends, writes = {}, {}
    for e in r.events:
        if e["type"] in SENDS:
            sends.setdefault(e["flow"], []).append(e)
        elif e["type"] in WRITES:
            writes.setdefault(e["flow"], []).append(e)
    both = sorted(set(sends) & set(writes))
    check(len(both) >= 3, f"claim 20: only {len(both)} queue pairs had sends and writes")
    for f in set(sends) | set(writes):
        check(f in roce, f"claim 20: RoCE events of flow {f}, not a queue pair")
    for f in both:
        c3, c4 = r.cores(sends[f]), r.cores(writes[f])
        check(len(c3) == 1 and len(c4) == 1 and next(iter(c3))[0] == 2
              and next(iter(c4))[0] == 3,
              f"claim 20: flow {f}: sends on {sorted(c3)}, writes on {sorted(c4)}")


def claim_29(sppsim):
    """One apparatus: the IPU makes events from both protocols' messages, a cluster of cores
    runs both (configs/roce_shared.json), the lookup controller retrieves their state from
    external memory (no cache: every known flow's event reads it), payload passes through the
    scratchpad (all freed at the end) to the socket memory controller, which delivers both
    protocols' bytes."""
    r = Run(sppsim, MIXED, ["lookup.cache_flows=0"], config="roce_shared.json")
    mixed_flows(r, 29)
    check({proto(e) for e in r.events} == {"tcp", "roce"}, "claim 29: one protocol ran no event")
    u = r.stats["units"]
    luc, disp = u["lookup"], u["dispatcher"]
    check(luc["requests"] == disp["events_dispatched"] == len(r.events),
          f"claim 29: {luc['requests']} retrievals, {disp['events_dispatched']} dispatched, "
          f"{len(r.events)} events ran")
    check(luc["memory"]["reads"] == luc["requests"] - luc["fresh"] > 0,
          f"claim 29: {luc['memory']['reads']} external reads for {luc['requests']} requests")
    sp = u["scratchpad"]
    check(sp["allocs"] == r.stats["packets"]["in"] and sp["frees"] == sp["allocs"]
          and sp["cells_used"] == 0,
          f"claim 29: scratchpad {sp['allocs']} allocs, {sp['frees']} frees")
    prot = r.stats["protocols"]
    check(prot["tcp"]["bytes_delivered"] > 0 and prot["roce"]["bytes_delivered"] > 0,
          f"claim 29: delivered {prot['tcp']['bytes_delivered']} TCP, "
          f"{prot['roce']['bytes_delivered']} RoCE bytes")
    check(u["smc"]["bytes_appended"] == prot["tcp"]["bytes_delivered"]
          + prot["roce"]["bytes_delivered"],
          f"claim 29: SMC took {u['smc']['bytes_appended']} bytes")


def four_types(sppsim, claim):
    """tcp_syn to cluster 0, tcp_data to 1, roce_send_* to 2, roce_write_* to 3, flow affinity:
    the run of the mixed trace, with the per-flow cores of each of the four types."""
    sets = ["dispatcher.policy=affinity", "route.tcp_syn=1", "route.tcp_data=2"] + \
        [f"route.{t}=4" for t in SENDS] + [f"route.{t}=8" for t in WRITES]
    r = Run(sppsim, MIXED, sets, config="roce_separate.json")
    mixed_flows(r, claim)
    groups = [["tcp_syn"], ["tcp_data"], SENDS, WRITES]
    per = []
    for g in groups:
        d = {}
        for e in r.events:
            if e["type"] in g:
                d.setdefault(e["flow"], set()).add((e["cluster"], e["core"]))
        per.append(d)
    return per


def pair_on_two_cores(claim, a, b, ca, cb, what, min_flows):
    both = sorted(set(a) & set(b))
    check(len(both) >= min_flows, f"claim {claim}: only {len(both)} flows have both {what}")
    for f in both:
        check(len(a[f]) == 1 and len(b[f]) == 1,
              f"claim {claim}: flow {f}: {what} ran on {a[f]} and {b[f]}: one core each")
        check(next(iter(a[f]))[0] == ca and next(iter(b[f]))[0] == cb,
              f"claim {claim}: flow {f}: {what} on {a[f]}, {b[f]}")


def claim_30(sppsim):
    """On the two-protocol apparatus of claim 29, the first protocol's first and second types go
    to a first and a second core as configured: each TCP connection's SYN ran on one core of
    cluster 0 and its data on one core of cluster 1 (and no RoCE event on either)."""
    per = four_types(sppsim, 30)
    pair_on_two_cores(30, per[0], per[1], 0, 1, "tcp_syn and tcp_data", 6)
    roce = set().union(*per[2].values(), *per[3].values())
    check(not {c[0] for c in roce} & {0, 1}, f"claim 30: RoCE events on {sorted(roce)}")


def claim_31(sppsim):
    """In the same run, the second protocol's third and fourth types go to a third and a fourth
    core: each queue pair's sends on one core of cluster 2, its writes on one of cluster 3,
    while TCP's two types are on clusters 0 and 1."""
    per = four_types(sppsim, 31)
    pair_on_two_cores(31, per[0], per[1], 0, 1, "tcp_syn and tcp_data", 6)
    pair_on_two_cores(31, per[2], per[3], 2, 3, "roce_send and roce_write", 3)
    tcp_cores = set().union(*per[0].values(), *per[1].values())
    roce_cores = set().union(*per[2].values(), *per[3].values())
    check(not tcp_cores & roce_cores, "claim 31: a core ran both protocols' routed types")


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

#!/usr/bin/env python3
"""Resource exhaustion, one scenario per bounded resource (docs/robustness.md): each is made to
run out through --set on a bundled trace, and the run must show it as back-pressure (a stall
counter) or as counted drops with their reason, end normally (exit 0: the chip drained and its
own SPEC §7 checks held) and keep the invariants in the stats JSON: packets in = processed +
dropped by reason, scratchpad empty, pages in use = pages allocated - freed, within the pool.
Each scenario also runs the same trace without the limit, so that the counter it checks is
shown to come from the limit and not from the trace.

Scenarios: flow table full, scratchpad full, page pool empty, timer wheel (a one-bucket wheel
and a full timer out-queue), dispatcher pending pool full, transmit queue full."""
import argparse
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, conservation, main, run  # noqa: E402
import reassemble  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--case", help="run one scenario only (flows, scratchpad, pages, timers, "
                "pending, tx)")
args = ap.parse_args()


def sets(*kv):
    out = []
    for x in kv:
        out += ["--set", x]
    return out


def go(trace, extra, name):
    """Runs the trace; checks exit 0 and the invariants; returns the stats."""
    _, _, err, s = run(args.sppsim, ["--quiet", "--trace", f"traces/{trace}"] + extra)
    check(err == "", f"{name}: stderr not empty: {err!r}")
    invariants(s, name)
    return s


def invariants(s, name):
    conservation(s, name)  # in = processed + Σ dropped; scratchpad empty, allocs = frees
    for reason, n in s["packets"]["dropped"].items():
        check(n >= 0, f"{name}: dropped.{reason} = {n}")
    m = s["units"]["smc"]
    check(m["pages_in_use"] == m["page_allocs"] - m["page_frees"],
          f"{name}: pages in use {m['pages_in_use']} != allocated {m['page_allocs']} - freed "
          f"{m['page_frees']}")
    check(m["pages_peak"] <= s["config"]["smc"]["pages"],
          f"{name}: pages peak {m['pages_peak']} beyond the pool of {s['config']['smc']['pages']}")
    d = s["units"]["dispatcher"]
    check(m["flows_open"] == d["flows_in_use"],
          f"{name}: {m['flows_open']} flows hold buffers, {d['flows_in_use']} proxies in use")
    check(m["flows_open"] or m["pages_in_use"] == 0,
          f"{name}: no flow open but {m['pages_in_use']} pages held")
    check(d["flows_peak"] <= s["config"]["dispatcher"]["flows"], f"{name}: flows peak")
    check(sum(s["events"].values()) == d["events_dispatched"],
          f"{name}: {sum(s['events'].values())} events handled, "
          f"{d['events_dispatched']} dispatched")


def drops(s):
    return {k: v for k, v in s["packets"]["dropped"].items() if v}


def flows():
    # 303 connections; a table of 2 proxies: the SYNs that find both in use are dropped as
    # flow_table_full, and the rest of those connections' segments as no_flow
    base = go("tcp_many.pcap", [], "flows/base")
    check(base["packets"]["dropped"]["flow_table_full"] == 0, "flows/base: flow_table_full")
    s = go("tcp_many.pcap", sets("dispatcher.flows=2"), "flows")
    d = s["units"]["dispatcher"]
    dr = s["packets"]["dropped"]
    check(dr["flow_table_full"] > 0 and dr["no_flow"] > 0,
          f"flows: drops {drops(s)}; expected flow_table_full and no_flow")
    check(d["flows_peak"] == 2, f"flows: peak {d['flows_peak']}, expected the table's 2")
    check(d["flows_opened"] - d["flows_closed"] == d["flows_in_use"],
          f"flows: {d['flows_opened']} opened - {d['flows_closed']} closed != "
          f"{d['flows_in_use']} in use")
    check(s["packets"]["processed"] < base["packets"]["processed"], "flows: nothing refused")


def scratchpad():
    # 64 cells of 64 bytes, a slow single core per cluster, 100 Gb/s: the IPU waits for cells
    # (back-pressure), the ingress FIFO fills behind it and arrivals are dropped as
    # ingress_overflow (counted); nothing is lost without a reason
    slow = sets("cluster.cores=1", "core.clock_mhz=10")
    base = go("tcp_many.pcap", ["--rate", "100G"] + slow, "scratchpad/base")
    check(base["units"]["ipu"]["stall_scratchpad_full"] == 0 and
          base["units"]["scratchpad"]["alloc_fail"] == 0, "scratchpad/base: the scratchpad filled")
    s = go("tcp_many.pcap", ["--rate", "100G"] + slow + sets("scratchpad.capacity=4096"),
           "scratchpad")
    sp, ipu = s["units"]["scratchpad"], s["units"]["ipu"]
    check(sp["cells"] == 64 and sp["cells_peak"] == 64, f"scratchpad: peak {sp['cells_peak']}")
    check(ipu["stall_scratchpad_full"] > 0 and sp["alloc_fail"] > 0,
          f"scratchpad: stall_scratchpad_full {ipu['stall_scratchpad_full']}, "
          f"alloc_fail {sp['alloc_fail']}")
    ing = s["units"]["ingress_fifo"]
    check(ing["stall_full"] > 0 and ing["max_depth"] == ing["capacity"],
          f"scratchpad: ingress FIFO never filled ({ing['max_depth']}/{ing['capacity']})")
    check(s["packets"]["dropped"]["ingress_overflow"] == s["units"]["source"]["dropped_ingress"]
          > base["packets"]["dropped"]["ingress_overflow"],
          f"scratchpad: ingress_overflow {s['packets']['dropped']['ingress_overflow']}, "
          f"base {base['packets']['dropped']['ingress_overflow']}")
    # in --saturate mode the source waits instead: back-pressure only, no drop at all
    s = go("tcp_many.pcap", ["--saturate"] + slow + sets("scratchpad.capacity=4096"),
           "scratchpad/saturate")
    check(s["units"]["ipu"]["stall_scratchpad_full"] > 0, "scratchpad/saturate: no stall")
    check(set(drops(s)) <= {"sent_by_local_side"}, f"scratchpad/saturate: drops {drops(s)}")
    check(s["delivered"]["bytes"] == s["units"]["smc"]["bytes_appended"],
          "scratchpad/saturate: delivered bytes differ from the bytes placed")


def windows(path):
    """(flags, window field) of every transmitted TCP segment."""
    with open(path, "rb") as f:
        raw = f.read()
    out = []
    for lt, frame, _ in reassemble.Records(raw):
        net = reassemble._network(lt, frame)
        ver, pkt = net
        r = reassemble._tcp_of_ipv4(pkt) if ver == 4 else reassemble._tcp_of_ipv6(pkt)
        seg = r[2]
        out.append((seg[13], struct.unpack_from("!H", seg, 14)[0]))
    return out


def pages():
    # one page of 2048 bytes for every connection together: data that finds no page is refused
    # (counted: refused_pool, bytes_refused) and the window the chip advertises never promises
    # more than the pool can still take
    with tempfile.TemporaryDirectory() as tmp:
        txb, tx1 = os.path.join(tmp, "base.pcap"), os.path.join(tmp, "one.pcap")
        base = go("tcp_reorder.pcap", ["--tx-pcap", txb], "pages/base")
        s = go("tcp_reorder.pcap", ["--tx-pcap", tx1] + sets("smc.pages=1"), "pages")
        wb, w1 = windows(txb), windows(tx1)
    m, mb = s["units"]["smc"], base["units"]["smc"]
    check(mb["refused_pool"] == 0, "pages/base: refused for the pool")
    check(m["refused_pool"] > 0 and m["bytes_refused"] > 0 and m["pages_peak"] == 1,
          f"pages: refused_pool {m['refused_pool']}, bytes_refused {m['bytes_refused']}, "
          f"peak {m['pages_peak']}")
    check(s["delivered"]["bytes"] < base["delivered"]["bytes"],
          "pages: as many bytes delivered as with a full pool")
    page = s["config"]["smc"]["page_size"]
    SYN = 0x02
    acks1 = [w for f, w in w1 if not f & SYN]
    acksb = [w for f, w in wb if not f & SYN]
    check(acks1 and max(acks1) <= page,
          f"pages: advertised windows up to {max(acks1, default=None)} with a {page}-byte pool")
    check(min(acks1) == 0, "pages: the window never closed although the pool was empty")
    check(max(acksb) > page, f"pages/base: windows only up to {max(acksb)}")


def timers():
    # The wheel itself cannot overflow: every timer keeps its absolute tick, so with a single
    # bucket (every timer many revolutions ahead) the run is exactly the one-revolution run.
    base = go("tcp_many.pcap", [], "timers/base")
    one = go("tcp_many.pcap", sets("lookup.timer_slots=1"), "timers/one_slot")
    lb = base["units"]["lookup"]
    check(lb["timers_fired"] > 0, "timers/base: no timer fired")
    one["config"]["lookup"]["timer_slots"] = base["config"]["lookup"]["timer_slots"]
    for x in (one, base):
        x.pop("_raw")
    check(one == base, "timers/one_slot: the stats differ from the default wheel's")
    # The timer out-queue full: coarse ticks make many timers expire together and a one-deep
    # out-queue holds one; the others stay armed and fire as room appears (stall_out_full).
    coarse = sets("lookup.timer_tick_cycles=100000000")
    b = go("tcp_many.pcap", coarse, "timers/coarse")
    s = go("tcp_many.pcap", coarse + sets("lookup.out_depth=1", "lookup.timer_slots=1"),
           "timers/queue_full")
    ls = s["units"]["lookup"]
    check(ls["stall_out_full"] > b["units"]["lookup"]["stall_out_full"],
          f"timers/queue_full: stall_out_full {ls['stall_out_full']}")
    check(ls["timers_fired"] == b["units"]["lookup"]["timers_fired"] ==
          s["events"]["tcp_delack"] + s["events"]["tcp_rto"] + s["events"]["tcp_time_wait"]
          + s["events"]["tcp_keepalive"] + s["units"]["dispatcher"]["events_dropped_closed"],
          f"timers/queue_full: {ls['timers_fired']} fired, handled {s['events']}")
    check(s["delivered"] == b["delivered"], "timers/queue_full: delivered differently")


def pending():
    # a pool of one parked event: the dispatcher stops taking input while it is full
    # (back-pressure, stall_pending_full); nothing is dropped for it
    slow = ["--saturate"] + sets("cluster.cores=1", "core.clock_mhz=10")
    base = go("tcp_many.pcap", slow, "pending/base")
    check(base["units"]["dispatcher"]["events_parked"] > 0 and
          base["units"]["dispatcher"]["stall_pending_full"] == 0, "pending/base: parked")
    s = go("tcp_many.pcap", slow + sets("dispatcher.pending=1"), "pending")
    d = s["units"]["dispatcher"]
    check(d["stall_pending_full"] > 0, f"pending: stall_pending_full {d['stall_pending_full']}")
    check(drops(s) == drops(base), f"pending: drops {drops(s)}, without the limit {drops(base)}")
    check(s["events"] == base["events"], "pending: other events handled than without the limit")
    check(s["units"]["smc"]["bytes_appended"] == base["units"]["smc"]["bytes_appended"],
          "pending: other bytes placed than without the limit")


def tx():
    # a one-frame transmit queue on a 1 Mb/s port: the unit takes no segment while its queue is
    # full, so the cores wait (the channel to it stalls) and nothing is dropped: every frame the
    # firmware emitted is sent, later
    # (--saturate: at the capture's pace the stalled chip would drop input at ingress instead)
    base = go("tcp_many.pcap", ["--saturate"], "tx/base")
    s = go("tcp_many.pcap", ["--saturate"] + sets("tx.depth=1", "tx.link_mbps=1"), "tx")
    t, tb = s["units"]["tx"], base["units"]["tx"]
    check(tb["drops_queue_full"] == 0 and base["units"]["tx_channel"]["stall_full"] == 0,
          "tx/base: queue full")
    check(t["drops_queue_full"] == 0, f"tx: drops_queue_full {t['drops_queue_full']}")
    check(s["units"]["tx_channel"]["stall_full"] > 0,
          f"tx: the channel never stalled: {s['units']['tx_channel']}")
    # (fewer frames than without the limit: a stalled receive core finds more data in order by
    # the time it runs, so its delayed ACKs cover more)
    check(0 < t["frames"] <= tb["frames"], f"tx: {t['frames']} sent, {tb['frames']} without")
    check(s["sim_time_ps"] > base["sim_time_ps"], "tx: not slower at 1 Mb/s")
    for k in ("bytes", "connections"):
        check(s["delivered"][k] == base["delivered"][k], f"tx: delivered {k} differently")


CASES = {"flows": flows, "scratchpad": scratchpad, "pages": pages, "timers": timers,
         "pending": pending, "tx": tx}


def body():
    for name, fn in CASES.items():
        if args.case in (None, name):
            fn()


main(body)

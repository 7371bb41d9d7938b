#!/usr/bin/env python3
"""Closed-loop runs (--generate, issue 5): the generator's remote clients talk to the chip's
microcode through a link with delay, loss and reordering, and the host application answers.

Checked, per scenario, independently of the simulator's own counters where it can be:
- every byte each client sent reached the chip's host exactly once and in order: the chip's
  delivered streams (--deliver-dir) equal the data pattern of docs/generator.md, recomputed
  here in Python from its definition (pat_key, pat_fill), byte for byte and length for length;
- every byte the chip's application sent reached the remote exactly once (the remote checks
  each byte it receives against the same pattern: verified == received == what the chip's
  host wrote, none corrupt);
- every connection completed, none failed or was reset; every request was answered;
- the conservation invariants (packets in = processed + dropped; scratchpad empty, pages held =
  pages of open flows: sppsim itself exits 3 otherwise);
- the same config twice gives byte-identical stats and captures;
- with loss, retransmissions happened (on both sides) and still nothing was lost or doubled.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

from common import check, conservation, main, pat_bytes, pat_key, run, tshark_findings

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--only", help="run one scenario by name")
ap.add_argument("--microcode", help="another TCP microcode than the bundled one")
args = ap.parse_args()

def tshark_check(name, d, lossless):
    """The whole conversation (what reached the chip's port and what it sent, merged) as
    tshark sees it: no malformed frame; no TCP analysis finding the scenario did not cause —
    none at all without loss (retransmission, duplicate ACK, out of order, lost segment, ACKed
    unseen segment ...), and never an "ACKed unseen segment" with it (the capture is taken at
    the chip's port: every frame the chip sent is in it)."""
    if not (shutil.which("tshark") and shutil.which("mergecap")):
        print(f"{name}: tshark or mergecap not installed: the capture check is skipped")
        return
    both = os.path.join(d, "all.pcap")
    subprocess.run(["mergecap", "-w", both, os.path.join(d, "in.pcap"),
                    os.path.join(d, "tx.pcap")], check=True, capture_output=True)
    rows = tshark_findings(both)
    malformed = [row for row in rows if row[2]]
    check(not malformed, f"{name}: tshark finds malformed frames: {malformed[:3]}")
    unseen = [row for row in rows if row[3]]
    check(not unseen, f"{name}: ACKed unseen segment: {unseen[:3]}")
    if lossless:
        flagged = [row for row in rows if any(row[4:8])]
        check(not flagged, f"{name}: TCP analysis findings without loss: {flagged[:5]}")


def scenario(name, remote, host_app, sets=(), expect_retrans=False, time_waits=0):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "gen.json")
        with open(cfg, "w") as f:
            json.dump({"remote": remote, "host_app": host_app}, f)
        outs = []
        for k in range(2):
            d = os.path.join(tmp, f"run{k}")
            os.mkdir(d)
            extra = ["--microcode", args.microcode] if args.microcode else []
            for s in sets:
                extra += ["--set", s]
            _, _, _, st = run(args.sppsim, ["--quiet", "--generate", cfg, "--deliver-dir",
                                            os.path.join(d, "deliver"), "--tx-pcap",
                                            os.path.join(d, "tx.pcap"), "--gen-pcap",
                                            os.path.join(d, "in.pcap")] + extra)
            outs.append((d, st))
        (d, st), (d2, st2) = outs
        conservation(st, name)
        for f in ("tx.pcap", "in.pcap"):
            with open(os.path.join(d, f), "rb") as a, open(os.path.join(d2, f), "rb") as b:
                check(a.read() == b.read(), f"{name}: {f} differs between two identical runs")
        strip = lambda s: {k: v for k, v in s.items() if k not in ("_raw", "tool")}
        check(strip(st) == strip(st2), f"{name}: the stats differ between two identical runs")
        cl = st["closed_loop"]
        clients = remote["clients"]
        reqs = remote.get("requests", 1)
        check(cl["conns_completed"] == clients and cl["conns_failed"] == 0 and
              cl["conns_reset"] == 0 and cl["conns_incomplete"] == 0,
              f"{name}: connections {clients}: completed {cl['conns_completed']}, failed "
              f"{cl['conns_failed']}, reset {cl['conns_reset']}, incomplete "
              f"{cl['conns_incomplete']}")
        check(cl["requests_completed"] == clients * reqs,
              f"{name}: {cl['requests_completed']} requests completed of {clients * reqs}")
        check(cl["bytes_corrupt"] == 0 and cl["bytes_verified"] == cl["bytes_received"],
              f"{name}: remote received {cl['bytes_received']}, verified {cl['bytes_verified']}, "
              f"corrupt {cl['bytes_corrupt']}")
        want_resp = clients * reqs * remote.get("resp_bytes", 0)
        check(cl["bytes_received"] == want_resp,
              f"{name}: the remote received {cl['bytes_received']} bytes of responses, "
              f"expected {want_resp}")
        check(st["units"]["host_app"]["bytes_written"] == want_resp,
              f"{name}: the chip's host wrote {st['units']['host_app']['bytes_written']}")
        smc = st["units"]["smc"]  # every byte written was acknowledged, none left at a close
        check(smc["snd_bytes_written"] == want_resp and smc["snd_bytes_acked"] == want_resp and
              smc["snd_bytes_discarded"] == 0,
              f"{name}: send buffers: written {smc['snd_bytes_written']}, acknowledged "
              f"{smc['snd_bytes_acked']}, discarded {smc['snd_bytes_discarded']}")
        # the chip's side, recomputed here: each client's stream, exactly once, in order
        dl = os.path.join(d, "deliver")
        files = sorted(os.listdir(dl))
        check(len(files) == clients, f"{name}: {len(files)} delivered streams, expected {clients}")
        per = reqs * remote["req_bytes"]
        for fn in files:
            ra, rp = fn.split("-")[0].rsplit(".", 1)
            la, lp = fn.split("-")[1].rsplit(".", 1)
            with open(os.path.join(dl, fn), "rb") as f:
                got = f.read()
            want = pat_bytes(pat_key(ra, int(rp), la, int(lp)), per)
            check(len(got) == per, f"{name}: {fn}: {len(got)} bytes delivered, expected {per}")
            first = next((i for i in range(per) if got[i] != want[i]), None)
            check(first is None, f"{name}: {fn}: differs from the client's data at offset {first}")
        check(st["delivered"]["bytes"] == clients * per,
              f"{name}: delivered {st['delivered']['bytes']}, expected {clients * per}")
        tshark_check(name, d, not expect_retrans)
        # the side that closes first waits in TIME_WAIT: the chip's timer, once per connection
        check(st["events"]["tcp_time_wait"] == time_waits,
              f"{name}: {st['events']['tcp_time_wait']} TIME_WAIT expiries, expected "
              f"{time_waits}")
        retrans = cl["segs_retrans_fast"] + cl["segs_retrans_rto"]
        # the chip's: payload bytes it transmitted beyond what its host wrote
        chip_re = st["units"]["tx"]["payload_bytes"] - st["units"]["host_app"]["bytes_written"]
        if expect_retrans:
            check(cl["lost_to_chip"] + cl["lost_from_chip"] > 0, f"{name}: the link lost nothing")
            check(retrans + chip_re > 0, f"{name}: loss but nobody retransmitted")
            if not want_resp:  # bulk into the chip: the remote's data was lost
                check(retrans > 0, f"{name}: the remote never retransmitted")
            if want_resp and cl["lost_from_chip"] > 5:
                check(chip_re > 0, f"{name}: the chip never retransmitted data")
        else:
            check(retrans == 0 and chip_re == 0 and cl["lost_to_chip"] == 0,
                  f"{name}: retransmissions without loss: remote {retrans} segments, chip "
                  f"{chip_re} bytes")
        print(f"{name}: {clients} connections x {reqs} requests, {cl['bytes_sent']} bytes to the "
              f"chip, {cl['bytes_received']} back; lost {cl['lost_to_chip']}/"
              f"{cl['lost_from_chip']}, retransmitted: remote {retrans} segments, chip "
              f"{chip_re} bytes; "
              f"{st['sim_time_ps'] / 1e6:.1f} us simulated")


BASE = {"delay_us": 20, "rate_mbps": 10000, "chip_port": 80, "seed": 7}
SCENARIOS = {
    # bulk senders into a sink: the receive side alone
    "sink": lambda: scenario("sink", dict(BASE, clients=8, requests=1, req_bytes=150000,
                                          resp_bytes=0), {"app": "sink"}),
    "sink_loss5": lambda: scenario(
        "sink_loss5", dict(BASE, clients=8, requests=1, req_bytes=150000, resp_bytes=0,
                           loss_ppm=50000, reorder_ppm=20000, reorder_us=30),
        {"app": "sink"}, expect_retrans=True),
    # requests and responses: the chip's send side (slow start, ACK clocking, FIN both ways)
    "reqresp": lambda: scenario(
        "reqresp", dict(BASE, clients=6, requests=4, req_bytes=3000, resp_bytes=40000),
        {"app": "reqresp", "req_bytes": 3000, "resp_bytes": 40000}),
    # ... under 1 % and 5 % loss each way (with reordering): retransmissions on both sides
    "reqresp_loss1": lambda: scenario(
        "reqresp_loss1", dict(BASE, clients=6, requests=4, req_bytes=3000, resp_bytes=40000,
                              loss_ppm=10000, reorder_ppm=10000, reorder_us=30),
        {"app": "reqresp", "req_bytes": 3000, "resp_bytes": 40000}, expect_retrans=True),
    "reqresp_loss5": lambda: scenario(
        "reqresp_loss5", dict(BASE, clients=6, requests=4, req_bytes=3000, resp_bytes=40000,
                              loss_ppm=50000, reorder_ppm=20000, reorder_us=30),
        {"app": "reqresp", "req_bytes": 3000, "resp_bytes": 40000}, expect_retrans=True),
    # ... over a 5 ms link without loss: connections outlive the 40 ms delayed-ACK timer, which
    # must not repeat an ACK that the response data already carried (tshark: duplicate ACK)
    "reqresp_5ms": lambda: scenario(
        "reqresp_5ms", dict(BASE, delay_us=5000, clients=6, requests=4, req_bytes=3000,
                            resp_bytes=40000),
        {"app": "reqresp", "req_bytes": 3000, "resp_bytes": 40000}),
    # the chip closes first (host_app.close = response): FIN_WAIT, TIME_WAIT on the chip
    "chip_closes": lambda: scenario(
        "chip_closes", dict(BASE, clients=4, requests=1, req_bytes=3000, resp_bytes=40000,
                            close_first="server"),
        {"app": "reqresp", "req_bytes": 3000, "resp_bytes": 40000, "close": "response"},
        time_waits=4),
    # echo: the clients check that their own bytes come back
    "echo_loss1": lambda: scenario(
        "echo_loss1", dict(BASE, clients=4, requests=3, req_bytes=20000, resp_bytes=20000,
                           expect="echo", loss_ppm=10000),
        {"app": "echo"}, expect_retrans=True),
    "active_open": lambda: active_open(),
    "third_core": lambda: third_core(),
}


def third_core():
    """Claims 15, 25, 26 with TCP's own split: on a chip of three clusters (receive, send, and
    one for core-generated events), every ACK the receive side forwards becomes a tcp_internal
    event that the dispatcher gives, with the flow's send portion fetched by the lookup
    controller, to a core of the third cluster: never a core that ran the flow's network
    events or its host events; and the transfer is still exact."""
    name = "third_core"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "gen.json")
        with open(cfg, "w") as f:
            json.dump({"remote": dict(BASE, clients=4, requests=2, req_bytes=2000,
                                      resp_bytes=30000),
                       "host_app": {"app": "reqresp", "req_bytes": 2000, "resp_bytes": 30000}},
                      f)
        log = os.path.join(tmp, "events.jsonl")
        extra = ["--microcode", args.microcode] if args.microcode else []
        _, _, _, st = run(args.sppsim, ["--quiet", "--generate", cfg, "--set", "chip.clusters=3",
                                        "--set", "route.tcp_internal=4", "--event-log",
                                        log] + extra)
        conservation(st, name)
        cl = st["closed_loop"]
        check(cl["requests_completed"] == 8 and cl["bytes_verified"] == 8 * 30000,
              f"{name}: {cl['requests_completed']} requests, {cl['bytes_verified']} verified")
        with open(log) as f:
            evs = [json.loads(ln) for ln in f]
        cores = {}
        for e in evs:
            kind = "generated" if e["type"] == "tcp_internal" else e["chan"]
            cores.setdefault((e["flow"], kind), set()).add((e["cluster"], e["core"]))
        internal = [e for e in evs if e["type"] == "tcp_internal"]
        check(len(internal) > 8, f"{name}: only {len(internal)} core-generated events")
        emitted = sum(e["cmds"].count("ev_emit") for e in evs)
        raised = sum(1 for e in evs if e["chan"] == "internal")
        check(emitted == raised, f"{name}: {emitted} ev_emit commands, {raised} events ran")
        for e in internal:
            check(e["cluster"] == 2 and e["portions"] == 2 and e["chan"] == "internal",
                  f"{name}: a tcp_internal ran on cluster {e['cluster']} with portions "
                  f"{e['portions']}")
        for (flow, kind), on in cores.items():
            if kind != "generated":
                continue
            for other in ("network", "host"):
                both = on & cores.get((flow, other), set())
                check(not both, f"{name}: flow {flow}: internal and {other} events on {both}")
        check(st["units"]["lookup"]["requests"] == len(evs),
              f"{name}: {len(evs)} events but {st['units']['lookup']['requests']} state fetches")
        print(f"{name}: {len(internal)} tcp_internal events on cluster 2, none on a core that "
              f"ran its flow's network or host events")


def active_open():
    """The chip opens (--host-script connect), sends 100 000 bytes and closes; the remote's
    server answers 20 000 bytes per 50 000 received: the chip's SYN from a key template, its
    data verified by the remote, the answers delivered at the chip, TIME_WAIT on the chip."""
    name = "active_open"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "gen.json")
        with open(cfg, "w") as f:
            json.dump({"remote": dict(BASE, role="server", listen_port=8080, req_bytes=50000,
                                      resp_bytes=20000, loss_ppm=10000)}, f)
        script = os.path.join(tmp, "host.txt")
        with open(script, "w") as f:
            f.write("# the chip connects, sends and closes\n"
                    "10 connect 10.0.0.1:5000 10.0.1.1:8080\n10 send #1 100000\n"
                    "400 close #1\n")
        dl = os.path.join(tmp, "deliver")
        extra = ["--microcode", args.microcode] if args.microcode else []
        _, _, _, st = run(args.sppsim, ["--quiet", "--generate", cfg, "--host-script", script,
                                        "--deliver-dir", dl] + extra)
        conservation(st, name)
        cl = st["closed_loop"]
        check(cl["conns_accepted"] == 1 and cl["conns_completed"] == 1 and
              cl["conns_failed"] == 0 and cl["conns_reset"] == 0,
              f"{name}: accepted {cl['conns_accepted']}, completed {cl['conns_completed']}")
        check(cl["bytes_received"] == 100000 and cl["bytes_verified"] == 100000 and
              cl["bytes_corrupt"] == 0, f"{name}: the remote received {cl['bytes_received']}, "
              f"verified {cl['bytes_verified']}")
        check(cl["requests_answered"] == 2, f"{name}: {cl['requests_answered']} answered")
        check(st["units"]["tx"]["key_templates"] == 1, f"{name}: no template from the key")
        check(st["events"]["tcp_synack"] >= 1 and st["events"]["tcp_time_wait"] == 1,
              f"{name}: events {st['events']}")
        files = os.listdir(dl)
        check(files == ["10.0.1.1.8080-10.0.0.1.5000"], f"{name}: delivered {files}")
        with open(os.path.join(dl, files[0]), "rb") as f:
            got = f.read()
        want = pat_bytes(pat_key("10.0.1.1", 8080, "10.0.0.1", 5000), 40000)
        check(got == want, f"{name}: the server's {len(want)} bytes arrived as {len(got)} "
              f"different ones")
        print(f"{name}: 100000 bytes out, 40000 back, lost {cl['lost_to_chip']}/"
              f"{cl['lost_from_chip']}")


def body():
    names = [args.only] if args.only else list(SCENARIOS)
    for n in names:
        SCENARIOS[n]()


main(body)

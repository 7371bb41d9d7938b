#!/usr/bin/env python3
"""Live mode (--live IFNAME, issue 11): real Linux TCP clients talk to the chip's microcode
through a TAP interface in a network namespace of its own.

Checked, per scenario (each a fresh sppsim run with configs/live/keep-up.json: a 100 Mb/s port
and 16 KB receive buffers, which this simulator runs in real time on a small machine; sppsim and
the clients run at nice -20, ahead of whatever else the machine is doing):
- echo: N parallel IPv4 connections (opened 10 ms apart) each send B bytes and get them back
  byte-exact; the client closes first (shutdown after its last byte), the chip's echo closes
  after it: every client reads exactly B bytes and then a clean end of stream (no reset); plus
  one IPv6 connection (neighbour discovery answered by the port);
- reqresp, host_app.close = response: each client sends a B-byte request and reads the chip's
  B-byte response, which must equal the data pattern of docs/generator.md (recomputed here from
  its definition), and then the chip's FIN: the chip closes first;
- the same echo run with 1 % loss on the client side: tc netem on the TAP when the kernel has it,
  else live.rx_loss_ppm = 10000 (the test says which): byte-exact all the same, retransmissions
  seen;
- in every run: what the chip delivered to its host (--deliver-dir) equals, connection by
  connection, what the client sent; the port answered ARP; frames for the chip = frames that
  reached its port + frames lost by rx_loss; no write to the TAP failed; the conservation
  invariants (packets in = processed + dropped, scratchpad empty; sppsim exits 3 when the pages
  do not add up); exit 0 after SIGTERM;
- before the echo run's clients start, sppsim is stopped for 0.3 s (SIGSTOP): simulated time
  then lags the wall clock by more than live.max_lag_ms and must give the lag up (slips);
- tshark (if installed) on the live capture: no malformed frame, no reset; without loss no TCP
  analysis finding at all (and Linux's tcp_info counts no retransmission); with loss only the
  findings loss causes, by direction (see LOSS_OK), and no more segments missing from the
  capture than rx_loss dropped.
Without root, /dev/net/tun, iproute2 or network namespaces the test checks sppsim's one-line
error for a TAP it may not open (when not root) and exits 77 (skipped) with the reason.

Run as the client (inside the namespace): live.py --client MODE ... (see client_main).
"""
import argparse
import hashlib
import json
import os
import random
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from common import ROOT, Failure, check, conservation, pat_bytes, pat_key, tshark_findings
from common import main as run_test

SKIP = 77
CHIP4, CLIENT4 = "10.0.0.1", "10.0.0.2"
CHIP6, CLIENT6 = "fd00::1", "fd00::2"
CHIP_MAC = bytes.fromhex("020000000001")  # live.chip_mac
# The chip and port the runs use: a port of live.rate_mbps that the simulator runs in real time
# on a small machine, receive buffers that keep the port's queue short (docs/live.md, "How fast
# simulated time keeps up").
CONFIG = os.path.join(ROOT, "configs", "live", "keep-up.json")

# ---- what tshark's TCP analysis may find in the live capture ----
# Every tcp.analysis flag tshark sets (tshark -G fields) but window_update: a receiver opening its
# window is no error (Wireshark's own "Bad TCP" colouring rule, tcp.analysis.flags &&
# !tcp.analysis.window_update, leaves it out too).
FLAGS = ("retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
         "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe",
         "zero_window_probe_ack", "window_full", "keep_alive", "keep_alive_ack", "reused_ports",
         "tfo_syn", "tfo_ack", "tfo_ignored")
# With loss (live.rx_loss_ppm or netem: frames from the clients to the chip are lost before the
# port, so before the capture; nothing the chip sends is lost), by direction:
# - client -> chip: lost_segment (the capture misses the lost segment), retransmission,
#   fast_retransmission and out_of_order (Linux resends it; tshark calls a resend that fills a
#   hole soon after the segments around it out of order), spurious_retransmission (after an RTO,
#   the chip not taking SACK for every hole, Linux resends segments the chip had), duplicate_ack
#   (Linux's D-SACK answer to the chip resending what a lost ACK left unacknowledged);
#   window_full on any connection: flow control, not an error (the client filled the chip's
#   16 KB window); the run with loss does more work per byte (out-of-order data held, resends)
#   and on a loaded machine simulated time lags more, so a window fills before it is read;
#   zero_window_probe, keep_alive (a probe tshark takes for one) only on a connection that
#   already lost a segment: the chip's buffer holds the data behind the hole, its window closes
#   until the resend fills it;
# - chip -> client: duplicate_ack (the chip's ACKs while a hole is open), retransmission,
#   fast_retransmission, spurious_retransmission, out_of_order (the chip resends what lost ACKs
#   left unacknowledged), zero_window_probe_ack, keep_alive_ack, and zero_window only on a
#   connection that already lost a segment (as above).
# Never, loss or not: ack_lost_segment (the chip acknowledges only what reached its port, which
# the capture has; the client acknowledges only what the chip sent, which the capture has all),
# lost_segment from the chip (nothing it sends is lost), reused_ports, TFO, a reset.
LOSS_OK = {
    "client": {"lost_segment", "retransmission", "fast_retransmission", "out_of_order",
               "spurious_retransmission", "duplicate_ack", "window_full"},
    "chip": {"duplicate_ack", "retransmission", "fast_retransmission", "spurious_retransmission",
             "out_of_order", "zero_window_probe_ack", "keep_alive_ack"},
}
AFTER_LOSS_OK = {"client": {"zero_window_probe", "keep_alive"},
                 "chip": {"zero_window"}}


# ---- the client side (runs inside the namespace) ----

def tcp_info(s):
    """Linux's own view of a connection (struct tcp_info, linux/tcp.h): smoothed RTT and its
    variation in microseconds, and the segments it retransmitted in all (total_retrans)."""
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    if len(b) < 104:
        return None
    rtt, rttvar = struct.unpack_from("<II", b, 68)
    return {"rtt_us": rtt, "rttvar_us": rttvar, "retrans": struct.unpack_from("<I", b, 100)[0]}


def client_main(a):
    """N connections at once (one selector loop, non-blocking sockets), opened --open-every
    seconds apart; writes a JSON line per connection: port, what it sent (sha256), whether what
    came back was right, how it ended, Linux's tcp_info at the end and its largest smoothed
    RTT."""
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(a.conns):
        fam = socket.AF_INET6 if a.ipv6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = a.first_port + i  # known before the connect: the expected bytes are made first
        s.bind((CLIENT6 if a.ipv6 else CLIENT4, port))
        payload = random.Random(a.seed * 100003 + i).randbytes(a.bytes)
        expect = payload if a.mode == "echo" else pat_bytes(pat_key(CHIP4, a.port, CLIENT4, port),
                                                            a.bytes)
        s.setblocking(False)
        c = {"i": i, "s": s, "out": payload, "sent": 0, "got": 0, "ok": True, "eof": False,
             "error": "", "shut": False, "expect": expect, "port": 0, "rtt_max_us": 0,
             "info": None}
        conns.append(c)
    deadline = time.monotonic() + a.timeout
    left = len(conns)
    next_sample = 0.0
    opened, next_open = 0, time.monotonic()
    while left and time.monotonic() < deadline:
        while opened < len(conns) and time.monotonic() >= next_open:
            c = conns[opened]
            c["s"].connect_ex((CHIP6 if a.ipv6 else CHIP4, a.port))
            sel.register(c["s"], selectors.EVENT_READ | selectors.EVENT_WRITE, c)
            opened += 1
            next_open += a.open_every
        if time.monotonic() >= next_sample:  # Linux's smoothed RTT, every 0.1 s
            next_sample = time.monotonic() + 0.1
            for c in conns:
                if c["port"] and c["info"] is None and c["s"].fileno() >= 0:
                    info = tcp_info(c["s"])
                    if info:
                        c["rtt_max_us"] = max(c["rtt_max_us"], info["rtt_us"])
        wait = 0.1 if opened == len(conns) else max(0.0, min(0.1, next_open - time.monotonic()))
        for k, ev in sel.select(timeout=wait):
            c = k.data
            s = c["s"]
            if not c["port"]:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    c["error"] = f"connect: {os.strerror(err)}"
                    sel.unregister(s)
                    left -= 1
                    continue
                if not (ev & selectors.EVENT_WRITE):
                    continue
                c["port"] = s.getsockname()[1]
            try:
                if ev & selectors.EVENT_WRITE and c["sent"] < a.bytes:
                    c["sent"] += s.send(c["out"][c["sent"]:c["sent"] + 262144])
                if c["sent"] == a.bytes and not c["shut"]:
                    c["shut"] = True
                    sel.modify(s, selectors.EVENT_READ, c)
                    if a.mode == "echo":  # the client closes first
                        s.shutdown(socket.SHUT_WR)
                if ev & selectors.EVENT_READ:
                    b = s.recv(262144)
                    if b:
                        if c["expect"][c["got"]:c["got"] + len(b)] != b:
                            c["ok"] = False
                        c["got"] += len(b)
                    else:
                        c["eof"] = True
                        c["info"] = tcp_info(s)
                        sel.unregister(s)
                        s.close()
                        left -= 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                c["error"] = f"{type(e).__name__}: {e}"
                sel.unregister(s)
                s.close()
                left -= 1
    out = []
    for c in conns:
        if not c["eof"] and not c["error"]:
            c["error"] = f"timeout after {a.timeout} s: sent {c['sent']}, received {c['got']}"
            c["s"].close()
        out.append({"i": c["i"], "port": c["port"], "sent": c["sent"], "got": c["got"],
                    "ok": c["ok"], "eof": c["eof"], "error": c["error"],
                    "sha": hashlib.sha256(c["out"]).hexdigest(), "info": c["info"],
                    "rtt_max_us": max(c["rtt_max_us"], (c["info"] or {}).get("rtt_us", 0))})
    with open(a.out, "w") as f:
        json.dump(out, f)


# ---- the test (runs as root, outside) ----

def sh(*cmd, ok=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    if ok and p.returncode:
        raise Failure(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


class Namespace:
    """A network namespace with tap0 (10.0.0.2/24, fd00::2/64) made before sppsim attaches."""

    def __init__(self):
        self.name = f"sppsim-live-{os.getpid()}"
        self.made = False

    def setup(self):
        p = sh("ip", "netns", "add", self.name, ok=False)
        if p.returncode:
            return f"cannot create a network namespace: {p.stderr.strip()}"
        self.made = True
        p = sh(*self.ex("ip", "tuntap", "add", "dev", "tap0", "mode", "tap"), ok=False)
        if p.returncode:
            return f"cannot create a TAP interface: {p.stderr.strip()}"
        sh(*self.ex("ip", "addr", "add", f"{CLIENT4}/24", "dev", "tap0"))
        sh(*self.ex("ip", "-6", "addr", "add", f"{CLIENT6}/64", "dev", "tap0", "nodad"))
        # the TAP's ring holds txqueuelen frames; a full one drops (tun does not stop its queue)
        sh(*self.ex("ip", "link", "set", "tap0", "txqueuelen", "10000", "up"))
        sh(*self.ex("ip", "link", "set", "lo", "up"))
        return None

    def ex(self, *cmd):
        return ["ip", "netns", "exec", self.name] + list(cmd)

    def netem(self, loss):
        """1 % loss on frames the client side sends, by netem; False when the kernel lacks it."""
        if loss:
            return sh(*self.ex("tc", "qdisc", "add", "dev", "tap0", "root", "netem", "loss",
                               "1%"), ok=False).returncode == 0
        sh(*self.ex("tc", "qdisc", "del", "dev", "tap0", "root"), ok=False)
        return True

    def tap_dropped(self):
        """Frames the kernel dropped on their way to the TAP's reader (its ring was full)."""
        p = sh(*self.ex("ip", "-s", "-j", "link", "show", "tap0"))
        return json.loads(p.stdout)[0]["stats64"]["tx"]["dropped"]

    def cleanup(self):
        if self.made:
            sh("ip", "netns", "del", self.name, ok=False)
            self.made = False


def prio(a):
    """The command prefix that runs sppsim and the clients ahead of other work on the machine."""
    return ["nice", "-n", str(a.nice)] if a.nice else []


def scenario(a, ns, name, mode, conns, nbytes, loss, tmp, first_port, ipv6_extra=False,
             stall=0.0):
    """One sppsim run; the clients' ports start at first_port (each scenario its own: the
    clients that closed first keep theirs in TIME_WAIT). stall: seconds sppsim is stopped
    (SIGSTOP) before the clients start; it must slip once (live.max_lag_ms)."""
    d = os.path.join(tmp, name)
    os.mkdir(d)
    port = 7 if mode == "echo" else 5001
    app = {"app": "echo"} if mode == "echo" else {
        "app": "reqresp", "req_bytes": nbytes, "resp_bytes": nbytes, "close": "response"}
    how = "none"
    extra = [x for k, v in app.items() for x in ("--set", f"host_app.{k}={v}")]
    if loss:
        if ns.netem(True):
            how = "tc netem loss 1% on tap0 (frames the clients send)"
        else:
            how = "live.rx_loss_ppm=10000 (netem unavailable)"
            extra += ["--set", "live.rx_loss_ppm=10000"]
    stats = os.path.join(d, "stats.json")
    cap = os.path.join(d, "live.pcap")
    cmd = ns.ex(*prio(a), a.sppsim, "--live", "tap0", "--config", a.config, "--no-progress",
                "--quiet",
                "--stats", stats, "--live-pcap", cap, "--deliver-dir",
                os.path.join(d, "deliver"), *extra)
    for kv in a.set or []:
        cmd += ["--set", kv]
    os.mkdir(os.path.join(d, "deliver"))
    dropped0 = ns.tap_dropped()
    t0 = time.monotonic()
    sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)  # sppsim attaches: tap0 gets its carrier
        if sim.poll() is not None:
            raise Failure(f"{name}: sppsim ended at once: {sim.communicate()[1].strip()}")
        if stall:  # the simulator stopped 0.3 s: it must give the lag up, not race to catch up
            sim.send_signal(signal.SIGSTOP)
            time.sleep(stall)
            sim.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        runs = [("v4", conns, False)] + ([("v6", 1, True)] if ipv6_extra else [])
        results = {}
        for tag, n, v6 in runs:
            out = os.path.join(d, f"client_{tag}.json")
            ccmd = ns.ex(*prio(a), sys.executable, os.path.abspath(__file__), "--client", mode,
                         "--conns", str(n), "--bytes", str(nbytes if not v6 else 100000),
                         "--port", str(port), "--seed", str(len(tag)), "--out", out,
                         "--first-port", str(first_port + (1000 if v6 else 0)),
                         "--timeout", str(a.timeout), "--open-every", str(a.open_every)) + (
                             ["--ipv6"] if v6 else [])
            p = subprocess.run(ccmd, capture_output=True, text=True, timeout=a.timeout + 30)
            check(p.returncode == 0, f"{name}: the client failed: {p.stderr.strip()}")
            with open(out) as f:
                results[tag] = json.load(f)
        client_s = time.monotonic() - t0
        time.sleep(0.2)  # the last ACKs reach the chip
        tap_dropped = ns.tap_dropped() - dropped0
    finally:
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
        try:
            _, err = sim.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            sim.kill()
            _, err = sim.communicate()
        if loss:
            ns.netem(False)
    check(sim.returncode == 0, f"{name}: sppsim exit {sim.returncode}: {err.strip()}")
    with open(stats) as f:
        st = json.load(f)

    # the clients' view: every byte back, right, and a clean end
    for tag, res in results.items():
        want = nbytes if tag == "v4" else 100000
        bad = [r for r in res if r["error"] or not r["ok"] or r["got"] != want or
               r["sent"] != want or not r["eof"]]
        check(not bad, f"{name}: {len(bad)} of {len(res)} {tag} connections failed, e.g. {bad[:3]}")
    # the chip's view: what its host got, connection by connection, is what the client sent
    deliver = os.path.join(d, "deliver")
    files = sorted(os.listdir(deliver))
    want_files = {f"{CLIENT4}.{r['port']}-{CHIP4}.{port}": r["sha"] for r in results["v4"]}
    for r in results.get("v6", []):
        want_files[f"{CLIENT6}.{r['port']}-{CHIP6}.{port}"] = r["sha"]
    for fn, sha in want_files.items():
        check(fn in files, f"{name}: no delivered stream {fn} (have {files[:4]} ...)")
        with open(os.path.join(deliver, fn), "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        check(got == sha, f"{name}: {fn}: the chip's host got other bytes than the client sent")
    check(len(files) == len(want_files),
          f"{name}: {len(files)} streams delivered, {len(want_files)} connections made")

    # the chip's own accounts
    lv = st["live"]
    check(lv["ended_by"] == "SIGTERM", f"{name}: ended by {lv['ended_by']!r}")
    check(lv["arp_answered"] >= 1, f"{name}: no ARP request answered")
    if ipv6_extra:
        check(lv["nd_answered"] >= 1, f"{name}: no neighbour solicitation answered")
    check(lv["frames_for_chip"] == st["packets"]["in"] + lv["dropped_rx_loss"],
          f"{name}: frames for the chip {lv['frames_for_chip']} != packets in "
          f"{st['packets']['in']} + lost by rx_loss {lv['dropped_rx_loss']}")
    check(lv["write_errors"] == 0, f"{name}: {lv['write_errors']} writes to the TAP failed")
    if stall:
        check(lv["slips"] >= 1 and lv["slipped_us"] >= stall * 1e6 * 0.9,
              f"{name}: stopped {stall} s, and slipped {lv['slips']} times, "
              f"{lv['slipped_us']} us in all")
    # the writer thread wrote every frame the port sent (the capture has them all), SIGTERM or not
    sent = frames_from(cap, CHIP_MAC)
    check(lv["frames_to_tap"] == sent,
          f"{name}: {sent} frames from the chip's MAC in the capture, {lv['frames_to_tap']} "
          f"written to the TAP")
    check(st["packets"]["dropped"]["ingress_overflow"] == 0,
          f"{name}: {st['packets']['dropped']['ingress_overflow']} frames overflowed the FIFO")
    conservation(st, name)
    total = sum(len(r) for r in results.values())
    flows = st["units"]["dispatcher"]["flows_opened"]
    check(flows == total, f"{name}: the chip opened {flows} flows for {total} connections")
    if loss and how.startswith("live.rx_loss_ppm"):
        check(lv["dropped_rx_loss"] > 0, f"{name}: rx_loss dropped nothing")

    # tshark on the capture of both directions
    lag = lv["lag_ns"]
    why = (f"(simulated time lagged the wall clock by up to {lag['max'] / 1e6:.1f} ms and slipped "
           f"{lv['slips']} times, the kernel dropped {tap_dropped} frames at the TAP)")
    if shutil.which("tshark"):
        rows = tshark_findings(cap)
        malformed = [r for r in rows if r[2]]
        check(not malformed, f"{name}: tshark finds malformed frames: {malformed[:3]}")
        found = tcp_analysis(cap, name, loss, lv["dropped_rx_loss"], why)
        if loss:
            check(found.get("retransmission"), f"{name}: 1 % loss and no retransmission seen")
        note = ", tshark: " + (", ".join(f"{k} {v}" for k, v in sorted(found.items())) or
                               "no TCP analysis finding")
    else:
        note = ", tshark not installed: capture not checked"
    mb = total and sum(r["got"] for res in results.values() for r in res) / 1e6
    infos = [r for res in results.values() for r in res if r["info"]]
    lx_retrans = sum(r["info"]["retrans"] for r in infos)
    lx_rtt = max((r["rtt_max_us"] for r in infos), default=0)
    if not loss:  # Linux's own count agrees with the capture's
        check(lx_retrans == 0, f"{name}: Linux retransmitted {lx_retrans} segments {why}")
    print(f"{name}: Linux (tcp_info of {len(infos)} connections): {lx_retrans} segments "
          f"retransmitted, smoothed RTT up to {lx_rtt / 1e3:.1f} ms; sppsim: writer queue max "
          f"{lv.get('write_queue_max')}, full {lv.get('write_queue_full')} times")
    print(f"{name}: {total} connections, {mb:.1f} MB each way in {client_s:.1f} s wall "
          f"({2 * mb * 8 / client_s:.0f} Mb/s both ways); loss: {how}; lag mean "
          f"{lag['mean'] / 1e3:.0f} us, p99 {lag['p99'] / 1e3:.0f} us, max "
          f"{lag['max'] / 1e3:.0f} us; slipped {lv['slips']} times, {lv['slipped_us'] / 1e3:.0f} ms "
          f"in all; TAP drops {tap_dropped}{note}")


def frames_from(cap, mac):
    """Frames of the (nanosecond, little-endian) capture whose Ethernet source is mac."""
    with open(cap, "rb") as f:
        data = f.read()
    check(struct.unpack_from("<I", data)[0] == 0xA1B23C4D, f"{cap}: not a nanosecond pcap")
    n, off = 0, 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        n += data[off + 16 + 6:off + 16 + 12] == mac
        off += 16 + incl
    return n


def tcp_analysis(cap, name, loss, lost, why):
    """Checks tshark's TCP analysis of the live capture against the rules above (raises Failure);
    returns the count of each finding."""
    fields = ["frame.number", "ip.src", "ipv6.src", "tcp.stream", "tcp.flags"] + \
        [f"tcp.analysis.{f}" for f in FLAGS]
    cmd = ["tshark", "-n", "-r", cap, "-Y", "tcp", "-T", "fields", "-E", "separator=|", "-E",
           "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"{name}: tshark failed: {r.stderr.strip()}")
    found, bad = {}, []
    lossy = set()  # streams that lost a segment (so far)
    for line in r.stdout.splitlines():
        v = line.split("|")
        num, stream = int(v[0]), v[3]
        side = "chip" if (v[1] or v[2]) in (CHIP4, CHIP6) else "client"
        tcp_flags = int(v[4], 16)
        kinds = {f for f, x in zip(FLAGS, v[5:]) if x}
        if tcp_flags & 0x04:
            bad.append((num, side, "reset"))
        if kinds:
            for k in kinds:
                found[k] = found.get(k, 0) + 1
            if side == "client" and "lost_segment" in kinds:
                lossy.add(stream)
            ok = (LOSS_OK[side] | (AFTER_LOSS_OK[side] if stream in lossy else set())
                  if loss else set())
            if not kinds <= ok:
                bad.append((num, side, sorted(kinds - ok)))
    what = "with loss, findings that loss does not cause" if loss else "without loss"
    check(not bad, f"{name}: TCP analysis {what} {why}: {len(bad)} frames, e.g. "
          f"(frame, from, findings) {bad[:6]}")
    check(found.get("lost_segment", 0) <= lost,
          f"{name}: {found.get('lost_segment')} segments not captured, but rx_loss dropped {lost}")
    return found


def no_permission(a):
    """Without root: the one-line error, exit 1."""
    p = subprocess.run([a.sppsim, "--live", "tap0", "--no-progress", "--quiet"],
                       capture_output=True, text=True, timeout=60)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 1 and len(lines) == 1 and lines[0].startswith("sppsim: --live tap0: ")
          and "(needs root or CAP_NET_ADMIN)" in lines[0],
          f"sppsim --live without permission: exit {p.returncode}, stderr {p.stderr!r}")


def test_main(a):
    if os.geteuid() != 0:
        no_permission(a)
        print("SKIP: live mode needs root (a TAP interface in a network namespace); the "
              "no-permission error was checked")
        sys.exit(SKIP)
    for need, why in (("/dev/net/tun", "no /dev/net/tun (TUN/TAP driver)"),):
        if not os.path.exists(need):
            print(f"SKIP: {why}")
            sys.exit(SKIP)
    if not shutil.which("ip"):
        print("SKIP: no 'ip' command (iproute2)")
        sys.exit(SKIP)
    if shutil.which("setpriv"):  # the message a user without the capability sees
        # nobody may not be able to reach the build (under /root, say): the binary and the
        # microcode go to a directory anyone can read
        with tempfile.TemporaryDirectory() as pub:
            os.chmod(pub, 0o755)
            files = []
            for src in (a.sppsim, os.path.join(ROOT, "microcode", "tcp.uc"),
                        os.path.join(ROOT, "microcode", "roce.uc")):
                dst = os.path.join(pub, os.path.basename(src))
                shutil.copy(src, dst)
                os.chmod(dst, 0o755)
                files.append(dst)
            p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                "--inh-caps=-all", files[0], "--microcode", files[1],
                                "--microcode", files[2], "--live", "tap0", "--no-progress",
                                "--quiet"], capture_output=True, text=True, timeout=60)
        check(p.returncode == 1 and p.stderr.count("\n") == 1 and
              "(needs root or CAP_NET_ADMIN)" in p.stderr,
              f"sppsim --live as nobody: exit {p.returncode}, stderr {p.stderr!r}")
    ns = Namespace()
    try:
        why = ns.setup()
        if why:
            print(f"SKIP: {why}")
            sys.exit(SKIP)
        with tempfile.TemporaryDirectory() as tmp:
            if a.keep:  # the runs' files (captures, stats, deliveries) stay there
                tmp = a.keep
                os.makedirs(tmp, exist_ok=True)
            n, b = a.conns, a.bytes
            if a.only in (None, "echo"):
                scenario(a, ns, "echo", "echo", n, b, False, tmp, 41000, ipv6_extra=True,
                         stall=0.3)
            if a.only in (None, "reqresp"):
                scenario(a, ns, "reqresp_chip_closes", "reqresp", n, b, False, tmp, 43000)
            if a.only in (None, "loss"):
                scenario(a, ns, "echo_loss", "echo", n, b, True, tmp, 45000)
    finally:
        ns.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sppsim")
    ap.add_argument("--only", choices=("echo", "reqresp", "loss"))
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--bytes", type=int, default=1000000)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--keep", help="keep every run's files in this (new) directory")
    ap.add_argument("--config", default=CONFIG, help="the chip's config (default: %(default)s)")
    ap.add_argument("--nice", type=int, default=-20)
    ap.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="a config setting for every sppsim run (after the test's own)")
    ap.add_argument("--client", choices=("echo", "reqresp"))
    ap.add_argument("--port", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first-port", type=int, default=40000)
    ap.add_argument("--out")
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--open-every", type=float, default=0.01,
                    help="seconds between two connections' opens")
    a = ap.parse_args()
    if a.client:
        a.mode = a.client
        client_main(a)
        return
    run_test(lambda: test_main(a))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Tests of scripts/sweep and scripts/plot.

    sweep_test.py --sppsim build/sppsim --case local|dask|resume|plot

local: a sweep of a few points (grid, list, random) over two small traces, 2 local jobs: one
  row per run, figures equal to direct sppsim runs, a failing point recorded with its error, a
  re-run skips everything, a figure added later is read from the stored stats, --csv, the same
  seed gives the same points.
dask: the same sweep on a Dask scheduler and two workers started here on loopback gives the
  same rows as the local run (needs Debian's python3-distributed: run under /usr/bin/python3).
resume: a sweep killed (SIGKILL) mid-way and re-run has no duplicate rows and the same final
  results as an uninterrupted run.
plot: scripts/plot sweep writes a PNG (needs python3-matplotlib).
"""
import argparse
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SWEEP = os.path.join(ROOT, "scripts", "sweep")
PLOT = os.path.join(ROOT, "scripts", "plot")
FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    return cond


def write_sweep(tmp, name="small", **extra):
    spec = {
        "base": os.path.join(ROOT, "configs", "default.py"),
        "traces": [os.path.join(ROOT, "traces", "tcp_basic.pcap"),
                   os.path.join(ROOT, "traces", "default.pcap")],
        "grid": {"cluster.cores": [1, 4], "lookup.mem_latency": [50, 400]},
        "list": [{"cluster.cores": 2, "ipu.cycles_per_msg": 40},
                 {"chip.clusters": 1}],  # routes name cluster 1: a config error, recorded
        "random": {"samples": 2, "seed": 7, "params": {"cluster.cores": [1, 16],
                                                       "lookup.mem_latency": {"log_int": [10, 1000]}}},
        "args": ["--saturate"],
        "figures": ["throughput.processed_mpps", "latency_ps.tcp_data.p99", "packets.processed"],
    }
    spec.update(extra)
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)
    return path, spec


def sweep(args, sppsim, timeout=120, python=None):
    cmd = ([python] if python else [sys.executable]) + [SWEEP] + args + ["--sppsim", sppsim]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        check(False, "%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    return r


def rows(db):
    con = sqlite3.connect(db)
    out = con.execute("SELECT key, point, trace, params, figures, status, error, exit_code "
                      "FROM runs ORDER BY point, trace").fetchall()
    con.close()
    return out


def results(db):
    """What must not depend on where or when the runs ran: everything but wall time and host."""
    return {r[0]: (r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5], r[6], r[7])
            for r in rows(db)}


def direct(sppsim, trace, params, figure_paths):
    with tempfile.TemporaryDirectory() as tmp:
        stats = os.path.join(tmp, "s.json")
        cmd = [sppsim, "--trace", trace, "--config", os.path.join(ROOT, "configs", "default.py"),
               "--saturate", "--quiet", "--no-progress", "--stats", stats]
        for k, v in params.items():
            cmd += ["--set", "%s=%s" % (k, v)]
        subprocess.run(cmd, check=True, capture_output=True)
        with open(stats) as f:
            s = json.load(f)
    out = {}
    for p in figure_paths:
        node = s
        for part in p.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out[p] = node
    return out


def case_local(sppsim, tmp):
    path, spec = write_sweep(tmp)
    db = os.path.join(tmp, "local.db")
    t0 = time.monotonic()
    r = sweep([path, "--db", db, "-j", "2", "--csv", os.path.join(tmp, "out.csv")], sppsim)
    elapsed = time.monotonic() - t0
    got = rows(db)
    npoints = 4 + 2 + 2
    check(len(got) == npoints * 2, "expected %d rows, got %d" % (npoints * 2, len(got)))
    check(len({(g[1], g[2]) for g in got}) == len(got), "duplicate (point, trace) rows")
    bad = [g for g in got if json.loads(g[3]) == {"chip.clusters": 1}]
    check(len(bad) == 2 and all(g[5] == "failed" and g[7] == 1 and "route." in (g[6] or "")
                                for g in bad), "the bad point's rows: %r" % bad)
    ok = [g for g in got if g[5] == "ok"]
    check(len(ok) == len(got) - 2, "statuses: %r" % [g[5] for g in got])
    # figures are sppsim's own, for a few points
    for g in ok[:3] + ok[-2:]:
        want = direct(sppsim, g[2], json.loads(g[3]), spec["figures"])
        check(json.loads(g[4]) == want, "point %d %s: sweep %s, direct %s" % (g[1], g[2], g[4], want))
    # a re-run does nothing
    before = results(db)
    r = sweep([path, "--db", db, "-j", "2"], sppsim)
    check("16 already done, 0 to run" in r.stderr, "re-run: %s" % r.stderr)
    check(results(db) == before, "a re-run changed the results")
    # --retry-failed runs the failed ones again, and only them
    r = sweep([path, "--db", db, "--retry-failed"], sppsim)
    check("14 already done, 2 to run" in r.stderr, "--retry-failed: %s" % r.stderr)
    # a figure added to the sweep is read from the stored stats, without running anything
    path2, _ = write_sweep(tmp, figures=spec["figures"] + ["delivered.bytes"])
    r = sweep([path2, "--db", db], sppsim)
    check("0 to run" in r.stderr, "added figure: %s" % r.stderr)
    for g in rows(db):
        if g[5] == "ok":
            check("delivered.bytes" in json.loads(g[4]), "delivered.bytes missing: %r" % (g,))
    # CSV: a header and one line per run
    with open(os.path.join(tmp, "out.csv")) as f:
        table = list(csv.DictReader(f))
    check(len(table) == 16 and "cluster.cores" in table[0] and
          "latency_ps.tcp_data.p99" in table[0], "csv: %r" % table[:1])
    # the same seed, the same points; another seed, others
    a = sweep([path, "--db", os.path.join(tmp, "x.db"), "--dry-run"], sppsim).stdout
    b = sweep([path, "--db", os.path.join(tmp, "y.db"), "--dry-run"], sppsim).stdout
    path3, _ = write_sweep(tmp, name="other", random={"samples": 2, "seed": 8, "params": {
        "cluster.cores": [1, 16], "lookup.mem_latency": {"log_int": [10, 1000]}}})
    c = sweep([path3, "--db", os.path.join(tmp, "z.db"), "--dry-run"], sppsim).stdout
    check(a == b and a.count("\n") == 16, "dry runs differ or wrong count: %r / %r" % (a, b))
    check(a != c, "another seed gave the same points")
    # a crashed and a hung run are recorded and the sweep goes on
    fake = os.path.join(tmp, "fake-sppsim")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\ncase \"$*\" in\n*cluster.cores=2*) kill -SEGV $$ ;;\n"
                "*cluster.cores=3*) exec sleep 30 ;;\nesac\nexec %s \"$@\"\n" % sppsim)
    os.chmod(fake, 0o755)
    path4, _ = write_sweep(tmp, name="crash", grid={"cluster.cores": [1, 2, 3, 4]}, list=[],
                           random={"samples": 0, "params": {}}, timeout_s=1,
                           traces=[os.path.join(ROOT, "traces", "tcp_basic.pcap")])
    with open(path4) as f:
        spec4 = json.load(f)
    del spec4["random"]
    with open(path4, "w") as f:
        json.dump(spec4, f)
    crash_db = os.path.join(tmp, "crash.db")
    sweep([path4, "--db", crash_db, "-j", "2"], fake)
    st = {json.loads(g[3])["cluster.cores"]: (g[5], g[6]) for g in rows(crash_db)}
    check(st.get(1, ("",))[0] == "ok" and st.get(4, ("",))[0] == "ok", "crash sweep: %r" % st)
    check(st.get(2) == ("crashed", "killed by signal 11"), "crashed run: %r" % (st.get(2),))
    check(st.get(3) == ("timeout", "no result after 1 s"), "hung run: %r" % (st.get(3),))
    # a bad sweep file: one line naming it
    bad_path, _ = write_sweep(tmp, name="bad", grid={"cores": [1]})
    r = subprocess.run([sys.executable, SWEEP, bad_path, "--sppsim", sppsim, "--db",
                        os.path.join(tmp, "b.db")], capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr.strip() == "sweep: %s: 'cores' is not a parameter name "
          "of the form unit.key" % bad_path, "bad sweep file: %r" % r.stderr)
    print("sweep.local: 16 runs in %.1f s" % elapsed)


def start(cmd, log):
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def case_dask(sppsim, tmp):
    try:
        import distributed  # noqa: F401
    except ImportError:
        check(False, "sweep.dask needs Debian's python3-distributed under %s (apt-get install "
              "python3-distributed; scripts/setup installs it)" % sys.executable)
        return
    sched_bin = shutil.which("dask-scheduler") or "/usr/bin/dask-scheduler"
    worker_bin = shutil.which("dask-worker") or "/usr/bin/dask-worker"
    if not check(os.access(sched_bin, os.X_OK) and os.access(worker_bin, os.X_OK),
                 "dask-scheduler / dask-worker not found (python3-distributed)"):
        return
    path, _ = write_sweep(tmp)
    local_db, dask_db = os.path.join(tmp, "local.db"), os.path.join(tmp, "dask.db")
    sweep([path, "--db", local_db, "-j", "2"], sppsim)

    sched_file = os.path.join(tmp, "scheduler.json")
    log = open(os.path.join(tmp, "dask.log"), "w")
    py = sys.executable
    procs = [start([py, sched_bin, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", sched_file], log)]
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sched_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not check(os.path.exists(sched_file), "the scheduler did not start"):
            return
        for i in range(2):
            procs.append(start([py, worker_bin, "--scheduler-file", sched_file, "--host",
                                "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                "--name", "w%d" % i, "--local-directory", tmp], log))
        time.sleep(0.5)
        with open(sched_file) as f:
            address = json.load(f)["address"]
        from distributed import Client
        with Client(address, timeout="30s") as client:  # both workers up before the sweep
            client.wait_for_workers(2, timeout=30)
        t0 = time.monotonic()
        r = sweep([path, "--db", dask_db, "--dask", address], sppsim, python=py)
        elapsed = time.monotonic() - t0
        check("on " + address in r.stderr, "not run on dask: %s" % r.stderr)
        a, b = results(local_db), results(dask_db)
        check(len(b) == 16, "dask: %d rows" % len(b))
        check(a == b, "dask results differ from local: %s" % [
            (k, a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)][:3])
        print("sweep.dask: 16 runs in %.1f s on 2 workers" % elapsed)
    finally:
        stop(procs[1:])
        stop(procs[:1])
        log.close()
        if FAILURES:
            with open(os.path.join(tmp, "dask.log")) as f:
                sys.stderr.write(f.read()[-3000:])


def case_resume(sppsim, tmp):
    spec_extra = {
        "traces": [os.path.join(ROOT, "traces", "tcp_many.pcap")],
        "grid": {"cluster.cores": [1, 2, 3, 4, 6, 8], "lookup.mem_latency": [25, 50, 100, 200, 400]},
        "list": [], "random": {"samples": 10, "seed": 3, "params": {"ipu.cycles_per_msg": [1, 1000]}},
    }
    path, _ = write_sweep(tmp, **spec_extra)
    full_db, cut_db = os.path.join(tmp, "full.db"), os.path.join(tmp, "cut.db")
    sweep([path, "--db", full_db, "-j", "2", "-q"], sppsim)
    total = len(rows(full_db))
    check(total == 40, "expected 40 runs, got %d" % total)
    # interrupted: killed outright once a few rows are in
    p = subprocess.Popen([sys.executable, SWEEP, path, "--db", cut_db, "-j", "1", "-q",
                          "--sppsim", sppsim], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, n = time.monotonic() + 60, 0
    while time.monotonic() < deadline and p.poll() is None:
        try:
            con = sqlite3.connect(cut_db, timeout=5)
            n = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            con.close()
        except sqlite3.OperationalError:
            n = 0
        if n >= 4:
            break
        time.sleep(0.01)
    killed = p.poll() is None
    if killed:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    done_at_kill = len(rows(cut_db))
    check(killed and 0 < done_at_kill < total,
          "the kill did not land mid-sweep (%d of %d done)" % (done_at_kill, total))
    r = sweep([path, "--db", cut_db, "-j", "2"], sppsim)
    check("%d already done, %d to run" % (done_at_kill, total - done_at_kill) in r.stderr,
          "resume: %s" % r.stderr)
    got = rows(cut_db)
    check(len(got) == total and len({(g[1], g[2]) for g in got}) == total,
          "after resume: %d rows, %d distinct" % (len(got), len({(g[1], g[2]) for g in got})))
    check(results(cut_db) == results(full_db), "resumed results differ from an uninterrupted run")
    print("sweep.resume: killed after %d of %d runs, resumed" % (done_at_kill, total))


def case_plot(sppsim, tmp):
    path, _ = write_sweep(tmp)
    db = os.path.join(tmp, "p.db")
    sweep([path, "--db", db, "-j", "2", "-q"], sppsim)
    png = os.path.join(tmp, "p.png")
    r = subprocess.run([sys.executable, PLOT, "sweep", db, "--x", "cluster.cores",
                        "--where", "trace=" + os.path.join(ROOT, "traces", "default.pcap"),
                        "-o", png], capture_output=True, text=True, timeout=120)
    if not check(r.returncode == 0, "scripts/plot: %s" % r.stderr):
        return
    with open(png, "rb") as f:
        head = f.read(8)
    check(head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 1000, "not a PNG")
    r = subprocess.run([sys.executable, PLOT, "sweep", db, "--x", "nosuch.key", "-o", png],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 1 and r.stderr.startswith("plot: nosuch.key is not a parameter"),
          "bad --x: %r" % r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sppsim", required=True)
    ap.add_argument("--case", required=True, choices=["local", "dask", "resume", "plot"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sweep-test-") as tmp:
        globals()["case_" + args.case](os.path.abspath(args.sppsim), tmp)
    if FAILURES:
        print("sweep.%s: %d failures" % (args.case, len(FAILURES)), file=sys.stderr)
        return 1
    print("sweep.%s: ok" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())

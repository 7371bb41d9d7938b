#!/usr/bin/env python3
"""Tests of the Python configs (configs/sppsim_config, configs/*.py) and `sppsim --config X.py`.

    config_test.py --sppsim build/sppsim --case validation|tables|scripts

validation: every kind of bad value gives the message sppsim itself gives for it (unit, key,
  allowed range), and a config script's error reaches sppsim's one error line.
tables: units.py agrees with the binary's parameter tables (generate.py --check), and a default
  Chip resolves to exactly `sppsim --print-config`.
scripts: every bundled config script, run by sppsim, resolves to what the script emits; --set
  overrides it; the stats JSON records it.
Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONFIGS = os.path.join(ROOT, "configs")
sys.path.insert(0, CONFIGS)

import sppsim_config  # noqa: E402
from sppsim_config import Chip, ConfigError  # noqa: E402

FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def sppsim_run(sppsim, args, cwd=None):
    return subprocess.run([sppsim] + args, capture_output=True, text=True, cwd=cwd or ROOT,
                          timeout=120)


def case_validation(sppsim):
    # (dotted name, bad value as Python, the same as --set text)
    bad = [
        ("ipu.in_depth", 0, "0"),
        ("ipu.in_depth", 4097, "4097"),
        ("ipu.in_depth", "x", "x"),
        ("ipu.verify_checksums", "maybe", "maybe"),
        ("source.mode", "fast", "fast"),
        ("dispatcher.policy", "random", "random"),
        ("cluster.cores", 257, "257"),
        ("chip.clusters", 9, "9"),
        ("lookup.mem_latency", "0x100000000", "0x100000000"),
        ("ipu.no_such_key", 1, "1"),
    ]
    for name, value, text in bad:
        try:
            Chip().set(name, value)
            py = None
        except ConfigError as e:
            py = str(e)
        r = sppsim_run(sppsim, ["--print-config", "--set", "%s=%s" % (name, text)])
        c = r.stderr.strip()
        prefix = "sppsim: --set: "
        check(r.returncode == 1 and c.startswith(prefix),
              "sppsim --set %s=%s: expected exit 1 and one line, got %d %r" % (name, text,
                                                                              r.returncode, c))
        check(py == c[len(prefix):], "%s=%r: Python says %r, sppsim says %r" % (name, value, py, c))
    # the examples of the brief, verbatim
    try:
        Chip().ipu.in_depth = 0
        check(False, "ipu.in_depth = 0 accepted")
    except ConfigError as e:
        check(str(e) == "ipu.in_depth: 0 is out of range [1, 4096]", "message: %s" % e)
    for action, want in [
        (lambda c: setattr(c, "nosuch", 1), "unknown unit 'nosuch'"),
        (lambda c: setattr(c.ipu, "nosuch", 1), "ipu: unknown parameter 'nosuch'"),
        (lambda c: c.set("ipu", 1), "'ipu' is not of the form unit.key"),
        (lambda c: setattr(c.ipu, "in_depth", True), "ipu.in_depth: True is not a non-negative"),
        (lambda c: setattr(c.ipu, "in_depth", 2.5), "ipu.in_depth: 2.5 is not a non-negative"),
        (lambda c: Chip(cluster={"cores": 0}), "cluster.cores: 0 is out of range [1, 256]"),
    ]:
        try:
            action(Chip())
            check(False, "accepted: expected %r" % want)
        except ConfigError as e:
            check(str(e).startswith(want), "got %r, expected %r" % (str(e), want))
    # good values, in each accepted spelling
    c = Chip(ipu={"in_depth": "0x10"})
    c.ipu.verify_checksums = "off"
    c.set("source.mode", "saturate")
    check(c.ipu.in_depth == 16 and c.ipu.verify_checksums is False and c.source.mode == "saturate",
          "accepted spellings: %r" % c)
    check(c.changed() == {"source": {"mode": "saturate"},
                          "ipu": {"in_depth": 16, "verify_checksums": False}},
          "changed(): %r" % c.changed())

    # a script's error: sppsim's one line names the script and its last stderr line
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "bad.py")
        with open(script, "w") as f:
            f.write("from sppsim_config import Chip\nchip = Chip()\nchip.ipu.in_depth = 0\n"
                    "chip.emit()\n")
        r = sppsim_run(sppsim, ["--print-config", "--config", script])
        want = ("sppsim: %s: the config script failed (exit 1): %s:3: ipu.in_depth: 0 is out of "
                "range [1, 4096]" % (script, script))
        check(r.returncode == 1 and r.stderr.strip() == want,
              "bad script: exit %d, %r, expected %r" % (r.returncode, r.stderr, want))
        with open(script, "w") as f:
            f.write("import sys\nprint('working', file=sys.stderr)\nraise SystemExit('no chip for "
                    "you')\n")
        r = sppsim_run(sppsim, ["--print-config", "--config", script])
        check(r.returncode == 1 and r.stderr.strip().endswith(": no chip for you") and
              len(r.stderr.strip().splitlines()) == 1, "failing script: %r" % r.stderr)
        with open(script, "w") as f:
            f.write("print('{\"ipu\": {\"in_depth\": 99999}}')\n")
        r = sppsim_run(sppsim, ["--print-config", "--config", script])
        check(r.returncode == 1 and r.stderr.strip() == "sppsim: %s (its output): ipu.in_depth: "
              "99999 is out of range [1, 4096]" % script, "bad output: %r" % r.stderr)
        with open(script, "w") as f:
            f.write("pass\n")
        r = sppsim_run(sppsim, ["--print-config", "--config", script])
        check(r.returncode == 1 and "printed no config" in r.stderr, "silent script: %r" % r.stderr)
        # a cross-unit rule is the binary's: reported when it loads the script's config
        with open(script, "w") as f:
            f.write("from sppsim_config import Chip\nc = Chip()\nc.chip.clusters = 1\nc.emit()\n")
        r = sppsim_run(sppsim, ["--print-config", "--config", script])
        check(r.returncode == 1 and r.stderr.strip() ==
              "sppsim: route.tcp_rto: names a cluster beyond 0 (chip.clusters = 1)",
              "cross-unit: %r" % r.stderr)


def case_tables(sppsim):
    r = subprocess.run([sys.executable, os.path.join(CONFIGS, "sppsim_config", "generate.py"),
                        "--sppsim", sppsim, "--check"], capture_output=True, text=True)
    check(r.returncode == 0, "units.py drifted from the binary:\n" + r.stdout[-3000:] + r.stderr)
    resolved = json.loads(sppsim_run(sppsim, ["--print-config"]).stdout)
    check(Chip().to_dict() == resolved, "Chip() differs from sppsim --print-config")
    check(list(Chip().to_dict()) == list(resolved), "unit order differs")
    for unit in resolved:
        check(list(Chip().to_dict()[unit]) == list(resolved[unit]), "key order of %s" % unit)
    # every bound, probed in the binary: lo and hi accepted, lo-1 and hi+1 refused
    sets_ok, sets_bad = [], []
    for name, p in sppsim_config.params():
        if p.kind == "int":
            sets_ok += ["%s=%d" % (name, p.lo), "%s=%d" % (name, p.hi)]
            if p.lo > 0:
                sets_bad.append("%s=%d" % (name, p.lo - 1))
            if p.hi < 2 ** 64 - 1:
                sets_bad.append("%s=%d" % (name, p.hi + 1))
        elif p.kind == "enum":
            sets_ok += ["%s=%s" % (name, c) for c in p.choices]
    for s in sets_ok:  # one --set at a time: cross-unit checks would spoil a combined run
        unit_key, value = s.split("=", 1)
        try:
            Chip().set(unit_key, value)
        except ConfigError as e:
            check(False, "Python refuses %s: %s" % (s, e))
    for s in sets_bad:  # the binary refuses what the Python table says is out of range
        r = sppsim_run(sppsim, ["--print-config", "--set", s])
        check(r.returncode == 1 and "out of range" in r.stderr, "sppsim accepts %s" % s)
    print("tables: %d parameters, %d bounds probed" % (len(sppsim_config.params()),
                                                       len(sets_bad)))


def case_scripts(sppsim):
    trace = os.path.join(ROOT, "traces", "tcp_basic.pcap")
    for name in ("default", "small", "large", "dram_bound"):
        script = os.path.join(CONFIGS, name + ".py")
        emitted = subprocess.run([sys.executable, script], capture_output=True, text=True,
                                 env=dict(os.environ, PYTHONPATH=CONFIGS))
        check(emitted.returncode == 0, "%s.py: %s" % (name, emitted.stderr))
        if emitted.returncode:
            continue
        r = sppsim_run(sppsim, ["--print-config", "--config", script], cwd=tempfile.gettempdir())
        check(r.returncode == 0, "sppsim --config %s.py: %s" % (name, r.stderr))
        if r.returncode == 0:
            check(json.loads(r.stdout) == json.loads(emitted.stdout),
                  "%s.py: sppsim resolved a different config than the script emitted" % name)
        with tempfile.TemporaryDirectory() as tmp:
            stats = os.path.join(tmp, "s.json")
            r = sppsim_run(sppsim, ["--trace", trace, "--config", script, "--quiet",
                                    "--no-progress", "--stats", stats, "--set", "ipu.in_depth=7"])
            check(r.returncode == 0, "%s.py on tcp_basic: %s" % (name, r.stderr))
            if r.returncode == 0:
                with open(stats) as f:
                    recorded = json.load(f)["config"]
                want = json.loads(emitted.stdout)
                want["ipu"]["in_depth"] = 7
                check(recorded == want, "%s.py: the stats' config differs from the script's "
                      "plus --set" % name)
    # a config script outside configs/ finds the package (sppsim puts configs/ on PYTHONPATH)
    # and may build on a bundled chip
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "mine.py")
        with open(script, "w") as f:
            f.write("import sys\nsys.path.insert(0, %r)\nimport small\n"
                    "chip = small.build()\nchip.cluster.cores = 3\nchip.emit()\n" % CONFIGS)
        r = sppsim_run(sppsim, ["--print-config", "--config", script], cwd=tmp)
        check(r.returncode == 0 and json.loads(r.stdout)["cluster"]["cores"] == 3 and
              json.loads(r.stdout)["chip"]["clusters"] == 1, "derived script: %r" % r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sppsim", required=True)
    ap.add_argument("--case", required=True, choices=["validation", "tables", "scripts"])
    args = ap.parse_args()
    sppsim = os.path.abspath(args.sppsim)
    globals()["case_" + args.case](sppsim)
    if FAILURES:
        print("config.%s: %d failures" % (args.case, len(FAILURES)), file=sys.stderr)
        return 1
    print("config.%s: ok" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The report page (--html) and the text report say what the stats JSON says: the page is one
self-contained file (no script, no external reference) whose summary, drops, latency and
per-core tables hold the JSON's numbers, with its charts inline as SVG; the text report's
packet and event counts equal the JSON's. Where Debian's chromium is installed, the page is
loaded headless, must render with no console error and is screenshotted; where it is not, the
test says clearly that this part was skipped."""
import argparse
import html.parser
import os
import re
import shutil
import subprocess
import tempfile

from common import ROOT, check, main, run

ap = argparse.ArgumentParser()
ap.add_argument("--sppsim", required=True)
ap.add_argument("--screenshot", help="keep the screenshot here")
args = ap.parse_args()


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.cells, self.row, self.external, self.svgs = [], [], None, [], 0
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if a.get(k):
                self.external.append(a[k])
        if tag == "script":
            self.external.append("<script>")
        if tag == "svg":
            self.svgs += 1
        if tag == "tr":
            self.row = []
        if tag in ("td", "th"):
            self.text = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None:
            self.row.append("".join(self.text).strip())
        if tag == "tr" and self.row is not None:
            self.cells.append(self.row)
            self.row = None

    def handle_data(self, data):
        self.text.append(data)


def body():
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "report.html")
        _, out, _, s = run(args.sppsim, ["--trace", "traces/default.pcap", "--html", page])
        with open(page) as f:
            text = f.read()
        p = Page()
        p.feed(text)
        check(not p.external, f"page: external references {p.external[:3]}")
        check(p.svgs >= 6, f"page: {p.svgs} charts, expected the CDF, 4 series and the heatmap")
        rows = {r[0]: r[1:] for r in p.cells if r}
        for reason, n in s["packets"]["dropped"].items():
            if n:
                check(rows.get(reason) == [str(n)], f"page: drops {reason}: {rows.get(reason)}")
        for t, lat in s["latency_ps"].items():
            check(rows.get(t, [None])[0] == str(lat["count"]), f"page: {t} count {rows.get(t)}")
        for k in ("packets in", "processed", "dropped"):
            check(re.search(rf"{k}<b>(\d+)</b>", text), f"page: no '{k}' card")
        cards = dict(re.findall(r"class='card'>([^<]+)<b>([^<]+)</b>", text))
        check(cards["packets in"] == str(s["packets"]["in"]) and
              cards["processed"] == str(s["packets"]["processed"]) and
              cards["dropped"] == str(sum(s["packets"]["dropped"].values())),
              f"page: summary {cards}")
        cores = [r for r in p.cells if len(r) == 7 and r[0].isdigit()]
        check(len(cores) == sum(len(c["cores"]) for c in s["units"]["clusters"]) and
              [int(r[2]) for r in cores] ==
              [c["events"] for cl in s["units"]["clusters"] for c in cl["cores"]],
              "page: per-core events differ from the JSON")

        # the text report: the same counts
        m = dict(re.findall(r"^  (in|processed|dropped) +(\d+)", out, re.M))
        check(m == {"in": str(s["packets"]["in"]), "processed": str(s["packets"]["processed"]),
                    "dropped": str(sum(s["packets"]["dropped"].values()))},
              f"text report: {m}")
        for t, n in s["events"].items():
            if n:
                check(re.search(rf"^  {t} +{n} ", out, re.M), f"text report: no '{t} {n}' line")

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            print("SKIPPED the browser check: chromium is not installed "
                  "(apt-get install chromium); the page's structure was checked")
            return
        shot = args.screenshot or os.path.join(tmp, "report.png")
        r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                            "--enable-logging=stderr", "--v=0", "--window-size=1200,2400",
                            f"--screenshot={shot}", "file://" + page],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"chromium exit {r.returncode}: {r.stderr[-500:]}")
        console = [ln for ln in r.stderr.splitlines() if "CONSOLE" in ln]
        check(not console, f"chromium console: {console[:3]}")
        check(os.path.exists(shot) and os.path.getsize(shot) > 10000, "no screenshot")
        print(f"rendered in {chromium}: screenshot {os.path.getsize(shot)} bytes")


main(body)

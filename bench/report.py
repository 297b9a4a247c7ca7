"""Benchmark: the demo's full annual report (every section, every chart, PDF; target <= 30 s on
2 cores) and one fact sheet (one site, PDF; target <= 3 s), as the dashboard builds them (data
loaded, case cube and export server warm), plus the Word version, the public-output version, a
region sheet and the cold
command line (`python -m analytics report`, demo loaded and Chromium started from scratch).
Run: python bench/report.py [--quick]"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from analytics import export  # noqa: E402
from analytics.report import ReportOptions, build_factsheet, build_report  # noqa: E402
from analytics.report import data as report_data  # noqa: E402

PERIOD = (2020, 2024)


def timed(label: str, fn, repeats: int = 1, target: float | None = None):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    best, median = min(times), sorted(times)[len(times) // 2]
    goal = f" (target <= {target:g} s)" if target else ""
    print(f"{label}: best {best:.2f} s, median {median:.2f} s over {repeats}{goal}; "
          f"{len(out.content) / 1024:,.0f} KB")
    return out


def main(quick: bool = False) -> None:
    print("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f} on {} cores".format(*os.getloadavg(), os.cpu_count()))
    t0 = time.perf_counter()
    demo = report_data.demo()
    demo.cube("site_ci5")
    print(f"demo loaded and its case cube built: {time.perf_counter() - t0:.2f} s (once per server)")
    t0 = time.perf_counter()
    warm = build_factsheet(demo, ReportOptions(period=PERIOD), sites=["C16"])   # starts the export server
    print(f"first document of the process (export server start): {time.perf_counter() - t0:.2f} s")
    repeats = 1 if quick else 3
    full = timed(f"annual report {PERIOD[0]}-{PERIOD[1]}, all sections and charts, PDF",
                 lambda: build_report(demo, ReportOptions(period=PERIOD)), repeats, 30)
    from pypdf import PdfReader
    import io

    print(f"  {len(PdfReader(io.BytesIO(full.content)).pages)} pages, {len(full.document.figures())} charts")
    timed("same, Word", lambda: build_report(demo, ReportOptions(period=PERIOD, format="docx")), 1)
    t0 = time.perf_counter()
    demo.public_cube("site_ci5")._nodes            # the published base cells (once per server, as the app's)
    print(f"perturbed cube of public output: {time.perf_counter() - t0:.2f} s (once per server)")
    timed("same, public output (cell-key perturbation), PDF",
          lambda: build_report(demo, ReportOptions(period=PERIOD, public=True)), repeats, 30)
    timed("fact sheet, one site (C50), PDF", lambda: build_factsheet(demo, ReportOptions(period=PERIOD),
                                                                     sites=["C50"]), repeats * 2, 3)
    timed("fact sheet, one district (AZE-1676), PDF",
          lambda: build_factsheet(demo, ReportOptions(period=PERIOD), regions=["AZE-1676"]), repeats, 3)
    timed("annual report without charts, PDF",
          lambda: build_report(demo, ReportOptions(period=PERIOD, figures=False)), repeats)
    del warm
    export.stop_export_server()
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "analytics", "report", "--period", f"{PERIOD[0]}-{PERIOD[1]}",
                            "--out", str(Path(tmp) / "report.pdf"), "--quiet"], cwd=ROOT, check=True)
            print(f"command line, cold (load the demo, start Chromium, build, write): "
                  f"{time.perf_counter() - t0:.2f} s")
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one repeat, no cold command line")
    main(ap.parse_args().quick)

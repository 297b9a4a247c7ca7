"""Dashboard speed on the demo: server-side re-render time after a filter change (AppTest,
median over a sequence of filter changes per page, each a new selection, so the aggregation
caches miss) and cold start to the first drawn chart (a fresh ``streamlit run`` process,
Playwright driving Debian's chromium). Targets: <= 300 ms median, <= 10 s.

    .venv/bin/python bench/app.py [--pages overview incidence ...] [--no-browser]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# (widget key, value) pairs applied in turn; every step is a selection not seen before.
CHANGES = [
    ("f_sex", "female"), ("f_sex", "male"), ("f_period", (2015, 2019)), ("f_sex", "both"),
    ("f_period", (2010, 2014)), ("f_scheme", "globocan"), ("f_sex", "female"), ("f_period", (2020, 2024)),
    ("f_scheme", "ci5"), ("f_sex", "male"), ("f_ages", (30, 85)), ("f_sex", "both"),
]


def rerun_times(page: str) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    times = []
    for key, value in CHANGES:
        w = at.sidebar.radio(key=key) if key in ("f_sex", "f_scheme") else at.sidebar.slider(key=key) \
            if key == "f_period" else at.sidebar.select_slider(key=key)
        w.set_value(value)
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, (page, key, value, at.exception)
    return times


def cold_start() -> tuple[float, float]:
    """(seconds to a healthy server, seconds to the first drawn chart), from process start."""
    from conftest import CHROME_ARGS, free_port, start_streamlit, stop
    from playwright.sync_api import sync_playwright

    port = free_port()
    t0 = time.perf_counter()
    proc = start_streamlit(port)
    healthy = time.perf_counter() - t0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROME_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
            elapsed = time.perf_counter() - t0
            browser.close()
    finally:
        stop(proc)
    return healthy, elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pages", nargs="*", default=["overview", "incidence", "quality", "data", "methods"])
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    import os

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (timings scale with it)")
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    print(f"{'page':<14}{'median ms':>10}{'max ms':>9}  (re-render after a filter change, {len(CHANGES)} changes)")
    worst = 0.0
    for page in args.pages:
        if not (ROOT / "pages" / f"{page}.py").exists():
            continue
        ts = rerun_times(page)
        med = statistics.median(ts) * 1000
        worst = max(worst, med)
        print(f"{page:<14}{med:>10.0f}{max(ts) * 1000:>9.0f}")
    print(f"worst page median: {worst:.0f} ms (target <= 300 ms)")
    if not args.no_browser:
        healthy, cs = cold_start()
        print(f"cold start: server healthy after {healthy:.1f} s, first chart drawn after {cs:.1f} s (target <= 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

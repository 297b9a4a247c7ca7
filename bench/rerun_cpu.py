"""Server CPU per rerun, page by page: what one filter change costs the (GIL-bound) Streamlit
process, measured in CPU seconds so that a machine shared with other jobs does not hide it.

One client (``bench/load.py``'s websocket ``Session``) opens each page and changes the sidebar's
period and sex through selections no page has asked for before in this process ("new": the
rates, figures and tables of the selection are computed), then through the same selections
again ("cached": every view is served from the process's caches and only the page script, the
widgets and the messages are paid), then opens new sessions on those selections' links ("first":
a session's first render of a view the process has made, as most of ``bench/load.py``'s sessions
open). Printed per page: median CPU seconds per run of each kind and the bytes the browser
receives per run (figure JSON included).

    .venv/bin/python bench/rerun_cpu.py [--pages overview incidence maps] [--changes 6]
                                        [--url http://127.0.0.1:P --pid PID]

Without ``--url`` a server is started on a free port (and stopped by its own PID). CPU comes
from ``/proc/PID/stat`` (10 ms ticks): the medians of several runs are the figures to compare.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from load import Session  # noqa: E402
from proc_cpu import process_cpu  # noqa: E402
from reference import reference_seconds, reference_text  # noqa: E402 - the machine's speed (bench/reference.py)

DEFAULT_PAGES = ("overview", "incidence", "maps", "incidence_mortality", "trends", "quality", "prevalence",
                 "projections", "risk_factors", "survival")
SEX_CODES = ("both", "male", "female")   # the sex radio's options (and URL values), in its order


def periods(n: int, page_no: int) -> list[tuple[int, int]]:
    """``n`` periods no other page of this run uses (so every page's first visit is new)."""
    out, y0 = [], 2010 + page_no % 4
    for i in range(n):
        span = 2 + (page_no * 7 + i) % 6
        out.append((y0 + i % 6, min(2024, y0 + i % 6 + span)))
    return out


async def settle(pid: int, quiet: float = 0.03, window: int = 1) -> None:
    """Wait until the server burns less than ``quiet`` CPU seconds in each of ``window`` half
    seconds in a row (the warm-up: it pauses 5 s for a first visitor's browser, then goes on)."""
    calm = 0
    for _ in range(240):
        c0 = process_cpu(pid)
        await asyncio.sleep(0.5)
        calm = calm + 1 if process_cpu(pid) - c0 < quiet else 0
        if calm >= window:
            return


async def page_cpu(url: str, pid: int, page: str, page_no: int, changes: int) -> dict:
    out = {"page": page, "new": [], "cached": [], "first": [], "kb": [], "errors": []}
    path = "" if page == "overview" else page
    async with Session(url, timeout=300) as s:
        run = await s.open(path, "y0=2010&y1=2014")
        out["errors"] += run.exceptions
        await settle(pid)
        plan = []
        sex_labels = list(s.widgets["f_sex"].options) if "f_sex" in s.widgets else []
        for i, p in enumerate(periods(changes, page_no)):
            plan.append({"f_period": p} | ({"f_sex": sex_labels[i % len(sex_labels)]} if sex_labels else {}))
        for kind in ("new", "cached"):
            for values in plan:
                c0 = process_cpu(pid)
                run = await s.change_many(values)
                out[kind].append(process_cpu(pid) - c0)
                out["kb"].append(run.bytes / 1024)
                out["errors"] += run.exceptions
    for i, values in enumerate(plan):  # a new session opening a link to a selection already made
        query = f"y0={values['f_period'][0]}&y1={values['f_period'][1]}" + (
            f"&sex={SEX_CODES[i % len(SEX_CODES)]}" if "f_sex" in values else "")
        async with Session(url, timeout=300) as s:
            c0 = process_cpu(pid)
            run = await s.open(path, query)
            out["first"].append(process_cpu(pid) - c0)
            out["errors"] += run.exceptions
        await settle(pid)
    return out


def free_port() -> int:
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
                             "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.fileWatcherType", "none"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2).read()
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


async def run_all(url: str, pid: int, pages, changes: int) -> list[dict]:
    async with Session(url, timeout=300) as s:    # the process's first run (loads the demo)
        await s.open("", "")
    await settle(pid, window=14)     # the warm-up's cubes and modules done
    return [await page_cpu(url, pid, p, i, changes) for i, p in enumerate(pages)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", nargs="+", default=list(DEFAULT_PAGES))
    ap.add_argument("--changes", type=int, default=6, help="filter changes per page and kind")
    ap.add_argument("--url", default=None)
    ap.add_argument("--pid", type=int, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    proc = None
    if args.url is None:
        proc, url = start_server()
        pid = proc.pid
    else:
        url, pid = args.url, args.pid
    try:
        load0, ref0 = os.getloadavg(), reference_seconds()
        res = asyncio.run(run_all(url, pid, args.pages, args.changes))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"server CPU per rerun (median s; load average before {tuple(round(x, 1) for x in load0)}, "
          f"after {tuple(round(x, 1) for x in os.getloadavg())}; {reference_text(ref0, reference_seconds())})")
    print(f"{'page':22s} {'new':>7s} {'cached':>7s} {'first':>7s} {'kB/run':>7s}  errors")
    for r in res:
        print(f"{r['page']:22s} {statistics.median(r['new']):7.3f} {statistics.median(r['cached']):7.3f} "
              f"{statistics.median(r['first']):7.3f} "
              f"{statistics.median(r['kb']):7.0f}  {len(r['errors'])}{' ' + r['errors'][0][:120] if r['errors'] else ''}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

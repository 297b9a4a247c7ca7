"""What a user feels, in a browser: Debian's chromium (Playwright) against a fresh ``streamlit run``
of the dashboard on the demo data, every page of ``app_support.navigation.PAGES``.

The server is started as ``make run`` starts it (``serve.py``: the hardened app, whose warm-up
begins at process start); ``--streamlit-run`` starts ``streamlit run app.py`` instead, as the
browser tests do. Measured, each from the user's input (the browser's own pointerdown/keydown time) to the moment
the view is drawn and the app idle (the script run finished, every chart has drawn marks, and
the charts' drawn SVG differs from before the input — a filter that leaves a page's charts as they
were is timed to the end of its run and counted as "unchanged"):

* cold start: process start (venv present) -> first chart drawn (the browser is already open,
  as a user's is, with an empty cache; the address is opened as soon as the server answers its
  health check); the median of ``--cold-starts`` (3) fresh servers;
* sidebar click -> page drawn, every page;
* each filter change on every page: sex, period, site, region, standard, language;
* PNG export (the first, which starts the export browser, the same chart again — served from the
  process's image store since export4 —, and one PNG of each other Overview chart), "Add to
  presentation", the 8-slide PowerPoint download, the demo upload (a 300-row CanReg5 extract with
  the demo population: file chosen -> mapping shown, "Load" -> validation report drawn).

Median and p95 per action kind and per page; the load average before and after (timings scale
with it: on a machine shared with other jobs compare before/after in the same conditions). The
server's CPU seconds per action are printed beside the wall times: CPU time is what a loaded
machine cannot hide. So are the browser's, for sidebar clicks and filter changes: on the demo's 2
cores chromium's own work (React, plotly, style, layout and paint: 0.5-1 s of CPU for a page of
four charts) shares the machine with the server, and a step's wall time is often more the
browser's than the server's.

The server timed after the cold start is a second one, measured at rest: the bench waits until
its CPU use falls below 5 % of a core (its warm-up runs every page once after start, then starts
the export server's Chromium: 20-30 s of CPU; a filter change timed during it measures the
warm-up as much as the change).

A step that cannot be done (a control the page does not have, a dropdown that did not open, a
run that never came) fails within seconds (``--step-timeout``), is reported with a screenshot,
and the run goes on; a step whose value did not reach the address (the filter's URL parameter)
is reported as failed, not timed. Nothing waits Playwright's default minutes.

    .venv/bin/python bench/app.py [--pages overview maps ...] [--rounds 1] [--json out.json]
                                  [--skip-exports] [--skip-upload] [--url http://host:port]
                                  [--streamlit-run] [--step-timeout 15] [--shots DIR]
"""
from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from proc_cpu import BrowserCPU, ServerCPU  # noqa: E402 - the CPU columns (bench/proc_cpu.py)
from reference import reference_seconds, reference_text  # noqa: E402 - the machine's speed (bench/reference.py)

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUN_TIMEOUT_MS = 120_000    # the longest a script run and its drawing may take (a run beyond it is a failure)
# Installed before any page script: records every script-state change of the app and every user
# input with the browser's clock, so a timing starts at the user's own input event.
INIT_JS = """(() => {
  const P = window.__perf = {runs: [], input: [], msgs: []};
  const rec = () => P.input.push(performance.now());
  document.addEventListener('pointerdown', rec, true);
  document.addEventListener('keydown', rec, true);
  // every message from the server (a run's deltas end with its "script finished" message): a
  // quick run can leave the script-state attribute unchanged (React renders "running" and
  // "notRunning" in one go), and the wait then knows the run by its messages
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) { super(...args); this.addEventListener('message', () => P.msgs.push(performance.now())); }
  };
  // s: the state when the observer is called; old: the state the change left. A run quicker than
  // one observer call (running -> notRunning) shows only in the old values.
  const obs = new MutationObserver(muts => {
    for (const m of muts) P.runs.push({t: performance.now(), s: m.target.getAttribute('data-test-script-state'),
                                       old: m.oldValue});
  });
  // marks of every trace type the app draws (maps: the SVG regions of plotly's geo choropleth)
  const MARKS = 'g.trace .point, g.trace g.slice, g.trace path.js-line, path.choroplethlocation, g.trace path.js-fill';
  // -1: a chart plotly has laid out with nothing to draw (no trace holding data, e.g. no
  // standardised estimate for a small region): drawn as it is, not a chart still to come
  window.__marks = () => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).map(c => {
    const n = c.querySelectorAll(MARKS).length;
    const gd = c.querySelector('.js-plotly-plot');
    const nothing = gd && gd._fullLayout && gd._fullData && gd._fullData.every(t => !t._length);
    return n || (nothing ? -1 : 0);
  });
  // what is drawn: a cheap hash of every chart's SVG (marks, axes, titles). Hashing the SVGs
  // takes 2-9 ms (0.1-0.5 MB of markup on the map and survival pages), and the wait polls every
  // frame: the hash is kept until the document changes (a counter bumped by a mutation
  // observer), so the bench does not take the main thread from the drawing it waits for
  let changes = 0, hashedAt = -1, hash = '';
  const dom = new MutationObserver(() => { changes++; });
  const start = () => {
    obs.observe(document.documentElement, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state'],
                                           attributeOldValue: true});
    dom.observe(document.documentElement, {childList: true, subtree: true, attributes: true, characterData: true});
  };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
  window.__sig = () => {
    if (hashedAt === changes) return hash;
    hashedAt = changes;
    hash = svgHash();
    return hash;
  };
  const svgHash = () => {
    let h = 0;
    for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"] .main-svg')) {
      const s = c.innerHTML;
      for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
      h = (h * 31 + s.length) | 0;
    }
    return String(h);
  };
})();"""

# Resolves once the run caused by the input at t0 has finished and the view is drawn.
WAIT_JS = """([t0, sig0, grace]) => {
  const QUIET = 500;
  const P = window.__perf;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const runs = P.runs.filter(r => r.t >= t0);
  const now = performance.now();
  let idleAt, quick = false;
  if (runs.some(r => r.s !== 'notRunning' || (r.old !== null && r.old !== 'notRunning'))) {
    const idle = runs.filter(r => r.s === 'notRunning');
    if (!idle.length) return false;
    idleAt = idle[idle.length - 1].t;
  } else {
    // no state change seen: a run too quick for the attribute, known by the server's messages
    // since the input; it ended with the last of them once none came for QUIET ms
    const msgs = P.msgs.filter(t => t >= t0);
    if (!msgs.length || now - msgs[msgs.length - 1] < QUIET) return false;
    idleAt = msgs[msgs.length - 1];
    quick = true;
  }
  const marks = window.__marks();
  const drawn = marks.every(m => m !== 0);
  const sig = window.__sig();
  const changed = sig0 === null || sig !== sig0;
  if ((!drawn || !changed) && now - idleAt < grace) return false;
  return {idleAt, now, changed, drawn, sig, runs: runs.length, quick};
}"""


@dataclass
class Sample:
    kind: str          # "filter", "sidebar", "export_png_first", ...
    page: str
    what: str
    seconds: float
    cpu: float = float("nan")   # server CPU seconds during the action
    note: str = ""
    browser: float = float("nan")   # the browser's CPU seconds during it (sidebar and filter steps)


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    load_before: tuple = ()
    reference: tuple = ()       # bench/reference.py's CPU seconds before and after the run: the machine's speed
    load_after: tuple = ()
    cold_runs: list[tuple] = field(default_factory=list)     # (seconds, healthy, server CPU) per start
    failures: list[str] = field(default_factory=list)

    @property
    def cold_starts(self) -> list[float]:
        return [run[0] for run in self.cold_runs]

    @property
    def cold_median(self) -> tuple[float, float, float]:
        """The (lower) median cold start: (seconds, healthy, server CPU); NaNs without one."""
        runs = sorted(self.cold_runs)
        return runs[(len(runs) - 1) // 2] if runs else (float("nan"),) * 3

    def add(self, s: Sample) -> None:
        self.samples.append(s)
        cpu = f", server CPU {s.cpu:.2f} s" if s.cpu == s.cpu else ""
        cpu += f", browser {s.browser:.2f} s" if s.browser == s.browser else ""
        print(f"  {s.kind:<18}{s.page:<20}{s.what:<28}{s.seconds * 1000:>8.0f} ms{cpu}{'  ' + s.note if s.note else ''}",
              flush=True)


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def wait_warmed(log_path: Path, timeout: float = 240.0) -> float:
    """Wait for serve.py's "warm-up done" log line (INFO); returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if "warm-up done" in log_path.read_text(errors="replace"):
            break
        time.sleep(0.5)
    return time.monotonic() - t0


class Browser:
    """One page of chromium on the server, with the timing helpers."""

    def __init__(self, pw, url: str, cpu: ServerCPU, step_timeout: float = 15.0):
        from conftest import CHROME_ARGS

        self.url = url.rstrip("/")
        self.step_ms = int(step_timeout * 1000)
        self.cpu = cpu
        self.browser_cpu = BrowserCPU(cpu.pid)
        self.last_browser_cpu = float("nan")   # the browser's CPU seconds in the last timed step
        self.browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROME_ARGS)
        self.ctx = self.browser.new_context(viewport={"width": 1500, "height": 2000}, accept_downloads=True)
        self.ctx.add_init_script(INIT_JS)
        self.page = self.ctx.new_page()
        # a locator that finds nothing fails in seconds (180 s per missing control made a run of
        # two pages take 7 minutes); waits for the app's own work have their own, longer limits
        self.page.set_default_timeout(self.step_ms)
        self.lang = "en"

    def close(self) -> None:
        self.browser.close()

    # --- waiting -----------------------------------------------------------------------
    def sig(self) -> str:
        return self.page.evaluate("window.__sig()")

    def last_input(self) -> float:
        return self.page.evaluate("window.__perf.input.length ? window.__perf.input[window.__perf.input.length - 1] : 0")

    def wait_drawn(self, t0: float, sig0: str | None, grace_ms: float = 2500) -> tuple[float, bool]:
        """Seconds from the browser time ``t0`` to the drawn, idle view; and whether the charts changed."""
        while True:
            res = self.page.wait_for_function(WAIT_JS, arg=[t0, sig0, grace_ms], polling="raf",
                                              timeout=RUN_TIMEOUT_MS).json_value()
            end = max(res["idleAt"], res["now"] if res["changed"] else res["idleAt"])
            if res["quick"]:
                print("      (a run the script-state attribute did not show: ended by its last message)", flush=True)
            # idle for good? (a run may start another: navigation, st.rerun)
            self.page.wait_for_timeout(400)
            again = self.page.evaluate("([t]) => window.__perf.runs.some(r => r.t > t && (r.s !== 'notRunning' || "
                                       "(r.old !== null && r.old !== 'notRunning')))", [end])
            if not again:
                return (end - t0) / 1000, res["changed"]
            # the further run belongs to the same action: keep t0, wait for its end
            self.page.wait_for_selector(IDLE, timeout=RUN_TIMEOUT_MS)

    def timed(self, action, *, expect_change: bool = True) -> tuple[float, bool, float]:
        """Run ``action`` (one user input), then wait for the drawn view. (seconds, changed, CPU s)."""
        sig0 = self.sig() if expect_change else None
        n0 = self.page.evaluate("window.__perf.input.length")
        c0, b0 = self.cpu(), self.browser_cpu()
        action()
        # the input's own timestamp (the last one the action produced)
        self.page.wait_for_function("([n]) => window.__perf.input.length > n", arg=[n0], timeout=self.step_ms)
        t0 = self.last_input()
        try:
            secs, changed = self.wait_drawn(t0, sig0)
        except Exception as exc:  # noqa: BLE001 - a wait that timed out: say what the page showed
            raise StepFailed(f"{type(exc).__name__}; {self.diagnosis(t0)}") from exc
        self.last_browser_cpu = self.browser_cpu() - b0
        return secs, changed, self.cpu() - c0

    def diagnosis(self, t0: float) -> str:
        """What a step that never ended left behind (for the flaky step: a wait for a run that
        never came): the app's script state, the state changes and inputs recorded from 2 s before
        ``t0`` on (ms after it), the server's messages since ``t0``, and the charts' marks."""
        d = self.page.evaluate("""([t0]) => {
          const app = document.querySelector('[data-testid="stApp"]');
          const P = window.__perf;
          return {state: app ? app.getAttribute('data-test-script-state') : null,
                  runs: P.runs.filter(r => r.t >= t0 - 2000).map(r => [Math.round(r.t - t0), r.old, r.s]),
                  inputs: P.input.filter(t => t >= t0 - 2000).map(t => Math.round(t - t0)),
                  msgs: P.msgs.filter(t => t >= t0).length,
                  marks: window.__marks()}; }""", [t0])
        return (f"script state {d['state']!r}; state changes since the input (ms, from, to): {d['runs'][-8:]}; "
                f"inputs (ms): {d['inputs'][-4:]}; server messages since: {d['msgs']}; marks per chart: {d['marks']}")

    def settle(self) -> None:
        self.page.wait_for_selector(IDLE, timeout=RUN_TIMEOUT_MS)
        self.page.wait_for_timeout(300)
        self.page.wait_for_selector(IDLE, timeout=RUN_TIMEOUT_MS)

    def param(self, name: str) -> str | None:
        """The current value of a URL query parameter (where every filter keeps its value)."""
        from urllib.parse import parse_qs, urlsplit

        return (parse_qs(urlsplit(self.page.url).query).get(name) or [None])[0]

    # --- controls ----------------------------------------------------------------------------
    def radio(self, key: str, index: int) -> None:
        self.page.locator(f".st-key-{key} [role=radiogroup] label").nth(index).click()

    def select(self, key: str, index: int | None = None, text: str | None = None) -> None:
        if not self.page.locator(f".st-key-{key}").count():     # a control this page does not have
            raise LookupError(f"no control {key!r} on this page")
        box = self.page.locator(f".st-key-{key} input").first
        if not box.is_visible():     # in a folded expander (the standard: "Methods"): unfold it
            self.page.locator(f'[data-testid="stSidebar"] details:has(.st-key-{key}) > summary').click()
            box.wait_for(state="visible")
        # the options of the list this box opens, never those of a list still closing from the
        # previous step (both are [role=option] for a moment)
        self.page.locator('[role="listbox"]').first.wait_for(state="detached")
        opts = self.page.locator('[role="listbox"] [role="option"]')
        for attempt in range(2):     # a click during the expander's animation may not open the list
            box.click()
            try:
                opts.first.wait_for(state="visible", timeout=min(self.step_ms, 5_000))
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError: try once more
                if attempt:
                    raise
        (opts.filter(has_text=text).first if text else opts.nth(index)).click()

    def slider_step(self, key: str, thumb: int, key_name: str) -> None:
        inp = self.page.locator(f".st-key-{key} input[type=range]").nth(thumb)
        inp.focus()
        self.page.keyboard.press(key_name)

    def nav(self, stem: str) -> None:
        from analytics.i18n import t

        nav = self.page.get_by_test_id("stSidebarNav")
        link = nav.get_by_text(t(f"app.page.{stem}", self.lang), exact=True)
        if not link.count():   # a long list is folded: "View N more" first
            more = self.page.get_by_test_id("stSidebarNavViewButton")
            if more.count() and "more" in (more.inner_text() or "").lower():
                more.click()
        link.click()


class StepFailed(Exception):
    """A bench step that could not be done as asked (its message says what happened)."""


# Filter changes on every page: (label, action(browser), URL parameter the step changes). Each
# step is a new selection for the page (the period and sex move on), as a user exploring would
# make; the step counts only if that parameter's value changed (checked after the run).
def filter_steps():
    return [
        ("sex: women", lambda b: b.radio("f_sex", 2), "sex"),
        ("period: start -1 year", lambda b: b.slider_step("f_period", 0, "ArrowLeft"), "y0"),
        ("site: 4th of the list", lambda b: b.select("f_site", 3), "site"),
        ("sex: men", lambda b: b.radio("f_sex", 1), "sex"),
        ("region: 2nd economic region", lambda b: b.select("f_er", 2), "er"),
        ("standard: 2nd", lambda b: b.select("f_std", 1), "std"),
        ("site: all sites", lambda b: b.select("f_site", 0), "site"),
        ("language: az", lambda b: b.select("f_lang", 1), "lang"),
        ("region: all", lambda b: b.select("f_er", 0), "er"),
        ("language: en", lambda b: b.select("f_lang", 0), "lang"),
        ("standard: default", lambda b: b.select("f_std", 0), "std"),
        ("sex: both", lambda b: b.radio("f_sex", 0), "sex"),
        ("period: start +1 year", lambda b: b.slider_step("f_period", 0, "ArrowRight"), "y0"),
    ]


def start_server(port: int, log_path: Path, streamlit_run: bool):
    """The dashboard on 127.0.0.1:port as ``make run`` starts it (serve.py, logging its warm-up's
    end), or with ``streamlit run app.py`` (the tests' way); returns the process once its health
    check answers (polled every 50 ms)."""
    from conftest import start_streamlit
    from stclient import serve

    if streamlit_run:
        return start_streamlit(port, log_path)
    return serve(port, {"REGISTRY_LOG_LEVEL": "INFO"}, log_path, timeout=120, poll=0.05)


@functools.cache
def prepare_as_make_run() -> None:
    """What ``make run`` does before it starts the server, once per bench run: the server's code
    compiled to bytecode (``make install``: the Makefile's SOURCES), the demo store prebuilt. A
    step that fails is reported and the bench goes on (the server builds what it lacks; seen once:
    the store's process, with nothing to build, aborted at exit with a C++ "terminate called")."""
    import re
    import subprocess

    sources = re.search(r"^SOURCES\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    for cmd in (["-m", "compileall", "-q", *sources], ["-m", "app_support.demo_store"]):
        done = subprocess.run([sys.executable, *cmd], cwd=ROOT, stdout=subprocess.DEVNULL)
        if done.returncode:
            print(f"preparing as make run: {' '.join(cmd)} exited with {done.returncode}", flush=True)


def cold_start(res: Results, pw, streamlit_run: bool = False) -> None:
    """Process start -> first chart drawn, in a browser already open (a user's is); appended to
    ``res.cold_runs`` (``res.cold_median``: their lower median)."""
    from conftest import CHROME_ARGS, free_port, stop

    prepare_as_make_run()
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROME_ARGS)
    page = browser.new_page(viewport={"width": 1500, "height": 2000})
    page.goto("about:blank")
    port = free_port()
    t0 = time.perf_counter()
    proc = start_server(port, Path(tempfile.gettempdir()) / f"bench_app_cold_{port}.log", streamlit_run)
    healthy = time.perf_counter() - t0
    try:
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg g.trace').length > 0",
                               timeout=RUN_TIMEOUT_MS, polling="raf")
        seconds, cpu = time.perf_counter() - t0, ServerCPU(proc.pid)()
    finally:
        browser.close()
        stop(proc)
    res.cold_runs.append((seconds, healthy, cpu))
    print(f"cold start ({'streamlit run app.py' if streamlit_run else 'serve.py'}): server healthy after "
          f"{healthy:.1f} s, first chart drawn after {seconds:.1f} s "
          f"(server CPU until then {cpu:.1f} s)", flush=True)


def open_app(b: Browser, path: str = "") -> None:
    b.page.goto(f"{b.url}/{path}", wait_until="domcontentloaded", timeout=RUN_TIMEOUT_MS)
    b.page.get_by_test_id("stSidebar").wait_for(timeout=RUN_TIMEOUT_MS)
    b.page.locator(".st-key-f_sex").wait_for(timeout=RUN_TIMEOUT_MS)
    b.page.wait_for_function("() => window.__marks().every(m => m !== 0)", polling="raf", timeout=RUN_TIMEOUT_MS)
    b.settle()


def pages_list() -> list[str]:
    from app_support.navigation import PAGES

    return [stem for stem, _ in PAGES if (ROOT / "pages" / f"{stem}.py").exists()]


def failed(res: Results, b: Browser, stem: str, label: str, exc: BaseException, shots: Path | None) -> None:
    """Report a step that could not be done, keep a screenshot, and bring the page back to rest."""
    msg = f"{stem}: {label} failed: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:700]}"
    res.failures.append(msg)
    print(f"  ({msg})", flush=True)
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        b.page.screenshot(path=str(shots / f"{stem}_{label.replace(' ', '_').replace(':', '')}.png"))
    b.page.keyboard.press("Escape")
    b.settle()


def sidebar_and_filters(res: Results, b: Browser, pages: list[str], rounds: int, shots: Path | None = None) -> None:
    open_app(b)
    for rnd in range(rounds):
        for stem in pages:
            # sidebar click -> page drawn (from another page)
            if stem == pages[0] and len(pages) > 1:
                b.timed(lambda: b.nav(pages[-1]), expect_change=False)
            secs, changed, cpu = b.timed(lambda: b.nav(stem), expect_change=False)
            res.add(Sample("sidebar", stem, f"round {rnd + 1}", secs, cpu, browser=b.last_browser_cpu))
            for label, step, param in filter_steps():
                before = b.param(param)
                try:
                    secs, changed, cpu = b.timed(lambda: step(b))
                    if b.param(param) == before:     # the control was not the one asked for, or not changed
                        raise StepFailed(f"the address's {param!r} is still {before!r}")
                except LookupError as exc:           # a control this page does not have: say so, go on
                    print(f"  ({stem}: {label}: {exc})", flush=True)
                    continue
                except Exception as exc:  # noqa: BLE001 - a timeout or a wrong value: reported, not timed
                    failed(res, b, stem, label, exc, shots)
                    continue
                finally:
                    if label.startswith("language"):
                        b.lang = "az" if b.param("lang") == "az" else "en"
                res.add(Sample("filter", stem, label, secs, cpu, "" if changed else "(charts unchanged)",
                               browser=b.last_browser_cpu))
                if os.environ.get("BENCH_DEBUG"):
                    print("     ", b.page.url.split("?", 1)[-1], b.page.evaluate("window.__marks()"))


def exports(res: Results, b: Browser) -> None:
    open_app(b)
    for i in range(5):
        c0 = b.cpu()
        t0 = time.perf_counter()
        with b.page.expect_download(timeout=300_000) as dl:
            b.page.locator(".st-key-dl_png_overview_top10 button").click()
        dl.value.path()
        res.add(Sample("export_png_first" if i == 0 else "export_png", "overview", f"PNG #{i + 1}",
                       time.perf_counter() - t0, b.cpu() - c0))
    # the other charts' PNG, once each: drawn, not the process's image store (repeats of one chart are)
    for name in ("overview_per_year", "overview_case_mix", "overview_pyramid"):
        c0 = b.cpu()
        t0 = time.perf_counter()
        with b.page.expect_download(timeout=300_000) as dl:
            b.page.locator(f".st-key-dl_png_{name} button").click()
        dl.value.path()
        res.add(Sample("export_png_other", "overview", name, time.perf_counter() - t0, b.cpu() - c0))
    # "Add to presentation": 8 charts from three pages
    plan = {"overview": ["overview_top10", "overview_per_year", "overview_case_mix", "overview_pyramid"],
            "incidence": ["incidence_asr_by_site", "incidence_age_specific", "incidence_regions"],
            "trends": ["trends_fit"]}
    from analytics.i18n import t

    added = 0
    for stem, names in plan.items():
        if stem != "overview":
            b.timed(lambda: b.nav(stem), expect_change=False)
        for name in names:
            # click -> the confirmation ("Added to the presentation (n charts)") shown and the app idle.
            # The button is a fragment of its own: its short rerun may not show on the app's
            # script-state attribute, so the run-based wait of `timed` is not used here.
            added += 1
            c0 = b.cpu()
            t0 = time.perf_counter()
            b.page.locator(f".st-key-deck_{name} button").click()
            b.page.get_by_text(t("app.deck.added", b.lang, n=added)).first.wait_for(state="visible", timeout=120_000)
            b.page.wait_for_selector(IDLE, timeout=300_000)
            res.add(Sample("add_to_deck", stem, name, time.perf_counter() - t0, b.cpu() - c0))
            b.settle()
    exp = b.page.locator(".st-key-deck_download button")
    if not exp.is_visible():
        b.page.locator('[data-testid="stSidebar"] details:has(.st-key-x_size) > summary').click()
        exp.wait_for(state="visible")
    c0 = b.cpu()
    t0 = time.perf_counter()
    with b.page.expect_download(timeout=600_000) as dl:
        exp.click()
    size = Path(dl.value.path()).stat().st_size
    res.add(Sample("pptx_8_slides", "sidebar", f"{size / 1e6:.1f} MB", time.perf_counter() - t0, b.cpu() - c0))


def upload_files(tmp: Path) -> tuple[Path, Path]:
    """A 300-record CanReg5 extract cut from the demo's export, and the demo population."""
    src = ROOT / "data" / "demo" / "canreg5_export.txt.gz"
    out = tmp / "extract_300.txt"
    with gzip.open(src, "rt", encoding="utf-8", newline="") as fh, open(out, "w", encoding="utf-8", newline="") as w:
        for i, line in enumerate(fh):
            if i > 300:
                break
            w.write(line)
    return out, ROOT / "data" / "demo" / "population.parquet"


def upload(res: Results, b: Browser) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        extract, population = upload_files(Path(tmp))
        b.timed(lambda: b.nav("data"), expect_change=False)
        c0 = b.cpu()
        t0 = time.perf_counter()
        b.page.locator(".st-key-up_pop input[type=file]").set_input_files(str(population))
        b.page.wait_for_timeout(300)
        b.settle()
        b.page.locator(".st-key-up_extract input[type=file]").set_input_files(str(extract))
        b.page.wait_for_timeout(300)
        b.settle()
        res.add(Sample("upload_choose", "data", "300 records + population", time.perf_counter() - t0, b.cpu() - c0))
        secs, _, cpu = b.timed(lambda: b.page.locator(".st-key-data_load button").click(), expect_change=False)
        res.add(Sample("upload_load", "data", "Load -> validation report", secs, cpu))


TARGETS = {"filter": (0.5, 1.0), "sidebar": (0.7, 1.2), "export_png": (0.5, None), "export_png_other": (0.5, None),
           "add_to_deck": (0.5, None),
           "pptx_8_slides": (3.0, None)}


def _values(res: Results, attr: str, **where) -> list[float]:
    """``attr`` of the samples whose fields equal ``where``, without the NaNs of samples that have none."""
    xs = (getattr(s, attr) for s in res.samples if all(getattr(s, k) == v for k, v in where.items()))
    return [x for x in xs if x == x]


def _median(xs: list[float]) -> float | None:
    """The median, None (JSON null) without values."""
    return statistics.median(xs) if xs else None


def _shown(x: float | None, scale: float = 1.0) -> float:
    """A summary value as printed: NaN for None."""
    return float("nan") if x is None else x * scale


def summary(res: Results) -> dict:
    cold_start, healthy, cold_cpu = res.cold_median
    out: dict = {"load_before": res.load_before, "load_after": res.load_after, "reference_s": res.reference,
                 "cold_start": cold_start,
                 "healthy": healthy, "kinds": {}, "pages": {}}
    print()
    print(f"{'what':<22}{'n':>4}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}{'CPU/act s':>11}{'browser s':>10}"
          "  target (median, p95)")
    for kind in dict.fromkeys(s.kind for s in res.samples):
        xs = _values(res, "seconds", kind=kind)
        row = {"n": len(xs), "median": statistics.median(xs), "p95": pct(xs, 0.95), "max": max(xs),
               "cpu_median": _median(_values(res, "cpu", kind=kind)),
               "browser_cpu_median": _median(_values(res, "browser", kind=kind))}
        tg = TARGETS.get(kind)
        tgt = "" if tg is None else f"<= {tg[0] * 1000:.0f} ms" + (f", <= {tg[1] * 1000:.0f} ms" if tg[1] else "")
        print(f"{kind:<22}{len(xs):>4}{row['median'] * 1000:>11.0f}{row['p95'] * 1000:>9.0f}{row['max'] * 1000:>9.0f}"
              f"{_shown(row['cpu_median']):>11.2f}{_shown(row['browser_cpu_median']):>10.2f}  {tgt}")
        out["kinds"][kind] = row
    print()
    print(f"{'page':<20}{'sidebar ms':>11}{'filter median':>14}{'filter p95':>11}{'n':>4}"
          f"{'server CPU':>11}{'browser CPU':>12}  (filter medians, s)")
    for page in dict.fromkeys(s.page for s in res.samples if s.kind in ("filter", "sidebar")):
        fil = _values(res, "seconds", page=page, kind="filter")
        row = {"sidebar_median": _median(_values(res, "seconds", page=page, kind="sidebar")),
               "filter_median": _median(fil), "filter_p95": pct(fil, 0.95) if fil else None}
        print(f"{page:<20}{_shown(row['sidebar_median'], 1000):>11.0f}{_shown(row['filter_median'], 1000):>14.0f}"
              f"{pct(fil, 0.95) * 1000:>11.0f}{len(fil):>4}"
              f"{_shown(_median(_values(res, 'cpu', page=page, kind='filter'))):>11.2f}"
              f"{_shown(_median(_values(res, 'browser', page=page, kind='filter'))):>12.2f}")
        out["pages"][page] = row
    print(f"cold start -> first chart: median {cold_start:.1f} s of {len(res.cold_starts)} "
          f"({', '.join(f'{x:.1f}' for x in res.cold_starts)} s; that start's server CPU {cold_cpu:.1f} s; "
          f"target <= 4 s)")
    print(f"failed steps: {len(res.failures)}" + "".join(f"\n  {f}" for f in res.failures))
    out["failures"] = res.failures
    out["cold_cpu"] = cold_cpu
    out["cold_starts"] = res.cold_starts
    print(f"load average before {res.load_before}, after {res.load_after} on {os.cpu_count()} cores; "
          f"{reference_text(*res.reference)}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", nargs="*", default=None, help="page stems (default: every page)")
    ap.add_argument("--rounds", type=int, default=1, help="passes over the pages (each filter step per pass)")
    ap.add_argument("--url", default=None, help="an already running server (cold start is then skipped)")
    ap.add_argument("--pid", type=int, default=None, help="its process id, for the server CPU column")
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--cold-starts", type=int, default=3, help="cold starts timed (their median is reported)")
    ap.add_argument("--skip-exports", action="store_true")
    ap.add_argument("--skip-upload", action="store_true")
    ap.add_argument("--json", default=None, help="write the summary and every sample to this file")
    ap.add_argument("--streamlit-run", action="store_true",
                    help="start `streamlit run app.py` (the browser tests' way) instead of serve.py (make run's)")
    ap.add_argument("--step-timeout", type=float, default=15.0,
                    help="seconds a control may take to be found and used before the step is reported as failed")
    ap.add_argument("--shots", default=None, help="folder for a screenshot of every failed step")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from conftest import free_port, stop

    pages = args.pages or pages_list()
    res = Results(load_before=tuple(round(x, 1) for x in os.getloadavg()), reference=(reference_seconds(),))
    print(f"load average {res.load_before} on {os.cpu_count()} cores (timings scale with it); "
          f"{reference_text(*res.reference)}", flush=True)
    proc = None
    with sync_playwright() as pw:
        for _ in range(0 if args.skip_cold or args.url else args.cold_starts):
            cold_start(res, pw, args.streamlit_run)
        url, pid = args.url, args.pid
        if url is None:
            port = free_port()
            proc = start_server(port, Path(tempfile.gettempdir()) / f"bench_app_{port}.log", args.streamlit_run)
            url, pid = f"http://127.0.0.1:{port}", proc.pid
        try:
            # the timings are of a server at rest, not of its warm-up (which pauses for visitors, so
            # a quiet second is no proof it is over: serve.py logs its end)
            log_path = Path(tempfile.gettempdir()) / f"bench_app_{port}.log" if proc is not None else None
            waited = (wait_warmed(log_path) if log_path is not None and not args.streamlit_run
                      else ServerCPU(pid).wait_idle())
            print(f"server idle after {waited:.0f} s (its warm-up ran every page once)", flush=True)
            b = Browser(pw, url, ServerCPU(pid), args.step_timeout)
            try:
                sidebar_and_filters(res, b, pages, args.rounds, Path(args.shots) if args.shots else None)
                if not args.skip_exports:
                    exports(res, b)
                if not args.skip_upload:
                    upload(res, b)
            finally:
                b.close()
        finally:
            if proc is not None:
                stop(proc)
    res.load_after = tuple(round(x, 1) for x in os.getloadavg())
    res.reference += (reference_seconds(),)
    out = summary(res)
    if args.json:
        out["samples"] = [s.__dict__ for s in res.samples]
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

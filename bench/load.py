"""Many users at once: N concurrent sessions over Streamlit's own WebSocket protocol, each opening
a shared link to one of the heaviest pages (Overview, Incidence, Maps) and changing filters with a
think time between changes — what a congress hall following a link does to the server.

Reported: p50/p95 of the time from a filter change to the updated view (the run's last message),
first-render time (opening the link to the first complete view), errors (exceptions shown,
timeouts, dropped connections), the server's resident memory over time and per idle session, its
CPU seconds per run, and a check that no session ever sees another's selection or data: every run's
address (query string) and the period printed on the page are the session's own, and on the
Overview the headline ASR equals ``analytics.rates.dsr`` computed directly for the session's
selection.

    .venv/bin/python bench/load.py --sessions 20 --duration 60 [--think 3 5] [--url http://host:port]
    .venv/bin/python bench/load.py --sessions 50 --nginx      # two replicas behind nginx (deploy/)

The client is importable (the two-replica nginx test drives it through the proxy)::

    import asyncio, sys; sys.path.insert(0, "bench"); from load import Session
    async def one():
        async with Session("https://127.0.0.1:8443", insecure_tls=True) as s:
            run = await s.open("maps", "y0=2015&y1=2019")       # first render: a Run
            run = await s.change("f_sex", "Women")              # a keyed widget, by option label
            run = await s.change("f_period", (2016, 2020))      # sliders by value
            print(run.seconds, run.exceptions, s.query)
    asyncio.run(one())

``Session(base_url, *, insecure_tls=False, headers=None, timeout=180)``: ``open(page="", query="")``
GETs the page first (cookies: XSRF ``_streamlit_xsrf``, a proxy's sticky-session cookie), connects
the WebSocket with Streamlit's subprotocol handshake (``streamlit``, the XSRF token) and asks for
the first run; ``change(key, value)`` / ``change_many({key: value})`` send a rerun with the widget's
new state; ``switch(page)`` goes to another page; each returns a ``Run`` (``seconds``,
``first_message``, ``messages``, ``exceptions``, ``texts()``, ``metric(label)``, ``bytes``).
``s.widgets`` maps widget keys to their last element, ``s.query`` is the page's address,
``s.cookies`` what the server (or proxy) set.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import ssl as ssl_mod
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from proc_cpu import process_cpu, rss_mb      # bench/proc_cpu.py (this folder is on the path of its users)
from reference import reference_seconds, reference_text      # the machine's speed (bench/reference.py)

ROOT = Path(__file__).resolve().parents[1]
STREAM_PATH = "/_stcore/stream"
XSRF_COOKIE = "_streamlit_xsrf"
# element types that are widgets, and how their value travels (WidgetState field)
WIDGET_FIELDS = {"radio": "string_value", "selectbox": "string_value", "slider": "double_array_value",
                 "select_slider": "string_array_value", "multiselect": "string_array_value",
                 "checkbox": "bool_value", "text_input": "string_value", "button": "trigger_value",
                 "number_input": "double_value"}


class SessionError(RuntimeError):
    """The server closed the connection or did not finish a run in time."""


@dataclass
class Run:
    """One script run as the client saw it."""
    seconds: float = 0.0                 # request sent -> the run's last message
    first_message: float = 0.0           # request sent -> the first delta
    messages: list = field(default_factory=list)
    bytes: int = 0

    def elements(self) -> list:
        return [m.delta.new_element for m in self.messages
                if m.WhichOneof("type") == "delta" and m.delta.HasField("new_element")]

    @property
    def exceptions(self) -> list[str]:
        return [e.exception.message for e in self.elements() if e.WhichOneof("type") == "exception"]

    def texts(self) -> str:
        """The run's visible text: markdown, captions, headings, alerts, metrics, chart titles."""
        out = []
        for e in self.elements():
            kind = e.WhichOneof("type")
            if kind in ("markdown", "heading", "alert"):
                out.append(getattr(e, kind).body)
            elif kind == "metric":
                out.append(f"{e.metric.label}: {e.metric.body}")
            elif kind == "plotly_chart":
                out.append(e.plotly_chart.spec[:2000])
        return "\n".join(out)

    def metric(self, label: str) -> str | None:
        for e in self.elements():
            if e.WhichOneof("type") == "metric" and e.metric.label == label:
                return e.metric.body
        return None


def _key_of(widget_id: str) -> str:
    """The user key of a widget id ("$$ID-<hash>-f_sex" -> "f_sex")."""
    return widget_id.split("-", 2)[-1] if widget_id.startswith("$$ID-") else widget_id


class Session:
    """A browser tab's conversation with the server, without a browser (see the module doc)."""

    def __init__(self, base_url: str, *, insecure_tls: bool = False, headers: dict[str, str] | None = None,
                 timeout: float = 180):
        self.base_url = base_url.rstrip("/")
        self.insecure_tls = insecure_tls
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.ws = None
        self.widgets: dict[str, object] = {}        # user key -> element proto (last seen)
        self.kinds: dict[str, str] = {}             # user key -> element type
        self.ids: dict[str, str] = {}               # user key -> widget id
        self.states: dict[str, WidgetState] = {}    # widget id -> the state this client sent
        self.query = ""
        self.page_hash = ""
        self.pages: dict[str, str] = {}             # url path -> page script hash
        self.session_id: str | None = None

    async def __aenter__(self) -> "Session":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # --- connection --------------------------------------------------------------------------
    def _ssl(self):
        if not self.base_url.startswith("https"):
            return None
        ctx = ssl_mod.create_default_context()
        if self.insecure_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl_mod.CERT_NONE
        return ctx

    def _get(self, path: str) -> None:
        """GET the page as a browser does first: collects the cookies (XSRF, sticky session)."""
        req = urllib.request.Request(self.base_url + path, headers={**self.headers, **self._cookie_header()})
        with urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl()) as resp:
            resp.read()
            for raw in resp.headers.get_all("Set-Cookie") or []:
                c = SimpleCookie()
                c.load(raw)
                self.cookies.update({k: m.value for k, m in c.items()})

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    async def connect(self, path: str = "/") -> None:
        import websockets

        await asyncio.get_running_loop().run_in_executor(None, self._get, path)
        u = urllib.parse.urlsplit(self.base_url)
        scheme = "wss" if u.scheme == "https" else "ws"
        # Streamlit reads the subprotocol list as: "streamlit", the XSRF token, a session to resume
        protocols = ["streamlit"] + ([self.cookies[XSRF_COOKIE]] if XSRF_COOKIE in self.cookies else [])
        self.ws = await websockets.connect(
            f"{scheme}://{u.netloc}{u.path}{STREAM_PATH}", subprotocols=protocols, origin=f"{u.scheme}://{u.netloc}",
            additional_headers={**self.headers, **self._cookie_header()}, ssl=self._ssl(), max_size=None,
            open_timeout=self.timeout, ping_interval=None)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    # --- runs ------------------------------------------------------------------------------------
    async def open(self, page: str = "", query: str = "") -> Run:
        """Open ``base_url/page?query`` (a shared link) and return its first complete run."""
        await self.connect(f"/{page}" + (f"?{query}" if query else ""))
        self.query = query
        return await self._rerun(page_name=page)

    async def change(self, key: str, value) -> Run:
        """Set the keyed widget ``key`` as a user would (an option's label or index for radios and
        select boxes, a value or pair for sliders, a bool for toggles) and return the run."""
        return await self.change_many({key: value})

    async def change_many(self, values: dict) -> Run:
        for key, value in values.items():
            self._set_state(key, value)
        return await self._rerun()

    async def click(self, key: str) -> Run:
        """Press the keyed button ``key``."""
        ws = WidgetState(id=self.ids[key], trigger_value=True)
        return await self._rerun(extra=[ws])

    async def switch(self, page: str) -> Run:
        """Go to another page through the navigation (the filters follow in the session)."""
        return await self._rerun(page_hash=self.pages.get(page, ""), page_name=page)

    def _set_state(self, key: str, value) -> None:
        if key not in self.ids:
            raise KeyError(f"no widget with key {key!r} on this page (known: {sorted(self.ids)})")
        kind, el = self.kinds[key], self.widgets[key]
        ws = WidgetState(id=self.ids[key])
        options = list(getattr(el, "options", []))
        if kind in ("radio", "selectbox"):
            ws.string_value = options[value] if isinstance(value, int) else str(value)
        elif kind == "slider":
            vals = value if isinstance(value, (tuple, list)) else [value]
            ws.double_array_value.data.extend(float(v) for v in vals)
        elif kind in ("select_slider", "multiselect"):
            vals = value if isinstance(value, (tuple, list)) else [value]
            ws.string_array_value.data.extend(options[v] if isinstance(v, int) else str(v) for v in vals)
        elif kind == "checkbox":
            ws.bool_value = bool(value)
        else:
            raise ValueError(f"widget {key!r} of type {kind} is not supported")
        self.states[ws.id] = ws

    async def _rerun(self, *, page_name: str = "", page_hash: str | None = None, extra=()) -> Run:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        cs.page_name = page_name
        cs.widget_states.widgets.extend(list(self.states.values()) + list(extra))
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        return await self._read_run(t0)

    async def _read_run(self, t0: float) -> Run:
        import websockets

        run = Run()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - loop.time()))
            except asyncio.TimeoutError as exc:
                raise SessionError(f"no end of run within {self.timeout:.0f} s") from exc
            except websockets.ConnectionClosed as exc:
                raise SessionError(f"connection closed: {exc}") from exc
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            run.bytes += len(raw)
            run.messages.append(fm)
            kind = fm.WhichOneof("type")
            if kind == "delta" and not run.first_message:
                run.first_message = time.perf_counter() - t0
            elif kind == "new_session":
                self.session_id = fm.new_session.initialize.session_id or self.session_id
                self.page_hash = fm.new_session.page_script_hash or self.page_hash
            elif kind == "navigation":
                self.page_hash = fm.navigation.page_script_hash or self.page_hash
                self.pages = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
            elif kind == "page_info_changed":
                self.query = fm.page_info_changed.query_string
            elif kind == "script_finished" and fm.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                run.seconds = time.perf_counter() - t0
                self._learn(run)
                return run

    def _learn(self, run: Run) -> None:
        for e in run.elements():
            kind = e.WhichOneof("type")
            if kind in WIDGET_FIELDS:
                el = getattr(e, kind)
                key = _key_of(el.id)
                self.widgets[key], self.kinds[key], self.ids[key] = el, kind, el.id


# --- the load test ---------------------------------------------------------------------------------
PAGES = ("", "incidence", "maps")          # Overview (the root), Incidence, Maps: the heaviest
SEXES = ("both", "male", "female")
PERIODS = [(y, y + 4) for y in range(2010, 2021)]


@dataclass
class Stats:
    first: list = field(default_factory=list)
    rerun: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    rss: list = field(default_factory=list)          # (seconds since start, MB)
    runs: int = 0
    cpu: float = 0.0
    bytes: list = field(default_factory=list)
    checked: int = 0                                  # headline ASRs compared with analytics


def expected_asr(sex: str, period: tuple[int, int]) -> float:
    """The Overview's headline ASR for a selection, computed directly (analytics.cube + rates)."""
    from analytics import cube, demo, rates
    from analytics import schema as S

    global _CUBE
    if "_CUBE" not in globals():
        reg, geo = demo.load_demo(), demo.load_demo_regions()
        parents = dict(zip(geo[S.REGION].astype(str), geo[S.PARENT].astype(str)))
        _CUBE = cube.build_cube(cube.events_from_records(reg.records, S.SITE_CI5), reg.population, parents)
    codes = {"both": (1, 2, 9), "male": (1,), "female": (2,)}[sex]
    data = _CUBE.select(cube.Selection(years=period, sexes=codes, ages=tuple(S.AGE_GROUPS)), by=())
    return float(rates.dsr(data, method="tiwari")["value"].iloc[0])


def fmt1(x: float) -> str:
    from analytics.i18n import format_number

    return format_number(x, "en", 1)


def check_own(run: Run, s: Session, sex: str, period: tuple[int, int], page: str, expected: dict,
              stats: Stats, who: int) -> None:
    """The view is the session's own: its address, its period in the text, its headline ASR."""
    q = urllib.parse.parse_qs(s.query)
    got = (q.get("sex", ["?"])[0], q.get("y0", ["?"])[0], q.get("y1", ["?"])[0])
    if got != (sex, str(period[0]), str(period[1])):
        stats.violations.append(f"session {who}: address {got} != own {(sex, *period)}")
    label = f"{period[0]}–{period[1]}"
    if label not in run.texts():
        stats.violations.append(f"session {who} on {page or 'overview'}: own period {label} not in the page")
    if page == "" and (sex, period) in expected:
        from analytics.i18n import t

        shown = run.metric(t("app.metric.asr", "en"))
        want = expected[(sex, period)]
        stats.checked += shown is not None
        if shown is not None and shown != want:
            stats.violations.append(f"session {who}: ASR shown {shown} != {want} for {(sex, period)}")


async def user(who: int, url: str, args, stats: Stats, expected: dict, stop_at: float) -> None:
    rng = random.Random(args.seed * 1000 + who)
    page = PAGES[who % len(PAGES)]
    sex, period = rng.choice(SEXES), rng.choice(PERIODS)
    query = f"sex={sex}&y0={period[0]}&y1={period[1]}"
    await asyncio.sleep(rng.uniform(0, args.ramp))
    try:
        async with Session(url, insecure_tls=True, timeout=args.timeout) as s:
            run = await s.open(page, query)
            stats.first.append(run.seconds)
            stats.bytes.append(run.bytes)
            stats.runs += 1
            if run.exceptions:
                stats.errors.append(f"session {who}: {run.exceptions[0][:200]}")
            check_own(run, s, sex, period, page, expected, stats, who)
            changes, least = 0, getattr(args, "min_changes", 0)    # a brief run (the nginx test): at least this many
            while time.monotonic() < stop_at or changes < least:
                await asyncio.sleep(rng.uniform(*args.think))
                if time.monotonic() >= stop_at and changes >= least:
                    break
                changes += 1
                if rng.random() < 0.5:
                    sex = rng.choice([x for x in SEXES if x != sex])
                    labels = list(s.widgets["f_sex"].options)
                    run = await s.change("f_sex", labels[SEXES.index(sex)])
                else:
                    period = rng.choice([p for p in PERIODS if p != period])
                    run = await s.change("f_period", period)
                stats.rerun.append(run.seconds)
                stats.runs += 1
                if run.exceptions:
                    stats.errors.append(f"session {who}: {run.exceptions[0][:200]}")
                check_own(run, s, sex, period, page, expected, stats, who)
    except (SessionError, OSError, KeyError) as exc:
        stats.errors.append(f"session {who}: {type(exc).__name__}: {exc}")


async def sample_rss(pid: int, stats: Stats, t0: float, done: asyncio.Event) -> None:
    while not done.is_set():
        stats.rss.append((time.monotonic() - t0, rss_mb(pid)))
        try:
            await asyncio.wait_for(done.wait(), timeout=1.0)
        except asyncio.TimeoutError:
            pass


async def idle_memory(url: str, pid: int, n: int) -> float:
    """MB of server memory per idle session: open n sessions on the Overview, wait, measure."""
    base = rss_mb(pid)
    sessions = [Session(url, insecure_tls=True) for _ in range(n)]
    for s in sessions:
        await s.open("", "y0=2020&y1=2024")
    await asyncio.sleep(3)
    per = (rss_mb(pid) - base) / n
    for s in sessions:
        await s.close()
    return per


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


async def run_load(url: str, pid: int | None, args) -> Stats:
    stats = Stats()
    expected = {}
    if not args.no_data_check:
        for sex in SEXES:
            for p in PERIODS:
                expected[(sex, p)] = fmt1(expected_asr(sex, p))
    # warm the server once (the first run of a process loads the demo), as a deployed server is
    async with Session(url, insecure_tls=True, timeout=args.timeout) as s:
        await s.open("", "")
    t0 = time.monotonic()
    done = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, stats, t0, done)) if pid else None
    c0 = process_cpu(pid) if pid else float("nan")
    stop_at = t0 + args.ramp + args.duration
    await asyncio.gather(*(user(i, url, args, stats, expected, stop_at) for i in range(args.sessions)))
    stats.cpu = (process_cpu(pid) - c0) if pid else float("nan")
    done.set()
    if sampler:
        await sampler
    return stats


def report(stats: Stats, args, pid, per_idle: float | None, load_before, load_after,
           reference: tuple[float, ...] = ()) -> dict:
    out = {
        "sessions": args.sessions, "think": args.think, "duration": args.duration,
        "rerun_n": len(stats.rerun), "rerun_p50": pct(stats.rerun, .5), "rerun_p95": pct(stats.rerun, .95),
        "first_n": len(stats.first), "first_p50": pct(stats.first, .5), "first_p95": pct(stats.first, .95),
        "errors": len(stats.errors), "violations": len(stats.violations), "asr_checked": stats.checked,
        "cpu_per_run": stats.cpu / stats.runs if stats.runs else None,
        "rss_start": stats.rss[0][1] if stats.rss else None, "rss_peak": max(r for _, r in stats.rss) if stats.rss else None,
        "rss_end": stats.rss[-1][1] if stats.rss else None, "mb_per_idle_session": per_idle,
        "first_view_kb_p50": pct(stats.bytes, .5) / 1024 if stats.bytes else None,
        "load_before": load_before, "load_after": load_after, "reference_s": reference,
    }
    print(f"{args.sessions} sessions, think {args.think[0]:g}-{args.think[1]:g} s, {args.duration:g} s "
          f"(+{args.ramp:g} s ramp); load average before {load_before}, after {load_after} on {os.cpu_count()} cores"
          + (f"; {reference_text(*reference)}" if reference else ""))
    print(f"  filter change -> updated view: p50 {out['rerun_p50']:.2f} s, p95 {out['rerun_p95']:.2f} s "
          f"({len(stats.rerun)} changes)   targets: 20 sessions p95 <= 2 s; 50 sessions p95 <= 5 s")
    print(f"  first render (shared link):     p50 {out['first_p50']:.2f} s, p95 {out['first_p95']:.2f} s "
          f"({len(stats.first)} sessions; first view {out['first_view_kb_p50'] or 0:.0f} kB)")
    print(f"  errors: {len(stats.errors)}; sessions that saw another's selection or data: {len(stats.violations)} "
          f"(every run's address and period checked; {stats.checked} headline ASRs equal to analytics.rates.dsr)")
    for e in (stats.errors + stats.violations)[:10]:
        print(f"    {e}")
    if pid:
        print(f"  server CPU {stats.cpu:.1f} s over {stats.runs} runs = {out['cpu_per_run']:.3f} s per run")
        rss = stats.rss
        marks = [rss[int(i * (len(rss) - 1) / 8)] for i in range(9)] if rss else []
        print("  server RSS over time (s: MB): " + ", ".join(f"{t:.0f}: {m:.0f}" for t, m in marks)
              + f"; peak {out['rss_peak']:.0f} MB")
    if per_idle is not None:
        print(f"  memory per idle session: {per_idle:.1f} MB (target <= 20 MB)")
    return out


@contextlib.contextmanager
def behind_nginx():
    """Two replicas behind Debian's nginx running deploy/nginx/cancer-registry.conf on free ports,
    as tests/test_deploy.py starts them; yields the proxy's https address."""
    import shutil
    import subprocess

    import test_deploy as d
    from conftest import free_port, stop

    folder = Path(tempfile.mkdtemp(prefix="bench_nginx_"))
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / kind).mkdir()
    ports = [free_port(), free_port()]
    procs = d.start_replicas(folder, ports)
    https, http = free_port(), free_port()
    crt, key = d.self_signed(folder)
    (folder / "nginx.conf").write_text(d.nginx_config(folder, d.site_config(folder, https, http, ports, crt, key)))
    proxy = subprocess.Popen([d.NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e",
                              str(folder / "error.log")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"https://127.0.0.1:{https}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if d.get(url + "/_stcore/health").read() == b"ok":
                    break
            except OSError:
                pass
            if proxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((folder / "error.log").read_text()[-2000:])
            time.sleep(0.2)
        async def warm():      # each replica as a deployed server is: its first run (the demo) done
            for p in ports:
                async with Session(f"http://127.0.0.1:{p}", timeout=300) as s:
                    await s.open("", "")
        asyncio.run(warm())
        print(f"two replicas (ports {ports}) behind nginx at {url}", flush=True)
        yield url
    finally:
        stop(proxy)
        for p in procs:
            stop(p)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60, help="seconds of filter changes after the ramp")
    ap.add_argument("--ramp", type=float, default=5, help="sessions open at random times within this many seconds")
    ap.add_argument("--think", type=float, nargs=2, default=(3.0, 5.0), metavar=("MIN", "MAX"))
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--url", default=None, help="a running server (default: start one on a free port)")
    ap.add_argument("--pid", type=int, default=None, help="its process id, for memory and CPU")
    ap.add_argument("--idle-sessions", type=int, default=10, help="sessions for the memory-per-idle-session figure (0: skip)")
    ap.add_argument("--no-data-check", action="store_true", help="skip the ASR-against-analytics check")
    ap.add_argument("--min-changes", type=int, default=0, help="filter changes each session makes at least, past the duration")
    ap.add_argument("--nginx", action="store_true",
                    help="two replicas (serve.py, public mode) behind nginx with the shipped deploy/ configuration")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import free_port, start_streamlit, stop

    load_before, ref_before = tuple(round(x, 1) for x in os.getloadavg()), reference_seconds()
    proc = None
    url, pid = args.url, args.pid
    if args.nginx:
        with behind_nginx() as url:
            args.no_data_check = True        # public mode: perturbed counts (addresses and periods still checked)
            stats = asyncio.run(run_load(url, None, args))
        out = report(stats, args, None, None, load_before, tuple(round(x, 1) for x in os.getloadavg()),
                     (ref_before, reference_seconds()))
        if args.json:
            Path(args.json).write_text(json.dumps({**out, "nginx": True, "errors_list": stats.errors,
                                                   "violations_list": stats.violations}, indent=1))
        return 0 if not stats.errors and not stats.violations else 1
    if url is None:
        port = free_port()
        proc = start_streamlit(port, Path(tempfile.gettempdir()) / f"bench_load_{port}.log")
        url, pid = f"http://127.0.0.1:{port}", proc.pid
    try:
        stats = asyncio.run(run_load(url, pid, args))
        per_idle = asyncio.run(idle_memory(url, pid, args.idle_sessions)) if pid and args.idle_sessions else None
    finally:
        if proc is not None:
            stop(proc)
    out = report(stats, args, pid, per_idle, load_before, tuple(round(x, 1) for x in os.getloadavg()),
                 (ref_before, reference_seconds()))
    if args.json:
        Path(args.json).write_text(json.dumps({**out, "errors_list": stats.errors, "violations_list": stats.violations,
                                               "rss": stats.rss}, indent=1))
    return 0 if not stats.errors and not stats.violations else 1


if __name__ == "__main__":
    sys.exit(main())

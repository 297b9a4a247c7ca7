"""Work done beside the users' runs: the process's warm-up at start.

:func:`warm_up` (called by serve.py before the server starts, and by app.py on every run for a
process started with ``streamlit run``; acts once per process) starts a background thread that
prepares, in the order a first visitor needs it:

1. the modules of the app and of its default page (imports cost about 1.5 s of CPU);
2. the demo (the verified Parquet store of app_support/demo_store.py, which also holds its
   incidence cubes: read, not counted) and its incidence cube of the default site list (on a
   public server, also its published counts);
3. the sidebar's options (a data cache: it lives in Streamlit's runtime, which the thread waits
   for before step 1);
4. the other cubes (mortality, the other site list) and the modules of the other pages (SciPy,
   statsmodels, GeoPandas: a first visit of those pages then does not import them);
4b. started from serve.py (``warm_up(pages=True)``): every page once, at its default selection,
   in a session of the server's own (:func:`prerun_pages`: Streamlit's runtime API, no network,
   no browser). What a page computes for the data set and selection — rates, survival curves,
   regional measures, figures and sentences (``cache.view``) — is then in the process's shared
   caches, so the first visitor's first chart and first click to each page find them. Local
   and public mode only (public: the published views); in internal mode every page needs a
   signed-in user with a role, which this session never is, so no page is run;
5. after a visitor's page has been served (or at the latest :data:`EXPORT_DELAY` seconds after
   start), the figure-export browser (``analytics.export.warm_up``: Chromium and its tabs with
   plotly.js loaded), so its start does not compete with the first visitor's page; then the
   permutation tests' worker process (``cache.process_pool``: the fork server and one worker);
6. ``gc.freeze`` after step 2 (at most the first visitor's objects are frozen with the demo) and
   again at the end only while no visitor has come: what was loaded is then out of the
   collector's way for good.

Visitors first: after the default page the thread waits for a first visitor's run to end (at
most :data:`FIRST_VISIT_WAIT` s), then :data:`BROWSER_GRACE` s while that visitor's browser draws
it; before each further cube and page it waits while a visitor's run is in progress
(:func:`visitor_run`, around app.py's page; at most :data:`VISITOR_WAIT` s each time): both hold
the GIL, and the visitor's chart comes first.

Started from serve.py, the thread waits for Streamlit's runtime to have started (the server is
then about to listen: starting the server comes first, the imports would slow it), and steps
1-2 run while the visitor's browser loads and parses Streamlit's page, so the first run finds the
demo and its cube ready instead of building them. A first run that
comes earlier simply waits for what it needs (Streamlit's cache computes each entry once).

Not under Streamlit's AppTest (the tests run the app in many processes at once), and not with
``REGISTRY_WARM_UP=0``.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_STATE: dict = {}
_VISITS = threading.Condition()  # guards _STATE["visiting"]: visitors' runs in progress
_OWN_SESSIONS: set[str] = set()  # the warm-up's own session(s): not visitors
FIRST_VISIT_WAIT = 10.0   # seconds the warm-up waits, after the default page, for a first visitor's run
VISITOR_WAIT = 30.0       # at most this long it pauses for visitors' runs before each further step
BROWSER_GRACE = 5.0       # and after the first visit, this long for the visitor's browser to draw it
ENV = "REGISTRY_WARM_UP"
PAGE_RUN_TIMEOUT = 120.0   # seconds one page of the warm-up session may take
EXPORT_DELAY = 20.0     # seconds after start: the export browser starts then even if nobody came
RUNTIME_WAIT = 60.0     # seconds to wait for Streamlit's runtime before the data-cache steps
# What the first run of app.py and of its default page (the Overview) imports.
FIRST_MODULES = ("app_support.auth", "app_support.navigation", "app_support.filters", "app_support.cache",
                 "app_support.widgets", "app_support.tables", "analytics.narrative", "analytics.presets",
                 "analytics.tables", "analytics.charts.incidence", "analytics.charts.mortality")
# Heavy modules only some pages import (their first visit otherwise pays the import).
PAGE_MODULES = ("analytics.charts.trends", "analytics.charts.maps", "analytics.charts.survival",
                "analytics.charts.quality", "analytics.trends", "analytics.joinpoint", "analytics.spatial",
                "analytics.ecological", "analytics.prevalence", "analytics.projections", "analytics.survival",
                "analytics.quality", "analytics.lifetable", "analytics.glm")


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0" and "streamlit.testing.v1.app_test" not in sys.modules


def warm_up(*, pages: bool = False) -> threading.Thread | None:
    """Start the process's warm-up once (later calls return None at once); returns its thread.
    ``pages``: also run every page once at its default selection (step 4b; serve.py)."""
    if not enabled():
        return None
    with _LOCK:
        if "thread" in _STATE:
            return None
        thread = threading.Thread(target=_warm, args=(pages,), name="registry-warm-up", daemon=True)
        _STATE["thread"], _STATE["started"] = thread, time.monotonic()
    thread.start()
    return thread


def _own_session() -> bool:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx is not None and ctx.session_id in _OWN_SESSIONS


@contextlib.contextmanager
def visitor_run() -> Iterator[None]:
    """app.py's run of a page for a visitor: the warm-up pauses its further steps while one is in
    progress (they share the GIL: a visitor's chart comes first); at its end the export browser
    may start (step 5). The warm-up's own session is not a visitor."""
    own = _own_session()
    if not own:
        with _VISITS:
            _STATE["visiting"] = _STATE.get("visiting", 0) + 1
    try:
        yield
    finally:
        if not own:
            with _VISITS:
                _STATE["visiting"] -= 1
                _STATE["visits"] = _STATE.get("visits", 0) + 1
                _VISITS.notify_all()


def _yield_to_visitors(first_visit: float = 0.0) -> None:
    """Wait while visitors' runs are in progress (at most :data:`VISITOR_WAIT` s); with
    ``first_visit``, also until a first visitor's run has ended or that many seconds passed."""
    with _VISITS:
        came = first_visit > 0 and _VISITS.wait_for(lambda: _STATE.get("visits", 0) > 0, timeout=first_visit)
    if came:      # the server has sent the page; the browser (on a small server, the same cores) draws it
        time.sleep(BROWSER_GRACE)
    with _VISITS:
        _VISITS.wait_for(lambda: _STATE.get("visiting", 0) == 0, timeout=VISITOR_WAIT)


def _visited() -> bool:
    """True once a visitor's run has begun (in progress or ended)."""
    with _VISITS:
        return bool(_STATE.get("visiting", 0) or _STATE.get("visits", 0))


def done(timeout: float | None = None) -> bool:
    """Wait up to ``timeout`` seconds for the warm-up; True once it has finished."""
    thread = _STATE.get("thread")
    if thread is None:
        return False
    thread.join(timeout)
    return not thread.is_alive()


def _lap(step: str) -> None:
    _STATE.setdefault("steps", []).append((step, round(time.monotonic() - _STATE["started"], 2)))


def _import(names: tuple[str, ...]) -> None:
    for name in names:
        importlib.import_module(name)


def _runtime_ready(timeout: float) -> bool:
    """True once Streamlit's runtime has started (serve.py starts this thread just before it)."""
    from streamlit import runtime
    from streamlit.runtime.runtime import RuntimeState

    deadline = time.monotonic() + timeout
    while not runtime.exists() or runtime.get_instance().state == RuntimeState.INITIAL:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _warm(pages: bool = False) -> None:
    try:
        _warm_data(pages)
    except Exception:  # noqa: BLE001 - an optimisation only: the first user's run says what fails
        log.warning("warm-up of the demo's cubes failed", exc_info=True)
    from analytics import export

    with _VISITS:        # a visitor's page first (step 5)
        _VISITS.wait_for(lambda: _STATE.get("visits", 0) > 0,
                         timeout=max(0.0, EXPORT_DELAY - (time.monotonic() - _STATE["started"])))
    export.warm_up(wait=True)
    _lap("export browser")
    threading.Thread(target=_warm_workers, name="registry-warm-workers", daemon=True).start()
    _freeze()
    _STATE["seconds"] = time.monotonic() - _STATE["started"]
    log.info("warm-up done in %.1f s (%d objects frozen): %s", _STATE["seconds"], gc.get_freeze_count(),
             ", ".join(f"{step} {t:.1f} s" for step, t in _STATE.get("steps", [])))


def _freeze(*, early: bool = False) -> None:
    """``gc.freeze``: what is loaded now lives as long as the process, so no collection walks it
    again. Later than ``early`` (the modules, the demo and its first cube: at most the first
    visitor's objects are frozen with them, once), only while no visitor has come (their objects
    frozen with it would never be collected)."""
    with _VISITS:
        if not early and (_STATE.get("visiting", 0) or _STATE.get("visits", 0)):
            return
    gc.collect()
    gc.freeze()


def _warm_workers() -> None:
    """Step 5b, beside the rest: the permutation tests' fork server and first worker
    (``app_support.jobs``), so the first map does not wait for them."""
    from app_support import cache

    try:
        cache.process_pool().warm().wait(60)
    except Exception:  # noqa: BLE001 - an optimisation only
        log.warning("warm-up of the worker processes failed", exc_info=True)


def _warm_data(pages: bool) -> None:
    ready = _runtime_ready(RUNTIME_WAIT)   # the server first; data caches live in the runtime
    _lap("server")
    _import(FIRST_MODULES)
    _lap("imports")
    from analytics import schema as S
    from app_support import auth, cache, state

    ds = state.demo_dataset()         # a resource cache: no runtime needed
    _lap("demo")
    mode = auth.settings().mode
    public = mode == auth.PUBLIC      # a public server answers from published counts only
    pages = pages and mode != auth.INTERNAL   # its pages need a signed-in user: nothing to run
    cache.cube(ds, S.SITE_CI5)        # the default page's cube first
    if public:
        cache.public_cube(ds, S.SITE_CI5, "incidence")
    _lap("first cube")
    # the modules, the demo and its first cube, at once even beside a first visitor's run (~0.2 s):
    # deferred, it came during a load's ramp and every collection walked them until then
    _freeze(early=True)
    if ready:
        cache.filter_options(ds)
    default = [""]                    # the address without a page: the default page
    if _visited():                    # a visitor's run is doing it: with the other pages, later
        later = default
    else:
        later = []
        if ready and pages:           # the default page first: what the first visitor opens
            prerun_pages(default)
            _lap("default page")
    _yield_to_visitors(FIRST_VISIT_WAIT if ready else 0.0)   # the first visitor's chart before the rest
    for column in (S.SITE_CI5, S.SITE_GLOBOCAN):
        for measure in ("incidence", "mortality"):
            _yield_to_visitors()
            cache.cube(ds, column, measure=measure)
            if public and column == S.SITE_CI5:
                cache.public_cube(ds, column, measure)
    _lap("cubes")
    _import(PAGE_MODULES)
    _lap("page modules")
    if ready and pages:
        prerun_pages(later + _page_stems()[1:])
        _lap("other pages")


def _page_stems() -> list[str]:
    from app_support.navigation import PAGES, ROOT

    return [stem for stem, _ in PAGES if (ROOT / "pages" / f"{stem}.py").exists()]


class _Client:
    """The warm-up session's end of Streamlit's session protocol: no browser, it only notes the
    end of each run (``SessionClient``: ``write_forward_msg`` and ``client_context``)."""

    def __init__(self) -> None:
        self.finished = threading.Event()
        self.exceptions = 0

    def write_forward_msg(self, msg) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.new_element.WhichOneof("type") == "exception":
            self.exceptions += 1
        elif kind == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self.finished.set()

    @property
    def client_context(self):
        return None      # no request: no headers, no peer address, no cookies (never signed in)


def prerun_pages(stems: list[str]) -> int:
    """Run ``stems`` (page URL paths; "" or the first page is the default) one after the other in
    one session of this process at their default selection, then close it. Returns the number of
    pages run. Uses Streamlit's runtime API on its event loop (``connect_session``,
    ``handle_backmsg``, ``close_session``), as its WebSocket handler does."""
    import asyncio

    from streamlit import runtime
    from streamlit.proto.BackMsg_pb2 import BackMsg

    rt = runtime.get_instance()
    loop = rt._get_async_objs().eventloop   # noqa: SLF001 - the runtime's loop: its API is not thread-safe

    def on_loop(fn, *args):
        async def call():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(call(), loop).result(PAGE_RUN_TIMEOUT)

    client = _Client()
    session = on_loop(rt.connect_session, client, {})
    _OWN_SESSIONS.add(session)
    done = 0
    try:
        for stem in stems:
            _yield_to_visitors()
            client.finished.clear()
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_name = stem
            on_loop(rt.handle_backmsg, session, msg)
            if not client.finished.wait(PAGE_RUN_TIMEOUT):
                log.warning("warm-up: page %s did not finish within %.0f s", stem, PAGE_RUN_TIMEOUT)
                break
            done += 1
    finally:
        on_loop(rt.close_session, session)
        _OWN_SESSIONS.discard(session)
    if client.exceptions:
        log.warning("warm-up: %d exception(s) in the pages' default views", client.exceptions)
    return done

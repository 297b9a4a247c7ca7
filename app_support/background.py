"""Work done beside the users' runs: the process's warm-up at start.

:func:`warm_up` (called by app.py on every run; acts once per process) starts a background
thread that loads the demo and builds its cubes (incidence and mortality, both site lists; on a public server
also the published counts of the default site list) and the sidebar's options, then starts the figure-export browser (``analytics.export.warm_up``:
Chromium and its tabs with plotly.js loaded) and the permutation tests' worker process
(``cache.process_pool``), then freezes what was loaded out of the garbage
collector (``gc.freeze``: a collection then walks only what the runs create). The first user
then finds the export server ready instead of waiting seconds for Chromium on the first PNG,
and the first chart of a new process does not wait for the cubes.

Not under Streamlit's AppTest (the tests run the app in many processes at once), and not with
``REGISTRY_WARM_UP=0``.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_STATE: dict = {}
ENV = "REGISTRY_WARM_UP"


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0" and "streamlit.testing.v1.app_test" not in sys.modules


def warm_up() -> threading.Thread | None:
    """Start the process's warm-up once (later calls return None at once); returns its thread."""
    if not enabled():
        return None
    with _LOCK:
        if "thread" in _STATE:
            return None
        thread = threading.Thread(target=_warm, name="registry-warm-up", daemon=True)
        _STATE["thread"], _STATE["started"] = thread, time.monotonic()
    thread.start()
    return thread


def done(timeout: float | None = None) -> bool:
    """Wait up to ``timeout`` seconds for the warm-up; True once it has finished."""
    thread = _STATE.get("thread")
    if thread is None:
        return False
    thread.join(timeout)
    return not thread.is_alive()


def _warm() -> None:
    from analytics import export
    from analytics import schema as S
    from app_support import auth, cache, state

    try:    # the demo first: the first user's first chart waits for it, not for the export browser
        ds = state.demo_dataset()
        cache.filter_options(ds)
        public = auth.settings().mode == auth.PUBLIC      # a public server answers from published counts only
        for column in (S.SITE_CI5, S.SITE_GLOBOCAN):
            for measure in ("incidence", "mortality"):
                cache.cube(ds, column, measure=measure)
                if public and column == S.SITE_CI5:
                    cache.public_cube(ds, column, measure)
    except Exception:  # noqa: BLE001 - an optimisation only: the first user's run says what fails
        log.warning("warm-up of the demo's cubes failed", exc_info=True)
    export.warm_up(wait=True)
    try:    # the permutation tests' worker process (app_support.jobs): forked before the first map
        cache.process_pool().warm().wait(60)
    except Exception:  # noqa: BLE001 - an optimisation only
        log.warning("warm-up of the worker processes failed", exc_info=True)
    gc.collect()
    gc.freeze()      # what is loaded now lives as long as the process: no collection walks it again
    _STATE["seconds"] = time.monotonic() - _STATE["started"]
    log.info("warm-up done in %.1f s (%d objects frozen)", _STATE["seconds"], gc.get_freeze_count())

"""Permutation tests run in worker processes (``app_support.jobs.ProcessPool``), not on the
session's script thread: the worker path gives exactly the numbers of the direct ``analytics``
calls, the work runs in another process, and while one session waits for a job another
session's run completes. No wall-clock assertion: the order of events is forced with a file the
held worker waits for."""
from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from analytics import schema as S
from analytics import spatial, tables
from analytics.i18n import format_number
from conftest import app

APP = str(Path(__file__).resolve().parents[1] / "app.py")
GUARD_S = 300          # a guard against a hung test only, never an assertion on time


def _held(release: str, progress=None) -> int:
    """A job that tells its pid and 0.5 done, then waits until the file ``release`` exists."""
    progress(0.5, str(os.getpid()))
    while not os.path.exists(release):
        time.sleep(0.02)
    return os.getpid()


def _filters(**kw):
    from app_support.filters import Filters

    base = dict(y0=2020, y1=2024, sex="both", scheme="ci5", site="all", er="all", district="all", a0=0, a1=85,
                std="world_segi1960", ci="tiwari", conf="95", public=False, lang="en", theme="light")
    return Filters(**{**base, **kw})


@pytest.fixture(scope="module")
def demo_ds():
    from app_support import state

    return state.demo_dataset()


@pytest.mark.parametrize("level", [S.REGION, S.PARENT])
def test_clusters_from_the_worker_equal_the_direct_calls(demo_ds, level):
    from app_support import cache

    f = _filters(lang="ru", theme="dark")          # language and theme do not change the numbers
    moran_res, lisa = cache.clusters(demo_ds, f, level)
    _, w, _ = cache.level_geometry(demo_ds, level, "en")
    ok = cache.regional_measures(demo_ds, f, level).set_index(level)
    cases, expected = ok["cases"].fillna(0.0), ok["expected"]
    assert moran_res == spatial.moran(cases, w, population=expected, permutations=999)
    pd.testing.assert_frame_equal(lisa, spatial.lisa(cases, w, population=expected, permutations=999, seed=12345))
    job = cache.clusters_job(demo_ds, f, level, "national", "")
    assert job.done() and job.pid is not None and job.pid != os.getpid()     # computed in a worker process
    # once per data set and selection: the same job (and result) for another language
    assert cache.clusters_job(demo_ds, _filters(), level, "national", "") is job


@pytest.mark.parametrize("series,by,selection", [("sex", ("year", "sex"), "permutation"),
                                                 (None, ("year",), "wbic")])
def test_joinpoint_from_the_worker_equals_the_direct_call(demo_ds, series, by, selection):
    from app_support import cache

    f = _filters(y0=2010)
    rates = cache.dsr(demo_ds, f, by=by, sexes=(S.MALE, S.FEMALE) if series else None)
    data = tables.trend_input(rates, series, public=False)
    got = cache.joinpoint_fit(demo_ds, data, series, selection, "auto", False, 0.95)
    want = tables.joinpoint_fit(data, series, selection=selection, max_jp="auto", weighted=False, conf=0.95)
    for g, w in zip(got, want):
        pd.testing.assert_frame_equal(g, w)
    job = cache.joinpoint_job(demo_ds, data, series, selection, "auto", False, 0.95)
    assert job.done() and job.pid != os.getpid()
    got[0].loc[:, "apc"] = 0.0                       # the caller's copy: the cached result is untouched
    pd.testing.assert_frame_equal(cache.joinpoint_fit(demo_ds, data, series, selection, "auto", False, 0.95)[0], want[0])


def test_progress_reaches_the_job_and_a_killed_worker_is_replaced(tmp_path):
    from app_support import cache, jobs

    pool = cache.process_pool()
    release = tmp_path / "release"
    job = pool.submit("held", _held, str(release))
    for _ in range(GUARD_S * 20):                    # the worker's progress comes back through the queue
        if job.fraction >= 0.5:
            break
        job.wait(0.05)
    assert job.fraction == 0.5 and not job.done()
    os.kill(int(job.message), signal.SIGKILL)       # its worker dies (e.g. killed for memory)
    assert job.wait(GUARD_S) and jobs.lost(job)
    release.touch()
    again = pool.submit("held", _held, str(release))   # a new executor takes the next job
    assert again.wait(GUARD_S) and again.result() == again.pid != int(job.message)


def test_a_session_waiting_for_its_job_blocks_no_other_session(demo_ds, tmp_path, monkeypatch):
    """Both workers held busy; session A opens the Maps page for a selection not computed yet
    and waits for its queued permutation job; session B's run completes meanwhile; released,
    A's Moran's I is the direct one, computed in a worker process."""
    from app_support import cache, progress

    release = tmp_path / "release"
    pool = cache.process_pool()
    entered = threading.Event()
    real = progress.waiting

    def waiting(text):
        wait = real(text)

        def marked(job):
            entered.set()
            return wait(job)
        return marked

    monkeypatch.setattr(progress, "waiting", waiting)
    params = dict(y0=2012, y1=2013, sex="female")
    fa = dataclasses.replace(_filters(y0=2012, y1=2013, sex="female"), er="all", district="all")
    held = [pool.submit("held", _held, str(release)) for _ in range(cache.PROCESS_WORKERS)]
    out: dict = {}
    try:
        job = cache.clusters_job(demo_ds, fa, S.REGION, "national", "")     # queued behind the held jobs
        a = threading.Thread(target=lambda: out.setdefault("a", app("maps", timeout=GUARD_S, **params)), daemon=True)
        a.start()
        assert entered.wait(GUARD_S)                 # A's script thread waits for the job
        b = app("incidence", timeout=GUARD_S, y0=2020, y1=2024)  # B's run completes meanwhile
        assert b.title and not job.done() and a.is_alive()
    finally:
        release.touch()
    a.join(GUARD_S)
    assert all(h.wait(GUARD_S) for h in held) and job.wait(GUARD_S)
    assert job.pid not in (None, os.getpid())
    _, w, _ = cache.level_geometry(demo_ds, S.REGION, "en")
    ok = cache.regional_measures(demo_ds, fa, S.REGION).set_index(S.REGION)
    direct = spatial.moran(ok["cases"].fillna(0.0), w, population=ok["expected"], permutations=999)
    caption = next(c.value for c in out["a"].caption if c.value.startswith("Spatial autocorrelation"))
    assert f"I = {format_number(direct.I, 'en', 3)}" in caption


def _probe(progress=None) -> tuple:
    """What a worker process imported before its task: its ``__mp_main__`` file, app modules."""
    import sys

    main = sys.modules.get("__mp_main__")
    return getattr(main, "__file__", None), sorted(m for m in sys.modules if m.startswith(("app_support", "pages")))


def test_workers_started_during_a_script_run_do_not_run_the_app(monkeypatch):
    """Under ``streamlit run`` the app's script module is ``__main__`` (a module with a file and no
    loader): a worker started then (ingest worker, process pool) must not execute app.py again."""
    import sys
    import types

    from analytics.ingest import sandbox
    from app_support import jobs

    script = types.ModuleType("__main__")
    script.__file__ = APP
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert sandbox.run(_probe).unwrap() == (None, [])
    pool = jobs.ProcessPool(1, sandbox.worker_context())
    try:
        job = pool.submit("probe", _probe)
        # the worker imports the job runner only (app_support.jobs), not the app
        assert job.wait(GUARD_S) and job.result() == (None, ["app_support", "app_support.jobs"])
    finally:
        pool.shutdown()
    assert sys.modules["__main__"] is script          # the script's module is put back


def test_dropping_an_upload_releases_its_memory(demo_ds, monkeypatch):
    """When the session's upload (its registry) is dropped, the release hook runs once
    (``app_support.state.release_memory``: malloc_trim); the demo's registry is never watched."""
    from app_support import state

    calls = threading.Event()
    monkeypatch.setattr(state, "release_memory", calls.set)
    reg = dataclasses.replace(demo_ds.registry, records=demo_ds.registry.records.head(10).copy())
    up = state.Dataset("upload:test", reg, demo_ds.regions, "x.csv")
    again = dataclasses.replace(up, token="upload:test+page")      # derived datasets share the registry
    assert state.watched(reg) and not state.watched(demo_ds.registry)
    del up, again
    assert not calls.is_set()                        # still referenced
    del reg
    assert calls.wait(GUARD_S)


def _gone(pid: int) -> bool:
    """No such process any more (or only its zombie, waiting for a parent to reap it)."""
    try:
        return "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
    except OSError:
        return True


def test_a_dropped_pool_stops_its_workers(tmp_path):
    """The pool is a cached resource: when the app's caches are cleared it is dropped, and its
    worker processes must stop with it (not linger for the server's life)."""
    import gc

    from analytics.ingest import sandbox
    from app_support import jobs

    release = tmp_path / "release"
    release.touch()
    pool = jobs.ProcessPool(1, sandbox.worker_context())
    job = pool.submit("held", _held, str(release))
    assert job.wait(GUARD_S)
    pid = job.pid
    assert Path(f"/proc/{pid}").exists()
    del pool
    gc.collect()
    for _ in range(GUARD_S * 20):                    # the worker exits once told (bounded poll, no timing)
        if _gone(pid):
            break
        time.sleep(0.05)
    assert _gone(pid)


def test_workers_and_the_fork_server_end_with_a_killed_server():
    """A server killed without shutting its pool down (SIGKILL; systemd's SIGTERM did the same)
    had left its workers and the fork server running for good: each restart kept ~430 MB."""
    import subprocess
    import sys

    script = ("import os, sys; from analytics.ingest import sandbox; from app_support import jobs\n"
              "pool = jobs.ProcessPool(1, sandbox.worker_context()); job = pool.warm(); job.wait(300)\n"
              "print(job.pid, flush=True); sys.stdin.read()\n")
    server = subprocess.Popen([sys.executable, "-c", script], cwd=Path(APP).parent, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        worker = int(server.stdout.readline())
        fork_server = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert fork_server != server.pid and not _gone(worker) and not _gone(fork_server)
    finally:
        server.kill()
        server.wait(GUARD_S)
    for _ in range(GUARD_S * 20):                    # bounded poll, no timing assertion
        if _gone(worker) and _gone(fork_server):
            break
        time.sleep(0.05)
    assert _gone(worker) and _gone(fork_server)

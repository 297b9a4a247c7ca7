"""The process warm-up (app_support/background.py, issue 12): started by serve.py before the server,
in the order a first visitor needs it, and never running the export browser before the first page.
Cheap: the steps are replaced by recorders (the real steps are exercised by every server the
browser tests and bench/app.py start)."""
from __future__ import annotations

import threading

import pytest

from app_support import background


@pytest.fixture
def fresh(monkeypatch):
    """A process whose warm-up has not started yet, with the AppTest guard lifted."""
    monkeypatch.setattr(background, "_STATE", {})
    monkeypatch.setattr(background, "_VISITS", threading.Condition())
    monkeypatch.setattr(background, "FIRST_VISIT_WAIT", 0.05)     # nobody visits these tests
    monkeypatch.setattr(background, "BROWSER_GRACE", 0.0)
    monkeypatch.setattr(background, "enabled", lambda: True)
    monkeypatch.setattr(background, "_warm_workers", lambda: None)   # no real worker processes here
    return background


def test_serve_starts_the_warm_up_with_the_pages_before_the_server(fresh, monkeypatch):
    import serve

    calls = []
    monkeypatch.setattr(serve.background, "warm_up", lambda **kw: calls.append(("warm_up", kw)))
    monkeypatch.setattr(serve.app, "run", lambda **kw: calls.append(("run", sorted(kw))))
    serve.main(["--port", "8599"])
    assert calls == [("warm_up", {"pages": True}), ("run", ["config"])]


def test_warm_up_runs_once_per_process(fresh, monkeypatch):
    ran = []
    monkeypatch.setattr(fresh, "_warm", lambda pages=False: ran.append(pages))
    first = fresh.warm_up(pages=True)
    assert first is not None
    first.join(5)
    assert fresh.warm_up() is None and fresh.warm_up(pages=True) is None
    assert ran == [True]


def test_the_default_page_comes_before_the_other_cubes_and_pages(fresh, monkeypatch):
    """imports -> demo -> first cube -> (runtime) options -> default page -> other cubes -> other pages."""
    from analytics import schema as S
    from app_support import cache, state

    order = []
    monkeypatch.setattr(fresh, "_import", lambda names: order.append(("import", names[0])))
    monkeypatch.setattr(state, "demo_dataset", lambda: order.append(("demo",)) or "ds")
    monkeypatch.setattr(cache, "cube", lambda ds, column, measure="incidence": order.append(("cube", column, measure)))
    monkeypatch.setattr(cache, "filter_options", lambda ds: order.append(("options",)))
    monkeypatch.setattr(fresh, "_runtime_ready", lambda timeout: True)
    monkeypatch.setattr(fresh, "prerun_pages", lambda stems: order.append(("pages", tuple(stems))))
    fresh._STATE["started"] = 0.0
    fresh._warm_data(pages=True)
    steps = [o[0] for o in order]
    assert order[:4] == [("import", fresh.FIRST_MODULES[0]), ("demo",), ("cube", S.SITE_CI5, "incidence"), ("options",)]
    assert order[4] == ("pages", ("",))                      # the address without a page: the default page
    assert steps.index("pages") < order.index(("cube", S.SITE_CI5, "mortality"))
    assert {o for o in order if o[0] == "cube"} >= {("cube", c, m) for c in (S.SITE_CI5, S.SITE_GLOBOCAN)
                                                     for m in ("incidence", "mortality")}
    others = order[-1]
    assert others[0] == "pages" and "overview" not in others[1] and {"incidence", "survival", "maps"} <= set(others[1])
    assert ("import", fresh.PAGE_MODULES[0]) in order


@pytest.mark.parametrize("pages, mode", [(False, "local"), (True, "internal")])
def test_no_page_is_run_without_pages_or_in_internal_mode(fresh, monkeypatch, pages, mode):
    """Internal mode: every page needs a signed-in user with a role, which the warm-up never is."""
    import dataclasses

    from app_support import auth

    monkeypatch.setattr(auth, "settings", lambda s=auth.settings(): dataclasses.replace(s, mode=mode))
    opened = []
    _stub_steps(fresh, monkeypatch, lambda stems: opened.append(stems))
    fresh._warm_data(pages=pages)
    assert opened == []


def _stub_steps(fresh, monkeypatch, prerun) -> None:
    """The warm-up's data steps replaced by no-ops (the runtime ready), its page runs by ``prerun``."""
    from app_support import cache, state

    monkeypatch.setattr(fresh, "_import", lambda names: None)
    monkeypatch.setattr(state, "demo_dataset", lambda: "ds")
    monkeypatch.setattr(cache, "cube", lambda *a, **k: None)
    monkeypatch.setattr(cache, "filter_options", lambda ds: None)
    monkeypatch.setattr(fresh, "_runtime_ready", lambda timeout: True)
    monkeypatch.setattr(fresh, "prerun_pages", prerun)
    fresh._STATE["started"] = 0.0


def test_the_export_browser_waits_for_the_first_page(fresh, monkeypatch):
    from analytics import export

    started = threading.Event()
    monkeypatch.setattr(fresh, "_warm_data", lambda pages: None)
    monkeypatch.setattr(export, "warm_up", lambda wait=False: started.set())
    monkeypatch.setattr(fresh, "EXPORT_DELAY", 30.0)
    monkeypatch.setattr(fresh.gc, "freeze", lambda: None)
    thread = fresh.warm_up()
    assert not started.wait(0.5)          # nobody has been served yet: Chromium does not start
    with fresh.visitor_run():             # a visitor's page
        pass
    assert started.wait(10)
    thread.join(10)
    assert fresh.done(0)


def test_the_warm_up_client_notes_the_end_of_a_run_not_an_early_rerun():
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    client = background._Client()
    msg = ForwardMsg()
    msg.script_finished = ForwardMsg.FINISHED_EARLY_FOR_RERUN
    client.write_forward_msg(msg)
    assert not client.finished.is_set()
    msg.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    client.write_forward_msg(msg)
    assert client.finished.is_set() and client.client_context is None


def test_the_warm_up_pauses_while_a_visitors_page_runs(fresh):
    """Both hold the GIL: the warm-up's next cube or page waits for the visitor's run to end."""
    waited = threading.Thread(target=fresh._yield_to_visitors)
    with fresh.visitor_run():                  # a visitor's page (no script context: not the warm-up's own)
        waited.start()
        waited.join(0.5)
        assert waited.is_alive()               # still waiting for the visitor
        assert fresh._STATE.get("visits", 0) == 0      # served only when the run ends
    waited.join(10)
    assert not waited.is_alive() and fresh._STATE["visits"] == 1


def test_after_the_default_page_the_warm_up_waits_for_the_first_visit_only_until_it_ends(fresh):
    waited = threading.Thread(target=fresh._yield_to_visitors, args=(60.0,))
    waited.start()
    waited.join(0.5)
    assert waited.is_alive()                   # no visitor yet: up to 60 s
    with fresh.visitor_run():
        pass
    waited.join(10)
    assert not waited.is_alive()               # the first visit ended: the warm-up goes on at once


def test_the_warm_up_sessions_own_runs_are_not_visits(fresh, monkeypatch):
    monkeypatch.setattr(fresh, "_own_session", lambda: True)
    with fresh.visitor_run():
        assert fresh._STATE.get("visiting", 0) == 0
    assert fresh._STATE.get("visits", 0) == 0
    fresh._yield_to_visitors()                 # nothing to wait for


def test_a_visitor_already_running_is_not_doubled_by_the_warm_up(fresh, monkeypatch):
    """A cold start's first visitor who arrived before the first cube was ready: the warm-up does
    not run the default page a second time beside theirs; its last step runs it with the other
    pages, so nothing is left out. It still freezes the modules, the demo and the cube at once
    (deferred until no visitor ran, the freeze came during a load's ramp and every collection
    walked them: first renders of 20 sessions p50 2.9 -> 6.5 s, bench/load.py)."""
    from app_support import cache, state

    order = []
    monkeypatch.setattr(fresh, "_import", lambda names: None)
    monkeypatch.setattr(state, "demo_dataset", lambda: "ds")
    monkeypatch.setattr(cache, "filter_options", lambda ds: None)
    monkeypatch.setattr(fresh, "_runtime_ready", lambda timeout: True)
    monkeypatch.setattr(fresh, "prerun_pages", lambda stems: order.append(("pages", tuple(stems))))
    monkeypatch.setattr(fresh, "_freeze", lambda early=False: order.append(("freeze", fresh._STATE["visiting"])))
    visitor = threading.Event()

    def cube(ds, column, measure="incidence"):
        order.append(("cube", measure))
        if len(order) == 1:                     # the first cube: a visitor's run is waiting for it
            fresh._STATE["visiting"] = 1
            threading.Timer(0.3, visit_ends).start()

    def visit_ends():
        with fresh._VISITS:
            fresh._STATE.update(visiting=0, visits=1)
            fresh._VISITS.notify_all()
        visitor.set()

    monkeypatch.setattr(cache, "cube", cube)
    fresh._STATE["started"] = 0.0
    fresh._warm_data(pages=True)
    assert visitor.is_set()
    assert ("pages", ("",)) not in order                      # not the visitor's page again beside it
    assert order[1] == ("freeze", 1)                          # at once, beside the visitor's run
    assert order[-1] == ("pages", ("", *fresh._page_stems()[1:]))        # every page, the default one too


def test_without_a_visitor_the_warm_up_freezes_then_runs_the_default_page_first(fresh, monkeypatch):
    order = []
    _stub_steps(fresh, monkeypatch, lambda stems: order.append(tuple(stems)))
    monkeypatch.setattr(fresh, "_freeze", lambda early=False: order.append("freeze"))
    fresh._warm_data(pages=True)
    assert order == ["freeze", ("",), tuple(fresh._page_stems()[1:])]

"""The app's pages and its navigation (``st.navigation``), used by app.py and by a page that
was requested before app.py ever ran in this process.

With a folder named ``pages/``, Streamlit starts each process in its legacy multipage mode:
the first request for a page URL executes that page file alone (no page config, a navigation
listing every file). Calling ``st.navigation`` — the public API — ends that mode; a page that
finds it was not started through :func:`run` therefore declares the navigation itself and
reruns, so the next run goes through app.py. AppTest starts every run in that mode and
cannot rerun without swallowing the test's clicks: there the page simply runs on.
"""
from __future__ import annotations

import functools
import sys
import threading
from pathlib import Path

import streamlit as st

from app_support.text import t

ROOT = Path(__file__).resolve().parents[1]
# (file stem, material icon); the URL path of each page is its stem; the first is the default.
PAGES = [
    ("overview", ":material/dashboard:"),
    ("incidence", ":material/bar_chart:"),
    ("incidence_mortality", ":material/compare_arrows:"),
    ("quality", ":material/fact_check:"),
    ("data", ":material/upload_file:"),
    ("methods", ":material/menu_book:"),
    ("trends", ":material/trending_up:"),
    ("prevalence", ":material/groups:"),
    ("projections", ":material/timeline:"),
    ("maps", ":material/map:"),
    ("risk_factors", ":material/query_stats:"),
    ("survival", ":material/monitor_heart:"),
    ("report", ":material/description:"),
]
_run = threading.local()   # per script thread: is this run inside run()?


@functools.cache
def present() -> tuple[tuple[int, str, str], ...]:
    """(position, stem, icon) of the pages of :data:`PAGES` whose file exists: looked up once per
    process (a look per page on every rerun was a system call each, a wait for the GIL each with
    many sessions at once); a page file added or removed takes effect at the next start."""
    return tuple((i, stem, icon) for i, (stem, icon) in enumerate(PAGES) if (ROOT / "pages" / f"{stem}.py").exists())


SESSION_PAGES = "_nav_pages"   # session key: this session's st.Page objects, by language and pages allowed


def pages(lang: str) -> list:
    """``st.Page`` objects of the pages whose file exists, titled in ``lang``: the role's pages
    only. Made once per session, language and set of pages: ``st.Page`` resolves its file's path
    (about seven system calls a page, ninety a rerun, each a wait for the GIL with many sessions
    at once); the objects are the session's own (``st.navigation`` marks the one it returns)."""
    from app_support import auth

    shown = tuple((i, stem, icon) for i, stem, icon in present() if auth.page_allowed(stem))
    held = st.session_state.get(SESSION_PAGES)
    if held is not None and held[0] == (lang, shown):
        return held[1]
    made = [st.Page(str(ROOT / "pages" / f"{stem}.py"), title=t(f"app.page.{stem}", lang), icon=icon,
                    url_path=stem, default=(i == 0)) for i, stem, icon in shown]
    st.session_state[SESSION_PAGES] = ((lang, shown), made)
    return made


def run(lang: str) -> None:
    """app.py: declare the navigation and run the requested page."""
    page = st.navigation(pages(lang))
    _run.inside = True
    try:
        page.run()
    finally:
        _run.inside = False


def ensure(lang: str) -> None:
    """Called first by every page: when the page runs outside :func:`run` (the legacy mode
    above), declare the navigation and rerun through app.py (not under AppTest)."""
    if getattr(_run, "inside", False) or "streamlit.testing.v1.app_test" in sys.modules:
        return
    st.navigation(pages(lang), position="hidden")
    st.rerun()

"""Hostile and malformed URL parameters: every value is accepted, clamped or replaced by the
default with a visible note — never a traceback — on every page (hypothesis drives AppTest)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from app_support.filters import PARAMS, SEXES, _int, shown_value

APP = str(Path(__file__).resolve().parents[1] / "app.py")
ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
# page controls seen in the pages (name -> plausible values); hostile text is mixed in below
PAGE_PARAMS = ["map_level", "map_ref", "map_panel", "map_measure", "tr_by", "tr_sel", "tr_max", "tr_all",
               "tr_log", "tr_sites", "inc_log", "inc_level", "pv_val", "pv_cnt", "pv_adj", "pj_year", "q_by",
               "rf_level", "rf_factor", "rf_family", "measure"]
HOSTILE = ["inf", "-inf", "nan", "1e400", "-1e400", "9" * 400, "-5", "0x10", "", " ", "2015.7", "None",
           "![x](http://example.com/beacon.png)", "<script>alert(1)</script>", "$\\frac{1}{0}$", ":red[x]",
           "`rm -rf`", "ə ğ ı ö ü ç ş", "Ё", "\u202e", "a" * 5000, "../../etc/passwd", "%00", "[]", "{}"]


def run(page: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page != "overview" and not at.exception:
        at.switch_page(f"pages/{page}.py").run()
    return at


values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30),
                   st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(repr))
queries = st.dictionaries(st.sampled_from(list(PARAMS) + PAGE_PARAMS), values, min_size=1, max_size=6)


@pytest.mark.parametrize("page", PAGES)
@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(query=queries)
def test_any_query_string_renders_every_page(page, query):
    at = run(page, query)
    assert not at.exception, [e.value for e in at.exception]
    # the address is rewritten to values the page really uses
    qp = dict(at.query_params)
    y0, y1 = int(qp["y0"]), int(qp["y1"])
    assert 1900 < y0 <= y1 < 2200
    assert qp["sex"] in SEXES
    assert 0 <= int(qp["a0"]) <= int(qp["a1"]) <= 85


def test_overflowing_numbers_are_replaced_with_a_visible_note():
    at = run("overview", {"y0": "inf", "a0": "1e400", "sex": "![x](http://example.com/b.png)"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "y0" in notes and "`inf`" in notes and "a0" in notes and "`1e400`" in notes
    # the image markup is shown as inert code, not rendered
    assert "`![x](http://example.com/b.png)`" in notes
    assert at.query_params["a0"] == "0" and at.query_params["sex"] == "both"


def test_a_valid_address_gives_no_note():
    at = run("overview", {"y0": "2015", "y1": "2019", "sex": "female"})
    assert not at.warning


@pytest.mark.parametrize("raw,want", [("inf", 7), ("-inf", 7), ("nan", 7), ("1e400", 7), ("abc", 7), (None, 7),
                                      ("2015.7", 2015), ("1000", 2010), ("99999", 2024)])
def test_int_parsing_is_total(raw, want):
    assert _int(raw, 7, 2010, 2024) == want


def test_shown_value_is_inert_and_short():
    out = shown_value("`x` " + "a" * 100)
    assert out.startswith("`") and out.endswith("…`") and out.count("`") == 2 and len(out) < 50


def test_a_page_opened_from_the_sidebar_writes_the_shared_filters_in_one_message(app_url):
    """A page opened from the sidebar starts without query parameters: the shared filters go back
    into the address in one ``page_info_changed`` message (each is a history rewrite and a
    re-render in the browser), then one per page control."""
    import asyncio

    from tests import stclient

    async def visit():
        async with stclient.Session(app_url) as s:
            await s.run("")
            return await asyncio.wait_for(s.run("", page_name="incidence"), 120)

    msgs = stclient.run(visit())
    assert not stclient.exceptions(msgs)
    written = [dict(kv.split("=", 1) for kv in q.split("&")) for q in stclient.query_strings(msgs)]
    shared = [k for k in PARAMS if k != "measure"]
    assert set(shared) <= set(written[0])                       # every shared filter in the first message
    added = [set(b) - set(a) for a, b in zip(written, written[1:])]
    assert all(len(keys) == 1 and not keys & set(PARAMS) for keys in added), added   # then a page control each
    assert set(written[-1]) - set(PARAMS) == {"inc_level", "inc_log", "inc_ci5_sex"}   # the page's own controls

"""The Data page's steps (analytics.ingest.upload) driven by hypothesis with malformed files and
mappings: each ends in a result or an IngestError sentence, never another exception; and the page
itself: no traceback, no value of an unmapped column, no user text rendered as Markdown."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from analytics import schema as S
from analytics.errors import IngestError
from analytics.ingest import upload
from app_support.text import md

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GOOD = b"SEX,INCID,TOP,MOR,AGE,ADDR\n1,20190101,509,8500,50,AZE-1676\n2,20180299,C34.1,8140/3,61,AZE-1680\n"

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=True),
                         st.text(max_size=8), st.sampled_from(["sex", "topography", "ignore", "%d.%m.%Y", "&a", "*a"]))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                           max_leaves=12)
mapping_docs = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(["columns", "codes", "date_format", "suggest_rest", "x"]), yaml_values,
                    max_size=4).map(lambda d: __import__("yaml").safe_dump(d, allow_unicode=True).encode()),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "replace")),
    st.sampled_from([b"[" * 2000, b"a: &x [1]\nb: *x\n", "columns: {a: sex}".encode("utf-16"), b"- 1\n- 2\n",
                     b"columns:\n  SEX: sex\ncodes:\n  sex: {'1': 1, '2': 2}\n"]),
)
extracts = st.one_of(
    st.binary(max_size=500),
    st.sampled_from([GOOD, GOOD[:30], b"SEX,INCID,TOP\n", b"", b"\x1f\x8b\x08\x00broken", b"PK\x03\x04junk",
                     GOOD.replace(b"50", "²".encode()), GOOD.decode().encode("utf-32"), b"PAR1garbage"]),
    st.lists(st.text(max_size=10), min_size=1, max_size=6).map(lambda cells: (GOOD.decode() + ",".join(cells) + "\n").encode()),
)


def _ends_well(fn, *args):
    try:
        return fn(*args)
    except IngestError as exc:
        assert str(exc)
        return None


@SETTINGS
@given(extracts, st.one_of(st.none(), mapping_docs))
def test_preview_never_raises_anything_but_a_sentence(data, mapping):
    pv = _ends_well(upload.preview, data, "x.csv", mapping, "map.yaml")
    if pv is not None:
        assert set(pv.sample.columns) <= set(pv.headers)
        assert not set(pv.identifiers) & set(pv.sample.columns)


@SETTINGS
@given(extracts, st.one_of(st.none(), st.fixed_dictionaries(
    {"columns": st.dictionaries(st.sampled_from(["SEX", "INCID", "TOP", "AGE", "nope"]),
                                st.sampled_from(S.TUMOUR_COLUMNS + ["bogus", ""]), max_size=4),
     "codes": st.dictionaries(st.sampled_from([S.SEX, S.BASIS, "x"]),
                              st.dictionaries(st.text(max_size=3), st.one_of(st.integers(-3, 12), st.text(max_size=2))),
                              max_size=2)})))
def test_load_never_raises_anything_but_a_sentence(data, mapping):
    loaded = _ends_well(upload.load, {"extract": ("x.csv", data)}, mapping)
    if loaded is not None:
        reg = loaded.registry
        assert reg.n_read == reg.n_used + reg.n_excluded == int(reg.reconciliation["records"].sum())


@SETTINGS
@given(st.sampled_from(["population", "risk_factors", "deaths", "regions"]), extracts)
def test_every_other_upload_never_raises_anything_but_a_sentence(role, data):
    _ends_well(upload.load, {"extract": ("x.csv", GOOD), role: ("other.csv", data)}, None)


# --- the page -----------------------------------------------------------------------------------
def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/data.py").run()
    return at


def _texts(at: AppTest) -> list[str]:
    out = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "subheader", "title", "text"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [d.value.to_string() for d in at.dataframe]
    out += [str(o) for r in at.radio for o in r.options]
    return out


HOSTILE_NAME = "![x](http://127.0.0.1:9/beacon.png)<img src=x onerror=alert(1)>.csv"


def test_page_shows_no_unmapped_value_and_no_unescaped_user_text():
    cols = ["SEX", "INCID", "TOP", "MOR", "AGE", "ADDR", "FAMILIYA", "col7", "notes", "yashayish yeri"]
    secrets = ["Hüseynova", "Leyla-Sekret", "called 0501112233", "Nizami küçəsi 12"]
    row = ["2", "20190115", "509", "8500", "56", "AZE-1676"] + secrets
    data = (",".join(cols) + "\n" + (",".join(row) + "\n") * 30).encode()
    at = _page()
    at.file_uploader(key="up_extract").set_value((HOSTILE_NAME, data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    assert not any(s in t for s in secrets for t in texts)
    at.button(key="data_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    assert not any(s in t for s in secrets for t in texts)
    shown = [t for t in texts if "beacon" in t]
    assert shown and all(HOSTILE_NAME not in t for t in shown)        # never as Markdown/HTML source
    assert any(md(HOSTILE_NAME) in t for t in shown)


@pytest.mark.parametrize("mapping", [b"- sex\n- topography\n", b"[" * 3000, "columns: {SEX: sex}".encode("utf-16"),
                                     b"columns: {SEX: nonsense}\n"])
def test_page_with_a_malformed_mapping_file_says_so(mapping):
    at = _page()
    at.file_uploader(key="up_mapping").set_value(("map.yaml", mapping, "application/x-yaml")).run()
    assert not at.exception and any(md("map.yaml") in e.value for e in at.error)
    at.file_uploader(key="up_extract").set_value(("x.csv", GOOD, "text/csv")).run()
    assert not at.exception and len(at.error) == 1 and md("map.yaml") in at.error[0].value


def test_survival_life_table_upload_is_read_in_the_worker_within_the_limits():
    """The Survival page read an uploaded life table in the server's own process without the
    ingest limits: a gzip bomb named .csv was expanded there in full. Now it is read in the
    ingest worker: a bomb or a bad value is one sentence naming the file; a good table is used."""
    import gzip

    import numpy as np

    from analytics import demo
    from analytics.ingest import sandbox
    from app_support import state

    member = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    bomb = member * 64                                    # about 1 MB expanding to 1 GB
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/survival.py").run()
    at.file_uploader(key="up_lifetable").set_value(("lt.csv", bomb, "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error if "expands" in e.value] and md("lt.csv") in at.error[0].value
    assert state.LIFETABLE_KEY not in at.session_state or at.session_state[state.LIFETABLE_KEY] is None
    # a good table through the same step (the page's worker call), and its values as written
    lt = demo.load_demo_lifetable()
    good = lt[["year", "sex", "age", "qx"]].to_csv(index=False).encode()
    frame = sandbox.run(upload.lifetable, good, "lt.csv", label="lt.csv").unwrap()
    assert len(frame) == len(lt) and np.allclose(frame["qx"], lt["qx"])
    bad = good.replace(b"\n2000,1,", "\n2000,①,".encode(), 1)
    out = sandbox.run(upload.lifetable, bad, "lt.csv", label="lt.csv")
    assert out.error is not None and "lt.csv" in str(out.error) and "sex" in str(out.error)

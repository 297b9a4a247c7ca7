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


def test_survival_life_table_upload_is_read_in_the_worker_within_the_limits(tmp_path, monkeypatch):
    """The Survival page read an uploaded life table in the server's own process without the
    ingest limits: a gzip bomb named .csv was expanded there in full. Now it is read in the
    ingest worker: a bomb or a bad value is one sentence naming the file; a good table is used."""
    import gzip

    import numpy as np

    from analytics import demo
    from analytics.ingest import sandbox
    from app_support import state

    import hashlib

    from app_support import audit

    monkeypatch.setenv("REGISTRY_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    member = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    bomb = member * 64                                    # about 1 MB expanding to 1 GB
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/survival.py").run()
    at.file_uploader(key="up_lifetable").set_value(("lt.csv", bomb, "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error if "expands" in e.value] and md("lt.csv") in at.error[0].value
    assert state.LIFETABLE_KEY not in at.session_state or at.session_state[state.LIFETABLE_KEY] is None
    (event,) = audit.read(tmp_path / "audit.jsonl")       # the upload is audited: name, size, hash, refused
    assert (event["event"], event["outcome"], event["role"]) == ("upload", "rejected", "registrar")
    assert event["files"] == [{"role": "lifetable", "name": "lt.csv", "size": len(bomb),
                               "sha256": hashlib.sha256(bomb).hexdigest()}]
    # a good table through the same step (the page's worker call), and its values as written
    lt = demo.load_demo_lifetable()
    good = lt[["year", "sex", "age", "qx"]].to_csv(index=False).encode()
    frame = sandbox.run(upload.lifetable, good, "lt.csv", label="lt.csv").unwrap()
    assert len(frame) == len(lt) and np.allclose(frame["qx"], lt["qx"])
    bad = good.replace(b"\n2000,1,", "\n2000,①,".encode(), 1)
    out = sandbox.run(upload.lifetable, bad, "lt.csv", label="lt.csv")
    assert out.error is not None and "lt.csv" in str(out.error) and "sex" in str(out.error)


# --- the Data page's own functions: the code editor and the preview of mapped columns -------------
cells = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["1", "2", "9", "K", "Q", "²", "①", "٣", "Məmmədova",
                                                                    "anar@example.az", "+994 50 123 45 67", "x" * 40]))
samples = st.integers(1, 4).flatmap(lambda n_cols: st.lists(
    st.lists(cells, min_size=n_cols, max_size=n_cols), min_size=0, max_size=30).map(
        lambda rows, n_cols=n_cols: pd.DataFrame(rows, columns=[f"c{i}" for i in range(n_cols)], dtype=object)))
field_maps = st.dictionaries(st.sampled_from(["c0", "c1", "c2", "c3", "missing"]),
                             st.sampled_from([S.SEX, S.BASIS, S.BEHAVIOUR, S.VITAL_STATUS, S.TOPOGRAPHY, S.AGE,
                                              S.REGION, S.PATIENT_ID, S.INCIDENCE_DATE]), max_size=4)
code_maps = st.dictionaries(st.sampled_from([S.SEX, S.BASIS, "other"]),
                            st.dictionaries(st.text(max_size=4), st.integers(0, 9), max_size=3), max_size=2)


@SETTINGS
@given(samples, field_maps, code_maps)
def test_code_editor_and_preview_of_any_sample_never_fail_nor_echo_a_rare_long_value(sample, columns_map, codes):
    from analytics import privacy

    rows, skipped = upload.code_rows(sample, columns_map, codes, lambda n: f"<{n} characters>")
    for r in rows:
        assert columns_map[r["column"]] in upload.CODE_LISTS and r["column"] not in skipped
        raw = r["_value"]
        n = int((sample[r["column"]].dropna().astype(str).str.strip() == raw).sum())
        allowed = (r["code"] != "" or len(raw) <= upload.SHORT_VALUE or n >= upload.MIN_CODE_REPEATS
                   or privacy.shown_value(raw).startswith("'"))
        assert r["value"] == (raw if allowed else f"<{len(raw)} characters>"), (r, n)
        if r["code"]:
            assert int(r["code"]) in upload.CODE_LISTS[columns_map[r["column"]]] or \
                codes.get(columns_map[r["column"]], {}).get(raw) == int(r["code"])
    for column, field in columns_map.items():
        if column not in sample.columns:
            continue
        shown = upload.preview_values(sample[column], field, "(masked)")
        assert len(shown) == len(sample)
        column_values = sample[column].iloc[:, 0] if isinstance(sample[column], pd.DataFrame) else sample[column]
        for value, out in zip(column_values, shown):
            identifier = value is not None and bool(privacy.identifier_values(pd.Series([value], dtype=object))[0])
            if value is None:
                assert out == ""
            elif field in (S.REGION, S.PATIENT_ID, S.TUMOUR_ID):      # ids as written, unless e-mail/phone
                assert out == ("(masked)" if identifier else value)
            else:                                                     # a code as written, else described
                assert out == value.strip() or out.startswith(("a value of", "an empty value")), out
                assert not (identifier and value.strip() and value.strip() in out)


def test_code_editor_masks_a_name_typed_once_into_the_sex_column():
    sample = pd.DataFrame({"SEX": ["1", "2", "1", "Məmmədova", "K", "2"]}, dtype=object)
    rows, skipped = upload.code_rows(sample, {"SEX": S.SEX}, {}, lambda n: f"a value of {n} characters")
    assert not skipped
    assert [(r["value"], r["code"]) for r in rows] == [("1", "1"), ("2", "2"), ("K", ""),
                                                       ("a value of 9 characters", "")]
    assert [r["_value"] for r in rows][-1] == "Məmmədova"          # kept on the server for the mapping
    wide = pd.DataFrame({"SEX": [f"v{i}" for i in range(upload.MAX_CODE_VALUES + 1)]}, dtype=object)
    assert upload.code_rows(wide, {"SEX": S.SEX}, {}, str) == ([], ["SEX"])

"""Uploads across pages (issue 9): the dataset token hashes every uploaded file, so loading file B
after file A changes every page's data; region codes outside the regions table are flagged and
listed; an upload with the bundled region codes gets the bundled boundaries; the period filter
starts from the uploaded data's years; empty, header-only and binary files give one sentence."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import schema as S
from analytics.i18n import t
from app_support import state
from app_support.text import md

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
COLS = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.AGE, S.TOPOGRAPHY, S.MORPHOLOGY,
        S.BEHAVIOUR, S.BASIS, S.REGION, S.VITAL_STATUS, S.LAST_CONTACT]


def _files(demo, part: int, indicator: str) -> dict[str, tuple[str, bytes]]:
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2018, 2024)]
    r = r.iloc[part::3].head(4000)
    extract = r[COLS].to_csv(index=False, date_format="%Y-%m-%d").encode()
    p = demo.population
    pop = p[p[S.YEAR].between(2018, 2024)][[S.YEAR, S.REGION, S.SEX, S.AGE_GROUP, S.POPULATION]].to_csv(
        index=False).encode()
    codes = sorted(demo.records[S.REGION].dropna().unique())
    rf = pd.DataFrame({S.REGION: codes, S.INDICATOR: indicator, S.VALUE: [(i * 7 + part) % 13 + 1.0 for i in range(len(codes))],
                       S.UNIT: "%"}).to_csv(index=False).encode()
    return {"extract": (f"extract_{part}.csv", extract), "population": ("population.csv", pop),
            "risk_factors": (f"risk_{indicator}.csv", rf)}


def _load(at: AppTest, files: dict) -> AppTest:
    at.switch_page("pages/data.py").run()
    keys = {"extract": "up_extract", "population": "up_pop", "risk_factors": "up_risk", "regions": "up_regions"}
    for role, (name, data) in files.items():
        at.file_uploader(key=keys[role]).set_value((name, data, "text/csv"))
    at.run()
    at.button(key="data_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _fingerprint(at: AppTest) -> str:
    """Everything a page shows that depends on data: numbers, tables, sentences, chart data."""
    parts = [str(m.value) for m in at.metric]
    parts += [d.value.to_csv() for d in at.dataframe]
    parts += [str(e.value) for kind in ("markdown", "caption", "info", "warning") for e in getattr(at, kind)]
    parts += [str(c.proto.spec) if hasattr(c, "proto") else str(c) for c in at.get("plotly_chart")]
    parts += [str(o) for s in at.selectbox for o in s.options]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def test_upload_token_hashes_every_file_and_the_mapping():
    base = {"extract": ("e.csv", b"1"), "population": ("p.csv", b"2"), "regions": ("r.geojson", b"3"),
            "risk_factors": ("f.csv", b"4"), "deaths": ("d.csv", b"5"), "mapping": ("m.yaml", b"6")}
    tok = state.upload_token(base, {"columns": {"a": "sex"}})
    for role in base:
        changed = dict(base, **{role: (base[role][0], base[role][1] + b"x")})
        assert state.upload_token(changed, {"columns": {"a": "sex"}}) != tok, role
    assert state.upload_token(base, {"columns": {"a": "age"}}) != tok
    assert state.upload_token(dict(base), {"columns": {"a": "sex"}}) == tok


def test_loading_file_b_after_file_a_changes_every_pages_data(demo):
    a, b = _files(demo, 0, "smoking_A"), _files(demo, 1, "obesity_B")
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    seen = {}
    for label, files in (("A", a), ("B", b)):
        _load(at, files)
        assert at.session_state["_source"] == "upload"
        for page in PAGES:
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, (label, page, [e.value for e in at.exception])
            seen[(label, page)] = _fingerprint(at)
        if label == "A":
            token_a = at.session_state["_upload"].token
    assert at.session_state["_upload"].token != token_a
    same = [p for p in PAGES if seen[("A", p)] == seen[("B", p)]]
    assert not same, f"pages showing the same data after another upload: {same}"
    at.switch_page("pages/risk_factors.py").run()
    shown = [o for s in at.selectbox for o in s.options]
    assert "obesity_B (%)" in shown and not any("smoking_A" in o for o in shown)


def test_bundled_boundaries_unknown_regions_and_period_reset(demo):
    """Region codes of the demo: the bundled boundaries are used (maps work); AZE-9999 records are
    flagged, counted nationally and listed; the period starts from the upload's own years."""
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2011, 2013)].head(1500).copy()
    r.loc[r.index[:7], S.REGION] = "AZE-9999"
    extract = r[COLS].to_csv(index=False, date_format="%Y-%m-%d").encode()
    p = demo.population
    pop = p[p[S.YEAR].between(2011, 2013)][[S.YEAR, S.REGION, S.SEX, S.AGE_GROUP, S.POPULATION]].to_csv(
        index=False).encode()
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["y0"], at.query_params["y1"] = "2020", "2024"
    at.run()
    _load(at, {"extract": ("old.csv", extract), "population": ("pop.csv", pop)})
    up = at.session_state["_upload"]
    assert up.geo is not None and at.session_state["_upload_info"]["region_source"] == "bundled"
    recon = up.registry.reconciliation.set_index("reason")["records"]
    assert recon["region_unknown"] == 7 and recon["used"] == up.registry.n_used - 7
    table = next(d.value for d in at.dataframe if S.REGION in d.value.columns and "records" in d.value.columns
                 and "AZE-9999" in d.value[S.REGION].tolist())
    assert table.set_index(S.REGION)["records"].to_dict() == {"AZE-9999": 7}
    assert t("ingest.regions_bundled", "en") in [c.value for c in at.caption]
    at.switch_page("pages/overview.py").run()
    assert at.session_state["_filters"]["y0"] == 2011 and at.session_state["_filters"]["y1"] == 2013
    assert not at.exception
    at.switch_page("pages/maps.py").run()
    assert not at.exception and len(at.get("plotly_chart")) >= 1


@pytest.mark.parametrize("data,fragment", [
    (b"", "empty"),
    (b"SEX,INCID,TOP,AGE\r\n", "no records"),
    (bytes(range(256)) * 40, "not a text table"),
    (b"%PDF-1.7\n" + bytes(range(256)) * 4, "PDF"),
])
def test_empty_header_only_and_binary_files_give_one_sentence_about_the_page(data, fragment):
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="up_extract").set_value(("bad.csv", data, "text/csv")).run()
    if not at.error:                                   # header-only: the preview is fine, the load says it
        at.button(key="data_load").click().run()
    assert not at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    msg = at.error[0].value
    assert md("bad.csv") in msg and fragment in msg and "--" not in msg


def test_a_data_folder_that_cannot_be_written_is_a_warning_not_a_traceback(demo, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(blocker / "kept"))
    files = _files(demo, 2, "x")
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    _load(at, {"extract": files["extract"]})
    assert at.session_state["_kept_in"] is None
    assert any(md(str(blocker / "kept")) in w.value for w in at.warning)

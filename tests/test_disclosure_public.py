"""Public output on every page, in every language (issue 11): no table, headline, chart value,
hover text, sentence, slide or download shows a count below k or a record-level value, whatever
else the URL asks for. The pages run as a public server runs them (``REGISTRY_MODE=public``)
with a URL that asks for public output off (``public=0``), a user's own reference table on the
Maps page and the demo's smallest district in a single year, so that most cells are small; no
page offers an upload."""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import schema as S
from analytics.disclosure import COUNT_COLUMNS
from analytics.i18n import t
from conftest import app

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["overview", "incidence", "incidence_mortality", "quality", "data", "methods", "trends", "prevalence",
         "projections", "maps", "risk_factors", "survival", "report"]
K = 10
SMALL_DISTRICT = "AZE-5561"        # the demo's smallest district (264 cases over 15 years)
HOSTILE = {"public": "0", "y0": "2024", "y1": "2024", "district": SMALL_DISTRICT, "a0": "0", "a1": "85",
           "inc_level": S.REGION, "q_by": "district", "tr_by": "region", "pv_adj": "1", "map_panel": "funnel",
           "map_measure": "cases", "map_ref": "user"}
NUMBER = r"[\d.,\u202f\xa0 ]+"      # a count as en, az or ru write it
COUNT_LABELS = {"app.metric.cases_per_year", "trends.prev.metric_count", "trends.prev.metric_lost",
                "mortality.metric.cases_per_year"}


def _number(text: str, lang: str) -> float | None:
    """A count as the language writes it ("12,345", "12.345", "12 345"), or None."""
    s = str(text).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    s = s.replace(",", "") if lang == "en" else s.replace(".", "")
    try:
        return float(s)
    except ValueError:
        return None


def _small(values, lang: str) -> list:
    out = []
    for v in values:
        if isinstance(v, str):
            if v.startswith("<"):
                continue
            v = _number(v, lang)
        if v is not None and pd.notna(v) and 0 < float(v) < K:
            out.append(v)
    return out


@pytest.fixture()
def public_server(tmp_path, monkeypatch):
    """The operator's public mode, as under serve.py (the hardening guard in place)."""
    from app_support import hardening

    config = tmp_path / "registry.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("REGISTRY_MODE", "public")
    monkeypatch.setenv("REGISTRY_CONFIG", str(config))
    monkeypatch.setenv("REGISTRY_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setattr(hardening, "_GUARD_ACTIVE", True)
    return tmp_path


def _run(page: str, lang: str, params: dict) -> AppTest:
    return app(page, timeout=300, **{**params, "lang": lang})


def _run_data_page(lang: str, params: dict) -> AppTest:
    """The Data page is not in a public server's navigation; its file run directly (Streamlit's
    legacy mode) stops at its own role check."""
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in {**params, "lang": lang}.items():
        at.query_params[k] = str(v)
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/data.py")
    direct = AppTest.from_file(str(Path(APP).parent / "pages" / "data.py"), default_timeout=300)
    for k, v in {**params, "lang": lang}.items():
        direct.query_params[k] = str(v)
    direct.run()
    assert not direct.exception, [e.value for e in direct.exception]
    assert [e.value for e in direct.error] == [t("auth.denied", lang)]
    return direct


def _values(v) -> list:
    """A trace's array as a list (plotly writes numeric arrays as base64 typed arrays)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v) if isinstance(v, (list, tuple)) else []


def _chart_texts(at: AppTest) -> list[tuple[str, dict]]:
    out = []
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out.append((el.proto.id, spec))
    return out


@pytest.mark.parametrize("lang", ["en", "az", "ru"])
@pytest.mark.parametrize("page", PAGES)
def test_public_page_shows_no_small_count_and_no_record(public_server, page, lang):
    at = _run_data_page(lang, HOSTILE) if page == "data" else _run(page, lang, HOSTILE)
    # public output cannot be switched off by the URL; no upload of any kind is offered
    if page != "data":
        sw = at.sidebar.radio(key="f_public")
        assert (sw.value, sw.disabled) == ("1", True)
    assert not at.get("file_uploader"), page
    # tables: no count below k (withheld ones read "<k"), no record-level column
    for df in at.dataframe:
        frame = df.value
        frame = frame.data if hasattr(frame, "data") and not isinstance(frame, pd.DataFrame) else frame
        assert not {S.ROW, S.TUMOUR_ID, S.PATIENT_ID, "check", "message"} & set(map(str, frame.columns)), frame.columns
        for col in [c for c in frame.columns if c in COUNT_COLUMNS or c in S.AGE_GROUPS]:
            assert not _small(frame[col], lang), (page, lang, col, _small(frame[col], lang))
    # headlines that are counts
    labels = {t(key, lang) for key in COUNT_LABELS}
    for m in at.metric:
        if any(m.label.startswith(lab.split("{")[0]) for lab in labels):
            assert not _small([m.value], lang), (m.label, m.value)
    # sentences and captions never print a small count of cases: "<k" instead
    cases = t("maps.cases", lang)
    texts = [x.value for x in list(at.markdown) + list(at.caption) + list(at.info)]
    for _, spec in _chart_texts(at):
        for trace in spec.get("data", []):
            for field in ("text", "hovertext", "customdata"):
                val = trace.get(field)
                if isinstance(val, list):
                    texts += [v for v in val if isinstance(v, str)]
            # count charts: bar heights / values are counts
            if trace.get("type") in ("treemap", "pie"):
                assert not _small(_values(trace.get("values")), "en")
            if page == "prevalence":          # prevalent people per site (the default measure)
                assert not _small(_values(trace.get("x")), "en"), trace.get("name")
            if page == "projections" and trace.get("type") == "scatter":   # cases per year (not the waterfall)
                assert not _small([v for v in _values(trace.get("y")) if isinstance(v, (int, float))], "en")
        title = json.dumps(spec.get("layout", {}).get("title", ""))
        if any(w in title for w in (t("app.overview.per_year", lang), t("maps.m_cases", lang))):
            for trace in spec.get("data", []):
                assert not _small(_values(trace.get("y")) if trace.get("type") == "bar" else [], "en")
    for text in texts:
        numbers = re.findall(rf"{re.escape(cases)}: ({NUMBER})", text) + re.findall(rf"O = ({NUMBER})", text)
        for n in numbers:
            assert not _small([n.strip()], lang), text
    if page == "quality":      # record-level lists are not public output
        assert t("disclosure.records_hidden", lang) in [i.value for i in at.info]
    if page == "survival":     # percentages only: no exact count of patients, deaths, at risk or lost
        assert not any({"n_risk", "events", "n", "deaths", "n_lost"} & set(df.value.columns) for df in at.dataframe)
        counts = {t("survival.metric.patients", lang), t("survival.metric.deaths", lang)}
        assert not counts & {m.label for m in at.metric}
        for _, spec in _chart_texts(at):
            for trace in spec.get("data", []):
                x = _values(trace.get("x"))
                if trace.get("line", {}).get("shape") == "hv" and len(x) > 2:   # monthly grid
                    steps = np.diff(np.asarray(x, float))
                    assert np.allclose(steps[steps > 0], 1 / 12, rtol=1e-3)      # years of about 365.24 days
    if page == "data":         # no upload, no preview, no validation report, no flagged records
        assert not at.dataframe and not at.metric and not at.get("download_button")
    if page == "maps":         # the URL's "own reference table" is not offered: the national one is used
        ref = next(r for r in at.radio if r.key == "p_map_ref")
        assert ref.value == "national" and "user" not in ref.options


def test_public_and_internal_views_of_one_url_differ_where_counts_are_small():
    """The same URL without public output shows the true counts: the public session's results
    are cached apart (Filters.public is in every key), and the true small counts really exist."""
    params = {"y0": "2020", "y1": "2024", "district": SMALL_DISTRICT, "inc_ci5_sex": "1"}
    at_public = _run("incidence", "en", {**params, "public": "1"})
    at_internal = _run("incidence", "en", {**params, "public": "0"})
    pub = next(d.value for d in at_public.dataframe if "cum_risk_0_74" in d.value.columns)
    raw = next(d.value for d in at_internal.dataframe if "cum_risk_0_74" in d.value.columns)
    ages = [c for c in S.AGE_GROUPS if c in raw.columns]
    true_small = raw[ages].apply(pd.to_numeric).stack()
    assert ((true_small > 0) & (true_small < K)).sum() > 5
    assert (pub[ages].astype(str) == f"<{K}").to_numpy().sum() > 0


def test_public_downloads_carry_the_rule_and_no_small_count():
    from openpyxl import load_workbook

    from app_support import cache, widgets
    from app_support.filters import Filters

    ds = _demo()
    f = Filters(y0=2024, y1=2024, sex="both", scheme="ci5", site="all", er="all", district=SMALL_DISTRICT, a0=0,
                a1=85, std="world_segi1960", ci="tiwari", conf="95", public=True, lang="az", theme="light")
    table = cache.dsr(ds, f, by=("sex", "site"), sexes=(1, 2))
    assert table["suppressed"].any()
    meta = {"title": "x", **f.describe(ds)}
    csv = pd.read_csv(io.BytesIO(widgets.table_csv(table, meta)))
    assert set(csv.loc[table["suppressed"].to_numpy(), "count"]) == {f"<{K}"}
    shown = pd.to_numeric(csv["count"], errors="coerce").dropna()
    assert not ((shown > 0) & (shown < K)).any()
    assert set(csv["disclosure_rule"]) == {cache.disclosure_rule().text("en")}
    wb = load_workbook(io.BytesIO(widgets.table_excel(table, meta, "az")))
    data = list(wb.worksheets[0].iter_rows(values_only=True))
    col = data[0].index("count")
    values = [r[col] for r in data[1:]]
    assert f"<{K}" in values and not _small(values, "en")
    rows = {r[0].value: r[1].value for r in wb.worksheets[-1].iter_rows(min_row=2)}
    assert rows[t("common.meta_suppression", "az")] == cache.disclosure_rule().text("az")
    footer = widgets.provenance(meta, "ru").text("ru")
    assert t("disclosure.rule_short", "ru", k=K, d=cache.disclosure_rule().max_noise) in footer
    ci5 = cache.ci5_table(ds, f, 1)
    csv = widgets.table_csv(ci5, meta).decode()
    assert f"<{K}" in csv


def _demo():
    from app_support import state

    return state.demo_dataset()


@pytest.mark.parametrize("page", ["overview", "incidence", "trends", "maps"])
def test_public_mortality_shows_no_small_count(public_server, page):
    """The measure switch on mortality: deaths are perturbed and withheld like cases."""
    at = _run(page, "en", {**HOSTILE, "measure": "mortality"})
    for df in at.dataframe:
        frame = df.value
        for col in [c for c in frame.columns if c in COUNT_COLUMNS or c in S.AGE_GROUPS]:
            assert not _small(frame[col], "en"), (page, col, _small(frame[col], "en"))
    for m in at.metric:
        if m.label == t("mortality.metric.cases_per_year", "en"):
            assert not _small([m.value], "en")
    # the account of the deaths read (exact counts by reason) is for registry staff
    assert t("disclosure.mortality_source_deaths_table", "en") in [c.value for c in at.caption]
    assert not any({"rows", "deaths", "description"} <= set(df.value.columns) for df in at.dataframe)


def test_public_slides_carry_the_rule_and_no_small_count(public_server, monkeypatch):
    """Slides: every chart of the Overview added to the deck on a public server (URL asking for
    public output off) and the PowerPoint built from them. Each slide states the disclosure rule;
    no slide text and no count chart on a slide shows a count below k."""
    from pptx import Presentation
    from PIL import Image

    from analytics import export
    from app_support import cache, widgets

    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    monkeypatch.setattr(export, "figure_to_image", lambda *a, **k: png.getvalue())   # no chromium needed
    at = _run("overview", "en", HOSTILE)
    deck_keys = [b.key for b in at.button if b.key and b.key.startswith("deck_") and b.key != "deck_clear"]
    assert len(deck_keys) >= 3
    for key in deck_keys:
        at.button(key=key).click().run()
        assert not at.exception
    slides = at.session_state["_deck"]
    assert len(slides) == len(deck_keys)
    rule = t("disclosure.rule_short", "en", k=K, d=cache.disclosure_rule().max_noise)
    per_year = t("app.overview.per_year", "en")
    for s in slides:
        assert widgets._is_public(s["meta"])
        if per_year in s["title"]:     # the cases-per-year chart: bar heights are counts
            bars = [tr for tr in s["figure"]["data"] if tr.get("type") == "bar"]
            assert bars
            for trace in bars:
                y = trace.get("y")
                y = _values(y) if isinstance(y, dict) else [] if y is None else list(np.ravel(np.asarray(y, dtype=object)))
                assert y and not _small(y, "en"), y
    deck = Presentation(io.BytesIO(widgets.deck_bytes(slides, "en")))
    cases = t("maps.cases", "en")
    assert len(deck.slides) == len(slides)
    for slide in deck.slides:
        text = " ".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
        assert rule in text, text
        for n in re.findall(rf"{re.escape(cases)}: ({NUMBER})", text):
            assert not _small([n.strip()], "en"), text

"""The download helpers of the chart twin: Excel metadata, PowerPoint deck, provenance footer."""
from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go
import pytest

from app_support import widgets

META = {"title": "Top sites", "source": "Demo registry", "period": "2020–2024", "sex": "female",
        "site": "All sites", "region": "all", "ages": "0–85+", "standard": "world_segi1960",
        "method": "tiwari 95% CI", "public_output": "False", "date": "2026-11-25"}


def test_excel_has_table_and_metadata_sheet():
    from openpyxl import load_workbook

    table = pd.DataFrame({"site": ["Breast", "Lung"], "value": [45.2, 27.1]})
    wb = load_workbook(io.BytesIO(widgets.table_excel(table, META)))
    data, meta = wb.worksheets[0], wb["metadata"] if "metadata" in wb.sheetnames else wb.worksheets[1]
    assert [c.value for c in data[1]] == ["site", "value"] and data["B2"].value == 45.2
    text = " ".join(str(c.value) for row in meta.iter_rows() for c in row)
    for value in ("Demo registry", "2020–2024", "world_segi1960", "tiwari 95% CI"):
        assert value in text


def test_provenance_footer_names_source_period_standard_method():
    text = widgets.provenance(META).text("en")
    for value in ("Demo registry", "2020–2024", "world_segi1960", "tiwari 95% CI", "female"):
        assert value in text


@pytest.mark.slow
def test_deck_is_a_16_9_pptx_with_one_slide_per_chart():
    from pptx import Presentation

    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    slides = [{"figure": fig.to_dict(), "title": f"Chart {i}", "reading": "One line.", "meta": META} for i in (1, 2)]
    prs = Presentation(io.BytesIO(widgets.deck_bytes(slides)))
    assert len(prs.slides) == 2
    assert round(prs.slide_width / prs.slide_height, 3) == round(16 / 9, 3)
    texts = [sh.text_frame.text for sh in prs.slides[0].shapes if sh.has_text_frame]
    assert "Chart 1" in texts and "One line." in texts
    assert any("Demo registry" in x for x in texts)
    assert any(sh.shape_type == 13 for sh in prs.slides[0].shapes)   # a picture


def test_excel_metadata_names_filters_and_the_disclosure_rule_in_the_language():
    from openpyxl import load_workbook

    from analytics.i18n import t

    meta = {**META, "sex": "Qadınlar", "public_output": t("app.public.on", "az")}
    wb = load_workbook(io.BytesIO(widgets.table_excel(pd.DataFrame({"a": [1]}), meta, "az")))
    rows = {r[0].value: r[1].value for r in wb.worksheets[-1].iter_rows(min_row=2)}
    assert rows[t("common.meta_source", "az")] == "Demo registry"
    assert "Qadınlar" in rows[t("common.meta_filters", "az")]
    assert t("app.meta.sex", "az") in rows[t("common.meta_filters", "az")]
    # public output: the disclosure rule (cell-key perturbation, counts below 10 withheld) in the language
    from app_support import cache

    assert rows[t("common.meta_suppression", "az")] == cache.disclosure_rule().text("az")
    assert "10" in rows[t("common.meta_suppression", "az")]
    off = load_workbook(io.BytesIO(widgets.table_excel(pd.DataFrame({"a": [1]}), META, "en")))
    rows = {r[0].value: r[1].value for r in off.worksheets[-1].iter_rows(min_row=2)}
    assert rows["Suppression rule"] == t("common.no_suppression", "en")
    assert rows["Title"] == "Top sites"


def test_csv_download_names_the_disclosure_rule_only_in_public_output():
    from analytics.i18n import t
    from app_support.filters import PUBLIC_K

    from app_support import cache

    table = pd.DataFrame({"site": ["Breast", "Lung"], "count": [12.0, None]})
    private = pd.read_csv(io.BytesIO(widgets.table_csv(table, META)))
    assert list(private.columns) == ["site", "count"]
    for lang in ("en", "az"):
        public = pd.read_csv(io.BytesIO(widgets.table_csv(table, {**META, "public_output": t("app.public.on", lang)})))
        assert list(public.columns) == ["site", "count", "disclosure_rule"]
        assert public["count"].tolist() == ["12", f"<{PUBLIC_K}"]       # a withheld count reads "<k"
        assert set(public["disclosure_rule"]) == {cache.disclosure_rule().text("en")}

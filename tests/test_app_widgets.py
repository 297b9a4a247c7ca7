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


def _png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 4), colour).save(buf, "PNG")
    return buf.getvalue()


def test_slides_are_drawn_once_when_added_and_the_deck_only_assembles(monkeypatch):
    """"Add to presentation" starts drawing the slide's image (export browser running); the
    PowerPoint download puts exactly those images on the slides and draws nothing again; the
    same chart in another data set is drawn for that data set."""
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    from analytics import export
    from app_support import cache

    drawn = []

    def fake(figs, **kw):
        drawn.extend(figs)
        return [_png((len(drawn) * 40 % 256, 0, 0))]
    monkeypatch.setattr(export, "slide_images", fake)
    monkeypatch.setattr(export, "server_running", lambda: True)
    monkeypatch.setattr(cache, "_IMAGES", type(cache._IMAGES)())
    figs = [go.Figure(go.Bar(x=["a", "b"], y=[1, i + 2])) for i in range(3)]
    slides = [{"figure": f.to_dict(), "title": f"Chart {i}", "reading": "r", "meta": META, "token": "ds-a"}
              for i, f in enumerate(figs)]
    for s in slides:
        widgets.prerender_slide(s)
    first = [cache.slide_image("ds-a", s["figure"]).result() for s in slides]
    assert len(drawn) == 3 and len(set(first)) == 3
    prs = Presentation(io.BytesIO(widgets.deck_bytes(slides)))
    pictures = [sh.image.blob for slide in prs.slides for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert pictures == first and len(drawn) == 3                    # assembled from the images drawn on "Add"
    widgets.deck_bytes(slides + [{**slides[0], "token": "ds-b"}])      # another data set: drawn for it
    assert len(drawn) == 4


def test_a_figure_download_is_drawn_once_per_figure_size_and_footer(monkeypatch):
    from analytics import export
    from app_support import cache

    calls = []

    def fake(fig, fmt, **kw):
        calls.append((fmt, kw["width"], kw["provenance"].text("en")))
        return b"image %d" % len(calls)
    monkeypatch.setattr(export, "figure_to_image", fake)
    monkeypatch.setattr(cache, "_IMAGES", type(cache._IMAGES)())
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    one = widgets.figure_bytes(fig, "png", META, 1200, 675, None, "en", token="ds-a")
    assert widgets.figure_bytes(go.Figure(fig), "png", META, 1200, 675, None, "en", token="ds-a") == one
    assert len(calls) == 1
    widgets.figure_bytes(fig, "png", {**META, "sex": "male"}, 1200, 675, None, "en", token="ds-a")   # another footer
    widgets.figure_bytes(fig, "png", META, 800, 600, None, "en", token="ds-a")                       # another size
    widgets.figure_bytes(fig, "svg", META, 1200, 675, None, "en", token="ds-a")                      # another format
    widgets.figure_bytes(fig, "png", META, 1200, 675, None, "en", token="ds-b")                      # another data set
    widgets.figure_bytes(go.Figure(go.Bar(x=["a", "b"], y=[1, 3])), "png", META, 1200, 675, None, "en", token="ds-a")
    assert len(calls) == 6 and "male" in calls[1][2]

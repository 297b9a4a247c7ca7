"""The chart + table twin with its downloads, and the presentation deck.

Figures are exported through ``analytics.export`` (kaleido with Debian's chromium); the bytes
are produced only when a download is clicked (deferred ``data=`` callables), so exports never
slow a rerun.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_support.text import t

EXPORT_SIZES = {"1200x675": (1200, 675), "1600x900": (1600, 900), "800x600": (800, 600)}
DEFAULT_SIZE = "1200x675"
SCALES = ("1", "2", "3")   # 1200 px x 2 = 2400 px wide: 300 dpi at 8 inches


def chromium_available() -> bool:
    return bool(os.environ.get("BROWSER_PATH") and os.path.exists(os.environ["BROWSER_PATH"])) or \
        os.path.exists("/usr/bin/chromium") or shutil.which("chromium") is not None


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", s).strip("_")[:60] or "chart"


# --- export glue (analytics.export when present) ------------------------------------------
def _export():
    try:
        from analytics import export

        return export
    except ImportError:
        return None


def footer_text(meta: dict) -> str:
    return (f"Source: {meta.get('source', '')} · Period {meta.get('period', '')} · "
            f"Standard: {meta.get('standard', '')} · {meta.get('method', '')} · {meta.get('date', '')}")


def table_csv(table: pd.DataFrame, meta: dict) -> bytes:
    ex = _export()
    if ex is not None and hasattr(ex, "table_csv"):
        return ex.table_csv(table, meta)
    return table.to_csv(index=False).encode("utf-8")


def table_excel(table: pd.DataFrame, meta: dict) -> bytes:
    ex = _export()
    if ex is not None and hasattr(ex, "table_excel"):
        return ex.table_excel(table, meta)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        table.to_excel(xl, sheet_name="data", index=False)
        pd.DataFrame(list(meta.items()), columns=["field", "value"]).to_excel(xl, sheet_name="metadata", index=False)
    return buf.getvalue()


def figure_bytes(fig: go.Figure, fmt: str, meta: dict, width: int, height: int, scale: float) -> bytes:
    ex = _export()
    if ex is not None and hasattr(ex, "figure_bytes"):
        return ex.figure_bytes(fig, fmt, meta=meta, width=width, height=height, scale=scale)
    import plotly.io as pio

    f2 = go.Figure(fig)
    f2.add_annotation(text=footer_text(meta), xref="paper", yref="paper", x=0, y=-0.18, showarrow=False,
                      xanchor="left", font={"size": 10, "color": "#555"})
    f2.update_layout(margin={"b": 110})
    return pio.to_image(f2, format=fmt, width=width, height=height, scale=scale if fmt == "png" else 1)


def figure_html(fig: go.Figure, meta: dict) -> bytes:
    ex = _export()
    if ex is not None and hasattr(ex, "figure_html"):
        return ex.figure_html(fig, meta=meta)
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def deck_bytes(slides: list[dict]) -> bytes:
    ex = _export()
    if ex is not None and hasattr(ex, "deck"):
        return ex.deck(slides)
    from pptx import Presentation
    from pptx.util import Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    for s in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        tb = slide.shapes.add_textbox(Inches(0.5), Inches(0.2), Inches(12.3), Inches(0.8))
        tb.text_frame.text = s["title"]
        tb.text_frame.paragraphs[0].font.size = Pt(28)
        png = figure_bytes(go.Figure(s["figure"]), "png", s["meta"], 1600, 760, 2)
        slide.shapes.add_picture(io.BytesIO(png), Inches(0.5), Inches(1.0), width=Inches(12.3))
        rd = slide.shapes.add_textbox(Inches(0.5), Inches(6.9), Inches(12.3), Inches(0.5))
        rd.text_frame.text = s.get("reading", "")
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


# --- the twin ------------------------------------------------------------------------
def export_settings(lang: str) -> tuple[int, int, float]:
    ss = st.session_state
    size = ss.get("x_size", DEFAULT_SIZE)
    w, h = EXPORT_SIZES.get(size, EXPORT_SIZES[DEFAULT_SIZE])
    return w, h, float(ss.get("x_scale", "2"))


def chart_with_table(fig: go.Figure, table: pd.DataFrame, *, name: str, f, ds, title: str,
                     reading: str = "", table_note: str | None = None) -> None:
    """Chart and its table in tabs, with CSV/Excel/PNG/SVG/PDF downloads and "Add to presentation"."""
    lang = f.lang
    meta = {"title": title, **f.describe(ds)}
    tab_chart, tab_table = st.tabs([t("app.tab.chart", lang), t("app.tab.table", lang)])
    with tab_chart:
        st.plotly_chart(fig, key=f"chart_{name}", width="stretch",
                        config={"displaylogo": False, "toImageButtonOptions": {"filename": _slug(name)}})
        if reading:
            st.caption(reading)
    with tab_table:
        st.dataframe(table, key=f"table_{name}", hide_index=True, width="stretch")
        if table_note:
            st.caption(table_note)
    stem = f"{_slug(name)}_{f.y0}-{f.y1}"
    cols = st.columns(6)
    cols[0].download_button(t("app.dl.csv", lang), data=lambda: table_csv(table, meta), file_name=f"{stem}.csv",
                            mime="text/csv", key=f"dl_csv_{name}", on_click="ignore")
    cols[1].download_button(t("app.dl.excel", lang), data=lambda: table_excel(table, meta), file_name=f"{stem}.xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key=f"dl_xlsx_{name}", on_click="ignore")
    w, h, scale = export_settings(lang)
    if chromium_available():
        for i, (fmt, mime) in enumerate((("png", "image/png"), ("svg", "image/svg+xml"), ("pdf", "application/pdf"))):
            cols[2 + i].download_button(t(f"app.dl.{fmt}", lang),
                                        data=(lambda fmt=fmt: figure_bytes(fig, fmt, meta, w, h, scale)),
                                        file_name=f"{stem}.{fmt}", mime=mime, key=f"dl_{fmt}_{name}", on_click="ignore")
    else:
        cols[2].download_button(t("app.dl.html", lang), data=lambda: figure_html(fig, meta), file_name=f"{stem}.html",
                                mime="text/html", key=f"dl_html_{name}", on_click="ignore")
        cols[3].caption(t("app.dl.no_chromium", lang))
    if cols[5].button(t("app.deck.add", lang), key=f"deck_{name}"):
        st.session_state.setdefault("_deck", []).append(
            {"figure": fig.to_dict(), "title": title, "reading": reading, "meta": meta})
        st.toast(t("app.deck.added", lang, n=len(st.session_state["_deck"])))


def deck_sidebar(f) -> None:
    """Sidebar block: export size and the presentation deck download."""
    lang = f.lang
    with st.sidebar.expander(t("app.export.title", lang), expanded=False):
        st.selectbox(t("app.export.size", lang), list(EXPORT_SIZES), key="x_size",
                     index=list(EXPORT_SIZES).index(st.session_state.get("x_size", DEFAULT_SIZE)))
        st.selectbox(t("app.export.scale", lang), list(SCALES), key="x_scale",
                     index=list(SCALES).index(st.session_state.get("x_scale", "2")))
        slides = list(st.session_state.get("_deck", []))
        st.caption(t("app.deck.count", lang, n=len(slides)))
        if slides:
            st.download_button(t("app.deck.download", lang), data=lambda: deck_bytes(slides),
                               file_name=f"presentation_{dt.date.today().isoformat()}.pptx",
                               mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                               key="deck_download", on_click="ignore")
            if st.button(t("app.deck.clear", lang), key="deck_clear"):
                st.session_state["_deck"] = []
                st.rerun()


def metric_row(items: list[tuple[str, str, str | None]]) -> None:
    cols = st.columns(len(items))
    for col, (label, value, help_) in zip(cols, items):
        col.metric(label, value, help=help_)


def fmt(x, lang: str, decimals: int = 1) -> str:
    """A number as the language writes it (analytics.i18n.format_number)."""
    try:
        from analytics.i18n import format_number

        return format_number(x, lang, decimals)
    except ImportError:
        return f"{x:,.{decimals}f}"


def headlines(by_sex: pd.DataFrame, f) -> list[str]:
    """One plain-language sentence per sex: the leading site, its rate and the ratio to the other sex."""
    try:
        from analytics import narrative
    except ImportError:
        narrative = None
    if narrative is not None and hasattr(narrative, "top_site_sentences"):
        return narrative.top_site_sentences(by_sex, lang=f.lang, standard=f.std)
    from analytics.charts.incidence import NOT_RANKED

    out = []
    d = by_sex[~by_sex["site"].isin(NOT_RANKED)]
    for code, key in ((1, "app.headline.men"), (2, "app.headline.women")):
        mine = d[d["sex"] == code].sort_values("value", ascending=False)
        if not len(mine) or not mine["value"].iloc[0] > 0:
            continue
        site, value = mine["site"].iloc[0], float(mine["value"].iloc[0])
        other = d[(d["sex"] != code) & (d["site"] == site)]["value"]
        s = t(key, f.lang, site=f.site_name(site), value=fmt(value, f.lang), standard=f.std)
        if len(other) and other.iloc[0] > 0:
            s += " " + t("app.headline.ratio", f.lang, ratio=fmt(value / float(other.iloc[0]), f.lang))
        out.append(s)
    return out

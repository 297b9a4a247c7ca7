"""The chart + table twin with its downloads, and the presentation deck.

Figures are exported through ``analytics.export`` (kaleido with Debian's chromium); the bytes
are produced only when a download is clicked (deferred ``data=`` callables), so exports never
slow a rerun.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_support.text import t

EXPORT_SIZES = {"1200x675": (1200, 675), "1600x900": (1600, 900), "800x600": (800, 600)}
DEFAULT_SIZE = "1200x675"
SCALES = ("300dpi", "1", "2", "3")   # 300dpi: 170 mm wide at 300 dpi (analytics.export.png_scale)


def export_status(lang: str):
    from analytics import export

    return export.export_available(lang)


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", s).strip("_")[:60] or "chart"


# --- export glue (analytics.export) -----------------------------------------------------
FILTER_ITEMS = ("measure", "sex", "site", "site_list", "region", "ages", "public_output")


def _filters(meta: dict, lang: str) -> dict[str, str]:
    """The filters of a selection as {translated label: value}; "all" regions left out."""
    all_regions = t("app.region.all", lang)
    return {t(f"app.meta.{k}", lang): meta[k] for k in FILTER_ITEMS
            if meta.get(k) not in ("", "all", None, all_regions)}


def provenance(meta: dict, lang: str = "en"):
    """The footer of exported figures: source, period, standard, method, date and the filters."""
    from analytics.charts.base import Provenance

    extra = {k: v for k, v in _filters(meta, lang).items() if k != t("app.meta.site_list", lang)}
    return Provenance(source=meta.get("source", ""), period=meta.get("period", ""),
                      standard=meta.get("standard", ""), method=meta.get("method", ""), extra=extra)


def metadata(meta: dict, lang: str = "en") -> dict:
    """The metadata sheet of a table download: title, source, period, filters, standard,
    method, date and the disclosure rule, labelled in ``lang``."""
    from app_support.filters import PUBLIC_K

    public = _is_public(meta)
    rule = t("common.suppression_rule", lang, k=PUBLIC_K, k_minus_1=PUBLIC_K - 1) if public \
        else t("common.no_suppression", lang)
    out = {"source": meta.get("source", ""), "period": meta.get("period", ""),
           "filters": _filters(meta, lang), "standard": meta.get("standard", ""), "method": meta.get("method", ""),
           "date": meta.get("date", ""), "suppression": rule}
    if meta.get("title"):
        out = {t("app.meta.title", lang): meta["title"], **out}
    return out


def _is_public(meta: dict) -> bool:
    """Was public output on? ``describe`` writes the switch as a label in the user's language."""
    return meta.get("public_output") in (True, "True", *(t("app.public.on", lang) for lang in ("en", "az", "ru")))


def table_csv(table: pd.DataFrame, meta: dict) -> bytes:
    """CSV download. A CSV has no metadata sheet, so in public output each row carries the
    disclosure rule applied (in English, like the column names a script reads)."""
    from analytics import export

    if _is_public(meta):
        table = table.assign(disclosure_rule=metadata(meta, "en")["suppression"])
    return export.table_to_csv(table)


def table_excel(table: pd.DataFrame, meta: dict, lang: str = "en") -> bytes:
    from analytics import export

    return export.table_to_excel(table, metadata(meta, lang), lang=lang)


def figure_bytes(fig: go.Figure, fmt: str, meta: dict, width: int, height: int, scale: float | None,
                 lang: str = "en", theme: str | None = None) -> bytes:
    from analytics import export

    return export.figure_to_image(fig, fmt, width=width, height=height, scale=scale if fmt == "png" else None,
                                  provenance=provenance(meta, lang), lang=lang, theme=theme)


def figure_html(fig: go.Figure, meta: dict, lang: str = "en") -> bytes:
    from analytics import export

    return export.figure_to_html(fig, provenance=provenance(meta, lang), lang=lang)


def deck_bytes(slides: list[dict], lang: str = "en") -> bytes:
    from analytics import export

    return export.build_presentation(
        [{"figure": s["figure"], "title": s["title"], "reading": s["reading"], "provenance": provenance(s["meta"], lang)}
         for s in slides], lang=lang)


# --- the twin ------------------------------------------------------------------------
EXPORT_CHOICES = {"x_size": (tuple(EXPORT_SIZES), DEFAULT_SIZE), "x_scale": (SCALES, SCALES[0])}


def _export_choice(key: str) -> str:
    """The session's export size or scale (``x_size``/``x_scale``), always one of its options."""
    options, default = EXPORT_CHOICES[key]
    value = st.session_state.setdefault("_export", {}).get(key, default)
    return value if value in options else default


def export_settings(lang: str) -> tuple[int, int, float]:
    w, h = EXPORT_SIZES[_export_choice("x_size")]
    scale = _export_choice("x_scale")
    return w, h, None if scale == "300dpi" else float(scale)


def _export_select(key: str, label: str, **kw) -> None:
    """A selectbox of the export settings whose chosen option survives a language switch.

    The browser keeps a selectbox's value as its displayed label; once the language changes, the
    old label matches no option and would come back as a foreign value. So the value lives in the
    session (``_export``), is set before the widget is drawn, and only a user's valid choice
    (``on_change``) replaces it — as the sidebar filters do."""
    options, _ = EXPORT_CHOICES[key]
    st.session_state[key] = _export_choice(key)

    def store() -> None:
        if st.session_state.get(key) in options:
            st.session_state.setdefault("_export", {})[key] = st.session_state[key]

    st.selectbox(label, list(options), key=key, on_change=store, **kw)


def chart_with_table(fig: go.Figure, table: pd.DataFrame, *, name: str, f, ds, title: str,
                     reading: str = "", table_note: str | None = None, headers: dict[str, str] | None = None,
                     select: bool = False):
    """Chart and its table in tabs, with CSV/Excel/PNG/SVG/PDF downloads and "Add to presentation".

    ``select=True``: clicking a point (a map region) reruns the page; the plotly selection event
    is returned (also in ``st.session_state[f"chart_{name}"]``), else None.

    The table tab shows codes in words and translated headers (``headers`` overrides a column's);
    the downloads keep the analytics column names and codes."""
    lang = f.lang
    meta = {"title": title, **f.describe(ds)}
    tab_chart, tab_table = st.tabs([t("app.tab.chart", lang), t("app.tab.table", lang)])
    with tab_chart:
        sel = dict(on_select="rerun", selection_mode="points") if select else {}
        # theme=None: the figure keeps its own template (Streamlit's theme would override the
        # presentation theme's large type and the colours shared with the exports)
        event = st.plotly_chart(fig, key=f"chart_{name}", width="stretch", theme=None,
                                config={"displaylogo": False, "toImageButtonOptions": {"filename": _slug(name)}}, **sel)
        if reading:
            st.caption(reading)
    with tab_table:
        from app_support import tables

        tables.show(table, lang=lang, key=f"table_{name}", site_name=f.site_name, headers=headers)
        if table_note:
            st.caption(table_note)
    stem = f"{_slug(name)}_{f.y0}-{f.y1}"
    # a wrapping row: in a half-width column the buttons flow onto a second line, never truncated
    row = st.container(horizontal=True, wrap=True, gap="small")
    cols = [row] * 6
    cols[0].download_button(t("app.dl.csv", lang), data=lambda: table_csv(table, meta), file_name=f"{stem}.csv",
                            mime="text/csv", key=f"dl_csv_{name}", on_click="ignore")
    cols[1].download_button(t("app.dl.excel", lang), data=lambda: table_excel(table, meta, lang), file_name=f"{stem}.xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key=f"dl_xlsx_{name}", on_click="ignore")
    w, h, scale = export_settings(lang)
    status = export_status(lang)
    if status:
        for i, (fmt, mime) in enumerate((("png", "image/png"), ("svg", "image/svg+xml"), ("pdf", "application/pdf"))):
            cols[2 + i].download_button(t(f"app.dl.{fmt}", lang),
                                        data=(lambda fmt=fmt: figure_bytes(fig, fmt, meta, w, h, scale, lang)),
                                        file_name=f"{stem}.{fmt}", mime=mime, key=f"dl_{fmt}_{name}", on_click="ignore")
    else:
        cols[2].download_button(t("app.dl.html", lang), data=lambda: figure_html(fig, meta, lang), file_name=f"{stem}.html",
                                mime="text/html", key=f"dl_html_{name}", on_click="ignore")
        st.caption(status.message)
    def _add() -> None:   # a callback runs before the next run, so the sidebar count is current
        st.session_state.setdefault("_deck", []).append(
            {"figure": fig.to_dict(), "title": title, "reading": reading, "meta": meta})
        st.toast(t("app.deck.added", lang, n=len(st.session_state["_deck"])))

    cols[5].button(t("app.deck.add", lang), key=f"deck_{name}", on_click=_add)
    return event if select else None


def deck_sidebar(f) -> None:
    """Sidebar block: export size and the presentation deck download."""
    lang = f.lang
    with st.sidebar.expander(t("app.export.title", lang), expanded=False):
        _export_select("x_size", t("app.export.size", lang))
        _export_select("x_scale", t("app.export.scale", lang),
                       format_func=lambda v: t("app.export.dpi", lang) if v == "300dpi" else f"× {v}")
        slides = list(st.session_state.get("_deck", []))
        st.caption(t("app.deck.count", lang, n=len(slides)))
        if slides:
            st.download_button(t("app.deck.download", lang), data=lambda: deck_bytes(slides, lang),
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
    from analytics.i18n import format_number

    return format_number(x, lang, decimals)


def headlines(by_sex: pd.DataFrame, f) -> list[str]:
    """One plain-language sentence per sex: the leading site, its rate and the ratio to the other sex."""
    from analytics import narrative

    return narrative.top_site_sentences(by_sex, lang=f.lang, standard=f.std)

"""The chart + table twin with its downloads, and the presentation deck.

Figures are exported through ``analytics.export`` (kaleido with Debian's chromium); the bytes
are produced only when a download is clicked (deferred ``data=`` callables), so exports never
slow a rerun.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import PurePosixPath
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_support import auth
from app_support.text import md, t

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


def _rule():
    from app_support import cache

    return cache.disclosure_rule()


def provenance(meta: dict, lang: str = "en"):
    """The footer of exported figures: source, period, standard, method, date and the filters
    (in public output the disclosure rule in short)."""
    from analytics.charts.base import Provenance

    extra = {k: v for k, v in _filters(meta, lang).items() if k != t("app.meta.site_list", lang)}
    if _is_public(meta):
        rule = _rule()
        extra[t("app.meta.public_output", lang)] = t("disclosure.rule_short", lang, k=rule.k, d=rule.max_noise)
    return Provenance(source=meta.get("source", ""), period=meta.get("period", ""),
                      standard=meta.get("standard", ""), method=meta.get("method", ""), extra=extra)


def metadata(meta: dict, lang: str = "en") -> dict:
    """The metadata sheet of a table download: title, source, period, filters, standard,
    method, date and the disclosure rule, labelled in ``lang``."""
    public = _is_public(meta)
    rule = _rule().text(lang) if public else t("common.no_suppression", lang)
    out = {"source": meta.get("source", ""), "period": meta.get("period", ""),
           "filters": _filters(meta, lang), "standard": meta.get("standard", ""), "method": meta.get("method", ""),
           "date": meta.get("date", ""), "suppression": rule}
    if meta.get("title"):
        out = {t("app.meta.title", lang): meta["title"], **out}
    return out


def _is_public(meta: dict) -> bool:
    """Was public output on? ``describe`` writes the switch as a label in the user's language."""
    return meta.get("public_output") in (True, "True", *(t("app.public.on", lang) for lang in ("en", "az", "ru")))


def public_table(table: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """The table as public output publishes it: withheld counts written "<k"."""
    from analytics import disclosure

    return disclosure.show_small(table, _rule().k) if _is_public(meta) else table


def table_csv(table: pd.DataFrame, meta: dict) -> bytes:
    """CSV download. A CSV has no metadata sheet, so in public output each row carries the
    disclosure rule applied (in English, like the column names a script reads)."""
    from analytics import export

    if _is_public(meta):
        table = public_table(table, meta).assign(disclosure_rule=metadata(meta, "en")["suppression"])
    return export.table_to_csv(table)


def table_excel(table: pd.DataFrame, meta: dict, lang: str = "en") -> bytes:
    from analytics import export

    return export.table_to_excel(public_table(table, meta), metadata(meta, lang), lang=lang)


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


# --- every download goes through here ---------------------------------------------------
def selection_of(f, ds=None) -> dict[str, Any]:
    """The selection behind an export, for the audit log: the filters and the data set."""
    out = dataclasses.asdict(f) if dataclasses.is_dataclass(f) else {}
    if ds is not None:
        out["dataset"] = ds.token
    return out


def download_button(label: str, data, *, file_name: str, key: str, what: str, f=None, ds=None,
                    mime: str | None = None, container=None, **kw):
    """``st.download_button`` behind the role check, with the export written to the audit log.

    Drawn only when the session may download (``auth.can("download")``): a role without it gets
    no button, so no deferred file is registered for it on the server. ``data`` (bytes or a
    callable, produced on click) is wrapped so that producing the file records who exported
    ``what``, for which selection, in which format; a file the audit log cannot record is not
    produced. Pages call this, never ``st.download_button`` (tests/test_auth.py checks)."""
    if not auth.can(auth.DOWNLOAD):
        return False
    from app_support import audit

    who = auth.context()                      # captured now: the click runs outside the session
    identity, mode_then = auth.identity(), auth.mode()
    selection = selection_of(f, ds) if f is not None else {}
    fmt = PurePosixPath(file_name).suffix.lstrip(".").lower() or "bin"

    def produce():
        if not auth.still_can(auth.DOWNLOAD, identity, mode_then):   # the role may have changed since
            audit.log_event("denial", capability=auth.DOWNLOAD, what=file_name, **who)
            raise PermissionError("downloads are no longer allowed for this user")
        audit.log_event("export", what=what, selection=selection, format=fmt, file_name=file_name, **who)
        return data() if callable(data) else data

    kw.setdefault("on_click", "ignore")
    return (container or st).download_button(label, data=produce, file_name=file_name, mime=mime, key=key, **kw)


# --- the twin ------------------------------------------------------------------------
def export_settings(lang: str) -> tuple[int, int, float]:
    ss = st.session_state
    size = ss.get("x_size", DEFAULT_SIZE)
    w, h = EXPORT_SIZES.get(size, EXPORT_SIZES[DEFAULT_SIZE])
    scale = ss.get("x_scale", SCALES[0])
    return w, h, None if scale == "300dpi" else float(scale)


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
        config = {"displaylogo": False, "toImageButtonOptions": {"filename": _slug(name)}}
        if not auth.can(auth.DOWNLOAD):
            config["modeBarButtonsToRemove"] = ["toImage"]
        event = st.plotly_chart(fig, key=f"chart_{name}", width="stretch", theme=None, config=config, **sel)
        if reading:
            st.caption(md(reading))
    with tab_table:
        from app_support import tables

        tables.show(table, lang=lang, key=f"table_{name}", site_name=f.site_name, headers=headers,
                    k=_rule().k if f.public else None)
        if table_note:
            st.caption(md(table_note))
    stem = f"{_slug(name)}_{f.y0}-{f.y1}"
    # a wrapping row: in a half-width column the buttons flow onto a second line, never truncated
    row = st.container(horizontal=True, wrap=True, gap="small")
    cols = [row] * 6
    dl = dict(f=f, ds=ds, what=f"{title} [{name}]")
    download_button(t("app.dl.csv", lang), lambda: table_csv(table, meta), file_name=f"{stem}.csv",
                    mime="text/csv", key=f"dl_csv_{name}", container=cols[0], **dl)
    download_button(t("app.dl.excel", lang), lambda: table_excel(table, meta, lang), file_name=f"{stem}.xlsx",
                    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    key=f"dl_xlsx_{name}", container=cols[1], **dl)
    w, h, scale = export_settings(lang)
    status = export_status(lang)
    if status:
        for i, (fmt, mime) in enumerate((("png", "image/png"), ("svg", "image/svg+xml"), ("pdf", "application/pdf"))):
            download_button(t(f"app.dl.{fmt}", lang), (lambda fmt=fmt: figure_bytes(fig, fmt, meta, w, h, scale, lang)),
                            file_name=f"{stem}.{fmt}", mime=mime, key=f"dl_{fmt}_{name}", container=cols[2 + i], **dl)
    else:
        download_button(t("app.dl.html", lang), lambda: figure_html(fig, meta, lang), file_name=f"{stem}.html",
                        mime="text/html", key=f"dl_html_{name}", container=cols[2], **dl)
        st.caption(status.message)

    def _add() -> None:   # a callback runs before the next run, so the sidebar count is current
        if not auth.can(auth.DOWNLOAD):      # checked again when the callback runs
            return
        st.session_state.setdefault("_deck", []).append(
            {"figure": fig.to_dict(), "title": title, "reading": reading, "meta": meta})
        st.toast(t("app.deck.added", lang, n=len(st.session_state["_deck"])))

    if auth.can(auth.DOWNLOAD):
        cols[5].button(t("app.deck.add", lang), key=f"deck_{name}", on_click=_add)
    return event if select else None


def deck_sidebar(f) -> None:
    """Sidebar block: export size and the presentation deck download."""
    lang = f.lang
    if not auth.can(auth.DOWNLOAD):
        return
    with st.sidebar.expander(t("app.export.title", lang), expanded=False):
        st.selectbox(t("app.export.size", lang), list(EXPORT_SIZES), key="x_size",
                     index=list(EXPORT_SIZES).index(st.session_state.get("x_size", DEFAULT_SIZE)))
        st.selectbox(t("app.export.scale", lang), list(SCALES), key="x_scale",
                     format_func=lambda v: t("app.export.dpi", lang) if v == "300dpi" else f"× {v}",
                     index=list(SCALES).index(st.session_state.get("x_scale", SCALES[0])))
        slides = list(st.session_state.get("_deck", []))
        st.caption(t("app.deck.count", lang, n=len(slides)))
        if slides:
            download_button(t("app.deck.download", lang), lambda: deck_bytes(slides, lang),
                            file_name=f"presentation_{dt.date.today().isoformat()}.pptx",
                            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                            key="deck_download", what=f"presentation ({len(slides)} slides)", f=f)
            if st.button(t("app.deck.clear", lang), key="deck_clear"):
                st.session_state["_deck"] = []
                st.rerun()


def metric_row(items: list[tuple[str, str, str | None]]) -> None:
    cols = st.columns(len(items))
    for col, (label, value, help_) in zip(cols, items):
        col.metric(label, value, help=help_)


def count_text(x, f, decimals: int = 0) -> str:
    """A count (or an average of counts) for a headline or sentence: in public output "<k" when
    it is withheld (missing) or below k."""
    if f.public:
        k = _rule().k
        if x is None or not pd.notna(x) or 0 < float(x) < k:
            return f"<{k}"
    return fmt(x, f.lang, decimals)


def fmt(x, lang: str, decimals: int = 1) -> str:
    """A number as the language writes it (analytics.i18n.format_number)."""
    from analytics.i18n import format_number

    return format_number(x, lang, decimals)


def headlines(by_sex: pd.DataFrame, f) -> list[str]:
    """One plain-language sentence per sex: the leading site, its rate and the ratio to the other sex."""
    from analytics import narrative

    return narrative.top_site_sentences(by_sex, lang=f.lang, standard=f.std)

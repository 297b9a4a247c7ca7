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
from streamlit.errors import StreamlitInvalidLayoutContextError

from analytics.charts.base import TOPOJSON_URL
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


# --- what is shown (analytics.describe) ------------------------------------------------
_KEEP = object()


def area_of(f) -> tuple[str, str] | None:
    """The sidebar's region as (level, code): a district, an economic region, or None."""
    from analytics import schema as S

    if f.district != "all":
        return (S.REGION, f.district)
    if f.er != "all":
        return (S.PARENT, f.er)
    return None


def scope_of(f):
    """What the sidebar asks for, as an ``analytics.describe.Scope``."""
    from analytics.describe import Scope

    return Scope(years=(f.y0, f.y1), sexes=tuple(f.sex_codes), site=f.site, area=area_of(f),
                 ages=tuple(f.age_groups), site_list=f.scheme)


def region_fallback_names(ds) -> dict[str, str]:
    """Code -> name of every district and economic region as the data set names them (used
    where the catalogue ``regions.json`` has no entry, e.g. an upload's own regions); built once
    per data set (``cache.region_fallback_names``: shared, never modify it)."""
    from app_support import cache

    return cache.region_fallback_names(ds)


def describe(f, ds, frame, measure: str | None, *, sexes=None, site=None, area=_KEEP, years=None, ages=None,
             **kw):
    """The description of ``frame`` drawn as ``measure`` (``analytics.describe.describe``).

    The keywords say how the numbers were computed where that differs from the sidebar
    (``sexes=(1, 2)`` for a men-vs-women chart, ``area=None`` for the whole country,
    ``years=`` for all years, ``site=`` ...); the frame's own columns then say what is shown.
    Standard population, CI method and level, source and public mode come from ``f``
    (override any with a keyword).

    Built once per process for the same data set, filters, frame (by content), measure and
    keywords (``cache.view``; the description is frozen), and again on a new day (its date)."""
    from app_support import cache

    keep = area is _KEEP
    plain = dict(sexes=sexes, site=site, area=None if keep else area, keep_area=keep, years=years, ages=ages, **kw)
    try:
        cache.key_part(plain)
    except TypeError:               # a keyword that cannot be keyed by value: built for this run only
        return _describe(f, frame, measure, ds=ds, **plain)
    return cache.view(ds, "description", _describe, f, frame, measure, identity=dt.date.today().isoformat(),
                      _ds=ds, **plain)


def _describe(f, frame, measure: str | None, *, ds, sexes, site, area, keep_area: bool, years, ages, **kw):
    from analytics.describe import describe as build

    requested = scope_of(f)
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in
               (("sexes", sexes), ("site", site), ("years", years), ("ages", ages)) if v is not None}
    if not keep_area:
        changes["area"] = area
    scope = requested.replace(**changes)
    fields = dict(standard=f.std, ci_method=f.ci, conf=f.level, source=f.source(ds), public=f.public,
                  names=region_fallback_names(ds))
    if getattr(f, "mortality", False):   # deaths, not cases: the measure's mortality name and the deaths' source
        from analytics.i18n import has_key

        if measure and has_key(f"describe.deaths.{measure}"):
            fields["label"] = t(f"describe.deaths.{measure}", f.lang)
        kw = {**kw, "notes": (f.measure_label(ds),) + tuple(kw.get("notes", ()))}
    fields.update(kw)
    return build(frame, measure, scope=scope, requested=requested, asked=asked_of(f, ds), **fields)


def as_measure(desc, f, measure: str):
    """``desc`` of the same data drawn as another measure (a funnel plot of the mapped SIRs, the
    APCs of the fitted trend), named for incidence or mortality as the page shows."""
    from analytics.i18n import has_key

    key = f"describe.deaths.{measure}"
    label = t(key, f.lang) if getattr(f, "mortality", False) and has_key(key) else None
    return desc.replace(measure=measure, label=label)


def asked_of(f, ds) -> dict[str, str]:
    """The user's choices in words, for the notes on filters a view does not apply."""
    from analytics.describe import Description, ages_text

    d = Description(measure=None, scope=scope_of(f), names=region_fallback_names(ds))
    return {"sex": d.sex_text(f.lang), "site": d.site_text(f.lang), "region": d.region_text(f.lang),
            "period": d.period_text(), "ages": ages_text(f.age_groups, f.lang)}


def page_caption(f, ds, *, measure: str | None = None, **kw) -> str:
    """The caption under a page title: the data set and the full selection (every filter,
    standard population and CI method), in the page's language."""
    d = describe(f, ds, None, measure, **kw)    # file and region names are user text: made inert (md)
    return md(f"{f.source(ds)}{SEP}{d.caption(f.lang, with_measure=measure is not None)}")


SEP = " · "


def meta_of(title: str, desc, f, ds) -> dict:
    """The metadata of a download (a table without a chart): title, the description of what
    it holds, and the public-output switch."""
    return {"title": title, **f.describe(ds), "description": desc}


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
    """The footer of exported figures: what the figure shows (its ``analytics.describe``
    description under ``meta["description"]``: standard and method only where the measure uses
    them), else source, period, standard, method, date and the filters of a plain ``meta``; in
    public output the disclosure rule in short."""
    from analytics.charts.base import Provenance

    desc = meta.get("description")
    if desc is not None:
        prov = desc.provenance(lang)
        extra = prov.extra
    else:
        extra = {k: v for k, v in _filters(meta, lang).items() if k != t("app.meta.site_list", lang)}
    if _is_public(meta):
        rule = _rule()
        extra[t("app.meta.public_output", lang)] = t("disclosure.rule_short", lang, k=rule.k, d=rule.max_noise)
    if desc is not None:
        return prov
    return Provenance(source=meta.get("source", ""), period=meta.get("period", ""),
                      standard=meta.get("standard", ""), method=meta.get("method", ""), extra=extra)


def metadata(meta: dict, lang: str = "en") -> dict:
    """The metadata sheet of a table download: title, source, period, filters, standard,
    method, date and the disclosure rule, labelled in ``lang``."""
    public = _is_public(meta)
    rule = _rule().text(lang) if public else t("common.no_suppression", lang)
    desc = meta.get("description")
    if desc is not None:   # what the table shows, from the frame itself (analytics.describe)
        return {**desc.metadata(lang, title=meta.get("title", "")), "suppression": rule}
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
                 lang: str = "en", theme: str | None = None, token: str | None = None) -> bytes:
    """A figure's image download; with the dataset ``token``, drawn once per process for the same
    figure, size, scale, footer and theme (``cache.figure_image``) — a second click, or another
    session exporting the same chart, gets the same bytes without drawing again."""
    from analytics import export

    scale = scale if fmt == "png" else None
    prov = provenance(meta, lang)
    if token is None:
        return export.figure_to_image(fig, fmt, width=width, height=height, scale=scale, provenance=prov, lang=lang,
                                      theme=theme)
    from app_support import cache

    return cache.figure_image(token, fig, fmt, width, height, scale, prov, lang, theme)


def figure_html(fig: go.Figure, meta: dict, lang: str = "en") -> bytes:
    from analytics import export

    return export.figure_to_html(fig, provenance=provenance(meta, lang), lang=lang)


def deck_bytes(slides: list[dict], lang: str = "en") -> bytes:
    """The PowerPoint of the session's deck. Each slide's chart image comes from
    ``cache.slide_image`` — usually drawn in the background when it was added (:func:`prerender_slide`),
    the others drawn now, two at a time — so the download mostly assembles the slides."""
    from analytics import export
    from app_support import cache

    images = [cache.slide_image(s.get("token", ""), s["figure"]) for s in slides]
    return export.build_presentation(
        [{"figure": s["figure"], "title": s["title"], "reading": s["reading"], "provenance": provenance(s["meta"], lang),
          "image": img.result()} for s, img in zip(slides, images)], lang=lang)


def prerender_slide(slide: dict) -> None:
    """Start drawing a slide's chart image in the background (``cache.slide_image``) when the
    export browser is running (the app's warm-up starts it): the deck download then only
    assembles. Without a running browser (tests, no Chromium) the deck draws it at download."""
    from analytics import export

    if export.server_running():
        from app_support import cache

        cache.slide_image(slide.get("token", ""), slide["figure"])


# --- small screens -------------------------------------------------------------------
PHONE_WIDTH = 360          # layout px of a chart on a phone (390 px screen less the page margins)
_PHONE_AGENTS = ("Mobi", "iPhone", "Android", "iPod")


def is_phone() -> bool:
    """Is the page shown on a phone? (the browser's User-Agent; Streamlit reports no viewport)."""
    try:
        agent = st.context.headers.get("User-Agent", "") or ""
    except Exception:  # noqa: BLE001 - no request context (bare script): not a phone
        return False
    return any(a in agent for a in _PHONE_AGENTS)


def _for_phone(fig: go.Figure, min_width: int | None) -> go.Figure:
    """A copy laid out for a phone: title and legend wrapped to its width (or to ``min_width``
    for a chart shown in a horizontally scrolling box)."""
    from analytics.charts.base import layout_bottom

    out = go.Figure(fig)
    width = max(PHONE_WIDTH, min_width or 0)
    if min_width:
        out.update_layout(width=width)
    return layout_bottom(out, width)


class _Spec(go.Figure):
    """A figure as ``st.plotly_chart`` reads it: Streamlit calls ``to_dict()`` on a figure and
    serialises the result, nothing else. Not a figure to build on: plotly's own state is not set
    up (:func:`_drawn`)."""

    def __init__(self, spec: dict):   # noqa: D107 - deliberately no plotly initialisation
        self.__dict__["_spec"] = spec

    def to_dict(self) -> dict:
        return self.__dict__["_spec"]


def _without_meta(spec: dict) -> dict:
    """``spec`` without ``layout.meta`` (a shallow copy: the figure's own dict is left as it is)."""
    layout = spec.get("layout") or {}
    if "meta" not in layout:
        return spec
    return {**spec, "layout": {k: v for k, v in layout.items() if k != "meta"}}


def _drawn(fig: go.Figure) -> go.Figure:
    """What to hand to ``st.plotly_chart``: the figure's dict without ``layout.meta``.

    The description in ``layout.meta`` is for the downloads and slides (they keep it); the browser
    draws nothing from it. Left in, it made a chart whose drawing does not change with a filter
    (the men/women chart when the sex changes: only its description's note "sex filter not
    applied" changes) a new chart for Streamlit, whose element identity is the figure's JSON, and
    the browser drew it again from scratch. A figure shared by every session (``cache.view``,
    never modified) has its dict made once instead of deep-copying the whole figure — a map's
    GeoJSON included — on every rerun of every session."""
    if not getattr(fig, "_registry_shared", False):
        return _Spec(_without_meta(fig.to_dict()))
    spec = fig.__dict__.get("_registry_spec")
    if spec is None:       # two sessions may make it at once: the same dict, either is kept
        spec = _without_meta(fig.to_dict())
        fig.__dict__["_registry_spec"] = spec
    return _Spec(spec)


def translate_uploaders(lang: str) -> None:
    """The file uploader's own words (drop zone, size limit, button) in ``lang``: Streamlit
    writes them in English only, so they are replaced on screen by CSS."""
    if lang == "en":
        return
    drop, limit, browse = (t(f"describe.upload.{k}", lang) for k in ("drop", "limit", "browse"))
    st.html(
        "<style>"
        "[data-testid='stFileUploaderDropzoneInstructions'] span{font-size:0 !important}"
        f"[data-testid='stFileUploaderDropzoneInstructions'] > div > span:first-of-type::after{{content:'{drop}';font-size:1rem}}"
        f"[data-testid='stFileUploaderDropzoneInstructions'] > div > span:last-of-type::after{{content:'{limit}';font-size:.8rem}}"
        "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p{font-size:0 !important}"
        f"[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p::after{{content:'{browse}';"
        "font-size:.875rem}"
        "</style>")


# --- every download goes through here ---------------------------------------------------
def selection_of(f, ds=None) -> dict[str, Any]:
    """The selection behind an export, for the audit log: the filters and the data set."""
    out = dataclasses.asdict(f) if dataclasses.is_dataclass(f) else {}
    if ds is not None:
        out["dataset"] = ds.token
    return out


def download_button(label: str, data, *, file_name: str, key: str, what: str | Callable[[], str], f=None, ds=None,
                    mime: str | None = None, container=None, **kw):
    """``st.download_button`` behind the role check, with the export written to the audit log.

    Drawn only when the session may download (``auth.can("download")``): a role without it gets
    no button, so no deferred file is registered for it on the server. ``data`` (bytes or a
    callable, produced on click) is wrapped so that producing the file records who exported
    ``what``, for which selection, in which format; a file the audit log cannot record is not
    produced (``what`` may be a callable, read then). Pages call this, never ``st.download_button``
    (tests/test_auth.py checks)."""
    if not auth.can(auth.DOWNLOAD):
        return False
    from app_support import audit

    who = auth.context()                      # captured now: the click runs outside the session
    identity, mode_then = auth.identity(), auth.mode()
    fmt = PurePosixPath(file_name).suffix.lstrip(".").lower() or "bin"

    def produce():
        if not auth.still_can(auth.DOWNLOAD, identity, mode_then):   # the role may have changed since
            audit.log_event("denial", capability=auth.DOWNLOAD, what=file_name, **who)
            raise PermissionError("downloads are no longer allowed for this user")
        selection = selection_of(f, ds) if f is not None else {}     # f is frozen: written at the click
        audit.log_event("export", what=what() if callable(what) else what, selection=selection, format=fmt,
                        file_name=file_name, **who)
        return data() if callable(data) else data

    kw.setdefault("on_click", "ignore")
    return (container or st).download_button(label, data=produce, file_name=file_name, mime=mime, key=key, **kw)


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
                     select: bool = False, desc=None, min_width: int | None = None):
    """Chart and, in an expander under it, its table, with CSV/Excel/PNG/SVG/PDF downloads and "Add to presentation".

    ``select=True``: clicking a point (a map region) reruns the page; the plotly selection event
    is returned (also in ``st.session_state[f"chart_{name}"]``), else None.

    The table shows codes in words and translated headers (``headers`` overrides a column's);
    the downloads keep the analytics column names and codes.

    ``desc`` (:func:`describe`) says what the chart shows; it is written under the chart, into
    the figure's ``layout.meta["description"]``, the Excel metadata sheet, the image footers
    and the slide. Without it the table's own columns describe the chart.

    ``min_width``: below this width (a phone) the chart keeps it and scrolls sideways, e.g. a
    two-sided men/women bar chart that would be unreadable squeezed."""
    lang = f.lang
    if desc is None:   # a page that did not say what it draws: described from the table's columns
        desc = describe(f, ds, table, None)
    meta = meta_of(title, desc, f, ds)
    meta_fig = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    described = {**meta_fig, "description": desc.as_dict(), "caption": desc.caption(lang)}
    if described != meta_fig:
        if getattr(fig, "_registry_shared", False):   # built once for every session (cache.view): never changed
            fig = go.Figure(fig)
        fig.update_layout(meta=described)
    # The chart, then its table in an expander (not tabs): Streamlit's tab panel looks for a
    # focusable element in its whole subtree on every render and on every change inside it, i.e.
    # through each of plotly's SVG nodes while a chart is drawn: 100-150 ms of the browser's main
    # thread per filter change on the Overview (README, Performance, round 9).
    chart_box, table_box = st.container(), st.expander(t("app.table.expander", lang))
    with chart_box:
        sel = dict(on_select="rerun", selection_mode="points") if select else {}
        # topojsonURL: the maps' base map from the static folder (plotly.js asks for it for any map)
        config = {"displaylogo": False, "toImageButtonOptions": {"filename": _slug(name)}, "topojsonURL": TOPOJSON_URL}
        shown, box = fig, st.container()
        if is_phone():   # no tool bar over the title; title wrapped to the phone; wide charts scroll
            shown, config["displayModeBar"] = _for_phone(fig, min_width), False
            if min_width:
                box = st.container(key=f"scroll_{name}")
                st.html(f"<style>.st-key-scroll_{name}{{overflow-x:auto}} .st-key-scroll_{name} > div"
                        f"{{min-width:{min_width}px}}</style>")
        # theme=None: the figure keeps its own template (Streamlit's theme would override the
        # presentation theme's large type and the colours shared with the exports)
        if not auth.can(auth.DOWNLOAD):
            config["modeBarButtonsToRemove"] = ["toImage"]
        with box:
            event = st.plotly_chart(_drawn(shown), key=f"chart_{name}", width="stretch", theme=None, config=config,
                                    **sel)
        st.caption(md(desc.caption(lang)))
        if reading:
            st.caption(md(reading))
    with table_box:
        from app_support import tables

        tables.show(table, lang=lang, key=f"table_{name}", site_name=f.site_name, headers=headers,
                    k=_rule().k if f.public else None, ds=ds)
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
            download_button(t(f"app.dl.{fmt}", lang),
                            (lambda fmt=fmt: figure_bytes(fig, fmt, meta, w, h, scale, lang, token=ds.token)),
                            file_name=f"{stem}.{fmt}", mime=mime, key=f"dl_{fmt}_{name}", container=cols[2 + i], **dl)
    else:
        download_button(t("app.dl.html", lang), lambda: figure_html(fig, meta, lang), file_name=f"{stem}.html",
                        mime="text/html", key=f"dl_html_{name}", container=cols[2], **dl)
        st.caption(status.message)

    def _add() -> None:   # a callback runs before the next run, so the sidebar count is current
        if not auth.can(auth.DOWNLOAD):      # checked again when the callback runs
            return
        slide = {"figure": fig.to_dict(), "title": title, "reading": reading, "meta": meta, "token": ds.token}
        st.session_state.setdefault("_deck", []).append(slide)
        prerender_slide(slide)
        st.session_state[DECK_ADDED] = len(st.session_state["_deck"])     # said by the button (a toast)

    if auth.can(auth.DOWNLOAD):
        with cols[5]:
            _deck_button(name, t("app.deck.add", lang), _add, lang)
    return event if select else None


DECK_COUNT_BOX = "_deck_count_box"   # session key of the sidebar's deck count (a placeholder)
DECK_ADDED = "_deck_added"           # session key: the deck's size after the click's callback added a slide


@st.fragment
def _deck_button(name: str, label: str, add: Callable[[], None], lang: str) -> None:
    """"Add to presentation" as a fragment of its own: a click reruns this button, not the page
    (the page's rerun and redraw were most of the click's wait). The sidebar's count is rewritten
    in its place (:func:`deck_sidebar`'s placeholder, which every such fragment fills on a full
    run, as Streamlit requires of a fragment writing outside itself) and the deck download reads
    the deck when clicked; the first slide redraws the app, since the sidebar then gains the
    download button."""
    st.button(label, key=f"deck_{name}", on_click=add)
    added = st.session_state.get(DECK_ADDED)
    box = st.session_state.get(DECK_COUNT_BOX)
    if added and _in_fragment_run() and (added == 1 or box is None):
        st.rerun()      # the app's run says it (the first deck button drawn shows the toast)
    if added:
        del st.session_state[DECK_ADDED]
        st.toast(t("app.deck.added", lang, n=added))
    if box is None:
        return
    try:
        box.caption(t("app.deck.count", lang, n=len(st.session_state.get("_deck", []))))
    except StreamlitInvalidLayoutContextError:
        # a chart first drawn by a page fragment's rerun (the Maps panel switched to another chart)
        # has no place reserved in the sidebar yet: redraw the app when the click changed the count
        if added:
            st.rerun()


def rerun_app_if(changed: bool) -> None:
    """In a fragment's own rerun, redraw the whole page when ``changed`` (a choice made in the
    fragment that the rest of the page shows, e.g. the map's outlined region)."""
    if changed and _in_fragment_run():
        st.rerun()


def _in_fragment_run() -> bool:
    """Is this a rerun of fragments only (``st.fragment``), not of the whole page?"""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def deck_sidebar(f) -> None:
    """Sidebar block: export size and the presentation deck download."""
    lang = f.lang
    if not auth.can(auth.DOWNLOAD):
        return
    with st.sidebar.expander(t("app.export.title", lang), expanded=False):
        _export_select("x_size", t("app.export.size", lang))
        _export_select("x_scale", t("app.export.scale", lang),
                       format_func=lambda v: t("app.export.dpi", lang) if v == "300dpi" else f"× {v}")
        slides = st.session_state.setdefault("_deck", [])   # the session's own list: "Add" appends to it
        box = st.empty()          # "Add to presentation" (a fragment) rewrites the count here
        box.caption(t("app.deck.count", lang, n=len(slides)))
        st.session_state[DECK_COUNT_BOX] = box
        if slides:
            # the deck as it is when clicked: slides added since this run (by the fragment) included
            download_button(t("app.deck.download", lang), lambda: deck_bytes(list(slides), lang),
                            file_name=f"presentation_{dt.date.today().isoformat()}.pptx",
                            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                            key="deck_download", what=lambda: f"presentation ({len(slides)} slides)", f=f)
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


def counts_chart(build: Callable[..., go.Figure], data: pd.DataFrame, mortality: bool, **kw) -> go.Figure:
    """A count chart (``build``: ``cases_per_year``, ``cases_by_site``) relabelled for deaths when
    mortality is shown — one builder for ``cache.figure``."""
    from analytics.charts import mortality as mcharts

    fig = build(data, **kw)
    return mcharts.as_mortality(fig, kw.get("lang", "en")) if mortality else fig


def headlines(by_sex: pd.DataFrame, f) -> list[str]:
    """One plain-language sentence per sex: the leading site, its rate and the ratio to the other sex."""
    from analytics import narrative

    return narrative.top_site_sentences(by_sex, lang=f.lang, standard=f.std)

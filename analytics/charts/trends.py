"""Charts for trends, prevalence and projections (shared look from :mod:`analytics.charts.base`).

* :func:`trend_chart` - rates over time: observed points (with CIs when given) and the
  joinpoint fit, one colour per series (site or sex), joinpoints marked.
* :func:`apc_chart` - APC per segment (and AAPC) with confidence intervals, forest-plot style.
* :func:`prevalence_chart` - N-year prevalence (counts or proportions) by site and sex.
* :func:`projection_chart` - observed and projected cases by year under each method.
* :func:`decomposition_chart` - the change in cases split into growth, ageing and risk.

Builders take the tidy frames of :mod:`analytics.trends`, :mod:`analytics.prevalence` and
:mod:`analytics.projections`, never compute statistics themselves, and never set fonts.
"""
from __future__ import annotations

from typing import Sequence

import dataclasses
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.base import (
    DARK_GREY, GREY, empty_figure, new_figure, sex_colour, site_colour,
)
from analytics.i18n import format_number, sex_label, site_label, t

__all__ = ["trend_chart", "apc_chart", "prevalence_chart", "projection_chart", "decomposition_chart", "apc_sentence",
           "site_phrase", "who_phrase", "series_name", "series_colour"]


PREVALENCE_VALUES = ("count", "proportion", "asr")


def _separators(lang: str) -> str:
    return ". " if lang == "en" else ", "


def series_name(value, column: str | None, lang: str) -> str:
    """Readable name of a series key (site label translated, sex code as word)."""
    if column == "sex":
        return sex_label(value, lang)
    if column in ("site", "site_ci5", "site_globocan"):
        return site_label(str(value), lang)
    return str(value)


def series_colour(value, column: str | None, i: int) -> str:
    if column == "sex":
        return sex_colour(value)
    if column in ("site", "site_ci5", "site_globocan"):
        return site_colour(str(value))
    from analytics.charts.base import TOL_BRIGHT

    return TOL_BRIGHT[i % len(TOL_BRIGHT)]


def _require(frame: pd.DataFrame, cols: Sequence[str], chart: str) -> None:
    miss = [c for c in cols if c not in frame.columns]
    if miss:
        raise ValueError(f"{chart}: the table has no column(s) {miss} (columns: {list(frame.columns)}).")


def trend_chart(
    fitted: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    *,
    series: str | None = None,
    year: str = "year",
    observed: str = "observed",
    fit: str = "fitted",
    lower: str | None = "lower",
    upper: str | None = "upper",
    log: bool = False,
    lang: str = "en",
    theme: str = "light",
    title: str | None = None,
    y_title: str | None = None,
) -> go.Figure:
    """Observed rates (markers, CI bars when ``lower``/``upper`` exist) and the joinpoint fit
    (lines), one colour per ``series``; joinpoints (from ``segments``) as open diamonds."""
    _require(fitted, [year, observed, fit], "trend_chart")
    title = title if title is not None else t("trends.chart.trend_title", lang)
    if fitted.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    fig = new_figure(title, theme)
    from analytics.presets import number_format

    rate_fmt = number_format().d3("rate")
    groups = list(fitted.groupby(series, sort=False)) if series else [(None, fitted)]
    # Several series: one legend entry each (its colour covers points and fit), legend under the
    # plot so it never runs into the title.
    many = len(groups) > 2
    for i, (key, g) in enumerate(groups):
        key = key[0] if isinstance(key, tuple) else key
        g = g.sort_values(year)
        name = series_name(key, series, lang) if series else t("trends.chart.observed", lang)
        col = series_colour(key, series, i) if series else DARK_GREY
        err = None
        if lower and upper and lower in g and upper in g and g[lower].notna().any():
            err = dict(type="data", symmetric=False, array=(g[upper] - g[observed]).to_numpy(),
                       arrayminus=(g[observed] - g[lower]).to_numpy(), thickness=1, width=0, color=col)
        fig.add_scatter(x=g[year], y=g[observed], mode="markers", name=name, legendgroup=str(key),
                        marker=dict(color=col, size=8), error_y=err, showlegend=not many,
                        hovertemplate="%{x}: %{y:" + rate_fmt + "}<extra>" + name + "</extra>")
        fig.add_scatter(x=g[year], y=g[fit], mode="lines", name=name if many else t("trends.chart.fit", lang, name=name),
                        legendgroup=str(key), line=dict(color=col, width=2.5), showlegend=True,
                        hovertemplate="%{x}: %{y:" + rate_fmt + "}<extra>" + t("trends.chart.fit", lang, name=name) + "</extra>")
        if segments is not None and len(segments) and "end" in segments:
            seg = segments if series is None or series not in segments else segments[segments[series] == key]
            jps = seg["end"].to_numpy(float)[:-1] if len(seg) > 1 else np.array([])
            if jps.size:
                yv = np.interp(jps, g[year].to_numpy(float), g[fit].to_numpy(float))
                fig.add_scatter(x=jps, y=yv, mode="markers", showlegend=False, legendgroup=str(key),
                                marker=dict(symbol="diamond-open", size=13, color=col, line=dict(width=2)),
                                hovertemplate=t("trends.chart.joinpoint", lang) + " %{x}<extra>" + name + "</extra>")
    fig.update_xaxes(title_text=t("charts.axis_year", lang), tickformat="d")
    fig.update_yaxes(title_text=y_title or t("trends.chart.axis_rate", lang), type="log" if log else "linear")
    legend = dict(orientation="h", y=-0.16, yanchor="top", x=0, xanchor="left") if many else \
        dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right")
    fig.update_layout(separators=_separators(lang), legend=legend, height=560 if many else 500)
    return fig


def apc_chart(
    segments: pd.DataFrame,
    *,
    series: str | None = None,
    lang: str = "en",
    theme: str = "light",
    title: str | None = None,
    conf: float = 0.95,
    preset=None,
) -> go.Figure:
    """APC of each segment with its CI (horizontal), zero line; significant segments filled.
    Hover values carry their sign, decimals from the preset's policy."""
    from analytics.presets import number_format

    _require(segments, ["start", "end", "apc", "lower", "upper"], "apc_chart")
    title = title if title is not None else t("trends.chart.apc_title", lang)
    seg = segments.dropna(subset=["apc"])
    if seg.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    fig = new_figure(title, theme)
    labels = []
    for i, r in enumerate(seg.itertuples(index=False)):
        d = r._asdict()
        key = d.get(series) if series else None
        who = (series_name(key, series, lang) + " ") if series else ""
        labels.append(f"{who}{int(d['start'])}–{int(d['end'])}")
    y = labels
    cols = [series_colour(k, series, i) if series else DARK_GREY
            for i, k in enumerate(seg[series] if series else [None] * len(seg))]
    sig = ((seg["lower"] > 0) | (seg["upper"] < 0)).to_numpy()
    sgn = "+" + number_format(preset).d3("apc").lstrip(",")
    fig.add_scatter(
        x=seg["apc"], y=y, mode="markers",
        marker=dict(color=[c if s else "white" for c, s in zip(cols, sig)], size=12,
                    line=dict(color=cols, width=2), symbol="circle"),
        error_x=dict(type="data", symmetric=False, array=(seg["upper"] - seg["apc"]).to_numpy(),
                     arrayminus=(seg["apc"] - seg["lower"]).to_numpy(), color=DARK_GREY, thickness=1.5),
        customdata=np.column_stack([seg["lower"], seg["upper"]]),
        # signed ("+1.2", "−0.8"): a falling trend and its limits read as negative numbers
        hovertemplate="%{y}: %{x:" + sgn + "}% (%{customdata[0]:" + sgn + "} – %{customdata[1]:" + sgn + "})<extra></extra>",
        showlegend=False,
    )
    fig.add_vline(x=0, line=dict(color=GREY, width=1.5))
    fig.update_xaxes(title_text=t("trends.chart.axis_apc", lang, level=format_number(100 * conf, lang, 0)))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(separators=_separators(lang), height=max(300, 60 + 40 * len(seg)))
    return fig


def prevalence_chart(
    table: pd.DataFrame,
    *,
    site: str = "site_ci5",
    sex: str | None = "sex",
    value: str = "count",
    duration: str | None = None,
    lang: str = "en",
    theme: str = "light",
    title: str | None = None,
    n: int | None = 15,
    multiplier: int = 100000,
) -> go.Figure:
    """Horizontal bars of N-year prevalence by site (one bar per sex), for one ``duration``
    (the longest in the table when None). ``value``: "count", "proportion" or "asr"."""
    if value not in PREVALENCE_VALUES:
        raise ValueError(f"unknown prevalence value {value!r}; choose one of "
                         f"{', '.join(map(repr, PREVALENCE_VALUES))}")
    _require(table, [site, value, "duration"], "prevalence_chart")
    title = title if title is not None else t("trends.chart.prevalence_title", lang)
    if table.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    durs = list(dict.fromkeys(table["duration"].astype(str)))
    d = duration if duration is not None else durs[-1]
    df = table[table["duration"].astype(str) == str(d)]
    order = (df.groupby(site)[value].sum().sort_values(ascending=False))
    if n:
        order = order.head(n)
    sites = order.index.tolist()
    fig = new_figure(title, theme, barmode="group")
    has_ci = value in ("proportion", "asr")
    lo, hi = ("lower", "upper") if value == "proportion" else ("asr_lower", "asr_upper")
    # Sex unknown has no population and few cases: in the table, not as a third bar.
    parts = ([(k, g) for k, g in df.groupby(sex, sort=True) if k in (1, 2)] or list(df.groupby(sex, sort=True))
             if sex and sex in df else [(0, df)])
    for key, g in parts:
        g = g.set_index(site).reindex(sites)
        err = None
        if has_ci and lo in g and hi in g:
            err = dict(type="data", symmetric=False, array=(g[hi] - g[value]).to_numpy(),
                       arrayminus=(g[value] - g[lo]).to_numpy(), color=DARK_GREY, thickness=1)
        fig.add_bar(y=[site_label(s, lang) for s in sites], x=g[value], orientation="h",
                    name=sex_label(key, lang), marker_color=sex_colour(key), error_x=err,
                    hovertemplate="%{y}: %{x:,.1f}<extra>" + sex_label(key, lang) + "</extra>")
    axis = {"count": t("trends.chart.axis_prevalent", lang),
            "proportion": t("trends.chart.axis_proportion", lang, multiplier=format_number(multiplier, lang, 0)),
            "asr": t("trends.chart.axis_proportion_asr", lang, multiplier=format_number(multiplier, lang, 0))}[value]
    fig.update_xaxes(title_text=axis)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(separators=_separators(lang), height=max(350, 80 + 22 * len(sites) * len(parts)),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    return fig


def projection_chart(
    observed: pd.DataFrame | None,
    projected: pd.DataFrame,
    *,
    year: str = "year",
    cases: str = "cases",
    method: str = "method",
    lang: str = "en",
    theme: str = "light",
    title: str | None = None,
) -> go.Figure:
    """Observed cases per year (markers) and projected cases (one line per ``method``)."""
    _require(projected, [year, cases], "projection_chart")
    title = title if title is not None else t("trends.chart.projection_title", lang)
    if projected.empty and (observed is None or observed.empty):
        return empty_figure(t("charts.no_data", lang), theme, title)
    fig = new_figure(title, theme)
    if observed is not None and len(observed):
        o = observed.sort_values(year)
        fig.add_scatter(x=o[year], y=o[cases], mode="markers+lines", name=t("trends.chart.observed_cases", lang),
                        line=dict(color="#000000", width=1.5), marker=dict(color="#000000", size=7),
                        hovertemplate="%{x}: %{y:,.0f}<extra></extra>")
    from analytics.charts.base import OKABE_ITO

    palette = [OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["bluish_green"], OKABE_ITO["orange"]]
    dashes = ["solid", "dash", "dot", "dashdot"]
    groups = projected.groupby(method, sort=False) if method in projected else [("", projected)]
    for i, (m, g) in enumerate(groups):
        g = g.sort_values(year)
        name = t(f"trends.method.{m}", lang) if m else t("trends.chart.projected", lang)
        fig.add_scatter(x=g[year], y=g[cases], mode="lines+markers", name=name,
                        line=dict(color=palette[i % 4], dash=dashes[i % 4], width=2.5), marker=dict(size=5),
                        hovertemplate="%{x}: %{y:,.0f}<extra>" + name + "</extra>")
    fig.update_xaxes(title_text=t("charts.axis_year", lang), tickformat="d")
    fig.update_yaxes(title_text=t("charts.axis_cases", lang), rangemode="tozero")
    fig.update_layout(separators=_separators(lang),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    return fig


def decomposition_chart(
    row: pd.Series | dict,
    *,
    start_label: str,
    end_label: str,
    lang: str = "en",
    theme: str = "light",
    title: str | None = None,
) -> go.Figure:
    """Waterfall from cases at the start to cases at the end through growth, ageing and risk
    (one row of :func:`analytics.projections.decompose_change`)."""
    r = dict(row)
    title = title if title is not None else t("trends.chart.decomposition_title", lang)
    need = ["cases_start", "growth", "ageing", "risk", "cases_end"]
    if any(k not in r or not np.isfinite(r[k]) for k in need):
        return empty_figure(t("charts.no_data", lang), theme, title)
    fig = new_figure(title, theme)
    x = [start_label, t("trends.decomp.growth", lang), t("trends.decomp.ageing", lang),
         t("trends.decomp.risk", lang), end_label]
    fig.add_waterfall(
        x=x, y=[r["cases_start"], r["growth"], r["ageing"], r["risk"], r["cases_end"]],
        measure=["absolute", "relative", "relative", "relative", "total"],
        text=[format_number(0.0 if abs(v) < 0.5 else v, lang, 0) for v in
              (r["cases_start"], r["growth"], r["ageing"], r["risk"], r["cases_end"])],
        textposition="outside",
        increasing=dict(marker=dict(color="#D55E00")), decreasing=dict(marker=dict(color="#0072B2")),
        totals=dict(marker=dict(color=DARK_GREY)), connector=dict(line=dict(color=GREY)),
        hovertemplate="%{x}: %{y:,.0f}<extra></extra>",
    )
    fig.update_yaxes(title_text=t("charts.axis_cases", lang), rangemode="tozero")
    fig.update_layout(separators=_separators(lang), showlegend=False)
    return fig



# Names that stay capitalised inside a sentence (eponyms), in the three catalogues.
_EPONYMS = ("Hodgkin", "Kaposi", "Hockin", "Kapoşi", "Ходжкин", "Капоши")
# English labels that already name a cancer (no " cancer" appended).
_CANCER_WORDS = re.compile(r"melanoma|lymphoma|leuk|myelo|sarcoma|mesothelioma|cancer|tumour|neoplasm|disease",
                           re.IGNORECASE)


def site_phrase(name: str, lang: str = "en") -> str:
    """A site's display name as it reads inside a sentence: first letter in lower case unless
    the name starts with an eponym; in English "cancer" added to organ names ("Breast" ->
    "breast cancer", "All sites" -> "all-sites cancer", "Hodgkin lymphoma" unchanged)."""
    name = str(name).strip()
    if not name:
        return name
    if not name.startswith(_EPONYMS) and (len(name) < 2 or not name[1].isupper()):
        name = name[0].lower() + name[1:]
    if lang == "en":
        if name.startswith("all sites"):
            rest = name[len("all sites"):].strip()
            return "all-sites cancer" + (f" ({rest.replace('but', 'except')})" if rest else "")
        if not _CANCER_WORDS.search(name):
            name += " cancer"
    return name


def who_phrase(sex, lang: str = "en", region: str | None = None) -> str:
    """Who a reading is about: "Among women", "Among men and women combined", and
    "... in <region>" when ``region`` is given (``sex``: schema code 1/2 or None for both)."""
    from analytics.i18n import sex_code

    code = sex_code(sex) if sex is not None else None
    who = t({1: "trends.who.male", 2: "trends.who.female"}.get(code, "trends.who.both"), lang)
    if region:
        template = t("trends.who.region", lang)
        if not template.startswith("{who}"):
            who = who[0].lower() + who[1:]
        who = t("trends.who.region", lang, who=who, region=region)
    return who


def apc_sentence(segment, *, who: str, site: str, lang: str = "en", conf: float = 0.95, preset=None,
                 keys: str = "trends.reading") -> str:
    """Plain-language reading of one segment ("Among women, breast cancer incidence rose by
    2.1% a year (95% CI 1.4 to 2.8) from 2010 to 2024"); a falling trend gives the decline and
    the APC with its CI, all with their signs ("fell by 2.0% a year (APC −2.0%, 95% CI −2.8 to
    −1.3)"); "did not change significantly" when the CI includes 0. ``who``: from
    :func:`who_phrase`; ``site``: from :func:`site_phrase`; ``keys``: the catalogue prefix of the
    three templates (``mortality.reading`` for mortality). Decimals: the preset's policy for
    APCs (Joinpoint prints one), one more when a significant limit would otherwise read 0."""
    from analytics.presets import fmt, number_format

    s = dict(segment)
    if not np.isfinite(s.get("apc", np.nan)):
        return ""
    apc, lo, hi = s["apc"], s.get("lower", np.nan), s.get("upper", np.nan)
    if np.isfinite(lo) and lo > 0:
        key = f"{keys}.rose"
    elif np.isfinite(hi) and hi < 0:
        key = f"{keys}.fell"
    else:
        key = f"{keys}.stable"
    nd = number_format(preset).apc
    if not key.endswith(".stable") and min(abs(lo), abs(hi)) < 0.5 * 10 ** -nd:
        nd += 1                      # never "CI 0.0 to 0.3" for a significant change
    nf = dataclasses.replace(number_format(preset), apc=nd)
    return t(key, lang, who=who, site=site, apc=fmt(apc, "apc", lang, preset=nf),
             decline=fmt(abs(apc), "apc", lang, preset=nf),
             lower=fmt(lo, "apc", lang, preset=nf), upper=fmt(hi, "apc", lang, preset=nf),
             level=format_number(100 * conf, lang, 0), start=int(s["start"]), end=int(s["end"]))

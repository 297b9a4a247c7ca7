"""Data-quality charts: indicators by site, region or year against their usual targets.

Inputs are the tidy output of :func:`analytics.quality.indicators` (by..., ``indicator``,
``label``, ``count``, ``total``, ``value``, ``unit``) or any wide table with one column per
indicator.  Targets come from :func:`analytics.quality.targets` (Bray & Parkin 2009, Eur J
Cancer 45:747-755; Parkin & Bray 2009, 45:756-764): ``good`` is the usual target,
``acceptable`` the limit beyond which a value needs explaining, ``direction`` which side is
better.  Bars are coloured by that status (Okabe-Ito green / orange / vermillion, grey when
an indicator has no target) and the target is drawn as a dashed line.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import schema
from analytics.charts.base import GREY, OKABE_ITO, TOP_LEGEND, finish, row_height, legend_line, empty_figure, finite, new_figure
from analytics.i18n import format_number, plotly_separators, site_label, t

STATUS_COLOURS = {"good": OKABE_ITO["bluish_green"], "acceptable": OKABE_ITO["orange"],
                  "poor": OKABE_ITO["vermillion"], "none": GREY}
STATUS_KEYS = {"good": "charts.quality_meets", "acceptable": "charts.quality_acceptable",
               "poor": "charts.quality_misses", "none": "charts.quality_no_target"}
# Used when analytics.quality is not importable; same values as its targets() table.
_LOWER_IS_BETTER = ("dco", "clinical", "unknown", "c80", "c76", "mi_ratio")
_SITE_COLUMNS = (schema.SITE_CI5, schema.SITE_GLOBOCAN, "site")


def indicator_targets() -> dict[str, tuple[str, float, float]]:
    """``{indicator: (direction, good, acceptable)}`` from analytics.quality.targets()."""
    from analytics.quality import targets   # not at the top: quality imports the heavier ingest modules

    tab = targets()
    return {r.indicator: (r.direction, float(r.good), float(r.acceptable)) for r in tab.itertuples()}


def direction_of(indicator: str) -> str:
    """"higher" or "lower": which side of the target is better, guessed from the name
    (DCO, clinical-only, unknown, C80, M:I are better low; MV better high)."""
    name = str(indicator).lower()
    return "lower" if any(k in name for k in _LOWER_IS_BETTER) else "higher"


def target_status(values, good: float | None, acceptable: float | None = None,
                  direction: str = "higher") -> np.ndarray:
    """Per value: "good" (meets the target), "acceptable" (between target and acceptable
    limit), "poor" (beyond the limit, or beyond the target when there is no limit),
    "none" (no target or no value)."""
    v = finite(values)
    out = np.full(v.shape, "none", dtype=object)
    if good is None or not math.isfinite(good):
        return out
    sign = 1.0 if direction == "higher" else -1.0
    meets = sign * (v - good) >= 0
    acc = (sign * (v - acceptable) >= 0) if acceptable is not None and math.isfinite(acceptable) else np.zeros_like(meets)
    out[np.isfinite(v)] = "poor"
    out[np.isfinite(v) & acc] = "acceptable"
    out[np.isfinite(v) & meets] = "good"
    return out


def indicator_label(indicator: str, lang: str = "en") -> str:
    """Translated name of an indicator (``charts.indicator_<name>``), the name itself if unknown."""
    from analytics.i18n import catalogue
    key = f"charts.indicator_{indicator}"
    return t(key, lang) if key in catalogue("en") else str(indicator)


def _target_text(direction: str, good: float, lang: str, unit: str) -> str:
    op = "\u2265" if direction == "higher" else "\u2264"
    return t("charts.quality_target", lang, target=f"{op} {format_number(good, lang, 0 if float(good).is_integer() else 1)}{unit}")


def indicator_bars(frame: pd.DataFrame, *, x: str | None = None, y: str = "value",
                   indicator: str | None = None, target: float | None = None,
                   acceptable: float | None = None, direction: str | None = None,
                   lower: str | None = None, upper: str | None = None, lang: str = "en",
                   theme: str = "light", title: str | None = None) -> go.Figure:
    """One indicator across sites, regions or years, bars coloured by target status.

    ``x`` is the category column (site, region, year; default: the first column that is
    not a value); ``y`` the value column (a wide table's indicator column, or ``value`` of
    the long table, where ``indicator`` picks the rows).  ``target``/``acceptable``/
    ``direction`` default to analytics.quality.targets() for a known indicator.  Years are
    drawn as vertical bars in time order, other categories as horizontal bars sorted by value.
    """
    df = frame
    if indicator is not None and "indicator" in df.columns:
        df = df[df["indicator"] == indicator]
    name = indicator or y
    if y not in df.columns:
        raise ValueError(f"indicator_bars: the table has no column {y!r} "
                         f"(columns: {', '.join(map(str, df.columns))})")
    if x is None:
        skip = {y, "indicator", "label", "count", "total", "unit", "lower", "upper"}
        x = next((c for c in df.columns if c not in skip), None)
        if x is None:
            raise ValueError("indicator_bars: the table has no category column (site, region or year)")
    known = indicator_targets().get(name) or indicator_targets().get(_normalise(name))
    direction = direction or (known[0] if known else direction_of(name))
    if target is None and known:
        target, acceptable = known[1], (acceptable if acceptable is not None else known[2])
    unit = "" if "ratio" in str(name) else "%"
    title = title if title is not None else indicator_label(_normalise(name), lang)
    if df.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    is_year = x == schema.YEAR or pd.api.types.is_numeric_dtype(df[x])
    v = finite(df[y])
    df = df.assign(_v=v, _status=target_status(v, target, acceptable, direction))
    if is_year:
        df = df.sort_values(x, kind="stable")
    else:
        df = df.sort_values("_v", ascending=(direction == "lower"), kind="stable", na_position="last")
    cats = [site_label(c, lang) for c in df[x]] if x in _SITE_COLUMNS else df[x].astype(str).tolist()
    df = df.assign(_cat=cats)
    fig = new_figure(title, theme, barmode="overlay")
    for status in ("good", "acceptable", "poor", "none"):
        part = df[df["_status"] == status]
        if part.empty:
            continue
        err = None
        if lower and upper and lower in part.columns and upper in part.columns:
            err = dict(type="data", symmetric=False, array=np.clip(finite(part[upper]) - part["_v"], 0, None),
                       arrayminus=np.clip(part["_v"] - finite(part[lower]), 0, None), color="#333333")
        text = [format_number(val, lang, 2 if unit == "" else 1) for val in part["_v"]]
        kw = dict(name=t(STATUS_KEYS[status], lang), marker_color=STATUS_COLOURS[status], text=text,
                  textposition="outside", cliponaxis=False,
                  hovertemplate="%{customdata}<extra>%{fullData.name}</extra>",
                  customdata=[f"{c}: {s}{unit}" for c, s in zip(part["_cat"], text)])
        if is_year:
            fig.add_bar(x=part["_cat"], y=part["_v"], error_y=err, **kw)
        else:
            # inside the end of a long bar, so a value just short of the target is not struck
            # through by the target line; short bars keep it outside ("auto")
            kw.update(textposition="auto", insidetextanchor="end")
            fig.add_bar(y=part["_cat"], x=part["_v"], orientation="h", error_x=err, **kw)
    if target is not None and math.isfinite(target):
        line = dict(color="#000000", width=2, dash="dash")
        # behind horizontal bars: seen in the gaps between them, never striking a value label
        (fig.add_hline(y=target, line=line) if is_year else fig.add_vline(x=target, line=line, layer="below"))
        legend_line(fig, _target_text(direction, target, lang, unit), line)
        if acceptable is not None and math.isfinite(acceptable):
            dotted = dict(color="#555555", width=1.5, dash="dot")
            (fig.add_hline(y=acceptable, line=dotted) if is_year
             else fig.add_vline(x=acceptable, line=dotted, layer="below"))
            legend_line(fig, t("charts.quality_acceptable_limit", lang, limit=format_number(
                acceptable, lang, 0 if float(acceptable).is_integer() else 1) + unit), dotted)
    axis_title = indicator_label(_normalise(name), lang)
    if is_year:
        fig.update_xaxes(title_text=t("charts.axis_year", lang), type="category", categoryorder="array",
                         categoryarray=df["_cat"].tolist())
        fig.update_yaxes(title_text=axis_title, rangemode="tozero")
    else:
        fig.update_yaxes(categoryorder="array", categoryarray=df["_cat"].tolist()[::-1], title_text="")
        fig.update_xaxes(title_text=axis_title, rangemode="tozero")
        fig.update_layout(height=int(max(360, 100 + row_height(fig, 24) * len(df))))
    if unit == "%":
        top = np.nanmax(np.append(df["_v"].to_numpy(), target if target is not None else 0))
        rng = [0, min(110, max(10, top * 1.15))]
        (fig.update_yaxes(range=rng) if is_year else fig.update_xaxes(range=rng))
    fig.update_layout(separators=plotly_separators(lang),
                      legend=TOP_LEGEND)
    return finish(fig)


def _normalise(name: str) -> str:
    """Map column names of wide tables ("pct_mv", "mv", "% MV") to analytics.quality names."""
    n = str(name).lower()
    for key in ("mv", "dco", "clinical", "unknown_basis", "unknown_age", "unknown_sex", "c76_c80", "c80"):
        if key in n.replace("-", "_"):
            return f"{key}_pct"
    if "mi" in n and "ratio" in n:
        return "mi_ratio"
    return str(name)


def indicator_overview(frame: pd.DataFrame, *, lang: str = "en", theme: str = "light",
                       indicators: Sequence[str] | None = None, title: str | None = None) -> go.Figure:
    """All percentage indicators of one selection (analytics.quality.indicators with
    ``by=()``) as horizontal bars with their targets marked, coloured by status."""
    for col in ("indicator", "value"):
        if col not in frame.columns:
            raise ValueError(f"indicator_overview: the table has no column {col!r}; pass the output of "
                             "analytics.quality.indicators(records, by=())")
    title = title if title is not None else t("charts.quality_overview_title", lang)
    df = frame[frame.get("unit", pd.Series("%", index=frame.index)).astype(str) != "ratio"]
    if indicators is not None:
        df = df[df["indicator"].isin(indicators)]
    if df.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    targets = indicator_targets()
    rows = []
    for ind, val in zip(df["indicator"], finite(df["value"])):
        d, good, acc = targets.get(ind, (direction_of(ind), None, None))
        rows.append((indicator_label(ind, lang), val, target_status([val], good, acc, d)[0], good, d))
    fig = new_figure(title, theme, barmode="overlay")
    labels = [r[0] for r in rows]
    for status in ("good", "acceptable", "poor", "none"):
        sel = [r for r in rows if r[2] == status]
        if sel:
            fig.add_bar(y=[r[0] for r in sel], x=[r[1] for r in sel], orientation="h",
                        name=t(STATUS_KEYS[status], lang), marker_color=STATUS_COLOURS[status],
                        text=[format_number(r[1], lang, 1) + "%" for r in sel], textposition="outside",
                        cliponaxis=False, hoverinfo="skip")
    tgt = [r for r in rows if r[3] is not None and math.isfinite(r[3])]
    if tgt:
        fig.add_scatter(y=[r[0] for r in tgt], x=[r[3] for r in tgt], mode="markers",
                        marker=dict(symbol="line-ns-open", size=26, color="#000000", line=dict(width=3, color="#000000")),
                        name=t("charts.quality_target_marker", lang),
                        text=[_target_text(r[4], r[3], lang, "%") for r in tgt],
                        hovertemplate="%{text}<extra></extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], title_text="")
    fig.update_xaxes(title_text=t("charts.axis_percent_records", lang), range=[0, 110])
    fig.update_layout(height=int(max(340, 90 + row_height(fig, 40) * len(rows))), separators=plotly_separators(lang),
                      legend=TOP_LEGEND)
    return finish(fig)


def indicator_heatmap(frame: pd.DataFrame, *, indicator: str, x: str = schema.YEAR, y: str | None = None,
                      value: str = "value", target: float | None = None, acceptable: float | None = None,
                      direction: str | None = None, lang: str = "en", theme: str = "light",
                      title: str | None = None) -> go.Figure:
    """One indicator over two dimensions (e.g. site by year, from
    ``analytics.quality.indicators(records, by=("site_ci5", "year"))``): each cell coloured by
    its target status and labelled with its value, so the weak spots of a registry stand out."""
    df = frame[frame["indicator"] == indicator] if "indicator" in frame.columns else frame
    y = y or next((c for c in (*_SITE_COLUMNS, schema.REGION_NAME, schema.REGION, schema.PARENT_NAME)
                   if c in df.columns and c != x), None)
    for col in (x, y, value):
        if col is None or col not in df.columns:
            raise ValueError(f"indicator_heatmap: the table lacks column {col!r} "
                             f"(columns: {', '.join(map(str, df.columns))})")
    known = indicator_targets().get(indicator)
    direction = direction or (known[0] if known else direction_of(indicator))
    if target is None and known:
        target, acceptable = known[1], (acceptable if acceptable is not None else known[2])
    title = title if title is not None else indicator_label(indicator, lang)
    if df.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    grid = df.pivot_table(index=y, columns=x, values=value, aggfunc="first", sort=True)
    vals = grid.to_numpy(dtype=float)
    codes = {"good": 0, "acceptable": 1, "poor": 2, "none": 3}
    status = target_status(vals.ravel(), target, acceptable, direction).reshape(vals.shape)
    z = np.vectorize(codes.get)(status).astype(float)
    z[~np.isfinite(vals)] = np.nan
    order = ["good", "acceptable", "poor", "none"]
    scale = []
    for i, s in enumerate(order):   # a stepped colour scale: one flat band per status code
        scale += [[i / 4, STATUS_COLOURS[s]], [(i + 1) / 4, STATUS_COLOURS[s]]]
    ylabels = [site_label(v, lang) if y in _SITE_COLUMNS else str(v) for v in grid.index]
    xlabels = [str(v) for v in grid.columns]
    unit = "" if "ratio" in indicator else "%"
    text = [[format_number(v, lang, 2 if unit == "" else 1) if np.isfinite(v) else "" for v in row] for row in vals]
    fig = new_figure(title, theme)
    fig.add_trace(go.Heatmap(z=z, x=xlabels, y=ylabels, text=text, texttemplate="%{text}", zmin=0, zmax=4,
                             colorscale=scale, showscale=False, xgap=2, ygap=2,
                             hovertemplate="%{y}, %{x}: %{text}" + unit + "<extra></extra>"))
    for s in order:
        if ((status == s) & np.isfinite(vals)).any():
            fig.add_scatter(x=[None], y=[None], mode="markers", marker=dict(symbol="square", size=12,
                            color=STATUS_COLOURS[s]), name=t(STATUS_KEYS[s], lang), hoverinfo="skip")
    if target is not None and math.isfinite(target):
        fig.add_scatter(x=[None], y=[None], mode="markers", marker=dict(size=0.1, color="white"),
                        name=_target_text(direction, target, lang, unit), hoverinfo="skip")
    fig.update_yaxes(autorange="reversed", title_text="", showgrid=False, type="category")
    fig.update_xaxes(title_text=t("charts.axis_year", lang) if x == schema.YEAR else "", showgrid=False,
                     type="category", side="bottom")
    fig.update_layout(height=int(max(320, 110 + row_height(fig, 26) * len(ylabels))), separators=plotly_separators(lang),
                      legend=TOP_LEGEND, plot_bgcolor="white")
    return finish(fig)

"""Survival charts: step curves with confidence bands (net, relative or observed survival by group)
and survival at a given time by site with its confidence interval.

Curves are drawn as steps (``line_shape="hv"``) as the estimators step: at every distinct observed
time, starting at 1 (100 %) at time 0; time in years of 365.241 days. A curve with more steps than
``STEP_POINTS`` (a net survival curve of the demo steps on about 3,000 days of 10 years: more steps
than the chart has pixels) keeps the last step of each of ``STEP_POINTS`` equal slices of its time
axis (:func:`thinned`): every point drawn is an estimate at its own time, and no drawn step is
more than one slice (about 3 days over 10 years) away from where it falls. The figures sent to
the browser are a third of the size (an issue-12 measurement: 693 kB for the Survival page's
four charts). Colours: sexes as on
every chart, otherwise the Okabe-Ito palette in group order.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.base import (DARK_GREY, OKABE_ITO, TOP_LEGEND, empty_figure, figure_of, finish, sex_colour,
                                   site_colour, trace)
from analytics.i18n import format_number, plotly_separators, site_label, t
from analytics.survival.base import DAYS_PER_YEAR

PALETTE = [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue",
                                  "yellow", "black")]


STEP_POINTS = 1200     # points per drawn step curve at most (see the module docstring)


def thinned(x: np.ndarray, max_points: int = STEP_POINTS) -> np.ndarray:
    """Indices of the points of a step curve (``x`` ascending) to draw: all of them when there
    are at most ``max_points``, else the first point and the last point of each of ``max_points``
    equal slices of ``[x[0], x[-1]]`` that hold any (so the curve's last point is always kept)."""
    n = x.size
    if n <= max_points:
        return np.arange(n)
    span = x[-1] - x[0]
    slot = np.minimum(((x - x[0]) / span * max_points).astype(np.int64), max_points - 1) if span > 0 \
        else np.zeros(n, np.int64)
    keep = np.r_[slot[1:] != slot[:-1], True]
    keep[0] = True
    return np.flatnonzero(keep)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def curve_colours(groups: list, group_col: str | None) -> dict:
    if group_col == "sex":
        return {g: sex_colour(g) for g in groups}
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}


def _by_group(frame: pd.DataFrame, group: str | None) -> list[tuple[Any, str, pd.DataFrame]]:
    """(group value, its colour, its rows) in order of first appearance; one entry, the whole
    frame, without ``group``."""
    groups = list(dict.fromkeys(frame[group])) if group else [None]
    colours = curve_colours(groups, group)
    return [(g, colours[g], frame[frame[group] == g] if group else frame) for g in groups]


def _legend_name(g: Any, group: str | None, labels: Mapping | None, single: str) -> str:
    """A group's legend name (``labels`` or the value itself); ``single`` when nothing is grouped."""
    return (labels or {}).get(g, str(g)) if group else single


def survival_curves_chart(curves: pd.DataFrame, *, group: str | None = None, labels: Mapping | None = None,
                          observed: pd.DataFrame | None = None, max_years: float = 10.0, lang: str = "en",
                          theme: str = "light", title: str = "", measure: str = "net") -> go.Figure:
    """Step curves of ``curves`` (columns ``group``, time in days, estimate, lower, upper) with 95 % bands;
    ``observed`` (same layout) is drawn dashed beside them. ``labels``: group value -> legend name."""
    if curves is None or curves.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    traces = []     # made with the layout at once (base.figure_of): each add_* call re-validates the figure
    for g, col, c in _by_group(curves, group):
        c = c[c["time"] <= max_years * DAYS_PER_YEAR + 1]
        x = np.concatenate([[0.0], c["time"].to_numpy(float) / DAYS_PER_YEAR])
        y = np.concatenate([[1.0], c["estimate"].to_numpy(float)]) * 100
        lo = np.concatenate([[1.0], c["lower"].to_numpy(float)]) * 100
        hi = np.concatenate([[1.0], c["upper"].to_numpy(float)]) * 100
        keep = thinned(x)
        x, y, lo, hi = x[keep], y[keep], lo[keep], hi[keep]
        name = _legend_name(g, group, labels, t(f"survival.measure.{measure}", lang))
        traces.append(trace("scatter", x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                            line=dict(width=0, shape="hv"), fillcolor=_rgba(col, 0.15), hoverinfo="skip",
                            showlegend=False, name=f"{name} CI"))
        traces.append(trace("scatter", x=x, y=y, mode="lines", line=dict(color=col, width=2.5, shape="hv"), name=name,
                            hovertemplate="%{x:.2f}: %{y:.1f}%<extra>" + name + "</extra>"))
        if observed is not None and not observed.empty:
            o = observed[observed[group] == g] if group else observed
            o = o[o["time"] <= max_years * DAYS_PER_YEAR + 1]
            ox = np.concatenate([[0.0], o["time"].to_numpy(float) / DAYS_PER_YEAR])
            oy = np.concatenate([[1.0], o["estimate"].to_numpy(float)]) * 100
            keep = thinned(ox)
            ox, oy = ox[keep], oy[keep]
            oname = f"{name}: {t('survival.measure.observed', lang)}" if group else t("survival.measure.observed", lang)
            traces.append(trace("scatter", x=ox, y=oy, mode="lines",
                                line=dict(color=col, width=1.5, dash="dash", shape="hv"),
                                name=oname, hovertemplate="%{x:.2f}: %{y:.1f}%<extra>" + oname + "</extra>"))
    top = max(100.0, float(np.nanmax(curves["upper"].to_numpy(float))) * 100 if len(curves) else 100.0)
    return finish(figure_of(traces, title, theme,
                            xaxis=dict(title_text=t("survival.axis.years", lang), range=[0, max_years], dtick=1),
                            yaxis=dict(title_text=t(f"survival.axis.{measure}", lang), range=[0, min(top, 120) + 2],
                                       ticksuffix="%"),
                            separators=plotly_separators(lang), legend=TOP_LEGEND))


def sites_at(table: pd.DataFrame, *, time: float = 5, value: str = "estimate") -> pd.DataFrame:
    """The rows of ``table`` at ``time`` years with a ``value``, highest first: the bars
    :func:`survival_by_site_chart` draws, in its order (a page's reading takes its first and last)."""
    at = table[np.isclose(table["time"].astype(float), time)].dropna(subset=[value])
    return at.sort_values(value, ascending=False, kind="stable")


def survival_by_site_chart(table: pd.DataFrame, *, site: str = "site", time: float = 5, value: str = "estimate",
                           lang: str = "en", theme: str = "light", title: str = "", measure: str = "net") -> go.Figure:
    """Horizontal bars of survival at ``time`` years by site with CI whiskers, highest first: every
    site of ``table`` (the lowest survival is what a reader looks for, so none is cut)."""
    df = sites_at(table, time=time, value=value)
    if df.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    names = [site_label(s, lang) for s in df[site]]
    lo, hi = ("lower", "upper") if value == "estimate" else (f"{value}_lower", f"{value}_upper")
    err = dict(type="data", symmetric=False, array=(df[hi] - df[value]).to_numpy() * 100,
               arrayminus=(df[value] - df[lo]).to_numpy() * 100, color=DARK_GREY, thickness=1)
    bars = trace("bar", y=names, x=df[value] * 100, orientation="h", error_x=err,
                 marker_color=[site_colour(s) for s in df[site]], name=t(f"survival.measure.{measure}", lang),
                 text=[format_number(v * 100, lang, 0) for v in df[value]], textposition="inside",
                 insidetextanchor="end", hovertemplate="%{y}: %{x:.1f}%<extra></extra>", showlegend=False)
    return finish(figure_of([bars], title, theme,
                            xaxis=dict(title_text=t("survival.axis.at_time", lang, years=format_number(time, lang, 0),
                                                    measure=t(f"survival.measure.{measure}", lang)),
                                       range=[0, 105], ticksuffix="%"),
                            yaxis=dict(autorange="reversed"),
                            separators=plotly_separators(lang), height=max(350, 90 + 24 * len(df))))


def standardised_chart(std: pd.DataFrame, *, group: str | None = None, labels: Mapping | None = None,
                       crude: pd.DataFrame | None = None, max_years: float = 10.0, lang: str = "en",
                       theme: str = "light", title: str = "", measure: str = "net", standard: str = "ICSS1"
                       ) -> go.Figure:
    """The ICSS age-standardised curve (``std``: columns ``group``, time in years on a grid, estimate,
    lower, upper) as lines with CI bands, from 100 % at 0; ``crude`` (the step curves, time in days)
    drawn dotted beside each for comparison."""
    if std is None or std.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    traces = []
    std_word = t("survival.std.legend", lang, standard=standard.replace("ICSS", "ICSS "))
    for g, col, c in _by_group(std, group):
        c = c[c["time"] <= max_years + 1e-9].sort_values("time")
        x = np.concatenate([[0.0], c["time"].to_numpy(float)])
        y, lo, hi = (np.concatenate([[1.0], c[k].to_numpy(float)]) * 100 for k in ("estimate", "lower", "upper"))
        base = _legend_name(g, group, labels, t(f"survival.measure.{measure}", lang))
        name = f"{base}: {std_word}"
        traces.append(trace("scatter", x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                            fill="toself", line=dict(width=0), fillcolor=_rgba(col, 0.15), hoverinfo="skip",
                            showlegend=False, name=f"{name} CI"))
        traces.append(trace("scatter", x=x, y=y, mode="lines", line=dict(color=col, width=2.5), name=name,
                            customdata=np.stack([lo, hi], axis=1),
                            hovertemplate="%{x:.2f}: %{y:.1f}% (%{customdata[0]:.1f}\u2013%{customdata[1]:.1f})<extra>"
                            + name + "</extra>"))
        if crude is not None and not crude.empty:
            o = crude[crude[group] == g] if group else crude
            o = o[o["time"] <= max_years * DAYS_PER_YEAR + 1]
            ox = np.concatenate([[0.0], o["time"].to_numpy(float) / DAYS_PER_YEAR])
            oy = np.concatenate([[1.0], o["estimate"].to_numpy(float)]) * 100
            keep = thinned(ox)
            ox, oy = ox[keep], oy[keep]
            oname = f"{base}: {t('survival.std.crude', lang)}"
            traces.append(trace("scatter", x=ox, y=oy, mode="lines",
                                line=dict(color=col, width=1.5, dash="dot", shape="hv"),
                                name=oname, hovertemplate="%{x:.2f}: %{y:.1f}%<extra>" + oname + "</extra>"))
    top = float(np.nanmax(std["upper"].to_numpy(float))) * 100
    return finish(figure_of(traces, title, theme,
                            xaxis=dict(title_text=t("survival.axis.years", lang), range=[0, max_years], dtick=1),
                            yaxis=dict(title_text=t(f"survival.axis.{measure}", lang),
                                       range=[0, min(max(top, 100.0), 120) + 2], ticksuffix="%"),
                            separators=plotly_separators(lang), legend=TOP_LEGEND))


def actuarial_chart(table: pd.DataFrame, *, group: str | None = None, labels: Mapping | None = None,
                    lang: str = "en", theme: str = "light", title: str = "") -> go.Figure:
    """Observed survival by the actuarial method (``table`` from :func:`analytics.survival.actuarial`:
    ``group``, start, end, estimate, lower, upper): the cumulative survival at the end of each
    interval, joined from 100 % at 0, with CI whiskers."""
    if table is None or table.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    traces = []
    for g, col, c in _by_group(table, group):
        c = c.sort_values("end")
        x = np.concatenate([[0.0], c["end"].to_numpy(float)])
        y = np.concatenate([[1.0], c["estimate"].to_numpy(float)]) * 100
        up = np.concatenate([[0.0], (c["upper"] - c["estimate"]).to_numpy(float)]) * 100
        down = np.concatenate([[0.0], (c["estimate"] - c["lower"]).to_numpy(float)]) * 100
        name = _legend_name(g, group, labels, t("survival.measure.observed", lang))
        traces.append(trace("scatter", x=x, y=y, mode="lines+markers", line=dict(color=col, width=2), name=name,
                            error_y=dict(type="data", symmetric=False, array=up, arrayminus=down, color=col,
                                         thickness=1),
                            hovertemplate="%{x:.0f}: %{y:.1f}%<extra>" + name + "</extra>"))
    return finish(figure_of(traces, title, theme,
                            xaxis=dict(title_text=t("survival.axis.years", lang),
                                       range=[0, float(table["end"].max()) + 0.2], dtick=1),
                            yaxis=dict(title_text=t("survival.axis.observed", lang), range=[0, 102], ticksuffix="%"),
                            separators=plotly_separators(lang), legend=TOP_LEGEND))

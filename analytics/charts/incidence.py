"""Incidence charts: one pure builder per chart kind, frame in, plotly Figure out.

Inputs are the tidy outputs of :mod:`analytics.rates` (``value``, ``lower``, ``upper``,
``count``, optional ``flag`` / ``suppressed``) and of the readers (population).  Every
builder takes ``lang`` and returns a figure whose title, axes, legend and site names are
translated; the page shows it and :mod:`analytics.export` writes the same figure to files.

The layouts follow the IARC conventions of CI5 and Rcan (Ferlay et al., CI5 Vol. XI;
Rcan ``csu_bar_top``, ``csu_ageSpecific``): men on the left and women on the right, sites
ranked by rate, age-specific curves by 5-year age group on an optional log scale.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import schema
from analytics.charts.base import (
    TOP_LEGEND, GREY, legend_entry, tick_decimals, trace, without_other_sex, row_height, OKABE_ITO, UNRELIABLE_PATTERN, add_note, empty_figure, finite, marks_note,
    figure_of, finish, new_figure, vline, resolve_k, sex_colour, site_colour, suppressed_mask, unreliable_mask,
    value_text,
)
from analytics.i18n import format_number, plotly_separators, sex_code, sex_label, site_label, standard_label, t

SITE_COLUMNS = (schema.SITE_CI5, schema.SITE_GLOBOCAN, "site")
REGION_COLUMNS = (schema.REGION_NAME, schema.PARENT_NAME, schema.REGION, schema.PARENT, "region")
# Residual groups left out of "top sites" rankings, as CI5 and GLOBOCAN do.
NOT_RANKED = ("Other", "Other and unspecified", "All sites", "All sites but C44")


def _pick(frame: pd.DataFrame, wanted: str | None, candidates: Sequence[str], what: str) -> str:
    if wanted is not None:
        if wanted not in frame.columns:
            raise ValueError(f"the table has no column {wanted!r} for the {what} "
                             f"(columns: {', '.join(map(str, frame.columns))})")
        return wanted
    for c in candidates:
        if c in frame.columns:
            return c
    raise ValueError(f"the table has no {what} column: expected one of {', '.join(candidates)} "
                     f"(columns: {', '.join(map(str, frame.columns))})")


def _require(frame: pd.DataFrame, columns: Sequence[str], chart: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{chart}: the table lacks column(s) {', '.join(missing)} "
                         f"(columns: {', '.join(map(str, frame.columns))})")


def rate_axis_title(lang: str, standard: str | None = None, multiplier: int = 100000,
                    crude: bool = False) -> str:
    """"Age-standardised rate (world standard) per 100,000" / "Rate per 100,000"."""
    per = format_number(multiplier, lang, 0)
    if crude:
        return t("charts.axis_crude_rate", lang, multiplier=per)
    if standard:
        return t("charts.axis_asr_standard", lang, standard=standard_label(standard, lang), multiplier=per)
    return t("charts.axis_asr", lang, multiplier=per)


def _age_order(labels: Sequence[str]) -> list[str]:
    def start(lab: str) -> float:
        m = re.match(r"\s*(\d+)", str(lab))
        return float(m.group(1)) if m else math.inf
    return sorted(dict.fromkeys(map(str, labels)), key=start)


def _nice_step(span: float, ticks: int = 4) -> float:
    if not span or not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / ticks
    if not raw > 0:            # a subnormal span (5e-324) divides to zero: no finer step to find
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _ci_arrays(frame: pd.DataFrame, value: str, lower: str, upper: str):
    v = finite(frame[value])
    lo = finite(frame[lower]) if lower in frame.columns else np.full(len(frame), np.nan)
    hi = finite(frame[upper]) if upper in frame.columns else np.full(len(frame), np.nan)
    plus = np.where(np.isfinite(hi - v), hi - v, 0.0)
    minus = np.where(np.isfinite(v - lo), v - lo, 0.0)
    return v, np.clip(plus, 0, None), np.clip(minus, 0, None)


def _suppressed_text(frame: pd.DataFrame, k: int | None) -> list[str]:
    # Grouped bars carry no value labels (they would sit on the CI whiskers); only the
    # "<k" of a withheld value is written, since its bar is empty.
    mark = f"<{k}" if k is not None else "<k"
    return [mark if s else "" for s in suppressed_mask(frame)]


def _hover_ci(lang: str, conf: float = 0.95) -> str:
    # Built here, not in the catalogue: plotly's %{...} would clash with str.format braces.
    from analytics.presets import number_format

    ci = t("charts.ci_short", lang, level=format_number(conf * 100, lang, 0))
    d = number_format().d3("rate").lstrip(",")         # the decimals of every printed rate
    return "%{customdata[0]:" + d + "} (" + ci + " %{customdata[1]:" + d + "}\u2013%{customdata[2]:" + d + "})"


# --- two-sided bar of the top sites -------------------------------------------------------
def top_sites_bar(frame: pd.DataFrame, *, lang: str = "en", n: int = 10, site: str | None = None,
                  sex: str = schema.SEX, value: str = "value", lower: str = "lower",
                  upper: str = "upper", standard: str | None = None, multiplier: int = 100000,
                  k: int | None = None, min_count: int | None = None, conf: float = 0.95, theme: str = "light",
                  title: str | None = None) -> go.Figure:
    """Top-``n`` sites by rate, men to the left and women to the right (CI5 / Rcan
    ``csu_bar_top`` layout), with confidence intervals as error bars.

    Sites are ranked by the sum of the two sexes' rates, so sex-specific sites (prostate,
    cervix) compete with their single value; residual groups ("Other", "All sites") are not
    ranked.  Suppressed rates show "<k" at zero; unreliable ones are hatched and starred.
    """
    k = resolve_k(frame, k)
    site = _pick(frame, site, SITE_COLUMNS, "site")
    _require(frame, [sex, value], "top_sites_bar")
    title = title if title is not None else t("charts.top_sites_title", lang, n=n)
    df = without_other_sex(frame, site=site, sex=sex)
    df = df.assign(_sex=df[sex].map(sex_code))
    df = df[df["_sex"].isin([1, 2]) & ~df[site].isin(NOT_RANKED)]
    if df.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    score = df.assign(_v=finite(df[value])).groupby(site, sort=False)["_v"].sum(min_count=0)
    top = score.fillna(0).sort_values(ascending=False, kind="stable").head(n).index.tolist()
    df = df[df[site].isin(top)]
    order = [site_label(s, lang) for s in top]
    vmax = 0.0
    traces = []     # added at once, and one layout update: each add_* / update_* call runs plotly's machinery
    for code, direction in ((1, -1.0), (2, 1.0)):
        part = df[df["_sex"] == code].set_index(site).reindex(top).reset_index()
        part = part[part["_sex"].notna()] if "_sex" in part else part
        if part.empty:
            continue
        v, plus, minus = _ci_arrays(part, value, lower, upper)
        vmax = max(vmax, np.nanmax(np.append(v + plus, 0)))
        unrel = unreliable_mask(part, min_count=min_count).to_numpy()
        sup = suppressed_mask(part).to_numpy()
        x = np.where(sup | ~np.isfinite(v), 0.0, v) * direction
        err = dict(type="data", symmetric=False, thickness=1.5, width=4, color="#333333",
                   array=plus if direction > 0 else minus,
                   arrayminus=minus if direction > 0 else plus)
        lo = finite(part[lower]) if lower in part.columns else np.full(len(part), np.nan)
        hi = finite(part[upper]) if upper in part.columns else np.full(len(part), np.nan)
        traces.append(trace("bar",
            y=[site_label(s, lang) for s in part[site]], x=x, orientation="h",
            name=sex_label(code, lang), marker_color=sex_colour(code),
            marker_pattern_shape=[UNRELIABLE_PATTERN if u else "" for u in unrel],
            error_x=err, customdata=np.column_stack([np.abs(v), lo, hi]),
            hovertemplate="%{y}<br>" + _hover_ci(lang, conf) + "<extra>%{fullData.name}</extra>",
        ))
        # Values written beyond the end of the CI, where they cannot collide with it.
        reach = np.fmax(np.nan_to_num(v), np.nan_to_num(hi)) * direction
        traces.append(trace("scatter",
            y=[site_label(s, lang) for s in part[site]], x=np.where(sup, 0.0, reach), mode="text",
            # an en space between the whisker's cap and the number, so the cap never strikes it
            text=[(f"{s}\u2002" if direction < 0 else f"\u2002{s}") if s else s
                  for s in value_text(part, value, lang=lang, k=k, min_count=min_count).tolist()],
            textposition="middle left" if direction < 0 else "middle right", cliponaxis=False,
            showlegend=False, hoverinfo="skip"))
    step = _nice_step(vmax)
    top_tick = step * math.ceil(vmax / step) if vmax > 0 else step
    ticks = np.arange(-top_tick, top_tick + step / 2, step)
    heading = dict(y=1.0, xref="paper", yref="paper", yanchor="bottom", showarrow=False)
    fig = figure_of(
        traces, title, theme, barmode="overlay", bargap=0.25,
        xaxis=dict(tickvals=ticks.tolist(), ticktext=[format_number(abs(x), lang, tick_decimals(step)) for x in ticks],
                   range=[-top_tick * 1.25, top_tick * 1.25], zeroline=True,
                   title_text=rate_axis_title(lang, standard, multiplier)),
        yaxis=dict(categoryorder="array", categoryarray=order[::-1], title_text=""),
        annotations=[dict(heading, text=f"<b>{sex_label(1, lang)}</b>", x=0.02, xanchor="left"),
                     dict(heading, text=f"<b>{sex_label(2, lang)}</b>", x=0.98, xanchor="right")],
        # one row per site tall enough for its label at the theme's type size (else plotly
        # drops every other site name on the axis)
        showlegend=False, height=int(max(380, 160 + row_height(theme, 38) * len(top))))
    return finish(add_note(fig, marks_note(df, lang=lang, k=k, min_count=min_count)))


# --- cases by site -------------------------------------------------------------------------
def cases_by_site(frame: pd.DataFrame, *, lang: str = "en", kind: str = "treemap",
                  site: str | None = None, count: str = "count", theme: str = "light",
                  title: str | None = None) -> go.Figure:
    """Distribution of cases by site group as a treemap (default) or pie, one colour per site.

    Counts are summed over any other columns (sex, year, region).  Suppressed or missing
    counts cannot be drawn as areas and are left out (the table twin shows them).
    """
    if kind not in ("treemap", "pie"):
        raise ValueError(f"cases_by_site: kind must be 'treemap' or 'pie', not {kind!r}")
    site = _pick(frame, site, SITE_COLUMNS, "site")
    _require(frame, [count], "cases_by_site")
    title = title if title is not None else t("charts.cases_by_site_title", lang)
    keep = frame[~suppressed_mask(frame)] if len(frame) else frame
    agg = (keep.assign(_n=finite(keep[count])).groupby(site, sort=False)["_n"].sum()
           .loc[lambda s: s > 0].sort_values(ascending=False, kind="stable"))
    if agg.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    labels = [site_label(s, lang) for s in agg.index]
    colours = [site_colour(s) for s in agg.index]
    fig = new_figure(title, theme)
    hover = "%{label}<br>" + t("charts.cases", lang) + ": %{value:,}<extra></extra>"
    if kind == "treemap":
        fig.add_trace(go.Treemap(
            labels=labels, parents=[""] * len(labels), values=agg.to_numpy(), ids=list(map(str, agg.index)),
            marker=dict(colors=colours), texttemplate="%{label}<br>%{value:,} (%{percentRoot:.1%})",
            hovertemplate=hover, sort=True, branchvalues="total"))
        fig.update_layout(margin=dict(l=5, r=5))
    else:
        fig.add_trace(go.Pie(labels=labels, values=agg.to_numpy(), marker=dict(colors=colours),
                             sort=True, direction="clockwise", textinfo="label+percent",
                             textposition="inside", hovertemplate=hover, hole=0.0))
        fig.update_layout(showlegend=True)
    fig.update_layout(separators=_separators(lang))
    return finish(fig)


def _separators(lang: str) -> str:
    return plotly_separators(lang)


# --- population pyramid --------------------------------------------------------------------
def population_pyramid(population: pd.DataFrame, *, lang: str = "en", percent: bool = False,
                       age: str = schema.AGE_GROUP, sex: str = schema.SEX,
                       value: str = schema.POPULATION, theme: str = "light",
                       title: str | None = None) -> go.Figure:
    """Population by 5-year age group, men left and women right (summed over years and
    regions present in the frame; ``percent`` shows each bar as % of the total population)."""
    _require(population, [age, sex, value], "population_pyramid")
    title = title if title is not None else t("charts.pyramid_title", lang)
    df = population.assign(_sex=population[sex].map(sex_code), _v=finite(population[value]))
    df = df[df["_sex"].isin([1, 2])]
    if df.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    agg = df.groupby([age, "_sex"], sort=False)["_v"].sum().unstack("_sex").reindex(columns=[1, 2])
    agg = agg.reindex(_age_order(agg.index.astype(str)))
    total = np.nansum(agg.to_numpy())
    if percent and total > 0:
        agg = agg / total * 100
    traces = [trace("bar", y=agg.index.astype(str).tolist(), x=np.nan_to_num(vals) * direction, orientation="h",
                    name=sex_label(code, lang), marker_color=sex_colour(code), customdata=vals,
                    hovertemplate="%{y}: %{customdata:,.1f}" + ("%" if percent else "") + "<extra>%{fullData.name}</extra>")
              for code, direction in ((1, -1.0), (2, 1.0))
              for vals in (agg[code].to_numpy(dtype=float),)]
    vmax = float(np.nanmax(agg.to_numpy())) if agg.size else 1.0
    step = _nice_step(vmax, 3)
    top_tick = step * math.ceil(vmax / step)
    ticks = np.arange(-top_tick, top_tick + step / 2, step)
    dec = tick_decimals(step)
    fig = figure_of(
        traces, title, theme, barmode="relative", bargap=0.05,
        xaxis=dict(tickvals=ticks.tolist(),
                   ticktext=[format_number(abs(x), lang, dec) + ("%" if percent else "") for x in ticks],
                   title_text=t("charts.axis_population_pct" if percent else "charts.axis_population", lang)),
        yaxis=dict(title_text=t("charts.axis_age_group", lang), categoryorder="array",
                   categoryarray=agg.index.astype(str).tolist()),
        legend=TOP_LEGEND, separators=_separators(lang),
        height=int(max(450, 170 + row_height(theme, 0) * len(agg.index))))
    return finish(fig)


# --- cases per year ------------------------------------------------------------------------
def cases_per_year(frame: pd.DataFrame, *, lang: str = "en", year: str = schema.YEAR,
                   count: str = "count", sex: str | None = schema.SEX, theme: str = "light",
                   title: str | None = None) -> go.Figure:
    """New cases per year, stacked by sex when the frame has a sex column."""
    _require(frame, [year, count], "cases_per_year")
    title = title if title is not None else t("charts.cases_per_year_title", lang)
    if frame.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    df = frame.assign(_n=finite(frame[count]), _y=pd.to_numeric(frame[year], errors="coerce"))
    hover = "%{x}: %{y:,}<extra>%{fullData.name}</extra>"
    traces = []
    if sex is not None and sex in df.columns:
        df = df.assign(_sex=df[sex].map(sex_code))
        for code in (1, 2, 9):
            part = df[df["_sex"] == code].groupby("_y")["_n"].sum(min_count=1)
            if part.empty:
                continue
            traces.append(trace("bar", x=part.index.astype(int).tolist(), y=part.to_numpy(), name=sex_label(code, lang),
                                 marker_color=sex_colour(code), hovertemplate=hover))
    else:
        part = df.groupby("_y")["_n"].sum(min_count=1)
        traces.append(trace("bar", x=part.index.astype(int).tolist(), y=part.to_numpy(),
                             name=t("charts.cases", lang), marker_color=sex_colour(0), hovertemplate=hover))
    fig = figure_of(traces, title, theme, barmode="stack",
                    xaxis=dict(title_text=t("charts.axis_year", lang), dtick=1, tickformat="d"),
                    yaxis=dict(title_text=t("charts.axis_cases", lang), tickformat=",d"),
                    legend=dict(TOP_LEGEND, traceorder="normal"), separators=_separators(lang))
    return finish(fig)


# --- ASR by site, both sexes side by side ----------------------------------------------------
def asr_by_site(frame: pd.DataFrame, *, lang: str = "en", site: str | None = None,
                sex: str | None = schema.SEX, value: str = "value", lower: str = "lower",
                upper: str = "upper", n: int | None = None, standard: str | None = None,
                multiplier: int = 100000, k: int | None = None, min_count: int | None = None,
                conf: float = 0.95, theme: str = "light", title: str | None = None) -> go.Figure:
    """Rate by site with confidence intervals, men and women as neighbouring bars.

    Sites are sorted by the larger of the two sexes' rates (highest at the top); without a
    sex column the bars take the site colours.
    """
    k = resolve_k(frame, k)
    site = _pick(frame, site, SITE_COLUMNS, "site")
    _require(frame, [value], "asr_by_site")
    title = title if title is not None else t("charts.asr_by_site_title", lang)
    if frame.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    has_sex = sex is not None and sex in frame.columns
    frame = without_other_sex(frame, site=site, sex=sex) if has_sex else frame
    df = frame.assign(_sex=frame[sex].map(sex_code) if has_sex else 0, _v=finite(frame[value]))
    order = (df.groupby(site, sort=False)["_v"].max().fillna(-1)
             .sort_values(ascending=False, kind="stable").index.tolist())
    if n is not None:
        order = order[:n]
        df = df[df[site].isin(order)]
    labels = [site_label(s, lang) for s in order]
    codes = [c for c in (1, 2, 0, 9) if (df["_sex"] == c).any()]
    # Horizontal groups stack the first trace at the bottom: add in reverse so men are on top.
    traces = []
    for code in codes[::-1]:
        part = df[df["_sex"] == code]
        v, plus, minus = _ci_arrays(part, value, lower, upper)
        sup = suppressed_mask(part).to_numpy()
        unrel = unreliable_mask(part, min_count=min_count).to_numpy()
        lo = finite(part[lower]) if lower in part.columns else np.full(len(part), np.nan)
        hi = finite(part[upper]) if upper in part.columns else np.full(len(part), np.nan)
        colour = sex_colour(code) if has_sex else [site_colour(s) for s in part[site]]
        traces.append(trace("bar",
            y=[site_label(s, lang) for s in part[site]], x=np.where(sup, 0.0, np.nan_to_num(v)),
            orientation="h", name=sex_label(code, lang), marker_color=colour,
            marker_pattern_shape=[UNRELIABLE_PATTERN if u else "" for u in unrel],
            error_x=dict(type="data", symmetric=False, array=plus, arrayminus=minus,
                         thickness=1.5, width=3, color="#333333"),
            text=_suppressed_text(part, k), textposition="outside", cliponaxis=False,
            customdata=np.column_stack([v, lo, hi]),
            hovertemplate="%{y}<br>" + _hover_ci(lang, conf) + "<extra>%{fullData.name}</extra>",
        ))
    per_site = max(22 * max(1, len(codes)), row_height(theme, 22))
    fig = figure_of(traces, title, theme, barmode="group", bargap=0.2, bargroupgap=0.05,
                    yaxis=dict(categoryorder="array", categoryarray=labels[::-1], title_text=""),
                    xaxis=dict(title_text=rate_axis_title(lang, standard, multiplier), rangemode="tozero"),
                    height=int(max(380, 90 + per_site * len(order))), showlegend=has_sex,
                    legend=dict(TOP_LEGEND, traceorder="reversed"),
                    separators=_separators(lang))
    return finish(add_note(fig, marks_note(df, lang=lang, k=k, min_count=min_count)))


# --- age-specific rates ----------------------------------------------------------------------
def age_specific_curves(frame: pd.DataFrame, *, lang: str = "en", site: str | None = None,
                        age: str = schema.AGE_GROUP, sex: str | None = schema.SEX,
                        value: str = "value", lower: str = "lower", upper: str = "upper",
                        log: bool = False, ci: bool = True, multiplier: int = 100000,
                        conf: float = 0.95, theme: str = "light", title: str | None = None) -> go.Figure:
    """Age-specific rates by 5-year age group, one line per site (site colours), one panel
    per sex.  ``log=True`` uses a log rate axis, where zero rates cannot be drawn and are left
    as gaps (as in Rcan ``csu_ageSpecific(log_scale=TRUE)``)."""
    _require(frame, [age, value], "age_specific_curves")
    title = title if title is not None else t("charts.age_specific_title", lang)
    if frame.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    site_col = next((c for c in ([site] if site else SITE_COLUMNS) if c in frame.columns), None)
    if site is not None and site_col is None:
        raise ValueError(f"age_specific_curves: the table has no column {site!r}")
    has_sex = sex is not None and sex in frame.columns
    if has_sex and site_col is not None:
        frame = without_other_sex(frame, site=site_col, sex=sex)
    sexes = frame[sex].map(sex_code).to_numpy() if has_sex else np.zeros(len(frame), dtype=int)
    age_text = frame[age].astype(str)
    ages = _age_order(age_text)
    panels = [c for c in (1, 2, 0, 9) if (sexes == c).any()]
    site_of = frame[site_col].to_numpy(dtype=object) if site_col else np.full(len(frame), None, dtype=object)
    sites = [s for s in dict.fromkeys(site_of) if not pd.isna(s)] if site_col else [None]   # no curve for a missing site
    # every row's place on the age axis, and its values, read once (not per curve)
    at = pd.Index(ages).get_indexer(age_text)
    values = {c: finite(frame[c]) if c in frame.columns else np.full(len(frame), np.nan) for c in (value, lower, upper)}
    in_legend: set[str] = set()
    traces = []
    for col, code in enumerate(panels, start=1):
        in_panel = sexes == code
        for s in sites:
            rows = np.flatnonzero(in_panel & (site_of == s)) if site_col else np.flatnonzero(in_panel)
            if not len(rows):                    # e.g. prostate in the women's panel: no curve at all
                continue
            v, lo, hi = (_on_axis(values[c], rows, at, len(ages)) for c in (value, lower, upper))
            if log:
                v = np.where(v > 0, v, np.nan)
            name = site_label(s, lang) if s is not None else sex_label(code, lang)
            colour = site_colour(s) if s is not None else sex_colour(code)
            first = name not in in_legend
            in_legend.add(name)
            err = None
            if ci and np.isfinite(hi).any():      # no upper column: hi is all NaN
                err = dict(type="data", symmetric=False, array=np.clip(np.nan_to_num(hi - v), 0, None),
                           arrayminus=np.clip(np.nan_to_num(v - lo), 0, None), thickness=1, width=2,
                           color=colour)
            traces.append(trace("scatter",
                x=ages, y=v, mode="lines+markers", name=name, legendgroup=name, showlegend=first,
                line=dict(color=colour), marker=dict(color=colour), error_y=err,
                customdata=np.column_stack([v, lo, hi]),
                hovertemplate="%{x}<br>" + _hover_ci(lang, conf) + f"<extra>{name}</extra>",
                xaxis=_axis_id("x", col), yaxis=_axis_id("y", col)))
    per = format_number(multiplier, lang, 0)
    layout = _panels_layout(len(panels), [sex_label(c, lang) for c in panels] if has_sex else None,
                            x=dict(title=dict(text=t("charts.axis_age_group", lang)), categoryorder="array",
                                   categoryarray=ages, tickangle=-45),
                            y=dict(type="log") if log else {},
                            y1=dict(title=dict(text=t("charts.axis_age_specific_rate", lang, multiplier=per))))
    return finish(figure_of(traces, title, theme, title_at={"xref": "paper", "x": 0}, separators=_separators(lang),
                            height=480, **layout))


PANEL_SPACING = 0.04   # between side-by-side panels, as a share of the width


def _axis_id(letter: str, col: int) -> str:
    return letter if col == 1 else f"{letter}{col}"


def _on_axis(values: np.ndarray, rows: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    """``values[rows]`` placed at their positions ``at[rows]`` on an axis of ``n`` categories
    (NaN where a curve has no row)."""
    out = np.full(n, np.nan)
    out[at[rows]] = values[rows]
    return out


def _panels_layout(n: int, titles: list[str] | None, *, x: dict, y: dict, y1: dict) -> dict:
    """The layout of ``n`` panels side by side sharing their y axis: what plotly's
    ``make_subplots(rows=1, cols=n, shared_yaxes=True, horizontal_spacing=PANEL_SPACING,
    subplot_titles=titles)`` lays out (axis domains, anchors, titles as annotations), written
    at once instead of by plotly's grid machinery (a quarter of the chart's build time). ``x``
    and ``y`` go into every x and y axis, ``y1`` into the first y axis only."""
    width = (1 - PANEL_SPACING * (n - 1)) / n
    out: dict = {}
    notes = []
    for col in range(1, n + 1):
        lo = (col - 1) * (width + PANEL_SPACING)
        domain = [lo, lo + width] if col < n else [lo, 1.0]
        xid, yid = _axis_id("x", col), _axis_id("y", col)
        out[xid.replace("x", "xaxis")] = dict(anchor=yid, domain=domain, **x)
        shared = dict(matches="y", showticklabels=False) if col > 1 else y1
        out[yid.replace("y", "yaxis")] = dict(anchor=xid, domain=[0.0, 1.0], **shared, **y)
        if titles is not None:
            notes.append(dict(font=dict(size=16), showarrow=False, text=titles[col - 1], x=(domain[0] + domain[1]) / 2,
                              xanchor="center", xref="paper", y=1.0, yanchor="bottom", yref="paper"))
    if notes:
        out["annotations"] = notes
    return out


# --- regions compared --------------------------------------------------------------------------
def regions_compared(frame: pd.DataFrame, *, national: float | None = None, lang: str = "en",
                     region: str | None = None, value: str = "value", lower: str = "lower",
                     upper: str = "upper", standard: str | None = None, multiplier: int = 100000,
                     k: int | None = None, min_count: int | None = None, conf: float = 0.95, theme: str = "light",
                     title: str | None = None) -> go.Figure:
    """Regions sorted by rate, with CIs, a reference line at the national value, and the
    regions whose confidence interval excludes the national value marked as significantly
    higher (vermillion) or lower (blue); the others grey.

    The comparison is the CI-overlap-with-a-point rule used by Fingertips/PHE for
    "better/worse than England" at 95 %: significant when ``lower > national`` or
    ``upper < national``.
    """
    k = resolve_k(frame, k)
    region = _pick(frame, region, REGION_COLUMNS, "region")
    _require(frame, [value], "regions_compared")
    title = title if title is not None else t("charts.regions_title", lang)
    if frame.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    df = frame.assign(_v=finite(frame[value]))
    df = df.sort_values("_v", ascending=False, kind="stable", na_position="last")
    lo = finite(df[lower]) if lower in df.columns else np.full(len(df), np.nan)
    hi = finite(df[upper]) if upper in df.columns else np.full(len(df), np.nan)
    sup = suppressed_mask(df).to_numpy()
    if national is not None and math.isfinite(national):
        status = np.where(sup, "na", np.where(lo > national, "higher", np.where(hi < national, "lower", "same")))
    else:
        status = np.full(len(df), "same")
    df = df.assign(_status=status)
    names = df[region].astype(str).tolist()
    styles = {"higher": (OKABE_ITO["vermillion"], "charts.region_higher"),
              "lower": (OKABE_ITO["blue"], "charts.region_lower"),
              "same": (GREY, "charts.region_similar"),
              "na": ("#E5E5E5", "charts.region_not_shown")}
    traces = []
    for key, (colour, label_key) in styles.items():
        part = df[df["_status"] == key]
        if part.empty:
            continue
        v, plus, minus = _ci_arrays(part, value, lower, upper)
        unrel = unreliable_mask(part, min_count=min_count).to_numpy()
        plo = finite(part[lower]) if lower in part.columns else np.full(len(part), np.nan)
        phi = finite(part[upper]) if upper in part.columns else np.full(len(part), np.nan)
        traces.append(trace("bar",
            y=part[region].astype(str).tolist(), x=np.nan_to_num(v), orientation="h",
            name=t(label_key, lang), marker_color=colour,
            marker_pattern_shape=[UNRELIABLE_PATTERN if u else "" for u in unrel],
            error_x=dict(type="data", symmetric=False, array=plus, arrayminus=minus, thickness=1.5,
                         width=3, color="#333333"),
            text=_suppressed_text(part, k), textposition="outside", cliponaxis=False,
            customdata=np.column_stack([v, plo, phi]),
            hovertemplate="%{y}<br>" + _hover_ci(lang, conf) + "<extra>%{fullData.name}</extra>"))
    shapes = []
    if national is not None and math.isfinite(national):
        line = dict(color="#000000", width=2, dash="dash")
        shapes.append(vline(national, line))
        traces.append(legend_entry(t("charts.national_value", lang, value=format_number(national, lang, 1)), line))
    fig = figure_of(traces, title, theme, barmode="overlay", **({"shapes": shapes} if shapes else {}),
                    yaxis=dict(categoryorder="array", categoryarray=names[::-1], title_text=""),
                    xaxis=dict(title_text=rate_axis_title(lang, standard, multiplier), rangemode="tozero"),
                    height=int(max(380, 100 + row_height(theme, 24) * len(names))), separators=_separators(lang),
                    legend=TOP_LEGEND)
    return finish(add_note(fig, marks_note(df, lang=lang, k=k, min_count=min_count)))


def region_status(frame: pd.DataFrame, national: float, *, lower: str = "lower",
                  upper: str = "upper") -> pd.Series:
    """"higher" / "lower" / "same" per row: whether the CI excludes the national value
    (the rule :func:`regions_compared` colours by; for tables and tests)."""
    lo, hi = finite(frame[lower]), finite(frame[upper])
    return pd.Series(np.where(lo > national, "higher", np.where(hi < national, "lower", "same")),
                     index=frame.index, dtype="str")

"""Mortality charts and readings: incidence and mortality side by side, the M:I ratio.

* :func:`incidence_mortality_bars`: the two-sided bars of IARC's Global Cancer Observatory
  ("Estimated age-standardized incidence and mortality rates"): for one sex, incidence to the
  left and mortality to the right of a shared axis, the sites ranked by incidence;
* :func:`mi_bars` (M:I by site or region, with the line M:I = 1) and :func:`mi_trend` (by year);
* :func:`as_mortality`: a count chart of :mod:`analytics.charts.incidence` relabelled for deaths;
* plain-language readings in the user's language (``mortality.*`` catalogue).

Inputs are the tidy outputs of :func:`analytics.rates.dsr` (``value``, ``lower``, ``upper``,
``count``, optional ``flag`` / ``suppressed``) and of :func:`analytics.mortality.mi_ratio`
(``deaths``, ``cases``, ``mi_ratio``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import schema
from analytics.charts.base import (OKABE_ITO, TOP_LEGEND, UNRELIABLE_PATTERN, add_note, empty_figure, finish, trace,
                                   finite, marks_note, new_figure, resolve_k, row_height, sex_colour,
                                   suppressed_mask, unreliable_mask, value_text)
from analytics.charts.incidence import NOT_RANKED, _nice_step, rate_axis_title
from analytics.i18n import (format_number, normalize_lang, plotly_separators, sex_code, sex_label, site_label,
                            standard_label, t)

SITE = "site"
INCIDENCE_COLOUR = OKABE_ITO["blue"]
MORTALITY_COLOUR = OKABE_ITO["orange"]
MI_COLOUR = OKABE_ITO["bluish_green"]
MI_HIGH_COLOUR = OKABE_ITO["vermillion"]   # M:I above 1: more deaths than new cases


def _capitalise(text: str, lang: str) -> str:
    if not text:
        return text
    first = text[0]
    return ("\u0130" if (first == "i" and lang == "az") else first.upper()) + text[1:]


def _num(x: float, lang: str, decimals: int = 1) -> str:
    return format_number(x, lang, decimals)


# --- incidence and mortality, two-sided --------------------------------------------------------
def _ranked_sites(inc: pd.DataFrame, site: str, n: int) -> list[str]:
    shown = inc[~inc[site].isin(NOT_RANKED) & ~suppressed_mask(inc)]
    v = pd.Series(finite(shown["value"]), index=shown.index)
    order = v.groupby(shown[site].astype(str), sort=False).max().dropna()
    return order[order > 0].sort_values(ascending=False, kind="stable").head(n).index.tolist()


def incidence_mortality_bars(incidence: pd.DataFrame, mortality: pd.DataFrame, *, lang: str = "en",
                             n: int = 10, site: str = SITE, standard: str | None = None,
                             multiplier: int = 100000, k: int | None = None, conf: float = 0.95,
                             theme: str = "light", title: str = "") -> go.Figure:
    """The ``n`` sites with the highest incidence rate, incidence to the left and mortality to the
    right (the GCO layout), with confidence intervals; for one sex (or both sexes combined).

    ``incidence`` and ``mortality``: rates by ``site`` (one row per site). Residual groups
    ("Other", "All sites") are not ranked; suppressed values show "<k" at zero, unreliable ones
    are hatched and starred.
    """
    lang = normalize_lang(lang)
    k = resolve_k(incidence, k) or resolve_k(mortality, k)
    if incidence.empty or site not in incidence.columns:
        return empty_figure(t("charts.no_data", lang), theme, title)
    top = _ranked_sites(incidence, site, n)
    if not top:
        return empty_figure(t("charts.no_data", lang), theme, title)
    labels = [site_label(s, lang) for s in top]
    fig = new_figure(title, theme, barmode="overlay", bargap=0.3)
    vmax = 0.0
    hover = ("%{y}<br>%{customdata[0]:.1f} (" + t("charts.ci_short", lang, level=_num(conf * 100, lang, 0))
             + " %{customdata[1]:.1f}\u2013%{customdata[2]:.1f})<extra>%{fullData.name}</extra>")
    traces = []     # added at once: each add_* call runs plotly's whole update machinery
    for frame, direction, colour, name in ((incidence, -1.0, INCIDENCE_COLOUR, t("mortality.measure.incidence", lang)),
                                           (mortality, 1.0, MORTALITY_COLOUR, t("mortality.measure.mortality", lang))):
        part = frame.assign(**{site: frame[site].astype(str)}).drop_duplicates(site).set_index(site).reindex(top)
        part = part.reset_index()
        v = finite(part["value"]) if "value" in part else np.full(len(part), np.nan)
        lo = finite(part["lower"]) if "lower" in part else np.full(len(part), np.nan)
        hi = finite(part["upper"]) if "upper" in part else np.full(len(part), np.nan)
        sup = suppressed_mask(part).to_numpy()
        unrel = unreliable_mask(part).to_numpy()
        vmax = max(vmax, float(np.nanmax(np.append(np.where(sup, 0, np.fmax(np.nan_to_num(v), np.nan_to_num(hi))), 0))))
        plus, minus = np.nan_to_num(hi - v), np.nan_to_num(v - lo)
        traces.append(trace("bar", y=labels, x=np.where(sup | ~np.isfinite(v), 0.0, v) * direction, orientation="h",
                             name=name, marker_color=colour,
                             marker_pattern_shape=[UNRELIABLE_PATTERN if u else "" for u in unrel],
                             error_x=dict(type="data", symmetric=False, thickness=1.5, width=4, color="#333333",
                                          array=plus if direction > 0 else minus,
                                          arrayminus=minus if direction > 0 else plus),
                             customdata=np.column_stack([v, lo, hi]), hovertemplate=hover))
        reach = np.fmax(np.nan_to_num(v), np.nan_to_num(hi)) * direction
        text = value_text(part.assign(value=v), "value", lang=lang, k=k).where(np.isfinite(v) | sup, "")
        traces.append(trace("scatter", y=labels, x=np.where(sup, 0.0, reach), mode="text", cliponaxis=False, showlegend=False,
                                 text=[(f"{s}\u2002" if direction < 0 else f"\u2002{s}") if s else s for s in text],
                                 textposition="middle left" if direction < 0 else "middle right", hoverinfo="skip"))
    fig.add_traces(traces)
    step = _nice_step(vmax)
    top_tick = step * math.ceil(vmax / step) if vmax > 0 else step
    ticks = np.arange(-top_tick, top_tick + step / 2, step)
    heading = dict(x=0.02, y=1.0, xref="paper", yref="paper", yanchor="bottom", showarrow=False)
    fig.update_layout(
        xaxis=dict(tickvals=ticks.tolist(), ticktext=[format_number(abs(x), lang, 0) for x in ticks],
                   range=[-top_tick * 1.3, top_tick * 1.3], zeroline=True,
                   title_text=rate_axis_title(lang, standard, multiplier)),
        yaxis=dict(categoryorder="array", categoryarray=labels[::-1], title_text=""),
        annotations=list(fig.layout.annotations) + [
            heading | dict(text=f"<b>{t('mortality.measure.incidence', lang)}</b>", xanchor="left"),
            heading | dict(text=f"<b>{t('mortality.measure.mortality', lang)}</b>", x=0.98, xanchor="right")],
        showlegend=False, separators=plotly_separators(lang))
    fig.update_layout(height=int(max(380, 160 + row_height(fig, 34) * len(top))))
    both = pd.concat([incidence, mortality], ignore_index=True)
    return finish(add_note(fig, marks_note(both, lang=lang, k=k)))


# --- the M:I ratio -------------------------------------------------------------------------------
def _mi_hover(lang: str) -> str:
    return ("%{y}<br>" + t("mortality.col.mi_ratio", lang) + ": %{x:.2f}<br>" + t("mortality.col.deaths", lang)
            + ": %{customdata[0]:,.0f}<br>" + t("mortality.col.cases", lang) + ": %{customdata[1]:,.0f}<extra></extra>")


def mi_bars(frame: pd.DataFrame, *, label: str, lang: str = "en", n: int | None = None, theme: str = "light",
            title: str = "", names: dict | None = None, k: int | None = None) -> go.Figure:
    """M:I ratio per site or region (``label`` column), highest at the top, with the line
    M:I = 1 (above it a registry has more deaths than new cases: missed cases, or deaths
    certified to a site the registry codes differently). ``names`` maps codes to the shown
    names (sites are translated by default). Suppressed ratios show "<k" at zero."""
    lang = normalize_lang(lang)
    k = resolve_k(frame, k)
    if frame.empty or label not in frame.columns:
        return empty_figure(t("charts.no_data", lang), theme, title)
    df = frame.assign(_v=finite(frame["mi_ratio"]), _sup=suppressed_mask(frame).to_numpy())
    df = df[np.isfinite(df["_v"]) | df["_sup"]]
    if label == SITE:
        df = df[~df[label].isin(("All sites", "All sites but C44"))]
    df = df.sort_values("_v", ascending=False, kind="stable", na_position="last")
    if n is not None:
        df = df.head(n)
    if df.empty:
        return empty_figure(t("charts.no_data", lang), theme, title)
    show = (lambda c: site_label(c, lang)) if label == SITE and names is None else (
        lambda c: str((names or {}).get(c, c)))
    ys = [show(c) for c in df[label]]
    v = df["_v"].to_numpy()
    fig = new_figure(title, theme, bargap=0.25)
    fig.add_bar(y=ys, x=np.where(df["_sup"], 0.0, np.nan_to_num(v)), orientation="h", name=t("mortality.col.mi_ratio", lang),
                marker_color=[MI_HIGH_COLOUR if x > 1 else MI_COLOUR for x in np.nan_to_num(v)],
                customdata=np.column_stack([finite(df["deaths"]), finite(df["cases"])]),
                text=value_text(df.assign(value=v), "value", lang=lang, decimals=2, k=k).tolist(),
                textposition="outside", cliponaxis=False, hovertemplate=_mi_hover(lang))
    # one layout update (each update_* / add_vline call runs plotly's whole update machinery);
    # the line M:I = 1 is the shape add_vline draws
    fig.update_layout(
        shapes=list(fig.layout.shapes) + [dict(type="line", x0=1.0, x1=1.0, xref="x", y0=0, y1=1, yref="y domain",
                                               line=dict(color="#333333", dash="dash", width=1))],
        xaxis=dict(title_text=t("mortality.chart.axis_mi", lang), rangemode="tozero",
                   range=[0, max(1.1, float(np.nanmax(np.append(v, 0))) * 1.2)]),
        yaxis=dict(categoryorder="array", categoryarray=ys[::-1], title_text=""),
        showlegend=False, separators=plotly_separators(lang))
    fig.update_layout(height=int(max(360, 120 + row_height(fig, 24) * len(ys))))
    return finish(add_note(fig, marks_note(df, lang=lang, k=k)))


def mi_trend(frame: pd.DataFrame, *, lang: str = "en", series: str | None = schema.SEX, theme: str = "light",
             title: str = "") -> go.Figure:
    """M:I ratio per year (a line per sex when ``series`` is given), with the line M:I = 1."""
    lang = normalize_lang(lang)
    if frame.empty or schema.YEAR not in frame.columns:
        return empty_figure(t("charts.no_data", lang), theme, title)
    df = frame.assign(_v=finite(frame["mi_ratio"])).sort_values(schema.YEAR)
    fig = new_figure(title, theme)
    groups = df.groupby(series, sort=True) if series and series in df.columns else [(0, df)]
    traces = []     # added at once, with one layout update (each add_* / update_* call runs plotly's machinery)
    for key, g in groups:
        code = sex_code(key) if series == schema.SEX else 0
        name = sex_label(code, lang) if series == schema.SEX else t("mortality.col.mi_ratio", lang)
        traces.append(trace("scatter",
            x=g[schema.YEAR].astype(int).tolist(), y=g["_v"].to_numpy(), mode="lines+markers",
            name=name, line=dict(color=sex_colour(code)),
            customdata=np.column_stack([finite(g["deaths"]), finite(g["cases"])]),
            hovertemplate=("%{x}: %{y:.2f}<br>" + t("mortality.col.deaths", lang) + ": %{customdata[0]:,.0f}<br>"
                           + t("mortality.col.cases", lang)
                           + ": %{customdata[1]:,.0f}<extra>%{fullData.name}</extra>")))
    fig.add_traces(traces)
    fig.update_layout(   # the line M:I = 1 is the shape add_hline draws
        shapes=list(fig.layout.shapes) + [dict(type="line", x0=0, x1=1, xref="x domain", y0=1.0, y1=1.0, yref="y",
                                               line=dict(color="#333333", dash="dash", width=1))],
        xaxis=dict(title_text=t("charts.axis_year", lang), dtick=1, tickformat="d"),
        yaxis=dict(title_text=t("mortality.chart.axis_mi", lang), rangemode="tozero"),
        legend=TOP_LEGEND, separators=plotly_separators(lang))
    return finish(fig)


# --- count charts of the incidence module, for deaths ---------------------------------------------
def as_mortality(fig: go.Figure, lang: str = "en") -> go.Figure:
    """A count chart (``cases_per_year``, ``cases_by_site``) relabelled for deaths, in place:
    axis titles, trace names and hovers say deaths instead of cases."""
    pairs = [(t("charts.axis_cases", lang), t("mortality.chart.axis_deaths", lang)),
             (t("charts.cases", lang), t("mortality.col.deaths", lang))]

    def swap(text):
        if not isinstance(text, str):
            return text
        for old, new in pairs:
            text = text.replace(old, new)
        return text

    for tr in fig.data:
        for attr in ("name", "hovertemplate"):
            if attr in tr and tr[attr] is not None:
                tr[attr] = swap(tr[attr])
    for axis in ("yaxis", "xaxis"):
        ax = fig.layout[axis]
        if ax.title and ax.title.text:
            ax.title.text = swap(ax.title.text)
    return fig


# --- readings ------------------------------------------------------------------------------
def _sex_group(code: int, lang: str) -> str:
    return t(f"charts.narrative_sex_group_{code}", lang)


def deaths_sentence(deaths: float, years: Sequence[int], *, lang: str = "en", k: int | None = None) -> str:
    """"8,123 cancer deaths were counted in 2020–2024, 1,625 a year on average." ``k``: public
    output's threshold (a withheld or smaller count gives the sentence saying so; a smaller
    yearly average is "<k")."""
    lang = normalize_lang(lang)
    y0, y1 = int(min(years)), int(max(years))
    if k is not None and (deaths is None or not math.isfinite(float(deaths)) or 0 < float(deaths) < k):
        return t("disclosure.few_deaths", lang, k=k)
    if deaths is None or not math.isfinite(float(deaths)) or float(deaths) <= 0:
        return t("mortality.reading.no_deaths", lang)
    period = str(y0) if y0 == y1 else f"{y0}\u2013{y1}"
    per_year = float(deaths) / (y1 - y0 + 1)
    return _capitalise(t("mortality.reading.deaths", lang, deaths=format_number(deaths, lang, 0), period=period,
                         per_year=f"<{k}" if k is not None and 0 < per_year < k else format_number(per_year, lang, 0)),
                       lang)


def mortality_rate_sentence(value: float, lower: float, upper: float, *, lang: str = "en", standard: str,
                            sex: int = 0, conf: float = 0.95) -> str:
    """"Among women, the age-standardised mortality rate (world standard) was 45.2 per 100,000
    (95% CI 44.1 to 46.3)." """
    lang = normalize_lang(lang)
    if value is None or not math.isfinite(float(value)):
        return t("mortality.reading.no_deaths", lang)
    return _capitalise(t("mortality.reading.asr", lang, sex_group=_sex_group(sex, lang), value=_num(value, lang),
                         lower=_num(lower, lang), upper=_num(upper, lang), standard=standard_label(standard, lang),
                         level=format_number(conf * 100, lang, 0)), lang)


def risk_of_dying_sentence(risk_percent: float, *, sex: int = 0, lang: str = "en") -> str:
    """"Among men, the cumulative risk of dying from cancer before age 75 was 9.1%, about 1 in 11." """
    lang = normalize_lang(lang)
    if risk_percent is None or not math.isfinite(float(risk_percent)) or float(risk_percent) <= 0:
        return t("mortality.reading.no_deaths", lang)
    return _capitalise(t("mortality.reading.cum_risk", lang, sex_group=_sex_group(sex, lang),
                         value=_num(risk_percent, lang), one_in=format_number(round(100 / float(risk_percent)), lang, 0)),
                       lang)


def death_mix_sentence(frame: pd.DataFrame, *, lang: str = "en", site: str = SITE, count: str = "count",
                       n: int = 3) -> str:
    """"Lung (21.0%), stomach (9.6%) and liver (7.8%) accounted for 38.4% of the deaths." (suppressed
    counts left out of the ranking and the total)."""
    lang = normalize_lang(lang)
    c = pd.to_numeric(frame[count], errors="coerce").where(~suppressed_mask(frame))
    by = c.groupby(frame[site].astype(str), sort=False).sum(min_count=1).dropna()
    total = float(by.sum())
    ranked = by[~by.index.isin(NOT_RANKED)].sort_values(ascending=False, kind="stable").head(n)
    if total <= 0 or ranked.empty:
        return t("mortality.reading.no_deaths", lang)
    parts = [f"{site_label(s, lang)} ({_num(100 * v / total, lang)}%)" for s, v in ranked.items()]
    listed = parts[0] if len(parts) == 1 else t("charts.narrative_and", lang, first=", ".join(parts[:-1]), last=parts[-1])
    return _capitalise(t("mortality.reading.death_mix", lang, sites=listed,
                         share=_num(100 * float(ranked.sum()) / total, lang)), lang)


def labelled(sentence: str | None, lang: str = "en") -> str:
    """A reading of a neutral sentence ("the rate ...") marked as mortality: "Mortality: ..."."""
    return t("mortality.reading.labelled", normalize_lang(lang), sentence=sentence) if sentence else ""


def incidence_mortality_sentence(incidence: pd.DataFrame, mortality: pd.DataFrame, *, sex: int = 0,
                                 lang: str = "en", site: str = SITE) -> str:
    """"Among men, lung had the highest incidence (45.2 per 100,000) and the highest mortality
    (40.1 per 100,000)." (shown rates only; residual groups not ranked)."""
    lang = normalize_lang(lang)

    def best(frame):
        shown = frame[~frame[site].isin(NOT_RANKED) & ~suppressed_mask(frame)]
        v = pd.Series(finite(shown["value"]), index=shown.index).dropna()
        return None if v.empty or not v.max() > 0 else (str(shown.loc[v.idxmax(), site]), float(v.max()))

    i, m = best(incidence), best(mortality)
    if i is None or m is None:
        return t("mortality.reading.no_deaths", lang)
    key = "mortality.reading.both_same" if i[0] == m[0] else "mortality.reading.both"
    return _capitalise(t(key, lang, sex_group=_sex_group(sex, lang), inc_site=site_label(i[0], lang),
                         inc=_num(i[1], lang), mort_site=site_label(m[0], lang), mort=_num(m[1], lang)), lang)


def mi_site_sentence(frame: pd.DataFrame, overall: pd.DataFrame | None = None, *, lang: str = "en",
                     label: str = SITE, names: dict | None = None, min_cases: int = 20) -> str:
    """"Overall there were 51 deaths for every 100 new cases (M:I 0.51); the ratio was highest for
    liver (0.91) and lowest for thyroid (0.03)." Strata with fewer than ``min_cases`` cases, and
    suppressed ones, are not ranked."""
    lang = normalize_lang(lang)
    show = (lambda c: site_label(c, lang)) if label == SITE and names is None else (
        lambda c: str((names or {}).get(c, c)))
    parts = []
    if overall is not None and len(overall) and np.isfinite(finite(overall["mi_ratio"])[0]):
        mi = float(finite(overall["mi_ratio"])[0])
        parts.append(t("mortality.reading.mi_overall", lang, per100=format_number(round(100 * mi), lang, 0),
                       mi=_num(mi, lang, 2)))
    d = frame[~suppressed_mask(frame) & ~frame[label].isin(NOT_RANKED)]
    d = d[finite(d["cases"]) >= min_cases]
    v = pd.Series(finite(d["mi_ratio"]), index=d.index).dropna()
    if len(v) >= 2:
        hi, lo = d.loc[v.idxmax()], d.loc[v.idxmin()]
        parts.append(t("mortality.reading.mi_range", lang, high=show(hi[label]), high_mi=_num(v.max(), lang, 2),
                       low=show(lo[label]), low_mi=_num(v.min(), lang, 2)))
    above = [show(c) for c in d.loc[v[v > 1].sort_values(ascending=False).index, label]]
    if above:
        listed = above[0] if len(above) == 1 else t("charts.narrative_and", lang, first=", ".join(above[:-1]),
                                                      last=above[-1])
        parts.append(t("mortality.reading.mi_above_one", lang, names=listed))
    return _capitalise(" ".join(parts), lang) if parts else t("mortality.reading.no_deaths", lang)


def mi_year_sentence(frame: pd.DataFrame, *, lang: str = "en") -> str:
    """"The M:I ratio went from 0.55 in 2010 to 0.48 in 2024." (both sexes summed)."""
    lang = normalize_lang(lang)
    if frame.empty:
        return t("mortality.reading.no_deaths", lang)
    g = frame[~suppressed_mask(frame)].groupby(schema.YEAR)[["deaths", "cases"]].sum()
    g = g[g["cases"] > 0]
    if len(g) < 2:
        return t("mortality.reading.no_deaths", lang)
    first, last = g.iloc[0], g.iloc[-1]
    return _capitalise(t("mortality.reading.mi_years", lang, first=_num(first["deaths"] / first["cases"], lang, 2),
                         y0=int(g.index[0]), last=_num(last["deaths"] / last["cases"], lang, 2), y1=int(g.index[-1])), lang)

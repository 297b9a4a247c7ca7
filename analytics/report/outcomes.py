"""Report sections on mortality, trends and prevalence."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import narrative, tables
from analytics.ci5_table import TOTAL
from analytics import schema as S
from analytics.charts import trends as tcharts
from analytics.cube import SITE, Selection
from analytics.report.common import DASH, SEXES, Context
from analytics.report.model import Section, Text

N_TREND_SITES = 5
N_PREVALENCE_SITES = 10
PREVALENCE_DURATIONS = ("1", "3", "5", "all")
MAIN_DURATION = "5"
MIN_TREND_YEARS = 3


def period_records(ctx: Context) -> pd.DataFrame:
    """The counted records of the period (the records the quality indicators describe)."""
    r = ctx.data.records
    m = r[S.YEAR].between(ctx.o.y0, ctx.o.y1).fillna(False) & r[S.INCLUDED].fillna(False).astype(bool)
    return r.loc[m]


# --- mortality ----------------------------------------------------------------------------------
def mortality(ctx: Context) -> Section:
    """Deaths and the mortality:incidence ratio by site and sex (``analytics.quality.indicators``,
    the indicator of the Data quality page), when a deaths table is loaded."""
    title = ctx.t("report.section.mortality")
    deaths = ctx.data.deaths
    if deaths is None or not len(deaths):
        return Section("mortality", title, [Text(ctx.t("report.mortality.none"))])
    col = ctx.o.site_column
    mi = tables.quality_indicators(period_records(ctx), (col, S.SEX), deaths=deaths)
    mi = mi[(mi["indicator"] == "mi_ratio") & mi[S.SEX].isin(SEXES)]
    wide = mi.pivot_table(index=col, columns=S.SEX, values=["count", "total", "value"], observed=True)
    wide.columns = [f"{a}_{int(b)}" for a, b in wide.columns]
    wide = wide.reset_index().rename(columns={col: SITE})
    for c in [f"{a}_{s}" for a in ("count", "total", "value") for s in SEXES]:
        if c not in wide:
            wide[c] = np.nan
    wide = wide.assign(_n=wide[["total_1", "total_2"]].sum(axis=1)).sort_values("_n", ascending=False, kind="stable")
    wide = wide[~wide[SITE].isin(tables.NOT_RANKED)]
    columns = [(ctx.t("report.col.site"), "l", lambda r: ctx.site(r[SITE]))]
    for s in SEXES:
        columns += [(f"{ctx.sex(s)}: {ctx.t('report.col.deaths')}", "r", _withheld(ctx, f"count_{s}")),
                    (f"{ctx.sex(s)}: {ctx.t('report.col.cases')}", "r", _withheld(ctx, f"total_{s}")),
                    (f"{ctx.sex(s)}: M:I", "r", _ratio(ctx, s))]
    table = ctx.table(wide, columns, caption=ctx.t("report.mortality.table", period=ctx.o.period_label()),
                      key="mortality_mi", widths=[4, 1.2, 1.2, 1, 1.2, 1.2, 1],
                      note=ctx.t("report.mortality.note"))
    return Section("mortality", title, [Text(ctx.t("report.mortality.intro")), table])


def _withheld(ctx: Context, col: str):
    def cell(r):
        v = r[col]
        if not np.isfinite(_f(v)):
            return DASH
        return ctx.count(v, "primary" if ctx.k and 0 < v < ctx.k else "none")
    return cell


def _ratio(ctx: Context, sex: int):
    def cell(r):
        d, n, v = _f(r[f"count_{sex}"]), _f(r[f"total_{sex}"]), _f(r[f"value_{sex}"])
        if not np.isfinite(v) or (ctx.k and (0 < d < ctx.k or 0 < n < ctx.k)):
            return DASH
        return ctx.num(v, 2)
    return cell


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


# --- trends -------------------------------------------------------------------------------------
def _fit(ctx: Context, rates: pd.DataFrame, series: str):
    data = tables.trend_input(rates, series, public=bool(ctx.k))
    segs, fitted, aapc = tables.joinpoint_fit(data, series, selection="permutation", max_jp="auto", weighted=False,
                                              conf=ctx.o.conf)
    table = fitted.merge(data[[series, "year", "count", "lower", "upper"]], on=[series, "year"], how="left")
    good = segs[segs["note"].fillna("") == ""]
    return segs, good, aapc, table


def trends(ctx: Context) -> Section:
    o = ctx.o
    title = ctx.t("report.section.trends")
    y0, y1 = ctx.data.years()
    if y1 - y0 + 1 < MIN_TREND_YEARS:
        return Section("trends", title, [Text(ctx.t("report.trend.short", n=y1 - y0 + 1))])
    sel = Selection(years=(y0, y1), sexes=SEXES)
    span = f"{y0}\u2013{y1}"
    blocks = [Text(ctx.t("report.trend.intro", period=span, n=N_TREND_SITES))]
    segs, good, aapc, table = _fit(ctx, ctx.dsr((S.YEAR, S.SEX), sel), S.SEX)
    chart_title = ctx.t("report.trend.all_sites", period=span)
    blocks.append(ctx.figure(tcharts.trend_chart(table, good, series=S.SEX, lang=ctx.lang, title=chart_title),
                             chart_title, key="trend_all"))
    rows = [_apc_rows(segs, aapc, S.SEX, lambda key: (int(key), TOTAL))]
    readings = [_reading(ctx, seg, int(seg[S.SEX]), TOTAL) for _, seg in tables.last_segments(segs, S.SEX).iterrows()]
    leading = ctx.dsr((S.SEX, SITE), ctx.selection(sexes=SEXES))
    for sex in SEXES:
        chosen = tables.ranked_sites(leading[leading[S.SEX] == sex], value="count")[SITE].head(N_TREND_SITES).tolist()
        by_site = ctx.dsr((S.YEAR, SITE), sel.replace(sexes=(sex,)))
        s_segs, s_good, s_aapc, s_table = _fit(ctx, by_site[by_site[SITE].isin(chosen)], SITE)
        t = ctx.t("report.trend.sites", sex=ctx.sex(sex), period=span)
        blocks.append(ctx.figure(tcharts.trend_chart(s_table, s_good, series=SITE, lang=ctx.lang, title=t), t,
                                 key=f"trend_sites_{sex}"))
        rows.append(_apc_rows(s_segs, s_aapc, SITE, lambda key, sex=sex: (sex, key)))
        readings += [_reading(ctx, seg, sex, seg[SITE]) for _, seg in tables.last_segments(s_segs, SITE).iterrows()]
    blocks += [Text(r, "reading") for r in readings if r]
    blocks.append(_apc_table(ctx, pd.concat(rows, ignore_index=True), span))
    notes = segs.loc[segs["note"].fillna("") != "", "note"].tolist()
    if notes:
        blocks.append(Text(ctx.t("report.trend.failed", notes="; ".join(notes)), "note"))
    return Section("trends", title, blocks)


def _apc_rows(segs: pd.DataFrame, aapc: pd.DataFrame, series: str, who) -> pd.DataFrame:
    good = segs[segs["note"].fillna("") == ""]
    out = pd.concat([good.assign(segment=good["segment"].astype(int).astype(str)), aapc], ignore_index=True)
    if out.empty:
        return out
    keys = out[series].map(who)
    return out.assign(**{S.SEX: keys.map(lambda k: k[0]), SITE: keys.map(lambda k: k[1])})


def _apc_table(ctx: Context, rows: pd.DataFrame, span: str):
    o = ctx.o
    level = ctx.num(100 * o.conf, 0)
    columns = [(ctx.t("report.col.sex"), "l", lambda r: ctx.sex(r[S.SEX])),
               (ctx.t("report.col.site"), "l", lambda r: ctx.site(r[SITE])),
               (ctx.t("report.col.years"), "l", lambda r: f"{int(r['start'])}\u2013{int(r['end'])}"),
               (ctx.t("report.col.measure"), "l", lambda r: "AAPC" if r["segment"] == "AAPC" else "APC"),
               (ctx.t("report.col.apc"), "r", lambda r: _signed(ctx, r["apc"])),
               (ctx.t("report.col.ci", level=level), "r", lambda r: f"{_signed(ctx, r['lower'])} {ctx.t('report.to')} "
                                                                    f"{_signed(ctx, r['upper'])}")]
    return ctx.table(rows, columns, caption=ctx.t("report.trend.table", period=span), key="apc",
                     widths=[1.3, 4, 1.4, 1, 1.1, 2.2], bold=lambda r: r["segment"] == "AAPC",
                     note=ctx.t("report.trend.note"))


def _signed(ctx: Context, x) -> str:
    v = _f(x)
    if not np.isfinite(v):
        return DASH
    return ("+" if v > 0 else "\u2212" if v < 0 else "") + ctx.num(abs(v), 1)


def _reading(ctx: Context, seg, sex: int, site: str) -> str:
    return tcharts.apc_sentence(seg, who=tcharts.who_phrase(sex, ctx.lang),
                                site=tcharts.site_phrase(ctx.site(site), ctx.lang), lang=ctx.lang, conf=ctx.o.conf)


# --- prevalence ---------------------------------------------------------------------------------
def prevalence_table(ctx: Context) -> pd.DataFrame:
    """Limited-duration prevalence at 31 December of the last year (counting method, person-based,
    no adjustment for loss to follow-up: the Prevalence page's defaults), by site and sex."""
    from analytics.prevalence import prevalence

    o = ctx.o
    return ctx.memo("prevalence", lambda: prevalence(
        ctx.data.records, ctx.data.population, index_date=f"{o.y1}-12-31", by=[o.site_column, S.SEX],
        counting="person", adjust_lost=False, standard=o.standard, conf=o.conf))


def prevalence_section(ctx: Context) -> Section:
    from analytics.prevalence import ALL_SITES, PrevalenceInputError

    o = ctx.o
    title = ctx.t("report.section.prevalence")
    try:
        full = prevalence_table(ctx)
    except PrevalenceInputError as exc:
        return Section("prevalence", title, [Text(ctx.t("report.prevalence.unavailable", reason=str(exc)))])
    col = o.site_column
    date = f"31.12.{o.y1}"
    dur = ctx.t(f"trends.dur.{MAIN_DURATION}")
    both = tables.prevalence_view(full, sexes=(S.MALE, S.FEMALE, S.UNKNOWN_SEX), site="all", site_column=col, k=ctx.k)
    view = both[both[S.SEX].isin(SEXES)]
    main = view[view["duration"] == MAIN_DURATION]
    allsites = both[(both[col] == ALL_SITES) & (both["duration"] == MAIN_DURATION)]
    sites_only = main[main[col] != ALL_SITES]
    reading = narrative.prevalence_sentence(allsites["count"].sum(min_count=1), allsites["population"].sum(min_count=1),
                                            date=date, duration=dur, lang=ctx.lang, sites=sites_only, site=col)
    chart_title = ctx.t("report.prevalence.chart", duration=dur, date=date)
    fig = tcharts.prevalence_chart(sites_only.assign(**{col: sites_only[col].astype(str)}), site=col, value="count",
                                   duration=MAIN_DURATION, lang=ctx.lang, title=chart_title, n=N_PREVALENCE_SITES)
    return Section("prevalence", title, [
        Text(ctx.t("report.prevalence.intro", date=date)), Text(reading, "reading"),
        ctx.figure(fig, chart_title, key="prevalence"), _prevalence_block(ctx, view, col, date)])


def _prevalence_block(ctx: Context, view: pd.DataFrame, col: str, date: str):
    from analytics.prevalence import ALL_SITES

    wide = view.pivot_table(index=[col, S.SEX], columns="duration", values="count", observed=True, dropna=False)
    prop = view[view["duration"] == MAIN_DURATION].set_index([col, S.SEX])["proportion"]
    wide = wide.reindex(columns=list(PREVALENCE_DURATIONS)).assign(proportion=prop).reset_index()
    rank = view[view["duration"] == MAIN_DURATION].groupby(col)["count"].sum().drop(ALL_SITES, errors="ignore")
    top = rank[~rank.index.isin(tables.NOT_RANKED)].sort_values(ascending=False).head(N_PREVALENCE_SITES).index
    order = {s: i for i, s in enumerate([ALL_SITES, *top])}
    wide = wide[wide[col].isin(order)].assign(_o=lambda d: d[col].map(order)).sort_values(["_o", S.SEX])
    wide = wide.rename(columns={col: SITE})
    columns = [(ctx.t("report.col.site"), "l", lambda r: ctx.site(r[SITE])),
               (ctx.t("report.col.sex"), "l", lambda r: ctx.sex(r[S.SEX]))]
    columns += [(ctx.t(f"trends.dur.{d}"), "r", (lambda d: lambda r: ctx.count(r[d]))(d)) for d in PREVALENCE_DURATIONS]
    columns.append((ctx.t("report.prevalence.per100k", duration=ctx.t(f"trends.dur.{MAIN_DURATION}")), "r",
                    lambda r: ctx.num(r["proportion"], 1)))
    return ctx.table(wide, columns, caption=ctx.t("report.prevalence.table", date=date), key="prevalence",
                     widths=[4, 1.3, 1.1, 1.1, 1.1, 1.3, 1.6], bold=lambda r: r[SITE] == ALL_SITES,
                     note=ctx.t("report.prevalence.note"))

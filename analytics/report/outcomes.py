"""Report sections on mortality, trends and prevalence."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import narrative, tables
from analytics.ci5_table import TOTAL
from analytics import schema as S
from analytics.charts import mortality as mcharts
from analytics.charts import trends as tcharts
from analytics.cube import SITE, Selection
from analytics.mortality import MORTALITY
from analytics.report.common import DASH, SEXES, Context, rate_columns
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
N_BARS = 10


def mortality(ctx: Context) -> Section:
    """Deaths with the same engine as incidence (``analytics.mortality``: the deaths table, or deaths
    derived from the records): rates and risk of dying per sex, incidence and mortality side by
    side by site (the Incidence vs mortality page), and the M:I ratio by site and sex."""
    title = ctx.t("report.section.mortality")
    events = ctx.data.mortality_events(ctx.o.site_column)
    if events.n_counted == 0:
        return Section("mortality", title, [Text(ctx.t("report.mort.none"))])
    o = ctx.o
    sel = ctx.selection(sexes=SEXES)
    blocks: list = [Text(ctx.t("report.mort.intro")),
                    Text(ctx.t(f"mortality.source.note_{events.source}", counted=ctx.num(events.n_counted, 0),
                               excluded=ctx.num(events.n_excluded, 0)), "note")]
    rates = ctx.dsr((S.SEX,), sel, measure=MORTALITY)
    risk = ctx.cumulative_risk((S.SEX,), sel, measure=MORTALITY)
    blocks += [_mortality_table(ctx, rates, risk), *_mortality_readings(ctx, rates, risk)]
    inc = ctx.dsr((S.SEX, SITE), sel)
    mort = ctx.dsr((S.SEX, SITE), sel, measure=MORTALITY)
    for sex in SEXES:
        i, m = inc[inc[S.SEX] == sex], mort[mort[S.SEX] == sex]
        chart = ctx.t("mortality.im.bars_title", sex=ctx.sex(sex), period=o.period_label())
        fig = mcharts.incidence_mortality_bars(i, m, lang=ctx.lang, standard=o.standard, conf=o.conf, title=chart,
                                               k=ctx.k)
        blocks += [ctx.figure(fig, chart, key=f"im_bars_{sex}"),
                   Text(mcharts.incidence_mortality_sentence(i, m, sex=sex, lang=ctx.lang), "reading")]
    by_site, overall = ctx.mi_ratio((SITE,)), ctx.mi_ratio(())
    chart = ctx.t("report.mort.mi_chart", period=o.period_label())
    blocks += [ctx.figure(mcharts.mi_bars(by_site, label=SITE, lang=ctx.lang, title=chart, n=25, k=ctx.k), chart,
                          key="mi_site"),
               Text(mcharts.mi_site_sentence(by_site, overall, lang=ctx.lang), "reading"), _mi_table(ctx)]
    return Section("mortality", title, blocks)


def _mortality_table(ctx: Context, rates: pd.DataFrame, risk: pd.DataFrame):
    frame = rates.merge(risk[[S.SEX, "cum_risk"]], on=S.SEX, how="left")
    columns = rate_columns(ctx, count=ctx.t("mortality.col.deaths"), asr=ctx.t("mortality.col.asr_mortality"),
                           cum_risk=ctx.t("mortality.metric.cumrisk") + " (%)")
    return ctx.table(frame, columns, caption=ctx.t("report.mort.rates", period=ctx.o.period_label()),
                     key="mortality_rates", widths=[1.4, 1.2, 1.2, 1.4, 1.8, 1.6],
                     note=ctx.t("report.mort.rates_note", standard=ctx.standard_name))


def _mortality_readings(ctx: Context, rates: pd.DataFrame, risk: pd.DataFrame) -> list[Text]:
    o = ctx.o
    out = [mcharts.deaths_sentence(rates["count"].sum(min_count=1), o.period, lang=ctx.lang)]
    for _, r in rates.iterrows():
        sex = int(r[S.SEX])
        out.append(mcharts.mortality_rate_sentence(r["value"], r["lower"], r["upper"], lang=ctx.lang,
                                                   standard=o.standard, sex=sex, conf=o.conf))
        cum = risk.loc[risk[S.SEX] == sex, "cum_risk"]
        if len(cum):
            out.append(mcharts.risk_of_dying_sentence(float(cum.iloc[0]), sex=sex, lang=ctx.lang))
    return [Text(s, "reading") for s in out if s]


def _mi_table(ctx: Context):
    """Deaths, new cases and M:I by site and sex (``analytics.mortality.mi_ratio``, protected)."""
    mi = ctx.mi_ratio((SITE, S.SEX))
    mi = mi[mi[S.SEX].isin(SEXES) & ~mi[SITE].isin(tables.NOT_RANKED)]
    wide = mi.pivot_table(index=SITE, columns=S.SEX, values=["deaths", "cases", "mi_ratio"], observed=True,
                          dropna=False)
    wide.columns = [f"{a}_{int(b)}" for a, b in wide.columns]
    withheld = mi.pivot_table(index=SITE, columns=S.SEX, values="suppressed", aggfunc="any", observed=True) \
        if "suppressed" in mi.columns else None
    wide = wide.reset_index()
    for c in [f"{a}_{s}" for a in ("deaths", "cases", "mi_ratio") for s in SEXES]:
        if c not in wide:
            wide[c] = np.nan
    for s in SEXES:
        flag = wide[SITE].map(withheld[s]) if withheld is not None and s in withheld.columns else False
        wide[f"withheld_{s}"] = pd.Series(flag, index=wide.index).fillna(False).astype(bool)
    wide = wide.assign(_n=wide[["cases_1", "cases_2"]].sum(axis=1)).sort_values("_n", ascending=False, kind="stable")
    columns = [(ctx.t("report.col.site"), "l", lambda r: ctx.site(r[SITE]))]
    for s in SEXES:
        columns += [(f"{ctx.sex(s)}: {ctx.t('report.col.deaths')}", "r", _withheld(ctx, f"deaths_{s}", s)),
                    (f"{ctx.sex(s)}: {ctx.t('report.col.cases')}", "r", _withheld(ctx, f"cases_{s}", s)),
                    (f"{ctx.sex(s)}: M:I", "r", lambda r, s=s: DASH if not np.isfinite(_f(r[f"mi_ratio_{s}"]))
                     else ctx.num(r[f"mi_ratio_{s}"], 2))]
    return ctx.table(wide, columns, caption=ctx.t("report.mort.table", period=ctx.o.period_label()),
                     key="mortality_mi", widths=[4, 1.2, 1.2, 1, 1.2, 1.2, 1], size="small",
                     note=ctx.t("report.mort.note"))


def _withheld(ctx: Context, col: str, sex: int):
    """A count of the M:I table as printed: "<k" when withheld in public output (a published count
    below k, ``tables.published_mi_ratio``: the deaths of a stratum of fewer than k cases go with
    them), a dash for a stratum without cases."""
    def cell(r):
        v = _f(r[col])
        if np.isfinite(v):
            return ctx.count(v, "none")
        return ctx.count(v, "primary" if r[f"withheld_{sex}"] else "none")
    return cell


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


# --- trends -------------------------------------------------------------------------------------
def _fit(ctx: Context, rates: pd.DataFrame, series: str):
    data = tables.trend_input(rates, series, public=ctx.rule is not None)
    segs, fitted, aapc = tables.joinpoint_fit(data, series, selection="permutation", max_jp="auto", weighted=False,
                                              conf=ctx.o.conf)
    table = fitted.merge(data[[series, "year", "count", "lower", "upper"]], on=[series, "year"], how="left")
    good = segs[segs["note"].fillna("") == ""]
    return segs, good, aapc, table


def trends(ctx: Context) -> Section:
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
               (ctx.t("report.col.apc"), "r", lambda r: ctx.fmt(r["apc"], "apc", signed=True)),
               (ctx.t("report.col.ci", level=level), "r", lambda r: f"{ctx.fmt(r['lower'], 'apc', signed=True)} {ctx.t('report.to')} "
                                                                    f"{ctx.fmt(r['upper'], 'apc', signed=True)}")]
    return ctx.table(rows, columns, caption=ctx.t("report.trend.table", period=span), key="apc",
                     widths=[1.3, 4, 1.4, 1, 1.1, 2.2], bold=lambda r: r["segment"] == "AAPC",
                     note=ctx.t("report.trend.note"))


def _reading(ctx: Context, seg, sex: int, site: str) -> str:
    return tcharts.apc_sentence(seg, who=tcharts.who_phrase(sex, ctx.lang),
                                site=tcharts.site_phrase(ctx.site(site), ctx.lang), lang=ctx.lang, conf=ctx.o.conf)


# --- prevalence ---------------------------------------------------------------------------------
def prevalence_table(ctx: Context) -> pd.DataFrame:
    """Limited-duration prevalence at 31 December of the last year (counting method, person-based,
    no adjustment for loss to follow-up: the Prevalence page's defaults), by site and sex."""
    o = ctx.o
    return ctx.memo("prevalence", lambda: tables.prevalence_table(
        ctx.data.records, ctx.data.population, index_date=f"{o.y1}-12-31", by=[o.site_column, S.SEX],
        counting="person", adjust_lost=False, standard=o.standard, conf=o.conf, rule=ctx.rule))


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

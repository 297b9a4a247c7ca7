"""Fact sheets: one page per cancer site (cases, rates, risk, trend, age curve, regional map, M:I)
and one page per region (its profile against the country, leading sites, SIR with CI), the
"quick profiles" officials hand out (as GCO's and State Cancer Profiles')."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from analytics import narrative, sites, tables
from analytics import schema as S
from analytics.charts import incidence as icharts
from analytics.charts import maps as mc
from analytics.charts import trends as tcharts
from analytics.cube import SITE, Selection
from analytics.i18n import LANGUAGES, site_label
from analytics.report import geography, outcomes
from analytics.report.common import DASH, SEXES, Context, rate_columns, suppression_of
from analytics.report.data import ReportData, ReportError
from analytics.report.model import Columns, Document, KeyFigures, Section, Text
from analytics.report.options import ReportOptions

CHART_PX = (560, 430)
MAP_PX = (560, 470)
N_REGION_SITES = 8
ICD10 = re.compile(r"^[A-Za-z]\d{2}(\.?\d{0,2})?$")


# --- what a sheet is about --------------------------------------------------------------------
def resolve_site(text: str, scheme: str) -> str:
    """The site group of ``text``: an ICD-10 code (C50, C50.9, c509) or a site-group name of the
    list (in English, Azerbaijani or Russian, any case)."""
    name = str(text).strip()
    table = sites.site_table("ci5_detailed" if scheme == "ci5" else "globocan")
    labels = [str(lab) for lab in table["label"]]
    wanted = name.casefold()
    for lab in labels:
        if any(site_label(lab, lang).casefold() == wanted for lang in LANGUAGES):
            return lab
    if ICD10.match(name):
        got = sites.assign(pd.Series([name.upper().replace(".", "")]), "ci5_detailed" if scheme == "ci5" else "globocan")
        if got.notna().iloc[0] and str(got.iloc[0]) in labels:
            return str(got.iloc[0])
    raise ReportError(f"'{name}' is neither an ICD-10 code nor a site group of the {scheme.upper()} list; give a code "
                      f"such as C50 or a name such as '{labels[0]}'.")


def resolve_region(data: ReportData, text: str) -> tuple[str, str, tuple[str, ...]]:
    """(level, code, district codes) of a district or economic-region code or name."""
    name = str(text).strip()
    reg = data.regions
    for level, name_cols in ((S.REGION, (S.REGION_NAME,)), (S.PARENT, (S.PARENT_NAME, "parent_name_en"))):
        hit = reg[reg[level].astype(str).str.casefold() == name.casefold()]
        for col in name_cols:
            if hit.empty:
                hit = reg[reg[col].astype(str).str.casefold() == name.casefold()]
        hit = hit[hit[level].astype(str) != ""]
        if len(hit):
            code = str(hit[level].iloc[0])
            return level, code, tuple(reg.loc[reg[level].astype(str) == code, S.REGION].astype(str))
    raise ReportError(f"'{name}' is not a district or economic region of the data; give a code such as "
                      f"{reg[S.REGION].iloc[0]}.")


# --- site sheet ----------------------------------------------------------------------------------
def _site_sexes(ctx: Context, site: str, sex: int | None) -> list[int]:
    by = ctx.dsr((S.SEX,), ctx.selection(sexes=SEXES, site=site))
    present = [int(s) for s in by.loc[_has_cases(by), S.SEX]]
    return [s for s in present if sex is None or s == sex]


def _has_cases(rates: pd.DataFrame) -> pd.Series:
    """Rows with cases: a count above 0, or one withheld in public output (below k, not 0)."""
    withheld = rates["suppressed"].fillna(False).astype(bool) if "suppressed" in rates else False
    return (pd.to_numeric(rates["count"], errors="coerce") > 0) | withheld


def site_sheet(ctx: Context, site: str, sex: int | None = None) -> Section:
    o = ctx.o
    sexes = _site_sexes(ctx, site, sex)
    name = ctx.site(site)
    title = ctx.t("report.fs.site_title", site=name, period=o.period_label())
    if not sexes:
        return Section(f"site_{site}", title, [Text(ctx.t("report.no_cases"))])
    sel = ctx.selection(sexes=tuple(sexes), site=site)
    rates = ctx.dsr((S.SEX,), sel)
    risk = ctx.cumulative_risk((S.SEX,), sel)
    share = _share(ctx, site, sexes)
    mi = _mi(ctx, site, sexes)
    table = _site_table(ctx, rates, risk, share, mi)
    tiles = [(ctx.t("report.kf.cases"), ctx.count(rates["count"].sum(min_count=1)),
              ctx.t("report.kf.per_year", n=ctx.num(rates["count"].sum() / o.n_years, 0)))]
    for _, r in rates.iterrows():
        tiles.append((ctx.t("report.fs.asr_of_sex", sex=ctx.sex(int(r[S.SEX]))), ctx.num(r["value"]),
                      ctx.t("report.kf.ci", level=ctx.num(100 * o.conf, 0), ci=ctx.ci(r["lower"], r["upper"]))))
    readings = [narrative.asr_sentence(r["value"], r["lower"], r["upper"], lang=ctx.lang, standard=o.standard,
                                       sex=int(r[S.SEX]), conf=o.conf, suppressed=suppression_of(r) != "", k=ctx.k)
                for _, r in rates.iterrows()]
    trend, trend_reading = _site_trend(ctx, site, sexes)
    age_title = ctx.t("report.fs.age_curve", site=name)
    asp = ctx.age_specific((S.SEX,), sel)
    age = ctx.figure(icharts.age_specific_curves(asp.assign(**{SITE: site}), lang=ctx.lang, conf=o.conf,
                                                 title=age_title), age_title, size_px=CHART_PX, key="fs_age")
    map_title = ctx.t("report.fs.map", site=name)
    fig, m = geography.sir_map(ctx, map_title, sel=ctx.selection(sexes=tuple(sexes), site=site), height=MAP_PX[1])
    right: list = [table, *[Text(s, "reading") for s in readings + trend_reading]]
    left: list = []
    if fig is not None:
        left = [ctx.figure(fig, map_title, size_px=MAP_PX, key="fs_map")]
        right.append(Text(narrative.sir_map_sentence(m, lang=ctx.lang), "reading"))
    right.append(_survival(ctx, site, sexes, sex))
    blocks = [Text(_subtitle(ctx, sexes), "small"), KeyFigures(tiles[:4], per_row=4),
              Columns([[trend], [age]]), Columns([left or [Text(ctx.t("report.geography.no_map"), "note")], right])]
    return Section(f"site_{site}", title, blocks)


def _subtitle(ctx: Context, sexes) -> str:
    who = ", ".join(ctx.sex(s) for s in sexes)
    return ctx.t("report.fs.subtitle", source=ctx.source, period=ctx.o.period_label(), sexes=who,
                 standard=ctx.standard_name)


def _share(ctx: Context, site: str, sexes) -> pd.Series:
    """% of all the sex's cancers (``analytics.tables.leading_sites``, the share the top-10
    table prints)."""
    by = tables.leading_sites(ctx.dsr((S.SEX, SITE), ctx.selection(sexes=tuple(sexes))), n=10_000)
    return by[by[SITE] == site].set_index(S.SEX)["percent"]


def _mi(ctx: Context, site: str, sexes) -> pd.Series:
    """M:I ratio of the site per sex (``analytics.mortality.mi_ratio``, withheld in public output
    where deaths or cases are few)."""
    if ctx.data.mortality_events(ctx.o.site_column).n_counted == 0:
        return pd.Series(dtype=float)
    mi = ctx.mi_ratio((S.SEX,), ctx.selection(sexes=tuple(sexes), site=site))
    return mi[mi[S.SEX].isin(sexes)].set_index(S.SEX)["mi_ratio"]


def _site_table(ctx: Context, rates, risk, share, mi):
    frame = rates.merge(risk[[S.SEX, "cum_risk"]], on=S.SEX, how="left")
    frame = frame.assign(percent=frame[S.SEX].map(share), mi=frame[S.SEX].map(mi) if len(mi) else np.nan)
    columns = [*rate_columns(ctx, count=ctx.t("report.col.cases"), asr=ctx.t("report.col.asr"),
                             cum_risk=ctx.t("report.fs.cum_risk")),
               ("%", "r", lambda r: ctx.num(r["percent"], 1)),
               ("M:I", "r", lambda r: ctx.num(r["mi"], 2) if np.isfinite(float(r["mi"])) else DASH)]
    return ctx.table(frame, columns, caption=ctx.t("report.fs.site_table"), key="fs_site", size="small",
                     widths=[1.4, 1.2, 1, 1, 1.6, 1.1, 0.8, 0.8], note=ctx.t("report.fs.site_note"))


def _site_trend(ctx: Context, site: str, sexes):
    y0, y1 = ctx.data.years()
    span = f"{y0}\u2013{y1}"
    title = ctx.t("report.fs.trend", period=span)
    if y1 - y0 + 1 < outcomes.MIN_TREND_YEARS:
        return Text(ctx.t("report.trend.short", n=y1 - y0 + 1), "note"), []
    rates = ctx.dsr((S.YEAR, S.SEX), Selection(years=(y0, y1), sexes=tuple(sexes), site=site))
    segs, good, _, table = outcomes._fit(ctx, rates, S.SEX)
    fig = tcharts.trend_chart(table, good, series=S.SEX, lang=ctx.lang, title=title)
    readings = [outcomes._reading(ctx, seg, int(seg[S.SEX]), site) for _, seg in tables.last_segments(segs, S.SEX).iterrows()]
    return ctx.figure(fig, title, size_px=CHART_PX, key="fs_trend"), [r for r in readings if r]


SURVIVAL_AT = (1, 5)
SURVIVAL_APPROACH = "period"      # the Survival page's default: the most recent estimate


def _survival(ctx: Context, site: str, sexes, sex: int | None):
    """Net survival (Pohar Perme; observed survival without a life table) at 1 and 5 years of the
    site's patients, crude and ICSS age-standardised (``analytics.tables.survival_by_site``, the
    Survival page's by-site table), period approach over the document's period."""
    o = ctx.o
    lt = ctx.data.lifetable
    method = "pohar_perme" if lt is not None else "observed"
    rec = tables.survival_records(ctx.data.records, period=o.period, approach=SURVIVAL_APPROACH,
                                  site_column=o.site_column, sexes=None if sex is None else (sex,), site=site)
    by = tables.survival_by_site(rec, lt, site_column=o.site_column, period=o.period, method=method,
                                 approach=SURVIVAL_APPROACH, conf=o.conf, first_primary_only=False, k=ctx.k)
    rows = by[(by["site"] == site) & by["time"].isin(SURVIVAL_AT)]
    if rows.empty or not rows["estimate"].notna().any():
        return Text(ctx.t("report.fs.no_survival"), "note")
    level = ctx.num(100 * o.conf, 0)

    def pct(col, lo, hi):
        return lambda r: (DASH if not np.isfinite(float(r[col])) else
                          f"{ctx.num(100 * r[col], 1)} ({ctx.ci(100 * r[lo], 100 * r[hi])})")
    columns = [(ctx.t("report.fs.col_time"), "l", lambda r: ctx.t(f"report.fs.at_{int(r['time'])}")),
               (ctx.t("survival.method." + method) + f", % ({level}% CI)", "r", pct("estimate", "lower", "upper")),
               (ctx.t("report.fs.col_std"), "r", pct("std_estimate", "std_lower", "std_upper"))]
    if ctx.rule is None:        # public output: percentages only, no exact count of patients (as the Survival page)
        columns.append((ctx.t("report.fs.col_patients"), "r", lambda r: ctx.count(r["n"], "none")))
    return ctx.table(rows, columns, caption=ctx.t("report.fs.survival", site=ctx.site(site)), key="fs_survival",
                     size="small", widths=[1.1, 2.4, 2.4, 1.1][:len(columns)],
                     note=ctx.t("report.fs.survival_note", approach=ctx.t(f"survival.approach.{SURVIVAL_APPROACH}"),
                                period=o.period_label()))


# --- region sheet --------------------------------------------------------------------------------
def region_sheet(ctx: Context, level: str, code: str, districts: tuple[str, ...]) -> Section:
    o = ctx.o
    name = str(geography.level_names(ctx, level).get(code, code))
    title = ctx.t("report.fs.region_title", region=name, period=o.period_label())
    sel = ctx.selection(regions=districts)
    here = ctx.dsr((), sel)
    if here.empty or not _has_cases(here).any():
        return Section(f"region_{code}", title, [Text(ctx.t("report.no_cases"))])
    r = here.iloc[0]
    nat = geography.national(ctx)
    sir = _sir_rows(ctx, level, code)
    all_row = sir[sir["who"] == 0].iloc[0] if len(sir) else None
    tiles = [(ctx.t("report.kf.cases"), ctx.count(r["count"], suppression_of(r)),
              ctx.t("report.kf.per_year", n=ctx.num(r["count"] / o.n_years, 0))),
             (ctx.t("report.kf.asr"), ctx.num(r["value"]),
              ctx.t("report.fs.national", value=ctx.num(nat["value"])) if nat is not None else ""),
             ("SIR", ctx.num(all_row["sir"], 2) if all_row is not None else DASH,
              ctx.t("report.fs.sir_ci", level=ctx.num(100 * o.conf, 0), ci=ctx.ci(all_row["sir_lower"],
                                                                                   all_row["sir_upper"], 2))
              if all_row is not None else ""),
             (ctx.t("report.kf.cum_risk"), ctx.fmt(ctx.cumulative_risk((), sel)["cum_risk"].iloc[0], "percent") + " %", "")]
    profile_block, reading = _profile(ctx, level, code, name)
    map_title = ctx.t("report.fs.region_map", region=name)
    fig, _ = geography.sir_map(ctx, map_title, height=MAP_PX[1], highlight=code, level=level)
    right: list = [_leading(ctx, sel, name), _sir_table(ctx, sir)]
    if fig is not None:
        right.append(ctx.figure(fig, map_title, size_px=MAP_PX, key="fs_region_map"))
    blocks = [Text(ctx.t("report.fs.region_subtitle", source=ctx.source, period=o.period_label(),
                         level=ctx.t(f"report.fs.level_{level}")), "small"),
              KeyFigures(tiles, per_row=4),
              Columns([[profile_block, Text(reading, "reading")], right], widths=[1.1, 1])]
    return Section(f"region_{code}", title, blocks)


def _sir_rows(ctx: Context, level: str, code: str) -> pd.DataFrame:
    rows = []
    for who, sexes in ((0, (S.MALE, S.FEMALE, S.UNKNOWN_SEX)), (S.MALE, (S.MALE,)), (S.FEMALE, (S.FEMALE,))):
        got = geography.measures(ctx, level, ctx.selection(sexes=sexes))
        if got is None:
            data = geography._mapped(ctx, ctx.counts((level,), ctx.selection(sexes=sexes)), level)
            m = tables.published_measures(tables.map_measures(data, level=level, w=None, standard=ctx.o.standard,
                                                              conf=ctx.o.conf, ci_method=ctx.o.method, k=ctx.k),
                                          level=level, k=ctx.k, lang=ctx.lang)
        else:
            m = got[2]
        row = m[m[level].astype(str) == code]
        if len(row):
            rows.append(row.iloc[0].to_dict() | {"who": who})
    return pd.DataFrame(rows)


def _sir_table(ctx: Context, sir: pd.DataFrame):
    level = ctx.num(100 * ctx.o.conf, 0)
    columns = [(ctx.t("report.col.sex"), "l", lambda r: ctx.sex(r["who"]) if r["who"] else ctx.t("report.both_sexes")),
               (ctx.t("report.col.cases"), "r", lambda r: ctx.count(r["cases"], suppression_of(r))),
               (ctx.t("report.col.expected"), "r", lambda r: ctx.num(r["expected"], 1)),
               ("SIR", "r", lambda r: geography._num(ctx, r["sir"], 2)),
               (ctx.t("report.col.ci", level=level), "r", lambda r: ctx.ci(r["sir_lower"], r["sir_upper"], 2))]
    return ctx.table(sir, columns, caption=ctx.t("report.fs.sir_table"), key="fs_sir", size="small",
                     widths=[1.6, 1, 1.1, 0.8, 1.4], note=ctx.t("report.fs.sir_note"))


def _leading(ctx: Context, sel: Selection, name: str):
    by_site = tables.ranked_sites(ctx.dsr((SITE,), sel)).head(N_REGION_SITES)
    columns = [(ctx.t("report.col.site"), "l", lambda r: ctx.site(r[SITE])),
               (ctx.t("report.col.cases"), "r", lambda r: ctx.count(r["count"], suppression_of(r))),
               (ctx.t("report.col.asr"), "r", lambda r: ctx.num(r["value"])),
               (ctx.t("report.col.ci", level=ctx.num(100 * ctx.o.conf, 0)), "r", lambda r: ctx.ci(r["lower"], r["upper"]))]
    return ctx.table(by_site, columns, caption=ctx.t("report.fs.leading", region=name), key="fs_leading", size="small",
                     widths=[3.2, 1, 0.9, 1.5])


def _profile(ctx: Context, level: str, code: str, name: str):
    got = geography.measures(ctx, level)
    if got is None:
        return Text(ctx.t("report.geography.no_map"), "note"), ""
    geo, _, m = got
    nat = geography.national(ctx)
    rf = None
    if ctx.data.risk_factors is not None and len(ctx.data.risk_factors):
        rf = tables.wide_risk_factors(ctx.data.risk_factors, ctx.data.regions, ctx.data.population, level)
    labels = {"smoothed": ctx.t("maps.m_smoothed"), "sir": ctx.t("maps.m_sir"), "asr": ctx.t("maps.m_asr"),
              "crude_rate": ctx.t("maps.m_crude")}
    profile = tables.region_profile(m, code, level=level, national_asr=float(nat["value"]),
                                    national_crude=float(nat["crude_rate"]), labels=labels, risk_factors=rf)
    title = ctx.t("report.fs.profile", region=name)
    fig = mc.spine_chart(profile, lang=ctx.lang, title=title)
    px = (560, int(fig.layout.height or 400))
    return (ctx.figure(fig, title, size_px=px, key="fs_profile", note=ctx.t("report.fs.profile_note")),
            narrative.profile_sentence(profile, region=name, lang=ctx.lang))


# --- the document ----------------------------------------------------------------------------------
def build(data: ReportData, options: ReportOptions, *, sites=(), regions=(), sex: int | None = None,
          progress=None) -> Document:
    """Fact sheets of ``sites`` and ``regions`` (one page each) as a document model."""
    from analytics.report.annual import check_period, footer, properties, stamp

    if not sites and not regions:
        raise ReportError("name at least one site (--site) or region (--region) for a fact sheet.")
    if sex not in (None, S.MALE, S.FEMALE):
        raise ReportError(f"sex must be 1 (men) or 2 (women), not {sex!r}.")
    check_period(data, options)
    ctx = Context(data, options, progress)
    subjects = [("site", resolve_site(s, options.scheme)) for s in sites]
    subjects += [("region", resolve_region(data, r)) for r in regions]
    sections = []
    for i, (kind, what) in enumerate(subjects):
        ctx.n_table = ctx.n_figure = 0      # each sheet is read (and printed) on its own
        ctx.progress(0.5 * i / len(subjects), str(what if kind == "site" else what[1]))
        sections.append(site_sheet(ctx, what, sex) if kind == "site" else region_sheet(ctx, *what))
    today = dt.datetime.now(dt.timezone.utc).date()
    title = sections[0].title if len(sections) == 1 else ctx.t("report.fs.title", period=options.period_label())
    # the reproducibility stamp (files with SHA-256, records, software, date, options) in the file's
    # properties, as the annual report's (a sheet has no title page to print it on)
    sheets = ",".join(what if kind == "site" else what[1] for kind, what in subjects) + (f" (sex={sex})" if sex else "")
    props = properties(ctx, title, stamp(ctx, today=today, sheets=sheets)) | {"category": ctx.t("report.fs.category")}
    today = today.isoformat()
    return Document(lang=options.lang, title=title, sections=sections, properties=props,
                    footer=footer(ctx, today), kind="factsheet")


"""Report sections on incidence: key figures with their readings, the CI5 tables per sex, the
leading sites. Every number comes from :mod:`analytics.tables` on the document's selection."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import narrative, sites, tables
from analytics import schema as S
from analytics.charts import incidence as charts
from analytics.cube import SITE
from analytics.report.common import SEXES, Context, suppression_of
from analytics.report.model import KeyFigures, Section, Table, Text

TOTAL = "All sites"


# --- key figures ------------------------------------------------------------------------------
def _by_sex(ctx: Context) -> dict[int, dict]:
    """Cases, rates and risk per sex (1, 2) and for both sexes together (0, unknown sex included)."""
    sel = ctx.selection()
    men_women = ctx.selection(sexes=SEXES)
    rates = {0: ctx.dsr((), sel)}
    rates.update({int(r[S.SEX]): pd.DataFrame([r]) for _, r in ctx.dsr((S.SEX,), men_women).iterrows()})
    risk = {0: ctx.cumulative_risk((), sel)}
    risk.update({int(r[S.SEX]): pd.DataFrame([r]) for _, r in ctx.cumulative_risk((S.SEX,), men_women).iterrows()})
    by_site = ctx.dsr((S.SEX, SITE), men_women)
    out = {}
    for code in (S.MALE, S.FEMALE, 0):
        if code not in rates or rates[code].empty:
            continue
        row = rates[code].iloc[0]
        lead = tables.ranked_sites(ctx.dsr((SITE,), sel) if code == 0 else by_site[by_site[S.SEX] == code])
        out[code] = {"row": row, "risk": float(risk[code]["cum_risk"].iloc[0]),
                     "lead": lead.iloc[0] if len(lead) else None}
    return out


def summary(ctx: Context) -> Section:
    o = ctx.o
    figures = _by_sex(ctx)
    if 0 not in figures or not figures[0]["row"]["count"] > 0:
        return Section("summary", ctx.t("report.section.summary"), [Text(ctx.t("report.no_cases"))])
    both = figures[0]
    tiles = [
        (ctx.t("report.kf.cases"), ctx.count(both["row"]["count"]),
         ctx.t("report.kf.per_year", n=ctx.num(both["row"]["count"] / o.n_years, 0))),
        (ctx.t("report.kf.asr"), ctx.num(both["row"]["value"]),
         ctx.t("report.kf.ci", level=ctx.num(100 * o.conf, 0), ci=ctx.ci(both["row"]["lower"], both["row"]["upper"]))),
        (ctx.t("report.kf.cum_risk"), ctx.fmt(both["risk"], "percent") + " %",
         ctx.t("report.kf.one_in", n=ctx.num(round(100 / both["risk"]), 0)) if both["risk"] > 0 else ""),
        (ctx.t("report.kf.leading"), ctx.site(both["lead"][SITE]) if both["lead"] is not None else "\u2013",
         ctx.t("report.kf.asr_of", value=ctx.num(both["lead"]["value"])) if both["lead"] is not None else ""),
    ]
    blocks = [Text(ctx.t("report.summary.intro", source=ctx.source, period=o.period_label())), KeyFigures(tiles),
              _key_table(ctx, figures), *_readings(ctx, figures)]
    return Section("summary", ctx.t("report.section.summary"), blocks)


def _key_table(ctx: Context, figures: dict[int, dict]) -> Table:
    codes = [c for c in (S.MALE, S.FEMALE, 0) if c in figures]
    o = ctx.o

    def cells(fn):
        return [fn(figures[c]) for c in codes]

    rows = [
        [ctx.t("report.kf.cases")] + cells(lambda f: ctx.count(f["row"]["count"], suppression_of(f["row"]))),
        [ctx.t("report.kf.cases_per_year")] + cells(lambda f: ctx.num(f["row"]["count"] / o.n_years, 0)),
        [ctx.t("report.kf.crude")] + cells(lambda f: ctx.num(f["row"]["crude_rate"])),
        [ctx.t("report.kf.asr_long", standard=ctx.standard_name)] + cells(lambda f: ctx.num(f["row"]["value"])),
        [ctx.t("report.kf.ci_long", level=ctx.num(100 * o.conf, 0))] + cells(
            lambda f: ctx.ci(f["row"]["lower"], f["row"]["upper"])),
        [ctx.t("report.kf.cum_risk_long")] + cells(lambda f: ctx.fmt(f["risk"], "percent")),
        [ctx.t("report.kf.leading")] + cells(lambda f: ctx.site(f["lead"][SITE]) if f["lead"] is not None else "\u2013"),
    ]
    header = [""] + [ctx.sex(c) if c else ctx.t("report.both_sexes") for c in codes]
    frame = pd.DataFrame({c: {"count": figures[c]["row"]["count"], "crude_rate": figures[c]["row"]["crude_rate"],
                              "asr": figures[c]["row"]["value"], "lower": figures[c]["row"]["lower"],
                              "upper": figures[c]["row"]["upper"], "cum_risk": figures[c]["risk"]} for c in codes})
    return Table(header, rows, caption=ctx.table_caption(ctx.t("report.summary.table", period=o.period_label())),
                 align=["l"] + ["r"] * len(codes), widths=[3] + [1.4] * len(codes), key="key_figures", frame=frame,
                 note=ctx.t("report.summary.table_note", standard=ctx.standard_name))


def _readings(ctx: Context, figures: dict[int, dict]) -> list[Text]:
    o = ctx.o
    both = figures[0]["row"]
    out = [narrative.cases_sentence(both["count"], o.period, lang=ctx.lang)]
    for code in (S.MALE, S.FEMALE):
        if code in figures:
            r = figures[code]["row"]
            out.append(narrative.asr_sentence(r["value"], r["lower"], r["upper"], lang=ctx.lang, standard=o.standard,
                                              sex=code, conf=o.conf, suppressed=suppression_of(r) != "", k=ctx.k))
            out.append(narrative.cumulative_risk_sentence(figures[code]["risk"], sex=code, lang=ctx.lang))
    by_site = ctx.dsr((S.SEX, SITE), ctx.selection(sexes=SEXES))
    out += narrative.top_site_sentences(by_site, lang=ctx.lang, standard=o.standard)
    out.append(narrative.case_mix_sentence(ctx.dsr((SITE,))[[SITE, "count"]], lang=ctx.lang))
    return [Text(ctx.t("report.readings"), "small")] + [Text(s, "reading") for s in out]


# --- CI5 tables -------------------------------------------------------------------------------
def ci5_frame(ctx: Context, sex: int) -> pd.DataFrame:
    """The CI5 table of one sex (``analytics.tables.ci5_table``, as the Incidence page shows it),
    in the order CanReg5 and CI5 print it: site groups in ICD-10 order, the total last."""
    out = ctx.memo(("ci5", sex), lambda: tables.ci5_table(ctx.ci5_cube(), ctx.selection(), sex,
                                                          standard=ctx.o.standard, rule=ctx.rule))
    order = {lab: i for i, lab in enumerate(_icd_codes(ctx).keys())}
    labels = out[SITE].astype(str)
    rank = np.where(labels == TOTAL, len(order) + 1, labels.map(order).fillna(len(order)).astype(float))
    ordered = out.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)
    ordered.attrs = dict(out.attrs)
    return ordered


def _icd_codes(ctx: Context) -> dict[str, str]:
    table = sites.site_table("ci5_detailed" if ctx.o.scheme == "ci5" else "globocan")
    return dict(zip(table["label"].astype(str), table["icd10"].astype(str)))


def ci5_table_block(ctx: Context, sex: int) -> Table:
    o = ctx.o
    frame = ci5_frame(ctx, sex)
    icd = _icd_codes(ctx)
    ages = [a for a in S.AGE_GROUPS if a in frame.columns]

    def num(col, d):
        return lambda r: ctx.num(r[col], d) if np.isfinite(_float(r[col])) else "\u2013"

    def cell(col):      # a count as printed: "<k" when withheld in public output
        return lambda r: ctx.count(r[col])

    columns = [(ctx.t("report.ci5.site"), "l", lambda r: ctx.site(r[SITE])),
               (ctx.t("report.ci5.all_ages"), "r", cell("all_ages")),
               (ctx.t("report.ci5.unknown"), "r", cell("unknown_age"))]
    columns += [(a.replace("-", "\u2013"), "r", cell(a)) for a in ages]
    columns += [(ctx.t("report.ci5.crude"), "r", num("crude_rate", 1)), ("%", "r", num("percent", 1)),
                (ctx.t("report.ci5.cum_rate"), "r", num("cum_rate_0_74", 2)),
                (ctx.t("report.ci5.cum_risk"), "r", num("cum_risk_0_74", 2)),
                (ctx.t("report.ci5.asr") + (ctx.t("report.ci5.world") if o.standard == "world_segi1960" else ""), "r",
                 num("asr", 1)),
                (ctx.t("report.ci5.icd"), "l", lambda r: icd.get(str(r[SITE]), ""))]
    widths = [4.8, 1.5, 1.1] + [1.05] * len(ages) + [1.2, 1.0, 1.2, 1.2, 1.2, 2.6]
    title = ctx.t("report.ci5.caption", sex=ctx.sex(sex), period=o.period_label(), source=ctx.source)
    note = ctx.t("report.ci5.note", standard=ctx.standard_name) + (
        " " + ctx.t("report.public_note", rule=ctx.rule_short()) if ctx.rule is not None else "")
    return ctx.table(frame, columns, caption=title, key=f"ci5_{sex}", note=note, size="tiny", widths=widths,
                     bold=lambda r: r[SITE] == TOTAL)


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def incidence_tables(ctx: Context) -> Section:
    blocks = [Text(ctx.t("report.ci5.intro"), "small")]
    for sex in SEXES:
        blocks.append(ci5_table_block(ctx, sex))
    return Section("incidence_tables", ctx.t("report.section.incidence_tables"), blocks, landscape=True)


# --- leading sites -----------------------------------------------------------------------------
def top_sites(ctx: Context) -> Section:
    o = ctx.o
    by_sex = ctx.dsr((S.SEX, SITE), ctx.selection(sexes=SEXES))
    title = ctx.t("report.top.chart", period=o.period_label())
    fig = charts.top_sites_bar(by_sex, lang=ctx.lang, standard=o.standard, conf=o.conf, k=ctx.k, title=title)
    lead = tables.leading_sites(by_sex, 10)
    columns = [(ctx.t("report.col.sex"), "l", lambda r: ctx.sex(r[S.SEX])),
               (ctx.t("report.col.rank"), "r", lambda r: ctx.num(r["rank"], 0)),
               (ctx.t("report.col.site"), "l", lambda r: ctx.site(r[SITE])),
               (ctx.t("report.col.cases"), "r", lambda r: ctx.count(r["count"], suppression_of(r))),
               (ctx.t("report.col.percent"), "r", lambda r: ctx.num(r["percent"], 1)),
               (ctx.t("report.col.asr"), "r", lambda r: ctx.num(r["value"], 1)),
               (ctx.t("report.col.ci", level=ctx.num(100 * o.conf, 0)), "r", lambda r: ctx.ci(r["lower"], r["upper"]))]
    table = ctx.table(lead, columns, caption=ctx.t("report.top.table", period=o.period_label()), key="top_sites",
                      widths=[1.3, 0.8, 4, 1.3, 1.2, 1.2, 1.8], note=ctx.t("report.top.note", standard=ctx.standard_name))
    readings = [Text(s, "reading") for s in narrative.top_site_sentences(by_sex, lang=ctx.lang, standard=o.standard)]
    return Section("top_sites", ctx.t("report.section.top_sites"),
                   [ctx.figure(fig, title, key="top_sites"), *readings, table])

"""Report sections on data quality (indicators against their targets, the reconciliation of
every record read) and on methods (each measure with its reference, the options used, the
disclosure rule)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import disclosure, narrative, quality, tables
from analytics.charts import quality as qcharts
from analytics.cube import SITE
from analytics.i18n import standard_label
from analytics.mortality import INCIDENCE, MORTALITY
from analytics.report.common import DASH, Context
from analytics.report.model import BulletList, Heading, Section, Text
from analytics.report.outcomes import period_records

SITE_INDICATORS = ("mv_pct", "dco_pct", "clinical_pct", "unknown_basis_pct", "unknown_age_pct")
STATUS_KEYS = {"good": "charts.quality_meets", "acceptable": "charts.quality_acceptable", "poor": "report.dq.poor",
               "none": "report.dq.no_target"}


def _withheld(ctx: Context, count, total) -> bool:
    """Public output: a percentage whose count or total was withheld (a published count below k,
    ``analytics.tables.published_quality``) is not printed."""
    return bool(ctx.k) and not (np.isfinite(_num(count)) and np.isfinite(_num(total)))


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def indicators(ctx: Context, column: str | None) -> pd.DataFrame:
    """Quality indicators of the period overall (``column`` None, with the M:I ratio when deaths
    are loaded) or by ``column``: the Data quality page's (``analytics.tables.quality_indicators``;
    in public output ``analytics.tables.published_quality`` on the published counts)."""
    records = period_records(ctx)
    if ctx.rule is None:
        return tables.quality_indicators(records, (column,) if column else (),
                                         deaths=ctx.data.deaths if column is None else None)
    sel = ctx.selection()
    by = (SITE,) if column else ()

    def published(measure: str):
        data = ctx.counts(by, sel, measure)
        return data.groupby(SITE, observed=True)["count"].sum() if column else float(data["count"].sum())

    deaths = published(MORTALITY) if column is None and ctx.data.deaths is not None else None
    return tables.published_quality(records, column, ctx.rule, reference=ctx.data.records,
                                    totals=published(INCIDENCE), deaths=deaths)


def quality_section(ctx: Context) -> Section:
    o = ctx.o
    col = o.site_column
    overall = indicators(ctx, None)
    by_site = indicators(ctx, col)
    targets = tables.quality_targets()
    blocks = [Text(ctx.t("report.dq.intro", period=o.period_label())), _overall_table(ctx, overall, targets)]
    for ind in ("mv_pct", "dco_pct"):
        part = by_site[by_site["indicator"] == ind]
        if len(part) and ind in targets:
            direction, good, _ = targets[ind]
            blocks.append(Text(narrative.quality_sentence(part, ind, target=good, direction=direction, lang=ctx.lang),
                               "reading"))
    mv = by_site[by_site["indicator"] == "mv_pct"].rename(columns={col: SITE})
    if len(mv):
        shown = mv.assign(value=[np.nan if _withheld(ctx, c, n) else v for c, n, v in
                                 zip(mv["count"], mv["total"], mv["value"])],
                          name=mv[SITE].map(ctx.site)).sort_values("value", ascending=False)
        title = ctx.t("report.dq.mv_chart", period=o.period_label())
        fig = qcharts.indicator_bars(shown.head(25), x="name", y="value", indicator="mv_pct", lang=ctx.lang, title=title)
        blocks.append(ctx.figure(fig, title, key="quality_mv"))
    blocks += [_site_table(ctx, by_site, col), Heading(ctx.t("report.dq.reconciliation")),
               _reconciliation(ctx) if ctx.rule is None else Text(ctx.t("report.dq.recon_public"), "note")]
    return Section("quality", ctx.t("report.section.quality"), blocks)


def _overall_table(ctx: Context, overall: pd.DataFrame, targets: dict):
    rows = overall.copy()
    good = rows["indicator"].map(lambda i: targets.get(i, (None, np.nan, np.nan))[1])
    acc = rows["indicator"].map(lambda i: targets.get(i, (None, np.nan, np.nan))[2])
    direction = rows["indicator"].map(lambda i: targets.get(i, (qcharts.direction_of(i), np.nan, np.nan))[0])
    status = [qcharts.target_status(np.array([v]), g, a, d)[0] for v, g, a, d in
              zip(rows["value"], good, acc, direction)]
    rows = rows.assign(good=good.to_numpy(), acceptable=acc.to_numpy(), direction=direction.to_numpy(), status=status)

    def value(r):
        if _withheld(ctx, r["count"], r["total"]):
            return DASH
        return ctx.num(r["value"], 2 if r["indicator"] == "mi_ratio" else 1)

    def target(col):
        return lambda r: (("\u2265 " if r["direction"] == "higher" else "\u2264 ") + ctx.num(r[col], 0)
                          if np.isfinite(r[col]) else DASH)

    columns = [(ctx.t("report.col.indicator"), "l", lambda r: ctx.t(f"charts.indicator_{r['indicator']}")),
               (ctx.t("report.col.value"), "r", value),
               (ctx.t("report.col.target"), "r", target("good")),
               (ctx.t("report.col.acceptable"), "r", target("acceptable")),
               (ctx.t("report.col.status"), "l", lambda r: ctx.t(STATUS_KEYS[r["status"]]))]
    return ctx.table(rows, columns, caption=ctx.t("report.dq.table", period=ctx.o.period_label()),
                     key="quality_overall", widths=[4.5, 1.2, 1.2, 1.4, 2],
                     note=ctx.t("report.dq.targets_note") + (" " + ctx.t("report.dq.public_note", k=ctx.k)
                                                                   if ctx.k else ""))


def _site_table(ctx: Context, by_site: pd.DataFrame, col: str):
    long = by_site[by_site["indicator"].isin(SITE_INDICATORS)]
    total = long[long["indicator"] == "mv_pct"].set_index(col)["total"]
    cell = long.assign(shown=[DASH if _withheld(ctx, c, n) else ctx.num(v, 1) for c, n, v in
                              zip(long["count"], long["total"], long["value"])])
    wide = cell.pivot_table(index=col, columns="indicator", values="shown", aggfunc="first", observed=True)
    wide = wide.reindex(columns=[i for i in SITE_INDICATORS if i in wide.columns]).fillna(DASH)
    wide = wide.assign(cases=total.reindex(wide.index)).reset_index().rename(columns={col: SITE})
    wide = wide[~wide[SITE].isin(tables.NOT_RANKED)].sort_values("cases", ascending=False, kind="stable")
    columns = [(ctx.t("report.col.site"), "l", lambda r: ctx.site(r[SITE])),
               (ctx.t("report.col.cases"), "r", lambda r: ctx.count(r["cases"], "primary" if _withheld(
                   ctx, r["cases"], r["cases"]) else "none"))]
    columns += [(ctx.t(f"report.dq.short_{i}"), "r", (lambda i: lambda r: r[i])(i))
                for i in SITE_INDICATORS if i in wide.columns]
    return ctx.table(wide, columns, caption=ctx.t("report.dq.by_site", period=ctx.o.period_label()),
                     key="quality_sites", size="small", widths=[4.5, 1.3] + [1.2] * (len(columns) - 2),
                     note=ctx.t("report.dq.by_site_note"))


def _reconciliation(ctx: Context):
    reg = ctx.data.registry
    recon = quality.translate_reconciliation(reg.reconciliation, ctx.lang, getattr(reg, "assumptions", ()))
    recon = recon.reset_index(drop=True)
    columns = [(ctx.t("report.col.status"), "l", lambda r: str(r["status"])),
               (ctx.t("report.col.reason"), "l", lambda r: str(r["description"] or r["reason"])),
               (ctx.t("report.col.records"), "r", lambda r: ctx.count(r["records"], r.get("suppression", "") or ""))]
    table = ctx.table(recon, columns, caption=ctx.t("report.dq.recon_table"), key="reconciliation",
                      widths=[1.4, 7, 1.4], note=ctx.t("report.dq.recon_note",
                                                       read=ctx.num(reg.n_read, 0), used=ctx.num(reg.n_used, 0),
                                                       excluded=ctx.num(reg.n_excluded, 0)))
    return table


# --- methods -------------------------------------------------------------------------------------
METHODS = ("crude", "asr", "cumrisk", "ci5", "sir", "apc", "prevalence", "quality", "figures")
REFERENCES = (
    "Bray F, Colombet M, Aitken JF, et al. (eds). Cancer Incidence in Five Continents, Vol. XII. IARC CancerBase "
    "No. 19. Lyon: IARC, 2023 (Vol. XI: IARC Scientific Publication No. 166, 2017).",
    "Jensen OM, Parkin DM, MacLennan R, Muir CS, Skeet RG (eds). Cancer Registration: Principles and Methods. "
    "IARC Scientific Publication No. 95. Lyon: IARC, 1991.",
    "Breslow NE, Day NE. Statistical Methods in Cancer Research, Vol. II. IARC Scientific Publication No. 82. "
    "Lyon: IARC, 1987.",
    "Segi M. Cancer mortality for selected sites in 24 countries (1950-57). Sendai: Tohoku University, 1960.",
    "Tiwari RC, Clegg LX, Zou Z. Efficient interval estimation for age-adjusted cancer rates. Stat Methods Med Res "
    "2006;15:547-569.",
    "Fay MP, Feuer EJ. Confidence intervals for directly standardized rates: a method based on the gamma "
    "distribution. Stat Med 1997;16:791-801.",
    "Kim HJ, Fay MP, Feuer EJ, Midthune DN. Permutation tests for joinpoint regression with applications to cancer "
    "rates. Stat Med 2000;19:335-351.",
    "Clegg LX, Hankey BF, Tiwari R, Feuer EJ, Edwards BK. Estimating average annual per cent change in trend analysis. "
    "Stat Med 2009;28:3670-3682.",
    "Gail MH, Kessler L, Midthune D, Scoppa S. Two approaches for estimating disease prevalence from population-based "
    "registries of incidence and total mortality. Biometrics 1999;55:1137-1144.",
    "Clayton D, Kaldor J. Empirical Bayes estimates of age-standardized relative risks for use in disease mapping. "
    "Biometrics 1987;43:671-681.",
    "Bray F, Parkin DM. Evaluation of data quality in the cancer registry: principles and methods. Part I: "
    "comparability, validity and timeliness. Eur J Cancer 2009;45:747-755.",
    "Parkin DM, Bray F. Evaluation of data quality in the cancer registry: principles and methods. Part II: "
    "completeness. Eur J Cancer 2009;45:756-764.",
)


def methods(ctx: Context, figures_note: str = "") -> Section:
    o = ctx.o
    blocks: list = []
    for key in METHODS:
        blocks += [Heading(ctx.t(f"report.methods.{key}"), 3), Text(ctx.t(f"report.methods.{key}_text"))]
    blocks += [Heading(ctx.t("report.methods.options"), 3), BulletList([
        ctx.t("report.methods.opt_period", period=o.period_label()),
        ctx.t("report.methods.opt_standard", standard=f"{standard_label(o.standard, ctx.lang)} ({o.standard})"),
        ctx.t("report.methods.opt_ci", method=ctx.t(f"app.ci.{o.method}"), level=ctx.num(100 * o.conf, 1 if
                                                                                       (100 * o.conf) % 1 else 0)),
        ctx.t("report.methods.opt_sites", scheme=ctx.t(f"app.scheme.{o.scheme}")),
    ])]
    blocks += [Heading(ctx.t("report.methods.disclosure"), 3), Text(disclosure_text(ctx))]
    if ctx.rule is not None and ctx.rule.uses_demo_secret:
        blocks.append(Text(ctx.t("report.methods.disclosure_demo"), "note"))
    if figures_note:
        blocks.append(Text(ctx.t("report.figures_unavailable", reason=figures_note), "note"))
    refs = list(REFERENCES) + ([f"{r}." for r in disclosure.REFERENCES] if ctx.rule is not None else [])
    blocks += [Heading(ctx.t("report.methods.references"), 3), BulletList(refs)]
    return Section("methods", ctx.t("report.section.methods"), blocks)


def disclosure_text(ctx: Context) -> str:
    """The disclosure rule applied to this document, in words, from the rule object in force
    (``analytics.disclosure.DisclosureRule``: its sentence, parameters and identifier)."""
    rule = ctx.rule
    if rule is None:
        return ctx.t("report.methods.disclosure_off")
    about = rule.describe()
    return ctx.t("report.methods.disclosure_on", rule=rule.text(ctx.lang), method=about["method"], k=rule.k,
                 d=rule.max_noise, v=ctx.num(rule.variance, 1 if rule.variance % 1 else 0),
                 fingerprint=rule.fingerprint)

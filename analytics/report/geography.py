"""Report section on regions: the ASR of each economic region against the national value, the
smoothed SIR map of the districts and the district table (the Incidence and Maps pages' numbers)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import narrative, tables
from analytics import schema as S
from analytics.charts import incidence as icharts
from analytics.charts import maps as mc
from analytics.report.common import DASH, Context, suppression_of
from analytics.report.model import Section, Text

MAP_MEASURE = "smoothed"
MAP_SCHEME = "ratio"
MAP_CLASSES = 5


def name_column(ctx: Context) -> str:
    """The economic regions' names in the document's language (local names in Azerbaijani)."""
    return S.PARENT_NAME if ctx.lang == "az" else "parent_name_en"


def level_names(ctx: Context, level: str) -> pd.Series:
    col = name_column(ctx) if level == S.PARENT else S.REGION_NAME
    return ctx.data.regions.drop_duplicates(level).set_index(level)[col]


def national(ctx: Context, sel=None) -> pd.Series | None:
    nat = ctx.dsr((), sel)
    return nat.iloc[0] if len(nat) else None


def compared(ctx: Context, level: str = S.PARENT, sel=None) -> pd.DataFrame:
    """Rates by region with their status against the national value (Incidence page; in public
    output from the published counts, a region's count below k withheld with its rates)."""
    nat = national(ctx, sel)
    value = float(nat["value"]) if nat is not None else None
    by_region = ctx.dsr((level,), sel)
    return tables.regions_compared(by_region, value, level=level, names=level_names(ctx, level))


def measures(ctx: Context, level: str = S.REGION, sel=None):
    """Regional measures of the Maps page (SIR against the pooled national rates, smoothed SIR),
    as published, with the geometry and GeoJSON of the level; None without region polygons."""
    if ctx.data.geo is None:
        return None
    sel = sel or ctx.selection()

    def make():
        geo, w, gj = ctx.data.memo(("geometry", level, ctx.lang),
                                   lambda: tables.level_geometry(ctx.data.geo, level, ctx.lang))
        m_all = tables.map_measures(_mapped(ctx, ctx.counts((level,), sel), level), level=level, w=w,
                                    standard=ctx.o.standard,
                                    conf=ctx.o.conf, ci_method=ctx.o.method, k=ctx.k)
        m = tables.published_measures(m_all, level=level, k=ctx.k, lang=ctx.lang)
        names = geo.set_index(level)[S.REGION_NAME]
        return geo, gj, m.assign(**{S.REGION_NAME: m[level].map(names).fillna(m[level])})
    return ctx.memo(("measures", level, sel), make)


def _mapped(ctx: Context, data: pd.DataFrame, level: str) -> pd.DataFrame:
    """Rows of regions in the regions table only (as the Maps page: records of an unknown
    region are counted nationally, in no region)."""
    return data[data[level].astype(str).isin(set(ctx.data.regions[level].astype(str)))]


def sir_map(ctx: Context, title: str, sel=None, *, height: int = 560, highlight: str | None = None,
            level: str = S.REGION):
    """The smoothed SIR choropleth of the districts, or None without polygons."""
    got = measures(ctx, level, sel)
    if got is None:
        return None, None
    geo, gj, m = got
    frame = m.rename(columns={level: S.REGION}) if level != S.REGION else m
    geo = geo.rename(columns={level: S.REGION}) if level != S.REGION else geo
    fig = mc.choropleth(geo, frame, MAP_MEASURE, scheme=MAP_SCHEME, k=MAP_CLASSES, lang=ctx.lang, title=title,
                        decimals=2, geojson=gj, height=height, highlight=highlight)
    return fig, m


def regions(ctx: Context) -> Section:
    o = ctx.o
    title = ctx.t("report.section.regions")
    blocks: list = [Text(ctx.t("report.geography.intro"))]
    has_parents = (ctx.data.regions[S.PARENT].astype(str) != "").any()
    nat = national(ctx)
    if has_parents and nat is not None:
        reg = compared(ctx, S.PARENT)
        blocks += [Text(narrative.regions_sentence(reg, float(nat["value"]), lang=ctx.lang), "reading"),
                   _region_table(ctx, reg, nat)]
        chart_title = ctx.t("report.geography.chart", period=o.period_label())
        fig = icharts.regions_compared(reg, national=float(nat["value"]), region="region_name", lang=ctx.lang,
                                       standard=o.standard, conf=o.conf, k=ctx.k, title=chart_title)
        blocks.append(ctx.figure(fig, chart_title, key="regions_compared"))
    map_title = ctx.t("report.geography.map", period=o.period_label())
    fig, m = sir_map(ctx, map_title)
    if fig is None:
        blocks.append(Text(ctx.t("report.geography.no_map"), "note"))
        return Section("regions", title, blocks)
    blocks += [ctx.figure(fig, map_title, key="sir_map", note=ctx.t("report.geography.map_note")),
               Text(narrative.sir_map_sentence(m, lang=ctx.lang), "reading"), _district_table(ctx, m)]
    return Section("regions", title, blocks)


def _region_table(ctx: Context, reg: pd.DataFrame, nat: pd.Series):
    o = ctx.o
    total = {S.PARENT: "", "region_name": ctx.t("report.geography.country"), "count": nat["count"],
             "crude_rate": nat["crude_rate"], "value": nat["value"], "lower": nat["lower"], "upper": nat["upper"],
             "status": "", "suppression": ""}
    frame = pd.concat([reg.sort_values("value", ascending=False, kind="stable"), pd.DataFrame([total])],
                      ignore_index=True)
    level = ctx.num(100 * o.conf, 0)
    columns = [(ctx.t("report.col.region"), "l", lambda r: str(r["region_name"])),
               (ctx.t("report.col.cases"), "r", lambda r: ctx.count(r["count"], suppression_of(r))),
               (ctx.t("report.col.crude"), "r", lambda r: ctx.num(r["crude_rate"])),
               (ctx.t("report.col.asr"), "r", lambda r: ctx.num(r["value"])),
               (ctx.t("report.col.ci", level=level), "r", lambda r: ctx.ci(r["lower"], r["upper"])),
               (ctx.t("report.col.vs_national"), "l",
                lambda r: ctx.t(f"app.status.{r['status']}") if r["status"] in ("higher", "lower", "same") else "")]
    return ctx.table(frame, columns, caption=ctx.t("report.geography.table", period=o.period_label()), key="regions",
                     widths=[3.2, 1.2, 1.2, 1.1, 1.8, 2.6], bold=lambda r: r["status"] == "",
                     note=ctx.t("report.geography.table_note", standard=ctx.standard_name))


def _district_table(ctx: Context, m: pd.DataFrame):
    parent = ctx.data.regions.drop_duplicates(S.REGION).set_index(S.REGION)[S.PARENT]
    names = level_names(ctx, S.PARENT)
    frame = m.assign(parent_name=m[S.REGION].map(parent).map(names).fillna(""))
    frame = frame.sort_values(["parent_name", S.REGION_NAME], kind="stable")
    level = ctx.num(100 * ctx.o.conf, 0)
    columns = [(ctx.t("report.col.district"), "l", lambda r: str(r[S.REGION_NAME])),
               (ctx.t("report.col.economic_region"), "l", lambda r: str(r["parent_name"])),
               (ctx.t("report.col.cases"), "r", lambda r: ctx.count(r["cases"], suppression_of(r))),
               (ctx.t("report.col.expected"), "r", lambda r: ctx.num(r["expected"], 1)),
               ("SIR", "r", lambda r: _num(ctx, r["sir"], 2)),
               (ctx.t("report.col.ci", level=level), "r", lambda r: ctx.ci(r["sir_lower"], r["sir_upper"], 2)),
               (ctx.t("report.col.smoothed"), "r", lambda r: _num(ctx, r["smoothed"], 2)),
               (ctx.t("report.col.significance"), "l", lambda r: _significance(ctx, r["significance"]))]
    return ctx.table(frame, columns, caption=ctx.t("report.geography.districts", period=ctx.o.period_label()),
                     key="districts", size="small", widths=[2.2, 3.4, 1.1, 1.2, 0.9, 1.6, 1.2, 1.6],
                     note=ctx.t("report.geography.districts_note"))


def _num(ctx: Context, x, d: int) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return DASH
    return ctx.num(v, d) if np.isfinite(v) else DASH


def _significance(ctx: Context, value) -> str:
    key = {"higher": "report.sig.higher", "lower": "report.sig.lower", "not significant": "report.sig.same"}.get(
        str(value))
    return ctx.t(key) if key else DASH

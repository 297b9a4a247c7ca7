"""Projections: expected new cases to 2050 (demographic, scenario, Nordpred) and the
decomposition of the change into population growth, ageing and risk."""
import dataclasses
import logging

import numpy as np
import pandas as pd
import streamlit as st

from analytics import schema as S
from analytics import projections as pj
from analytics.i18n import sex_label
from analytics.charts import trends as charts
from analytics.ingest import sandbox, upload
from app_support import audit, auth, cache, filters, state, widgets
from app_support.text import md

log = logging.getLogger(__name__)
f = filters.sidebar_filters()
ds = filters.dataset()

st.title(f.t("app.page.projections"))
st.caption(f.t("trends.proj.intro"))
st.caption(widgets.page_caption(f, ds, measure="projection"))

c1, c2, c3 = st.columns(3)
with c1:
    target = int(filters.page_control("pj_year", "2040", ["2030", "2035", "2040", "2045", "2050"],
                                      lambda **kw: st.selectbox(f.t("trends.proj.target"), **kw)))
with c2:
    change = filters.page_control("pj_chg", "0", ["-2", "-1", "0", "1", "2"], lambda **kw: st.selectbox(
        f.t("trends.proj.change"), format_func=lambda v: f"{int(v):+d} %" if v != "0" else "0 %", **kw))
with c3:
    dec_method = filters.page_control("pj_dec", "demographic", ["demographic", "nordpred"], lambda **kw: st.radio(
        f.t("trends.proj.method_for_decomp"), horizontal=True, format_func=lambda v: f.t(f"trends.method.{v}"), **kw))


def _projection_source():
    widgets.translate_uploaders(f.lang)
    # uploads are the registrar's (app_support/auth.py): none in public mode or for other roles
    up = st.file_uploader(f.t("trends.proj.upload"), type=["csv", "xlsx", "parquet"],
                          key="pj_upload") if auth.can(auth.UPLOAD) else None
    if up is not None:
        # parsed in the ingest worker (limits, memory cap); the file joins the dataset token
        cached = st.session_state.get("_pj_upload")
        if cached is None or cached[0] != state.file_digest(up.getvalue()):
            outcome = sandbox.run(upload.projection, up.getvalue(), up.name, label=up.name)
            audit.log_page_upload("projection", up.name, up.getvalue(), outcome.error is None)
            cached = (state.file_digest(up.getvalue()), outcome.value, outcome.error)
            st.session_state["_pj_upload"] = cached
            if outcome.error is None and state.page_upload("projection", up.name, up.getvalue()):
                st.rerun()
        if cached[2] is None:
            return cached[1], up.name
        st.error(md(str(cached[2])))
    elif state.page_upload("projection", None, None):
        st.rerun()
    if ds.is_demo:
        from analytics import demo

        return demo.load_demo_projection(), f.t("describe.wpp_medium")
    return None, None


projection, source = _projection_source()
sexes = tuple(s for s in f.sex_codes if s in (S.MALE, S.FEMALE))
# Cases of unknown age have no person-years, hence no rate: shared pro rata among the known
# age groups of their sex (IARC practice), so projections and the decomposition keep every case.
base = pj.allocate_unknown_age(cache.rate_input(ds, f, by=("sex",), sexes=sexes), by=["sex"])
if projection is None:
    st.info(f.t("trends.proj.no_projection"))
    st.stop()
if base.empty or not base["count"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
# The base is the cases of known sex (rates by sex); the Overview counts cases of unknown sex
# too. Say so, with both numbers, when they differ.
overview_cases = float(cache.dsr(ds, f)["count"].sum())
base_cases = float(base["count"].sum())
base_note = ""
if overview_cases - base_cases >= 0.5:
    base_note = f.t("describe.proj_base_note", period=f.period_label(),
                    base=widgets.fmt(base_cases / f.n_years, f.lang, 0),
                    unknown=widgets.fmt(overview_cases - base_cases, f.lang, 0),
                    overview=widgets.fmt(overview_cases / f.n_years, f.lang, 0))
    st.caption(base_note)

# Current rates: the sidebar period; the registry's population of its last year is carried
# forward with the projection's growth by sex and age.
rates = base.assign(rate=base["count"] / base["population"].where(base["population"] > 0))
last = cache.rate_input(ds, dataclasses.replace(f, y0=f.y1), by=("sex",), sexes=sexes)
reg_pop = last[["sex", "age_group", "population"]].assign(year=f.y1)
try:
    future = pj.rebase_population(reg_pop, projection, base_year=f.y1, by=["sex"],
                                  years=range(f.y1 + 1, 2051))
    demo_proj = pj.demographic_projection(rates, future, by=["sex"], base_year=f.y1, by_age=True)
except pj.ProjectionInputError as e:   # an uploaded projection that does not match the registry
    st.error(md(str(e)))
    st.stop()
frames = [demo_proj.assign(method="demographic")]
if change != "0":
    frames.append(pj.demographic_projection(rates, future, by=["sex"], base_year=f.y1, by_age=True,
                                            annual_change=int(change) / 100).assign(method="scenario"))

# Nordpred on every year of the registry in 5-year periods ending with the last year.
years = sorted(int(y) for y in ds.population[S.YEAR].dropna().unique())
fa = dataclasses.replace(f, y0=years[0], y1=years[-1])
yearly = pj.allocate_unknown_age(cache.rate_input(ds, fa, by=("year", "sex"), sexes=sexes), by=["year", "sex"])
nord_note = ""


# Nordpred needs three complete, consecutive 5-year periods ending with the last year: count
# the unbroken run of years back from it (a gap ends the usable series).
have = set(years)
n_years = 0
while years and years[-1] - n_years in have:
    n_years += 1
nord = None
nord_problems: list[str] = []
if n_years >= 15:
    try:
        nord, info = cache.nordpred(ds, yearly[yearly["year"] > years[-1] - n_years], future, years[-1])
    except (pj.ProjectionInputError, ValueError, np.linalg.LinAlgError) as e:  # show why instead of stopping the page
        log.warning("Nordpred not fitted: %s", e)
        st.warning(md(str(e)))
    if nord is not None:
        # Yearly average of each 5-year period, drawn at the middle year.
        nyear = nord.groupby(["period", "sex"])["cases"].sum().reset_index()
        frames.append(nyear.assign(year=nyear["period"] + 2, cases=nyear["cases"] / 5, method="nordpred")
                      [["sex", "year", "cases", "method"]])
        used = info[0][1]
        nord_note = f.t("trends.proj.nordpred_note",
                        periods=f"{pj.period_label(used[0])}…{pj.period_label(used[-1])}",
                        drift=f.t("trends.drift.recent") if any(i[3] for i in info) else f.t("trends.drift.average"))
        # a fit that did not converge is said on the page and in the chart's notes (exports)
        for sx, *_, converged, iterations, curvature_ok in info:
            for ok, key in ((converged, "describe.proj_not_converged"),
                            (curvature_ok, "describe.proj_curvature_not_converged")):
                if not ok:
                    nord_problems.append(f.t(key, sex=sex_label(sx, f.lang).lower(), n=iterations))
        for line in nord_problems:
            st.warning(line)
else:
    st.info(f.t("trends.proj.nordpred_short", n=n_years))

projected = pd.concat(frames, ignore_index=True)
total = projected.groupby(["method", "year"], sort=False)["cases"].sum().reset_index()
observed = yearly.groupby("year")["count"].sum().rename("cases").reset_index()
if f.public:   # computed from published counts; fewer than k (expected) cases are not shown
    total, observed = (cache.protect(d, count=None, cells=["cases"]) for d in (total, observed))

site = f.site_name(f.site)
table = projected.groupby(["method", "sex", "year"])["cases"].sum().reset_index().round(1)
if f.public:   # published counts: fewer than k projected cases withheld
    table = cache.protect(table, count=None, cells=["cases"])
# projected from the rates of the sidebar period: described without the projected years
base_line = f.t("describe.proj_base_period", period=f.period_label(), last=int(table["year"].max()))
d_proj = widgets.describe(f, ds, table.drop(columns=["year"]), "projection", sexes=sexes,
                          notes=tuple(x for x in (base_line, base_note, *nord_problems) if x))
sex_word = d_proj.sex_text(f.lang)
title = f"{f.t('trends.proj.chart_title', site=site, sex=sex_word)}, {d_proj.context(f.lang, sex=False, period=False)}".rstrip(", ")
widgets.chart_with_table(
    charts.projection_chart(observed, total, lang=f.lang, theme=f.theme, title=title),
    table, name="projections_cases", f=f, ds=ds, title=title, desc=d_proj,
    reading=f.t("trends.proj.source", source=source, year=f.y1) + (" " + nord_note if nord_note else ""))

# Decomposition: the base period's yearly average against the target year.
start = base.assign(cases=base["count"] / f.n_years, population=base["population"] / f.n_years)
if dec_method == "nordpred" and nord is not None:
    per = nord[(nord["period"] <= target) & (target <= nord["period"] + 4)]
    end = per.assign(cases=per["cases"] / 5, population=per["population"] / 5)[["sex", "age_group", "cases", "population"]]
else:
    sel = "scenario" if change != "0" else "demographic"
    end = projected[(projected["method"] == sel) & (projected["year"] == target)][["sex", "age_group", "cases", "population"]]
if len(end):
    dec = pj.decompose_change(start[["sex", "age_group", "cases", "population"]], end, by=["sex"])
    tot = dec[["cases_start", "cases_end", "change", "growth", "ageing", "risk"]].sum()
    if f.public and any(0 < tot[c] < filters.PUBLIC_K for c in ("cases_start", "cases_end")):
        st.info(f.t("disclosure.few_cases", k=filters.PUBLIC_K))   # the waterfall prints both counts
        st.stop()
    base_label = f.t("trends.proj.base", period=f.period_label())
    d_dec = widgets.describe(f, ds, dec.drop(columns=[c for c in ("year",) if c in dec.columns]), "decomposition",
                             sexes=sexes, notes=(base_note,) if base_note else ())
    title = f.t("trends.proj.decomp_title", start=f.period_label(), end=target, site=site, sex=sex_word)
    where = d_dec.context(f.lang, sex=False, period=False)
    title = f"{title}, {where}" if where else title
    pct = 100 * tot["change"] / tot["cases_start"] if tot["cases_start"] > 0 else np.nan
    sign = lambda v: "0" if abs(v) < 0.5 else ("+" if v > 0 else "−") + widgets.fmt(abs(v), f.lang, 0)  # noqa: E731
    reading = f.t("trends.proj.reading", year=target, cases=widgets.count_text(tot["cases_end"], f),
                  change=("+" if pct >= 0 else "−") + widgets.fmt(abs(pct), f.lang, 0) + " %",
                  base=base_label, growth=sign(tot["growth"]), ageing=sign(tot["ageing"]), risk=sign(tot["risk"]))
    st.markdown(f"- {md(reading)}")
    dec_table = pd.concat([dec.assign(sex=dec["sex"].map(lambda v: sex_label(v, f.lang))),
                           pd.DataFrame([{"sex": sex_label(0, f.lang), **tot.to_dict()}])], ignore_index=True).round(1)
    if f.public:
        dec_table = cache.protect(dec_table, count=None, cells=["cases_start", "cases_end"])
    widgets.chart_with_table(
        charts.decomposition_chart(tot, start_label=base_label, end_label=str(target), lang=f.lang, theme=f.theme,
                                   title=title),
        dec_table, name="projections_decomposition", f=f, ds=ds, title=title, reading=reading, desc=d_dec,
        table_note=f.t("trends.proj.decomp_note"))

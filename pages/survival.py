"""Survival: net (Pohar Perme), relative (Ederer II) and observed survival curves by sex, age group,
period or region with CIs; 1-, 3-, 5- and 10-year survival by site, crude and ICSS age-standardised;
follow-up completeness beside every curve; the plain-language reading; the life table used."""
import numpy as np
import streamlit as st

from analytics import lifetable as lifetable_mod
from analytics.charts import survival as charts
from analytics.i18n import format_number, sex_label, site_label
from analytics.ingest import sandbox, upload
from analytics.survival import ICSS_WEIGHTS, METHODS, icss_standard, reading
from app_support import audit, auth, cache, filters, state, tables, widgets
from app_support.text import md

f = filters.sidebar_filters()
ds0 = filters.dataset()
st.title(f.t("app.page.survival"))
st.caption(f.t("survival.page.intro"))

# --- the population life table: the data set's own (the demo's), or one uploaded here -------
with st.expander(f.t("survival.lifetable.title"), expanded=False):
    st.caption(f.t("survival.lifetable.help"))
    # uploads are the registrar's (app_support/auth.py): none in public mode or for other roles
    up = st.file_uploader(f.t("survival.lifetable.upload"), type=["csv", "tsv", "txt", "xlsx", "parquet"],
                          key="up_lifetable") if auth.can(auth.UPLOAD) else None
    if up is not None:
        raw = up.getvalue()
        held = st.session_state.get(state.LIFETABLE_KEY)
        if held is None or held[1] != raw:
            # parsed in the ingest worker (limits, memory cap, time limit), never in the server
            outcome = sandbox.run(upload.lifetable, raw, up.name, label=up.name)
            audit.log_page_upload("lifetable", up.name, raw, outcome.error is None)
            if outcome.error is not None:
                st.error(md(str(outcome.error)))
            else:
                st.session_state[state.LIFETABLE_KEY] = (up.name, raw, outcome.value)
    if st.session_state.get(state.LIFETABLE_KEY) is not None and st.button(f.t("survival.lifetable.remove"),
                                                                          key="lifetable_remove"):
        st.session_state[state.LIFETABLE_KEY] = None
        st.rerun()
ds = state.with_lifetable(ds0)
lt_name = {"demo": f.t("survival.lifetable.demo"), "demo_fallback": f.t("survival.lifetable.demo")}.get(
    ds.lifetable_label, ds.lifetable_label)
if ds.lifetable_label == "demo_fallback":
    st.warning(f.t("survival.lifetable.fallback"))
lt_years = (int(ds.lifetable["year"].min()), int(ds.lifetable["year"].max()))
for note in lifetable_mod.check_lifetable(ds.lifetable, first_year=f.y0, last_year=max(f.y1, lt_years[0])):
    st.caption(note)

# --- page controls (in the URL) ----------------------------------------------------------------
c1, c2, c3, c4 = st.columns(4)
with c1:
    method = filters.page_control("sv_method", "pohar_perme", list(METHODS), lambda **kw: st.selectbox(
        f.t("survival.ctrl.method"), format_func=lambda m: f.t(f"survival.method.{m}"), **kw))
with c2:
    approach = filters.page_control("sv_approach", "period", ["period", "cohort", "complete"], lambda **kw: st.selectbox(
        f.t("survival.ctrl.approach"), format_func=lambda a: f.t(f"survival.approach.{a}"), **kw))
with c3:
    group = filters.page_control("sv_by", "sex", list(cache.SURVIVAL_GROUPS), lambda **kw: st.selectbox(
        f.t("survival.ctrl.by"), format_func=lambda g: f.t(f"survival.by.{g}"), **kw))
with c4:
    years = int(filters.page_control("sv_time", "5", ["1", "3", "5", "10"], lambda **kw: st.selectbox(
        f.t("survival.ctrl.time"), format_func=lambda y: f.t("survival.years", n=y), **kw)))
t1, t2 = st.columns(2)
with t1:
    show_obs = filters.page_toggle("sv_obs", f.t("survival.ctrl.observed"), default=True)
with t2:
    first_only = filters.page_toggle("sv_first", f.t("survival.ctrl.first_primary"))
measure = {"pohar_perme": "net", "ederer2": "relative", "observed": "observed"}[method]
if group == "period" and approach == "period":
    st.info(f.t("survival.by.period_note"))
    group = "none"

# the by-site table (at the page's end) is fitted in a worker process while this one fits the curves
cache.start_survival_by_site(ds, f, method, approach, first_only)
res = cache.survival_curves(ds, f, group, method, approach, show_obs and method != "observed", first_only)
period_text = f.period_label()
approach_text = f.t(f"survival.approach.{approach}")
if approach == "period":
    approach_text = f.t("survival.approach_window", window=period_text)
else:
    approach_text = f.t("survival.approach_diagnosed", approach=approach_text, period=period_text)
d = f.describe(ds)
what = f.t("survival.caption", measure=f.t(f"survival.method.{method}"), approach=approach_text, site=d["site"],
           sex=d["sex"], region=f.t("app.region.all") if d["region"] == "all" else d["region"], ages=d["ages"],
           lifetable=lt_name, level=f.conf)
st.caption(widgets.page_caption(f, ds, measure=f"survival_{measure}", reference=lt_name))
if res["n"] == 0 or res["curves"].empty:
    st.info(f.t("survival.empty"))
    st.stop()


# --- headline numbers and the reading ---------------------------------------------------------
def label_of(g) -> str:
    if group == "sex":
        return sex_label(int(g), f.lang)
    if group == "region":
        names = dict(zip(ds.regions["parent_code"], ds.regions[f.er_name_column]))
        return names.get(g, str(g)) or f.t("survival.region_unknown")
    return str(g)


comp = res["completeness"]
overall_c = float((comp["clark_c"] * comp["n"]).sum() / comp["n"].sum()) if len(comp) else np.nan
lost_pct = float((comp["pct_lost"] * comp["n"]).sum() / comp["n"].sum()) if len(comp) else np.nan
at = res["at"]
at_t = at[np.isclose(at["time"], years)]
tiles = [(f.t("survival.metric.clark"), widgets.fmt(overall_c, f.lang, 1) + " %", f.t("survival.metric.clark_help")),
         (f.t("survival.metric.lost"), widgets.fmt(lost_pct, f.lang, 1) + " %", None)]
if not f.public:   # exact numbers of patients and deaths are not public output (cache._public_survival)
    tot = comp[["n", "deaths"]].sum()
    tiles = [(f.t("survival.metric.patients"), widgets.fmt(tot["n"], f.lang, 0), None),
             (f.t("survival.metric.deaths"), widgets.fmt(tot["deaths"], f.lang, 0), None)] + tiles
widgets.metric_row(tiles)
sentences = []
for _, row in at_t.iterrows():
    sex = f.sex
    if group == "sex":
        sex = {1: "male", 2: "female"}[int(row["group"])]
    s = reading.survival_sentence(row["estimate"], row["lower"], row["upper"], years=years, measure=measure, sex=sex,
                                  site=f.site, period=period_text, approach=approach, conf=f.level, lang=f.lang)
    if s:
        sentences.append((f"{label_of(row['group'])}: " if group not in ("none", "sex") else "") + s)
for s in sentences:
    st.markdown(f"- {s}")
if not sentences:
    st.caption(f.t("survival.no_estimate", years=years))

# --- curves --------------------------------------------------------------------------------------
curves = res["curves"]
gcol = "group" if group != "none" else None
labels = {g: label_of(g) for g in curves["group"].unique()} if gcol else None
# what the curves show: the sexes or economic regions of the groups, the selection's site, period and ages
shown_by = {"sex": "sex", "region": "parent_code"}.get(group)
d_curves = widgets.describe(f, ds, at.rename(columns={"group": shown_by}) if shown_by else None, f"survival_{measure}",
                            reference=lt_name, **({"area": None} if group == "region" else {}))
title = f"{f.t('survival.chart.curves', measure=f.t(f'survival.measure.{measure}'))}: {d_curves.context(f.lang, site=True)}"
# figures built once per process for every session on the same view (cache.figure)
fig = cache.figure(ds, "survival_curves", charts.survival_curves_chart, curves, group=gcol, labels=labels,
                   observed=res["observed"] if show_obs and method != "observed" else None,
                   lang=f.lang, theme=f.theme, title=title, measure=measure, desc=d_curves,
                   caption=d_curves.caption(f.lang))
comp_lines = [f"{label_of(r['group']) + ': ' if gcol else ''}{reading.completeness_sentence(r['clark_c'], r['pct_lost'], lang=f.lang)}"
              for _, r in comp.iterrows()]
table = at.copy()
if gcol:
    table = table.merge(comp, on="group", how="left")
    table["group"] = table["group"].map(labels)
else:
    for k in ("n", "clark_c", "pct_lost", "n_lost"):
        table[k] = comp[k].iloc[0] if len(comp) and k in comp else np.nan
if f.public:
    table = table.drop(columns=list(cache.SURVIVAL_COUNTS), errors="ignore")
table = table.rename(columns={"group": group}).round(4)
headers = {c: f.t(f"survival.col.{c}") for c in ("time", "estimate", "n_risk", "events", "n", "deaths", "n_lost",
                                                 "pct_lost", "clark_c", "std_estimate", "std_lower", "std_upper",
                                                 "standard")}
headers[group] = f.t(f"survival.by.{group}")
widgets.chart_with_table(fig, table, name="survival_curves", f=f, ds=ds, title=title,
                         reading=" ".join(sentences[:2]) if sentences else "",
                         table_note=what + " " + "; ".join(comp_lines) + ".", headers=headers, desc=d_curves)
st.caption(what)
st.caption(" · ".join(comp_lines))

# --- age-standardised (ICSS) curve -------------------------------------------------------------
standard = icss_standard(f.site)
standard_text = standard.replace("ICSS", "ICSS ")
st.subheader(f.t("survival.std.title", measure=f.t(f"survival.measure.{measure}"), standard=standard_text))
if group == "age":      # the age groups are the standard's own strata
    st.caption(f.t("survival.std.by_age"))
else:
    std = cache.survival_standardised(ds, f, group, method, approach, first_only)
    std_at = std[np.isclose(std["time"], years)]
    std_sentences = []
    for _, row in std_at.iterrows():
        sex = {1: "male", 2: "female"}[int(row["group"])] if group == "sex" else f.sex
        s = reading.survival_sentence(row["estimate"], row["lower"], row["upper"], years=years, measure=measure,
                                      sex=sex, site=f.site, period=period_text, approach=approach, conf=f.level,
                                      lang=f.lang, standardised=True)
        if s:
            std_sentences.append((f"{label_of(row['group'])}: " if group not in ("none", "sex") else "") + s)
    std_note = f.t("survival.std.note", standard=standard_text,
                   weights=", ".join(widgets.fmt(100 * w, f.lang, 0) + " %" for w in ICSS_WEIGHTS[standard]))
    d_std = widgets.describe(f, ds, std_at.rename(columns={"group": shown_by}) if shown_by else None,
                             f"survival_{measure}", reference=lt_name, notes=(std_note,),
                             label=f.t("survival.std.measure", measure=f.t(f"survival.measure.{measure}"),
                                       standard=standard_text),
                             **({"area": None} if group == "region" else {}))
    std_title = (f"{f.t('survival.std.chart', measure=f.t(f'survival.measure.{measure}'), standard=standard_text)}: "
                 f"{d_std.context(f.lang, site=True)}")
    std_fig = cache.figure(ds, "survival_standardised", charts.standardised_chart, std, group=gcol, labels=labels,
                           crude=curves, lang=f.lang, theme=f.theme, title=std_title, measure=measure,
                           standard=standard, desc=d_std, caption=d_std.caption(f.lang))
    std_table = std.drop(columns=["se"], errors="ignore").copy()
    if gcol:
        std_table["group"] = std_table["group"].map(labels)
    std_table = std_table.rename(columns={"group": group}).round(4)
    widgets.chart_with_table(std_fig, std_table, name="survival_standardised", f=f, ds=ds, title=std_title,
                             reading=" ".join(std_sentences[:2]),
                             table_note=what + " " + std_note + " " + "; ".join(comp_lines) + ".", headers=headers,
                             desc=d_std)
    st.caption(" · ".join(comp_lines))     # follow-up completeness beside every curve
    for s in std_sentences:
        st.markdown(f"- {s}")
    if not std_sentences:
        st.caption(f.t("survival.std.none", years=years))

# --- actuarial life table (observed survival by yearly intervals) -----------------------------
st.subheader(f.t("survival.act.title"))
act = cache.survival_actuarial(ds, f, group, approach, first_only)
act_labels = {g: label_of(g) for g in act["group"].unique()} if gcol and len(act) else None
act_end = act[np.isclose(act["end"], years)] if len(act) else act
act_lines = []
for _, row in act_end.iterrows():
    if np.isfinite(row["estimate"]):
        line = f.t("survival.act.reading", years=years, value=widgets.fmt(100 * row["estimate"], f.lang, 0),
                   level=f.conf, lower=widgets.fmt(100 * row["lower"], f.lang, 0),
                   upper=widgets.fmt(100 * row["upper"], f.lang, 0))
        act_lines.append(f"{act_labels[row['group']]}: {line[0].lower()}{line[1:]}" if gcol else line)
d_act = widgets.describe(f, ds, act_end.rename(columns={"group": shown_by}) if shown_by else None,
                         "survival_observed", label=f.t("survival.act.measure"),
                         **({"area": None} if group == "region" else {}))
act_title = f"{f.t('survival.act.chart')}: {d_act.context(f.lang, site=True)}"
act_fig = cache.figure(ds, "survival_actuarial", charts.actuarial_chart, act, group=gcol, labels=act_labels,
                       lang=f.lang, theme=f.theme, title=act_title, desc=d_act, caption=d_act.caption(f.lang))
act_table = act.copy()
if gcol and len(act_table):
    act_table["group"] = act_table["group"].map(act_labels)
act_table = act_table.rename(columns={"group": group}).round(4)
act_headers = {**headers, **{c: f.t(f"survival.col.{c}") for c in ("start", "end", "n_entering", "entered", "censored",
                                                                    "n_effective", "q", "deaths", "se")}}
what_act = f.t("survival.act.caption", measure=f.t("survival.act.measure"), approach=approach_text, site=d["site"],
               sex=d["sex"], region=f.t("app.region.all") if d["region"] == "all" else d["region"], ages=d["ages"],
               level=f.conf)
widgets.chart_with_table(act_fig, act_table, name="survival_actuarial", f=f, ds=ds, title=act_title,
                         reading=" ".join(act_lines[:2]),
                         table_note=what_act + " " + f.t("survival.act.note") + " " + "; ".join(comp_lines) + ".",
                         headers=act_headers, desc=d_act)
st.caption(" · ".join(comp_lines))

# --- by site ----------------------------------------------------------------------------------------
st.subheader(f.t("survival.site.title", years=years, measure=f.t(f"survival.measure.{measure}")))
by_site = cache.survival_by_site(ds, f, method, approach, first_only)
MIN_PATIENTS = 50     # sites with fewer patients stay in the table, not in the chart or its reading
shown = by_site[(by_site["site"] != filters.ALL_SITES) & (by_site["n"] >= MIN_PATIENTS)]
d_sites = widgets.describe(f, ds, shown, f"survival_{measure}", reference=lt_name)
site_title = (f"{f.t('survival.chart.by_site', years=years, measure=f.t(f'survival.measure.{measure}'))}: "
              f"{d_sites.context(f.lang)}")
site_fig = cache.figure(ds, "survival_by_site", charts.survival_by_site_chart, shown, site="site", time=years,
                        lang=f.lang, theme=f.theme, title=site_title, measure=measure, desc=d_sites,
                        caption=d_sites.caption(f.lang))
bars = charts.sites_at(shown, time=years)     # the bars drawn, highest first: the reading names the first and last
site_reading = ""
if len(bars) >= 2:
    site_reading = f.t("survival.site.reading", years=years, measure=f.t(f"survival.reading.measure_{measure}"),
                       high=site_label(bars["site"].iloc[0], f.lang), high_v=format_number(100 * bars["estimate"].iloc[0], f.lang, 0),
                       low=site_label(bars["site"].iloc[-1], f.lang), low_v=format_number(100 * bars["estimate"].iloc[-1], f.lang, 0))
site_caption = f.t("survival.caption", measure=f.t(f"survival.method.{method}"), approach=approach_text,
                   site=f.t("survival.site.every"), sex=d["sex"],
                   region=f.t("app.region.all") if d["region"] == "all" else d["region"], ages=d["ages"],
                   lifetable=lt_name, level=f.conf)
wide = by_site.assign(site=by_site["site"].map(lambda s: f.t("app.site.all") if s == filters.ALL_SITES else s)).round(4)
if f.public:
    wide = wide.drop(columns=list(cache.SURVIVAL_COUNTS), errors="ignore")
widgets.chart_with_table(site_fig, wide, name="survival_by_site", f=f, ds=ds, title=site_title, reading=site_reading,
                         table_note=site_caption + " " + f.t("survival.site.std_note") + " "
                         + f.t("survival.site.min_note", n=MIN_PATIENTS), headers=headers, desc=d_sites)
st.caption(site_caption)

# --- reconciliation ---------------------------------------------------------------------------------
if f.public:   # exact counts of the records excluded are for registry staff
    st.caption(f.t("disclosure.records_hidden"))
    st.stop()
with st.expander(f.t("survival.recon.title"), expanded=False):
    recon = res["reconciliation"].copy()
    recon["description"] = recon["reason"].map(lambda r: f.t(f"survival.recon.{r}"))
    tables.show(recon[["reason", "description", "n"]], lang=f.lang, key="survival_recon")
    st.caption(f.t("survival.recon.note"))

"""Trends: ASR per year with the joinpoint fit, APC/AAPC table, plain-language reading,
comparison of sexes, leading sites or economic regions."""
import dataclasses

import pandas as pd
import streamlit as st

from analytics import presets
from analytics import schema as S
from analytics import tables as shared
from analytics.charts import trends as charts
from app_support import cache, filters, progress, widgets
from app_support.text import md, region_name, region_names

f = filters.sidebar_filters()
ds = filters.dataset()

head = st.container()   # the title names the measure chosen below it
f = filters.measure_switch(f)
head.title(f.tm("app.page.trends"))
st.caption(f.tm("trends.page.intro"))
st.caption(widgets.page_caption(f, ds, measure="trend"))
counts = {"count": f.t("mortality.col.deaths")} if f.mortality else None   # table header of the counts

c1, c2, c3 = st.columns(3)
with c1:
    compare = filters.page_control("tr_by", "sex", ["sex", "site", "region", "none"], lambda **kw: st.radio(
        f.t("trends.ctrl.compare"), horizontal=True, format_func=lambda v: f.t(f"trends.compare.{v}"), **kw))
with c2:
    selection = filters.page_control("tr_sel", "permutation", ["permutation", "wbic", "bic"], lambda **kw: st.selectbox(
        f.t("trends.ctrl.selection"), format_func=lambda v: f.t(f"trends.sel.{v}"), **kw))
with c3:
    max_jp = filters.page_control("tr_max", "auto", ["auto", "0", "1", "2", "3", "4", "5"], lambda **kw: st.selectbox(
        f.t("trends.ctrl.max_jp"), format_func=lambda v: f.t("trends.ctrl.auto") if v == "auto" else v, **kw))
t1, t2, t3 = st.columns(3)
with t1:
    all_years = filters.page_toggle("tr_all", f.t("trends.ctrl.all_years"), default=True)
with t2:
    log = filters.page_toggle("tr_log", f.t("trends.ctrl.log"))
with t3:
    weighted = filters.page_toggle("tr_w", f.t("trends.ctrl.weighted"))

years = sorted(int(y) for y in ds.population[S.YEAR].dropna().unique())
fy = dataclasses.replace(f, y0=years[0], y1=years[-1]) if all_years and years else f



def pick_several(name: str, options: list[str], default: list[str], label: str, fmt) -> list[str]:
    """A multiselect kept in the URL as a comma-separated list (``name=C50,C61``)."""
    wkey = f"p_{name}"
    if wkey not in st.session_state:
        raw = st.query_params.get(name)
        chosen = [v for v in raw.split(",") if v in options] if raw else []
        st.session_state[wkey] = chosen or default
    st.session_state[wkey] = [v for v in st.session_state[wkey] if v in options] or default
    out = st.multiselect(label, options, key=wkey, format_func=fmt, max_selections=8)
    value = ",".join(out)
    if st.query_params.get(name) != value:
        st.query_params[name] = value
    return out or default


if compare == "sex":
    # Men and women side by side, or only the sex chosen in the sidebar.
    series, sexes = S.SEX, tuple(s for s in (S.MALE, S.FEMALE) if s in f.sex_codes)
    rates = cache.dsr(ds, fy, by=("year", "sex"), sexes=sexes)
elif compare == "site":
    series = "site"
    per_site = cache.dsr(ds, fy, by=("site",))
    from analytics.charts.incidence import NOT_RANKED

    ranked = per_site[~per_site["site"].isin(NOT_RANKED) & (per_site["count"] > 0)].sort_values(
        "count", ascending=False)["site"].astype(str).tolist()
    default = ([f.site] if f.site in ranked else []) + [s for s in ranked if s != f.site][:5 - (f.site in ranked)]
    chosen = pick_several("tr_sites", ranked, default, f.t("trends.ctrl.sites"),
                          lambda v: charts.series_name(v, "site", f.lang))
    rates = cache.dsr(ds, fy, by=("year", "site"))
    rates = rates[rates["site"].isin(chosen)]
elif compare == "region":
    series = "region_name"
    rates = cache.dsr(ds, fy, by=("year", S.PARENT))
    names = ds.regions.drop_duplicates(S.PARENT).set_index(S.PARENT)[S.PARENT_NAME]
    rates = rates[rates[S.PARENT].astype(str) != ""]
    size = rates.groupby(rates[S.PARENT].astype(str))["count"].sum().sort_values(ascending=False)
    codes = sorted(size.index)
    chosen = pick_several("tr_regions", codes, codes if len(codes) <= 8 else sorted(size.index[:5]), f.t("trends.ctrl.regions"),
                          lambda v: region_name(v, f.lang, level=S.PARENT, fallback=names.get(v)))
    rates = rates[rates[S.PARENT].astype(str).isin(chosen)]
    rates = rates.assign(region_name=region_names(rates[S.PARENT], f.lang, level=S.PARENT, fallback=names))
else:
    series = None
    rates = cache.dsr(ds, fy, by=("year",))

if rates.empty or not rates["count"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
n_years = rates["year"].nunique()
if n_years < 3:
    st.info(f.t("trends.short", n=n_years))
    st.stop()


data = shared.trend_input(rates, series, public=f.public)
# the permutation tests run in a worker process (a progress bar while this session waits)
segs, fitted, aapc = cache.joinpoint_fit(ds, data, series, selection, max_jp, weighted, f.level,
                                         wait=progress.waiting(lambda pct: f.t("jobs.joinpoint", percent=pct)))

site_text = f.site_name(f.site) if compare != "site" else f.t("trends.compare.site")
for note in segs.loc[segs["note"].fillna("") != "", [c for c in [series, "note"] if c]].itertuples(index=False):
    name = charts.series_name(note[0], series, f.lang) if series else site_text
    st.warning(f.t("trends.failed", name=md(name), reason=md(note[-1])))

# Reading: the last segment of each series.
sel_sex = {"male": S.MALE, "female": S.FEMALE}.get(f.sex)
area = widgets.area_of(f)   # the readings name the region the rates are restricted to
area_name = region_name(area[1], f.lang, level=area[0], fallback=widgets.region_fallback_names(ds).get(area[1])) \
    if area and compare != "region" else None
readings = []
good = segs[segs["note"].fillna("") == ""]
for key, g in (good.groupby(series, sort=False) if series else [(None, good)]):
    key = key[0] if isinstance(key, tuple) else key
    last = g.sort_values("end").iloc[-1]
    if compare == "sex":
        who, site = charts.who_phrase(key, f.lang, region=area_name), f.site_name(f.site)
    elif compare == "site":
        who, site = charts.who_phrase(sel_sex, f.lang, region=area_name), charts.series_name(key, "site", f.lang)
    elif compare == "region":
        who, site = charts.who_phrase(sel_sex, f.lang, region=str(key)), f.site_name(f.site)
    else:
        who, site = charts.who_phrase(sel_sex, f.lang, region=area_name), f.site_name(f.site)
    readings.append(charts.apc_sentence(last, who=who, site=charts.site_phrase(site, f.lang), lang=f.lang,
                                        conf=f.level, keys="mortality.reading" if f.mortality else "trends.reading"))
for s in readings:
    st.markdown(f"- {md(s)}")

table = fitted.merge(data[[c for c in [series, "year", "count", "lower", "upper"] if c]],
                     on=[c for c in [series, "year"] if c], how="left")
# what is drawn: the rates of the series kept, over the years shown (all years when toggled)
shown_sexes = sexes if compare == "sex" else None
d_fit = widgets.describe(f, ds, rates, "trend", years=(fy.y0, fy.y1), sexes=shown_sexes,
                         area=None if compare == "region" else widgets.area_of(f))
title = f"{f.tm('trends.fit_title', site=site_text)}, {d_fit.context(f.lang)}"
widgets.chart_with_table(
    charts.trend_chart(table, good, series=series, log=log, lang=f.lang, theme=f.theme, title=title),
    table, name="trends_fit", f=fy, ds=ds, title=title, reading=" ".join(readings), headers=counts, desc=d_fit)

d_apc = widgets.as_measure(d_fit, f, "apc")
title = f"{f.tm('trends.apc_title', site=site_text)}, {d_apc.context(f.lang)}"
good_t = good.assign(segment=good["segment"].astype(int).astype(str))
seg_table = pd.concat([good_t, aapc], ignore_index=True) if len(aapc) else good_t
seg_table = seg_table.drop(columns=["note"], errors="ignore")
widgets.chart_with_table(
    charts.apc_chart(good, series=series, lang=f.lang, theme=f.theme, title=title, conf=f.level),
    seg_table.round({c: presets.number_format().apc for c in ("apc", "lower", "upper")}), name="trends_apc", f=fy, ds=ds,
    title=title, table_note=f.t("trends.table_note"), reading=" ".join(readings), desc=d_apc)

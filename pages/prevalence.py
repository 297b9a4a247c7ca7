"""Prevalence: N-year limited-duration prevalence (counting method) by site and sex."""
import numpy as np
import streamlit as st

from analytics import narrative
from analytics import schema as S
from analytics import tables as shared
from analytics.charts import trends as charts
from analytics.prevalence import ALL_SITES, PrevalenceInputError
from app_support import cache, filters, tables, widgets
from app_support.text import md

f = filters.sidebar_filters()
ds = filters.dataset()

st.title(f.t("app.page.prevalence"))
st.caption(f.t("trends.prev.intro"))
st.caption(widgets.page_caption(f, ds, measure="prevalence"))

years = sorted(int(y) for y in ds.population[S.YEAR].dropna().unique())
if not years:
    st.info(f.t("app.empty"))
    st.stop()
# The shared filters apply as on every page: the index date is the end of the sidebar period,
# sex, site and region select the people, the age range is age at the index date.
year = f.y1
st.caption(f.t("trends.prev.index_date", year=year))
c2, c3, c4 = st.columns(3)
with c2:
    duration = filters.page_control("pv_dur", "5", ["1", "3", "5", "10", "all"], lambda **kw: st.selectbox(
        f.t("trends.prev.duration"), format_func=lambda d: f.t(f"trends.dur.{d}"), **kw))
with c3:
    value = filters.page_control("pv_val", "count", ["count", "proportion", "asr"], lambda **kw: st.selectbox(
        f.t("trends.prev.value"), format_func=lambda v: f.t(f"trends.value.{v}"), **kw))
with c4:
    counting = filters.page_control("pv_cnt", "person", ["person", "tumour"], lambda **kw: st.radio(
        f.t("trends.prev.counting"), format_func=lambda v: f.t(f"trends.prev.{v}"), **kw))
adjust = filters.page_toggle("pv_adj", f.t("trends.prev.adjust"))
if f.public and adjust:   # fractional counts cannot be perturbed: public output counts people
    st.caption(f.t("disclosure.prevalence_adjust"))
    adjust = False


codes = f.region_codes(ds.regions)
try:
    table = cache.prevalence(ds, tuple(codes) if codes is not None else None, f.site_column, int(year), counting,
                    adjust, f.std, f.level, None if (f.a0, f.a1) == (0, 85) else tuple(f.age_groups), f.public)
except PrevalenceInputError as e:   # e.g. an upload without vital status or last-contact dates
    st.error(md(str(e)))
    st.stop()
nodate = int(table.attrs.get("excluded_unknown_incidence_date", 0))
# Missing sex is "unknown" (9): counted under both sexes, like the rest of the dashboard. Public
# output: counts below k and every figure derived from them are withheld.
table = shared.prevalence_view(table, sexes=f.sex_codes, site=f.site, site_column=f.site_column,
                               k=filters.PUBLIC_K if f.public else None)
if table.empty:
    st.info(f.t("app.empty"))
    st.stop()

date_label = f"31.12.{year}"
dur_label = f.t(f"trends.dur.{duration}")
# the headline is of the site chosen in the sidebar (all sites when none is)
head_site = f.site if f.site not in (filters.ALL_SITES, filters.ALL_BUT_C44) else ALL_SITES
overall = table
if f.public and f.sex == "both":   # both sexes' own published counts (a sum of withheld cells is not shown)
    overall = cache.prevalence(ds, tuple(codes) if codes is not None else None, f.site_column, int(year), counting,
                               adjust, f.std, f.level, None if (f.a0, f.a1) == (0, 85) else tuple(f.age_groups),
                               True, False)
    if f.site not in (filters.ALL_SITES, filters.ALL_BUT_C44):
        overall = overall[overall[f.site_column].isin([f.site, ALL_SITES])]
allsites = overall[(overall[f.site_column] == head_site) & (overall["duration"] == duration)]
tot = allsites["count"].sum(min_count=1)
popn = allsites["population"].sum(min_count=1)
lost, unknown = allsites["n_lost"].sum(min_count=1), allsites["n_unknown"].sum(min_count=1)
widgets.metric_row([
    (f.t("trends.prev.metric_count", duration=dur_label), widgets.count_text(tot, f), None),
    (f.t("trends.prev.metric_prop"), widgets.fmt(1e5 * tot / popn if popn and popn > 0 else np.nan, f.lang, 1), None),
    (f.t("trends.prev.metric_lost"), widgets.count_text(lost, f), None),
])

sites_only = table[table[f.site_column] != ALL_SITES]
shown = sites_only.assign(**{f.site_column: sites_only[f.site_column].astype(str)})
# people diagnosed in the N years up to the index date (all years of the registry for "all")
first = years[0] if duration == "all" else max(years[0], year - int(duration) + 1)
measure = {"count": "prevalence", "proportion": "prevalence_proportion", "asr": "prevalence_asr"}[value]
# the counting method has no "all sites but C44" total: that choice shows all sites
site_used = filters.ALL_SITES if f.site == filters.ALL_BUT_C44 else None
d_prev = widgets.describe(f, ds, shown[shown["duration"] == duration], measure, years=(first, year), site=site_used)
d_head = widgets.describe(f, ds, allsites, measure, years=(first, year), site=site_used)
st.caption(md(d_head.caption(f.lang)))
title = f.t("trends.prev.chart_title", duration=dur_label, date=date_label, sex=d_prev.context(f.lang, period=False)
            or d_prev.sex_text(f.lang))
widgets.chart_with_table(
    charts.prevalence_chart(shown, site=f.site_column, value=value, duration=duration, lang=f.lang,
                            theme=f.theme, title=title),
    shown[shown["duration"] == duration].round(2), name="prevalence_by_site", f=f, ds=ds, title=title, desc=d_prev,
    reading=narrative.prevalence_sentence(tot, popn, date=date_label, duration=dur_label, lang=f.lang,
                                          sites=overall[(overall[f.site_column] != ALL_SITES)
                                                        & (overall["duration"] == duration)],
                                          site=f.site_column, k=filters.PUBLIC_K if f.public else None),
    table_note=f.t("trends.prev.note", lost=widgets.count_text(lost, f), unknown=widgets.count_text(unknown, f),
                   nodate=widgets.count_text(nodate, f)) + (" " + f.t("trends.prev.adjusted_note") if adjust else ""))

st.subheader(f.t("trends.prev.table_title", date=date_label))
# on screen: words for codes and translated headers; the downloads keep codes and column names
full = table.round(2)
d_full = widgets.describe(f, ds, full, "prevalence", years=(years[0], year), site=site_used)
st.caption(md(d_full.caption(f.lang)))
shown_full = full.assign(duration=full["duration"].map(lambda d: f.t(f"trends.dur.{d}")),
                         **{f.site_column: full[f.site_column].astype(str).map(
                             lambda v: f.t("app.site.all") if v == ALL_SITES else charts.series_name(v, "site", f.lang))})
tables.show(shown_full, lang=f.lang, key="prevalence_full", k=filters.PUBLIC_K if f.public else None, ds=ds)
meta = widgets.meta_of(f.t("trends.prev.table_title", date=date_label), d_full, f, ds)
d1, d2 = st.columns(2)
widgets.download_button(f.t("app.dl.csv"), data=lambda: widgets.table_csv(full, meta), file_name=f"prevalence_{year}.csv",
                        mime="text/csv", key="dl_prev_full_csv", on_click="ignore", container=d1,
                        what=meta["title"], f=f, ds=ds)
widgets.download_button(f.t("app.dl.excel"), data=lambda: widgets.table_excel(full, meta, f.lang),
                        file_name=f"prevalence_{year}.xlsx", key="dl_prev_full_xlsx", on_click="ignore", container=d2,
                        what=meta["title"], f=f, ds=ds)

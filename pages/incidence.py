"""Incidence: ASR by site for both sexes, age-specific curves, regions compared, CI5 table."""
import streamlit as st

from analytics import narrative
from analytics import tables as shared
from analytics import schema as S
from analytics.charts import incidence as charts
from analytics.charts import mortality as mcharts
from app_support import cache, filters, tables, widgets
from app_support.text import md, region_names

f = filters.sidebar_filters()
ds = filters.dataset()
k = filters.PUBLIC_K if f.public else None

head = st.container()   # the title names the measure chosen below it
f = filters.measure_switch(f)
head.title(f.tm("app.page.incidence"))
st.caption(widgets.page_caption(f, ds))
counts = {"count": f.t("mortality.col.deaths")} if f.mortality else {}   # table header of the counts
reads = (lambda s: mcharts.labelled(s, f.lang)) if f.mortality else (lambda s: s)

# 1. ASR by site, men and women side by side.
by_sex = cache.dsr(ds, f, by=("sex", "site"), sexes=(S.MALE, S.FEMALE))
if f.public and len(by_sex) and by_sex["count"].isna().all():   # every count below k: nothing to publish
    st.info(f.t("disclosure.few_deaths" if f.mortality else "disclosure.few_cases", k=k))
    st.stop()
if by_sex.empty or not by_sex["count"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
st.subheader(f.t("app.incidence.by_site"))
d_sites = widgets.describe(f, ds, by_sex, "asr", sexes=(S.MALE, S.FEMALE))
title = f.tm("app.incidence.by_site_title", period=d_sites.context(f.lang, sex=False))
widgets.chart_with_table(
    cache.figure(ds, "incidence_asr_by_site", charts.asr_by_site, by_sex, lang=f.lang, standard=f.std, conf=f.level,
                 theme=f.theme, title=title, k=k, n=20, desc=d_sites, caption=d_sites.caption(f.lang)),
    by_sex, name="incidence_asr_by_site", f=f, ds=ds, title=title, headers=counts or None, desc=d_sites,
    reading=f"{d_sites.context(f.lang, sex=False)}: "
            + reads(" ".join(cache.view(ds, "incidence_top_sites", narrative.top_site_sentences, by_sex, lang=f.lang,
                                        standard=f.std))))

# 2. Age-specific curves: the selected site, or the five leading sites.
@st.fragment
def age_section():
    """Age-specific curves: the log-scale toggle reruns this section only (st.fragment)."""
    st.subheader(f.t("app.incidence.age_specific"))
    log = filters.page_toggle("inc_log", f.t("app.incidence.log"))
    if f.site in (filters.ALL_SITES, filters.ALL_BUT_C44):
        ranked = by_sex[~by_sex["site"].isin(charts.NOT_RANKED)].groupby("site")["value"].max()
        chosen = ranked.nlargest(5).index.tolist()
    else:
        chosen = [f.site]
    asp = cache.age_specific(ds, f, by=("sex", "site"), sexes=(S.MALE, S.FEMALE))
    asp = asp[asp["site"].isin(chosen)]
    d_asp = widgets.describe(f, ds, asp, "age_specific", sexes=(S.MALE, S.FEMALE))
    title = f.tm("app.incidence.age_specific_title", period=d_asp.context(f.lang, site=True, sex=False))
    widgets.chart_with_table(
        cache.figure(ds, "incidence_age_specific", charts.age_specific_curves, asp, lang=f.lang, log=log, conf=f.level,
                     theme=f.theme, title=title, desc=d_asp, caption=d_asp.caption(f.lang)),
        asp, name="incidence_age_specific", f=f, ds=ds, title=title, headers={"value": f.t("app.col.rate"), **counts},
        desc=d_asp, reading=reads(cache.view(ds, "incidence_age_sentence", narrative.age_specific_sentence, asp,
                                             lang=f.lang)))


age_section()

# 3. Regions compared with the national value.
def regions_table(by_level, national, *, level: str, name_column: str, lang: str, regions):
    """Each region's rate against the national value, named in ``lang`` (built once per process
    for the same rates, level and language: ``cache.view``, shared, never modified)."""
    names = regions.drop_duplicates(level).set_index(level)[name_column]
    reg = shared.regions_compared(by_level, national, level=level, names=names)
    return reg.assign(region_name=region_names(reg[level], lang, level=level, fallback=names))


@st.fragment
def regions_section():
    """Regions compared: the level switch reruns this section only (st.fragment)."""
    st.subheader(f.t("app.incidence.regions"))
    level = filters.page_control("inc_level", S.PARENT, [S.PARENT, S.REGION], lambda **kw: st.radio(
        f.t("app.incidence.level"), horizontal=True,
        format_func=lambda v: f.t("app.incidence.level_er") if v == S.PARENT else f.t("app.incidence.level_district"), **kw))
    national_f = filters.Filters(**{**f.__dict__, "er": "all", "district": "all"})
    national = cache.dsr(ds, national_f)
    nat_value = float(national["value"].iloc[0]) if len(national) else None
    reg = cache.view(ds, "incidence_regions_table", regions_table, cache.dsr(ds, national_f, by=(level,)), nat_value,
                     level=level, name_column=f.er_name_column if level == S.PARENT else S.REGION_NAME, lang=f.lang,
                     _regions=ds.regions)     # the data set's own regions (its token leads the key)
    d_reg = widgets.describe(f, ds, reg, "asr", area=None)
    title = f.tm("app.incidence.regions_title", site=f.site_name(f.site), period=d_reg.context(f.lang))
    reading = reads(cache.view(ds, "incidence_regions_sentence", narrative.regions_sentence, reg, nat_value,
                               lang=f.lang)) if nat_value is not None else ""
    widgets.chart_with_table(
        cache.figure(ds, "incidence_regions", charts.regions_compared, reg, national=nat_value, region="region_name",
                     lang=f.lang, standard=f.std, conf=f.level, theme=f.theme, title=title, k=k, desc=d_reg,
                     caption=d_reg.caption(f.lang)),
        reg, name="incidence_regions", f=f, ds=ds, title=title, reading=reading, headers=counts or None, desc=d_reg)


regions_section()

# 4. The CI5 / CanReg5 incidence table of one sex (the sex filter's, or chosen here).
@st.fragment
def ci5_section():
    """The CI5 table: its sex switch reruns this section only (st.fragment)."""
    st.subheader(f.tm("app.incidence.ci5_table"))
    default_sex = "2" if f.sex == "female" else "1"
    ci5_sex = filters.page_control("inc_ci5_sex", default_sex, ["1", "2"], lambda **kw: st.radio(
        f.t("app.filter.sex"), horizontal=True,
        format_func=lambda v: f.t("app.sex.male") if v == "1" else f.t("app.sex.female"), **kw))
    code = int(ci5_sex)
    table = cache.ci5_table(ds, f, code)
    d_ci5 = widgets.describe(f, ds, table, "ci5_table", sexes=(code,))
    st.caption(md(d_ci5.caption(f.lang)))
    # site names in words on screen; the downloads keep the site-group labels of the site list
    tables.show(table, lang=f.lang, key="ci5_table", site_name=f.site_name, k=k, ds=ds)
    meta = widgets.meta_of(f"{f.tm('app.incidence.ci5_table')}: {d_ci5.context(f.lang)}", d_ci5, f, ds)
    c1, c2 = st.columns(2)
    widgets.download_button(f.t("app.dl.csv"), data=lambda: widgets.table_csv(table, meta), container=c1, what=meta["title"],
                            f=f, ds=ds, file_name=f"{'mortality_' if f.mortality else ''}ci5_table_sex{code}_{f.y0}-{f.y1}.csv",
                            mime="text/csv", key="dl_ci5_csv", on_click="ignore")
    widgets.download_button(f.t("app.dl.excel"), data=lambda: widgets.table_excel(table, meta, f.lang), container=c2,
                            what=meta["title"], f=f, ds=ds,
                            file_name=f"{'mortality_' if f.mortality else ''}ci5_table_sex{code}_{f.y0}-{f.y1}.xlsx",
                            key="dl_ci5_xlsx", on_click="ignore")


ci5_section()

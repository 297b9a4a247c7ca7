"""Incidence vs mortality: incidence and mortality rates by site side by side (the GCO two-sided
bars, one chart per sex), and the mortality:incidence ratio by site, region and year."""
import dataclasses

import streamlit as st

from analytics import i18n
from analytics import schema as S
from analytics.charts import mortality as mcharts
from analytics.mortality import INCIDENCE, MORTALITY
from app_support import cache, filters, widgets
from app_support.text import md, region_names

f = filters.sidebar_filters()
ds = filters.dataset()
k = filters.PUBLIC_K if f.public else None
fi, fm = dataclasses.replace(f, measure=INCIDENCE), dataclasses.replace(f, measure=MORTALITY)

st.title(f.t("app.page.incidence_mortality"))
sex_label = i18n.sex_label({"both": 0, "male": S.MALE, "female": S.FEMALE}[f.sex], f.lang)
st.caption(f.t("mortality.im.subtitle", source=md(f.source(ds)), period=f.period_label(), sex=sex_label,
               site=f.site_name(f.site)))
st.caption(widgets.page_caption(f, ds))
filters.mortality_note(fm, ds)
# where and when, for the titles: region and ages when restricted, the period
where = widgets.describe(f, ds, None, None).context(f.lang, sex=False)
mi_headers = {"deaths": f.t("mortality.col.deaths"), "cases": f.t("mortality.col.cases"),
              "mi_ratio": f.t("mortality.col.mi_ratio")}

# 1. Incidence (left) and mortality (right) by site, one chart per sex.
st.subheader(f.t("mortality.im.bars"))
sexes = [c for c in (S.MALE, S.FEMALE) if c in f.sex_codes]
inc = cache.dsr(ds, fi, by=("sex", "site"), sexes=tuple(sexes))
mort = cache.dsr(ds, fm, by=("sex", "site"), sexes=tuple(sexes))
if inc.empty or not inc["count"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
mi_sex_site = cache.mi_ratio(ds, f, ("sex", "site"))
RATE = ["count", "value", "lower", "upper"]
for sex in sexes:   # one full-width chart per sex: site names and the two axes need the width
    i, m = inc[inc["sex"] == sex], mort[mort["sex"] == sex]
    table = (i[["site"] + RATE].merge(m[["site"] + RATE], on="site", how="outer", suffixes=("_incidence", "_mortality"))
             .merge(mi_sex_site.loc[mi_sex_site["sex"] == sex, ["site", "mi_ratio"]], on="site", how="left")
             .sort_values("value_incidence", ascending=False, na_position="last"))
    sex_name = f.t("app.sex.male" if sex == S.MALE else "app.sex.female")
    title = f.t("mortality.im.bars_title", sex=sex_name, period=where)
    d_bars = widgets.describe(f, ds, table, None)     # what the table's columns say it shows
    # figures and sentences built once per process for every session on the same view (cache.view)
    widgets.chart_with_table(
        cache.figure(ds, "im_bars", mcharts.incidence_mortality_bars, i, m, lang=f.lang, standard=f.std, conf=f.level,
                     theme=f.theme, title=title, k=k, desc=d_bars, caption=d_bars.caption(f.lang)),
        table, name=f"im_bars_{sex}", f=f, ds=ds, title=title, desc=d_bars,
        headers={"count_incidence": f.t("mortality.col.cases"), "count_mortality": f.t("mortality.col.deaths"),
                 "value_incidence": f.t("mortality.col.asr_incidence"),
                 "value_mortality": f.t("mortality.col.asr_mortality"), "mi_ratio": f.t("mortality.col.mi_ratio")},
        reading=cache.view(ds, "im_bars_sentence", mcharts.incidence_mortality_sentence, i, m, sex=sex, lang=f.lang))

# 2. M:I by site.
st.subheader(f.t("mortality.im.mi_site"))
by_site = cache.mi_ratio(ds, f, ("site",))
overall = cache.mi_ratio(ds, f, ())
title = f.t("mortality.im.mi_site_title", sex=sex_label, period=where)
site_table = by_site.sort_values("mi_ratio", ascending=False)
d_site = widgets.describe(f, ds, site_table, None)
widgets.chart_with_table(cache.figure(ds, "im_mi_site", mcharts.mi_bars, by_site, label="site", lang=f.lang,
                                      theme=f.theme, title=title, n=25, k=k, desc=d_site,
                                      caption=d_site.caption(f.lang)),
                         site_table, name="im_mi_site", f=f, ds=ds, title=title, desc=d_site,
                         headers=mi_headers, table_note=f.t("mortality.im.mi_note"),
                         reading=cache.view(ds, "im_mi_site_sentence", mcharts.mi_site_sentence, by_site, overall,
                                            lang=f.lang))

# 3. M:I by region (the whole country, whatever region the sidebar selects).
st.subheader(f.t("mortality.im.mi_region"))
level = filters.page_control("im_level", S.PARENT, [S.PARENT, S.REGION], lambda **kw: st.radio(
    f.t("app.incidence.level"), horizontal=True,
    format_func=lambda v: f.t("app.incidence.level_er") if v == S.PARENT else f.t("app.incidence.level_district"), **kw))
national = dataclasses.replace(f, er="all", district="all")
by_region = cache.mi_ratio(ds, national, (level,))
by_region = by_region[by_region[level].astype(str) != ""]
names = ds.regions.drop_duplicates(level).set_index(level)[f.er_name_column if level == S.PARENT else S.REGION_NAME]
names = region_names(names.index.to_series(), f.lang, level=level, fallback=names)   # in the page's language
by_region = by_region.assign(region_name=by_region[level].map(names).fillna(by_region[level]))
title = f.t("mortality.im.mi_region_title", site=f.site_name(f.site), sex=sex_label, period=f.period_label())
d_region = widgets.describe(f, ds, by_region, "mi_ratio", area=None)   # says the region filter does not apply
widgets.chart_with_table(
    cache.figure(ds, "im_mi_region", mcharts.mi_bars, by_region, label=level, names=names.to_dict(), lang=f.lang,
                 theme=f.theme, title=title, k=k, desc=d_region, caption=d_region.caption(f.lang)),
    by_region[["region_name", level, "deaths", "cases", "mi_ratio"]].sort_values("mi_ratio", ascending=False),
    name="im_mi_region", f=national, ds=ds, title=title, headers=mi_headers, desc=d_region,
    reading=cache.view(ds, "im_mi_region_sentence", mcharts.mi_site_sentence, by_region,
                       cache.mi_ratio(ds, national, ()), label=level, names=names.to_dict(), lang=f.lang))

# 4. M:I by year (men and women).
st.subheader(f.t("mortality.im.mi_year"))
by_year = cache.mi_ratio(ds, f, ("year", "sex"))
by_year = by_year[by_year["sex"].isin(sexes)]
d_year = widgets.describe(f, ds, by_year, "mi_ratio")     # one sex drawn: the title names it
title = f.t("mortality.im.mi_year_title", site=f.site_name(f.site),
            period=d_year.context(f.lang, sex="sex" not in d_year.by))
widgets.chart_with_table(cache.figure(ds, "im_mi_year", mcharts.mi_trend, by_year, lang=f.lang, theme=f.theme,
                                      title=title, desc=d_year, caption=d_year.caption(f.lang)), by_year,
                         name="im_mi_year", f=f, ds=ds, title=title, headers=mi_headers, desc=d_year,
                         reading=cache.view(ds, "im_mi_year_sentence", mcharts.mi_year_sentence, by_year, lang=f.lang))

"""Overview: headline numbers, top sites (men left, women right), case mix, population pyramid."""
import streamlit as st

from analytics import narrative, presets
from analytics import schema as S
from analytics.charts import incidence as charts
from analytics.charts import mortality as mcharts
from app_support import cache, filters, widgets

f = filters.sidebar_filters()
ds = filters.dataset()

st.title(f.t("app.page.overview"))
f = filters.measure_switch(f)
st.caption(f.tm("app.overview.subtitle", source=f.source(ds), period=f.period_label(), site=f.site_name(f.site)))
counts = {"count": f.t("mortality.col.deaths")} if f.mortality else None   # table header of the counts

total = cache.dsr(ds, f)
if total.empty or not total["count"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
cum = cache.cumulative_risk(ds, f)
by_site = cache.dsr(ds, f, by=("site",))
row = total.iloc[0]
ranked = by_site[~by_site["site"].isin(charts.NOT_RANKED)].sort_values("value", ascending=False)
widgets.metric_row([
    (f.tm("app.metric.cases_per_year"), widgets.fmt(row["count"] / f.n_years, f.lang, 0),
     f.tm("app.metric.cases_help", n=widgets.fmt(row["count"], f.lang, 0))),
    (f.tm("app.metric.crude"), widgets.fmt(row["crude_rate"], f.lang), f.t("app.metric.per100k")),
    (f.tm("app.metric.asr"), widgets.fmt(row["value"], f.lang),
     f.t("app.metric.ci", lower=widgets.fmt(row["lower"], f.lang), upper=widgets.fmt(row["upper"], f.lang), conf=f.conf)),
    # the same decimals as the sentence below (one policy: analytics.presets), never "0.19 %" beside "0.2%"
    (f.tm("app.metric.cumrisk"), presets.fmt(cum["cum_risk"].iloc[0], "percent", f.lang) + " %",
     f.tm("app.metric.cumrisk_help")),
])
if len(ranked):  # a site name is too long for a metric tile
    st.markdown(f"**{f.tm('app.metric.leading')}:** {f.site_name(ranked['site'].iloc[0])} "
                f"({f.tm('app.metric.asr')} {widgets.fmt(ranked['value'].iloc[0], f.lang)})")

sex_code = {"both": 0, "male": 1, "female": 2}[f.sex]
has_risk = bool(cum["cum_risk"].notna().iloc[0])   # no 0-74 risk when the age range starts at 75 or later
if f.mortality:
    st.markdown(" ".join([
        mcharts.deaths_sentence(row["count"], (f.y0, f.y1), lang=f.lang),
        mcharts.mortality_rate_sentence(row["value"], row["lower"], row["upper"], lang=f.lang, sex=sex_code,
                                        standard=f.std, conf=f.level),
        mcharts.risk_of_dying_sentence(cum["cum_risk"].iloc[0], sex=sex_code, lang=f.lang) if has_risk else "",
    ]))
else:
    st.markdown(" ".join([
        narrative.cases_sentence(row["count"], (f.y0, f.y1), lang=f.lang),
        narrative.asr_sentence(row["value"], row["lower"], row["upper"], lang=f.lang, standard=f.std, sex=sex_code,
                               conf=f.level),
        narrative.cumulative_risk_sentence(cum["cum_risk"].iloc[0], sex=sex_code, lang=f.lang) if has_risk else "",
    ]))

# Men left, women right, whatever the sex filter (the CI5 / Rcan layout).
by_sex = cache.dsr(ds, f, by=("sex", "site"), sexes=(S.MALE, S.FEMALE))
sentences = widgets.headlines(by_sex, f)
sentences = [mcharts.labelled(s, f.lang) for s in sentences] if f.mortality else sentences
for s in sentences:
    st.markdown(f"- {s}")

title = f.tm("app.overview.top10", period=f.period_label())
widgets.chart_with_table(
    charts.top_sites_bar(by_sex, lang=f.lang, standard=f.std, conf=f.level, theme=f.theme, title=title,
                         k=filters.PUBLIC_K if f.public else None),
    by_sex, name="overview_top10", f=f, ds=ds, title=title, reading=sentences[0] if sentences else "", headers=counts)

per_year = cache.dsr(ds, f, by=("year", "sex"))
title = f.tm("app.overview.per_year")
fig = charts.cases_per_year(per_year, lang=f.lang, theme=f.theme, title=title)
widgets.chart_with_table(mcharts.as_mortality(fig, f.lang) if f.mortality else fig,
                         per_year[["year", "sex", "count", "population", "crude_rate", "value", "lower", "upper"]],
                         name="overview_per_year", f=f, ds=ds, title=title, headers=counts,
                         reading=mcharts.deaths_sentence(row["count"], (f.y0, f.y1), lang=f.lang) if f.mortality
                         else narrative.cases_sentence(row["count"], (f.y0, f.y1), lang=f.lang))

left, right = st.columns(2)
with left:
    title = f.tm("app.overview.case_mix")
    mix = by_site[["site", "count"]]
    fig = charts.cases_by_site(mix, lang=f.lang, theme=f.theme, title=title)
    widgets.chart_with_table(mcharts.as_mortality(fig, f.lang) if f.mortality else fig,
                             mix, name="overview_case_mix", f=f, ds=ds, title=title, headers=counts,
                             reading=mcharts.death_mix_sentence(mix, lang=f.lang) if f.mortality
                             else narrative.case_mix_sentence(mix, lang=f.lang))
with right:
    title = f.t("app.overview.pyramid")
    pyr = cache.population_pyramid(ds, f)
    widgets.chart_with_table(charts.population_pyramid(pyr, lang=f.lang, theme=f.theme, title=title),
                             pyr, name="overview_pyramid", f=f, ds=ds, title=title,
                             reading=narrative.population_sentence(pyr, lang=f.lang))

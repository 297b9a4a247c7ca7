"""Overview: headline numbers, top sites (men left, women right), case mix, population pyramid;
incidence or mortality (the measure switch).

Every number, sentence and chart says what it shows (``widgets.describe``): the caption
under the title gives the whole selection; views that leave a filter aside (the men/women
chart, the leading site among all sites) say so."""
import streamlit as st

from analytics import narrative, presets
from analytics import tables as shared
from analytics import schema as S
from analytics.charts import incidence as charts
from analytics.charts import mortality as mcharts
from app_support import cache, filters, widgets
from app_support.text import md

f = filters.sidebar_filters()
ds = filters.dataset()

st.title(f.t("app.page.overview"))
f = filters.measure_switch(f)
st.caption(widgets.page_caption(f, ds))
counts = {"count": f.t("mortality.col.deaths")} if f.mortality else None   # table header of the counts

total = cache.dsr(ds, f)
if f.public and len(total) and total["count"].isna().all():   # fewer than k cases: nothing to publish
    st.info(f.t("disclosure.few_deaths" if f.mortality else "disclosure.few_cases", k=filters.PUBLIC_K))
    st.stop()
if total.empty or not total["count"].sum() > 0:
    st.info(f.t("app.empty"))
    st.stop()
cum = cache.cumulative_risk(ds, f)
by_site = cache.dsr(ds, f, by=("site",))
row = total.iloc[0]
ranked = shared.ranked_sites(by_site)
widgets.metric_row([
    (f.tm("app.metric.cases_per_year"), widgets.count_text(row["count"] / f.n_years, f),
     f.tm("app.metric.cases_help", n=widgets.count_text(row["count"], f))),
    (f.tm("app.metric.crude"), widgets.fmt(row["crude_rate"], f.lang), f.t("app.metric.per100k")),
    (f.tm("app.metric.asr"), widgets.fmt(row["value"], f.lang),
     f.t("app.metric.ci", lower=widgets.fmt(row["lower"], f.lang), upper=widgets.fmt(row["upper"], f.lang), conf=f.conf)),
    # the same decimals as the sentence below (one policy: analytics.presets), never "0.19 %" beside "0.2%"
    (f.tm("app.metric.cumrisk"), presets.fmt(cum["cum_risk"].iloc[0], "percent", f.lang) + " %",
     f.tm("app.metric.cumrisk_help")),
])
if len(ranked):  # a site name is too long for a metric tile; ranked among all sites, whatever the site filter
    d_sites = widgets.describe(f, ds, by_site, "asr")
    line = (f"**{f.t('describe.leading', context=md(d_sites.context(f.lang)))}:** {f.site_name(ranked['site'].iloc[0])} "
            f"({f.tm('app.metric.asr')} {widgets.fmt(ranked['value'].iloc[0], f.lang)})")
    if f.site not in (filters.ALL_SITES, filters.ALL_BUT_C44):
        line += " — " + f.t("describe.leading_note", asked=f.site_name(f.site))
    st.markdown(line)

# The headline sentences: the first names site, sex and region; the others continue it.
scope = widgets.describe(f, ds, total, "asr").scope_phrase(f.lang)
has_risk = bool(cum["cum_risk"].notna().iloc[0])   # no 0-74 risk when the age range starts at 75 or later
k = filters.PUBLIC_K if f.public else None
if f.mortality:
    cases_text = f"{scope}: {mcharts.deaths_sentence(row['count'], (f.y0, f.y1), lang=f.lang, k=k)}"
    st.markdown(md(" ".join([
        cases_text,
        mcharts.mortality_rate_sentence(row["value"], row["lower"], row["upper"], lang=f.lang,
                                        standard=f.std, conf=f.level),
        mcharts.risk_of_dying_sentence(cum["cum_risk"].iloc[0], lang=f.lang) if has_risk else "",
    ])))
else:
    d_cum = widgets.describe(f, ds, cum, "cum_risk")
    cum_ages = d_cum.ages_shown
    cum_span = (int(cum_ages[0].split("-")[0].rstrip("+")), int(cum_ages[-1].split("-")[1])) if cum_ages else (0, 74)
    cases_text = narrative.cases_sentence(row["count"], (f.y0, f.y1), lang=f.lang, scope=scope, k=k)
    st.markdown(md(" ".join([
        cases_text,
        narrative.asr_sentence(row["value"], row["lower"], row["upper"], lang=f.lang, standard=f.std, conf=f.level),
        narrative.cumulative_risk_sentence(cum["cum_risk"].iloc[0], lang=f.lang, ages=cum_span) if has_risk else "",
    ])))

# Men left, women right, whatever the sex filter (the CI5 / Rcan layout).
by_sex = cache.dsr(ds, f, by=("sex", "site"), sexes=(S.MALE, S.FEMALE))
d_top = widgets.describe(f, ds, by_sex, "asr", sexes=(S.MALE, S.FEMALE))
sentences = cache.view(ds, "overview_headlines", widgets.headlines, by_sex, f)
sentences = [mcharts.labelled(s, f.lang) for s in sentences] if f.mortality else sentences
if sentences:
    st.markdown(f"**{f.t('describe.leading_by_sex', context=md(d_top.context(f.lang, sex=False)))}:**")
for s in sentences:
    st.markdown(f"- {md(s)}")

title = f.tm("app.overview.top10", period=d_top.context(f.lang, sex=False))
widgets.chart_with_table(
    cache.figure(ds, "overview_top10", charts.top_sites_bar, by_sex, lang=f.lang, standard=f.std, conf=f.level,
                 theme=f.theme, title=title, k=filters.PUBLIC_K if f.public else None, desc=d_top,
                 caption=d_top.caption(f.lang)),
    by_sex, name="overview_top10", f=f, ds=ds, title=title, desc=d_top, min_width=640, headers=counts,
    reading=f"{d_top.context(f.lang, sex=False)}: {' '.join(sentences)}" if sentences else "")

per_year = cache.dsr(ds, f, by=("year", "sex"))
d_year = widgets.describe(f, ds, per_year, "cases")
title = f"{f.tm('app.overview.per_year')}: {d_year.context(f.lang, site=True)}"
fig = cache.figure(ds, "overview_per_year", widgets.counts_chart, charts.cases_per_year, per_year, f.mortality,
                   lang=f.lang, theme=f.theme, title=title, desc=d_year, caption=d_year.caption(f.lang))
widgets.chart_with_table(fig,
                         per_year[["year", "sex", "count", "population", "crude_rate", "value", "lower", "upper"]],
                         name="overview_per_year", f=f, ds=ds, title=title, headers=counts, reading=cases_text,
                         desc=d_year)

left, right = st.columns(2)
with left:
    mix = by_site[["site", "count"]]
    d_mix = widgets.describe(f, ds, mix, "cases")
    title = f"{f.tm('app.overview.case_mix')}: {d_mix.context(f.lang)}"
    fig = cache.figure(ds, "overview_case_mix", widgets.counts_chart, charts.cases_by_site, mix, f.mortality,
                       lang=f.lang, theme=f.theme, title=title, desc=d_mix, caption=d_mix.caption(f.lang))
    widgets.chart_with_table(fig, mix, name="overview_case_mix", f=f, ds=ds, title=title, headers=counts, desc=d_mix,
                             reading=cache.view(ds, "overview_case_mix_reading", mcharts.death_mix_sentence
                                                if f.mortality else narrative.case_mix_sentence, mix, lang=f.lang))
with right:
    pyr = cache.population_pyramid(ds, f)
    d_pyr = widgets.describe(f, ds, pyr, "population", sexes=(S.MALE, S.FEMALE))
    title = f"{f.t('app.overview.pyramid')}: {d_pyr.context(f.lang, sex=False)}"
    widgets.chart_with_table(cache.figure(ds, "overview_pyramid", charts.population_pyramid, pyr, lang=f.lang,
                                          theme=f.theme, title=title, desc=d_pyr, caption=d_pyr.caption(f.lang)),
                             pyr, name="overview_pyramid", f=f, ds=ds, title=title,
                             reading=cache.view(ds, "overview_pyramid_reading", narrative.population_sentence, pyr,
                                                lang=f.lang), desc=d_pyr)

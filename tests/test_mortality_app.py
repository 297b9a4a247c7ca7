"""AppTest of the mortality switch (URL parameter ``measure``) and the Incidence vs mortality page:
every page in every language, with the numbers shown equal to analytics called directly on the
demo's deaths aggregated here with plain pandas (not through app_support)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import rates, spatial
from analytics import schema as S
from analytics.i18n import format_number, sex_label, site_label, standard_label, t
from tests.test_app_i18n import ENGLISH
from conftest import app, metric

ROOT = Path(__file__).resolve().parents[1]
SWITCH_PAGES = ["overview", "incidence", "trends", "maps"]
TITLES = {"overview": "app.page.overview", "incidence": "mortality.page.incidence", "trends": "mortality.page.trends",
          "maps": "mortality.page_title", "incidence_mortality": "app.page.incidence_mortality"}
LANGS = ["en", "az", "ru"]
MORTALITY_EN = re.compile(r"\b(mortality|deaths?|dying|ratio|incidence|vital|counted|excluded)\b", re.I)


def figure_texts(at: AppTest) -> list[str]:
    """Title, axis titles and trace names of every plotly chart on the page."""
    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        lay = spec["layout"]
        out.append(str(lay.get("title", {}).get("text", "")))
        out += [str(lay[ax].get("title", {}).get("text", "")) for ax in lay if ax.startswith(("xaxis", "yaxis"))]
        out += [str(tr.get("name", "")) for tr in spec["data"]]
    return [s.replace("<br>", " ") for s in out]      # long titles are wrapped to the figure's width


def _site_of(codes: pd.Series) -> pd.Series:
    """CI5-XI group of ICD-10 codes straight from the reference list (as in test_mortality)."""
    from tests.test_mortality import _site_of as site_of

    return site_of(codes)


def deaths_input(demo, *, years, sexes=None, site=None, by=()):
    """Deaths and person-years by ``by`` + age group, aggregated with plain pandas."""
    d = demo.deaths[demo.deaths[S.YEAR].between(*years)]
    if sexes is not None:
        d = d[d[S.SEX].isin(sexes)]
    if site is not None:
        d = d[_site_of(d[S.ICD10]) == site]
    keys = list(by) + [S.AGE_GROUP]
    deaths = d.groupby(keys)[S.COUNT].sum()
    p = demo.population
    p = p[p[S.YEAR].between(*years) & p[S.SEX].isin(sexes or [1, 2])]
    pop = p.groupby(keys, observed=True)[S.POPULATION].sum()
    return pop.to_frame().join(deaths.rename("count"), how="left").fillna({"count": 0}).reset_index()


# --- every page, every language ------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", SWITCH_PAGES + ["incidence_mortality"])
def test_every_page_shows_mortality_in_every_language(demo, page, lang):
    at = app(page, measure="mortality", lang=lang, y0=2020, y1=2024)
    assert at.title[0].value == t(TITLES[page], lang)
    assert at.query_params["measure"] == "mortality"
    # the page says where the deaths come from, and how many were counted and excluded
    total = format_number(demo.deaths[S.COUNT].sum(), lang, 0)
    note = t("mortality.source.note_deaths_table", lang, counted=total, excluded=format_number(0, lang, 0))
    assert note in [c.value for c in at.caption]
    if page in SWITCH_PAGES:
        assert at.radio(key="f_measure").value == "mortality"
        assert at.radio(key="f_measure").label == t("mortality.switch.label", lang)
    # the account of the deaths: one line, every row counted
    account = next(d.value for d in at.dataframe if "deaths" in d.value.columns and "rows" in d.value.columns)
    assert int(account["deaths"].sum()) == int(demo.deaths[S.COUNT].sum())
    assert int(account["rows"].sum()) == len(demo.deaths)
    if lang != "en":   # no English left in what the page shows for mortality
        shown = [at.title[0].value] + [c.value for c in at.caption] + [m.label for m in at.metric]
        shown += [s.value for s in at.subheader] + figure_texts(at)
        leftovers = [s for s in shown if ENGLISH.search(s) or MORTALITY_EN.search(s)]
        assert not leftovers, leftovers
    if page == "overview":
        _check_overview(at, demo, lang)
    elif page == "incidence":
        _check_incidence(at, demo, lang)
    elif page == "trends":
        _check_trends(at, lang)
    elif page == "maps":
        _check_maps(at, demo, lang)
    else:
        _check_incidence_mortality(at, demo, lang)


def _check_overview(at, demo, lang):
    data = deaths_input(demo, years=(2020, 2024))
    unknown_sex = demo.deaths[demo.deaths[S.YEAR].between(2020, 2024) & ~demo.deaths[S.SEX].isin([1, 2])]
    assert unknown_sex.empty     # so the men + women person-years are the whole denominator
    want = rates.dsr(data, method="tiwari").iloc[0]
    cum = rates.cumulative_risk(data, age=S.AGE_GROUP).iloc[0]
    assert metric(at, "mortality.metric.asr", lang) == format_number(want["value"], lang, 1)
    assert metric(at, "mortality.metric.crude", lang) == format_number(want["crude_rate"], lang, 1)
    assert metric(at, "mortality.metric.cases_per_year", lang) == format_number(want["count"] / 5, lang, 0)
    # one decimal policy (analytics.presets, issue 9): the tile has the decimals of the sentence
    from analytics import presets
    assert metric(at, "mortality.metric.cumrisk", lang) == presets.fmt(cum["cum_risk"], "percent", lang) + " %"
    shown = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert format_number(want["count"], lang, 0) in shown
    level = format_number(95, lang, 0)
    assert t("mortality.reading.asr", lang, sex_group=t("charts.narrative_sex_group_0", lang),
             value=format_number(want["value"], lang, 1), lower=format_number(want["lower"], lang, 1),
             upper=format_number(want["upper"], lang, 1), standard=standard_label("world_segi1960", lang),
             level=level)[1:] in shown
    # chart titles say mortality
    texts = figure_texts(at)
    assert t("mortality.overview.top10", lang, period="2020–2024") in texts
    # titles go on to say what they show (site, sex, region, period): they begin with the mortality title
    assert any(x.startswith(t("mortality.overview.per_year", lang)) for x in texts)
    assert t("mortality.chart.axis_deaths", lang) in texts
    assert t("charts.axis_cases", lang) not in texts


def _check_incidence(at, demo, lang):
    by_site = next(d.value for d in at.dataframe if {"sex", "site", "value"} <= set(d.value.columns))
    lung = "Lung (incl. trachea and bronchus)"
    want = rates.dsr(deaths_input(demo, years=(2020, 2024), sexes=[1], site=lung)).iloc[0]
    row = by_site[by_site["sex"].astype(str).isin(["1", sex_label(1, lang)])
                  & by_site["site"].astype(str).isin([lung, site_label(lung, lang)])]
    assert len(row) == 1
    assert row["value"].iloc[0] == pytest.approx(want["value"], rel=1e-9)
    assert row["count"].iloc[0] == want["count"]
    assert t("mortality.incidence.ci5_table", lang) in [s.value for s in at.subheader]


def _check_trends(at, lang):
    readings = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert readings
    words = {"en": "mortality", "az": "ölüm", "ru": "смертность"}[lang]
    assert all(words in r for r in readings), readings
    assert any(x.startswith(t("mortality.fit_title", lang, site=t("app.site.all", lang))) for x in figure_texts(at))


def _check_maps(at, demo, lang):
    d = demo.deaths[demo.deaths[S.YEAR].between(2020, 2024)]
    counts = d.groupby([S.REGION, S.AGE_GROUP])[S.COUNT].sum().rename("count").reset_index()
    p = demo.population[demo.population[S.YEAR].between(2020, 2024)]
    pop = p.groupby([S.REGION, S.AGE_GROUP])[S.POPULATION].sum().reset_index()
    m = spatial.regional_measures(counts, pop, standard="world_segi1960", suppress_below=0)
    n_high, n_low = int((m["significance"] == "higher").sum()), int((m["significance"] == "lower").sum())
    assert t("mortality.reading_sir", lang, n_high=n_high, n_low=n_low) in [c.value for c in at.caption]
    table = next(d.value for d in at.dataframe if "smoothed" in d.value.columns)
    mine = table.set_index(S.REGION)["sir"].sort_index()
    np.testing.assert_allclose(mine.to_numpy(float), m.set_index(S.REGION)["sir"].sort_index().to_numpy(float),
                               rtol=1e-9)
    assert "mi_ratio" in table.columns


def _check_incidence_mortality(at, demo, lang):
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2020, 2024) & r[S.REGION].notna()]
    deaths = demo.deaths[demo.deaths[S.YEAR].between(2020, 2024)]
    mi = deaths[S.COUNT].sum() / len(r)
    per100 = format_number(round(100 * mi), lang, 0)
    sentence = t("mortality.reading.mi_overall", lang, per100=per100, mi=format_number(mi, lang, 2))
    assert any(sentence[1:] in c.value for c in at.caption), sentence
    by_site = next(d.value for d in at.dataframe if {"site", "deaths", "cases", "mi_ratio"} <= set(d.value.columns))
    site_deaths = deaths.groupby(_site_of(deaths[S.ICD10]))[S.COUNT].sum()
    site_cases = r.groupby(r[S.SITE_CI5].astype(str)).size()
    for site in ("Stomach", "Breast", "Liver"):
        row = by_site[by_site["site"].astype(str).isin([site, site_label(site, lang)])].iloc[0]
        assert row["deaths"] == site_deaths[site] and row["cases"] == site_cases[site]
        assert row["mi_ratio"] == pytest.approx(site_deaths[site] / site_cases[site], rel=1e-12)
    assert len(at.get("plotly_chart")) == 5        # men, women, M:I by site, region and year
    assert t("mortality.im.bars_title", lang, sex=t("app.sex.female", lang), period="2020–2024") in figure_texts(at)


# --- the switch and the URL ------------------------------------------------------------------------------
def test_switch_changes_the_numbers_and_the_url_and_follows_to_other_pages(demo):
    at = app("overview", y0=2020, y1=2024)
    assert at.radio(key="f_measure").value == "incidence"
    inc_asr = metric(at, "app.metric.asr")
    at.radio(key="f_measure").set_value("mortality").run()
    assert not at.exception
    assert at.query_params["measure"] == "mortality"
    want = rates.dsr(deaths_input(demo, years=(2020, 2024))).iloc[0]
    assert metric(at, "mortality.metric.asr") == format_number(want["value"], "en", 1) != inc_asr
    at.switch_page("pages/trends.py").run()
    assert not at.exception and at.title[0].value == t("mortality.page.trends", "en")
    assert at.query_params["measure"] == "mortality"
    # a page without the switch shows incidence, and keeps the measure for the way back
    at.switch_page("pages/quality.py").run()
    assert not at.exception and at.title[0].value == t("app.page.quality", "en")
    at.switch_page("pages/incidence.py").run()
    assert at.title[0].value == t("mortality.page.incidence", "en")
    at.radio(key="f_measure").set_value("incidence").run()
    assert at.title[0].value == t("app.page.incidence", "en") and at.query_params["measure"] == "incidence"


@pytest.mark.parametrize("value", ["Mortality", "deaths", "", "1", "<script>x</script>", "inf"])
def test_any_other_measure_reads_as_incidence_with_a_note(value):
    at = app("overview", measure=value)
    assert at.radio(key="f_measure").value == "incidence"
    assert at.query_params["measure"] == "incidence"
    assert metric(at, "app.metric.asr")                        # the incidence tiles
    assert any("measure" in w.value for w in at.warning)      # the note says what the address asked for
    at.switch_page("pages/incidence.py").run()
    assert not at.exception and at.title[0].value == t("app.page.incidence", "en")


def test_public_output_suppresses_small_mortality_counts_and_their_ratio(demo):
    at = app("incidence_mortality", measure="mortality", public=1, y0=2024, y1=2024, im_level=S.REGION)
    table = next(d.value for d in at.dataframe if {S.REGION, "deaths", "cases", "mi_ratio"} <= set(d.value.columns))
    d = demo.deaths[demo.deaths[S.YEAR] == 2024].groupby(S.REGION)[S.COUNT].sum()
    small = d[(d > 0) & (d < 10)].index
    assert len(small) > 0
    shown = table.set_index(S.REGION)
    # deaths are perturbed like cases (analytics.disclosure): a published count below 10 reads
    # "<10" with no ratio; a small true count may also be published as 10 or more
    withheld = 0
    for code in small:
        if shown.loc[code, "deaths"] == "<10":
            withheld += 1
            assert pd.isna(shown.loc[code, "mi_ratio"]), code
        else:
            assert float(shown.loc[code, "deaths"]) >= 10, code
    assert withheld >= len(small) // 2
    deaths = pd.to_numeric(table["deaths"], errors="coerce").dropna()
    assert not ((deaths > 0) & (deaths < 10)).any()


# --- registry-derived deaths: an upload without a deaths table --------------------------------------------
def test_an_upload_without_deaths_gets_registry_derived_mortality(demo):
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2020, 2024)].head(3000)
    cols = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.AGE, S.TOPOGRAPHY, S.MORPHOLOGY,
            S.BEHAVIOUR, S.BASIS, S.REGION, S.VITAL_STATUS, S.LAST_CONTACT, S.CAUSE_OF_DEATH]
    extract_csv = r[cols].to_csv(index=False, date_format="%Y-%m-%d").encode()
    p = demo.population
    pop_csv = p[p[S.YEAR].between(2020, 2024)][[S.YEAR, S.REGION, S.SEX, S.AGE_GROUP, S.POPULATION]] \
        .to_csv(index=False).encode()
    at = app("data")
    at.file_uploader(key="up_extract").set_value(("extract.csv", extract_csv, "text/csv"))
    at.file_uploader(key="up_pop").set_value(("population.csv", pop_csv, "text/csv")).run()
    at.button(key="data_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.query_params["measure"] = "mortality"
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.radio(key="f_measure").set_value("mortality").run()
    # the rule, applied here by hand: dead, cause of death in the tumour's CI5 group, dated 2020-2024
    from analytics.pipeline import load_registry
    from analytics.auxiliary import read_population

    reg = load_registry(extract_csv, population=read_population(pop_csv, name="population.csv"), name="extract.csv")
    rec = reg.records[reg.records[S.INCLUDED]]
    dead = rec[(rec[S.VITAL_STATUS] == 2) & (_site_of(rec[S.CAUSE_OF_DEATH].fillna("").astype(str))
                                              == rec[S.SITE_CI5].astype(str))]
    dead = dead.drop_duplicates(S.PATIENT_ID)
    in_years = dead[dead[S.LAST_CONTACT].dt.year.between(2020, 2024)]
    all_dead = rec.loc[rec[S.VITAL_STATUS] == 2, S.PATIENT_ID].nunique()
    note = t("mortality.source.note_registry_records", "en", counted=format_number(len(in_years), "en", 0),
             excluded=format_number(all_dead - len(in_years), "en", 0))
    assert note in [c.value for c in at.caption]
    assert metric(at, "mortality.metric.cases_per_year") == format_number(len(in_years) / 5, "en", 0)


def test_an_upload_with_a_deaths_table_uses_it_and_accounts_for_every_row(demo):
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2020, 2024)].head(500)
    cols = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.AGE, S.TOPOGRAPHY, S.MORPHOLOGY,
            S.BEHAVIOUR, S.BASIS, S.REGION, S.VITAL_STATUS]
    extract_csv = r[cols].to_csv(index=False, date_format="%Y-%m-%d").encode()
    p = demo.population
    pop_csv = p[p[S.YEAR].between(2020, 2024)][[S.YEAR, S.REGION, S.SEX, S.AGE_GROUP, S.POPULATION]] \
        .to_csv(index=False).encode()
    district = r[S.REGION].iloc[0]
    deaths_csv = ("year,sex,age_group,region_code,icd10,count\n"
                  f"2021,1,60-64,{district},C34.1,40\n"      # counted
                  f"2022,2,unknown,{district},C50,10\n"      # counted, age unknown
                  f"2022,2,70-74,{district},I21,99\n"        # not a cancer
                  f"2022,1,70-74,XX-1,C16,7\n"               # no such district
                  f"2009,1,70-74,{district},C16,5\n").encode()   # no person-years in 2009
    at = app("data")
    at.file_uploader(key="up_extract").set_value(("extract.csv", extract_csv, "text/csv"))
    at.file_uploader(key="up_pop").set_value(("population.csv", pop_csv, "text/csv"))
    at.file_uploader(key="up_deaths").set_value(("deaths.csv", deaths_csv, "text/csv")).run()
    at.button(key="data_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/overview.py").run()
    at.radio(key="f_measure").set_value("mortality").run()
    assert not at.exception, [e.value for e in at.exception]
    note = t("mortality.source.note_deaths_table", "en", counted="50", excluded="111")
    assert note in [c.value for c in at.caption]
    assert metric(at, "mortality.metric.cases_per_year") == format_number(50 / 5, "en", 0)
    account = next(d.value for d in at.dataframe if "rows" in d.value.columns)
    assert account["rows"].sum() == 5 and account["deaths"].sum() == 161


def test_mortality_trend_and_its_apc_by_hand(demo):
    """Trends with the switch on mortality, no joinpoint allowed: the yearly mortality ASR per sex is
    the rates engine on the deaths table aggregated here, and each sex's APC is the log-linear
    least-squares slope of those rates written out with numpy, 100 (exp(b) - 1), its CI
    100 (exp(b +- t_(n-2) se_b) - 1) (SEER, NCI Joinpoint with 0 joinpoints)."""
    from scipy import stats

    at = app("trends", measure="mortality", y0=2010, y1=2024, tr_max=0, tr_all=0)
    series = next(d.value for d in at.dataframe if {"year", "observed", "fitted"} <= set(d.value.columns))
    apcs = next(d.value for d in at.dataframe if "apc" in d.value.columns)
    for sex in (1, 2):
        want = rates.dsr(deaths_input(demo, years=(2010, 2024), sexes=[sex], by=(S.YEAR,)), by=[S.YEAR])
        mine = series[series["sex"].astype(str).isin([str(sex), sex_label(sex, "en")])].sort_values("year")
        assert mine["year"].astype(int).tolist() == list(range(2010, 2025))
        np.testing.assert_allclose(mine["observed"].to_numpy(float), want["value"].to_numpy(float), rtol=1e-9)
        x, y = want[S.YEAR].to_numpy(float), np.log(want["value"].to_numpy(float))
        X = np.column_stack([np.ones_like(x), x])
        coef, res, *_ = np.linalg.lstsq(X, y, rcond=None)
        s2 = float(res[0]) / (len(x) - 2)
        se = np.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])
        tq = stats.t.ppf(0.975, len(x) - 2)
        rows = apcs[apcs["sex"].astype(str).isin([str(sex), sex_label(sex, "en")])]
        assert rows["segment"].astype(str).tolist() == ["1", "AAPC"]     # one segment: the AAPC is its APC
        for _, got in rows.iterrows():
            for col, b in (("apc", coef[1]), ("lower", coef[1] - tq * se), ("upper", coef[1] + tq * se)):
                assert float(got[col]) == pytest.approx(round(100 * np.expm1(b), 1), abs=1e-9), col

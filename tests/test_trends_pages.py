"""AppTest of the Trends, Prevalence and Projections pages on the demo registry.

The numbers shown are checked against independent computations here: ASRs per year from plain
pandas + rates.dsr fed to analytics.trends.joinpoint; prevalence counted with plain pandas
rules; the decomposition identity and the demographic projection by hand."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import rates
from analytics import schema as S

APP = str(Path(__file__).resolve().parents[1] / "app.py")
pytestmark = pytest.mark.filterwarnings("ignore")


def _page(path: str, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _qp(at, key):
    v = at.query_params[key]
    return v[0] if isinstance(v, list) else v


def test_trends_page_fits_the_asr_series(demo):
    from analytics.trends import joinpoint

    at = _page("pages/trends.py", tr_sel="wbic")
    assert at.title[0].value == "Trends"
    assert len(at.get("plotly_chart")) == 2
    assert _qp(at, "tr_by") == "sex" and _qp(at, "tr_sel") == "wbic"
    # Women's ASR per year, all years, computed here independently of app_support.
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.AGE_GROUP].notna() & (r[S.SEX] == 2)]
    cases = r.groupby([S.YEAR, S.AGE_GROUP], observed=True).size().rename("count")
    p = demo.population[demo.population[S.SEX] == 2]
    pop = p.groupby([S.YEAR, S.AGE_GROUP], observed=True)[S.POPULATION].sum()
    data = pop.to_frame().join(cases, how="left").fillna({"count": 0}).reset_index()
    asr = rates.dsr(data, by=[S.YEAR], standard="world_segi1960", method="tiwari")
    ref = joinpoint(asr[S.YEAR], asr["value"], selection="wbic")
    table = at.dataframe[1].value
    # The table shows sex as a code or, once labelled for display, as a word.
    is_w = table["sex"].astype(str).isin(["2", "Women"])
    women = table[is_w & (table["segment"] != "AAPC")]
    # APCs to the decimals of the preset's policy (one decimal, as Joinpoint prints and the reading says)
    np.testing.assert_allclose(women["apc"], ref.segments["apc"].round(1), atol=1e-9)
    aapc = table[is_w & (table["segment"] == "AAPC")]["apc"].iloc[0]
    assert aapc == pytest.approx(ref.aapc()[0], abs=0.05)
    assert any(m.value.startswith("- Among women, all-sites cancer incidence") for m in at.markdown)


def test_trends_page_compare_sites_in_url():
    at = _page("pages/trends.py")
    at.radio(key="p_tr_by").set_value("site").run()
    assert not at.exception and _qp(at, "tr_by") == "site"
    table = at.dataframe[1].value
    assert 1 <= table["site"].nunique() <= 5


def test_prevalence_page_counts_people_by_hand(demo):
    at = _page("pages/prevalence.py")
    assert at.title[0].value == "Prevalence"
    assert _qp(at, "pv_dur") == "5" and len(at.get("plotly_chart")) == 1
    # All sites, persons, 5 years, 31 Dec 2024, both sexes: each person's earliest included tumour
    # diagnosed in 2020-2024 and alive at the end of the day (dead after it, or last seen on/after it).
    r = demo.records[demo.records[S.INCLUDED] & demo.records[S.INCIDENCE_DATE].notna()]
    first = r.sort_values([S.PATIENT_ID, S.INCIDENCE_DATE, S.TUMOUR_ID]).drop_duplicates(S.PATIENT_ID)
    t = pd.Timestamp("2024-12-31")
    w = first[(first[S.INCIDENCE_DATE] > pd.Timestamp("2019-12-31")) & (first[S.INCIDENCE_DATE] <= t)]
    dead = w[S.VITAL_STATUS] == 2
    alive = (dead & (w[S.LAST_CONTACT] > t)) | (~dead & (w[S.LAST_CONTACT] >= t)) | \
        ((w[S.VITAL_STATUS] == 1) & w[S.LAST_CONTACT].isna())
    expected = int(alive.fillna(False).sum())
    shown = next(m.value for m in at.metric if m.label.startswith("5-year prevalence"))
    assert int(shown.replace(",", "")) == expected


def test_projections_page_decomposition_and_projection(demo):
    at = _page("pages/projections.py", pj_year=2030)
    assert at.title[0].value == "Projections"
    assert len(at.get("plotly_chart")) == 2
    dec = at.dataframe[1].value
    # The identity holds exactly; the table is rounded to 0.1, so each of the three components
    # is off by at most 0.05 from its unrounded value.
    np.testing.assert_allclose(dec[["growth", "ageing", "risk"]].sum(axis=1), dec["change"], atol=0.15)
    # Demographic projection for 2030 by hand: rates of the default period 2020-2024 (both sexes
    # separately; cases of unknown age shared pro rata among the known age groups of their sex)
    # times the registry's 2024 population grown as the UN WPP projection.
    from analytics.demo import load_demo_projection

    y0, y1 = int(_qp(at, "y0")), int(_qp(at, "y1"))
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(y0, y1) & r[S.SEX].isin([1, 2])]
    known = r[r[S.AGE_GROUP].notna()]
    cases = known.groupby([S.SEX, S.AGE_GROUP], observed=True).size()
    factor = r.groupby(S.SEX).size() / known.groupby(S.SEX).size()
    cases = cases * factor.reindex(cases.index.get_level_values(S.SEX)).to_numpy()
    pop = demo.population
    ppop = pop[pop[S.YEAR].between(y0, y1)].groupby([S.SEX, S.AGE_GROUP])[S.POPULATION].sum()
    rate = (cases.reindex(ppop.index, fill_value=0) / ppop)
    p24 = pop[pop[S.YEAR] == y1].groupby([S.SEX, S.AGE_GROUP])[S.POPULATION].sum()
    proj = load_demo_projection()
    ref_year = y1 if y1 in set(proj[S.YEAR]) else int(proj[S.YEAR].min())
    g = proj.groupby([S.YEAR, S.SEX, S.AGE_GROUP])[S.POPULATION].sum()
    p30 = p24 * g.loc[2030].reindex(p24.index) / g.loc[ref_year].reindex(p24.index)
    expected = float((rate * p30).sum())
    # The decomposition starts from every case of the base period, unknown age included.
    assert dec["cases_start"].iloc[-1] == pytest.approx(len(r) / (y1 - y0 + 1), abs=0.05)
    table = at.dataframe[0].value
    got = table[(table["year"] == 2030) & (table["method"].str.startswith("Demographic"))]["cases"].sum()
    assert got == pytest.approx(expected, abs=0.2)


def test_prevalence_page_applies_shared_filters(demo):
    """Index date = end of the sidebar period, sex and age range (age on the index date)."""
    at = _page("pages/prevalence.py", y0=2018, y1=2022, sex="female", a0=50, a1=85)
    assert _qp(at, "a0") == "50" and _qp(at, "y1") == "2022"
    t = pd.Timestamp("2022-12-31")
    r = demo.records[demo.records[S.INCLUDED] & demo.records[S.INCIDENCE_DATE].notna()]
    first = r.sort_values([S.PATIENT_ID, S.INCIDENCE_DATE, S.TUMOUR_ID]).drop_duplicates(S.PATIENT_ID)
    w = first[(first[S.INCIDENCE_DATE] > pd.Timestamp("2017-12-31")) & (first[S.INCIDENCE_DATE] <= t)
              & (first[S.SEX] == 2)]
    b = w[S.BIRTH_DATE]
    had = (b.dt.month < 12) | ((b.dt.month == 12) & (b.dt.day <= 31))
    age = (t.year - b.dt.year - (~had).astype(int)).astype("Float64")
    age = age.fillna(w[S.AGE].astype("Float64") + np.floor((t - w[S.INCIDENCE_DATE]).dt.days / 365.25))
    w = w[age >= 50]
    dead = w[S.VITAL_STATUS] == 2
    alive = (dead & (w[S.LAST_CONTACT] > t)) | (~dead & (w[S.LAST_CONTACT] >= t)) | \
        ((w[S.VITAL_STATUS] == 1) & w[S.LAST_CONTACT].isna())
    expected = int(alive.fillna(False).sum())
    shown = next(m.value for m in at.metric if m.label.startswith("5-year prevalence"))
    assert int(shown.replace(",", "")) == expected
    # The denominator is women aged 50+ in 2022.
    pop = demo.population
    p = pop[(pop[S.YEAR] == 2022) & (pop[S.SEX] == 2) & (pop[S.AGE_START] >= 50)][S.POPULATION].sum()
    prop = next(m.value for m in at.metric if m.label == "per 100,000 population")
    assert float(prop.replace(",", "")) == pytest.approx(1e5 * expected / p, abs=0.05)


def test_trends_page_sites_and_regions_chosen_in_url():
    at = _page("pages/trends.py", tr_by="site", tr_sites="Breast,Prostate", tr_sel="wbic")
    table = at.dataframe[1].value
    assert set(table["site"].astype(str)) == {"Breast", "Prostate"}
    assert _qp(at, "tr_sites") == "Breast,Prostate"
    at.multiselect(key="p_tr_sites").set_value(["Breast"]).run()
    assert _qp(at, "tr_sites") == "Breast" and set(at.dataframe[1].value["site"].astype(str)) == {"Breast"}
    # Regions: the chosen economic regions only; with a sex chosen in the sidebar the
    # readings are about that sex.
    at = _page("pages/trends.py", tr_by="region", sex="female", tr_sel="wbic")
    codes = at.multiselect(key="p_tr_regions").value
    assert 1 <= len(codes) <= 8
    assert all(m.value.startswith("- Among women in ") for m in at.markdown if m.value.startswith("- Among"))
    at = _page("pages/trends.py", sex="male", tr_sel="wbic")
    assert set(at.dataframe[1].value["sex"].astype(str)) <= {"1", "Men"}


@pytest.mark.parametrize("lang", ["en", "az"])
def test_projections_page_reports_a_nordpred_fit_that_did_not_converge(monkeypatch, lang):
    """Issue 9: non-converged fits are reported on the page and in the chart's description
    (its caption, footer and metadata), in the page's language."""
    from analytics import projections as pj
    from analytics.i18n import sex_label, t
    from app_support import cache

    monkeypatch.setattr(pj, "NORDPRED_MAX_ITER", 1)
    monkeypatch.setattr(cache, "nordpred", cache.nordpred.__wrapped__)    # not the cached fits
    at = _page("pages/projections.py", lang=lang)
    expected = [t("describe.proj_not_converged", lang, sex=sex_label(s, lang).lower(), n=1) for s in (1, 2)]
    warnings = [w.value for w in at.warning]
    assert all(e in warnings for e in expected), warnings
    # the projection chart's caption (its description, also the export's footer) says it too
    base = t("describe.proj_base_period", lang, period=f"{_qp(at, 'y0')}–{_qp(at, 'y1')}", last=2050)
    caption = next(c.value for c in at.caption if base in c.value)
    assert all(e in caption for e in expected), caption
    monkeypatch.undo()
    at = _page("pages/projections.py", lang=lang)
    assert not any(e in w.value for w in at.warning for e in expected)

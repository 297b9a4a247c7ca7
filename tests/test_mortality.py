"""analytics.mortality: deaths (a vital-statistics table, or derived from the registry's records)
become cube events, so mortality rates come from the incidence engine. Expected values are
computed by hand (the arithmetic is written out in each test) or, on the demo, aggregated
independently with plain pandas from the files."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics import cube as C
from analytics import mortality as M
from analytics import rates
from analytics import schema as S

SEGI = {"0-4": 12000, "5-9": 10000, "10-14": 9000, "15-19": 9000, "20-24": 8000, "25-29": 8000, "30-34": 6000,
        "35-39": 6000, "40-44": 6000, "45-49": 6000, "50-54": 5000, "55-59": 4000, "60-64": 4000, "65-69": 3000,
        "70-74": 2000, "75-79": 1000, "80-84": 500, "85+": 500}
REGIONS = ["R1", "R2"]


def population(year=2020, per_group=10_000.0, overrides=None):
    """Two districts, both sexes, every age group: ``per_group`` person-years each."""
    rows = []
    for region in REGIONS:
        for sex in (1, 2):
            for age in S.AGE_GROUPS:
                rows.append({S.YEAR: year, S.REGION: region, S.SEX: sex, S.AGE_GROUP: age,
                             S.POPULATION: (overrides or {}).get((region, sex, age), per_group)})
    return pd.DataFrame(rows)


def deaths_table(rows):
    return pd.DataFrame(rows, columns=S.DEATH_COLUMNS)


# --- a deaths table by hand -------------------------------------------------------------------------
HAND_DEATHS = deaths_table([
    # counted (men, lung): 6 at 60-64 in R1, 4 at 70-74 in R2
    (2020, 1, "60-64", "R1", "C349", 6),
    (2020, 1, "70-74", "R2", "C34", 4),
    # counted: stomach, women; one of unknown age, one of unknown sex
    (2020, 2, "55-59", "R1", "C16", 3),
    (2020, 2, "unknown", "R1", "C16", 1),
    (2020, 9, "65-69", "R2", "C16", 2),
    # excluded, one reason each
    (2020, 1, "60-64", "R1", "I25", 50),        # not a cancer
    (2020, 1, "60-64", "R1", "", 7),            # no ICD-10
    (2020, 1, "60-64", "R1", "lung", 5),        # not an ICD-10 code
    (2020, 1, "60-64", "R9", "C34", 8),         # district not in the regions table
    (2020, 1, "60-64", None, "C34", 9),         # no district
    (2031, 1, "60-64", "R1", "C34", 10),        # no person-years that year
    (2020, 1, "60-64", "R1", "C34", 1.5),       # not a whole number
    (2020, 1, "61-65", "R1", "C34", 11),        # not an age group of the population
])


def hand_events(site_column=S.SITE_CI5):
    return M.mortality_events(None, site_column, deaths=HAND_DEATHS, regions=REGIONS, years=[2020])


def test_every_death_row_is_counted_or_excluded_with_its_reason():
    me = hand_events()
    rec = me.reconciliation.set_index("reason")
    expected = {"counted": (3, 6 + 4 + 3), "counted_unknown_age": (1, 1), "counted_unknown_sex": (1, 2),
                "not_in_site_list": (1, 50), "icd10_unknown": (2, 12), "region_unknown": (1, 8),
                "region_missing": (1, 9), "year_outside_population": (1, 10), "bad_count": (1, 1.5),
                "age_group_unknown_label": (1, 11)}
    assert set(rec.index) == set(expected)
    for reason, (rows, deaths) in expected.items():
        assert rec.loc[reason, "rows"] == rows, reason
        assert rec.loc[reason, "deaths"] == pytest.approx(deaths), reason
    assert rec["rows"].sum() == len(HAND_DEATHS)
    assert me.n_counted == 16 and me.source == M.SOURCE_TABLE
    assert set(rec.loc[rec["status"] == "used"].index) == {"counted", "counted_unknown_age", "counted_unknown_sex"}
    # the events: the columns of cube.events_from_records, site groups of the CI5 list
    ev = me.events
    assert list(ev.columns) == C.EVENT_COLUMNS
    lung = ev[ev["site"] == "Lung (incl. trachea and bronchus)"]
    assert lung["count"].sum() == 10 and set(lung[S.AGE_GROUP]) == {"60-64", "70-74"}
    stomach = ev[ev["site"] == "Stomach"].set_index([S.SEX, S.AGE_GROUP])["count"]
    assert stomach.to_dict() == {(2, "55-59"): 3, (2, C.UNKNOWN_AGE): 1, (9, "65-69"): 2}


def test_hand_computed_mortality_asr_crude_and_cumulative_risk():
    # person-years: 10,000 per district, sex and age group, except men 70-74 in R2 (5,000)
    pop = population(overrides={("R2", 1, "70-74"): 5_000.0})
    cube = C.build_cube(hand_events().events, pop, {"R1": "E1", "R2": "E1"})
    sel = C.Selection(years=(2020, 2020), sexes=(1,), site="Lung (incl. trachea and bronchus)")
    data = cube.select(sel)
    res = rates.dsr(data, method="tiwari")
    # men, both districts: 60-64: 6 deaths / 20,000; 70-74: 4 / 15,000
    # ASR = 100,000 * (0.04 * 6/20000 + 0.02 * 4/15000) = 1.2 + 0.5333...
    asr = 100_000 * (0.04 * 6 / 20_000 + 0.02 * 4 / 15_000)
    assert asr == pytest.approx(1.2 + 8 / 15, rel=1e-15)
    assert res["value"].iloc[0] == pytest.approx(asr, rel=1e-12)
    # crude: 10 deaths / (17 * 20,000 + 15,000) person-years
    assert res["crude_rate"].iloc[0] == pytest.approx(10 / 355_000 * 100_000, rel=1e-12)
    # Tiwari, Clegg & Zou (2006) modified gamma limits: the upper one adds the mean of the
    # omega_i = 100,000 w_i / P_i over the 18 age groups (and the mean of their squares)
    var = 100_000 ** 2 * (0.04 ** 2 * 6 / 20_000 ** 2 + 0.02 ** 2 * 4 / 15_000 ** 2)
    omega = [100_000 * SEGI[a] / 100_000 / (15_000 if a == "70-74" else 20_000) for a in S.AGE_GROUPS]
    wbar, w2bar = sum(omega) / 18, sum(o * o for o in omega) / 18
    lower = var / (2 * asr) * stats.chi2.ppf(0.025, 2 * asr ** 2 / var)
    upper = (var + w2bar) / (2 * (asr + wbar)) * stats.chi2.ppf(0.975, 2 * (asr + wbar) ** 2 / (var + w2bar))
    assert res["lower"].iloc[0] == pytest.approx(lower, rel=1e-9)
    assert res["upper"].iloc[0] == pytest.approx(upper, rel=1e-9)
    # cumulative rate 0-74 = 5 years * (6/20000 + 4/15000) = 0.0028333; risk = 1 - exp(-cum)
    cum = rates.cumulative_risk(data, age=S.AGE_GROUP)
    cum_rate = 5 * (6 / 20_000 + 4 / 15_000)
    assert cum["cum_risk"].iloc[0] == pytest.approx(100 * (1 - math.exp(-cum_rate)), rel=1e-9)
    # truncated 60-69: weights 4000 and 3000 renormalised to 4/7 and 3/7; only 60-64 has deaths
    trunc = rates.dsr(cube.select(sel.replace(ages=("60-64", "65-69"))), method="tiwari")
    assert trunc["value"].iloc[0] == pytest.approx(100_000 * 4 / 7 * 6 / 20_000, rel=1e-12)


def test_unknown_age_and_sex_deaths_count_only_in_totals():
    pop = population()
    cube = C.build_cube(hand_events().events, pop, {})
    stomach = C.Selection(years=(2020, 2020), site="Stomach")
    both = cube.select(stomach)
    assert both["count"].sum() == 3 + 1 + 2          # every sex, unknown age included
    assert both[S.AGE_GROUP].isna().sum() == 1        # the unknown-age row, no person-years
    women = cube.select(stomach.replace(sexes=(2,)), by=(S.SEX,))
    assert women["count"].sum() == 4
    truncated = cube.select(stomach.replace(ages=tuple(S.AGE_GROUPS[:-1])))
    assert truncated["count"].sum() == 5               # the unknown-age death leaves a truncated range
    assert rates.dsr(both)["unknown_age"].iloc[0] == 1


def test_mortality_rates_equal_the_rates_engine_on_the_deaths_table_for_every_method():
    """The cube over the deaths events gives exactly what rates.dsr gives on the deaths table
    aggregated by hand (sum of counts per age group, with the population)."""
    rng = np.random.default_rng(7)
    rows = [(2020 + y, sex, age, region, code, int(rng.integers(0, 9)))
            for y in range(3) for sex in (1, 2) for age in S.AGE_GROUPS for region in REGIONS
            for code in ("C18", "C20", "C509", "C61", "C44")]
    deaths = deaths_table(rows)
    pop = pd.concat([population(2020 + y, per_group=5_000.0 + 100 * y) for y in range(3)], ignore_index=True)
    me = M.mortality_events(None, S.SITE_GLOBOCAN, deaths=deaths, regions=REGIONS, years=[2020, 2021, 2022])
    cube = C.build_cube(me.events, pop, {})
    # GLOBOCAN puts C18 and C20 together
    sel = C.Selection(years=(2021, 2022), sexes=(1, 2), site="Colorectum")
    keep = deaths[deaths[S.YEAR].between(2021, 2022) & deaths[S.ICD10].isin(["C18", "C20"])]
    d = keep.groupby(S.AGE_GROUP)[S.COUNT].sum()
    p = pop[pop[S.YEAR].between(2021, 2022)].groupby(S.AGE_GROUP)[S.POPULATION].sum()
    plain = pd.DataFrame({S.AGE_GROUP: p.index, S.COUNT: d.reindex(p.index).fillna(0).to_numpy(),
                          S.POPULATION: p.to_numpy()})
    for method in rates.DSR_METHODS:
        got = rates.dsr(cube.select(sel), method=method)
        want = rates.dsr(plain, method=method)
        for col in ("count", "crude_rate", "value", "lower", "upper"):
            assert got[col].iloc[0] == pytest.approx(want[col].iloc[0], rel=1e-12), (method, col)
    # all sites but C44 leaves the C44 deaths out, as for incidence
    no_skin = cube.select(C.Selection(years=(2020, 2022), site=C.ALL_BUT_C44))["count"].sum()
    assert no_skin == deaths.loc[deaths[S.ICD10] != "C44", S.COUNT].sum()
    assert cube.c44_sites == frozenset({"Other skin"})


def test_ci5_and_globocan_lists_group_the_same_deaths_differently():
    deaths = deaths_table([(2020, 1, "60-64", "R1", "C18", 2), (2020, 1, "60-64", "R1", "C20", 3),
                           (2020, 1, "60-64", "R1", "C97", 1)])
    ci5 = M.mortality_events(None, S.SITE_CI5, deaths=deaths)
    glo = M.mortality_events(None, S.SITE_GLOBOCAN, deaths=deaths)
    assert ci5.events.groupby("site")["count"].sum().to_dict() == {"Colon": 2, "Rectum": 3, "Other": 1}
    assert glo.events.groupby("site")["count"].sum().to_dict() == {"Colorectum": 5}
    # C97 (multiple independent primaries) is in CI5's "Other" but in no GLOBOCAN group: said so
    assert glo.reconciliation.set_index("reason").loc["not_in_site_list", "deaths"] == 1


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="site_column"):
        M.mortality_events(None, "site", deaths=HAND_DEATHS)
    with pytest.raises(ValueError, match="lack column"):
        M.mortality_events(None, S.SITE_CI5, deaths=HAND_DEATHS.drop(columns=[S.ICD10]))
    with pytest.raises(ValueError, match="deaths table or the registry"):
        M.mortality_events(None, S.SITE_CI5)


# --- deaths derived from the registry's records --------------------------------------------------------
def records():
    """A hand-made registry: the comment on each patient says what the rule does with it."""
    def rec(tid, pid, sex, icd, site, inc, birth, age, region, vital, last, cod, included=True):
        return {S.TUMOUR_ID: tid, S.PATIENT_ID: pid, S.SEX: sex, S.ICD10: icd, S.SITE_CI5: site,
                S.INCIDENCE_DATE: pd.Timestamp(inc), S.BIRTH_DATE: pd.Timestamp(birth) if birth else pd.NaT,
                S.AGE: age, S.REGION: region, S.VITAL_STATUS: vital,
                S.LAST_CONTACT: pd.Timestamp(last) if last else pd.NaT, S.CAUSE_OF_DEATH: cod,
                S.INCLUDED: included, S.YEAR: pd.Timestamp(inc).year}
    lung, colon, prostate = "Lung (incl. trachea and bronchus)", "Colon", "Prostate"
    rows = [
        # P1 lung, died of lung cancer 2021-03-10 aged 70 (born 1950-06-01): counted, 70-74, R1
        rec("T1", "P1", 1, "C349", lung, "2019-02-01", "1950-06-01", 68, "R1", 2, "2021-03-10", "C34.9"),
        # P2 colon 2015 (R1) and prostate 2018 (R2), died of prostate cancer: one death, prostate, R2
        rec("T2", "P2", 1, "C189", colon, "2015-01-10", "1945-01-01", 70, "R1", 2, "2021-07-01", "C61"),
        rec("T3", "P2", 1, "C61", prostate, "2018-05-05", "1945-01-01", 73, "R2", 2, "2021-07-01", "C61"),
        # P3 breast, died of a heart attack: not a cancer death
        rec("T4", "P3", 2, "C509", "Breast", "2016-01-01", "1940-01-01", 76, "R1", 2, "2020-01-01", "I21"),
        # P4 stomach, died of lung cancer: another site than her registered tumour
        rec("T5", "P4", 2, "C169", "Stomach", "2017-01-01", "1950-01-01", 67, "R2", 2, "2020-02-02", "C34"),
        # P5 liver, dead, no cause recorded
        rec("T6", "P5", 1, "C220", "Liver", "2018-01-01", "1955-01-01", 63, "R1", 2, "2020-03-03", None),
        # P6 pancreas, alive: not a death at all
        rec("T7", "P6", 2, "C259", "Pancreas", "2019-01-01", "1960-01-01", 59, "R2", 1, "2024-12-31", None),
        # P7 bladder tumour not counted (in situ): its death is not a counted cancer's death
        rec("T8", "P7", 1, "D090", "Bladder", "2019-01-01", "1950-01-01", 69, "R1", 2, "2020-05-05", "C67",
            included=False),
        # P8 brain, no birth date: age 60 at diagnosis 2019-05-01 + 1 completed year -> 61 at death
        rec("T9", "P8", 2, "C719", "Brain, nervous system", "2019-05-01", None, 60, "R2", 2, "2020-06-01", "C71"),
        # P9 oesophagus, dead of it but no date of death
        rec("T10", "P9", 1, "C159", "Oesophagus", "2019-01-01", "1950-01-01", 69, "R1", 2, None, "C15"),
        # P10 two colon tumours (a second primary), died of colon cancer: one death, the earlier tumour's R2
        rec("T11", "P10", 2, "C180", colon, "2014-03-03", "1949-09-09", 64, "R2", 2, "2020-09-08", "C18"),
        rec("T12", "P10", 2, "C187", colon, "2016-03-03", "1949-09-09", 66, "R1", 2, "2020-09-08", "C18"),
        # P11 lung, died of it in 2031: no person-years that year
        rec("T13", "P11", 1, "C340", lung, "2020-01-01", "1960-01-01", 60, "R1", 2, "2031-01-01", "C34"),
    ]
    return pd.DataFrame(rows)


def test_deaths_derived_from_the_registry_records_follow_the_documented_rule():
    me = M.mortality_events(records(), S.SITE_CI5, regions=REGIONS, years=[2020, 2021])
    assert me.source == M.SOURCE_RECORDS
    rec = me.reconciliation.set_index("reason")
    # one line per dead patient among the counted tumours (P6 alive, P7 not counted: not in the account)
    assert rec["deaths"].to_dict() == {"cause_missing": 1, "cause_not_cancer": 1, "cause_other_cancer": 1,
                                       "death_date_missing": 1, "year_outside_population": 1, "counted": 4}
    assert (rec["rows"] == rec["deaths"]).all()
    d = me.deaths.sort_values([S.YEAR, C.SITE]).reset_index(drop=True)
    got = {(r.site, r.year, r.sex, r.age_group, r.region_code, r.count) for r in d.itertuples()}
    assert got == {
        ("Lung (incl. trachea and bronchus)", 2021, 1, "70-74", "R1", 1),   # P1: 70 on 2021-03-10
        ("Prostate", 2021, 1, "75-79", "R2", 1),                           # P2: 76 on 2021-07-01, prostate's district
        ("Brain, nervous system", 2020, 2, "60-64", "R2", 1),              # P8: 60 + 1 year
        ("Colon", 2020, 2, "70-74", "R2", 1),                              # P10: 70 on 2020-09-08 (born 1949-09-09)
    }
    assert me.events["count"].sum() == 4 and me.n_counted == 4 and me.n_excluded == 5


def test_registry_derived_deaths_feed_the_same_engine():
    pop = population(2020)
    pop = pd.concat([pop, population(2021)], ignore_index=True)
    me = M.mortality_events(records(), S.SITE_CI5, regions=REGIONS, years=[2020, 2021])
    cube = C.build_cube(me.events, pop, {})
    res = rates.dsr(cube.select(C.Selection(years=(2020, 2021), sexes=(2,)), by=("site",)), by=["site"])
    colon = res.set_index("site").loc["Colon"]
    # one death at 70-74 among women over 2 years x 2 districts x 10,000: weight 0.02
    assert colon["count"] == 1
    assert colon["value"] == pytest.approx(100_000 * 0.02 * 1 / 40_000, rel=1e-12)


# --- the M:I ratio ------------------------------------------------------------------------------------
def test_mi_ratio_is_deaths_over_cases_of_the_same_selection():
    recs = records().assign(**{S.AGE_GROUP: "60-64"})
    deaths = deaths_table([(2020, 1, "60-64", "R1", "C34", 3), (2020, 1, "60-64", "R2", "C34", 1),
                           (2019, 1, "60-64", "R1", "C34", 5), (2020, 2, "60-64", "R1", "C18", 2)])
    me = M.mortality_events(None, S.SITE_CI5, deaths=deaths)
    sel = C.Selection(years=(2019, 2021))
    by_site = M.mi_ratio(recs, me, S.SITE_CI5, sel, ("site",)).set_index("site")
    # lung: 9 deaths (2019-2021) for 2 counted lung tumours diagnosed 2019-2021 (T1 2019, T13 2020)
    assert by_site.loc["Lung (incl. trachea and bronchus)", ["deaths", "cases"]].tolist() == [9, 2]
    assert by_site.loc["Lung (incl. trachea and bronchus)", "mi_ratio"] == pytest.approx(4.5)
    # colon: 2 deaths, no colon tumour diagnosed 2019-2021 (2014, 2015, 2016): no ratio
    assert "Colon" not in by_site.index
    men_r1 = M.mi_ratio(recs, me, S.SITE_CI5, sel.replace(sexes=(1,), regions=("R1",)), (S.YEAR,)).set_index(S.YEAR)
    # men in R1: 2019 tumours T1, T10 (5 deaths); 2020 T13 (3 deaths)
    assert men_r1["deaths"].to_dict() == {2019: 5, 2020: 3}
    assert men_r1["cases"].to_dict() == {2019: 2, 2020: 1}
    by_parent = M.mi_ratio(recs, me, S.SITE_CI5, sel.replace(years=(2020, 2020)), (S.PARENT,),
                           parents={"R1": "E1", "R2": "E2"}).set_index(S.PARENT)
    # 2020: R1 has T13 (men) and 3 + 2 deaths; R2 has no tumour diagnosed in 2020
    assert by_parent.loc["E1", ["deaths", "cases"]].tolist() == [5, 1]
    with pytest.raises(ValueError, match="by must be"):
        M.mi_ratio(recs, me, S.SITE_CI5, sel, ("age_group",))


# --- the demo ------------------------------------------------------------------------------------------
def _site_of(codes: pd.Series) -> pd.Series:
    """CI5-XI group of 3-character ICD-10 codes, read straight from the reference list (not
    through analytics.sites): ranges like C18-21 and unions like C82-86,C96."""
    tab = pd.read_csv(S.DATA_DIR / "reference" / "site_groups.csv")
    tab = tab[tab["scheme"] == "ci5_detailed"].sort_values("order")
    lookup = {}
    for label, spec in zip(tab["label"], tab["icd10"]):
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            first, last = int(lo[1:3]), int(hi[-2:]) if hi else int(lo[1:3])
            for i in range(first, last + 1):
                lookup.setdefault(f"{lo[0]}{i:02d}", label)
    return codes.str[:3].map(lookup)


def test_demo_mortality_equals_incidence_times_mi_by_site(demo):
    """Independently of the app: per site, both sexes, 2015-2024, the crude mortality rate is the
    crude incidence rate times M:I (same person-years); the mortality ASR is the incidence
    age-specific rates times the age-specific M:I, standardised; and the demo's deaths are
    plausible against its incidence (M:I of the sites is as GLOBOCAN's ordering has it)."""
    years = (2015, 2024)
    deaths = demo.deaths[demo.deaths[S.YEAR].between(*years)].assign(site=lambda d: _site_of(d[S.ICD10]))
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(*years) & r[S.REGION].notna()]
    pop = demo.population[demo.population[S.YEAR].between(*years)]
    py = pop.groupby(S.AGE_GROUP)[S.POPULATION].sum()
    d_age = deaths.groupby(["site", S.AGE_GROUP])[S.COUNT].sum().unstack(fill_value=0).reindex(columns=py.index, fill_value=0)
    i_age = (r[r[S.AGE_GROUP].notna()].groupby([r[S.SITE_CI5].astype(str), r[S.AGE_GROUP].astype(str)]).size()
             .unstack(fill_value=0).reindex(columns=py.index, fill_value=0))
    w = pd.Series(SEGI).reindex(py.index) / 100_000
    mi = deaths.groupby("site")[S.COUNT].sum() / r.groupby(r[S.SITE_CI5].astype(str)).size()

    me = M.mortality_events(demo.records, S.SITE_CI5, deaths=demo.deaths,
                            regions=demo.population[S.REGION].unique(), years=demo.population[S.YEAR].unique())
    assert me.n_excluded == 0
    mort_cube = C.build_cube(me.events, demo.population, {})
    inc_cube = C.build_cube(C.events_from_records(demo.records, S.SITE_CI5), demo.population, {})
    sel = C.Selection(years=years)
    mort = rates.dsr(mort_cube.select(sel, ("site",)), by=["site"]).set_index("site")
    inc = rates.dsr(inc_cube.select(sel, ("site",)), by=["site"]).set_index("site")
    big = [s for s in mort.index if mort.loc[s, "count"] >= 200]
    assert len(big) >= 25
    for site in big:
        assert mort.loc[site, "count"] == deaths.loc[deaths["site"] == site, S.COUNT].sum()
        assert mort.loc[site, "crude_rate"] == pytest.approx(inc.loc[site, "crude_rate"] * mi[site], rel=1e-9), site
        # ASR_M = sum_i w_i * (I_i / P_i) * (D_i / I_i), age groups with cases
        rate_i = i_age.loc[site] / py
        mi_i = (d_age.loc[site] / i_age.loc[site]).where(i_age.loc[site] > 0, 0)
        extra = d_age.loc[site].where(i_age.loc[site] == 0, 0) / py     # deaths where no case: D_i / P_i
        want = 100_000 * float((w * (rate_i * mi_i + extra)).sum())
        assert mort.loc[site, "value"] == pytest.approx(want, rel=1e-9), site
        # deaths come at slightly older ages than diagnoses: close to, not equal to, ASR_I x M:I
        assert 0.8 < mort.loc[site, "value"] / (inc.loc[site, "value"] * mi[site]) < 1.25, site
    # plausibility of the demo's deaths: lethal sites high, good-prognosis sites low
    for site in ("Lung (incl. trachea and bronchus)", "Liver", "Pancreas", "Oesophagus"):
        assert 0.75 < mi[site] < 1.0, site
    for site in ("Breast", "Prostate", "Corpus uteri", "Thyroid"):
        assert mi[site] < 0.3, site
    assert mi.drop(["Other skin"], errors="ignore")[big].max() < 1.0


def test_demo_registry_derived_deaths_are_close_to_the_vital_statistics(demo):
    """Without the deaths table, the registry's own deaths: one per dead patient with the cancer
    as cause; in the last five years (when most patients who die were diagnosed under registration)
    within a few percent of the vital statistics, and never more."""
    derived = M.mortality_events(demo.records, S.SITE_CI5, regions=demo.population[S.REGION].unique(),
                                 years=demo.population[S.YEAR].unique())
    r = demo.records
    dead = r[r[S.INCLUDED] & (r[S.VITAL_STATUS] == 2)]
    assert derived.reconciliation["deaths"].sum() == dead[S.PATIENT_ID].nunique()
    by_year = derived.deaths.groupby(S.YEAR)[S.COUNT].sum()
    table = demo.deaths.groupby(S.YEAR)[S.COUNT].sum()
    recent = range(2020, 2025)
    assert (by_year.reindex(recent) <= table.reindex(recent)).all()
    assert (by_year.reindex(recent) / table.reindex(recent)).min() > 0.85
    # the first registry year misses the deaths of patients diagnosed before it
    assert by_year[2010] / table[2010] < 0.5

"""Counting-method prevalence on small constructed cohorts whose answer is worked out by hand,
and Wilson limits against PHEindicatormethods' published test data."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import schema as S
from analytics.prevalence import (
    ALL_SITES, PrevalenceInputError, prevalence, prevalence_contributions, wilson_limits,
)

T = "2024-12-31"
NaT = pd.NaT


def _rec(rows):
    cols = ["tumour_id", "patient_id", "sex", "birth_date", "incidence_date", "age", "site_ci5",
            "first_primary", "vital_status", "last_contact_date"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("birth_date", "incidence_date", "last_contact_date"):
        df[c] = pd.to_datetime(df[c])
    df["sex"] = df["sex"].astype("Int8")
    df["vital_status"] = df["vital_status"].astype("Int8")
    df["age"] = df["age"].astype("Int16")
    df["included"] = True
    df["region_code"] = "R1"
    df["year"] = df["incidence_date"].dt.year.astype("Int16")
    return df


@pytest.fixture
def cohort():
    return _rec([
        # id, patient, sex, birth, dx, age, site, first, vital, last contact/death
        ("t1", "P1", 2, "1970-06-15", "2024-03-01", 53, "Breast", True, 1, "2025-01-15"),
        ("t2", "P2", 2, "1960-01-01", "2022-06-01", 62, "Breast", True, 2, "2024-12-31"),  # dies ON t
        ("t3", "P3", 2, "1972-02-02", "2024-12-31", 52, "Breast", True, 1, "2024-12-31"),  # dx ON t
        ("t4", "P4", 2, "1955-03-03", "2020-05-05", 65, "Breast", True, 1, "2023-06-30"),  # lost
        ("t5", "P5", 2, "1950-01-01", "2016-02-01", 66, "Colon", True, 1, "2025-03-01"),   # 1st primary
        ("t6", "P5", 2, "1950-01-01", "2023-01-10", 73, "Breast", True, 1, "2025-03-01"),  # 2nd primary
        ("t7", "P6", 2, "1965-05-05", "2021-07-01", 56, "Breast", True, 2, "2025-02-01"),  # dies after t
        ("t8", "P7", 2, "1966-01-01", NaT, 55, "Breast", True, 1, "2025-01-01"),           # dx unknown
        ("t9", "P8", 2, "1940-01-01", "2019-04-01", 79, "Breast", True, 2, NaT),           # death date unknown
        ("t10", "P9", 2, "1980-01-01", "2025-02-01", 45, "Breast", True, 1, "2025-03-01"), # dx after t
        ("t11", "P1", 2, "1970-06-15", "2024-06-01", 53, "Breast", False, 1, "2025-01-15"),# 2nd breast
        ("t12", "P10", 1, "1945-01-01", "2012-01-01", 67, "Colon", True, 1, "2025-01-01"),
    ])


def _get(out, site, sex, dur, col="count"):
    row = out[(out["site_ci5"] == site) & (out["sex"] == sex) & (out["duration"] == dur)]
    assert len(row) == 1, (site, sex, dur)
    return row[col].iloc[0]


def test_person_based_counts_by_hand(cohort):
    out = prevalence(cohort, index_date=T, by=["site_ci5", "sex"])
    # Breast, women: 1y P1 + P3 (dx on t counts; P2 died on t does not)
    assert _get(out, "Breast", 2, "1") == 2
    # 3y adds P5's second primary (its first breast tumour); P2 dead
    assert _get(out, "Breast", 2, "3") == 3
    # 5y adds P6 (died after t); P4 lost to follow-up counts 0 and is reported
    assert _get(out, "Breast", 2, "5") == 4
    assert _get(out, "Breast", 2, "5", "n_lost") == 1
    # 10y: P8 (dead, death date unknown) cannot be classified
    assert _get(out, "Breast", 2, "10") == 4
    assert _get(out, "Breast", 2, "10", "n_unknown") == 1
    assert _get(out, "Breast", 2, "5", "n_unknown") == 0
    assert _get(out, "Breast", 2, "all") == 4
    assert _get(out, "Colon", 2, "5") == 0 and _get(out, "Colon", 2, "10") == 1
    assert _get(out, "Colon", 1, "10") == 0 and _get(out, "Colon", 1, "all") == 1
    # All sites: persons once, through their earliest tumour (P5 through colon 2016)
    assert [_get(out, ALL_SITES, 2, d) for d in ["1", "3", "5", "10", "all"]] == [2, 2, 3, 4, 4]
    assert out.attrs["excluded_unknown_incidence_date"] == 1


def test_tumour_based_counts_every_tumour(cohort):
    out = prevalence(cohort, index_date=T, by=["site_ci5", "sex"], counting="tumour", all_sites=False)
    assert _get(out, "Breast", 2, "1") == 3   # P1 twice + P3
    assert _get(out, "Breast", 2, "all") == 5


def test_contribution_statuses(cohort):
    c = prevalence_contributions(cohort, index_date=T).set_index("tumour_id")
    assert c.loc["t2", "status"] == "dead"
    assert c.loc["t3", "status"] == "alive"
    assert c.loc["t4", "status"] == "lost"
    assert c.loc["t7", "status"] == "alive"
    assert c.loc["t9", "status"] == "unknown"
    assert c.loc["t10", "status"] == "after"
    assert "t8" not in c.index
    assert c.loc["t1", "age_at_index"] == 54 and c.loc["t1", "age_group_index"] == "50-54"


def test_default_index_date_is_end_of_last_year(cohort):
    c = prevalence_contributions(cohort[cohort["year"].fillna(0) <= 2024])
    assert c.attrs["index_date"] == pd.Timestamp("2024-12-31")


def test_lost_to_follow_up_adjustment_by_hand():
    # One survival cohort (site X, women, age < 60), all diagnosed 2020-01-01.
    # Months since dx: C dies in month 10, L lost (alive) in month 24, A dies in month 30,
    # B and D alive beyond the index date (months 70, 80).
    d = "2020-01-01"
    df = _rec([
        ("c", "C", 2, "1970-01-01", d, 50, "X", True, 2, "2020-11-05"),
        ("l", "L", 2, "1970-01-01", d, 50, "X", True, 1, "2022-01-01"),
        ("a", "A", 2, "1970-01-01", d, 50, "X", True, 2, "2022-07-15"),
        ("b", "B", 2, "1970-01-01", d, 50, "X", True, 1, "2025-11-01"),
        ("e", "D", 2, "1970-01-01", d, 50, "X", True, 1, "2026-09-01"),
    ])
    # KM (monthly): S(start of month 24) = 4/5; S(start of month 59) = 4/5 * 2/3 (3 at risk in
    # month 30). L contributes S(59)/S(24) = 2/3.
    out = prevalence(df, index_date=T, by=["site_ci5"], adjust_lost=True, all_sites=False,
                     durations=[5])
    assert out["count"].iloc[0] == pytest.approx(2 + 2 / 3, rel=1e-12)
    plain = prevalence(df, index_date=T, by=["site_ci5"], all_sites=False, durations=[5])
    assert plain["count"].iloc[0] == 2 and plain["n_lost"].iloc[0] == 1


def test_proportion_and_asr_by_hand(cohort):
    pop = pd.DataFrame({
        S.YEAR: 2024, S.REGION: "R1", S.SEX: pd.array([2, 2, 1, 1], dtype="Int8"),
        S.AGE_GROUP: ["50-54", "55-59", "50-54", "55-59"], S.AGE_START: [50, 55, 50, 55],
        S.POPULATION: [1000.0, 3000.0, 900.0, 2500.0],
    })
    df = cohort[cohort["patient_id"].isin(["P1", "P3"])]   # ages at t: 54 and 52
    out = prevalence(df, pop, index_date=T, by=["sex"], durations=[1],
                     standard={"50-54": 1.0, "55-59": 3.0}, multiplier=100)
    r = out.iloc[0]
    assert r["count"] == 2 and r["population"] == 4000
    v, lo, hi = wilson_limits(2, 4000, multiplier=100)
    assert r["proportion"] == pytest.approx(0.05) and (r["lower"], r["upper"]) == (lo, hi)
    # ASR = (1*(2/1000) + 3*(0/3000)) / 4 * 100 = 0.05
    assert r["asr"] == pytest.approx(0.05, rel=1e-12)
    assert r["asr_lower"] < r["asr"] < r["asr_upper"]


def test_missing_column_message(cohort):
    with pytest.raises(PrevalenceInputError, match="vital_status"):
        prevalence(cohort.drop(columns="vital_status"), index_date=T)


REF = pd.read_csv(Path(__file__).parent / "reference_cases" / "phe_proportion_wilson.csv")


@pytest.mark.parametrize("row", REF.to_dict("records"), ids=lambda r: r["case_id"])
def test_wilson_against_phe(row):
    v, lo, hi = wilson_limits(row["numerator"], row["denominator"], conf=row["confidence"],
                              multiplier=row["multiplier"])
    exp = [row["expected_value"], row["expected_lower"], row["expected_upper"]]
    if np.isnan(exp[0]):
        assert np.isnan([v, lo, hi]).all()
    else:
        np.testing.assert_allclose([v, lo, hi], exp, rtol=1e-9)


def test_unknown_birth_date_uses_age_at_diagnosis():
    df = _rec([("a", "A", 1, NaT, "2020-07-01", 64, "Lung", True, 1, "2025-01-01")])
    c = prevalence_contributions(df, index_date=T)
    # 64 at diagnosis + 4 completed years (1,644 days) = 68 at the index date
    assert c["age_at_index"].iloc[0] == 68 and str(c["age_group_index"].iloc[0]) == "65-69"


def test_by_region_and_age_group_denominators(cohort):
    df = cohort.copy()
    df.loc[df["patient_id"].isin(["P3", "P6"]), "region_code"] = "R2"
    pop = pd.DataFrame({S.YEAR: 2024, S.REGION: ["R1", "R2"], S.SEX: pd.array([2, 2], dtype="Int8"),
                        S.AGE_GROUP: ["50-54", "50-54"], S.AGE_START: 50, S.POPULATION: [1000.0, 500.0]})
    out = prevalence(df, pop, index_date=T, by=["region_code", "sex"], durations=[5])
    got = out.set_index("region_code")
    # all sites, persons: R1 -> P1 alive (P2 dead, P4 lost, P5 dx 2016 outside 5y); R2 -> P3, P6
    assert got.loc["R1", "count"] == 1 and got.loc["R2", "count"] == 2
    assert got.loc["R2", "population"] == 500 and got.loc["R2", "proportion"] == pytest.approx(400.0)
    ages = prevalence(df, pop, index_date=T, by=["age_group"], durations=[5])
    # P1 54, P3 52, P6 59 alive; P2 (64, dead) and P4 (69, lost) give zero rows
    assert ages.set_index("age_group")["count"].to_dict() == {"50-54": 2, "55-59": 1, "60-64": 0, "65-69": 0}


def test_prevalence_grows_with_duration_and_never_exceeds_people(cohort):
    out = prevalence(cohort, index_date=T, by=["site_ci5", "sex"], adjust_lost=True)
    for _, g in out.groupby(["site_ci5", "sex"]):
        counts = g.set_index("duration").loc[["1", "3", "5", "10", "all"], "count"].to_numpy()
        assert (np.diff(counts) >= -1e-12).all()
    persons = cohort.loc[cohort["incidence_date"] <= T, "patient_id"].nunique()
    assert out.loc[out["site_ci5"] == ALL_SITES, "count"].groupby(out["duration"]).sum().max() <= persons


def test_age_range_restricts_people_and_population(cohort):
    # Breast, women, 5 years at 31.12.2024: P1 (54), P3 (52), P5 (74, second primary is her first
    # breast tumour), P6 (59, dies after t). Ages 50-59 at the index date keep P1, P3, P6.
    full = prevalence(cohort, index_date=T, by=["site_ci5", "sex"])
    assert _get(full, "Breast", 2, "5") == 4
    pop = pd.DataFrame({
        S.YEAR: 2024, S.REGION: "R1", S.SEX: pd.array([2, 2, 2], dtype="Int8"),
        S.AGE_GROUP: ["50-54", "55-59", "70-74"], S.AGE_START: [50, 55, 70],
        S.POPULATION: [1000.0, 3000.0, 500.0],
    })
    out = prevalence(cohort, pop, index_date=T, by=["site_ci5", "sex"], ages=["50-54", "55-59"],
                     standard={"50-54": 1.0, "55-59": 3.0, "70-74": 4.0}, multiplier=100)
    assert _get(out, "Breast", 2, "5") == 3
    assert _get(out, "Breast", 2, "5", "population") == 4000         # 70-74 left out
    # Truncated ASR over 50-59: (1 * 2/1000 + 3 * 1/3000) / 4 * 100 = 0.075
    assert _get(out, "Breast", 2, "5", "asr") == pytest.approx(0.075, rel=1e-12)
    # The colon tumours (P5 at 74, P10 a man of 79) drop out entirely.
    assert (out.loc[out["site_ci5"] == "Colon", "count"] == 0).all() or "Colon" not in set(out["site_ci5"])


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_all_years_counts_whatever_the_date_resolution(cohort, unit):
    # Demo and uploads carry nanosecond dates; "all years" once counted nobody with them.
    df = cohort.assign(**{c: cohort[c].astype(f"datetime64[{unit}]")
                          for c in ("birth_date", "incidence_date", "last_contact_date")})
    out = prevalence(df, index_date=T, by=["site_ci5", "sex"])
    assert [_get(out, ALL_SITES, 2, d) for d in ["1", "3", "5", "10", "all"]] == [2, 2, 3, 4, 4]
    assert _get(out, "Colon", 1, "all") == 1


def test_asr_upper_limit_is_tiwari_mean_of_squared_weights(cohort):
    """Issue 9: the upper limit added (mean w)^2 instead of mean(w^2) (Tiwari, Clegg & Zou 2006),
    so it was narrower than rates.dsr(method="tiwari") on the same counts."""
    from scipy import stats

    from analytics import rates
    pop = pd.DataFrame({
        S.YEAR: 2024, S.REGION: "R1", S.SEX: pd.array([2, 2], dtype="Int8"),
        S.AGE_GROUP: ["50-54", "55-59"], S.AGE_START: [50, 55], S.POPULATION: [1000.0, 30.0],
    })
    df = cohort[cohort["patient_id"].isin(["P1", "P3"])]   # two people aged 52 and 54 at t
    std = {"50-54": 1.0, "55-59": 3.0}
    out = prevalence(df, pop, index_date=T, by=["sex"], durations=[1], standard=std, multiplier=100)
    r = out.iloc[0]
    # by hand: w = (1/4, 3/4), omega = w / P, y = sum omega x, v = sum omega^2 x
    om = np.array([0.25 / 1000, 0.75 / 30])
    x = np.array([2.0, 0.0])
    y, v = om @ x, om**2 @ x
    wbar, w2bar = om.mean(), (om**2).mean()
    hi = stats.gamma.ppf(0.975, (y + wbar) ** 2 / (v + w2bar), scale=(v + w2bar) / (y + wbar))
    assert r["asr_upper"] == pytest.approx(100 * hi, rel=1e-12)
    same = rates.dsr(pd.DataFrame({"age_group": ["50-54", "55-59"], "count": x, "population": [1000.0, 30.0]}),
                     standard=pd.Series(std), method="tiwari", multiplier=100)
    assert r["asr_upper"] == pytest.approx(same["upper"].iloc[0], rel=1e-12)
    assert r["asr_lower"] == pytest.approx(same["lower"].iloc[0], rel=1e-12)

"""analytics.survival on tiny cohorts computed by hand (each estimator, the period approach, ICSS
standardisation, the actuarial life table), argument validation, and analytics.lifetable's checks."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics import lifetable, survival
from analytics.errors import IngestError
from analytics.survival import standardise
from analytics.survival.base import SurvivalInputError, decimal_year_to_day, prepare

DAY = 365.241
Z = 1.959963984540054


def flat_table(rate_young: float, rate_old: float = None, *, years=(2005, 2025), split_age=70,
               year_rates: dict | None = None) -> pd.DataFrame:
    """Daily hazard ``rate_young`` below ``split_age``, ``rate_old`` from it; optional {year: rate}."""
    rate_old = rate_young if rate_old is None else rate_old
    rows = []
    for y in range(years[0], years[1] + 1):
        for s in (1, 2):
            for a in range(101):
                lam = (year_rates or {}).get(y, rate_young if a < split_age else rate_old)
                rows.append((y, s, a, 1 - math.exp(-lam * DAY)))
    return pd.DataFrame(rows, columns=["year", "sex", "age", "qx"])


def records(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["time", "status", "age", "sex", "year"])


def day_number(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def dec(iso: str) -> float:
    """Decimal year of a date (the inverse of the rule 1 January + round(fraction x days))."""
    y = int(iso[:4])
    return y + (day_number(iso) - day_number(f"{y}-01-01")) / (day_number(f"{y + 1}-01-01") - day_number(f"{y}-01-01"))


LA, LB = 0.0002, 0.003           # daily hazards: young (< 70), old (>= 70)
TWO = records([(2, 1, 50.0, 1, 2012.5), (4, 0, 90.0, 2, 2012.5)])


def test_decimal_year_to_date_counts_leap_days():
    assert decimal_year_to_day(np.array([2012 + 59 / 366]))[0] == day_number("2012-02-29")
    assert decimal_year_to_day(np.array([2011 + 59 / 365]))[0] == day_number("2011-03-01")
    assert decimal_year_to_day(np.array([2020.0]))[0] == day_number("2020-01-01")
    assert decimal_year_to_day(np.array([dec("2016-12-31")]))[0] == day_number("2016-12-31")


def test_pohar_perme_by_hand():
    ea, eb = math.exp(LA), math.exp(LB)
    # (0, 2]: both at risk; running sums over days 0 and 1 (S at day start / day end)
    a0, b0 = LA + LB, 2.0
    a0e, b0e = LA * ea + LB * eb, ea + eb
    a1, b1 = a0 + LA * ea + LB * eb, b0 + ea + eb
    a1e, b1e = a0e + LA * ea ** 2 + LB * eb ** 2, b0e + ea ** 2 + eb ** 2
    integral = 0.5 * (a0 / b0 + a0e / b0e) + 0.5 * (a1 / b1 + a1e / b1e)
    death = ea ** 2 / (ea ** 2 + eb ** 2)
    s1 = 1 - (death - integral)
    s2 = s1 * (1 + 2 * LB)                 # (2, 4]: the old patient alone, no death: rises
    var1 = ea ** 4 / (ea ** 2 + eb ** 2) ** 2
    res = survival.survival_curve(TWO, flat_table(LA, LB), method="pohar_perme", approach="complete")
    c = res.curve
    assert c["time"].tolist() == [2, 4] and c["n_risk"].tolist() == [2, 1] and c["events"].tolist() == [1, 0]
    np.testing.assert_allclose(c["estimate"], [s1, s2], rtol=1e-12)
    np.testing.assert_allclose(c["se"], [math.sqrt(var1)] * 2, rtol=1e-12)
    np.testing.assert_allclose(c["lower"], np.array([s1, s2]) * math.exp(-Z * math.sqrt(var1)), rtol=1e-9)
    assert s2 > s1                         # not forced monotone


def test_ederer2_and_kaplan_meier_by_hand():
    e = survival.survival_curve(TWO, flat_table(LA, LB), method="ederer2", approach="complete").curve
    s1 = 1 - (1 - 2 * LA - 2 * LB) / 2
    np.testing.assert_allclose(e["estimate"], [s1, s1 * (1 + 2 * LB)], rtol=1e-12)
    np.testing.assert_allclose(e["se"], [0.5, 0.5], rtol=1e-12)           # sqrt(d / n^2)
    km = survival.survival_curve(TWO, None, method="observed", approach="complete").curve
    np.testing.assert_allclose(km["estimate"], [0.5, 0.5])
    np.testing.assert_allclose(km["se"], [math.sqrt(1 / (2 * 1))] * 2)   # Greenwood: d / (n (n - d))
    assert km["upper"].max() <= 1.0                                        # cut at 1, as survfit


def test_birthday_during_follow_up_changes_the_cell_and_the_running_sums():
    age = 70 - 0.5 / DAY                   # age in days = 70 x 365.241 - 0.5: the birthday is in day 1
    one = records([(3, 1, age, 1, 2012.5)])
    lt = flat_table(LA, LB)
    e = survival.survival_curve(one, lt, method="ederer2", approach="complete").curve
    assert e["estimate"].iloc[0] == pytest.approx(LA + 2 * LB, rel=1e-12)   # 1 - (1 - E) / 1
    lam = [LA, LB, LB]
    cum = np.concatenate([[0.0], np.cumsum(lam)])
    a = np.cumsum([lam[k] * math.exp(cum[k]) for k in range(3)])
    b = np.cumsum([math.exp(cum[k]) for k in range(3)])
    ae = np.cumsum([lam[k] * math.exp(cum[k + 1]) for k in range(3)])
    be = np.cumsum([math.exp(cum[k + 1]) for k in range(3)])
    integral = float(np.sum(0.5 * (a / b + ae / be)))
    p = survival.survival_curve(one, lt, method="pohar_perme", approach="complete").curve
    assert p["estimate"].iloc[0] == pytest.approx(integral, rel=1e-12)       # 1 - (1 - integral)


def test_new_year_changes_the_cell_and_leap_years_count():
    lt = flat_table(LA, years=(2011, 2014), year_rates={2011: LA, 2012: LA, 2013: LB, 2014: LB})
    # diagnosed 30 Dec 2012 (a leap year): days 0, 1 in 2012, day 2 is 1 January 2013
    one = records([(4, 1, 40.0, 2, dec("2012-12-30"))])
    e = survival.survival_curve(one, lt, method="ederer2", approach="complete").curve
    assert e["estimate"].iloc[0] == pytest.approx(2 * LA + 2 * LB, rel=1e-12)
    # years after the table's last one use the last (2014), before its first the first (2011)
    late = records([(5, 1, 40.0, 2, dec("2030-06-01")), (5, 1, 40.0, 2, dec("2001-06-01"))])
    e2 = survival.survival_curve(late, lt, method="ederer2", approach="complete").curve
    assert e2["estimate"].iloc[0] == pytest.approx(1 - (2 - 5 * LB - 5 * LA) / 2, rel=1e-12)


def test_ages_above_the_top_row_use_the_top_row():
    lt = flat_table(LA, LB)
    lt.loc[lt["age"] == 100, "qx"] = 1 - math.exp(-0.01 * DAY)
    e = survival.survival_curve(records([(10, 1, 104.3, 1, 2012.0)]), lt, method="ederer2", approach="complete").curve
    assert e["estimate"].iloc[0] == pytest.approx(10 * 0.01, rel=1e-12)


def test_report_times_take_the_last_step_and_count_at_risk_after():
    d = records([(400, 1, 60, 1, 2010.2), (500, 0, 60, 2, 2010.3), (1200, 1, 60, 1, 2010.4), (1300, 0, 61, 2, 2010.5)])
    out = survival.net_survival(d, None, times=(1, 2, 3, 10), method="observed", approach="complete")
    # 1 y = 365.2 d: before the first death (S = 1), 4 with follow-up beyond it; 2 y (730.5 d): after
    # the deaths at 400, censoring at 500: S = 3/4; 3 y (1095.7 d): same step; 10 y: past the last time
    assert out["time"].tolist() == [1, 2, 3]
    assert out["estimate"].tolist() == [1.0, 0.75, 0.75]
    assert out["n_risk"].tolist() == [4, 2, 2] and out["events"].tolist() == [0, 1, 0]


def test_cohort_approach_reports_only_times_everyone_could_reach():
    rows = [(3000, 0, 60, 1, 2015.1), (800, 1, 65, 1, 2016.0), (2000, 0, 55, 2, 2019.5), (100, 1, 70, 1, 2019.9),
            (1200, 0, 50, 2, 2017.3)]
    d = records(rows)
    close = max(decimal_year_to_day(np.array([r[4]]))[0] + r[0] for r in rows)
    horizon = (close - decimal_year_to_day(np.array([2019.9]))[0]) / DAY       # about 5.4 years
    assert 5 < horizon < 6
    cohort = survival.net_survival(d, None, times=(1, 3, 5, 6), method="observed", approach="cohort")
    complete = survival.net_survival(d, None, times=(1, 3, 5, 6), method="observed", approach="complete")
    assert cohort["time"].tolist() == [1, 3, 5] and complete["time"].tolist() == [1, 3, 5, 6]
    only_2016 = survival.net_survival(d, None, times=(1,), method="observed", approach="cohort", period=(2016, 2016))
    assert only_2016["n_risk"].tolist() == [1] and only_2016["events"].tolist() == [0]


def test_period_approach_enters_at_the_window_and_censors_at_its_end():
    # window 2015-2016: [1 Jan 2015, 1 Jan 2017)
    d = records([
        (1000, 1, 60, 1, dec("2013-03-01")),     # dies 2015-11-26: enters 671 d after diagnosis, death in window
        (200, 1, 60, 1, dec("2013-03-01")),      # dies 2013: before the window, left out
        (3000, 1, 60, 1, dec("2014-07-01")),     # dies 2022: censored at the window's end
        (100, 0, 60, 2, dec("2016-12-01")),      # diagnosed in the window, followed 31 days to its end
        (50, 1, 60, 2, dec("2017-02-01")),       # diagnosed after the window: left out
    ])
    inp = prepare(d, approach="period", period=(2015, 2016))
    start, end = day_number("2015-01-01"), day_number("2017-01-01")
    assert inp.entry.tolist() == [start - day_number("2013-03-01"), start - day_number("2014-07-01"), 0]
    assert inp.time.tolist() == [1000, end - day_number("2014-07-01"), end - day_number("2016-12-01")]
    assert inp.status.tolist() == [1, 0, 0]
    km = survival.survival_curve(d, None, method="observed", approach="period", period=(2015, 2016)).curve
    # at risk at t: entry < t <= exit. At 31 d only the 2016 patient has entered; at 915 d (the 2014
    # patient censored) the 2013 one (entry 671) too; at 1000 d the 2013 patient alone, who dies
    assert km["time"].tolist() == [31, 915, 1000]
    assert km["n_risk"].tolist() == [1, 2, 1] and km["events"].tolist() == [0, 0, 1]
    assert km["estimate"].tolist() == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("method", ["pohar_perme", "ederer2", "observed"])
def test_a_window_nobody_is_followed_in_gives_no_estimate_not_an_error(method):
    # diagnosed 2012-2013, every follow-up over before 2020: nobody at risk in a 2020-2021 window
    # (a registry whose follow-up closed before the period chosen) — each estimator, each entry
    # point, reports no step instead of failing inside the day sums
    d = records([(300, 1, 60.0, 1, 2012.5), (500, 0, 75.0, 2, 2013.2), (900, 1, 40.0, 2, 2012.1)])
    kw = dict(method=method, approach="period", period=(2020, 2021))
    lt = flat_table(LA, LB)
    curve = survival.survival_curve(d, lt, by="sex", **kw)
    assert curve.curve.empty and curve.at(np.array([1.0, 5.0])).empty
    assert survival.net_survival(d, lt, times=(1, 5), **kw).empty
    sets = survival.survival_curve_sets(d, lt, [(["sex"], None), ([], np.array([True, False, True]))], **kw)
    assert [r.curve.empty for r in sets] == [True, True]
    assert [len(f) for f in survival.net_survival_sets(d, lt, [(["sex"], None), ([], None)], **kw)] == [0, 0]
    # the cohort diagnosed in 2020-2021 is empty too
    assert survival.survival_curve(d, lt, method=method, approach="cohort", period=(2020, 2021)).curve.empty


def test_icss_standardisation_by_hand():
    spec = pd.DataFrame({"age_group": list(standardise.ICSS_AGE_GROUPS), "time": 5.0,
                         "estimate": [0.5, 0.6, 0.7, 0.8, 0.9], "se": 0.1, "n_risk": 10, "events": 2})
    out = standardise.standardise(spec, "ICSS1").iloc[0]
    w = [0.07, 0.12, 0.23, 0.29, 0.29]
    est = sum(wi * s for wi, s in zip(w, spec["estimate"]))
    var = sum((wi * s * 0.1) ** 2 for wi, s in zip(w, spec["estimate"]))
    assert est == pytest.approx(0.761) and out["estimate"] == pytest.approx(est, rel=1e-12)
    assert out["lower"] == pytest.approx(est * math.exp(-Z * math.sqrt(var) / est), rel=1e-9)
    assert out["upper"] == pytest.approx(est * math.exp(Z * math.sqrt(var) / est), rel=1e-9)
    assert out["n_risk"] == 50 and out["events"] == 10
    # one age group without an estimate: no standardised value
    assert standardise.standardise(spec.iloc[:4], "ICSS2").empty
    assert sum(standardise.ICSS_WEIGHTS["ICSS3"]) == pytest.approx(1)
    assert standardise.icss_standard("Testis") == "ICSS3" and standardise.icss_standard("Thyroid") == "ICSS2"
    assert standardise.icss_standard("Stomach") == "ICSS1"
    groups = standardise.icss_age_group([14.9, 15, 44.99, 45, 74.9, 75, 99.9, 100])
    assert [g if isinstance(g, str) else None for g in groups] == \
        [None, "15-44", "15-44", "45-54", "65-74", "75-99", "75-99", None]


def test_age_standardised_weights_the_age_specific_estimates():
    rng = np.random.default_rng(1)
    n = 2000
    d = pd.DataFrame({"age": rng.uniform(15, 99, n), "sex": rng.integers(1, 3, n), "year": 2010.5,
                      "time": rng.integers(1, 4000, n), "status": rng.integers(0, 2, n)})
    lt = flat_table(LA, LB)
    spec = survival.net_survival(d.assign(icss_age_group=standardise.icss_age_group(d["age"])), lt, times=(1, 5),
                                 by=["icss_age_group"])
    std = survival.age_standardised(d, lt, standard="ICSS2", times=(1, 5))
    w = dict(zip(standardise.ICSS_AGE_GROUPS, standardise.ICSS_WEIGHTS["ICSS2"]))
    for t in (1, 5):
        s = spec[spec["time"] == t]
        exp = float((s["icss_age_group"].astype(str).map(w) * s["estimate"]).sum())
        assert std.loc[std["time"] == t, "estimate"].iloc[0] == pytest.approx(exp, rel=1e-12)


def test_actuarial_life_table_by_hand():
    W = DAY
    # 6 patients: deaths at 100 d and 500 d, withdrawals at 200 d and 600 d, two followed past 2 y
    d = records([(100, 1, 60, 1, 2010.0), (200, 0, 60, 1, 2010.0), (500, 1, 60, 1, 2010.0), (600, 0, 60, 1, 2010.0),
                 (900, 0, 60, 1, 2010.0), (1000, 1, 60, 1, 2010.0)])
    lt = survival.actuarial(d, width=1, max_years=3)
    # interval 0: l = 6, d = 1, c = 1 -> l' = 5.5; interval 1 (365-730 d): l = 4, d = 1, c = 1 -> 3.5
    # interval 2 (730-1096 d): l = 2, d = 1, c = 1 -> 1.5
    q = [1 / 5.5, 1 / 3.5, 1 / 1.5]
    s = np.cumprod([1 - x for x in q])
    assert lt["n_entering"].tolist() == [6, 4, 2] and lt["n_effective"].tolist() == [5.5, 3.5, 1.5]
    np.testing.assert_allclose(lt["estimate"], s, rtol=1e-12)
    se = np.sqrt(np.cumsum([1 / (5.5 * 4.5), 1 / (3.5 * 2.5), 1 / (1.5 * 0.5)]))
    np.testing.assert_allclose(lt["se"], se, rtol=1e-12)
    np.testing.assert_allclose(lt["lower"], s * np.exp(-Z * se), rtol=1e-9)
    assert W == DAY
    # intervals without deaths add nothing to the variance (no warning, no NaN)
    d2 = records([(100, 1, 60, 1, 2010.0), (800, 0, 60, 1, 2010.0), (1000, 0, 60, 1, 2010.0)])
    lt2 = survival.actuarial(d2, width=1, max_years=3)
    assert lt2["n_effective"].tolist() == [3, 2, 1] and lt2["deaths"].tolist() == [1, 0, 0]
    np.testing.assert_allclose(lt2["estimate"], [2 / 3] * 3, rtol=1e-12)
    np.testing.assert_allclose(lt2["se"], [math.sqrt(1 / (3 * 2))] * 3, rtol=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "hakulinen"}, "method must be one of"),
    ({"approach": "cross-sectional"}, "approach must be one of"),
    ({"approach": "period"}, "needs period"),
    ({"approach": "period", "period": (2019, 2015)}, "ends"),
    ({"approach": "period", "period": (2015.5, 2019)}, "whole calendar years"),
    ({"times": (0, 5)}, "times must be positive"),
    ({"conf": 1.5}, "conf must lie"),
])
def test_arguments_are_validated(kwargs, match):
    with pytest.raises(SurvivalInputError, match=match):
        survival.net_survival(TWO, flat_table(LA), **kwargs)


def test_bad_records_are_named():
    with pytest.raises(SurvivalInputError, match="whole days"):
        survival.net_survival(TWO.assign(time=[2.5, 4]), flat_table(LA))
    with pytest.raises(SurvivalInputError, match="column 'status', row 2"):
        survival.net_survival(TWO.assign(status=[1, 2]), flat_table(LA))
    with pytest.raises(SurvivalInputError, match="no column"):
        survival.net_survival(TWO.drop(columns="age"), flat_table(LA))
    with pytest.raises(SurvivalInputError, match="sex \\[3\\] has no life table"):
        survival.net_survival(TWO.assign(sex=[1, 3]), flat_table(LA))
    with pytest.raises(SurvivalInputError, match="needs a population life table"):
        survival.net_survival(TWO, None, method="pohar_perme")
    # zero follow-up is left out (relsurv keeps time > 0), and counted
    res = survival.survival_curve(records([(0, 1, 60, 1, 2012.0), (5, 1, 60, 1, 2012.0)]), None, method="observed",
                                  approach="complete")
    assert res.n_dropped == 1 and res.curve["n_risk"].tolist() == [1]


def test_summary_names_method_and_approach():
    res = survival.survival_curve(TWO, flat_table(LA, LB), method="pohar_perme", approach="complete")
    text = res.summary(times=(0.001, 0.01))
    assert text.startswith("Net survival (Pohar Perme) (complete approach), 95% CI")
    assert "estimate" in text


# --- life tables ------------------------------------------------------------------------------
def test_rate_table_uses_relsurv_hazard_and_cut_points():
    lt = flat_table(LA, LB, years=(2010, 2011))
    rt = lifetable.rate_table(lt)
    assert rt.rates.shape == (2, 101, 2)
    assert rt.rates[0, 69, 0] == pytest.approx(LA, rel=1e-12) and rt.rates[1, 70, 1] == pytest.approx(LB, rel=1e-12)
    assert rt.age_cuts[70] == 70 * 365.241
    assert rt.year_cuts.tolist() == [day_number("2010-01-01"), day_number("2011-01-01")]
    mx = lt.assign(mx=-np.log1p(-lt["qx"])).drop(columns="qx")
    np.testing.assert_allclose(lifetable.rate_table(mx).rates, rt.rates, rtol=1e-12)


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def test_read_lifetable_checks_name_file_row_and_column():
    lt = flat_table(LA, LB, years=(2010, 2011))
    ok = lifetable.read_lifetable(_csv(lt), name="az_life.csv")
    assert list(ok.columns) == ["year", "sex", "age", "qx"] and len(ok) == len(lt)
    bad = lt.copy()
    bad.loc[5, "qx"] = 1.3
    with pytest.raises(IngestError, match=r"file 'az_life.csv', row 6, column 'qx'.*\[0, 1\)"):
        lifetable.read_lifetable(_csv(bad), name="az_life.csv")
    with pytest.raises(IngestError, match="column\\(s\\) missing: qx"):
        lifetable.read_lifetable(_csv(lt.drop(columns="qx")), name="x.csv")
    with pytest.raises(IngestError, match="age 7 is missing"):
        lifetable.read_lifetable(_csv(lt[lt["age"] != 7]), name="x.csv")
    with pytest.raises(IngestError, match="a second row for year 2010"):
        lifetable.read_lifetable(_csv(pd.concat([lt, lt.iloc[[3]]])), name="x.csv")
    with pytest.raises(IngestError, match="2012 is missing"):
        lifetable.read_lifetable(_csv(pd.concat([lt, lt[lt["year"] == 2011].assign(year=2013)])), name="x.csv")
    with pytest.raises(IngestError, match="sex 'X' is not understood"):
        lifetable.read_lifetable(_csv(lt.assign(sex=lt["sex"].astype(str).where(lt.index != 2, "X"))), name="x.csv")
    labels = lt.assign(age=lt["age"].astype(str).where(lt["age"] < 100, "100+"))
    assert lifetable.read_lifetable(_csv(labels), name="x.csv")["age"].max() == 100


def test_check_lifetable_warns_about_old_ages_and_coverage():
    lt = flat_table(0.0001, 0.002, years=(2010, 2015))
    lt.loc[(lt["age"] == 91), "qx"] = 0.01                       # falls by far more than 10 % at 91
    msgs = lifetable.check_lifetable(lt, first_year=2008, last_year=2020)
    assert any("falls by more than 10%" in m and "ages 90 and 91" in m for m in msgs)
    assert any("2008-2009 use the 2010 table" in m for m in msgs)
    assert any("2016-2020 use the 2015 table" in m for m in msgs)
    assert lifetable.check_lifetable(flat_table(0.0001, 0.002, years=(2010, 2015)), first_year=2010,
                                     last_year=2015) == []


def test_open_top_age_with_qx_one_is_extrapolated():
    lt = flat_table(LA, LB, years=(2010, 2010))
    lt.loc[lt["age"] == 98, "qx"] = 1 - math.exp(-0.001 * DAY)
    lt.loc[lt["age"] == 99, "qx"] = 1 - math.exp(-0.002 * DAY)
    lt.loc[lt["age"] == 100, "qx"] = 1.0
    rt = lifetable.rate_table(lt)
    assert rt.rates[0, 100, 0] == pytest.approx(0.004, rel=1e-9)     # 0.002^2 / 0.001
    assert any("open top age" in m for m in lifetable.check_lifetable(lt))


def test_public_names_and_signatures_are_the_issues():
    """``net_survival(data, lifetable, *, times=(1, 3, 5), method="pohar_perme", by=None, conf=0.95,
    approach="cohort", period=None)`` returning the by columns, time, estimate, lower, upper, n_risk,
    events (issue 10); ``age_standardised`` with the same keywords plus the ICSS standard."""
    import inspect

    sig = inspect.signature(survival.net_survival)
    assert list(sig.parameters) == ["data", "lifetable", "times", "method", "by", "conf", "approach", "period"]
    kw = {k: p.default for k, p in sig.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert kw == {"times": (1, 3, 5), "method": "pohar_perme", "by": None, "conf": 0.95, "approach": "cohort",
                  "period": None}
    std = inspect.signature(survival.age_standardised).parameters
    assert {"standard", "times", "method", "by", "conf", "approach", "period"} <= set(std)
    d = records([(100, 1, 60, 1, 2010.0), (400, 0, 70, 2, 2010.0), (800, 1, 65, 1, 2011.0)])
    out = survival.net_survival(d, flat_table(LA, LB), times=(1,), by="sex")
    assert list(out.columns)[:7] == ["sex", "time", "estimate", "lower", "upper", "n_risk", "events"]


def test_strata_are_numbered_as_pandas_groups_them():
    """prepare's strata (base._strata, from each column's sorted codes) are pandas' groups in its order:
    categories in their own order, unused ones absent, missing values last, text, integers and floats."""
    from analytics.survival import base

    rng = np.random.default_rng(5)
    n = 400
    keys = pd.DataFrame({
        "site": pd.Categorical(rng.choice(["b", "a", "c", None], n), categories=["c", "b", "a", "unused"]),
        "text": pd.array(rng.choice(["x", "y", None], n), dtype="str"),
        "num": rng.integers(0, 3, n), "flt": rng.choice([1.5, np.nan, 0.5], n)})
    for by in (["site"], ["text"], ["num", "site"], ["flt", "text", "site"]):
        k = keys[by]
        codes, strata = base._strata(k, by)
        want = k.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy(np.int64)
        np.testing.assert_array_equal(codes, want)
        pd.testing.assert_frame_equal(strata, k.assign(_c=want).drop_duplicates("_c").sort_values("_c")
                                      .drop(columns="_c").reset_index(drop=True))
        assert len(strata) == len(set(want)) > 2

"""Projections: demographic projection and decomposition by hand, Nordpred on synthetic data
generated from its own model with known parameters."""
import numpy as np
import pandas as pd
import pytest

from analytics.projections import (
    DEFAULT_CUTTREND, ProjectionInputError, age_specific_rates, allocate_unknown_age, decompose_change,
    demographic_projection, nordpred,
)


def test_demographic_projection_by_hand():
    cases = pd.DataFrame({"site_ci5": "Lung", "sex": 1, "year": [2023, 2023, 2024, 2024],
                          "age_group": ["60-64", "65-69", "60-64", "65-69"], "count": [10, 30, 14, 26]})
    pop = pd.DataFrame({"year": [2023, 2023, 2024, 2024], "sex": 1,
                        "age_group": ["60-64", "65-69", "60-64", "65-69"],
                        "population": [10000.0, 20000.0, 10000.0, 20000.0]})
    r = age_specific_rates(cases, pop, by=["site_ci5", "sex"])
    # 60-64: 24 / 20000 = 0.0012 ; 65-69: 56 / 40000 = 0.0014
    assert r.set_index("age_group")["rate"].to_dict() == pytest.approx({"60-64": 0.0012, "65-69": 0.0014})
    fut = pd.DataFrame({"year": [2030, 2030, 2040, 2040], "sex": 1,
                        "age_group": ["60-64", "65-69", "60-64", "65-69"],
                        "population": [15000.0, 25000.0, 5000.0, 30000.0]})
    p = demographic_projection(r, fut, by=["site_ci5", "sex"])
    assert p["cases"].tolist() == pytest.approx([0.0012 * 15000 + 0.0014 * 25000,
                                                 0.0012 * 5000 + 0.0014 * 30000])
    # Scenario: risk falls 1% a year from 2030.
    s = demographic_projection(r, fut, by=["site_ci5", "sex"], annual_change=-0.01, base_year=2030)
    assert s["cases"].iloc[1] == pytest.approx((0.0012 * 5000 + 0.0014 * 30000) * 0.99**10)


def test_decomposition_by_hand_and_exact_sum():
    start = pd.DataFrame({"sex": 2, "age_group": ["0-49", "50+"], "cases": [10.0, 90.0],
                          "population": [8000.0, 2000.0]})
    end = pd.DataFrame({"sex": 2, "age_group": ["0-49", "50+"], "cases": [12.0, 168.0],
                        "population": [8400.0, 3600.0]})
    out = decompose_change(start, end, by=["sex"]).iloc[0]
    # r0 = (0.00125, 0.045); P0 = 10000, P1 = 12000; s0 = (.8, .2), s1 = (.7, .3)
    assert out["growth"] == pytest.approx(100 * (12000 / 10000 - 1))            # 20
    assert out["ageing"] == pytest.approx(12000 * (0.00125 * -0.1 + 0.045 * 0.1))  # 52.5
    assert out["risk"] == pytest.approx(180 - 12000 * (0.00125 * 0.7 + 0.045 * 0.3))
    assert out["growth"] + out["ageing"] + out["risk"] == pytest.approx(out["change"], abs=1e-12)


def test_decomposition_sums_exactly_random():
    rng = np.random.default_rng(5)
    ag = [f"{a}-{a + 4}" for a in range(0, 85, 5)] + ["85+"]
    mk = lambda: pd.DataFrame({"site_ci5": np.repeat(["A", "B"], 18), "age_group": ag * 2,  # noqa: E731
                               "cases": rng.poisson(30, 36).astype(float),
                               "population": rng.uniform(1e3, 1e5, 36)})
    out = decompose_change(mk(), mk(), by=["site_ci5"])
    np.testing.assert_allclose(out[["growth", "ageing", "risk"]].sum(axis=1), out["change"], atol=1e-9)


def test_decomposition_exact_with_cases_of_unknown_age():
    # The page's base table carries cases of unknown age (age_group missing, no person-years).
    # Before the fix these 6 cases fell out of growth + ageing + risk (off by 6 of a change of 74).
    start = pd.DataFrame({"sex": 2, "age_group": ["0-49", "50+", None], "cases": [10.0, 90.0, 6.0],
                          "population": [8000.0, 2000.0, np.nan]})
    end = pd.DataFrame({"sex": 2, "age_group": ["0-49", "50+"], "cases": [12.0, 168.0],
                        "population": [8400.0, 3600.0]})
    out = decompose_change(start, end, by=["sex"])
    row = out.iloc[0]
    assert row["change"] == 180 - 106
    assert row["growth"] + row["ageing"] + row["risk"] == pytest.approx(row["change"], abs=1e-12)
    assert out.attrs["cases_without_population"] == 6.0
    # Allocated pro rata first, the same start has N0 = 106 at rates 10.6/8000 and 95.4/2000:
    alloc = allocate_unknown_age(start.rename(columns={"cases": "count"}), by=["sex"]).rename(
        columns={"count": "cases"})
    np.testing.assert_allclose(alloc["cases"], [10.6, 95.4])
    out2 = decompose_change(alloc, end, by=["sex"]).iloc[0]
    assert out2["growth"] == pytest.approx(106 * 0.2)                        # N0 (P1/P0 - 1)
    assert out2["ageing"] == pytest.approx(12000 * (10.6 / 8000 * -0.1 + 95.4 / 2000 * 0.1))
    assert out2["growth"] + out2["ageing"] + out2["risk"] == pytest.approx(180 - 106, abs=1e-12)


def test_allocate_unknown_age_keeps_totals_by_stratum():
    f = pd.DataFrame({"sex": [1, 1, 1, 2, 2, 2], "age_group": ["0-49", "50+", None] * 2,
                      "count": [1, 3, 2, 0, 0, 5]})
    out = allocate_unknown_age(f, by=["sex"])
    np.testing.assert_allclose(out["count"], [1.5, 4.5, 0.0, 0.0])   # men 1:3 share of 2
    assert out["age_group"].notna().all()


# --- Nordpred on data from its own model ------------------------------------------------
AGES = [f"{a}-{a + 4}" for a in range(0, 85, 5)] + ["85+"]


def _truth(n_obs=5, n_fut=4):
    K = 18
    A = 0.04 + 0.012 * np.arange(K)           # rate^(1/5) rises with age
    D = 0.0025                                # drift per period
    P = n_obs
    C = K + P - 1
    rng = np.random.default_rng(11)
    gamma = np.r_[0.0, rng.uniform(-0.004, 0.004, C - 2), 0.0]   # first and last cohort = 0
    rows = []
    for p in range(1, P + n_fut + 1):
        for a in range(K):
            c = K - (a + 1) + p
            g = gamma[c - 1] if c <= C else 0.0
            eta = A[a] + D * p + g if p <= P else None
            rows.append((1995 + 5 * (p - 1), AGES[a], p, a, c, g, eta))
    df = pd.DataFrame(rows, columns=["period", "age_group", "p", "a", "c", "g", "eta"])
    df["population"] = 5 * (2e5 - 5e3 * df["a"]) * (1 + 0.02 * df["p"])
    return df, A, D, P


def test_nordpred_recovers_known_parameters_and_projects_truth():
    df, A, D, P = _truth()
    obs = df[df["p"] <= P].copy()
    obs["count"] = obs["population"] * obs["eta"] ** 5          # expected counts, no noise
    fut = df[df["p"] > P]
    res = nordpred(obs, fut, cuttrend=(0, 0, 0, 0, 0), recent=False)
    assert res.periods_used == [1995, 2000, 2005, 2010, 2015]
    assert res.drift == pytest.approx(D, rel=1e-8)
    np.testing.assert_allclose([res.coefficients[f"age[{i}]"] for i in range(18)], A, rtol=1e-8)
    assert res.deviance == pytest.approx(0, abs=1e-8)
    h = (fut["p"] - P).to_numpy()
    eta = A[fut["a"]] + D * (P + h) + fut["g"].to_numpy()
    exp = fut["population"].to_numpy() * eta**5
    got = res.projection.set_index(["period", "age_group"]).loc[
        list(zip(fut["period"], fut["age_group"])), "cases"].to_numpy()
    np.testing.assert_allclose(got, exp, rtol=1e-8)


def test_nordpred_attenuated_drift():
    df, A, D, P = _truth()
    obs = df[df["p"] <= P].copy()
    obs["count"] = obs["population"] * obs["eta"] ** 5
    fut = df[df["p"] > P]
    res = nordpred(obs, fut, recent=None)
    assert res.recent is False           # no curvature in the truth: average drift
    # Cumulative drift multipliers 1, 1.75, 2.25, 2.5 (cuttrend 0, .25, .5, .75)
    mult = np.cumsum(1 - np.asarray(DEFAULT_CUTTREND))
    h = (fut["p"] - P).to_numpy()
    eta = A[fut["a"]] + D * P + D * mult[h - 1] + fut["g"].to_numpy()
    got = res.projection.set_index(["period", "age_group"]).loc[
        list(zip(fut["period"], fut["age_group"])), "cases"].to_numpy()
    np.testing.assert_allclose(got, fut["population"].to_numpy() * eta**5, rtol=1e-8)


def test_nordpred_with_poisson_noise_close_to_truth():
    df, A, D, P = _truth()
    rng = np.random.default_rng(2)
    obs = df[df["p"] <= P].copy()
    obs["count"] = rng.poisson(obs["population"] * obs["eta"] ** 5).astype(float)
    fut = df[df["p"] > P]
    res = nordpred(obs, fut, cuttrend=(0, 0, 0, 0, 0), recent=False)
    h = (fut["p"] - P).to_numpy()
    eta = A[fut["a"]] + D * (P + h) + fut["g"].to_numpy()
    truth_total = (fut["population"].to_numpy() * eta**5).sum()
    assert res.projection["cases"].sum() == pytest.approx(truth_total, rel=0.05)
    assert res.gof_p > 0.01


def test_nordpred_needs_three_periods():
    df, *_ = _truth(n_obs=2)
    obs = df[df["p"] <= 2].assign(count=1.0)
    with pytest.raises(ProjectionInputError, match="three 5-year periods"):
        nordpred(obs, df[df["p"] > 2])


def test_young_ages_use_mean_of_last_two_periods():
    df, A, D, P = _truth()
    obs = df[df["p"] <= P].copy()
    obs["count"] = obs["population"] * obs["eta"] ** 5
    fut = df[df["p"] > P]
    res = nordpred(obs, fut, start_age=50, recent=False)
    # startuseage above startestage: 50-54 is fitted but projected from its recent mean rate
    res2 = nordpred(obs, fut, start_age=45, start_use_age=55, recent=False)
    row = res2.projection[res2.projection["age_group"] == "50-54"].iloc[0]
    l2 = obs[(obs["p"] >= P - 1) & (obs["age_group"] == "50-54")]
    assert row["rate"] == pytest.approx((l2["count"] / l2["population"]).mean())
    last2 = obs[(obs["p"] >= P - 1) & (obs["age_group"] == "20-24")]
    rate = (last2["count"] / last2["population"]).mean()     # mean of the two periods' rates
    row = res.projection[(res.projection["age_group"] == "20-24")].iloc[0]
    assert row["rate"] == pytest.approx(rate) and row["method"] == "mean of last two periods"


def test_rebase_population_ratio_method():
    from analytics.projections import rebase_population

    reg = pd.DataFrame({"year": 2024, "sex": [1, 1], "age_group": ["0-4", "5-9"], "population": [100.0, 200.0]})
    proj = pd.DataFrame({"year": [2024, 2024, 2030, 2030], "sex": 1, "age_group": ["0-4", "5-9"] * 2,
                         "population": [1000.0, 1000.0, 1500.0, 500.0]})
    out = rebase_population(reg, proj, base_year=2024, by=["sex"])
    got = out[out["year"] == 2030].set_index("age_group")["population"]
    assert got.to_dict() == pytest.approx({"0-4": 150.0, "5-9": 100.0})


def test_interpolation_and_five_year_periods():
    from analytics.projections import five_year_periods, interpolate_years

    p = pd.DataFrame({"year": [2020, 2025], "sex": 1, "age_group": "0-4", "age_start": 0,
                      "population": [100.0, 150.0]})
    out = interpolate_years(p)
    assert out["population"].tolist() == [100.0, 110.0, 120.0, 130.0, 140.0, 150.0]
    yearly = pd.DataFrame({"year": np.arange(2008, 2025), "count": 1.0})
    per = five_year_periods(yearly, last_year=2024, value="count", by=[])
    # 2008-2009 form an incomplete period and are dropped; 2010-14, 2015-19, 2020-24 remain.
    assert per["period"].tolist() == [2010, 2015, 2020] and per["count"].tolist() == [5.0, 5.0, 5.0]


def test_un_wpp_reader_collapses_top_ages():
    from pathlib import Path

    from analytics.projections import population_from_un_wpp

    path = Path(__file__).resolve().parent.parent / "data" / "sources" / "azerbaijan_population_unwpp2024.csv"
    raw = pd.read_csv(path)
    p = population_from_un_wpp(path)
    assert sorted(p["age_group"].unique(), key=lambda s: int(s.split("-")[0].rstrip("+")))[-1] == "85+"
    for y in (2025, 2050):   # published years equal the file's totals
        assert p.loc[p["year"] == y, "population"].sum() == pytest.approx(raw.loc[raw["Year"] == y, "Value"].sum())


def test_nordpred_recent_drift_is_slope_of_last_ten_years():
    # Truth with a curved period effect (pi_1 = pi_P = 0): the recent drift is the slope between
    # the last two periods, D + pi_P - pi_{P-1} = D - pi_{P-1}.
    df, A, D, P = _truth()
    pi = {1: 0.0, 2: 0.004, 3: 0.007, 4: 0.006, 5: 0.0}
    obs = df[df["p"] <= P].copy()
    obs["count"] = obs["population"] * (obs["eta"] + obs["p"].map(pi)) ** 5
    fut = df[df["p"] > P]
    res = nordpred(obs, fut, cuttrend=(0, 0, 0, 0, 0), recent=True)
    assert res.drift_used == pytest.approx(D - pi[4], rel=1e-7)
    h = (fut["p"] - P).to_numpy()
    eta = A[fut["a"]] + D * P + (D - pi[4]) * h + fut["g"].to_numpy()
    got = res.projection.set_index(["period", "age_group"]).loc[
        list(zip(fut["period"], fut["age_group"])), "cases"].to_numpy()
    np.testing.assert_allclose(got, fut["population"].to_numpy() * eta**5, rtol=1e-7)
    # Nordpred's own rule picks the recent drift for such a curved trend
    assert nordpred(obs, fut).recent is True


# --- non-converged fits are reported (issue 9), not silenced ------------------------------
def test_nordpred_reports_a_power5_fit_that_did_not_converge(monkeypatch):
    from analytics import projections as pj

    df, A, D, P = _truth()
    rng = np.random.default_rng(2)
    obs = df[df["p"] <= P].copy()
    obs["count"] = rng.poisson(obs["population"] * obs["eta"] ** 5).astype(float)
    fut = df[df["p"] > P]
    ok = nordpred(obs, fut, recent=False)
    assert ok.converged and ok.curvature_converged and ok.warnings == () and 1 < ok.iterations < pj.NORDPRED_MAX_ITER
    monkeypatch.setattr(pj, "NORDPRED_MAX_ITER", 1)       # one IRLS step cannot reach the tolerance
    bad = nordpred(obs, fut, recent=False)
    assert not bad.converged and bad.iterations == 1
    assert any("did not converge in 1 iterations" in w for w in bad.warnings)
    assert "WARNING" in bad.summary() and "WARNING" not in ok.summary()


def test_nordpred_reports_a_curvature_test_that_did_not_converge(monkeypatch):
    """The Period^2 test's statsmodels Poisson fits: when they stop short of convergence, the
    result says so and the test gives no evidence of curvature (average drift)."""
    from statsmodels.genmod.generalized_linear_model import GLM

    df, A, D, P = _truth()
    obs = df[df["p"] <= P].copy()
    # a strongly curved truth: the converged test picks the recent slope
    obs["count"] = obs["population"] * (obs["eta"] + 0.004 * (obs["p"] - 3) ** 2) ** 5
    fut = df[df["p"] > P]
    curved = nordpred(obs, fut, recent=None)
    assert curved.recent is True and curved.curvature_converged and curved.warnings == ()
    fit = GLM.fit
    monkeypatch.setattr(GLM, "fit", lambda self, *a, **kw: fit(self, *a, **{**kw, "maxiter": 1}))
    res = nordpred(obs, fut, recent=None)
    assert res.converged and not res.curvature_converged and res.recent is False
    assert any("Period^2 test" in w and "did not converge" in w for w in res.warnings), res.warnings

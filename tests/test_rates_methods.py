"""Rate methods without a published worked example (Tiwari, rate ratios, cumulative risk, funnels),
checked against the formulas and numbers of docs/methods.md, independent scipy calculations,
limiting cases and coverage by simulation; plus the edge cases of the issue."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics import rates, standards

CASES = Path(__file__).resolve().parent / "reference_cases"
SEGI = standards.get_standard("world_segi1960")
LABELS = SEGI["age_group"].tolist()


# --- §0 table: exact and Byar limits ------------------------------------------------------
@pytest.mark.parametrize("o, exact, byar", [
    (0, (0, 3.6889), (None, 3.6680)),
    (1, (0.0253, 5.5716), (0.0131, 5.5638)),
    (5, (1.6235, 11.6683), (1.6113, 11.6682)),
    (10, (4.7954, 18.3904), (4.7874, 18.3915)),
    (100, (81.3640, 121.6268), (81.3621, 121.6279)),
])
def test_poisson_limits_methods_table(o, exact, byar):
    e = rates.poisson_limits([o], method="exact").iloc[0]
    assert e["lower"] == pytest.approx(exact[0], abs=5e-5)
    assert e["upper"] == pytest.approx(exact[1], abs=5e-5)
    b = rates.poisson_limits([o], method="byar").iloc[0]
    if byar[0] is None:
        assert np.isnan(b["lower"])
    else:
        assert b["lower"] == pytest.approx(byar[0], abs=5e-5)
    assert b["upper"] == pytest.approx(byar[1], abs=5e-5)


def test_exact_limits_equal_chi_square_form():
    o = np.array([1, 2, 7, 33, 250])
    r = rates.poisson_limits(o, conf=[0.95, 0.998])
    for conf, lo, up in ((0.95, "lower_95", "upper_95"), (0.998, "lower_99_8", "upper_99_8")):
        a = 1 - conf
        np.testing.assert_allclose(r[lo], stats.chi2.ppf(a / 2, 2 * o) / 2, rtol=1e-10)
        np.testing.assert_allclose(r[up], stats.chi2.ppf(1 - a / 2, 2 * o + 2) / 2, rtol=1e-10)


# --- §1.5 small synthetic check ---------------------------------------------------------------
SYN = pd.DataFrame({"age_group": ["a", "b", "c", "d"], "count": [3, 10, 25, 40],
                    "population": [20000, 15000, 12000, 8000], "w": [.30, .30, .25, .15]})


@pytest.mark.parametrize("method, lo, up", [
    ("normal", 117.87, 185.30), ("fay_feuer", 119.75, 189.44),
    ("dobson_exact", 119.75, 189.27), ("dobson", 119.75, 189.27)])
def test_methods_sheet_synthetic(method, lo, up):
    r = rates.dsr(SYN, standard="w", method=method).iloc[0]
    assert r["value"] == pytest.approx(151.58, abs=0.005)
    assert r["lower"] == pytest.approx(lo, abs=0.005)
    assert r["upper"] == pytest.approx(up, abs=0.005)


def test_tiwari_against_independent_formula():
    """Tiwari, Clegg & Zou (2006): upper = Gamma⁻¹(0.975; (y+ω̄)²/(v+ω²̄), (v+ω²̄)/(y+ω̄)),
    lower as Fay-Feuer; recomputed here with scipy.stats.gamma."""
    w = SYN["w"].to_numpy() / SYN["w"].sum()
    d, P = SYN["count"].to_numpy(), SYN["population"].to_numpy()
    om = w / P
    y, v = (om * d).sum(), (om ** 2 * d).sum()
    mb, m2b = om.mean(), (om ** 2).mean()
    lower = stats.gamma.ppf(0.025, y * y / v, scale=v / y) * 1e5
    upper = stats.gamma.ppf(0.975, (y + mb) ** 2 / (v + m2b), scale=(v + m2b) / (y + mb)) * 1e5
    r = rates.dsr(SYN, standard="w", method="tiwari").iloc[0]
    assert r["lower"] == pytest.approx(lower, rel=1e-10)
    assert r["upper"] == pytest.approx(upper, rel=1e-10)
    assert r["se"] == pytest.approx(np.sqrt(v) * 1e5, rel=1e-12)


def test_tiwari_birth_order_5_methods_table():
    """methods.md §1.5 test vectors (Fay & Feuer 1997 Table 1 data, birth order 5+):
    ASR 75.5, Fay-Feuer 67.7-188.3, Tiwari 67.7-112.9."""
    case = json.loads((CASES / "fay_feuer_gamma_dsr.json").read_text())["cases"][0]["inputs"]
    df = pd.DataFrame({"age_group": case["ageband"], "count": case["count"],
                       "population": case["pop"], "w": case["stdpop"]})
    t = rates.dsr(df, standard="w", method="tiwari").iloc[0]
    assert (round(t["value"], 1), round(t["lower"], 1), round(t["upper"], 1)) == (75.5, 67.7, 112.9)
    f = rates.dsr(df, standard="w", method="fay_feuer").iloc[0]
    assert t["upper"] < f["upper"]      # Tiwari shortens Fay-Feuer's upper limit


def test_single_stratum_tiwari_and_fay_feuer_are_exact_poisson():
    """With one stratum both gamma intervals reduce to the exact Poisson interval of the count."""
    df = pd.DataFrame({"age_group": ["0-4"], "count": [7], "population": [1000.0]})
    ex = rates.crude_rate(7, 1000.0, method="exact").iloc[0]
    for m in ("tiwari", "fay_feuer"):
        r = rates.dsr(df, standard=pd.Series({"0-4": 1.0}), method=m).iloc[0]
        assert r["value"] == pytest.approx(700.0)
        assert r["lower"] == pytest.approx(ex["lower"], rel=1e-9)
        assert r["upper"] == pytest.approx(ex["upper"], rel=1e-9)


# --- coverage by simulation --------------------------------------------------------------------
def _simulated(n, scale, seed):
    rng = np.random.default_rng(seed)
    pop = np.linspace(27000, 2400, 18)
    rate = np.geomspace(2e-6, 3e-3, 18) * scale
    d = rng.poisson(pop * rate, size=(n, 18))
    frame = pd.DataFrame({"sim": np.repeat(np.arange(n), 18), "age_group": np.tile(LABELS, n),
                          "count": d.ravel(), "population": np.tile(pop, n)})
    w = SEGI["weight"].to_numpy() / SEGI["weight"].sum()
    return frame, (w * rate).sum() * 1e5, (pop * rate).sum()


def test_tiwari_coverage_small_counts():
    frame, true, expected_total = _simulated(4000, 1.0, seed=11)
    assert expected_total < 50      # small counts: about 44 cases over 18 age groups
    r = rates.dsr(frame, by="sim", method="tiwari")
    cover = ((r["lower"] <= true) & (true <= r["upper"])).mean()
    assert 0.935 <= cover <= 0.97, cover


def test_rate_ratio_coverage_and_p_values():
    a, true_a, _ = _simulated(3000, 2.0, seed=5)
    b, true_b, _ = _simulated(3000, 1.0, seed=6)
    rr = rates.rate_ratio(a, b, by="sim", method="tiwari")
    cover = ((rr["ratio_lower"] <= 2.0) & (2.0 <= rr["ratio_upper"])).mean()
    assert 0.935 <= cover <= 0.97, cover
    # p < 0.05 exactly when the 95% interval excludes 1 (the p-value inverts the interval)
    excl = (rr["ratio_lower"] > 1) | (rr["ratio_upper"] < 1)
    assert ((rr["ratio_p"] < 0.05) == excl).all()
    dcover = ((rr["difference_lower"] <= true_a - true_b) & (true_a - true_b <= rr["difference_upper"])).mean()
    assert 0.92 <= dcover <= 0.97


def test_rate_ratio_reduces_to_one_sample_interval():
    """methods.md §2.1: when R2 is known (huge population, V2 -> 0, ω2 -> 0) the F interval is
    the one-sample gamma interval divided by R2."""
    one = rates.dsr(SYN, standard="w", method="tiwari").iloc[0]
    big = SYN.assign(count=SYN["count"] * 10**7, population=SYN["population"] * 10**7)
    rr = rates.rate_ratio(SYN, big, standard="w", method="tiwari").iloc[0]
    assert rr["ratio"] == pytest.approx(1.0)
    assert rr["ratio_lower"] == pytest.approx(one["lower"] / one["value"], rel=1e-4)
    assert rr["ratio_upper"] == pytest.approx(one["upper"] / one["value"], rel=1e-4)


def test_crude_rate_ratio_exact_binomial():
    a = pd.DataFrame({"count": [30], "population": [10000.0]})
    b = pd.DataFrame({"count": [15], "population": [12000.0]})
    rr = rates.rate_ratio(a, b, crude=True).iloc[0]
    assert rr["ratio"] == pytest.approx((30 / 10000) / (15 / 12000))
    p0 = 10000 / 22000
    assert rr["ratio_p"] == pytest.approx(stats.binomtest(30, 45, p0).pvalue, rel=1e-9)
    ci = stats.binomtest(30, 45).proportion_ci(0.95, method="exact")
    to_ratio = lambda p: p / (1 - p) * 12000 / 10000
    assert rr["ratio_lower"] == pytest.approx(to_ratio(ci.low), rel=1e-9)
    assert rr["ratio_upper"] == pytest.approx(to_ratio(ci.high), rel=1e-9)


def test_rate_ratio_compare_column():
    df = pd.concat([SYN.assign(sex=1), SYN.assign(sex=2, count=SYN["count"] * 2)])
    rr = rates.rate_ratio(df, compare="sex", reference=2, standard="w")
    assert list(rr["sex"]) == [1]
    assert rr["ratio"].iloc[0] == pytest.approx(0.5)


# --- cumulative risk (Jensen et al. 1991) -------------------------------------------------------
def test_cumulative_risk_hand_calculation():
    starts = np.arange(0, 90, 5)
    df = pd.DataFrame({"age_start": starts, "count": np.arange(18) + 1,
                       "population": np.full(18, 10000.0)})
    r = rates.cumulative_risk(df).iloc[0]
    d = np.arange(15) + 1.0
    cum = 100 * 5 * (d / 10000).sum()          # 0-74: 15 groups of 5 years
    assert r["cum_rate"] == pytest.approx(cum)
    assert r["cum_risk"] == pytest.approx(100 * (1 - np.exp(-cum / 100)))
    assert r["cum_rate_se"] == pytest.approx(100 * 5 * np.sqrt((d / 10000 ** 2).sum()))
    assert r["se"] == pytest.approx(np.exp(-cum / 100) * r["cum_rate_se"])
    assert r["lower"] < r["cum_risk"] < r["upper"]
    r64 = rates.cumulative_risk(df, max_age=64).iloc[0]
    assert r64["cum_rate"] == pytest.approx(100 * 5 * (d[:13] / 10000).sum())


def test_cumulative_rate_25_gives_risk_22_12():
    df = pd.DataFrame({"age_group": LABELS[:15], "count": [1000] * 15, "population": [300000.0] * 15})
    r = rates.cumulative_risk(df, age="age_group").iloc[0]
    assert r["cum_rate"] == pytest.approx(25.0)
    assert round(r["cum_risk"], 2) == 22.12


# --- funnel limits (Spiegelhalter 2005), methods.md §3.3 ------------------------------------------
def test_funnel_limits_methods_values():
    f = rates.funnel_limits([10, 50], conf=[0.998, 0.95])
    np.testing.assert_allclose(f.iloc[0][["lower_99_8", "lower_95", "upper_95", "upper_99_8"]].astype(float),
                               [0.1221, 0.3775, 1.6160, 2.0662], atol=5e-5)
    np.testing.assert_allclose(f.iloc[1][["lower_99_8", "lower_95", "upper_95", "upper_99_8"]].astype(float),
                               [0.5825, 0.7224, 1.2766, 1.4550], atol=5e-5)
    small = rates.funnel_limits([5])
    assert small["lower_99_8"].iloc[0] == 0     # clipped (methods: -0.17 unclipped)


def test_funnel_overdispersion_widens_limits():
    rng = np.random.default_rng(3)
    E = rng.uniform(20, 200, 60)
    O = rng.poisson(E * rng.gamma(10, 0.1, 60))
    plain = rates.funnel_limits(E)
    adj = rates.funnel_limits(E, observed=O, expected=E, overdispersion=True)
    assert adj.attrs["phi"] > 1 and adj.attrs["tau2"] > 0
    assert (adj["upper_99_8"] > plain["upper_99_8"]).all()


def test_funnel_rate_kind():
    f = rates.funnel_limits([100000.0], kind="rate", target=10.0, conf=0.95)
    ratio = rates.funnel_limits([10.0], conf=0.95)
    assert f["upper"].iloc[0] == pytest.approx(10 * ratio["upper"].iloc[0])


# --- edge cases ------------------------------------------------------------------------------------
def _frame(counts, pops, labels=LABELS):
    return pd.DataFrame({"age_group": labels, "count": counts, "population": pops})


def test_all_zero_counts():
    r = rates.dsr(_frame([0] * 18, [1000.0] * 18)).iloc[0]
    assert r["value"] == 0 and r["lower"] == 0
    w = SEGI["weight"].to_numpy() / 1e5 / 1000.0
    wb, w2b = w.mean(), (w ** 2).mean()
    assert r["upper"] == pytest.approx(stats.gamma.ppf(0.975, wb ** 2 / w2b, scale=w2b / wb) * 1e5, rel=1e-9)
    ff = rates.dsr(_frame([0] * 18, [1000.0] * 18), method="fay_feuer").iloc[0]
    assert ff["upper"] == pytest.approx(-w.max() * np.log(0.025) * 1e5, rel=1e-9)
    dob = rates.dsr(_frame([0] * 18, [1000.0] * 18), method="dobson").iloc[0]
    assert np.isnan(dob["lower"]) and "limits_undefined" in dob["flag"]


def test_some_zero_counts_and_zero_population():
    counts = [0] * 17 + [5]
    pops = [1000.0] * 16 + [0.0, 400.0]          # 80-84: no population and no cases
    r = rates.dsr(_frame(counts, pops)).iloc[0]
    assert r["value"] == pytest.approx(500 / 1e5 * 5 / 400 * 1e5)
    assert np.isfinite(r["upper"]) and r["flag"] == ""
    pops2 = [1000.0] * 17 + [0.0]                 # cases with population 0: SEER sets P := d
    r2 = rates.dsr(_frame(counts, pops2)).iloc[0]
    assert "population_zero_with_cases" in r2["flag"]
    assert r2["value"] == pytest.approx(500 / 1e5 * 1e5)


def test_missing_age_group_renormalises_weights():
    full = _frame([10] * 18, [1000.0] * 18)
    part = full[full["age_group"] != "0-4"]
    r = rates.dsr(pd.concat([full.assign(g="full"), part.assign(g="part")]), by="g").set_index("g")
    assert r.loc["full", "value"] == pytest.approx(1000.0)
    assert r.loc["part", "value"] == pytest.approx(1000.0)   # weights renormalised over 17 groups
    assert r.loc["part", "flag"] == "age_groups_missing" and r.loc["full", "flag"] == ""


def test_nan_inputs():
    counts = [np.nan] + [10] * 17
    r = rates.dsr(_frame(counts, [1000.0] * 18)).iloc[0]
    assert r["count"] == 170                    # NA count = 0 (PHE na.zero)
    pops = [np.nan] + [1000.0] * 17
    r2 = rates.dsr(_frame([10] * 18, pops)).iloc[0]
    assert np.isnan(r2["value"]) and "population_missing" in r2["flag"]


def test_min_count_flag():
    r = rates.dsr(_frame([1] * 18, [1000.0] * 18), min_count=20).iloc[0]
    assert np.isnan(r["value"]) and r["flag"] == "below_min_count" and r["count"] == 18


def test_unknown_age_excluded_or_redistributed():
    df = pd.concat([_frame([10] * 18, [1000.0] * 18),
                    pd.DataFrame({"age_group": ["unknown", None], "count": [12, 6], "population": [0, 0]})])
    ex = rates.dsr(df).iloc[0]
    assert ex["unknown_age"] == 18 and ex["count"] == 198
    assert ex["value"] == pytest.approx(1000.0)
    rd = rates.dsr(df, unknown_age="redistribute").iloc[0]
    assert rd["value"] == pytest.approx(1000.0 * 198 / 180)
    assert rd["upper"] == pytest.approx(ex["upper"] * 198 / 180)
    assert "unknown_age_redistributed" in rd["flag"]


def test_truncated_rate_35_64_uses_ci5_denominator():
    counts = np.arange(18) + 1.0
    r = rates.dsr(_frame(counts, [1000.0] * 18), ages=(35, 64)).iloc[0]
    w = np.array([6000, 6000, 6000, 5000, 4000, 4000]) / 31000
    assert r["value"] == pytest.approx((w * counts[7:13] / 1000).sum() * 1e5)
    assert r["count"] == counts[7:13].sum()


def test_standard_collapses_to_data_groups():
    """85+ from the WHO 21-group tail: 440+150+40+5 = 635 per 100,000 (standard_populations.md W2)."""
    r = rates.dsr(_frame([0] * 17 + [10], [1000.0] * 18), standard="world_who2000").iloc[0]
    assert r["value"] == pytest.approx(635 / 100035 * 10 / 1000 * 1e5)


def test_unmatched_groups_refused():
    bad = _frame([1] * 3, [100.0] * 3, labels=["0-3", "4-19", "20+"])
    with pytest.raises(standards.StandardError, match="cannot be matched"):
        rates.dsr(bad, standard="world_segi1960")


def test_groups_vectorised_equal_one_by_one():
    rng = np.random.default_rng(1)
    frames = [_frame(rng.poisson(20, 18), rng.uniform(1e3, 1e4, 18)).assign(region=r, sex=s)
              for r in ("A", "B", "C") for s in (1, 2)]
    allg = rates.dsr(pd.concat(frames), by=["region", "sex"], conf=[0.95, 0.998])
    for f in frames:
        one = rates.dsr(f, conf=[0.95, 0.998]).iloc[0]
        row = allg[(allg["region"] == f["region"].iloc[0]) & (allg["sex"] == f["sex"].iloc[0])].iloc[0]
        for col in ("value", "se", "lower_95", "upper_95", "lower_99_8", "upper_99_8"):
            assert row[col] == pytest.approx(one[col], rel=1e-12)


def test_rows_summed_within_group_and_age():
    df = _frame([10] * 18, [1000.0] * 18)
    split = pd.concat([df.assign(count=5, population=500.0), df.assign(count=5, population=500.0)])
    assert rates.dsr(split)["value"].iloc[0] == pytest.approx(rates.dsr(df)["value"].iloc[0])


def test_bad_inputs_give_clear_messages():
    with pytest.raises(rates.RatesInputError, match="no column"):
        rates.dsr(_frame([1] * 18, [1.0] * 18), count="cases")
    bad = _frame(["x"] + [1] * 17, [1.0] * 18)
    with pytest.raises(rates.RatesInputError, match="row 1"):
        rates.dsr(bad)
    with pytest.raises(ValueError, match="unknown DSR method"):
        rates.dsr(_frame([1] * 18, [1.0] * 18), method="foo")


def test_age_specific_limits_are_exact_poisson():
    df = _frame(np.arange(18), [1000.0] * 18).assign(sex=1)
    a = rates.age_specific(df, by="sex")
    assert list(a["age_group"]) == LABELS
    lo, up = stats.chi2.ppf(0.025, 2 * 5) / 2, stats.chi2.ppf(0.975, 12) / 2
    row = a[a["age_group"] == "25-29"].iloc[0]
    assert row["value"] == pytest.approx(500.0)
    assert row["lower"] == pytest.approx(lo / 1000 * 1e5) and row["upper"] == pytest.approx(up / 1000 * 1e5)


# --- properties over random inputs -------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=18, max_size=18),
       st.lists(st.floats(50, 1e5), min_size=18, max_size=18),
       st.sampled_from(["tiwari", "fay_feuer", "dobson_exact", "normal"]))
def test_dsr_properties(counts, pops, method):
    df = _frame(counts, pops)
    r = rates.dsr(df, method=method).iloc[0]
    spec = np.asarray(counts) / np.asarray(pops) * 1e5
    # an average of the age-specific rates with weights summing to 1
    assert spec.min() - 1e-9 <= r["value"] <= spec.max() + 1e-9
    if sum(counts) > 0:
        assert r["lower"] <= r["value"] <= r["upper"]
    # doubling every count and population leaves the rate unchanged and narrows the interval
    r2 = rates.dsr(df.assign(count=df["count"] * 2, population=df["population"] * 2), method=method).iloc[0]
    assert r2["value"] == pytest.approx(r["value"], rel=1e-12, abs=1e-12)
    if sum(counts) > 0:
        assert r2["upper"] - r2["lower"] <= r["upper"] - r["lower"] + 1e-9


def test_group_without_population():
    df = pd.concat([_frame([0] * 18, [0.0] * 18).assign(g="empty"), _frame([1] * 18, [100.0] * 18).assign(g="ok")])
    r = rates.dsr(df, by="g").set_index("g")
    assert np.isnan(r.loc["empty", "value"]) and r.loc["empty", "flag"] == "no_population"
    assert r.loc["ok", "value"] == pytest.approx(1000.0)


def test_numeric_age_start_column_with_a_group_absent():
    """Age read from schema.AGE_START: widths from the usual gap, so an absent group does not
    stretch its neighbour; results equal those from the labels."""
    starts = np.arange(0, 90, 5)
    df = pd.DataFrame({"age_start": starts, "age_group": LABELS, "count": np.arange(18) + 1.0,
                       "population": 1000.0})
    assert rates.dsr(df, age="age_start")["value"].iloc[0] == pytest.approx(rates.dsr(df)["value"].iloc[0])
    part = df[df["age_start"] != 15]
    by_start = rates.dsr(part, age="age_start").iloc[0]
    by_label = rates.dsr(part).iloc[0]
    assert by_start["value"] == pytest.approx(by_label["value"])


def test_rate_ratio_several_levels():
    b = SYN.assign(count=SYN["count"] * 2)
    one = rates.rate_ratio(SYN, b, standard="w").iloc[0]
    two = rates.rate_ratio(SYN, b, standard="w", conf=[0.95, 0.998]).iloc[0]
    assert two["ratio_lower_95"] == pytest.approx(one["ratio_lower"])
    assert two["ratio_lower_99_8"] < two["ratio_lower_95"] < 0.5 < two["ratio_upper_95"] < two["ratio_upper_99_8"]
    assert two["difference_upper_99_8"] > two["difference_upper_95"]


def test_cumulative_risk_unknown_age_redistributed():
    df = pd.concat([_frame([10] * 18, [10000.0] * 18),
                    pd.DataFrame({"age_group": [None], "count": [18], "population": [0.0]})])
    ex = rates.cumulative_risk(df, age="age_group").iloc[0]
    rd = rates.cumulative_risk(df, age="age_group", unknown_age="redistribute").iloc[0]
    assert ex["unknown_age"] == 18 and ex["cum_rate"] == pytest.approx(100 * 5 * 15 * 10 / 10000)
    assert rd["cum_rate"] == pytest.approx(ex["cum_rate"] * 198 / 180)   # all / known, all ages
    assert rd["upper"] > ex["upper"]


def test_rate_ratio_lognormal_and_test_based_by_hand():
    b = SYN.assign(count=SYN["count"] * 2)
    r1 = rates.dsr(SYN, standard="w").iloc[0]
    r2 = rates.dsr(b, standard="w").iloc[0]
    R1, R2, V1, V2 = r1["value"], r2["value"], r1["se"] ** 2, r2["se"] ** 2
    z = stats.norm.ppf(0.975)
    ln = rates.rate_ratio(SYN, b, standard="w", ratio_ci="lognormal").iloc[0]
    half = z * np.sqrt(V1 / R1 ** 2 + V2 / R2 ** 2)
    assert ln["ratio_lower"] == pytest.approx(0.5 * np.exp(-half))
    assert ln["ratio_upper"] == pytest.approx(0.5 * np.exp(half))
    tb = rates.rate_ratio(SYN, b, standard="w", ratio_ci="test_based").iloc[0]
    chi = (R1 - R2) / np.sqrt(V1 + V2)
    lims = sorted([0.5 ** (1 - z / chi), 0.5 ** (1 + z / chi)])
    assert (tb["ratio_lower"], tb["ratio_upper"]) == pytest.approx(tuple(lims))
    same = rates.rate_ratio(SYN, SYN, standard="w", ratio_ci="test_based").iloc[0]
    assert np.isnan(same["ratio_lower"])           # undefined for equal rates (methods.md §9)


def test_crude_rate_ratio_p_value_is_exact_whatever_else_is_in_the_table():
    """Found by the differential test against R's poisson.test: once any row had more than
    20,000 cases, every row's two-sided p-value doubled the smaller tail instead of summing the
    outcomes no more likely than the observed one (binom.test). O1 = 0, O2 = 69, equal rates
    under H0 with P1/(P1+P2) = 0.5466: no outcome in the upper tail is as unlikely as 0, so
    p = P(X = 0) = 0.4534^69 (R: 1.96967238460259e-24)."""
    small = pd.DataFrame({"g": ["1", "2"], "count": [0, 69], "population": [549985, 456129], "case": "a"})
    big = pd.DataFrame({"g": ["1", "2"], "count": [16049, 32670], "population": [41973660, 27138309], "case": "b"})
    both = pd.concat([small, big], ignore_index=True).assign(age_group="0-4")
    out = rates.rate_ratio(both, compare="g", reference="2", by="case", crude=True).set_index("case")
    p0 = 456129 / (549985 + 456129)
    assert out.loc["a", "ratio_p"] == pytest.approx(p0**69, rel=1e-12, abs=0)
    assert out.loc["a", "ratio_p"] == pytest.approx(1.96967238460259e-24, rel=1e-12, abs=0)
    alone = rates.rate_ratio(small.assign(age_group="0-4"), compare="g", reference="2", by="case", crude=True)
    assert alone["ratio_p"].iloc[0] == pytest.approx(out.loc["a", "ratio_p"], rel=1e-12, abs=0)

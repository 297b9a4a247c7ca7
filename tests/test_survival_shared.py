"""The survival computations that share work between stratifications give the frames the separate
computations give: ``analytics.survival.net_survival_sets`` against one ``net_survival`` call per
stratification, and the by-site table (``analytics.tables.survival_by_site``, four stratifications
from one pass over the patients) against the way it was computed before, one call per
stratification, on selections of the demo registry (period, cohort and complete approaches, one
sex or both, Pohar Perme, Ederer II and observed survival) and on small records cut into chunks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import demo as demo_mod
from analytics import survival, tables
from analytics.cube import ALL_SITES
from analytics.survival import population, registry, standardise

RTOL = 1e-12
SITE = "site_ci5"


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same columns, rows and labels; numbers equal to ``RTOL`` relative (NaN where NaN)."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) and len(want) > 0
    for c in want.columns:
        g, w = got[c].reset_index(drop=True), want[c].reset_index(drop=True)
        if pd.api.types.is_float_dtype(w):
            np.testing.assert_allclose(g.to_numpy(float), w.to_numpy(float), rtol=RTOL, atol=0, err_msg=c)
        else:
            assert g.isna().equals(w.isna()), c
            assert (g[w.notna()].astype(str) == w[w.notna()].astype(str)).all(), c


def by_site_one_call_each(records: pd.DataFrame, lifetable, *, period, method: str, approach: str) -> pd.DataFrame:
    """The by-site table as ``tables.survival_by_site`` computed it before it shared the population
    sums: one ``net_survival`` call per stratification."""
    data, _ = registry.survival_data(records)
    kw = dict(times=tables.SURVIVAL_TIMES, method=method, approach=approach, period=period, conf=0.95)
    crude = survival.net_survival(data, lifetable, by=[SITE], **kw).rename(columns={SITE: "site"})
    every = survival.net_survival(data, lifetable, **kw).assign(site=ALL_SITES)
    adults = data[(data["age"] >= 15) & (data["age"] < 100)]
    adults = adults.assign(**{standardise.ICSS_COLUMN: standardise.icss_age_group(adults["age"])})
    spec = survival.net_survival(adults, lifetable, by=[SITE, standardise.ICSS_COLUMN], **kw)
    parts = []
    for name in standardise.ICSS_WEIGHTS:
        part = spec[spec[SITE].map(standardise.icss_standard) == name]
        if len(part):
            parts.append(standardise.standardise(part, name, by=[SITE], age=standardise.ICSS_COLUMN)
                         .assign(standard=name))
    spec_all = survival.net_survival(adults, lifetable, by=[standardise.ICSS_COLUMN], **kw)
    parts.append(standardise.standardise(spec_all, "ICSS1", age=standardise.ICSS_COLUMN)
                 .assign(standard="ICSS1", **{SITE: ALL_SITES}))
    std = pd.concat(parts, ignore_index=True).rename(columns={SITE: "site", "estimate": "std_estimate",
                                                              "lower": "std_lower", "upper": "std_upper"})
    out = pd.concat([every, crude], ignore_index=True).merge(
        std[["site", "time", "std_estimate", "std_lower", "std_upper", "standard"]], on=["site", "time"], how="left")
    out["n"] = out["site"].map(data[SITE].value_counts()).fillna(len(data)).astype(int)
    return out[["site", "time", "estimate", "lower", "upper", "n_risk", "events", "std_estimate", "std_lower",
                "std_upper", "standard", "n"]]


@pytest.fixture(scope="module")
def lifetable():
    return demo_mod.load_demo_lifetable()


@pytest.mark.parametrize("approach, period, sexes, method", [
    ("period", (2013, 2017), None, "pohar_perme"),
    ("period", (2019, 2021), (1,), "pohar_perme"),
    ("cohort", (2012, 2016), (2,), "pohar_perme"),
    ("complete", (2015, 2019), None, "pohar_perme"),
    ("period", (2016, 2020), (2,), "ederer2"),
    ("cohort", (2011, 2014), (1,), "observed"),
])
def test_by_site_table_is_the_one_call_per_stratification_table(demo, lifetable, approach, period, sexes, method):
    records = tables.survival_records(demo.records, period=period, approach=approach, site_column=SITE,
                                      sexes=sexes, site=ALL_SITES, ages=(0, 85))
    lt = lifetable if method != "observed" else None
    got = tables.survival_by_site(records, lt, site_column=SITE, period=period, method=method, approach=approach,
                                  conf=0.95, first_primary_only=False)
    want = by_site_one_call_each(records, lt, period=period, method=method, approach=approach)
    assert_same_frame(got, want)
    assert got["std_estimate"].notna().sum() > 10      # standardised values exist: the age strata were compared


def small_records(n: int, seed: int) -> pd.DataFrame:
    """``n`` tumours with follow-up up to 14 years, ages 5-99, two regions, three sites."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "time": rng.integers(1, 14 * 365, n), "status": rng.integers(0, 2, n), "age": rng.uniform(5, 99.9, n),
        "sex": rng.integers(1, 3, n), "year": rng.uniform(2008, 2022, n),
        "site": rng.choice(["a", "b", "c"], n), "band": rng.choice(["young", "old"], n)})


@pytest.mark.parametrize("method", ["pohar_perme", "ederer2"])
@pytest.mark.parametrize("approach, period", [("period", (2016, 2019)), ("cohort", (2010, 2015)),
                                              ("complete", None)])
def test_sets_equal_separate_calls_across_chunks(lifetable, monkeypatch, method, approach, period):
    data = small_records(3000, seed=7)
    mask = (data["age"] >= 40).to_numpy()
    sets = [(["site"], None), ([], None), (["site", "band"], mask), (["band"], mask), (["sex"], ~mask)]
    monkeypatch.setattr(population, "CHUNK", 700)      # several chunks, records of a set in each
    kw = dict(times=(1, 3, 5, 10), method=method, approach=approach, period=period)
    got = survival.net_survival_sets(data, lifetable, sets, **kw)
    for (by, rows), frame in zip(sets, got):
        want = survival.net_survival(data if rows is None else data[rows], lifetable, by=by, **kw)
        assert_same_frame(frame, want)


@pytest.mark.parametrize("approach, period, method", [("period", (2015, 2019), "pohar_perme"),
                                                      ("cohort", (2012, 2016), "ederer2"),
                                                      ("complete", (2014, 2018), "observed")])
def test_curves_and_standardised_curve_from_one_pass(demo, lifetable, approach, period, method):
    """What the Survival page's curves and age-standardised curve are computed from
    (app_support.cache._survival_fits): survival_curve_sets by sex and by sex x ICSS age group,
    against survival_curve and age_standardised_curve called on their own."""
    records = tables.survival_records(demo.records, period=period, approach=approach, site_column=SITE,
                                      site=ALL_SITES, ages=(0, 85))
    data, _ = registry.survival_data(records)
    data = data.assign(group=data["sex"].astype(int))
    lt = lifetable if method != "observed" else None
    with_age = data.assign(**{standardise.ICSS_COLUMN: standardise.icss_age_group(data["age"])})
    curve, by_age = survival.survival_curve_sets(
        with_age, lt, [(["group"], None), (["group", standardise.ICSS_COLUMN],
                                           with_age[standardise.ICSS_COLUMN].notna().to_numpy())],
        method=method, approach=approach, period=period, max_years=10)
    want = survival.survival_curve(data, lt, method=method, by=["group"], approach=approach, period=period,
                                   max_years=10)
    assert_same_frame(curve.curve, want.curve)
    assert_same_frame(curve.at(tables.SURVIVAL_TIMES), want.at(tables.SURVIVAL_TIMES))
    got_std = standardise.standardised_curve(by_age, "ICSS1", max_years=10)
    want_std = survival.age_standardised_curve(data, lt, standard="ICSS1", method=method, max_years=10, by=["group"],
                                               approach=approach, period=period)
    assert_same_frame(got_std, want_std)
    assert len(got_std) > 200           # both sexes, most of the 120 months


def assert_identical_results(got: list, want: list) -> None:
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g.curve, w.curve, check_exact=True)
        pd.testing.assert_frame_equal(g.strata, w.strata, check_exact=True)


@pytest.mark.parametrize("chunk", [None, 700])
@pytest.mark.parametrize("method, approach, period", [("pohar_perme", "period", (2016, 2019)),
                                                      ("pohar_perme", "cohort", (2010, 2015)),
                                                      ("ederer2", "complete", None)])
def test_a_sets_result_does_not_depend_on_the_sets_beside_it(lifetable, monkeypatch, chunk, method, approach, period):
    """What lets the Survival page fit a selection's by-site table in the curves' pass
    (app_support.cache._survival_fits): each set's curve is exactly (not only to rounding) the one
    the same data give it alone or beside other sets, also when some of those follow patients
    longer (the pieces of a block do not depend on how far the pass computes it) and when the
    records are cut into chunks; a set repeated under other labels (one sex by sex = no
    stratification) is summed once and gives the same numbers."""
    if chunk:
        monkeypatch.setattr(population, "CHUNK", chunk)
    data = small_records(3000, seed=11).assign(one=1)
    young = (data["age"] < 60).to_numpy()
    kw = dict(method=method, approach=approach, period=period, max_years=5)
    sets = [(["site"], None), (["band"], young), ([], None), (["one"], None)]
    together = survival.survival_curve_sets(data, lifetable, sets, **kw)
    alone = [survival.survival_curve_sets(data, lifetable, [s], **kw)[0] for s in sets]
    assert_identical_results(together, alone)
    # finer strata reach their first time past 5 years later: the pass computes longer follow-ups
    longer = survival.survival_curve_sets(data, lifetable, [(["site", "band", "sex"], None)] + sets, **kw)[1:]
    assert_identical_results(longer, alone)
    np.testing.assert_array_equal(together[2].curve["estimate"], together[3].curve["estimate"])


def test_repeated_stratifications_are_summed_once(lifetable, monkeypatch):
    data = small_records(500, seed=3).assign(one=1)
    seen = []
    shared = population.shared_day_sums
    monkeypatch.setattr(population, "shared_day_sums", lambda inp, rt, targets, **kw: seen.append(len(targets))
                        or shared(inp, rt, targets, **kw))
    survival.survival_curve_sets(data, lifetable, [([], None), (["site"], None), (["one"], None)],
                                 approach="period", period=(2016, 2019))
    assert seen == [2]

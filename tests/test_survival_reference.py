"""analytics.survival against frozen R output: relsurv 2.2-9 ``rs.surv`` (Pohar Perme, Ederer II) and
``survival::survfit`` (Kaplan-Meier) on the datasets of ``tests/reference/survival/`` (made by
``make_reference.R`` beside them). Estimates and CI limits at 1, 3, 5 and 10 years to 1e-4 (they agree
to about 1e-13), numbers at risk and deaths exactly; the same rows exist on both sides. R is not
needed: the tests read only the stored CSV files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import survival

REF = Path(__file__).resolve().parent / "reference" / "survival"
TOL = 1e-4


@pytest.fixture(scope="module")
def inputs() -> pd.DataFrame:
    return pd.read_csv(REF / "inputs.csv")


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(REF / "expected.csv", dtype={"grp": str})


@pytest.fixture(scope="module")
def lifetables() -> dict[str, pd.DataFrame]:
    return {k: pd.read_csv(REF / f"lifetable_{k}.csv") for k in "ab"}


DATASETS = pd.read_csv(REF / "inputs.csv", usecols=["dataset"])["dataset"].unique().tolist()


def test_there_are_enough_reference_cases(inputs, expected):
    assert len(DATASETS) >= 20
    sizes = inputs.groupby("dataset").size()
    assert sizes.min() <= 15 and sizes.max() >= 5000                 # small and large
    assert inputs["age"].min() < 16 and inputs["age"].max() > 99      # ages 15-99 (and past the top row)
    years = np.floor(inputs["year"])
    assert years.max() - years.min() >= 15                            # several calendar years
    assert set(expected["method"]) == {"pohar_perme", "ederer2", "observed"}
    assert (expected["time"] == 10).sum() >= 40 and set(expected["time"]) == {1, 3, 5, 10}
    assert {"leap_years", "over_top_age", "nearest_year", "period_large", "small_ties"} <= set(DATASETS)
    lt = pd.read_csv(REF / "lifetable_a.csv")
    assert lt.groupby(["sex", "age"])["qx"].nunique().min() > 1        # the table changes by year


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("method", ["pohar_perme", "ederer2", "observed"])
def test_agrees_with_r(dataset, method, inputs, expected, lifetables):
    d = inputs[inputs["dataset"] == dataset]
    approach = d["approach"].iloc[0]
    period = (int(d["p0"].iloc[0]), int(d["p1"].iloc[0])) if approach == "period" else None
    # rs.surv / survfit report every time up to the last observation: the complete approach
    got = survival.net_survival(d, lifetables[d["lifetable"].iloc[0]], times=(1, 3, 5, 10), method=method,
                                by=["grp"], approach="complete" if approach == "cohort" else "period", period=period)
    got = got.assign(grp=got["grp"].astype(str))
    exp = expected[(expected["dataset"] == dataset) & (expected["method"] == method)]
    if exp["grp"].nunique() == 1 and d["grp"].nunique() > 1:       # one curve in R: pool the groups
        got = survival.net_survival(d, lifetables[d["lifetable"].iloc[0]], times=(1, 3, 5, 10), method=method,
                                    approach="complete" if approach == "cohort" else "period",
                                    period=period).assign(grp="1")
    m = exp.merge(got, on=["grp", "time"], how="outer", suffixes=("_r", ""), indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["grp", "time", "_merge"]]
    for col in ("estimate", "lower", "upper"):
        np.testing.assert_allclose(m[col], m[col + "_r"], rtol=0, atol=TOL, err_msg=col)
    assert (m["n_risk"] == m["n_risk_r"]).all() and (m["events"] == m["events_r"]).all()


def test_full_curves_step_at_every_observed_time(inputs, lifetables):
    """Small cohorts: every step of rs.surv's curve, censorings included (net survival may rise)."""
    curves = pd.read_csv(REF / "curves.csv")
    for (dataset, method), c in curves.groupby(["dataset", "method"]):
        d = inputs[inputs["dataset"] == dataset]
        res = survival.survival_curve(d, lifetables[d["lifetable"].iloc[0]], method=method, approach="complete")
        got = res.curve
        assert got["time"].tolist() == c["time"].tolist()
        np.testing.assert_allclose(got["estimate"], c["estimate"], atol=1e-10)
        np.testing.assert_allclose(got["lower"], c["lower"], atol=1e-10)
        assert got["n_risk"].tolist() == c["n_risk"].tolist() and got["events"].tolist() == c["events"].tolist()
    pp = curves[curves["method"] == "pohar_perme"]
    rises = pp.groupby("dataset")["estimate"].apply(lambda s: (np.diff(s.to_numpy()) > 0).any())
    assert rises.any()                     # not forced monotone, as relsurv

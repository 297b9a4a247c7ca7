"""ICSS age-standardised net and relative survival against R: the age-specific estimates by relsurv
2.2-9 ``rs.surv`` in the five ICSS age groups, weighted in R with the Corazziari, Quinn & Capocaccia
(2004) weights and the delta-method variance (``tests/reference/survival_std/make_standardised.R``,
frozen output ``expected_std.csv``). Estimates and CI limits to 1e-4 at months on the Survival page's
grid, through both public functions (``age_standardised`` at the times, ``age_standardised_curve`` on
its monthly grid). R is not needed: the test reads the stored files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import survival

REF = Path(__file__).resolve().parent / "reference"
TOL = 1e-4


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(REF / "survival_std" / "expected_std.csv")


@pytest.fixture(scope="module")
def inputs() -> pd.DataFrame:
    d = pd.read_csv(REF / "survival" / "inputs.csv")
    return d[d["dataset"].isin(["n3000", "n8000", "strata"])]


@pytest.fixture(scope="module")
def lifetable() -> pd.DataFrame:
    return pd.read_csv(REF / "survival" / "lifetable_a.csv")


def test_reference_covers_both_methods_standards_and_strata(expected):
    assert len(expected) == 120 and not expected.isna().any().any()
    assert set(expected["method"]) == {"pohar_perme", "ederer2"} and set(expected["standard"]) == {"ICSS1", "ICSS2"}
    assert set(expected.loc[expected["dataset"] == "strata", "grp"]) == {1, 2, 3}


@pytest.mark.parametrize("method", ["pohar_perme", "ederer2"])
@pytest.mark.parametrize("standard", ["ICSS1", "ICSS2"])
def test_age_standardised_agrees_with_r(method, standard, expected, inputs, lifetable):
    exp = expected[(expected["method"] == method) & (expected["standard"] == standard)]
    times = sorted(exp["time"].unique())
    got = survival.age_standardised(inputs, lifetable, standard=standard, times=times, method=method,
                                    by=["dataset", "grp"], approach="complete")
    m = exp.merge(got, on=["dataset", "grp", "time"], suffixes=("_r", ""), how="left")
    assert len(m) == len(exp) and m["estimate"].notna().all()
    for col in ("estimate", "lower", "upper"):
        np.testing.assert_allclose(m[col], m[f"{col}_r"], atol=TOL, rtol=0)


def test_monthly_curve_passes_through_the_r_values(expected, inputs, lifetable):
    exp = expected[(expected["method"] == "pohar_perme") & (expected["standard"] == "ICSS1")
                   & (expected["dataset"] == "n3000")]
    curve = survival.age_standardised_curve(inputs[inputs["dataset"] == "n3000"], lifetable, standard="ICSS1",
                                            approach="complete")
    assert np.allclose(np.diff(curve["time"]), 1 / 12) and curve["time"].iloc[0] == pytest.approx(1 / 12)
    assert curve["time"].max() == pytest.approx(10)
    m = exp.merge(curve.assign(time=curve["time"].round(9)), on="time", suffixes=("_r", ""))
    assert len(m) == len(exp)
    for col in ("estimate", "lower", "upper"):
        np.testing.assert_allclose(m[col], m[f"{col}_r"], atol=TOL, rtol=0)
    with pytest.raises(survival.SurvivalInputError, match="step"):
        survival.age_standardised_curve(inputs, lifetable, step=0)

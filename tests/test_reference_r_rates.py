"""analytics.rates against R on 300 random inputs (tests/reference/rates/make_rates.R):
crude rates (exact, PHE Byar, auto), age-specific rates (exact) and DSRs with every CI method
(epitools::ageadjust.direct for the rate and the Fay-Feuer interval; Tiwari, Dobson, normal and
log-normal limits written out in R from the published formulas)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import rates
from reference_r import assert_close, read

M = 100_000
METHODS = ("tiwari", "fay_feuer", "dobson", "dobson_exact", "normal", "lognormal")


@pytest.fixture(scope="module")
def inputs():
    return read("rates", "rates_inputs.csv")


@pytest.fixture(scope="module")
def dsr_ref():
    return read("rates", "dsr_expected.csv").set_index("case")


def _dsr(inputs, method):
    parts = []
    for conf, d in inputs.groupby("conf"):
        parts.append(rates.dsr(d, standard="std", by="case", method=method, conf=float(conf), multiplier=M))
    return pd.concat(parts).set_index("case").sort_index()


@pytest.mark.parametrize("method", METHODS)
def test_dsr_and_limits_match_r(inputs, dsr_ref, method):
    out = _dsr(inputs, method)
    ref = dsr_ref.loc[out.index]
    assert len(out) == 300 and set(inputs["kind"]) >= {"zero", "tiny", "sparse"}
    assert_close(out["value"], ref["value"] * M, what="DSR")
    assert_close(out["crude_rate"], ref["crude_rate"] * M, what="crude rate")
    assert_close(out["se"], ref["se"] * M, what="SE")
    assert_close(out["count"], ref["count"], what="count")
    # R's limits are NA where the method has none (Dobson and log-normal without cases)
    assert_close(out["lower"], ref[f"{method}_lower"] * M, atol=1e-12, what=f"{method} lower")
    assert_close(out["upper"], ref[f"{method}_upper"] * M, what=f"{method} upper")


def test_one_age_group_and_zero_counts_are_among_the_cases(inputs, dsr_ref):
    k = inputs.groupby("case").size()
    assert (k == 1).sum() >= 20 and (dsr_ref["count"] == 0).sum() >= 20
    assert (inputs.groupby("case")["population"].min() < 30).sum() >= 20


@pytest.fixture(scope="module")
def crude_ref():
    return read("rates", "crude_expected.csv")


@pytest.mark.parametrize("method", ["exact", "byar", "auto"])
def test_crude_rate_matches_r(crude_ref, method):
    parts = []
    for conf, d in crude_ref.groupby("conf"):
        r = rates.crude_rate(d["count"], d["population"], conf=float(conf), multiplier=M, method=method)
        parts.append(r.assign(case=d["case"].to_numpy()))
    out = pd.concat(parts).set_index("case").sort_index()
    ref = crude_ref.set_index("case").loc[out.index]
    assert_close(out["value"], ref["value"] * M, what="crude rate")
    if method == "auto":   # exact below 10 cases, Byar from 10 (PHE)
        lo = np.where(ref["count"] < 10, ref["exact_lower"], ref["byar_lower"])
        hi = np.where(ref["count"] < 10, ref["exact_upper"], ref["byar_upper"])
    else:
        lo, hi = ref[f"{method}_lower"], ref[f"{method}_upper"]
    assert_close(out["lower"], np.asarray(lo) * M, atol=1e-12, what="lower")
    assert_close(out["upper"], np.asarray(hi) * M, what="upper")


def test_age_specific_rates_match_r(inputs):
    ref = read("rates", "age_specific_expected.csv").set_index(["case", "age_group"])
    parts = []
    for conf, d in inputs.groupby("conf"):
        parts.append(rates.age_specific(d, by="case", conf=float(conf), multiplier=M, method="exact"))
    out = pd.concat(parts).set_index(["case", "age_group"]).sort_index()
    ref = ref.loc[out.index]
    assert len(out) == len(inputs)
    assert_close(out["value"], ref["value"] * M, what="rate")
    assert_close(out["lower"], ref["lower"] * M, atol=1e-12, what="lower")
    assert_close(out["upper"], ref["upper"] * M, what="upper")

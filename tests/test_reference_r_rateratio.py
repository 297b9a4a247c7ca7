"""analytics.rates.rate_ratio against R on 300 random pairs (tests/reference/rateratio/make_rateratio.R):
crude ratios against poisson.test (exact conditional interval and test); standardised ratios
with Fay's F interval (Tiwari and Fay-Feuer weights), log-normal and test-based intervals and
the difference, written out in R from the published formulas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import rates
from reference_r import assert_close, read

M = 100_000


@pytest.fixture(scope="module")
def inputs():
    return read("rateratio", "rateratio_inputs.csv").astype({"group": str})


def _rr(inputs, **kw):
    parts = [rates.rate_ratio(d, compare="group", reference="2", by="case", standard="std", conf=float(conf),
                              multiplier=M, **kw) for conf, d in inputs.groupby("conf")]
    return pd.concat(parts).set_index("case").sort_index()


@pytest.mark.parametrize("method,ratio_ci", [("tiwari", "f"), ("fay_feuer", "f"), ("tiwari", "lognormal"),
                                             ("tiwari", "test_based")])
def test_standardised_ratio_matches_r(inputs, method, ratio_ci):
    ref = read("rateratio", "standardised_expected.csv").set_index("case")
    out = _rr(inputs, method=method, ratio_ci=ratio_ci)
    ref = ref.loc[out.index]
    assert len(out) == 300
    assert_close(out["rate1"], ref["rate1"] * M, what="rate 1")
    assert_close(out["rate2"], ref["rate2"] * M, what="rate 2")
    assert_close(out["ratio"], ref["ratio"], atol=1e-15, what="ratio")
    key = method if ratio_ci == "f" else ratio_ci
    assert_close(out["ratio_lower"], ref[f"{key}_lower"], atol=1e-15, what=f"{key} lower")
    assert_close(out["ratio_upper"], ref[f"{key}_upper"], what=f"{key} upper")
    if ratio_ci == "f":
        assert_close(out["ratio_p"], ref[f"{method}_p"], what="p-value")
    assert_close(out["difference"], ref["difference"] * M, atol=1e-9, what="difference")
    assert_close(out["difference_lower"], ref["difference_lower"] * M, what="difference lower")
    assert_close(out["difference_upper"], ref["difference_upper"] * M, what="difference upper")
    assert_close(out["difference_p"], ref["difference_p"], what="difference p")


def test_crude_ratio_matches_poisson_test(inputs):
    ref = read("rateratio", "crude_expected.csv").set_index("case")
    out = _rr(inputs, crude=True)
    ref = ref.loc[out.index]
    assert_close(out["ratio"], ref["ratio"], what="ratio")
    assert_close(out["ratio_lower"], ref["lower"], atol=1e-15, what="lower")
    assert_close(out["ratio_upper"], ref["upper"], what="upper")
    # p-values below 1e-300 are subnormal numbers in both (R prints 5e-324 where we get 0)
    assert_close(out["ratio_p"], ref["p_value"], atol=1e-300, what="p-value")
    assert (ref["O1"] + ref["O2"] > 20_000).sum() >= 10     # large counts are among the cases

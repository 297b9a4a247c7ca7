"""analytics.rates.cumulative_risk against the cumulative rate and risk written out in R
(tests/reference/cumrisk/make_cumrisk.R; Day 1987, Jensen et al. 1991) on 300 random inputs:
full and partial age ranges, one age group, zero counts, tiny populations."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics import rates
from reference_r import assert_close, read


@pytest.mark.parametrize("method", ["tiwari", "fay_feuer"])
def test_cumulative_rate_and_risk_match_r(method):
    inputs = read("cumrisk", "cumrisk_inputs.csv")
    ref = read("cumrisk", "cumrisk_expected.csv").set_index("case")
    parts = []
    for conf, d in inputs.groupby("conf"):
        parts.append(rates.cumulative_risk(d, age="age_group", by="case", conf=float(conf), method=method))
    out = pd.concat(parts).set_index("case").sort_index()
    ref = ref.loc[out.index]
    assert len(out) == 300 and (ref["count"] == 0).sum() >= 20
    for col in ("count", "cum_rate", "cum_rate_se", "cum_risk", "se"):
        assert_close(out[col], ref[col], atol=1e-13, what=col)
    assert_close(out["lower"], ref[f"{method}_lower"], atol=1e-13, what="lower")
    assert_close(out["upper"], ref[f"{method}_upper"], what="upper")

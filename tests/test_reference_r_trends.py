"""analytics.trends / analytics.joinpoint against R on 300 random series (tests/reference/trends/
make_trends.R): the log-linear APC against lm (unweighted and SEER*Stat-weighted), and joinpoint
fits with the joinpoints fixed against segmented (fitted values, segment slopes) and Lerman's
segment-wise lm (SEs, CIs, p-values), AAPC (Clegg et al. 2009) from those."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import trends
from reference_r import assert_close, read


@pytest.fixture(scope="module")
def series():
    return read("trends", "trend_series.csv")


def _weights_args(g):
    return {"se": g["se"].to_numpy()} if g["se"].notna().all() else {}


def test_loglinear_apc_matches_lm(series):
    ref = read("trends", "apc_expected.csv").set_index("series")
    rows = []
    for s, g in series.groupby("series"):
        r = trends.loglinear_apc(g["year"], g["rate"], conf=float(g["conf"].iloc[0]), **_weights_args(g))
        rows.append({"series": s, **r.as_dict()})
    out = pd.DataFrame(rows).set_index("series")
    ref = ref.loc[out.index]
    assert len(out) == 300 and (series.groupby("series").size() == 3).sum() >= 20
    for col in ("slope", "se", "apc", "lower", "upper", "p_value"):
        assert_close(out[col], ref[col], atol=1e-13, what=col)


def test_apc_table_matches_lm_for_many_series_at_once(series):
    ref = read("trends", "apc_expected.csv").set_index("series")
    plain = series[series["se"].isna()]
    for conf, d in plain.groupby("conf"):
        out = trends.apc_table(d, by="series", rate="rate", conf=float(conf)).set_index("series")
        r = ref.loc[out.index]
        for col in ("apc", "lower", "upper", "p_value", "se"):
            assert_close(out[col], r[col], atol=1e-13, what=col)
    weighted = series[series["se"].notna()]
    for conf, d in weighted.groupby("conf"):
        out = trends.apc_table(d, by="series", rate="rate", se="se", conf=float(conf)).set_index("series")
        assert_close(out["apc"], ref.loc[out.index, "apc"], atol=1e-13, what="weighted apc")
        assert_close(out["upper"], ref.loc[out.index, "upper"], atol=1e-13, what="weighted upper")


def test_joinpoint_fixed_fits_match_segmented_and_lerman(series):
    segs = read("trends", "joinpoint_segments_expected.csv")
    fits = read("trends", "joinpoint_fitted_expected.csv").set_index(["series", "year"])
    assert segs.groupby("series").size().max() == 4 and segs["series"].nunique() > 150
    for s, ref in segs.groupby("series"):
        g = series[series["series"] == s]
        knots = [float(k) for k in str(g["joinpoints"].iloc[0]).split(";") if k not in ("", "nan")]
        conf = float(g["conf"].iloc[0])
        res = trends.joinpoint(g["year"], g["rate"], joinpoints=knots, conf=conf, **_weights_args(g))
        seg = res.segments
        assert_close(seg["start"], ref["start"], what="start")
        assert_close(seg["end"], ref["end"], what="end")
        assert_close(seg["slope"], ref["slope"], atol=1e-13, what=f"series {s} slope")
        assert_close(seg["se"], ref["se"], atol=1e-13, what=f"series {s} se")
        assert res.df == int(ref["df"].iloc[0])
        for col in ("apc", "lower", "upper", "p_value"):
            assert_close(seg[col], ref[col], atol=1e-12, what=f"series {s} {col}")
        assert_close(res.fitted, fits.loc[s].loc[g["year"], "fitted"], what=f"series {s} fitted")
        assert_close(res.aapc(), ref[["aapc", "aapc_lower", "aapc_upper"]].iloc[0], atol=1e-12, what="AAPC")

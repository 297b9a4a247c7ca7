"""Log-linear APC (SEER*Stat) checked against statsmodels WLS/OLS fits."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analytics.trends import TrendInputError, apc_table, loglinear_apc

YR = np.arange(2005, 2019)
RATE = 40 * np.exp(0.021 * (YR - 2005)) * (1 + 0.02 * np.sin(YR * 1.7))
SE = RATE * (0.04 + 0.01 * np.cos(YR))


def _sm(rate, weights):
    X = sm.add_constant(YR.astype(float))
    f = sm.WLS(np.log(rate), X, weights=weights).fit()
    return 100 * np.expm1(f.params[1]), 100 * np.expm1(f.conf_int(0.05)[1]), f.pvalues[1]


def test_unweighted_matches_ols():
    a = loglinear_apc(YR, RATE)
    apc, ci, p = _sm(RATE, np.ones_like(RATE))
    np.testing.assert_allclose([a.apc, a.lower, a.upper, a.p_value], [apc, *ci, p], rtol=1e-10)


def test_seer_weighted_matches_wls():
    a = loglinear_apc(YR, RATE, se=SE)
    apc, ci, p = _sm(RATE, RATE**2 / SE**2)
    np.testing.assert_allclose([a.apc, a.lower, a.upper, a.p_value], [apc, *ci, p], rtol=1e-10)


def test_exact_exponential_gives_its_apc():
    a = loglinear_apc(YR, 10 * 1.035 ** (YR - 2005))
    assert a.apc == pytest.approx(3.5, abs=1e-10)


def test_zero_rate_is_refused_with_year():
    r = RATE.copy()
    r[3] = 0
    with pytest.raises(TrendInputError, match="2008"):
        loglinear_apc(YR, r)


def test_apc_table_vectorised_equals_single():
    df = pd.concat([
        pd.DataFrame({"site": "A", "sex": 1, "year": YR, "value": RATE, "se": SE}),
        pd.DataFrame({"site": "B", "sex": 2, "year": YR, "value": RATE[::-1], "se": SE}),
        pd.DataFrame({"site": "C", "sex": 1, "year": YR[:5], "value": [1, 2, 0, 3, 4], "se": 1.0}),
    ])
    out = apc_table(df, by=["site", "sex"], se="se")
    a = loglinear_apc(YR, RATE, se=SE)
    b = loglinear_apc(YR, RATE[::-1], se=SE)
    np.testing.assert_allclose(out.loc[0, ["apc", "lower", "upper", "p_value"]].astype(float),
                               [a.apc, a.lower, a.upper, a.p_value], rtol=1e-10)
    np.testing.assert_allclose(out.loc[1, ["apc", "lower", "upper"]].astype(float),
                               [b.apc, b.lower, b.upper], rtol=1e-10)
    assert np.isnan(out.loc[2, "apc"])  # a zero rate: no APC (SEER*Stat rule)
    assert list(out["site"]) == ["A", "B", "C"]

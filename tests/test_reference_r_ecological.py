"""analytics.ecological.ecological_regression against R on 200 random data sets (tests/reference/
ecological/make_ecological.R): Poisson and quasi-Poisson (glm), negative binomial (MASS::glm.nb,
polished), the Cameron-Trivedi test (its auxiliary lm) and the default model choice."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analytics import ecological
from reference_r import assert_close, read

FAMILY_LABEL = {"poisson": "poisson", "quasipoisson": "quasi-Poisson", "negbin": "negative binomial"}


@pytest.fixture(scope="module")
def data():
    return read("ecological", "ecological_data.csv")


@pytest.fixture(scope="module")
def fits():
    return read("ecological", "ecological_fits.csv").set_index("set")


@pytest.fixture(scope="module")
def coefs():
    return read("ecological", "ecological_coefficients.csv")


def _fit(d, k, family):
    factors = [f"x{i}" for i in range(1, k + 1)]
    return ecological.ecological_regression(d, factors, observed="y", expected="E", family=family)


@pytest.mark.parametrize("family", ["poisson", "quasipoisson", "negbin"])
def test_coefficients_match_r(data, fits, coefs, family):
    checked = 0
    z = stats.norm.ppf(0.975)
    for s, d in data.groupby("set"):
        info = fits.loc[s]
        k = int(info["k"])
        res = _fit(d, k, family)
        assert res.converged and res.family == FAMILY_LABEL[family]
        ref = coefs[(coefs["set"] == s) & (coefs["family"] == family)]
        if family == "negbin" and info["boundary"]:
            # not overdispersed: the NB2 estimate is the Poisson fit (R's glm.nb runs theta off
            # to infinity); docs/methods.md, "Where we deliberately differ from R"
            assert res.alpha == 0 and ref.empty
            ref = coefs[(coefs["set"] == s) & (coefs["family"] == "poisson")]
        t = res.table
        assert_close(t["estimate"], ref["estimate"], atol=1e-12, what=f"set {s} estimate")
        assert_close(t["se"], ref["se"], what=f"set {s} se")
        assert_close(t["z"], ref["z"], atol=1e-10, what=f"set {s} z")
        assert_close(t["p_value"], ref["p_value"], atol=1e-15, what=f"set {s} p")
        q = stats.t.ppf(0.975, int(info["n"]) - k - 1) if family == "quasipoisson" else z
        assert_close(t["rr_upper"], np.exp(ref["estimate"] + q * ref["se"]), what="RR upper")
        if family == "poisson":
            assert_close([res.deviance, res.aic, res.dispersion],
                         info[["poisson_deviance", "poisson_aic", "dispersion"]].astype(float), what="fit")
        if family == "negbin" and not info["boundary"]:
            # the NB2 likelihood is flat in theta near the Poisson boundary: alpha = 1/theta is
            # compared to 1e-9 absolute, deviance and AIC to 1e-9 relative
            assert_close([res.alpha], [1 / info["theta"]], rtol=1e-7, atol=1e-9, what="alpha")
            assert_close([res.deviance, res.aic], info[["negbin_deviance", "negbin_aic"]].astype(float),
                         what="NB deviance, AIC")
        checked += 1
    assert checked == 200


def test_overdispersion_test_and_default_choice_match_r(data, fits):
    for s, d in data.groupby("set"):
        info = fits.loc[s]
        res = _fit(d, int(info["k"]), "auto")
        od = res.overdispersion
        assert_close([od["alpha"], od["t"], od["p_value"]], info[["ct_alpha", "ct_t", "ct_p"]].astype(float),
                     atol=1e-14, what=f"set {s} Cameron-Trivedi")
        want = "negative binomial" if info["ct_p"] < 0.05 else "poisson"
        assert res.family == want and res.choice.p_value == od["p_value"]
    assert (fits["ct_p"] < 0.05).sum() >= 50 and (fits["ct_p"] >= 0.05).sum() >= 50

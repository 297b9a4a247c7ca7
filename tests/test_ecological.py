"""analytics.ecological against the Tokyo mortality example bundled with libpysal.

Expected values: GWR4 4.0.90 "Global regression result" (Poisson, offset eb2564, no
standardisation) printed in libpysal's bundled ``examples/tokyo/tokyo_BS_NN_OFF_summary.txt``
(data of Nakaya, Fotheringham, Brunsdon & Charlton 2005, Stat Med 24:2695). The
Cameron-Trivedi statistic is checked against statsmodels' independent implementation
(``statsmodels.discrete._diagnostics_count.test_poisson_dispersion``, "CT nb2").
"""
from __future__ import annotations

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.discrete._diagnostics_count import test_poisson_dispersion as sm_dispersion

from analytics import ecological, spatial

FACTORS = ["OCC_TEC", "OWNH", "POP65", "UNEMP"]
# GWR4 global Poisson regression, tokyo_BS_NN_OFF_summary.txt: estimate, standard error
GWR4 = {"intercept": (0.007470, 0.065139), "OCC_TEC": (-2.287906, 0.162000), "OWNH": (-0.259692, 0.047050),
        "POP65": (2.199387, 0.198270), "UNEMP": (0.064025, 0.010997)}
GWR4_EXP = {"OCC_TEC": 0.101479, "OWNH": 0.771289, "POP65": 9.019480, "UNEMP": 1.066119}
GWR4_DEVIANCE = 389.281580


@pytest.fixture(scope="module")
def tokyo():
    d = pd.read_csv(libpysal.examples.get_path("Tokyomortality.txt"), sep=r"\s+")
    d.index = d["IDnum0"].astype(str)
    return d


def test_summary_file_is_the_source(tokyo):
    text = open(libpysal.examples.get_path("tokyo_BS_NN_OFF_summary.txt")).read()
    assert "Offset variable: field5: eb2564" in text and f"{GWR4_DEVIANCE:.6f}" in text
    assert "-2.287906        0.162000" in text


def test_tokyo_poisson_matches_gwr4(tokyo):
    r = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", family="poisson")
    t = r.table.set_index("term")
    for term, (est, se) in GWR4.items():
        assert round(t.loc[term, "estimate"], 6) == pytest.approx(est, abs=1e-6)
        assert round(t.loc[term, "se"], 6) == pytest.approx(se, abs=1e-6)
    for term, rr in GWR4_EXP.items():
        assert round(t.loc[term, "rate_ratio"], 6) == pytest.approx(rr, abs=1e-6)
    assert round(r.deviance, 6) == pytest.approx(GWR4_DEVIANCE, abs=1e-6)
    assert r.n == 262 and r.family == "poisson"
    z = 1.959963984540054
    assert t.loc["POP65", "rr_lower"] == pytest.approx(np.exp(2.199387 - z * 0.198270), rel=1e-5)
    # Pearson dispersion written out
    mu = np.exp(np.log(tokyo["eb2564"]) + sm.add_constant(tokyo[FACTORS]) @ t["estimate"].to_numpy())
    x2 = np.sum((tokyo["db2564"] - mu) ** 2 / mu)
    assert r.dispersion == pytest.approx(x2 / (262 - 5), rel=1e-6)


def test_per_sd_rescales_slopes(tokyo):
    unit = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564").table
    sd = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", per="sd").table
    assert ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564",
                                            per="sd").family == "negative binomial"
    sds = tokyo[FACTORS].std(ddof=1).to_numpy()
    np.testing.assert_allclose(sd["estimate"].iloc[1:], unit["estimate"].iloc[1:].to_numpy() * sds, rtol=1e-6)
    assert (sd["per"].iloc[1:] == "1 SD").all()
    np.testing.assert_allclose(sd["scale"].iloc[1:], sds)


def test_cameron_trivedi_matches_statsmodels(tokyo):
    r = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564")
    X = sm.add_constant(tokyo[FACTORS])
    p = sm.Poisson(tokyo["db2564"], X, offset=np.log(tokyo["eb2564"])).fit(disp=0)
    res = sm_dispersion(p)
    k = list(res.method).index("CT nb2")
    assert r.overdispersion["t"] == pytest.approx(res.statistic[k], rel=1e-8)
    assert r.overdispersion["p_value"] == pytest.approx(res.pvalue[k] / 2, rel=1e-6)   # one-sided


def test_negative_binomial_and_equidispersed_data(tokyo):
    nb = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", family="negbin")
    assert nb.alpha > 0 and nb.family == "negative binomial"
    # at the ML alpha the coefficients solve the NB2 GLM score equations
    X = sm.add_constant(tokyo[FACTORS])
    g = sm.GLM(tokyo["db2564"], X, family=sm.families.NegativeBinomial(alpha=nb.alpha),
               offset=np.log(tokyo["eb2564"])).fit()
    np.testing.assert_allclose(nb.table["estimate"], g.params.to_numpy(), rtol=1e-7, atol=1e-9)
    # Poisson data with no extra variation: the test does not reject
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"x": rng.normal(size=400), "expected": rng.uniform(20, 80, 400)})
    d["observed"] = rng.poisson(d["expected"] * np.exp(0.2 * d["x"]))
    r = ecological.ecological_regression(d, ["x"])
    assert r.overdispersion["p_value"] > 0.01
    t = r.table.set_index("term")
    assert t.loc["x", "rr_lower"] < np.exp(0.2) < t.loc["x", "rr_upper"]


def test_residual_moran_tokyo(tokyo):
    g = gpd.read_file(libpysal.examples.get_path("tokyomet262.shp"))
    g["region_code"] = g["AreaID"].astype(int).astype(str)
    w = spatial.contiguity_weights(g)
    r = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", w=w,
                                         permutations=199)
    resid = r.residuals.reindex([str(i) for i in w.id_order]).to_numpy()
    assert r.residual_moran.I == pytest.approx(spatial.moran(resid, w, permutations=0).I)
    assert -0.2 < r.residual_moran.I < 0.6
    assert "ecological fallacy" in r.caution.lower()


def test_bad_input_messages(tokyo):
    with pytest.raises(ValueError, match="no column 'NOPE'"):
        ecological.ecological_regression(tokyo, ["NOPE"], observed="db2564", expected="eb2564")
    with pytest.raises(ValueError, match="at least one"):
        ecological.ecological_regression(tokyo, [], observed="db2564", expected="eb2564")
    with pytest.raises(ValueError, match="too few"):
        ecological.ecological_regression(tokyo.head(3), FACTORS, observed="db2564", expected="eb2564")


def test_default_model_is_negative_binomial_when_overdispersed(tokyo):
    """Issue 9: the default was Poisson although the data were overdispersed (its own test said
    so). The default ("auto") fits NB2 when the Cameron-Trivedi test rejects equidispersion and
    says which test decided."""
    r = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564")
    assert r.overdispersion["p_value"] < 0.05
    assert r.family == "negative binomial" and r.choice.requested == "auto"
    assert r.choice.reason == "overdispersed" and "Cameron" in r.choice.test
    assert r.choice.p_value == pytest.approx(r.overdispersion["p_value"])
    nb = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", family="negbin")
    np.testing.assert_allclose(r.table["se"], nb.table["se"], rtol=1e-12)
    pois = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", family="poisson")
    assert (r.table["se"] > pois.table["se"]).all() and pois.choice.reason == "requested"
    assert r.converged and r.warnings == ()


def test_default_model_stays_poisson_without_overdispersion():
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"x": rng.normal(size=400), "expected": rng.uniform(20, 80, 400)})
    d["observed"] = rng.poisson(d["expected"] * np.exp(0.2 * d["x"]))
    r = ecological.ecological_regression(d, ["x"])
    assert r.family == "poisson" and r.choice.reason == "not_overdispersed"


def test_unknown_family_names_the_allowed_ones(tokyo):
    with pytest.raises(ValueError, match="'auto', 'poisson', 'quasipoisson', 'negbin'"):
        ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", family="gamma")


def test_non_convergence_is_reported_not_silenced(monkeypatch, tokyo):
    """Issue 9: fitting warnings were silenced and non-converged fits never reported."""
    from analytics import glm
    monkeypatch.setattr(glm, "MAX_IRLS", 1)
    r = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564", family="poisson")
    assert not r.converged and any("did not converge" in w for w in r.warnings)
    auto = ecological.ecological_regression(tokyo, FACTORS, observed="db2564", expected="eb2564")
    # the negative binomial fit fails too: the default falls back to quasi-Poisson and says so
    assert auto.family == "quasi-Poisson" and auto.choice.reason == "negbin_failed"
    assert any("quasi-likelihood" in w for w in auto.warnings)
    assert "did not converge" in ecological.export_table(auto)["warnings"].iloc[0]

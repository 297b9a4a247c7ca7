"""analytics.spatial against real data bundled in libpysal and against independent formulas.

Sources of expected values:
- North Carolina SIDS (libpysal ``examples/sids2``; Cressie 1993 pp. 386-389): the GeoDa Center's
  own rate columns SIDR74/SIDR79 (SIDS deaths per 1,000 births) for the crude rates; Moran's I of
  SIDR74 with ``sids2.gal`` = 0.248, the value esda's documentation gives as "replicating
  OpenGeoda" (esda/moran.py, class Moran); the Assuncao-Reis EB Moran's I of SID79/BIR79 with
  ``sids2.gal`` = 0.1662 (esda documentation, class Moran_Rate). Both are also recomputed here
  from the printed formulas with plain numpy.
- Empirical Bayes rates: esda.smoothing.Empirical_Bayes / Spatial_Empirical_Bayes (an independent
  implementation, loop-based) and the Poisson-gamma posterior written out with scipy.special.
- Tokyo mortality (libpysal ``examples/tokyo``, Nakaya et al. 2005): observed/expected deaths.
"""
from __future__ import annotations

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats
from shapely.geometry import box

from analytics import schema, spatial


@pytest.fixture(scope="module")
def sids():
    g = gpd.read_file(libpysal.examples.get_path("sids2.shp"))
    g[schema.REGION] = g["FIPS"].astype(str)
    return g


@pytest.fixture(scope="module")
def sids_gal():
    return libpysal.io.open(libpysal.examples.get_path("sids2.gal")).read()


def _moran_by_hand(z, w):
    """Moran's I = n/S0 * z'Wz / z'z with row-standardised W (Cliff & Ord 1981)."""
    W = w.full()[0]
    W = W / W.sum(axis=1, keepdims=True)
    z = z - z.mean()
    return len(z) / W.sum() * (z @ W @ z) / (z @ z)


def test_examples_are_bundled_not_downloaded():
    for name in ("sids2.dbf", "sids2.gal", "Tokyomortality.txt", "tokyomet262.shp"):
        assert "site-packages" in libpysal.examples.get_path(name)


def test_sids_crude_rate_and_sir(sids):
    counts = pd.DataFrame({schema.REGION: sids[schema.REGION], schema.AGE_GROUP: "all",
                           schema.COUNT: sids["SID74"]})
    pop = pd.DataFrame({schema.REGION: sids[schema.REGION], schema.AGE_GROUP: "all",
                        schema.POPULATION: sids["BIR74"]})
    m = spatial.regional_measures(counts, pop, standard=None, multiplier=1000).set_index(schema.REGION)
    m = m.loc[sids[schema.REGION]]
    np.testing.assert_allclose(m["crude_rate"], sids["SIDR74"], rtol=1e-5)   # dbf stores 6-7 digits
    # internal standardisation: E = births x overall rate, so sum O = sum E
    rate = sids["SID74"].sum() / sids["BIR74"].sum()
    np.testing.assert_allclose(m["expected"], sids["BIR74"] * rate)
    assert m["expected"].sum() == pytest.approx(sids["SID74"].sum())
    np.testing.assert_allclose(m["sir"], sids["SID74"] / (sids["BIR74"] * rate))
    # exact limits: solve P(X >= O | mu) = 0.025 and P(X <= O | mu) = 0.025 by root finding
    for i in (0, 3, 17):
        o, e = sids["SID74"].iloc[i], m["expected"].iloc[i]
        up = optimize.brentq(lambda mu: stats.poisson.cdf(o, mu) - 0.025, 1e-9, 200)
        lo = 0.0 if o == 0 else optimize.brentq(lambda mu: stats.poisson.sf(o - 1, mu) - 0.025, 1e-9, 200)
        assert m["sir_upper"].iloc[i] == pytest.approx(up / e, rel=1e-8)
        assert m["sir_lower"].iloc[i] == pytest.approx(lo / e, rel=1e-8, abs=1e-12)
    sig = np.where(m["sir_lower"] > 1, "higher", np.where(m["sir_upper"] < 1, "lower", "not significant"))
    assert (m["significance"].to_numpy() == sig).all()
    assert {"higher", "lower"} <= set(sig)


def test_sids_eb_matches_esda_and_posterior(sids):
    o, b = sids["SID74"].to_numpy(float), sids["BIR74"].to_numpy(float)
    rate = o.sum() / b.sum()
    e = b * rate
    sm = spatial.smooth_sir(o, e)
    # esda's Empirical_Bayes works on rates O/N; our SIRs are the same rates divided by the overall rate
    np.testing.assert_allclose(sm["smoothed"] * rate, esda.smoothing.Empirical_Bayes(o, b).r.ravel(), rtol=1e-12)
    # the Poisson-gamma posterior written out: Gamma(m^2/A + O, rate m/A + E)
    r = o / e
    mm = o.sum() / e.sum()
    a = np.sum(e * (r - mm) ** 2) / e.sum() - mm / e.mean()
    assert a > 0
    shape, rt = mm ** 2 / a + o, mm / a + e
    np.testing.assert_allclose(sm["smoothed"], shape / rt, rtol=1e-12)
    np.testing.assert_allclose(sm["prob_gt_1"], special.gammaincc(shape, rt * 1.0), rtol=1e-10)


def test_sids_local_eb_matches_esda(sids):
    w = spatial.contiguity_weights(sids)
    assert w.n == 100 and not w.islands and w.added_links == []
    o, b = sids["SID79"].to_numpy(float), sids["BIR79"].to_numpy(float)
    rate = o.sum() / b.sum()
    loc = spatial.smooth_sir(pd.Series(o, index=sids[schema.REGION]), b * rate, method="local", w=w)
    with np.errstate(invalid="ignore"):   # esda divides 0 by 0 where a neighbourhood has no deaths
        ref = esda.smoothing.Spatial_Empirical_Bayes(o, b, w).r.ravel()
    ok = np.isfinite(ref)   # esda gives 0/0 where a neighbourhood has no deaths; we use the global prior there
    assert 0 < (~ok).sum() < 5
    np.testing.assert_allclose(loc["smoothed"].to_numpy()[ok] * rate, ref[ok], rtol=1e-10)
    glob = spatial.smooth_sir(o, b * rate)
    np.testing.assert_allclose(loc["smoothed"].to_numpy()[~ok], glob["smoothed"].to_numpy()[~ok])
    # the same frame shuffled must give the same smoothed value per county
    perm = np.random.default_rng(1).permutation(100)
    shuffled = spatial.smooth_sir(pd.Series(o[perm], index=sids[schema.REGION].iloc[perm]),
                                  pd.Series(b[perm] * rate, index=sids[schema.REGION].iloc[perm]),
                                  method="local", w=w)
    np.testing.assert_allclose(shuffled.loc[loc.index, "smoothed"], loc["smoothed"])


def test_sids_moran_opengeoda_value(sids, sids_gal):
    y = sids["SIDR74"].to_numpy(float)
    res = spatial.moran(y, sids_gal)
    assert round(res.I, 3) == 0.248                     # OpenGeoda, as documented by esda
    assert res.I == pytest.approx(_moran_by_hand(y, sids_gal), rel=1e-12)
    assert res.expected == pytest.approx(-1 / 99)
    assert 0 < res.p_value < 0.01 and res.permutations == 999
    assert spatial.moran(y, sids_gal).p_value == res.p_value   # fixed seed


def test_sids_eb_moran_assuncao_reis(sids, sids_gal):
    e, b = sids["SID79"].to_numpy(float), sids["BIR79"].to_numpy(float)
    res = spatial.moran(e, sids_gal, population=b)
    assert f"{res.I:6.4f}" == "0.1662"                  # esda Moran_Rate documentation
    # Assuncao & Reis (1999) EB standardisation written out
    p = e / b
    m = e.sum() / b.sum()
    s2 = np.sum(b * (p - m) ** 2) / b.sum()
    a = s2 - m / b.mean()
    v = a + m / b
    v = np.where(v < 0, m / b, v)
    z = (p - m) / np.sqrt(v)
    assert res.I == pytest.approx(_moran_by_hand(z, sids_gal), rel=1e-10)
    assert res.method.startswith("EB")


def test_tokyo_sir_and_smoothing_shrinks():
    d = pd.read_csv(libpysal.examples.get_path("Tokyomortality.txt"), sep=r"\s+")
    sm = spatial.smooth_sir(d["db2564"], d["eb2564"])
    np.testing.assert_allclose(sm["sir"], d["db2564"] / d["eb2564"])
    m = d["db2564"].sum() / d["eb2564"].sum()
    dev_raw, dev_s = sm["sir"] - m, sm["smoothed"] - m
    assert (np.sign(dev_raw) == np.sign(dev_s)).all()
    assert (dev_s.abs() <= dev_raw.abs() + 1e-12).all()
    # smaller expected counts are shrunk more (weight A/(A + m/E) increases with E)
    assert np.all(np.diff(sm["shrinkage"].to_numpy()[np.argsort(d["eb2564"].to_numpy())]) >= -1e-12)


def _grid(n: int, size: float = 1.0) -> gpd.GeoDataFrame:
    cells = [box(i * size, j * size, (i + 1) * size, (j + 1) * size) for j in range(n) for i in range(n)]
    return gpd.GeoDataFrame({schema.REGION: [f"R{k:03d}" for k in range(n * n)]}, geometry=cells, crs=3857)


def test_constructed_zero_huge_and_island():
    g = _grid(4)
    island = gpd.GeoDataFrame({schema.REGION: ["ISL"]}, geometry=[box(6, 0, 7, 1)], crs=3857)
    g = pd.concat([g, island], ignore_index=True)
    w = spatial.contiguity_weights(g)
    assert w.added_links == [("ISL", "R003")]          # nearest cell, 2 units away at (4..5, 0..1)
    assert "R003" in w.neighbors["ISL"] and "ISL" in w.neighbors["R003"]
    rng = np.random.default_rng(3)
    e = rng.uniform(5, 20, len(g))
    o = rng.poisson(e * 1.3).astype(float)
    e[0], o[0] = 4.0, 0.0                                # zero cases
    sm = spatial.smooth_sir(o, e)
    m, a = sm["prior_mean"].iloc[0], sm["prior_var"].iloc[0]
    assert a > 0 and 0 < sm["smoothed"].iloc[0] < m
    prior_p = stats.gamma.sf(1.0, m * m / a, scale=a / m)
    assert sm["prob_gt_1"].iloc[0] < prior_p           # zero cases lower the chance of excess risk
    assert sm["smoothed"].iloc[0] == pytest.approx(m * m / (m + a * 4.0))
    big_e, big_o = e.copy(), o.copy()
    big_e[5], big_o[5] = 1e6, 1.5e6                      # huge population, SIR 1.5: left as it is
    big = spatial.smooth_sir(big_o, big_e)
    assert big["smoothed"].iloc[5] == pytest.approx(1.5, rel=1e-4)
    assert big["prob_gt_1"].iloc[5] == pytest.approx(1.0)
    m = o.sum() / e.sum()
    loc = spatial.smooth_sir(pd.Series(o, index=g[schema.REGION]), e, method="local", w=w)
    assert np.isfinite(loc["smoothed"]).all()
    # the island borrows from R003 only: prior mean over {ISL, R003}
    i, j = g.index[g[schema.REGION] == "ISL"][0], g.index[g[schema.REGION] == "R003"][0]
    assert loc.loc["ISL", "prior_mean"] == pytest.approx((o[i] + o[j]) / (e[i] + e[j]))
    # kept as an island it falls back to the global prior
    w_keep = spatial.contiguity_weights(g, islands="keep")
    assert w_keep.islands == ["ISL"]
    loc_keep = spatial.smooth_sir(pd.Series(o, index=g[schema.REGION]), e, method="local", w=w_keep)
    assert loc_keep.loc["ISL", "prior_mean"] == pytest.approx(m)


def test_no_extra_variation_gives_point_prior():
    e = np.array([10.0, 20.0, 30.0])
    sm = spatial.smooth_sir(e * 1.2, e)                  # identical SIRs: A = 0
    assert (sm["prior_var"] == 0).all()
    np.testing.assert_allclose(sm["smoothed"], 1.2)
    assert (sm["prob_gt_1"] == 1.0).all()


def test_azerbaijan_exclave_component():
    g = gpd.read_file(schema.DATA_DIR / "sources" / "azerbaijan_admin1_naturalearth.geojson")
    g[schema.REGION] = g["adm1_code"]
    w = spatial.contiguity_weights(g)
    assert w.n == 78 and not w.islands and w.n_components == 2      # Nakhchivan is separate
    w1 = spatial.contiguity_weights(g, connect_components=True)
    assert w1.n_components == 1 and len(w1.added_links) == 1
    a, b = w1.added_links[0]
    regions = g.set_index(schema.REGION)["region"]
    assert "Naxçıvan" in regions[a] + regions[b]   # the exclave joins the mainland


def test_lisa_finds_planted_clusters():
    g = _grid(10)
    w = spatial.contiguity_weights(g)
    y = np.zeros(100)
    hi = [r * 10 + c for r in range(3) for c in range(3)]            # top-left 3x3 block high
    lo = [r * 10 + c for r in range(7, 10) for c in range(7, 10)]    # bottom-right block low
    y[hi], y[lo] = 10.0, -10.0
    y += np.random.default_rng(0).normal(0, 0.5, 100)
    res = spatial.lisa(y, w, permutations=499, seed=7)
    assert (res["cluster"].iloc[[0, 11]] == "high-high").all()
    assert (res["cluster"].iloc[[88, 99]] == "low-low").all()
    assert (res["cluster"].iloc[[44, 45]] == "not significant").all()
    again = spatial.lisa(y, w, permutations=499, seed=7)
    pd.testing.assert_frame_equal(res, again)
    ref = esda.Moran_Local(y, w, permutations=0)
    np.testing.assert_allclose(res["Ii"], ref.Is)
    fdr = spatial.lisa(y, w, permutations=499, seed=7, fdr=True)
    assert (fdr["cluster"] != "not significant").sum() <= (res["cluster"] != "not significant").sum()


def test_regional_measures_strata_reference_and_flags():
    counts = pd.DataFrame({
        schema.REGION: ["A", "A", "B", "B", "A", "B"],
        schema.AGE_GROUP: ["0-49", "50+", "0-49", "50+", "0-49", "50+"],
        schema.SEX: [1, 1, 1, 1, 2, 2],
        schema.COUNT: [2, 30, 6, 60, 3, 0],
    })
    pop = pd.DataFrame({
        schema.REGION: ["A", "A", "B", "B"] * 2,
        schema.AGE_GROUP: ["0-49", "50+"] * 4,
        schema.SEX: [1] * 4 + [2] * 4,
        schema.POPULATION: [1000.0, 500.0, 3000.0, 1000.0, 1200.0, 400.0, 2500.0, 900.0],
    })
    std = pd.DataFrame({schema.AGE_GROUP: ["0-49", "50+"], "weight": [0.7, 0.3]})
    ref = pd.DataFrame({schema.AGE_GROUP: ["0-49", "50+"], schema.SEX: [1, 1], "rate": [0.002, 0.05]})
    m = spatial.regional_measures(counts[counts[schema.SEX] == 1], pop[pop[schema.SEX] == 1],
                                  reference=ref, standard=std, by=[schema.SEX]).set_index(schema.REGION)
    assert m.loc["A", "expected"] == pytest.approx(1000 * 0.002 + 500 * 0.05)
    assert m.loc["B", "sir"] == pytest.approx(66 / (3000 * 0.002 + 1000 * 0.05))
    assert m.loc["A", "asr"] == pytest.approx((0.7 * 2 / 1000 + 0.3 * 30 / 500) * 1e5)
    assert m.loc["A", "asr_lower"] < m.loc["A", "asr"] < m.loc["A", "asr_upper"]
    # internal standardisation per sex stratum
    both = spatial.regional_measures(counts, pop, standard=std, by=[schema.SEX], suppress_below=5)
    tot = both.groupby(schema.SEX)[["cases", "expected"]].sum()
    np.testing.assert_allclose(tot["cases"], tot["expected"])
    f = both.set_index([schema.SEX, schema.REGION])
    assert f.loc[(2, "A"), "flag"] == "suppressed" and "fewer than 5" in f.loc[(2, "A"), "reason"]
    assert f.loc[(2, "B"), "cases"] == 0 and f.loc[(2, "B"), "flag"] == "unreliable"
    assert f.loc[(1, "B"), "flag"] == ""


def test_regional_measures_bad_input_messages():
    counts = pd.DataFrame({schema.REGION: ["A", "Z"], schema.AGE_GROUP: ["0-4", "0-4"], schema.COUNT: [1, 2]})
    pop = pd.DataFrame({schema.REGION: ["A"], schema.AGE_GROUP: ["0-4"], schema.POPULATION: [100.0]})
    with pytest.raises(ValueError, match="region 'Z'"):
        spatial.regional_measures(counts, pop, standard=None)
    with pytest.raises(ValueError, match="no column 'population'"):
        spatial.regional_measures(counts, pop.rename(columns={schema.POPULATION: "pop"}), standard=None)
    with pytest.raises(ValueError, match="neighbour weights"):
        spatial.smooth_sir([1, 2], [1, 2], method="local")


def test_blank_suppressed_hides_everything_derived_from_the_count():
    counts = pd.DataFrame({schema.REGION: ["A", "B", "C"], schema.AGE_GROUP: "all", schema.COUNT: [3, 40, 0]})
    pop = pd.DataFrame({schema.REGION: ["A", "B", "C"], schema.AGE_GROUP: "all", schema.POPULATION: [1e4, 1e5, 1e4]})
    m = spatial.regional_measures(counts, pop, standard=None, suppress_below=5)
    b = spatial.blank_suppressed(m).set_index(schema.REGION)
    assert b.loc["A", spatial.SUPPRESSED_COLUMNS].isna().all() and b.loc["A", "significance"] == "no data"
    assert b.loc["A", "expected"] == pytest.approx(m.set_index(schema.REGION).loc["A", "expected"])
    assert b.loc["B", "cases"] == 40 and b.loc["C", "cases"] == 0 and np.isfinite(b.loc["C", "smoothed"])
    assert m.set_index(schema.REGION).loc["A", "cases"] == 3                 # the input is untouched
    # with the threshold, one suppressed region among published ones gets a complementary partner:
    # the smallest other non-zero count (B, 40; C has 0 cases, a zero is used only as a last resort)
    c = spatial.blank_suppressed(m, k=5).set_index(schema.REGION)
    assert c.loc["B", "flag"] == "suppressed" and c.loc["B", "suppression"] == "complementary"
    assert np.isnan(c.loc["B", "cases"]) and c.loc["A", "suppression"] == "primary"
    assert c.loc["C", "cases"] == 0


def test_ml_prior_recovers_simulated_gamma_and_matches_nb_formula():
    import statsmodels.api as sm
    rng = np.random.default_rng(21)
    e = rng.uniform(5, 60, 1500)
    theta = rng.gamma(5.0, 1.2 / 5.0, 1500)             # prior mean 1.2, variance 1.2^2/5 = 0.288
    o = rng.poisson(e * theta).astype(float)
    sm_ml = spatial.smooth_sir(o, e, estimator="ml")
    assert sm_ml["prior_mean"].iloc[0] == pytest.approx(1.2, rel=0.05)
    assert sm_ml["prior_var"].iloc[0] == pytest.approx(0.288, rel=0.2)
    # SpatialEpi's posterior mean (alpha + O)/(alpha/mu + E) with alpha = NB size = 1/statsmodels alpha
    fit = sm.NegativeBinomial(o, np.ones((1500, 1)), offset=np.log(e)).fit(disp=0, method="newton", maxiter=100)
    size, mu = 1 / fit.params[1], np.exp(fit.params[0])
    np.testing.assert_allclose(sm_ml["smoothed"], (size + o) / (size / mu + e), rtol=1e-5)
    # the moment estimator agrees roughly on data from the model
    mom = spatial.smooth_sir(o, e)
    assert mom["prior_var"].iloc[0] == pytest.approx(sm_ml["prior_var"].iloc[0], rel=0.25)
    with pytest.raises(ValueError, match="global"):
        spatial.smooth_sir(o, e, estimator="ml", method="local", w=None)


def _two_sex_frames():
    counts = pd.DataFrame({
        schema.REGION: ["A", "A", "B", "B", "A", "A", "B", "B", "C", "C", "C", "C"],
        schema.PARENT: ["P", "P", "P", "P", "P", "P", "P", "P", "Q", "Q", "Q", "Q"],
        schema.AGE_GROUP: ["0-49", "50+"] * 6,
        schema.SEX: [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2],
        schema.COUNT: [2, 30, 6, 60, 3, 12, 4, 20, 1, 8, 2, 9],
    })
    pop = counts.drop(columns=schema.COUNT).assign(
        **{schema.POPULATION: [1000.0, 500.0, 3000.0, 1000.0, 1200.0, 400.0, 2500.0, 900.0, 800.0, 300.0, 700.0, 350.0]})
    return counts, pop


def test_sex_specific_user_reference_summed_over_sex_cells():
    """A user table of age- and sex-specific rates (e.g. GLOBOCAN or a neighbouring registry):
    E = sum over sex and age of person-years x reference rate, written out by hand."""
    counts, pop = _two_sex_frames()
    ref = pd.DataFrame({schema.AGE_GROUP: ["0-49", "50+", "0-49", "50+"], schema.SEX: [1, 1, 2, 2],
                        "rate": [0.002, 0.05, 0.001, 0.03]})
    m = spatial.regional_measures(counts, pop, reference=ref, standard=None).set_index(schema.REGION)
    e_a = 1000 * 0.002 + 500 * 0.05 + 1200 * 0.001 + 400 * 0.03
    assert m.loc["A", "expected"] == pytest.approx(e_a)
    assert m.loc["A", "sir"] == pytest.approx((2 + 30 + 3 + 12) / e_a)
    lo, hi = stats.chi2.ppf(0.025, 2 * 47) / 2 / e_a, stats.chi2.ppf(0.975, 2 * 48) / 2 / e_a
    assert (m.loc["A", "sir_lower"], m.loc["A", "sir_upper"]) == pytest.approx((lo, hi))
    # the ASR does not depend on how the expected counts were split
    std = pd.DataFrame({schema.AGE_GROUP: ["0-49", "50+"], "weight": [0.7, 0.3]})
    m2 = spatial.regional_measures(counts, pop, reference=ref, standard=std).set_index(schema.REGION)
    assert m2.loc["A", "asr"] == pytest.approx((0.7 * 5 / 2200 + 0.3 * 42 / 900) * 1e5)
    # a reference lacking an age group/sex the data need is refused with a sentence
    with pytest.raises(ValueError, match=r"no rate for sex 2, age_group '50\+'"):
        spatial.regional_measures(counts, pop, reference=ref.iloc[:3], standard=None)
    with pytest.raises(ValueError, match="given by sex"):
        spatial.regional_measures(counts.drop(columns=schema.SEX), pop.drop(columns=schema.SEX), reference=ref,
                                  standard=None)


def test_reference_within_economic_region():
    """SIR against the district's own economic region: pooled age-specific rates within P and Q."""
    counts, pop = _two_sex_frames()
    m = spatial.regional_measures(counts, pop, standard=None, reference_within=schema.PARENT).set_index(schema.REGION)
    r_young = (2 + 6 + 3 + 4) / (1000 + 3000 + 1200 + 2500)
    r_old = (30 + 60 + 12 + 20) / (500 + 1000 + 400 + 900)
    assert m.loc["A", "expected"] == pytest.approx(2200 * r_young + 900 * r_old)
    assert m.loc[["A", "B"], "cases"].sum() == pytest.approx(m.loc[["A", "B"], "expected"].sum())
    assert m.loc["C", "sir"] == pytest.approx(1.0)   # alone in its economic region
    nat = spatial.regional_measures(counts, pop, standard=None).set_index(schema.REGION)
    assert nat.loc["C", "sir"] != pytest.approx(1.0)
    with pytest.raises(ValueError, match="no column 'parent_code'"):
        spatial.regional_measures(counts.drop(columns=schema.PARENT), pop, standard=None,
                                  reference_within=schema.PARENT)


def test_aggregate_risk_factors_population_weighted():
    rf = pd.DataFrame({schema.REGION: ["A", "B", "C", "A", "B"],
                       schema.INDICATOR: ["smoking", "smoking", "smoking", "bmi", "bmi"],
                       schema.VALUE: [20.0, 40.0, 10.0, 25.0, np.nan], schema.UNIT: ["%", "%", "%", "kg/m2", "kg/m2"]})
    regions = pd.DataFrame({schema.REGION: ["A", "B", "C"], schema.PARENT: ["P", "P", "Q"]})
    pop = pd.DataFrame({schema.REGION: ["A", "A", "B", "C"], schema.POPULATION: [100.0, 200.0, 100.0, 50.0]})
    out = spatial.aggregate_risk_factors(rf, regions, pop).set_index([schema.PARENT, schema.INDICATOR])
    assert out.loc[("P", "smoking"), schema.VALUE] == pytest.approx((300 * 20 + 100 * 40) / 400)
    assert out.loc[("P", "smoking"), "n_regions"] == 2
    assert out.loc[("P", "bmi"), schema.VALUE] == pytest.approx(25.0)   # B has no value: left out
    assert out.loc[("Q", "smoking"), schema.VALUE] == pytest.approx(10.0)
    assert out.loc[("P", "bmi"), schema.UNIT] == "kg/m2"
    plain = spatial.aggregate_risk_factors(rf, regions).set_index([schema.PARENT, schema.INDICATOR])
    assert plain.loc[("P", "smoking"), schema.VALUE] == pytest.approx(30.0) and not plain["weighted"].any()


def test_dissolve_fills_slivers_keeps_enclaves():
    """Two districts with a 0.001-wide gap between them, one with a real 0.2 x 0.2 enclave: the
    sliver between them disappears from the economic region, the enclave stays."""
    from shapely.geometry import Polygon
    outer = box(0, 0, 1, 1)
    a = Polygon(outer.exterior, [box(0.4, 0.4, 0.6, 0.6).exterior])
    b = Polygon([(1, 0), (2, 0), (2, 1), (1, 1), (1, 0.5005), (1.001, 0.5005), (1.001, 0.4995), (1, 0.4995)])
    g = gpd.GeoDataFrame({schema.REGION: ["a", "b"], schema.PARENT: ["P", "P"]}, geometry=[a, b], crs=3857)
    raw = g.dissolve(schema.PARENT).geometry.iloc[0]
    assert len(raw.interiors) == 2                                   # the enclave and the sliver
    d = spatial.dissolve_regions(g).set_index(schema.PARENT).geometry["P"]
    assert len(d.interiors) == 1 and d.interiors[0].envelope.equals(box(0.4, 0.4, 0.6, 0.6))
    assert d.area == pytest.approx(2 - 0.04)


def test_ml_prior_without_overdispersion_shrinks_fully():
    """Issue 9: estimator="ml" returned NaN for every area when the data are not overdispersed
    (NB MLE at alpha -> 0). The ML estimate is then the Poisson one: prior mean sum O / sum E,
    prior variance 0, every area smoothed to the prior mean."""
    sm_ml = spatial.smooth_sir([9, 21, 30, 41], [10, 20, 30, 40], estimator="ml")
    assert sm_ml["prior_mean"].tolist() == pytest.approx([101 / 100] * 4, rel=1e-14)
    assert sm_ml["prior_var"].tolist() == [0.0] * 4
    assert sm_ml["smoothed"].tolist() == pytest.approx([1.01] * 4, rel=1e-14)
    assert sm_ml["shrinkage"].tolist() == [0.0] * 4
    assert sm_ml["prob_gt_1"].tolist() == [1.0] * 4          # point mass at 1.01 > 1
    assert sm_ml.attrs["converged"] is True and sm_ml.attrs["warnings"] == []


def test_ml_prior_reports_convergence_in_the_result():
    rng = np.random.default_rng(5)
    e = rng.uniform(5, 60, 40)
    o = rng.poisson(e * rng.gamma(4.0, 0.25, 40)).astype(float)
    sm_ml = spatial.smooth_sir(o, e, estimator="ml")
    assert sm_ml.attrs["estimator"] == "ml" and sm_ml.attrs["converged"] is True
    assert sm_ml["prior_var"].iloc[0] > 0 and np.isfinite(sm_ml["smoothed"]).all()
    assert spatial.smooth_sir(o, e).attrs["estimator"] == "moments"


def test_permutations_never_touch_numpys_global_generator(monkeypatch, sids, sids_gal):
    """Issue 9: moran reseeded numpy's global generator (np.random.seed, shared by every session
    of the server) and lisa let esda do the same; both now draw from local generators."""
    def forbidden(*a, **k):
        raise AssertionError("numpy's global generator was reseeded")
    monkeypatch.setattr(np.random, "seed", forbidden)
    monkeypatch.setattr(np.random, "set_state", forbidden)
    y = sids["SIDR74"].to_numpy(float)
    a = spatial.moran(y, sids_gal, permutations=99, seed=3)
    b = spatial.moran(y, sids_gal, permutations=99, seed=3)
    assert a.p_value == b.p_value and 0 < a.p_value <= 1
    la = spatial.lisa(y, sids_gal, permutations=99, seed=3)
    assert la["p_value"].equals(spatial.lisa(y, sids_gal, permutations=99, seed=3)["p_value"])


def test_ml_prior_does_not_use_statsmodels_polygamma(monkeypatch):
    """Issue 9: one 38-area set spent ~280 s in scipy.special.polygamma (statsmodels' NB Newton
    Hessian) before returning NaN. The prior's fit uses no polygamma at all."""
    import scipy.special

    def forbidden(*a, **k):
        raise AssertionError("polygamma called")
    monkeypatch.setattr(scipy.special, "polygamma", forbidden)
    rng = np.random.default_rng(38)
    e = rng.uniform(1, 30, 38)
    o = rng.poisson(e * rng.gamma(3.0, 1 / 3.0, 38)).astype(float)
    out = spatial.smooth_sir(o, e, estimator="ml")
    assert out.attrs["converged"] and np.isfinite(out["smoothed"]).all()

"""Ecological regression of regional counts on area-level risk factors.

Model (methods sheet 6.5; Clayton & Kaldor 1987; Breslow 1984 for the overdispersed case):
``O_i ~ Poisson(E_i exp(b0 + x_i b))`` fitted as a GLM with offset ``log E_i`` (statsmodels), or
negative binomial NB2 (``Var = mu + alpha mu^2``, Cameron & Trivedi 1986) fitted by maximum
likelihood. ``exp(b)`` is the rate ratio per unit of the factor, or per standard deviation when
the factors are standardised (as in Nakaya et al. 2005, Stat Med 24:2695).

Diagnostics: Pearson dispersion ``X^2/df``; the Cameron & Trivedi (1990, J Econometrics 46:347)
regression-based test of equidispersion against NB2 (auxiliary OLS without intercept of
``((y - mu)^2 - y)/mu`` on ``mu``, one-sided t-test of the slope); Moran's I of the Pearson
residuals (esda) to check for residual spatial autocorrelation.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analytics.spatial import MoranResult, moran

__all__ = ["ecological_regression", "overdispersion_test", "EcologicalResult", "CAUTION"]

CAUTION = ("Ecological fallacy: these associations are between areas, not people. A rate ratio per "
           "unit of an area-level factor does not say that individuals with the factor have that risk; "
           "confounding by deprivation, the choice of areas (MAUP) and measurement error in the "
           "factors can all produce or hide associations.")


@dataclass(frozen=True)
class EcologicalResult:
    """Fitted ecological model: coefficient table and diagnostics."""

    table: pd.DataFrame          # term, per, scale, estimate, se, z, p_value, rate_ratio, rr_lower, rr_upper
    family: str                  # "poisson" or "negative binomial"
    n: int
    deviance: float
    aic: float
    dispersion: float            # Pearson chi2 / residual df (1 expected under Poisson)
    alpha: float                 # NB2 overdispersion parameter (NaN for Poisson)
    overdispersion: pd.Series    # Cameron-Trivedi test: alpha, t, p_value
    residual_moran: MoranResult | None
    residuals: pd.Series         # Pearson residuals, indexed like the input
    caution: str = CAUTION


def overdispersion_test(y, mu) -> pd.Series:
    """Cameron & Trivedi (1990) test of Poisson equidispersion against NB2.

    OLS without intercept of ``((y - mu)^2 - y) / mu`` on ``mu``: the slope estimates alpha in
    ``Var(y) = mu + alpha mu^2``; H0 alpha = 0 against alpha > 0 by the t-statistic, referred to
    the standard normal (its asymptotic distribution, as statsmodels' "CT nb2")."""
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    z = ((y - mu) ** 2 - y) / mu
    alpha = float(np.sum(mu * z) / np.sum(mu * mu))
    resid = z - alpha * mu
    df = len(y) - 1
    se = float(np.sqrt(np.sum(resid ** 2) / df / np.sum(mu * mu)))
    t = alpha / se
    return pd.Series({"alpha": alpha, "se": se, "t": t, "p_value": float(stats.norm.sf(t))})


def ecological_regression(data: pd.DataFrame, factors: Sequence[str], *, observed: str = "observed",
                          expected: str = "expected", family: str = "poisson", per: str = "unit",
                          conf: float = 0.95, w=None, permutations: int = 999) -> EcologicalResult:
    """Poisson or negative binomial regression of ``observed`` with offset ``log(expected)``.

    ``per="sd"`` standardises each factor to mean 0 and SD 1 (sample SD), so rate ratios are per
    standard deviation; ``per="unit"`` keeps the factors' own units. ``w`` (PySAL weights whose
    ids are ``data``'s index) adds Moran's I of the Pearson residuals. Rows with a missing value or
    a non-positive expected count are dropped (their count is reported as ``n``).
    """
    factors = list(factors)
    if not factors:
        raise ValueError("Choose at least one risk factor for the regression.")
    missing = [c for c in [observed, expected, *factors] if c not in data.columns]
    if missing:
        raise ValueError(f"The data have no column {', '.join(map(repr, missing))}.")
    if family not in ("poisson", "negbin"):
        raise ValueError("family must be 'poisson' or 'negbin'.")
    if per not in ("unit", "sd"):
        raise ValueError("per must be 'unit' or 'sd'.")
    d = data[[observed, expected, *factors]].apply(pd.to_numeric, errors="coerce")
    d = d[d.notna().all(axis=1) & (d[expected] > 0)]
    if len(d) <= len(factors) + 1:
        raise ValueError(f"Only {len(d)} areas have complete data: too few for {len(factors)} factor(s).")
    x = d[factors].astype(float)
    scale = pd.Series(1.0, index=factors)
    if per == "sd":
        scale = x.std(ddof=1)
        if (scale == 0).any():
            raise ValueError(f"Factor {scale[scale == 0].index[0]!r} does not vary between areas.")
        x = (x - x.mean()) / scale
    X = sm.add_constant(x, has_constant="add")
    y = d[observed].to_numpy(dtype=float)
    off = np.log(d[expected].to_numpy(dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pois = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit()
        if family == "poisson":
            res, params, bse, alpha = pois, pois.params, pois.bse, np.nan
            deviance, aic = float(pois.deviance), float(pois.aic)
            mu = pois.fittedvalues
            pearson = pois.resid_pearson
        else:
            nbm = sm.NegativeBinomial(y, X, offset=off, loglike_method="nb2")
            nb = nbm.fit(disp=0, maxiter=200)
            # polish with Newton steps: the default BFGS stops ~1e-5 short of the ML estimate
            try:
                nb = nbm.fit(disp=0, method="newton", start_params=nb.params, maxiter=100, tol=1e-12)
            except (ValueError, np.linalg.LinAlgError):
                pass
            alpha = float(nb.params["alpha"])
            params, bse = nb.params.drop("alpha"), nb.bse.drop("alpha")
            mu = np.exp(X.to_numpy() @ params.to_numpy() + off)
            pearson = (y - mu) / np.sqrt(mu + alpha * mu ** 2)
            # deviance of the NB2 GLM at the ML alpha, for comparison with the Poisson deviance
            glm_nb = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=off).fit()
            deviance, aic = float(glm_nb.deviance), float(nb.aic)
            res = nb
    zq = stats.norm.ppf(1 - (1 - conf) / 2)
    est, se = params.to_numpy(), bse.to_numpy()
    terms = ["intercept", *factors]
    table = pd.DataFrame({
        "term": terms,
        "per": ["—"] + ["1 SD" if per == "sd" else "1 unit"] * len(factors),
        "scale": np.r_[np.nan, scale.to_numpy()],
        "estimate": est, "se": se, "z": est / se,
        "p_value": 2 * stats.norm.sf(np.abs(est / se)),
        "rate_ratio": np.exp(est), "rr_lower": np.exp(est - zq * se), "rr_upper": np.exp(est + zq * se),
    })
    dispersion = float(np.sum(np.asarray(pearson) ** 2) / (len(y) - X.shape[1]))
    od = overdispersion_test(y, pois.fittedvalues)
    resid = pd.Series(np.asarray(pearson), index=d.index, name="pearson_residual")
    rm = None
    if w is not None:
        ids = [str(i) for i in w.id_order]
        r_al = resid.copy()
        r_al.index = r_al.index.map(str)
        if set(ids) <= set(r_al.index):
            rm = moran(r_al.reindex(ids).to_numpy(), w, permutations=permutations)
    del res
    return EcologicalResult(table, "poisson" if family == "poisson" else "negative binomial", len(d),
                            deviance, aic, dispersion, alpha, od, rm, resid)

"""Ecological regression of regional counts on area-level risk factors.

Model (methods sheet 6.5; Clayton & Kaldor 1987; Breslow 1984 for the overdispersed case):
``O_i ~ Poisson(E_i exp(b0 + x_i b))`` with offset ``log E_i``, negative binomial NB2
(``Var = mu + alpha mu^2``, Cameron & Trivedi 1986) by maximum likelihood, or Poisson with a
quasi-likelihood scale (``Var = phi mu``, Wedderburn 1974; McCullagh & Nelder 1989 ch. 9).
All three are fitted by :mod:`analytics.glm` to give what R's ``glm(family = poisson)``,
``glm(family = quasipoisson)`` and ``MASS::glm.nb`` print. ``exp(b)`` is the rate ratio per unit
of the factor, or per standard deviation when the factors are standardised (as in Nakaya et al.
2005, Stat Med 24:2695).

Default (``family="auto"``): the Poisson fit is tested for overdispersion with the Cameron &
Trivedi (1990, J Econometrics 46:347) regression test (auxiliary OLS without intercept of
``((y - mu)^2 - y)/mu`` on ``mu``, one-sided test of the slope, level 0.05). Overdispersed:
negative binomial; if that fit does not converge, Poisson with the quasi-likelihood scale.
Not overdispersed: Poisson. The choice and the reason are in ``EcologicalResult.choice``.

Diagnostics: Pearson dispersion ``X^2/df``; the Cameron-Trivedi test; Moran's I of the Pearson
residuals (esda conventions) to check for residual spatial autocorrelation. Fitting warnings
and non-convergence are reported in the result (``converged``, ``warnings``), never silenced.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics import glm
from analytics.spatial import MoranResult, moran

log = logging.getLogger(__name__)

__all__ = ["ecological_regression", "overdispersion_test", "EcologicalResult", "ModelChoice", "CAUTION",
           "choice_sentence", "export_table",
           "FAMILIES", "OVERDISPERSION_LEVEL", "OVERDISPERSION_TEST"]

CAUTION = ("Ecological fallacy: these associations are between areas, not people. A rate ratio per "
           "unit of an area-level factor does not say that individuals with the factor have that risk; "
           "confounding by deprivation, the choice of areas (MAUP) and measurement error in the "
           "factors can all produce or hide associations.")
FAMILIES = ("auto", "poisson", "quasipoisson", "negbin")
PER = ("unit", "sd")
FAMILY_LABELS = {"poisson": "poisson", "quasipoisson": "quasi-Poisson", "negbin": "negative binomial"}
OVERDISPERSION_LEVEL = 0.05
OVERDISPERSION_TEST = ("Cameron & Trivedi (1990) regression test of Poisson equidispersion against "
                       "NB2, one-sided")
# Why a model was fitted (stable codes; page sentences in data/i18n/*/models.json)
REASONS = ("requested", "overdispersed", "not_overdispersed", "negbin_failed")


@dataclass(frozen=True)
class ModelChoice:
    """Which model was fitted and why."""

    requested: str               # the ``family`` argument ("auto", "poisson", ...)
    family: str                  # fitted: "poisson", "quasipoisson" or "negbin"
    reason: str                  # one of REASONS
    test: str                    # the test that decided (``OVERDISPERSION_TEST``)
    statistic: float             # its t statistic
    p_value: float               # its one-sided p-value
    level: float                 # the level it was compared with
    dispersion: float            # Pearson X^2/df of the Poisson fit

    def sentence(self) -> str:
        """The choice in one English sentence (the page uses the translated catalogue)."""
        what = FAMILY_LABELS[self.family]
        if self.reason == "requested":
            return f"Model: {what} (chosen by the user)."
        verdict = "overdispersed" if self.p_value < self.level else "not overdispersed"
        tail = ("; the negative binomial fit did not converge, so the Poisson fit with a "
                "quasi-likelihood scale is used" if self.reason == "negbin_failed" else "")
        from analytics.presets import fmt_p
        return (f"Model: {what}, because the Poisson fit is {verdict} ({self.test}: {fmt_p(self.p_value)}, "
                f"level {self.level:g}; Pearson X²/df = {self.dispersion:.2f}){tail}.")


@dataclass(frozen=True)
class EcologicalResult:
    """Fitted ecological model: coefficient table and diagnostics."""

    table: pd.DataFrame          # term, per, scale, estimate, se, z, p_value, rate_ratio, rr_lower, rr_upper
    family: str                  # "poisson", "quasi-Poisson" or "negative binomial"
    n: int
    deviance: float
    aic: float
    dispersion: float            # Pearson chi2 / residual df of the fitted model
    alpha: float                 # NB2 overdispersion parameter (NaN unless negative binomial)
    overdispersion: pd.Series    # Cameron-Trivedi test on the Poisson fit: alpha, se, t, p_value
    residual_moran: MoranResult | None
    residuals: pd.Series         # Pearson residuals, indexed like the input
    caution: str = CAUTION
    choice: ModelChoice | None = None
    converged: bool = True
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        lines = [f"Ecological regression: {self.family}, n = {self.n}, deviance {self.deviance:.4f}, "
                 f"AIC {self.aic:.4f}, Pearson X²/df {self.dispersion:.4f}"]
        if self.choice is not None:
            lines.append(self.choice.sentence())
        if not self.converged:
            lines.append("WARNING: the fit did not converge.")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(self.table.to_string(index=False))
        lines.append(self.caution)
        return "\n".join(lines)


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


def _choose(family: str, pois: glm.CountFit, od: pd.Series) -> tuple[str, str]:
    if family != "auto":
        return family, "requested"
    return ("negbin", "overdispersed") if od["p_value"] < OVERDISPERSION_LEVEL else ("poisson", "not_overdispersed")


def _coefficients(fit: glm.CountFit, factors, per: str, scale: pd.Series, conf: float) -> pd.DataFrame:
    """Wald table: z tests (t on the residual df when the scale is estimated, as R summary.glm)."""
    est, se = fit.params, fit.bse
    zval = est / se
    if fit.family == "quasipoisson":
        q = stats.t.ppf(1 - (1 - conf) / 2, fit.df_resid)
        p = 2 * stats.t.sf(np.abs(zval), fit.df_resid)
    else:
        q = stats.norm.ppf(1 - (1 - conf) / 2)
        p = 2 * stats.norm.sf(np.abs(zval))
    return pd.DataFrame({
        "term": ["intercept", *factors],
        "per": ["—"] + ["1 SD" if per == "sd" else "1 unit"] * len(factors),
        "scale": np.r_[np.nan, scale.to_numpy()],
        "estimate": est, "se": se, "z": zval, "p_value": p,
        "rate_ratio": np.exp(est), "rr_lower": np.exp(est - q * se), "rr_upper": np.exp(est + q * se),
    })


def ecological_regression(data: pd.DataFrame, factors: Sequence[str], *, observed: str = "observed",
                          expected: str = "expected", family: str = "auto", per: str = "unit",
                          conf: float = 0.95, w=None, permutations: int = 999) -> EcologicalResult:
    """Log-linear regression of ``observed`` with offset ``log(expected)`` on area-level factors.

    ``family``: "auto" (default: negative binomial when the Cameron-Trivedi test finds the
    Poisson fit overdispersed at level 0.05, else Poisson; see the module docstring), "poisson",
    "quasipoisson" or "negbin". ``per="sd"`` standardises each factor to mean 0 and SD 1
    (sample SD), so rate ratios are per standard deviation; ``per="unit"`` keeps the factors'
    own units. ``w`` (PySAL weights whose ids are ``data``'s index) adds Moran's I of the
    Pearson residuals. Rows with a missing value or a non-positive expected count are dropped
    (the number used is ``n``).
    """
    factors = list(factors)
    if not factors:
        raise ValueError("Choose at least one risk factor for the regression.")
    missing = [c for c in [observed, expected, *factors] if c not in data.columns]
    if missing:
        raise ValueError(f"The data have no column {', '.join(map(repr, missing))}.")
    if family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}; choose one of {', '.join(map(repr, FAMILIES))}.")
    if per not in PER:
        raise ValueError(f"Unknown per {per!r}; choose one of {', '.join(map(repr, PER))}.")
    cols = np.column_stack([pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                            for c in (observed, expected, *factors)])
    keep = np.isfinite(cols).all(axis=1) & (cols[:, 1] > 0)
    cols, index = cols[keep], data.index[keep]
    if len(index) <= len(factors) + 1:
        raise ValueError(f"Only {len(index)} areas have complete data: too few for {len(factors)} factor(s).")
    x = cols[:, 2:]
    scale = pd.Series(1.0, index=factors)
    if per == "sd":
        scale = pd.Series(x.std(axis=0, ddof=1), index=factors)
        if (scale == 0).any():
            raise ValueError(f"Factor {scale[scale == 0].index[0]!r} does not vary between areas.")
        x = (x - x.mean(axis=0)) / scale.to_numpy()
    X = np.column_stack([np.ones(len(index)), x])
    y = cols[:, 0]
    off = np.log(cols[:, 1])
    pois = glm.fit_poisson(y, X, off)
    od = overdispersion_test(y, pois.mu)
    fam, reason = _choose(family, pois, od)
    fit = pois
    if fam == "negbin":
        fit = glm.fit_negbin(y, X, off, poisson=pois)
        if not fit.converged and family == "auto":
            log.warning("negative binomial fit did not converge (%s): quasi-Poisson used", "; ".join(fit.warnings))
            fam, reason = "quasipoisson", "negbin_failed"
    if fam == "quasipoisson":
        fit = glm.fit_poisson(y, X, off, quasi=True)
    warns = tuple(dict.fromkeys(list(pois.warnings) + list(fit.warnings)))
    converged = bool(fit.converged and pois.converged)
    if reason == "negbin_failed":
        warns = warns + ("negative binomial fit did not converge: Poisson with a quasi-likelihood scale used",)
    table = _coefficients(fit, factors, per, scale, conf)
    pearson = (y - fit.mu) / np.sqrt(fit.mu + fit.alpha * fit.mu ** 2)
    resid = pd.Series(pearson, index=index, name="pearson_residual")
    rm = None
    if w is not None:
        ids = [str(i) for i in w.id_order]
        r_al = resid.copy()
        r_al.index = r_al.index.map(str)
        if set(ids) <= set(r_al.index):
            rm = moran(r_al.reindex(ids).to_numpy(), w, permutations=permutations)
    choice = ModelChoice(family, fam, reason, OVERDISPERSION_TEST, float(od["t"]), float(od["p_value"]),
                         OVERDISPERSION_LEVEL, pois.dispersion)
    return EcologicalResult(table, glm_label(fam), len(index), fit.deviance, fit.aic, fit.dispersion,
                            fit.alpha if fam == "negbin" else np.nan, od, rm, resid,
                            choice=choice, converged=converged, warnings=warns)


def choice_sentence(choice: ModelChoice, lang: str = "en") -> str:
    """Which model was fitted and why, in ``lang`` (catalogue ``models.choice.*``): the test that
    decided, its p-value ("p < 0.001" below 0.001) and the Pearson dispersion of the Poisson fit."""
    from analytics.i18n import format_number, t
    from analytics.presets import fmt_p

    return t(f"models.choice.{choice.reason}", lang, model=t(f"models.family.{choice.family}", lang),
             test=t("models.test.cameron_trivedi", lang), p=fmt_p(choice.p_value, lang),
             level=format_number(choice.level, lang, 2), disp=format_number(choice.dispersion, lang, 2))


def export_table(result: EcologicalResult, lang: str = "en") -> pd.DataFrame:
    """The coefficient table as exported: every row says which model was fitted, why, whether it
    converged and its fitting warnings (columns ``model``, ``model_reason``, ``model_test_p``,
    ``model_choice``, ``converged``, ``warnings``), so a CSV or Excel download carries it."""
    out = result.table.copy()
    c = result.choice
    out["model"] = c.family if c is not None else ""
    out["model_reason"] = c.reason if c is not None else ""
    out["model_test_p"] = c.p_value if c is not None else np.nan
    out["model_choice"] = choice_sentence(c, lang) if c is not None else ""
    out["converged"] = result.converged
    out["warnings"] = "; ".join(result.warnings)
    return out


def glm_label(family: str) -> str:
    """Display name of a fitted family code."""
    return FAMILY_LABELS[family]

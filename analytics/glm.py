"""Log-linear count models with an offset: Poisson, quasi-Poisson and negative binomial (NB2).

One small fitter behind :func:`analytics.ecological.ecological_regression` and the maximum
likelihood prior of :func:`analytics.spatial.smooth_sir`, written to give what R gives:

* Poisson and quasi-Poisson: iteratively reweighted least squares (McCullagh & Nelder 1989,
  ch. 2.5), R ``glm(family = poisson / quasipoisson)``. Quasi-Poisson has the Poisson
  estimates, standard errors times ``sqrt(phi)`` with ``phi = Pearson X^2 / (n - p)`` and
  t tests on ``n - p`` degrees of freedom (R ``summary.glm``).
* Negative binomial NB2, ``Var(y) = mu + mu^2 / theta`` (Cameron & Trivedi 1986, 2013 ch. 3;
  Lawless 1987): for fixed theta the coefficients by IRLS, theta by solving the profile score
  equation (Brent's method on log theta, Brent 1973), as R ``MASS::glm.nb`` alternates
  ``glm.fitter`` and ``theta.ml`` (Venables & Ripley 2002, ch. 7.4). Standard errors are
  those of the GLM at the estimated theta (expected information, theta treated as known), as
  ``summary(glm.nb(...))`` prints them.
* When the Poisson fit is not overdispersed (the score for ``alpha = 1/theta`` at 0,
  ``sum((y - mu)^2 - y)``, is not positive) the NB2 maximum likelihood estimate lies on the
  boundary ``alpha = 0``: the fit is the Poisson fit with ``alpha = 0`` and ``theta = inf``
  (R's ``glm.nb`` then runs theta to huge values and warns "iteration limit reached").

Every fit reports ``converged``, ``iterations`` and ``warnings`` (never silenced).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

log = logging.getLogger(__name__)

__all__ = ["CountFit", "fit_poisson", "fit_negbin", "nb2_loglik", "FAMILIES"]

FAMILIES = ("poisson", "quasipoisson", "negbin")
MAX_IRLS = 100
IRLS_TOL = 1e-13          # largest change of a coefficient (relative to 1 + |b|) to stop
THETA_BOUNDS = (1e-8, 1e10)


@dataclass
class CountFit:
    """A fitted log-linear count model (estimates on the log scale)."""

    family: str                  # "poisson", "quasipoisson" or "negbin"
    params: np.ndarray
    bse: np.ndarray              # standard errors (quasi-Poisson: times sqrt(scale))
    mu: np.ndarray               # fitted means
    loglik: float                # Poisson or NB2 log-likelihood (quasi-Poisson: Poisson's)
    deviance: float
    df_resid: int
    pearson_chi2: float
    scale: float = 1.0           # dispersion used for the standard errors
    theta: float = np.inf        # NB2 size; inf for Poisson
    iterations: int = 0
    converged: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def alpha(self) -> float:
        """NB2 overdispersion 1/theta (0 for Poisson)."""
        return 0.0 if not np.isfinite(self.theta) else 1.0 / self.theta

    @property
    def aic(self) -> float:
        """-2 log L + 2 k (k counts theta for NB2, as R); NaN for quasi-Poisson (no likelihood)."""
        if self.family == "quasipoisson":
            return np.nan
        k = len(self.params) + (1 if self.family == "negbin" else 0)
        return -2.0 * self.loglik + 2.0 * k

    @property
    def dispersion(self) -> float:
        """Pearson X^2 / residual df."""
        return self.pearson_chi2 / self.df_resid if self.df_resid > 0 else np.nan


def _check(y, X, offset):
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    off = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=float)
    if y.ndim != 1 or X.shape[0] != y.size or off.shape != y.shape:
        raise ValueError(f"y ({y.shape}), X ({X.shape}) and offset ({off.shape}) do not match.")
    if not (np.isfinite(y).all() and np.isfinite(X).all() and np.isfinite(off).all()):
        raise ValueError("Counts, covariates and offsets must be finite.")
    if (y < 0).any():
        raise ValueError("Counts must not be negative.")
    return y, X, off


def _irls(y, X, off, alpha: float, start=None):
    """IRLS for the log link with variance mu + alpha mu^2; returns (beta, mu, XtWX, iterations,
    converged)."""
    if start is None:
        mu = y + (y == 0) / 6.0                                   # R's poisson mustart
        eta = np.log(mu)
        beta = np.linalg.lstsq(X, eta - off, rcond=None)[0]
    else:
        beta = np.asarray(start, dtype=float).copy()
    converged = False
    it = 0
    for it in range(1, MAX_IRLS + 1):
        eta = X @ beta + off
        mu = np.exp(eta)
        w = mu / (1.0 + alpha * mu)
        z = eta - off + (y - mu) / mu
        XtW = X.T * w
        new = np.linalg.solve(XtW @ X, XtW @ z)
        step = np.max(np.abs(new - beta) / (1.0 + np.abs(new)))
        beta = new
        if not np.isfinite(step):
            break
        if step < IRLS_TOL:
            converged = True
            break
    mu = np.exp(X @ beta + off)
    w = mu / (1.0 + alpha * mu)
    return beta, mu, (X.T * w) @ X, it, converged


def _poisson_loglik(y, mu):
    return float(np.sum(special.xlogy(y, mu) - mu - special.gammaln(y + 1)))


def _poisson_deviance(y, mu):
    return float(2 * np.sum(special.xlogy(y, y / mu) - (y - mu)))


def nb2_loglik(y, mu, theta) -> float:
    """NB2 log-likelihood sum over observations (size ``theta``, mean ``mu``)."""
    y = np.asarray(y, float)
    return float(np.sum(special.gammaln(y + theta) - special.gammaln(theta) - special.gammaln(y + 1)
                        + theta * np.log(theta / (theta + mu)) + special.xlogy(y, mu / (theta + mu))))


def _nb2_deviance(y, mu, theta):
    return float(2 * np.sum(special.xlogy(y, y / mu) - (y + theta) * np.log((y + theta) / (mu + theta))))


def _theta_score(y, mu, theta):
    """d log L / d theta at fixed mu (the profile score, by the envelope theorem)."""
    return float(np.sum(special.digamma(y + theta) - special.digamma(theta) + np.log(theta)
                        + 1.0 - np.log(theta + mu) - (y + theta) / (theta + mu)))


def fit_poisson(y, X, offset=None, *, quasi: bool = False) -> CountFit:
    """Poisson (or quasi-Poisson with ``quasi=True``) log-linear model by IRLS."""
    y, X, off = _check(y, X, offset)
    beta, mu, info, it, ok = _irls(y, X, off, 0.0)
    df = y.size - X.shape[1]
    x2 = float(np.sum((y - mu) ** 2 / mu))
    scale = x2 / df if (quasi and df > 0) else 1.0
    cov = np.linalg.inv(info) * scale
    fit = CountFit("quasipoisson" if quasi else "poisson", beta, np.sqrt(np.diag(cov)), mu,
                   _poisson_loglik(y, mu), _poisson_deviance(y, mu), df, x2, scale, np.inf, it, ok)
    if not ok:
        fit.warnings.append(f"Poisson IRLS did not converge in {MAX_IRLS} iterations")
        log.warning("Poisson IRLS did not converge in %d iterations", MAX_IRLS)
    return fit


def fit_negbin(y, X, offset=None, *, poisson: CountFit | None = None) -> CountFit:
    """NB2 log-linear model by maximum likelihood (theta by the profile score, see module doc)."""
    y, X, off = _check(y, X, offset)
    pois = poisson if poisson is not None else fit_poisson(y, X, off)
    df = y.size - X.shape[1]
    boundary = float(np.sum((y - pois.mu) ** 2 - y))
    if boundary <= 0:
        # the likelihood increases towards alpha = 0: the estimate is the Poisson fit
        return CountFit("negbin", pois.params, pois.bse, pois.mu, pois.loglik, pois.deviance, df,
                        pois.pearson_chi2, 1.0, np.inf, pois.iterations, pois.converged, list(pois.warnings))
    state = {"beta": pois.params, "it": pois.iterations, "ok": True}

    def score(log_theta: float) -> float:
        th = float(np.exp(log_theta))
        beta, mu, _, it, ok = _irls(y, X, off, 1.0 / th, start=state["beta"])
        state.update(beta=beta, it=state["it"] + it, ok=state["ok"] and ok)
        return _theta_score(y, mu, th)

    warns: list[str] = []
    # moment start (R theta.ml): n / sum((y/mu - 1)^2)
    t0 = float(np.clip(y.size / np.sum((y / pois.mu - 1.0) ** 2), *THETA_BOUNDS))
    lo = hi = np.log(t0)
    s_lo = s_hi = score(lo)
    lo_b, hi_b = np.log(THETA_BOUNDS[0]), np.log(THETA_BOUNDS[1])
    while s_lo <= 0 and lo > lo_b:          # need a positive score below the root
        lo = max(lo - np.log(10.0), lo_b)
        s_lo = score(lo)
    while s_hi >= 0 and hi < hi_b:          # and a negative one above it
        hi = min(hi + np.log(10.0), hi_b)
        s_hi = score(hi)
    if s_hi >= 0 and s_lo > 0:
        # still rising at theta = 1e10: alpha < 1e-10, the Poisson fit to machine precision
        msg = f"NB2 theta above {THETA_BOUNDS[1]:g} (alpha ~ 0): the Poisson fit is used"
        log.info(msg)
        return CountFit("negbin", pois.params, pois.bse, pois.mu, pois.loglik, pois.deviance, df,
                        pois.pearson_chi2, 1.0, np.inf, state["it"], pois.converged, list(pois.warnings) + [msg])
    converged = s_lo > 0 > s_hi
    if converged:
        log_theta, res = optimize.brentq(score, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps,
                                         maxiter=200, full_output=True, disp=False)
        converged = bool(res.converged)
        theta = float(np.exp(log_theta))
    else:
        theta = float(np.exp(hi if s_hi >= 0 else lo))
        warns.append(f"NB2 theta: no root of the profile score in [{THETA_BOUNDS[0]:g}, {THETA_BOUNDS[1]:g}]; "
                     f"theta stopped at {theta:.6g}")
    beta, mu, info, it, ok = _irls(y, X, off, 1.0 / theta, start=state["beta"])
    if not (ok and state["ok"]):
        warns.append(f"NB2 IRLS did not converge in {MAX_IRLS} iterations")
    for w in warns:
        log.warning(w)
    x2 = float(np.sum((y - mu) ** 2 / (mu + mu**2 / theta)))
    return CountFit("negbin", beta, np.sqrt(np.diag(np.linalg.inv(info))), mu, nb2_loglik(y, mu, theta),
                    _nb2_deviance(y, mu, theta), df, x2, 1.0, theta, state["it"] + it,
                    bool(converged and ok and state["ok"]), warns)

"""Projections of cancer case numbers.

* :func:`demographic_projection` - current age-specific rates applied to a projected
  population, year by year (IARC GLOBOCAN "Cancer Tomorrow": Ferlay et al., Global Cancer
  Observatory methods), optionally with a constant annual change in risk.
* :func:`nordpred` - the Nordpred age-period-cohort model with power-5 link and attenuated
  drift (Møller B, Fekjær H, Hakulinen T et al. 2003, Stat Med 22:2751-2766; Nordpred R code
  v1.3 by Møller & Fekjær), for series with at least three 5-year periods.
* :func:`decompose_change` - the change in case numbers between two times split into
  population growth, population ageing and change in risk (Bashir & Estève 2000, Int J
  Epidemiol 29:878-884; the split Møller et al. 2003 report with Nordpred).

Frames are tidy: one row per stratum x age group (x year or period) with stable columns.
"""
from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analytics import schema as S

log = logging.getLogger(__name__)

__all__ = [
    "ProjectionInputError",
    "age_specific_rates",
    "demographic_projection",
    "decompose_change",
    "allocate_unknown_age",
    "nordpred",
    "NordpredResult",
    "period_label",
    "rebase_population",
    "population_from_un_wpp",
    "five_year_periods",
    "interpolate_years",
    "DEFAULT_CUTTREND",
]

#: Nordpred's default cumulative drift attenuation for future periods 1..5 (Møller et al. 2003).
DEFAULT_CUTTREND = (0.0, 0.25, 0.5, 0.75, 0.75)
#: Iterations of the power-5 IRLS fit before it is reported as not converged.
NORDPRED_MAX_ITER = 200
#: Relative change of the deviance at which the power-5 IRLS fit has converged.
NORDPRED_TOL = 1e-12


class ProjectionInputError(ValueError):
    """Inputs a projection cannot use; the message names the column or value to fix."""


def _need(frame: pd.DataFrame, cols, what: str):
    miss = [c for c in cols if c not in frame.columns]
    if miss:
        raise ProjectionInputError(f"The {what} has no column(s) {miss} (columns: {list(frame.columns)}).")


def _age_start(labels: pd.Series) -> pd.Series:
    def one(s):
        m = re.match(r"\s*(\d+)", str(s))
        return int(m.group(1)) if m else np.nan
    return labels.map(one)


def age_specific_rates(
    cases: pd.DataFrame,
    population: pd.DataFrame,
    *,
    by=(S.SITE_CI5, S.SEX),
    years=None,
    count: str = S.COUNT,
) -> pd.DataFrame:
    """Age-specific rates (per person-year) over the base ``years`` (all common years if None).

    ``cases``: by..., year, age_group, count; ``population``: year, age_group, population and
    the population keys among ``by`` (sex, region_code). Returns by..., age_group, count,
    population, rate. Age groups without cases get rate 0 (a projection keeps them at 0).
    """
    by = [by] if isinstance(by, str) else list(by)
    _need(cases, by + [S.YEAR, S.AGE_GROUP, count], "case table")
    _need(population, [S.YEAR, S.AGE_GROUP, S.POPULATION], "population table")
    pkeys = [k for k in by if k in population.columns]
    if years is None:
        years = sorted(set(cases[S.YEAR].dropna().astype(int)) & set(population[S.YEAR].dropna().astype(int)))
    years = [int(y) for y in years]
    if not years:
        raise ProjectionInputError("The case and population tables share no year to take base rates from.")
    c = cases[cases[S.YEAR].astype(int).isin(years)]
    p = population[population[S.YEAR].astype(int).isin(years)]
    num = c.groupby(by + [S.AGE_GROUP], dropna=False)[count].sum().rename("count").reset_index()
    den = p.groupby(pkeys + [S.AGE_GROUP], dropna=False)[S.POPULATION].sum().rename("population").reset_index()
    strata = num[by].drop_duplicates()
    grid = strata.merge(den, on=pkeys, how="inner") if pkeys else strata.merge(den, how="cross")
    out = grid.merge(num, on=by + [S.AGE_GROUP], how="left").fillna({"count": 0.0})
    out["rate"] = out["count"] / out["population"].where(out["population"] > 0)
    out.attrs["base_years"] = years
    return out[by + [S.AGE_GROUP, "count", "population", "rate"]]


def demographic_projection(
    rates: pd.DataFrame,
    projected_population: pd.DataFrame,
    *,
    by=(S.SITE_CI5, S.SEX),
    years=None,
    annual_change: float = 0.0,
    base_year: int | None = None,
    by_age: bool = False,
) -> pd.DataFrame:
    """Expected cases N(y) = sum_a r_a (1 + c)^(y - y0) P_a(y) (Cancer Tomorrow; c = 0 default).

    ``rates``: by..., age_group, rate (per person-year, e.g. from :func:`age_specific_rates`).
    ``projected_population``: year, age_group, population and the population keys among ``by``.
    Returns by..., year, [age_group,] cases, population (vectorised merge, no loops).
    """
    by = [by] if isinstance(by, str) else list(by)
    _need(rates, by + [S.AGE_GROUP, "rate"], "rate table")
    _need(projected_population, [S.YEAR, S.AGE_GROUP, S.POPULATION], "projected population")
    pkeys = [k for k in by if k in projected_population.columns]
    pop = projected_population
    if years is not None:
        pop = pop[pop[S.YEAR].astype(int).isin([int(y) for y in years])]
    pop = pop.groupby(pkeys + [S.YEAR, S.AGE_GROUP], dropna=False)[S.POPULATION].sum().reset_index()
    rt = rates[by + [S.AGE_GROUP, "rate"]]
    if S.SEX in pkeys:
        rt = rt.assign(**{S.SEX: rt[S.SEX].astype("Int64")})
        pop = pop.assign(**{S.SEX: pop[S.SEX].astype("Int64")})
    m = rt.merge(pop, on=pkeys + [S.AGE_GROUP], how="inner")
    if m.empty:
        raise ProjectionInputError(
            "No age group of the rates matches the projected population "
            f"(rates: {sorted(rates[S.AGE_GROUP].astype(str).unique())[:5]}..., population: "
            f"{sorted(projected_population[S.AGE_GROUP].astype(str).unique())[:5]}...)."
        )
    y0 = int(base_year) if base_year is not None else int(m[S.YEAR].min())
    m["cases"] = m["rate"].fillna(0.0) * m[S.POPULATION] * (1.0 + annual_change) ** (m[S.YEAR] - y0)
    keys = by + [S.YEAR] + ([S.AGE_GROUP] if by_age else [])
    out = m.groupby(keys, dropna=False, sort=True).agg(
        cases=("cases", "sum"), population=(S.POPULATION, "sum")).reset_index()
    return out


def decompose_change(
    start: pd.DataFrame,
    end: pd.DataFrame,
    *,
    by=(S.SITE_CI5, S.SEX),
    cases: str = "cases",
    population: str = S.POPULATION,
) -> pd.DataFrame:
    """Split N1 - N0 into population growth, ageing and risk (Bashir & Estève 2000).

    With r the age-specific rates, P the total population and s_a its age structure:
      growth = sum_a r0_a s0_a (P1 - P0)          (= N0 (P1/P0 - 1))
      ageing = sum_a r0_a P1 (s1_a - s0_a)
      risk   = sum_a (r1_a - r0_a) P1 s1_a
    The three add up to N1 - N0 exactly. ``start``/``end``: by..., age_group, cases, population.
    Returns by..., cases_start, cases_end, change, growth, ageing, risk and the same as % of N0.
    """
    by = [by] if isinstance(by, str) else list(by)
    for f, nm in ((start, "start table"), (end, "end table")):
        _need(f, by + [S.AGE_GROUP, cases, population], nm)
    k = by + [S.AGE_GROUP]
    m = start[k + [cases, population]].merge(end[k + [cases, population]], on=k, how="outer",
                                             suffixes=("_0", "_1"))
    m = m.fillna({f"{c}_{i}": 0.0 for c in (cases, population) for i in (0, 1)})
    g = m.groupby(by, dropna=False)
    m["P0"] = g[f"{population}_0"].transform("sum")
    m["P1"] = g[f"{population}_1"].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        r0 = np.where(m[f"{population}_0"] > 0, m[f"{cases}_0"] / m[f"{population}_0"], 0.0)
        s0 = m[f"{population}_0"] / m["P0"]
        s1 = m[f"{population}_1"] / m["P1"]
    m["growth"] = r0 * s0 * (m["P1"] - m["P0"])
    m["ageing"] = r0 * m["P1"] * (s1 - s0)
    # Risk is the remainder of the change itself, so growth + ageing + risk = N1 - N0 holds
    # exactly in every row. Written as N1 - r0 P1 s1 it equals that only where r0 P0 = N0; an age
    # group with cases but no person-years at the start (e.g. cases of unknown age, whose
    # population is missing) silently broke the identity. Such cases cannot be given a rate:
    # allocate them first (:func:`allocate_unknown_age`); left in, they count as change in risk.
    m["risk"] = (m[f"{cases}_1"] - m[f"{cases}_0"]) - m["growth"] - m["ageing"]
    unrated = float(m.loc[m[f"{population}_0"] <= 0, f"{cases}_0"].sum())
    out = m.groupby(by, dropna=False, sort=True).agg(
        cases_start=(f"{cases}_0", "sum"), cases_end=(f"{cases}_1", "sum"),
        growth=("growth", "sum"), ageing=("ageing", "sum"), risk=("risk", "sum")).reset_index()
    out["change"] = out["cases_end"] - out["cases_start"]
    for c in ("change", "growth", "ageing", "risk"):
        out[f"{c}_pct"] = 100 * out[c] / out["cases_start"].where(out["cases_start"] != 0)
    out = out[by + ["cases_start", "cases_end", "change", "growth", "ageing", "risk",
                    "change_pct", "growth_pct", "ageing_pct", "risk_pct"]]
    out.attrs["cases_without_population"] = unrated
    return out


def allocate_unknown_age(
    frame: pd.DataFrame,
    *,
    by=(S.SEX,),
    count: str = S.COUNT,
    age: str = S.AGE_GROUP,
) -> pd.DataFrame:
    """Share cases of unknown age (missing ``age``) among the known age groups of their stratum
    in proportion to the known cases, so totals are kept and every case gets a rate.

    The pro-rata allocation IARC uses for incomplete age data (Ferlay et al., GLOBOCAN
    methods; Bray et al., Cancer Incidence in Five Continents Vol. XI, ch. 6). A stratum with
    unknown-age cases and no known-age case keeps them unallocated (nothing to share by).
    Returns the rows of known age only, with float ``count``.
    """
    by = [by] if isinstance(by, str) else list(by)
    _need(frame, by + [age, count], "case table")
    unknown = frame[age].isna()
    known = frame[~unknown].copy()
    known[count] = known[count].astype(float)
    if not unknown.any():
        return known
    if by:
        extra = frame[unknown].groupby(by, dropna=False)[count].sum().rename("_unknown")
        tot = known.groupby(by, dropna=False)[count].transform("sum")
        known = known.join(extra, on=by)
    else:
        tot = pd.Series(known[count].sum(), index=known.index)
        known["_unknown"] = float(frame.loc[unknown, count].sum())
    share = known[count] / tot.where(tot > 0)
    known[count] = known[count] + share.fillna(0.0) * known["_unknown"].fillna(0.0)
    return known.drop(columns="_unknown")


# --- Nordpred ----------------------------------------------------------------------

def period_label(start: int, width: int = 5) -> str:
    return f"{int(start)}-{int(start) + width - 1}"


@dataclass
class NordpredResult:
    """Nordpred fit and projection for one series (Møller et al. 2003)."""

    observed: pd.DataFrame          # period, age_group, count, population, fitted
    projection: pd.DataFrame        # period, age_group, population, rate, cases, method
    totals: pd.DataFrame            # period, cases, observed (bool)
    drift: float                    # per 5-year period on the power-5 scale (the model's D)
    drift_used: float               # D, or the recent slope when recent=True
    recent: bool
    periods_used: list
    deviance: float
    df: int
    gof_p: float
    cuttrend: tuple
    coefficients: pd.Series = field(default_factory=pd.Series)
    #: the power-5 fit converged (deviance change below NORDPRED_TOL within NORDPRED_MAX_ITER)
    converged: bool = True
    iterations: int = 0
    #: the Period^2 test's two log-linear Poisson fits (statsmodels) converged; when not, its
    #: p-value is not used (no evidence of curvature: the average drift is kept)
    curvature_converged: bool = True
    warnings: tuple = ()            # every fitting problem, in words (never silenced)

    def summary(self) -> str:
        """A plain-text account of the fit: periods, drift, deviance and any fitting problem."""
        lines = [f"Nordpred (power-5 link), periods {period_label(self.periods_used[0])}"
                 f" to {period_label(self.periods_used[-1])}",
                 f"drift D = {self.drift:.6g} per period; used: {self.drift_used:.6g}"
                 f" ({'recent slope' if self.recent else 'average drift'})",
                 f"deviance {self.deviance:.4f} on {self.df} df (goodness-of-fit p = {self.gof_p:.4g});"
                 f" {self.iterations} iterations"]
        if not (self.converged and self.curvature_converged):
            lines.append("WARNING: a fit did not converge.")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _irls_power5(X, y, pyr, max_iter=None, tol=None):
    """Poisson GLM with link eta = (mu/pyr)^(1/5) by iteratively reweighted least squares
    (the Nordpred v1.3 power link): mu = pyr eta^5, dmu/deta = 5 pyr eta^4,
    weights (dmu/deta)^2 / mu = 25 pyr eta^3. Returns (beta, eta, deviance, iterations,
    converged)."""
    max_iter = NORDPRED_MAX_ITER if max_iter is None else int(max_iter)
    tol = NORDPRED_TOL if tol is None else float(tol)
    eta = ((y + 0.5) / pyr) ** 0.2
    dev_old = np.inf
    beta = np.zeros(X.shape[1])
    dev = np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        mu = pyr * eta**5
        dmu = 5 * pyr * eta**4
        z = eta + (y - mu) / dmu
        w = dmu**2 / mu
        sw = np.sqrt(w)
        beta, *_ = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)
        eta = X @ beta
        eta = np.maximum(eta, 1e-10)
        mu = pyr * eta**5
        dev = _poisson_deviance(y, mu)
        if abs(dev_old - dev) <= tol * (1 + abs(dev)):
            converged = True
            break
        dev_old = dev
    if not converged:
        log.warning("Nordpred power-5 fit did not converge in %d iterations (deviance %.6g)", max_iter, dev)
    return beta, eta, dev, it, converged


def _poisson_deviance(y, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2 * np.sum(t - (y - mu)))


def _design(a_idx, p_idx, c_idx, n_age, P, cohorts):
    """Age dummies, linear period (drift), period dummies 2..P-1, cohort dummies except the
    first and last cohort: the identification R's glm arrives at for Nordpred's formula
    Cases ~ factor(Age) + Period + factor(Period) + factor(Cohort) - 1."""
    cols = [(a_idx == a).astype(float) for a in range(n_age)]
    names = [f"age[{a}]" for a in range(n_age)]
    cols.append(p_idx.astype(float))
    names.append("drift")
    for p in range(2, P):
        cols.append((p_idx == p).astype(float))
        names.append(f"period[{p}]")
    for c in cohorts[1:-1]:
        cols.append((c_idx == c).astype(float))
        names.append(f"cohort[{c}]")
    return np.column_stack(cols), names


def _poisson_fit(y, X, pyr) -> tuple[float, bool, list[str]]:
    """Deviance of a log-linear Poisson GLM (statsmodels IRLS), whether it converged, and the
    warnings the fit raised (recorded and returned, never silenced)."""
    import statsmodels.api as sm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(pyr)).fit()
    msgs = [f"{w.category.__name__}: {w.message}" for w in caught]
    converged = bool(getattr(res, "converged", True)) and np.isfinite(res.deviance)
    return float(res.deviance), converged, msgs


def _period_squared_p(y, pyr, a_idx, p_idx, c_idx, n_age, cohorts) -> tuple[float, bool, list[str]]:
    """Nordpred's test for a curved trend: likelihood-ratio test of adding Period^2 to the
    log-linear (Poisson) model age + Period + cohort (Nordpred v1.3 ``suggestionrecent``).
    Returns (p, both fits converged, problems in words); a fit that fails or does not converge
    gives no evidence of curvature (p = 1), and says so."""
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    base = [(a_idx == a).astype(float) for a in range(n_age)] + [p_idx.astype(float)]
    coh = [(c_idx == c).astype(float) for c in cohorts[1:-1]]
    X1 = np.column_stack(base + coh)
    X2 = np.column_stack(base + [p_idx.astype(float) ** 2] + coh)
    try:
        d1, ok1, w1 = _poisson_fit(y, X1, pyr)
        d2, ok2, w2 = _poisson_fit(y, X2, pyr)
    except (np.linalg.LinAlgError, ValueError, PerfectSeparationError) as exc:
        # a degenerate fit means no evidence of curvature; said in the result and the log
        log.warning("curvature test of the drift: Poisson fit failed (%s); taken as no curvature", exc)
        return 1.0, False, [f"the Period^2 test's Poisson fit failed ({exc}); average drift used"]
    if not (ok1 and ok2):
        msg = ("the Period^2 test's Poisson fit did not converge"
               + (f" ({'; '.join(w1 + w2)})" if w1 + w2 else "") + "; average drift used")
        log.warning("curvature test of the drift: %s", msg)
        return 1.0, False, [msg]
    # converged fits keep any other warning they raised (said, not hidden)
    return float(stats.chi2.sf(max(d1 - d2, 0.0), 1)), True, [f"the Period^2 test: {w}" for w in w1 + w2]


def nordpred(
    data: pd.DataFrame,
    future_population: pd.DataFrame,
    *,
    period: str = "period",
    age: str = S.AGE_GROUP,
    count: str = S.COUNT,
    population: str = S.POPULATION,
    cuttrend=DEFAULT_CUTTREND,
    recent: bool | None = None,
    start_age: int = 0,
    start_use_age: int | None = None,
    n_periods=None,
    width: int = 5,
) -> NordpredResult:
    """Nordpred projection (Møller et al. 2003): R_ap = (A_a + D p + P_p + C_c)^5, Poisson.

    ``data``: one row per 5-year period (``period`` = first year, e.g. 2000) and age group with
    ``count`` cases and ``population`` person-years in that period; at least 3 periods.
    ``future_population``: person-years per future period and age group (up to 5 periods).
    Future rates use the age and cohort effects (cohorts not observed get the last estimated
    cohort effect) and the drift D, attenuated cumulatively by ``cuttrend`` (defaults 0%, 25%,
    50%, 75%, 75% for periods 1-5). ``recent``: use the slope of the last 10 years instead of D
    (None = Nordpred's rule: if Period^2 is significant at 5% in a log-linear APC model).
    ``n_periods``: candidate numbers of periods (default 4-6 as Nordpred, or 3 when only 3
    exist); the oldest period is dropped while the goodness of fit p < 0.01.
    Age groups starting below ``start_age`` are not modelled (Nordpred's ``startestage``); age
    groups below ``start_use_age`` (default ``start_age``, Nordpred's ``startuseage``) are
    projected with the mean of the rates of the last two observed periods.
    """
    _need(data, [period, age, count, population], "Nordpred input")
    _need(future_population, [period, age, population], "future population")
    d = data[[period, age, count, population]].copy()
    d[period] = d[period].astype(int)
    d[count] = d[count].astype(float)
    d[population] = d[population].astype(float)
    if (d[count] < 0).any() or (d[population] < 0).any():
        raise ProjectionInputError("Nordpred input has a negative count or population.")
    periods = sorted(d[period].unique())
    if len(periods) < 3:
        raise ProjectionInputError(
            f"Nordpred needs at least three 5-year periods of data; got {len(periods)} "
            f"({', '.join(period_label(p, width) for p in periods)})."
        )
    if np.any(np.diff(periods) != width):
        raise ProjectionInputError(f"Periods must be consecutive {width}-year periods; got {periods}.")
    ages = sorted(d[age].astype(str).unique(), key=lambda s: _age_start(pd.Series([s])).iloc[0])
    age_pos = {a: i for i, a in enumerate(ages)}
    d["_a"] = d[age].astype(str).map(age_pos)
    starts = _age_start(pd.Series(ages))
    model_ages = [a for a, s in zip(ages, starts) if s >= start_age]
    start_use_age = start_age if start_use_age is None else max(int(start_use_age), start_age)
    use_model = [a for a, s in zip(ages, starts) if s >= start_use_age]
    if len(model_ages) < 3:
        raise ProjectionInputError("Nordpred needs at least three modelled age groups; lower start_age.")

    if n_periods is None:
        cands = [n for n in (6, 5, 4) if n <= len(periods)] or [len(periods)]
    else:
        cands = sorted({int(n) for n in np.atleast_1d(n_periods) if 3 <= int(n) <= len(periods)},
                       reverse=True)
        if not cands:
            raise ProjectionInputError(f"n_periods must include a value between 3 and {len(periods)}.")

    def fit(nper):
        used = periods[-nper:]
        m = d[d[period].isin(used) & d[age].astype(str).isin(model_ages)].copy()
        m["_p"] = m[period].map({p: i + 1 for i, p in enumerate(used)})
        a0 = age_pos[model_ages[0]]
        m["_ai"] = m["_a"] - a0
        n_age = len(model_ages)
        m["_c"] = n_age - (m["_ai"] + 1) + m["_p"]
        cohorts = sorted(m["_c"].unique())
        X, names = _design(m["_ai"].to_numpy(), m["_p"].to_numpy(), m["_c"].to_numpy(),
                           n_age, nper, cohorts)
        y = m[count].to_numpy()
        pyr = m[population].to_numpy()
        beta, eta, dev, it, ok = _irls_power5(X, y, pyr)
        dfree = len(y) - np.linalg.matrix_rank(X)
        gof = float(stats.chi2.sf(dev, dfree)) if dfree > 0 else 1.0
        return dict(used=used, m=m, beta=pd.Series(beta, index=names), eta=eta, dev=dev, df=dfree,
                    gof=gof, cohorts=cohorts, n_age=n_age, a0=a0, y=y, pyr=pyr, X=X, it=it, converged=ok)

    for i, nper in enumerate(cands):
        f = fit(nper)
        if f["gof"] >= 0.01 or i == len(cands) - 1:
            break

    beta = f["beta"]
    used = f["used"]
    P = len(used)
    D = float(beta["drift"])
    problems = [] if f["converged"] else [
        f"the power-5 Poisson fit did not converge in {f['it']} iterations (deviance {f['dev']:.6g})"]
    curvature_ok = True
    if recent is None:
        m = f["m"]
        pq, curvature_ok, msgs = _period_squared_p(f["y"], f["pyr"], m["_ai"].to_numpy(), m["_p"].to_numpy(),
                                                   m["_c"].to_numpy(), f["n_age"], f["cohorts"])
        problems += msgs
        recent = pq < 0.05
    # Slope over the last two periods: D + pi_P - pi_{P-1}, with pi_P = 0 by identification.
    d_recent = D - float(beta.get(f"period[{P - 1}]", 0.0)) if P > 2 else D
    drift_used = d_recent if recent else D

    fut = future_population[[period, age, population]].copy()
    fut[period] = fut[period].astype(int)
    fut_periods = sorted(p for p in fut[period].unique() if p > periods[-1])
    if not fut_periods:
        raise ProjectionInputError(
            f"The future population has no period after the last observed one ({period_label(periods[-1], width)})."
        )
    h = {p: (p - periods[-1]) // width for p in fut_periods}
    if max(h.values()) > len(cuttrend):
        raise ProjectionInputError(
            f"Nordpred projects at most {len(cuttrend)} periods ahead (one cuttrend value per period); "
            f"the future population reaches {period_label(max(fut_periods), width)}."
        )
    driftmp = np.cumsum(1.0 - np.asarray(cuttrend, dtype=float))
    fut = fut[fut[period].isin(fut_periods)].copy()
    fut["_h"] = fut[period].map(h)
    fut["_a"] = fut[age].astype(str).map(age_pos)
    if fut["_a"].isna().any():
        bad = fut.loc[fut["_a"].isna(), age].iloc[0]
        raise ProjectionInputError(f"The future population has age group {bad!r}, absent from the observed data.")
    A = np.array([beta[f"age[{i}]"] for i in range(f["n_age"])])
    coh = {c: float(beta.get(f"cohort[{c}]", 0.0)) for c in f["cohorts"]}
    c_last = max(f["cohorts"])
    is_model = fut[age].astype(str).isin(use_model).to_numpy()
    ai = (fut["_a"].to_numpy() - f["a0"]).astype(int)
    c_idx = f["n_age"] - (ai + 1) + P + fut["_h"].to_numpy()
    # Cohorts born after the last observed one keep the last estimated cohort effect (Nordpred).
    c_eff = np.array([coh.get(min(c, c_last), 0.0) for c in c_idx])
    eta = np.where(is_model,
                   A[np.clip(ai, 0, len(A) - 1)] + D * P + drift_used * driftmp[fut["_h"].to_numpy() - 1] + c_eff,
                   np.nan)
    rate = np.where(is_model, np.maximum(eta, 0.0) ** 5, np.nan)
    # Young ages: the mean of the rates of the last two observed periods (Nordpred).
    last2 = d[d[period].isin(periods[-2:])]
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = (last2[count] / last2[population]).fillna(0.0)
    ymean = r2.groupby(last2[age].astype(str)).mean().to_dict()
    rate = np.where(is_model, rate, fut[age].astype(str).map(ymean).to_numpy(float))
    fut["rate"] = rate
    fut["cases"] = rate * fut[population]
    fut["method"] = np.where(is_model, "nordpred", "mean of last two periods")
    projection = fut[[period, age, population, "rate", "cases", "method"]].sort_values(
        [period, "_a" if False else age], key=lambda s: s.map(age_pos) if s.name == age else s
    ).reset_index(drop=True)

    obs = d[[period, age, count, population]].copy()
    m = f["m"]
    obs["fitted"] = np.nan
    obs.loc[m.index, "fitted"] = m[population].to_numpy() * f["eta"] ** 5
    totals = pd.concat([
        obs.groupby(period)[count].sum().rename("cases").reset_index().assign(observed=True),
        projection.groupby(period)["cases"].sum().reset_index().assign(observed=False),
    ], ignore_index=True)
    totals["period_label"] = totals[period].map(lambda p: period_label(p, width))
    return NordpredResult(
        observed=obs, projection=projection, totals=totals, drift=D, drift_used=drift_used,
        recent=bool(recent), periods_used=[int(p) for p in used], deviance=f["dev"], df=int(f["df"]),
        gof_p=f["gof"], cuttrend=tuple(cuttrend), coefficients=beta,
        converged=bool(f["converged"]), iterations=int(f["it"]), curvature_converged=bool(curvature_ok),
        warnings=tuple(problems),
    )


def rebase_population(
    base_population: pd.DataFrame,
    projection: pd.DataFrame,
    *,
    base_year: int,
    by=(S.SEX,),
    years=None,
    reference_year: int | None = None,
) -> pd.DataFrame:
    """The registry's own population carried forward with the projection's growth by age.

    P_reg,a(y) = P_reg,a(y0) * P_proj,a(y) / P_proj,a(y_ref) for each stratum of ``by`` (e.g.
    sex), so a sub-national registry uses its own size and age structure with national growth
    (the ratio method for areas without their own projection). ``y_ref`` is ``base_year`` when
    the projection has it, else ``reference_year`` or the projection's first year (a projection
    starting the year after the registry's last year then carries one year less growth; the
    result's ``attrs["reference_year"]`` says which year was used).
    Returns year, by..., age_group, population.
    """
    by = [by] if isinstance(by, str) else list(by)
    _need(base_population, [S.YEAR, S.AGE_GROUP, S.POPULATION] + by, "registry population")
    _need(projection, [S.YEAR, S.AGE_GROUP, S.POPULATION] + by, "population projection")
    k = by + [S.AGE_GROUP]
    base = base_population[base_population[S.YEAR].astype(int) == int(base_year)]
    if base.empty:
        raise ProjectionInputError(f"The registry population has no year {base_year}.")
    base = base.groupby(k, dropna=False)[S.POPULATION].sum().rename("_b").reset_index()
    proj = projection.groupby([S.YEAR] + k, dropna=False)[S.POPULATION].sum().reset_index()
    pyears = set(proj[S.YEAR].astype(int))
    ref = int(base_year) if int(base_year) in pyears else (
        int(reference_year) if reference_year is not None else min(pyears))
    p0 = proj[proj[S.YEAR].astype(int) == ref].rename(columns={S.POPULATION: "_p0"}).drop(columns=S.YEAR)
    if p0.empty:
        raise ProjectionInputError(f"The population projection has no year {ref} to rescale from.")
    if years is not None:
        proj = proj[proj[S.YEAR].astype(int).isin([int(y) for y in years])]
    for f in (base, p0, proj):
        for c in by:
            if c == S.SEX:
                f[c] = f[c].astype("Int64")
    m = proj.merge(p0, on=k, how="inner").merge(base, on=k, how="inner")
    m[S.POPULATION] = m["_b"] * m[S.POPULATION] / m["_p0"].where(m["_p0"] > 0)
    out = m[[S.YEAR] + k + [S.POPULATION]].sort_values([S.YEAR] + k).reset_index(drop=True)
    out.attrs["reference_year"] = ref
    return out


def population_from_un_wpp(path, *, top_age: int = 85, annual: bool = True) -> pd.DataFrame:
    """UN World Population Prospects 2024 single-country file (columns Year, Sex, AgeGrp,
    AgeGrpStart, Value) as schema population rows (year, sex, age_group, age_start, population),
    ages from ``top_age`` up summed into the open group; 5-yearly files are interpolated to
    single years when ``annual``."""
    raw = pd.read_csv(path)
    _need(raw, ["Year", "Sex", "AgeGrpStart", "Value"], f"UN WPP file {path}")
    sex = raw["Sex"].astype(str).str.lower().map({"male": S.MALE, "female": S.FEMALE})
    start = raw["AgeGrpStart"].astype(int).clip(upper=top_age)
    df = pd.DataFrame({S.YEAR: raw["Year"].astype(int), S.SEX: sex, S.AGE_START: start,
                       S.POPULATION: raw["Value"].astype(float)}).dropna(subset=[S.SEX])
    df = df.groupby([S.YEAR, S.SEX, S.AGE_START], as_index=False)[S.POPULATION].sum()
    df[S.SEX] = df[S.SEX].astype("Int8")
    df[S.AGE_GROUP] = np.where(df[S.AGE_START] >= top_age, f"{top_age}+",
                               df[S.AGE_START].astype(str) + "-" + (df[S.AGE_START] + 4).astype(str))
    df = df[[S.YEAR, S.SEX, S.AGE_GROUP, S.AGE_START, S.POPULATION]]
    return interpolate_years(df) if annual else df


def interpolate_years(population: pd.DataFrame, *, by=(S.SEX, S.AGE_GROUP, S.AGE_START)) -> pd.DataFrame:
    """Single-year populations by linear interpolation between the given years (WPP files
    published in 5-year steps), within each stratum of ``by``."""
    by = [c for c in by if c in population.columns]
    wide = population.pivot_table(index=S.YEAR, columns=by, values=S.POPULATION, aggfunc="sum")
    years = np.arange(int(wide.index.min()), int(wide.index.max()) + 1)
    wide = wide.reindex(years).interpolate(method="index")
    out = wide.stack(by, future_stack=True).rename(S.POPULATION).reset_index()
    if S.SEX in out:
        out[S.SEX] = out[S.SEX].astype("Int8")
    return out[[S.YEAR] + by + [S.POPULATION]].dropna(subset=[S.POPULATION])


def five_year_periods(frame: pd.DataFrame, *, last_year: int, value: str, by, width: int = 5) -> pd.DataFrame:
    """Sum yearly rows into consecutive ``width``-year periods ending at ``last_year``
    (incomplete oldest period dropped). Adds ``period`` (first year of the period)."""
    by = [by] if isinstance(by, str) else list(by)
    y = frame[S.YEAR].astype(int)
    start = last_year - width + 1 - width * ((last_year - y) // width)
    f = frame.assign(period=start)
    counts = f.groupby("period")[S.YEAR].nunique()
    full = counts[counts == width].index
    f = f[f["period"].isin(full)]
    return f.groupby(["period"] + by, dropna=False)[value].sum().reset_index()

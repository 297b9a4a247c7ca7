"""Trends in rates: annual percent change (APC), joinpoint regression, AAPC.

* :func:`loglinear_apc` - APC from the least-squares fit of ln(rate) on year, unweighted or
  weighted as SEER*Stat does (weights R^2/SE^2), CI from t on n-2 df
  (https://seer.cancer.gov/help/seerstat/equations-and-algorithms/trend-algorithms).
* :func:`apc_table` - the same for many series at once (closed-form weighted sums, no loop).
* :func:`joinpoint` / :func:`joinpoint_table` - NCI Joinpoint's continuous piecewise
  log-linear model (Kim et al. 2000, Stat Med 19:335), implemented in :mod:`analytics.joinpoint`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from analytics.joinpoint import (  # noqa: F401  (re-exported API)
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    JoinpointResult,
    TrendInputError,
    _as_series,
    admissible_joinpoint_sets,
    default_max_joinpoints,
    joinpoint,
)

__all__ = [
    "APCResult",
    "TrendInputError",
    "JoinpointResult",
    "loglinear_apc",
    "apc_table",
    "joinpoint",
    "joinpoint_table",
    "percent_change",
]

APC_COLUMNS = ["start", "end", "n_years", "apc", "lower", "upper", "p_value", "slope", "se"]


@dataclass(frozen=True)
class APCResult:
    """One APC estimate (percent per year) with its CI and the test of zero slope."""

    apc: float
    lower: float
    upper: float
    p_value: float
    slope: float
    se: float
    n: int
    conf: float

    def as_dict(self) -> dict:
        return dict(apc=self.apc, lower=self.lower, upper=self.upper, p_value=self.p_value,
                    slope=self.slope, se=self.se, n=self.n)


def loglinear_apc(year, rate, weights=None, conf: float = 0.95, *, se=None) -> APCResult:
    """Annual percent change from the log-linear model ln(R_t) = b + m t (SEER*Stat).

    APC = 100 (e^m - 1); CI 100 (exp(m -/+ t_{n-2} SE_m) - 1); p from t on n-2 df. Unweighted
    by default (CI5 / Joinpoint "constant variance"); ``weights`` (1/Var(ln R)) or ``se`` (the
    rates' standard errors, giving SEER*Stat's weights R^2/SE^2) for weighted least squares
    with the residual variance estimated from the fit. Every rate must be > 0 (SEER*Stat does
    not compute an APC for a series containing a zero rate).
    """
    x, y, w, _ = _as_series(year, rate, se=se, weights=weights)
    n = x.size
    ly = np.log(y)
    W = w.sum()
    xb = np.sum(w * x) / W
    yb = np.sum(w * ly) / W
    sxx = np.sum(w * (x - xb) ** 2)
    m = np.sum(w * (x - xb) * (ly - yb)) / sxx
    resid = ly - yb - m * (x - xb)
    s2 = np.sum(w * resid**2) / (n - 2)
    se_m = float(np.sqrt(s2 / sxx))
    tq = stats.t.ppf(0.5 + conf / 2, n - 2)
    p = float(2 * stats.t.sf(abs(m / se_m), n - 2)) if se_m > 0 else 0.0
    return APCResult(
        apc=float(100 * np.expm1(m)),
        lower=float(100 * np.expm1(m - tq * se_m)),
        upper=float(100 * np.expm1(m + tq * se_m)),
        p_value=p, slope=float(m), se=se_m, n=int(n), conf=conf,
    )


def apc_table(
    data: pd.DataFrame,
    *,
    by=None,
    year: str = "year",
    rate: str = "value",
    se: str | None = None,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Log-linear APC (as :func:`loglinear_apc`) for every series in a tidy frame.

    One row per group of ``by`` with columns by..., start, end, n_years, apc, lower, upper,
    p_value, slope, se. Groups with fewer than 3 years or any rate <= 0 get NaN estimates
    (SEER*Stat's rule) rather than an error, so one sparse site does not stop a whole table.
    """
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    for c in [year, rate] + by + ([se] if se else []):
        if c not in data.columns:
            raise TrendInputError(f"The trend table has no column {c!r} (columns: {list(data.columns)}).")
    d = data[by + [year, rate] + ([se] if se else [])].reset_index(drop=True)
    gid = d.groupby(by, sort=True, dropna=False).ngroup().to_numpy() if by else np.zeros(len(d), int)
    ng = int(gid.max()) + 1 if len(d) else 0
    x = d[year].to_numpy(float)
    r = d[rate].to_numpy(float)
    bad = ~(r > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.where(bad, np.nan, np.log(np.where(bad, 1.0, r)))
        w = (r**2 / d[se].to_numpy(float) ** 2) if se else np.ones_like(r)
    S = lambda v: np.bincount(gid, weights=v, minlength=ng)  # noqa: E731
    W = S(w)
    xb = S(w * x) / W
    yb = S(w * np.nan_to_num(ly)) / W
    dx = x - xb[gid]
    sxx = S(w * dx**2)
    m = S(w * dx * (np.nan_to_num(ly) - yb[gid])) / sxx
    rss = S(w * (np.nan_to_num(ly) - yb[gid] - m[gid] * dx) ** 2)
    n = np.bincount(gid, minlength=ng)
    invalid = (S(bad.astype(float)) > 0) | (n < 3)
    dfree = np.where(n > 2, n - 2, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_m = np.sqrt(rss / dfree / sxx)
        m = np.where(invalid, np.nan, m)
        se_m = np.where(invalid, np.nan, se_m)
        tq = stats.t.ppf(0.5 + conf / 2, dfree)
        p = 2 * stats.t.sf(np.abs(m / se_m), dfree)
    first = pd.Series(np.arange(len(d))).groupby(gid).first().to_numpy()
    out = d.loc[first, by].reset_index(drop=True) if by else pd.DataFrame(index=range(ng))
    out["start"] = pd.Series(x).groupby(gid).min().to_numpy()
    out["end"] = pd.Series(x).groupby(gid).max().to_numpy()
    out["n_years"] = n
    out["apc"] = 100 * np.expm1(m)
    out["lower"] = 100 * np.expm1(m - tq * se_m)
    out["upper"] = 100 * np.expm1(m + tq * se_m)
    out["p_value"] = p
    out["slope"] = m
    out["se"] = se_m
    return out[by + APC_COLUMNS]


def joinpoint_table(
    data: pd.DataFrame,
    *,
    by=None,
    year: str = "year",
    rate: str = "value",
    se: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    **kwargs,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Joinpoint fits for every series of a tidy frame.

    Returns (segments, fitted, results): ``segments`` by..., segment, start, end, apc, lower,
    upper, p_value, joinpoints; ``fitted`` by..., year, observed, fitted; ``results`` maps the
    group key to its :class:`JoinpointResult`. Each series is its own grid search, so this
    loops over groups (the permutations inside each fit are vectorised). Series that cannot
    be fitted (too few years, zero rates) are reported in ``segments`` with a ``note``.
    ``progress(fraction, series)`` is told after each series is fitted (a progress bar).
    """
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    seg_rows, fit_rows, results = [], [], {}
    groups = list(data.groupby(by, sort=True, dropna=False)) if by else [((), data)]
    for done, (key, g) in enumerate(groups, start=1):
        if progress is not None and done > 1:
            progress((done - 1) / len(groups), str(key))
        key = key if isinstance(key, tuple) else (key,)
        lab = dict(zip(by, key))
        g = g.sort_values(year)
        try:
            res = joinpoint(g[year].to_numpy(float), g[rate].to_numpy(float),
                            se=None if se is None else g[se].to_numpy(float), **kwargs)
        except TrendInputError as e:
            seg_rows.append({**lab, "segment": np.nan, "note": str(e)})
            continue
        results[key if by else ()] = res
        s = res.segments.assign(segment=np.arange(1, len(res.segments) + 1),
                                joinpoints=", ".join(f"{j:g}" for j in res.joinpoints), note="")
        for c, v in lab.items():
            s[c] = v
        seg_rows.extend(s.to_dict("records"))
        f = pd.DataFrame({year: res.year, "observed": res.rate, "fitted": res.fitted})
        for c, v in lab.items():
            f[c] = v
        fit_rows.append(f)
    seg_cols = by + ["segment", "start", "end", "apc", "lower", "upper", "p_value", "joinpoints", "note"]
    segments = pd.DataFrame(seg_rows).reindex(columns=seg_cols)
    fitted = (pd.concat(fit_rows, ignore_index=True) if fit_rows
              else pd.DataFrame(columns=by + [year, "observed", "fitted"]))
    return segments, fitted[by + [year, "observed", "fitted"]], results


def percent_change(first: float, last: float) -> float:
    """Simple percent change 100 (R_end - R_start) / R_start (SEER*Stat "PC")."""
    return 100.0 * (last - first) / first

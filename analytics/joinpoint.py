"""Joinpoint regression: continuous piecewise log-linear trends (NCI Joinpoint method).

Model (Kim, Fay, Feuer & Midthune 2000, Stat Med 19:335-351; NCI Joinpoint help,
"Statistics related to the k-joinpoint model"):

    ln y_t = b0 + b1 t + sum_j d_j (t - tau_j)_+ + e_t

fitted by (weighted) least squares for every admissible set of joinpoints on the grid of
observed years (Lerman 1980 grid search). Admissible sets follow Joinpoint's default
"minimum number of observations" rules: at least ``min_obs_end`` (2) observations between a
joinpoint and either end of the series and at least ``min_obs_between`` (2) observations
between two joinpoints, joinpoints themselves excluded
(https://surveillance.cancer.gov/help/joinpoint/setting-parameters/method-and-parameters-tab/minimum-number-of-observations-required).

Number of joinpoints: sequential permutation test of Kim et al. (2000) with Joinpoint's
per-test level alpha/(MAX - k_a) (Joinpoint help "Permutation test details"), or the BIC,
BIC3 and weighted BIC (WBIC, Joinpoint >= 4.7, default in 5.0) criteria.

Segment APC confidence intervals are Joinpoint's parametric ones (Lerman 1980): the points
lying on joinpoints are dropped, each segment gets its own unconstrained line, the slope SEs
use the pooled residual variance on n* - 2(k+1) degrees of freedom and the t distribution.
AAPC and its CI follow Clegg, Hankey, Tiwari, Feuer & Edwards (2009, Stat Med 28:3670-3682).

Convergence: there is no iterative fit here. Every candidate model is an exact (weighted)
least-squares solution on the grid of observed years (Joinpoint's "grid search" method), so no
fit can stop short of convergence and none is reported; series that cannot be fitted (too few
years, a zero rate on the log scale) raise :class:`TrendInputError` with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "TrendInputError",
    "JoinpointResult",
    "joinpoint",
    "admissible_joinpoint_sets",
    "default_max_joinpoints",
]

#: Joinpoint command-line default seed for the permutation test (nih.joinpoint run_options).
DEFAULT_SEED = 7160
DEFAULT_PERMUTATIONS = 4499


class TrendInputError(ValueError):
    """A trend series that cannot be modelled; the message says which value and why."""


def _as_series(year, rate, se=None, weights=None, *, what="rate"):
    x = np.asarray(year, dtype=float)
    y = np.asarray(rate, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise TrendInputError(
            f"year and {what} must be one-dimensional and of equal length "
            f"(got {x.shape} and {y.shape})."
        )
    if x.size < 3:
        raise TrendInputError(f"A trend needs at least 3 years; got {x.size}.")
    bad = ~np.isfinite(x) | ~np.isfinite(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TrendInputError(
            f"The {what} series has a missing value at position {i + 1} (year {year[i]!r}); "
            "drop or fill that year before fitting a trend."
        )
    if (y <= 0).any():
        i = int(np.flatnonzero(y <= 0)[0])
        raise TrendInputError(
            f"The {what} for year {x[i]:g} is {y[i]:g}; a log-linear trend needs every "
            f"{what} > 0 (SEER*Stat does not compute an APC when a rate is 0). "
            "Pool years or use a Poisson trend instead."
        )
    order = np.argsort(x, kind="stable")
    if np.any(np.diff(x[order]) == 0):
        raise TrendInputError("Each year must appear once in a trend series.")
    w = np.ones_like(y)
    if se is not None and weights is not None:
        raise TrendInputError("Give either se or weights, not both.")
    if se is not None:
        s = np.asarray(se, dtype=float)
        if s.shape != y.shape or (~np.isfinite(s) | (s <= 0)).any():
            raise TrendInputError(f"Every standard error must be a positive number, one per {what}.")
        # Var(ln R) ~ SE(R)^2 / R^2 (delta method), the SEER*Stat weighting.
        w = y**2 / s**2
    elif weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != y.shape or (~np.isfinite(w) | (w <= 0)).any():
            raise TrendInputError("Every weight must be a positive number, one per year.")
    return x[order], y[order], w[order], order


def default_max_joinpoints(n: int) -> int:
    """Joinpoint 5's default maximum number of joinpoints by number of observations.

    n <= 6: 0, 7-11: 1, 12-16: 2, 17-21: 3, 22-26: 4, 27-31: 5, 32-36: 6, >= 37: 7
    (NCI Joinpoint "Number of joinpoints" recommendation, as documented in docs/methods.md 4.3).
    """
    if n <= 6:
        return 0
    return int(min(7, (n - 7) // 5 + 1))


def admissible_joinpoint_sets(
    n: int, k: int, *, min_obs_end: int = 2, min_obs_between: int = 2
) -> np.ndarray:
    """Index positions (0..n-1) of every admissible set of k joinpoints, shape (S, k).

    Position j needs ``j >= min_obs_end`` and ``j <= n-1-min_obs_end`` (observations strictly
    between it and each end), consecutive positions need ``j2 - j1 - 1 >= min_obs_between``.
    """
    if k == 0:
        return np.zeros((1, 0), dtype=int)
    cand = np.arange(min_obs_end, n - min_obs_end)
    if cand.size < k:
        return np.zeros((0, k), dtype=int)
    sets = np.array(list(combinations(cand.tolist(), k)), dtype=int).reshape(-1, k)
    if k > 1:
        ok = (np.diff(sets, axis=1) - 1 >= min_obs_between).all(axis=1)
        sets = sets[ok]
    return sets


# --- least-squares machinery ---------------------------------------------------------

def _hinges(t: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Hinge columns (t - knot)_+ ; knots shape (S, k) -> (S, n, k)."""
    return np.maximum(t[None, :, None] - knots[:, None, :], 0.0)


def _residualiser(t: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """I - H for the weighted straight line (every model contains it)."""
    L = np.column_stack([sw, sw * t])
    q, _ = np.linalg.qr(L)
    return np.eye(t.size) - q @ q.T


class _Grid:
    """Orthonormal bases of the hinge columns (after removing the line) for all admissible sets.

    For a set s with basis Q_s of (I-H_line) W^1/2 Z_s, the weighted SSE of any response y is
    ||r0||^2 - ||Q_s' r0||^2 with r0 = (I-H_line) W^1/2 y, so the SSEs of thousands of
    permuted responses against thousands of sets are a batched matrix product.
    """

    def __init__(self, t, sw, sets):
        self.sets = sets
        M = _residualiser(t, sw)
        self.M = M
        if sets.shape[1] == 0:
            self.Qt = np.zeros((1, 0, t.size))
        else:
            Z = sw[None, :, None] * _hinges(t, t[sets])
            Z = np.einsum("ij,sjk->sik", M, Z)
            q, _ = np.linalg.qr(Z)
            self.Qt = np.ascontiguousarray(np.swapaxes(q, 1, 2))

    def min_sse(self, R0: np.ndarray, chunk: int = 192):
        """R0: residualised weighted responses (n, B). Returns (min SSE (B,), argmin set (B,))."""
        tot = np.einsum("ij,ij->j", R0, R0)
        if self.Qt.shape[1] == 0:
            return tot, np.zeros(R0.shape[1], dtype=int)
        best = np.full(R0.shape[1], -np.inf)
        arg = np.zeros(R0.shape[1], dtype=int)
        for a in range(0, self.Qt.shape[0], chunk):
            proj = np.matmul(self.Qt[a:a + chunk], R0)          # (c, k, B)
            expl = np.einsum("ckb,ckb->cb", proj, proj)
            i = expl.argmax(axis=0)
            v = expl[i, np.arange(expl.shape[1])]
            upd = v > best
            best[upd] = v[upd]
            arg[upd] = i[upd] + a
        return np.maximum(tot - best, 0.0), arg


def _fit_fixed(t, y, w, knots):
    """Continuous hinge fit; returns (coef, fitted ln y, weighted SSE)."""
    X = np.column_stack([np.ones_like(t), t] + [np.maximum(t - k, 0.0) for k in knots])
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    fit = X @ coef
    sse = float(np.sum(w * (y - fit) ** 2))
    return coef, fit, sse


def _lerman_segments(t, y, w, knots):
    """Parametric segment slope SEs after Lerman: drop the points on joinpoints and fit each
    segment its own line; pooled residual variance on n* - 2(k+1) df (NCI Joinpoint help,
    "Estimated regression coefficients")."""
    k = len(knots)
    on_jp = np.isin(t, knots)
    seg = np.searchsorted(knots, t, side="left") if k else np.zeros(t.size, dtype=int)
    keep = ~on_jp
    slopes_u = np.full(k + 1, np.nan)
    sxx = np.full(k + 1, np.nan)
    sse = 0.0
    npar = 0
    for s in range(k + 1):
        m = keep & (seg == s)
        ts, ys, ws = t[m], y[m], w[m]
        if ts.size == 0:
            continue
        tb = np.sum(ws * ts) / ws.sum()
        sxx[s] = np.sum(ws * (ts - tb) ** 2)
        if ts.size == 1 or sxx[s] == 0:
            npar += 1
            continue
        yb = np.sum(ws * ys) / ws.sum()
        b = np.sum(ws * (ts - tb) * (ys - yb)) / sxx[s]
        slopes_u[s] = b
        sse += float(np.sum(ws * (ys - yb - b * (ts - tb)) ** 2))
        npar += 2
    n_star = int(keep.sum())
    df = n_star - npar
    sigma2 = sse / df if df > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(sigma2 / sxx)
    return se, df


def _segment_slopes(coef):
    return np.cumsum(coef[1:])


@dataclass
class JoinpointResult:
    """Result of :func:`joinpoint` (attributes in the spirit of a statsmodels results object).

    ``segments`` has columns start, end, apc, lower, upper, p_value (+ slope, se); ``fitted``
    the fitted rates in input order; ``selection`` the model-selection table.
    """

    year: np.ndarray
    rate: np.ndarray
    weights: np.ndarray
    joinpoints: list
    coef: np.ndarray
    fitted: np.ndarray
    segments: pd.DataFrame
    sse: float
    df: int
    conf: float
    method: str = "fixed"
    selection: pd.DataFrame = field(default_factory=pd.DataFrame)
    tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_permutations: int = 0
    weighted: bool = False

    @property
    def n_joinpoints(self) -> int:
        return len(self.joinpoints)

    def aapc(self, start=None, end=None, conf: float | None = None) -> tuple[float, float, float]:
        """Average annual percent change over [start, end] with CI (Clegg et al. 2009).

        AAPC = 100 (exp(sum w_s b_s / sum w_s) - 1), w_s = years of segment s inside the
        interval; Var = sum w_s^2 Var(b_s) / (sum w_s)^2 (segment slopes independent under
        Lerman's SEs). Interval inside one segment: that segment's t-based CI; otherwise the
        normal quantile (Joinpoint's parametric AAPC CI).
        """
        conf = self.conf if conf is None else conf
        lo_y, hi_y = float(self.year.min()), float(self.year.max())
        start = lo_y if start is None else float(start)
        end = hi_y if end is None else float(end)
        if not (lo_y <= start < end <= hi_y):
            raise TrendInputError(
                f"AAPC interval {start:g}-{end:g} must lie within the data years {lo_y:g}-{hi_y:g} "
                "and have start < end."
            )
        seg = self.segments
        w = np.clip(np.minimum(seg["end"].to_numpy(float), end)
                    - np.maximum(seg["start"].to_numpy(float), start), 0, None)
        b = seg["slope"].to_numpy(float)
        se = seg["se"].to_numpy(float)
        bbar = float(np.sum(w * b) / w.sum())
        var = float(np.sum(w**2 * se**2) / w.sum() ** 2)
        one = int((w > 0).sum()) == 1
        if one and self.df > 0:
            q = stats.t.ppf(0.5 + conf / 2, self.df)
        else:
            q = stats.norm.ppf(0.5 + conf / 2)
        half = q * np.sqrt(var)
        return (100 * np.expm1(bbar), 100 * np.expm1(bbar - half), 100 * np.expm1(bbar + half))

    def summary(self) -> str:
        lines = [
            "Joinpoint regression (continuous piecewise log-linear; Kim et al. 2000)",
            f"Years {self.year.min():g}-{self.year.max():g}, n = {self.year.size}, "
            f"{'weighted' if self.weighted else 'constant variance'}; "
            f"selection: {self.method}"
            + (f" ({self.n_permutations} permutations)" if self.n_permutations else ""),
            f"Joinpoints: {', '.join(f'{j:g}' for j in self.joinpoints) or 'none'}",
            f"{'segment':>8} {'start':>6} {'end':>6} {'APC':>9} {'lower':>9} {'upper':>9} {'p':>8}",
        ]
        for i, r in enumerate(self.segments.itertuples(), 1):
            lines.append(
                f"{i:>8} {r.start:>6g} {r.end:>6g} {r.apc:>9.4f} {r.lower:>9.4f} "
                f"{r.upper:>9.4f} {r.p_value:>8.4f}"
            )
        a, lo, hi = self.aapc()
        lines.append(f"AAPC {self.year.min():g}-{self.year.max():g}: {a:.4f} ({lo:.4f} to {hi:.4f})")
        if not self.selection.empty:
            lines.append("Model selection:")
            lines.append(self.selection.to_string(index=False))
        if not self.tests.empty:
            lines.append("Permutation tests:")
            lines.append(self.tests.to_string(index=False))
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return f"<JoinpointResult joinpoints={self.joinpoints} method={self.method!r}>"


def _build_result(x, y_rate, w, order, knots, conf, weighted):
    t = x - x.mean()
    ly = np.log(y_rate)
    kt = np.asarray(knots, dtype=float) - x.mean()
    coef, fit, sse = _fit_fixed(t, ly, w, kt)
    se, df = _lerman_segments(t, ly, w, kt)
    slopes = _segment_slopes(coef)
    edges = np.concatenate([[x.min()], np.asarray(knots, float), [x.max()]])
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = stats.t.ppf(0.5 + conf / 2, df) if df > 0 else np.nan
        tstat = slopes / se
        p = 2 * stats.t.sf(np.abs(tstat), df) if df > 0 else np.full_like(slopes, np.nan)
    segments = pd.DataFrame({
        "start": edges[:-1],
        "end": edges[1:],
        "apc": 100 * np.expm1(slopes),
        "lower": 100 * np.expm1(slopes - tq * se),
        "upper": 100 * np.expm1(slopes + tq * se),
        "p_value": p,
        "slope": slopes,
        "se": se,
    })
    fitted = np.empty_like(fit)
    fitted[order] = np.exp(fit)
    year_in = np.empty_like(x)
    year_in[order] = x
    rate_in = np.empty_like(y_rate)
    rate_in[order] = y_rate
    w_in = np.empty_like(w)
    w_in[order] = w
    return JoinpointResult(
        year=year_in, rate=rate_in, weights=w_in, joinpoints=[float(k) for k in knots],
        coef=coef, fitted=fitted, segments=segments, sse=sse, df=df, conf=conf,
        weighted=weighted,
    )


def _wbic_r2max(t, ly, w, knots_idx):
    """Largest partial R^2 of the hinges of a k-joinpoint fit (Joinpoint WBIC help page): for
    joinpoint i, the data from the previous to the next joinpoint (or series end), the partial
    R^2 of its hinge added to a straight line."""
    k = len(knots_idx)
    if k == 0:
        return 0.0
    bnd = np.concatenate([[0], knots_idx, [t.size - 1]])
    r2 = []
    for i in range(k):
        sl = slice(bnd[i], bnd[i + 2] + 1)
        ts, ys, sw = t[sl], ly[sl], np.sqrt(w[sl])
        M = _residualiser(ts, sw)
        z = sw * np.maximum(ts - t[knots_idx[i]], 0.0)
        ry, rz = M @ (sw * ys), M @ z
        den = (ry @ ry) * (rz @ rz)
        r2.append((ry @ rz) ** 2 / den if den > 0 else 0.0)
    return float(max(r2))


def joinpoint(
    year,
    rate,
    *,
    joinpoints=None,
    max_joinpoints: int | None = None,
    min_joinpoints: int = 0,
    selection: str = "permutation",
    se=None,
    weights=None,
    conf: float = 0.95,
    alpha: float = 0.05,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = DEFAULT_SEED,
    min_obs_end: int = 2,
    min_obs_between: int = 2,
    early_stop: bool = True,
) -> JoinpointResult:
    """Joinpoint regression of ln(rate) on year (NCI Joinpoint; Kim et al. 2000, Stat Med 19:335).

    ``joinpoints`` (list of years) fits that model; otherwise the number of joinpoints
    (``min_joinpoints``..``max_joinpoints``; default maximum from Joinpoint 5's table by number
    of observations, capped by the spacing rules) is chosen by ``selection``:
    "permutation" (Kim et al. 2000 sequential permutation tests, ``n_permutations`` permuted
    data sets of the null fit's residuals, per-test level alpha/(MAX - k_a), p = (1 + #{T* >= T})
    / (1 + N)), "bic", "bic3" or "wbic" (Joinpoint's weighted BIC). ``se`` (standard errors of
    the rates) gives SEER*Stat's weighting 1/Var(ln R) = R^2/SE^2; default constant variance.

    ``early_stop``: each permutation test runs its permutations in batches of 500 and stops as
    soon as the 99.9% Clopper-Pearson interval of the permutation p-value lies wholly on one side
    of the test's level (a sequential Monte Carlo test, Besag & Clifford 1991, Biometrika
    78:301-304; the decision equals the full run's except with probability < 0.1%). Clear-cut
    tests then take 500-1,000 permutations instead of 4,499, which keeps the default maximum of
    5 joinpoints on 30 years fast; ``tests`` reports the permutations used. False = all
    ``n_permutations`` every time (the p-values Joinpoint prints).
    """
    x, y, w, order = _as_series(year, rate, se=se, weights=weights)
    weighted = se is not None or weights is not None
    n = x.size
    if joinpoints is not None:
        kn = sorted(float(j) for j in joinpoints)
        for j in kn:
            if j not in set(x.tolist()) or j in (x.min(), x.max()):
                raise TrendInputError(
                    f"Joinpoint {j:g} must be one of the observed years strictly inside "
                    f"{x.min():g}-{x.max():g}."
                )
        res = _build_result(x, y, w, order, kn, conf, weighted)
        res.method = "fixed"
        return res

    selection = selection.lower()
    if selection not in {"permutation", "bic", "bic3", "wbic"}:
        raise TrendInputError(
            f"selection must be 'permutation', 'bic', 'bic3' or 'wbic', not {selection!r}."
        )
    kmax = default_max_joinpoints(n) if max_joinpoints is None else int(max_joinpoints)
    # Cap by the spacing rules: n >= 2 e + (K-1) b + K.
    while kmax > 0 and admissible_joinpoint_sets(n, kmax, min_obs_end=min_obs_end,
                                                 min_obs_between=min_obs_between).size == 0:
        kmax -= 1
    kmin = min(int(min_joinpoints), kmax)

    t = x - x.mean()
    ly = np.log(y)
    sw = np.sqrt(w)
    grids = {
        k: _Grid(t, sw, admissible_joinpoint_sets(n, k, min_obs_end=min_obs_end,
                                                  min_obs_between=min_obs_between))
        for k in range(kmin, kmax + 1)
    }
    M = grids[kmin].M
    r0 = (M @ (sw * ly))[:, None]
    best_sse, best_set = {}, {}
    for k, g in grids.items():
        s, a = g.min_sse(r0)
        best_sse[k] = float(s[0])
        best_set[k] = g.sets[a[0]]

    rows = []
    for k in range(kmin, kmax + 1):
        sse = max(best_sse[k], 1e-300)
        bic = np.log(sse / n) + (2 * k + 2) * np.log(n) / n
        bic3 = np.log(sse / n) + (3 * k + 2) * np.log(n) / n
        r2 = _wbic_r2max(t, ly, w, best_set[k])
        wbic = np.log(sse / n) + ((2 + r2) * k + 2) * np.log(n) / n
        rows.append({"k": k, "joinpoints": ", ".join(f"{x[j]:g}" for j in best_set[k]),
                     "sse": best_sse[k], "bic": bic, "bic3": bic3, "wbic": wbic,
                     "r2_max": r2 if k else np.nan})
    table = pd.DataFrame(rows)
    tests = pd.DataFrame()
    if selection in {"bic", "bic3", "wbic"}:
        k_sel = int(table.loc[table[selection].idxmin(), "k"])
    else:
        rng = np.random.default_rng(seed)
        perms = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
        ka, kb = kmin, kmax
        trows = []
        while ka < kb:
            kn = t[best_set[ka]]
            _, fit_a, _ = _fit_fixed(t, ly, w, kn)
            res_w = sw * (ly - fit_a)
            T_obs = best_sse[ka] / max(best_sse[kb], 1e-300)
            level = alpha / (kmax - ka)
            hits = used = 0
            step = 500 if early_stop else n_permutations
            for b0 in range(0, n_permutations, step):
                pb = perms[b0:b0 + step]
                # Permute the weighted residuals of the null fit and add them to its fitted values
                # (Kim et al. 2000, section 3); in the weighted metric that is sw*fit + res_w[perm].
                Ystar = (sw * fit_a)[:, None] + res_w[pb].T
                R0 = M @ Ystar
                sse_a, _ = grids[ka].min_sse(R0)
                sse_b, _ = grids[kb].min_sse(R0)
                T_perm = sse_a / np.maximum(sse_b, 1e-300)
                # A permuted statistic equal to the observed one up to rounding counts as >=.
                hits += int(np.sum(T_perm >= T_obs * (1 - 1e-12)))
                used += len(pb)
                if early_stop and used < n_permutations:
                    lo = stats.beta.ppf(0.0005, hits, used - hits + 1) if hits else 0.0
                    hi = stats.beta.ppf(0.9995, hits + 1, used - hits) if hits < used else 1.0
                    if hi < level or lo > level:
                        break
            p = (1 + hits) / (1 + used)
            reject = bool(p < level)
            trows.append({"null_k": ka, "alt_k": kb, "p_value": p, "level": level,
                          "reject": reject, "permutations": used})
            if reject:
                ka += 1
            else:
                kb -= 1
        k_sel = ka
        tests = pd.DataFrame(trows, columns=["null_k", "alt_k", "p_value", "level", "reject", "permutations"])
    knots = [float(x[j]) for j in best_set[k_sel]]
    res = _build_result(x, y, w, order, knots, conf, weighted)
    res.method = selection
    res.selection = table
    res.tests = tests
    res.n_permutations = n_permutations if selection == "permutation" else 0
    return res

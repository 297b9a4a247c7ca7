"""Regional measures, empirical Bayes smoothing and spatial autocorrelation for disease maps.

Methods (see docs/methods.md section 6):

- SIR = O/E with exact Poisson limits (Garwood 1936; chi-square form, methods sheet 3.2).
- Empirical Bayes (Poisson-gamma) smoothing: Clayton & Kaldor (1987, Biometrics 43:671) model
  ``O_i ~ Poisson(theta_i E_i)``, ``theta_i ~ Gamma(mean m, variance A)`` with Marshall's (1991,
  Appl Stat 40:283) moment estimators ``m = sum O / sum E``, ``s2 = sum E_i (r_i - m)^2 / sum E``,
  ``A = max(0, s2 - m / mean(E))``. Posterior ``theta_i | O_i ~ Gamma(m^2/A + O_i, rate m/A + E_i)``,
  so the smoothed SIR is ``m + A/(A + m/E_i) (r_i - m)`` and ``P(theta_i > 1)`` its upper tail.
  The local version (Marshall 1991 "local" estimator; esda ``Spatial_Empirical_Bayes``) takes m
  and A over each area and its contiguous neighbours.
- Global Moran's I with permutation inference (Moran 1950; Cliff & Ord 1981) and, for rates, the
  empirical Bayes index of Assuncao & Reis (1999, Stat Med 18:2147), as PySAL esda and spdep.
- Local Moran (LISA, Anselin 1995, Geogr Anal 27:93) with conditional permutation (esda's
  conventions). Permutations use local generators (``np.random.default_rng(seed)``).

Every function works on arrays aligned with the ids of a PySAL weights object; frames are indexed
by the region code (``schema.REGION``).
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
from scipy import sparse, stats

from analytics import schema
from analytics.glm import CountFit, fit_negbin
from analytics.intervals import check_choice

log = logging.getLogger(__name__)

__all__ = [
    "contiguity_weights", "smooth_sir", "moran", "lisa", "regional_measures", "sir_limits",
    "blank_suppressed", "aggregate_risk_factors", "read_reference_rates", "dissolve_regions", "MoranResult", "LISA_LABELS", "assuncao_reis",
]

LISA_LABELS = {1: "high-high", 2: "low-high", 3: "low-low", 4: "high-low"}   # PySAL quadrant codes
NOT_SIGNIFICANT = "not significant"


# --------------------------------------------------------------------------- weights
def _log_caught(caught, where: str) -> list[str]:
    """Warnings raised inside a library call, passed to this module's logger (never dropped)."""
    msgs = [f"{where}: {w.category.__name__}: {w.message}" for w in caught]
    for m in msgs:
        log.info(m)
    return msgs


def _projected(regions: gpd.GeoDataFrame) -> gpd.GeoSeries:
    geom = regions.geometry
    if geom.crs is not None and geom.crs.is_geographic:
        geom = geom.to_crs(regions.estimate_utm_crs())
    return geom


def contiguity_weights(regions: gpd.GeoDataFrame, *, key: str = schema.REGION,
                       islands: str = "nearest", connect_components: bool = False) -> libpysal.weights.W:
    """Queen contiguity weights (binary) with ids = the region codes in ``regions[key]``.

    Islands (areas sharing no boundary point with any other) break local smoothing and make
    row-standardised Moran's I undefined for them, so with ``islands="nearest"`` (default) each
    island is linked, symmetrically, to the nearest area by boundary distance (in a UTM projection
    when the data are in degrees). ``islands="keep"`` leaves them unlinked.

    A country can also fall apart into disconnected components without islands (Azerbaijan's
    Nakhchivan exclave: its districts neighbour each other but nothing on the main territory).
    That is a true feature of the geography and is kept by default (Moran's I and the smoothers are
    well defined); ``connect_components=True`` links each smaller component to the main one by the
    closest pair of areas. What was added is listed in ``w.added_links`` (pairs of ids).
    """
    check_choice("island rule", islands, ("nearest", "keep"))
    if key not in regions.columns:
        raise ValueError(f"The regions table has no column {key!r} (region code).")
    codes = regions[key].astype(str).tolist()
    if len(set(codes)) != len(codes):
        dup = pd.Series(codes)[pd.Series(codes).duplicated()].iloc[0]
        raise ValueError(f"Region code {dup!r} appears more than once in the regions table (column {key!r}).")
    g = regions.reset_index(drop=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wq = libpysal.weights.Queen.from_dataframe(g, use_index=True, silence_warnings=True)
    _log_caught(caught, "libpysal Queen")
    neigh = {codes[i]: [codes[j] for j in wq.neighbors[i]] for i in range(len(codes))}
    added: list[tuple[str, str]] = []
    geom = None

    def link(a: str, b: str) -> None:
        neigh[a].append(b)
        neigh[b].append(a)
        added.append((a, b))

    if islands == "nearest" and len(codes) > 1:
        isl = [i for i in range(len(codes)) if not wq.neighbors[i]]
        if isl:
            geom = _projected(g)
            for i in isl:
                d = np.array(geom.distance(geom.iloc[i]), dtype=float)
                d[i] = np.inf
                j = int(np.argmin(d))
                if codes[j] not in neigh[codes[i]]:
                    link(codes[i], codes[j])
    if connect_components:
        geom = _projected(g) if geom is None else geom
        while True:
            w_now = libpysal.weights.W(neigh, silence_warnings=True)
            if w_now.n_components <= 1:
                break
            comp = np.asarray(w_now.component_labels)
            order = [w_now.id2i[c] for c in codes]
            lab = comp[order]
            main = np.bincount(lab).argmax()
            other = [i for i in range(len(codes)) if lab[i] != main and lab[i] == lab[lab != main][0]]
            inside = np.flatnonzero(lab == main)
            best = min(((geom.iloc[inside].distance(geom.iloc[i]).min(), i) for i in other))
            i = best[1]
            j = inside[int(np.argmin(geom.iloc[inside].distance(geom.iloc[i]).to_numpy()))]
            link(codes[i], codes[j])
    w = libpysal.weights.W(neigh, id_order=codes, silence_warnings=True)
    w.added_links = added
    return w


def _binary_with_self(w: libpysal.weights.W) -> sparse.csr_matrix:
    b = (w.sparse != 0).astype(float)
    return (b + sparse.identity(w.n, format="csr")).tocsr()


def _align(values, w: libpysal.weights.W | None, name: str) -> np.ndarray:
    """Values as a float array in the order of ``w.id_order`` (Series are matched on their index)."""
    if isinstance(values, pd.Series) and w is not None and set(map(str, values.index)) == set(map(str, w.id_order)):
        s = values.copy()
        s.index = s.index.map(str)
        return s.reindex([str(i) for i in w.id_order]).to_numpy(dtype=float)
    arr = np.asarray(values, dtype=float)
    if w is not None and arr.shape[0] != w.n:
        raise ValueError(f"{name} has {arr.shape[0]} values but the weights have {w.n} areas.")
    return arr


# --------------------------------------------------------------------------- SIR
def sir_limits(observed, expected, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson limits of O/E: ``chi2(a/2, 2O)/2E`` and ``chi2(1-a/2, 2O+2)/2E`` (Garwood 1936).

    O = 0 gives a lower limit of 0 (scipy returns NaN for zero degrees of freedom)."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    a = 1 - conf
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(o > 0, stats.chi2.ppf(a / 2, 2 * o) / 2, 0.0) / e
        hi = stats.chi2.ppf(1 - a / 2, 2 * o + 2) / 2 / e
    bad = ~(np.isfinite(o) & (e > 0))
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def _eb_moments(o_sum, e_sum, o2_over_e_sum, n_areas):
    """Marshall (1991) moment estimates over a set of areas given sums of O, E and O^2/E.

    s2 = sum E (r - m)^2 / sum E expands to (sum O^2/E - 2 m sum O + m^2 sum E) / sum E."""
    with np.errstate(divide="ignore", invalid="ignore"):
        m = o_sum / e_sum
        s2 = (o2_over_e_sum - 2 * m * o_sum + m * m * e_sum) / e_sum
        a = s2 - m / (e_sum / n_areas)
    return m, np.maximum(a, 0.0)


def _posterior(o, e, m, a):
    """Smoothed SIR and P(theta > 1) under the Gamma(mean m, variance A) prior."""
    with np.errstate(divide="ignore", invalid="ignore"):
        smoothed = np.where(a > 0, (m * m + a * o) / (m + a * e), m)
        shape = m * m / a + o
        rate = m / a + e
        p = stats.gamma.sf(1.0, shape, scale=1.0 / rate)
    # A = 0: the prior is a point mass at m, so theta_i = m for every area
    p = np.where(a > 0, p, np.where(m > 1, 1.0, np.where(m < 1, 0.0, 0.5)))
    bad = ~(np.isfinite(o) & (e > 0))
    return np.where(bad, np.nan, smoothed), np.where(bad, np.nan, p)


def _nb_ml_prior(o: np.ndarray, e: np.ndarray) -> tuple[float, float, CountFit]:
    """Gamma prior (mean m, variance A) by negative binomial maximum likelihood: ``O ~ NB2`` with
    offset ``log E`` and an intercept only (Clayton & Kaldor 1987; SpatialEpi ``eBayes`` uses
    ``MASS::glm.nb``), fitted by :func:`analytics.glm.fit_negbin`. NB2 size theta is the prior's
    shape, so ``A = m^2 / theta``. Without overdispersion the estimate is on the boundary
    theta = inf: ``m = sum O / sum E`` and ``A = 0`` (every area shrunk to m)."""
    ok = np.isfinite(o) & (e > 0)
    fit = fit_negbin(o[ok], np.ones((int(ok.sum()), 1)), np.log(e[ok]))
    m = float(np.exp(fit.params[0]))
    return m, m * m * fit.alpha, fit


def smooth_sir(observed, expected, *, method: str = "global", w: libpysal.weights.W | None = None,
               estimator: str = "moments") -> pd.DataFrame:
    """Poisson-gamma empirical Bayes smoothed SIRs (Clayton & Kaldor 1987; Marshall 1991 moments).

    ``method="global"`` shrinks every SIR towards the overall ratio ``m = sum O / sum E`` by the
    weight ``A / (A + m/E_i)``; ``method="local"`` estimates m and A from each area and its
    neighbours in the PySAL weights ``w`` (Marshall's local estimator). Areas with no neighbours
    in ``w`` fall back to the global prior. Returns a frame (indexed like ``observed`` if it is a
    Series, else by ``w.id_order`` or position) with observed, expected, sir, smoothed, prob_gt_1
    (posterior probability that the relative risk exceeds 1), prior_mean, prior_var and shrinkage
    (the weight on the area's own SIR). ``estimator="ml"`` (global only) estimates the gamma prior
    by negative binomial maximum likelihood instead of Marshall's moments (prior variance 0, full
    shrinkage, when the counts are not overdispersed). ``attrs`` record ``estimator``,
    ``converged``, ``iterations`` and the fitting ``warnings``.
    """
    check_choice("smoothing method", method, ("global", "local"))
    check_choice("prior estimator", estimator, ("moments", "ml"))
    if estimator == "ml" and method != "global":
        raise ValueError("The maximum likelihood prior is global; use estimator='moments' for local smoothing.")
    if method == "local" and w is None:
        raise ValueError("Local smoothing needs neighbour weights 'w' (see contiguity_weights).")
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    if method == "local" and o.shape[0] != w.n:
        raise ValueError(f"observed has {o.shape[0]} values but the weights have {w.n} areas.")
    if method == "local" and isinstance(observed, pd.Series):
        # match on region codes so a frame in any order smooths with the right neighbours
        pos = observed.index.map(str).get_indexer([str(i) for i in w.id_order])
        if (pos >= 0).all():
            o = o[pos]
            e = (expected.reindex(observed.index).to_numpy(dtype=float) if isinstance(expected, pd.Series)
                 else e)[pos]
    if o.shape != e.shape:
        raise ValueError(f"observed has {o.shape[0]} values but expected has {e.shape[0]}.")
    if np.any(o[np.isfinite(o)] < 0) or np.any(e[np.isfinite(e)] < 0):
        raise ValueError("Observed and expected counts must not be negative.")
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    oz, ez = np.where(ok, o, 0.0), np.where(ok, e, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        o2e = np.where(ok, oz * oz / np.where(ez > 0, ez, 1.0), 0.0)
    m_g, a_g = _eb_moments(oz.sum(), ez.sum(), o2e.sum(), ok.sum())
    fit = None
    if estimator == "ml":
        m_g, a_g, fit = _nb_ml_prior(np.where(ok, o, np.nan), np.where(ok, e, 0.0))
    if method == "global":
        m, a = np.full(o.shape, m_g), np.full(o.shape, a_g)
    else:
        b = _binary_with_self(w)
        cnt = b @ ok.astype(float)
        m, a = _eb_moments(b @ oz, b @ ez, b @ o2e, cnt)
        # no neighbours, or no cases in the whole neighbourhood (m = A = 0: esda returns 0/0 = NaN)
        lonely = (cnt <= 1) | ~np.isfinite(m) | (m <= 0)
        m, a = np.where(lonely, m_g, m), np.where(lonely, a_g, a)
    smoothed, p = _posterior(o, e, m, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        sir = np.where(ok, o / e, np.nan)
        shrink = np.where(a > 0, a / (a + m / e), 0.0)
    if isinstance(observed, pd.Series) and method == "global":
        index = observed.index
    elif w is not None and method == "local":
        index = pd.Index([str(i) for i in w.id_order], name=schema.REGION)
    else:
        index = pd.RangeIndex(len(o))
    out = pd.DataFrame({"observed": o, "expected": e, "sir": sir, "smoothed": smoothed,
                        "prob_gt_1": p, "prior_mean": m, "prior_var": a,
                        "shrinkage": np.where(ok, shrink, np.nan)}, index=index)
    out.attrs.update(estimator=estimator, method=method,
                     converged=True if fit is None else bool(fit.converged),
                     warnings=[] if fit is None else list(fit.warnings),
                     iterations=0 if fit is None else int(fit.iterations))
    return out


# --------------------------------------------------------------------------- Moran
@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I: statistic, expectation under no autocorrelation, permutation p-value."""

    I: float
    expected: float
    p_value: float          # pseudo p-value from permutations, (extreme + 1)/(permutations + 1)
    z: float                # z-score of I against the permutation distribution
    p_normal: float         # two-sided p-value under the normality assumption
    permutations: int
    n: int
    method: str             # "Moran" or "EB Moran (Assuncao-Reis)"
    variance_normal: float = np.nan        # Var(I) under normality (Cliff & Ord 1981)
    variance_randomisation: float = np.nan  # Var(I) under randomisation (spdep moran.test default)
    p_randomisation: float = np.nan         # two-sided p-value under randomisation

    def as_series(self) -> pd.Series:
        return pd.Series(self.__dict__)


def _row_standardised(w: libpysal.weights.W) -> sparse.csr_matrix:
    """Row-standardised copy of the weights as a sparse matrix (islands stay zero rows); the
    caller's W is not touched (esda would set ``w.transform`` on a shared object)."""
    m = sparse.csr_matrix(w.sparse, dtype=float)
    rs = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, rs, out=np.zeros_like(rs), where=rs != 0)
    return sparse.diags(inv) @ m


def assuncao_reis(events, population) -> np.ndarray:
    """Empirical Bayes standardised rates of Assuncao & Reis (1999, Stat Med 18:2147):
    ``(r_i - b) / sqrt(a + b / n_i)`` with Marshall's global moments; ``a + b/n_i`` below 0 is
    replaced by ``b / n_i`` (as the paper and esda ``assuncao_rate``; spdep ``EBImoran.mc`` first
    sets a negative ``a`` to 0, docs/methods.md 9a)."""
    e = np.asarray(events, dtype=float)
    n = np.asarray(population, dtype=float)
    r = e / n
    b = e.sum() / n.sum()
    s2 = np.sum(n * (r - b) ** 2) / n.sum()
    a = s2 - b / n.mean()
    v = a + b / n
    v = np.where(v < 0, b / n, v)
    return (r - b) / np.sqrt(v)


def _moran_moments(z: np.ndarray, W: sparse.csr_matrix) -> dict:
    """I, E(I) and its variances under normality and randomisation (Cliff & Ord 1981, ch. 2;
    the formulas of spdep ``moran.test`` and esda ``Moran``)."""
    n = z.size
    s0 = float(W.sum())
    sym = W + W.T
    s1 = 0.5 * float(sym.multiply(sym).sum())
    s2 = float(np.sum((np.asarray(W.sum(axis=1)).ravel() + np.asarray(W.sum(axis=0)).ravel()) ** 2))
    z2 = float(z @ z)
    i_stat = n / s0 * float(z @ (W @ z)) / z2
    ei = -1.0 / (n - 1)
    vn = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n - 1) * (n + 1) * s0 * s0) - ei * ei
    k = (np.sum(z**4) / n) / (z2 / n) ** 2
    num = (n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0)
           - k * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0))
    vr = num / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - ei * ei if n > 3 else np.nan
    return dict(I=i_stat, EI=ei, VN=vn, VR=vr, s0=s0, z2=z2)


def moran(values, w: libpysal.weights.W, *, population=None, permutations: int = 999,
          seed: int = 12345) -> MoranResult:
    """Global Moran's I (Moran 1950; Cliff & Ord 1981) with row-standardised weights and a
    two-sided permutation test.

    With ``population`` the values are event counts and the statistic is the empirical Bayes
    index of Assuncao & Reis (1999): Moran's I of :func:`assuncao_reis` (esda
    ``Moran_Rate(adjusted=True)``, spdep ``EBImoran.mc``), which removes the extra variance of
    rates in small areas. Permutations draw from a local generator seeded with ``seed``
    (numpy's global generator is never touched); the pseudo p-value is esda's,
    ``(min(#{I* >= I}, #{I* < I}) + 1) / (permutations + 1)``.
    """
    y = _align(values, w, "values")
    if population is None:
        z, name = y, "Moran"
    else:
        z, name = assuncao_reis(y, _align(population, w, "population")), "EB Moran (Assuncao-Reis)"
    z = z - z.mean()
    W = _row_standardised(w)
    mo = _moran_moments(z, W)
    i_stat, ei = mo["I"], mo["EI"]
    z_norm = (i_stat - ei) / np.sqrt(mo["VN"])
    z_rand = (i_stat - ei) / np.sqrt(mo["VR"]) if mo["VR"] > 0 else np.nan
    p_sim = z_sim = np.nan
    if permutations:
        rng = np.random.default_rng(seed)
        zs = rng.permuted(np.broadcast_to(z, (permutations, z.size)), axis=1)
        sim = z.size / mo["s0"] * np.einsum("ij,ij->i", zs, (W @ zs.T).T) / mo["z2"]
        larger = int(np.sum(sim >= i_stat))
        larger = min(larger, permutations - larger)
        p_sim = (larger + 1.0) / (permutations + 1.0)
        sd = sim.std()
        z_sim = (i_stat - sim.mean()) / sd if sd > 0 else np.nan
    return MoranResult(float(i_stat), float(ei), float(p_sim), float(z_sim),
                       float(2 * stats.norm.sf(abs(z_norm))), int(permutations), int(w.n), name,
                       float(mo["VN"]), float(mo["VR"]), float(2 * stats.norm.sf(abs(z_rand))))


_LISA_CHUNK = 20_000_000   # elements of the (areas x permutations x neighbours) index block


def _conditional_permutations(z: np.ndarray, W: sparse.csr_matrix, permutations: int,
                              rng: np.random.Generator) -> np.ndarray:
    """Spatial lags of area i under conditional permutation (Anselin 1995): i keeps its value,
    its neighbours' values are drawn without replacement from the other n - 1 areas. One draw
    of neighbour ranks per permutation is shared by all areas, as esda's ``crand``; vectorised
    over areas in chunks. Returns (n, permutations)."""
    n = z.size
    card = np.diff(W.indptr)
    kmax = int(card.max()) if n else 0
    if kmax == 0:
        return np.zeros((n, permutations))
    ids = np.argsort(rng.random((permutations, n - 1)), axis=1)[:, :kmax]     # (P, K)
    wpad = np.zeros((n, kmax))
    rows = np.repeat(np.arange(n), card)
    pos = np.arange(W.nnz) - np.repeat(W.indptr[:-1], card)
    wpad[rows, pos] = W.data
    out = np.empty((n, permutations))
    step = max(1, _LISA_CHUNK // max(1, permutations * kmax))
    for lo in range(0, n, step):            # chunks of areas, not a loop per area
        i = np.arange(lo, min(n, lo + step))[:, None, None]
        others = ids[None, :, :] + (ids[None, :, :] >= i)                      # skip area i itself
        out[lo:lo + step] = np.einsum("ipk,ik->ip", z[others], wpad[lo:lo + step])
    return out


def lisa(values, w: libpysal.weights.W, *, population=None, permutations: int = 999, seed: int = 12345,
         alpha: float = 0.05, fdr: bool = False) -> pd.DataFrame:
    """Local Moran (LISA) clusters, Anselin (1995), with conditional permutation (one-sided
    pseudo p-values, esda's ``Moran_Local`` convention) drawn from a local generator seeded
    with ``seed`` (numpy's global generator is never touched).

    ``Ii = (n - 1) z_i sum_j w_ij z_j / sum z^2`` with row-standardised weights (GeoDa / esda;
    spdep ``localmoran`` divides by n instead of n - 1). ``cluster`` is "high-high", "low-low",
    "high-low", "low-high" where the pseudo p-value is below ``alpha`` (below the
    Benjamini-Hochberg threshold when ``fdr=True``), else "not significant". With ``population``
    the EB-standardised rates of Assuncao & Reis are used (esda ``Moran_Local_Rate``).
    """
    y = _align(values, w, "values")
    if population is not None:
        y = assuncao_reis(y, _align(population, w, "population"))
    z = y - y.mean()
    W = _row_standardised(w)
    lag = W @ z
    z2 = float(z @ z)
    n = z.size
    ii = (n - 1) * z * lag / z2
    if permutations:
        sim = (n - 1) * z[:, None] * _conditional_permutations(z, W, permutations, np.random.default_rng(seed)) / z2
        larger = np.sum(sim >= ii[:, None], axis=1)
        larger = np.minimum(larger, permutations - larger)
        p = (larger + 1.0) / (permutations + 1.0)
        p = np.where((np.diff(W.indptr) > 0) & np.isfinite(ii), p, np.nan)   # islands: no test
    else:
        p = np.full(n, np.nan)
    if fdr:
        srt = np.sort(p)
        passed = srt <= alpha * np.arange(1, len(p) + 1) / len(p)
        cut = srt[passed].max() if passed.any() else -1.0
        sig = p <= cut
    else:
        sig = p < alpha
    zp, lp = z > 0, lag > 0
    q = np.where(zp & lp, 1, np.where(~zp & lp, 2, np.where(~zp & ~lp, 3, 4)))
    quad = pd.Series(q).map(LISA_LABELS).to_numpy()
    return pd.DataFrame({"Ii": ii, "quadrant": quad, "p_value": p,
                         "cluster": np.where(sig, quad, NOT_SIGNIFICANT)},
                        index=pd.Index([str(i) for i in w.id_order], name=schema.REGION))


CLUSTER_PERMUTATIONS = 999    # the Maps page's Moran's I and LISA (GeoDa's and esda's default)
CLUSTER_SEED = 12345


def clusters(cases, expected, w: libpysal.weights.W, *, permutations: int = CLUSTER_PERMUTATIONS,
             seed: int = CLUSTER_SEED, progress: Callable[[float, str], None] | None = None
             ) -> tuple[MoranResult, pd.DataFrame]:
    """The empirical Bayes Moran's I (:func:`moran`) and LISA (:func:`lisa`) of regional
    ``cases`` against their ``expected`` counts, both with ``permutations`` draws seeded with
    ``seed`` (each its own generator, so the pair equals the two calls made separately);
    ``progress(fraction, step)`` is told between them (a progress bar)."""
    moran_res = moran(cases, w, population=expected, permutations=permutations, seed=seed)
    if progress is not None:
        progress(0.5, "lisa")
    return moran_res, lisa(cases, w, population=expected, permutations=permutations, seed=seed)


# --------------------------------------------------------------------------- regional measures
def _asr(cells: pd.DataFrame, keys: list[str], age: str, standard, conf: float, multiplier: float,
         method: str = "tiwari") -> pd.DataFrame:
    """ASR per key from the rates engine (``rates.dsr``, Tiwari gamma limits by default).

    ``standard`` is a catalogue name or a frame with the age-group column and ``weight``."""
    from analytics import rates
    if isinstance(standard, pd.DataFrame):
        standard = standard.set_index(age)["weight"]
    res = rates.dsr(cells.rename(columns={"cases": schema.COUNT, "py": schema.POPULATION}),
                    count=schema.COUNT, population=schema.POPULATION, standard=standard, age=age,
                    by=keys, conf=conf, multiplier=multiplier, method=method)
    return res.set_index(keys)[["value", "lower", "upper"]].rename(
        columns={"value": "asr", "lower": "asr_lower", "upper": "asr_upper"})


def _reference_keys(counts, population, reference, by, age, count, within) -> list[str]:
    """Columns beyond ``by`` and age that the expected counts must be built by: the group of
    ``reference_within``, or the strata (e.g. sex) a user-supplied reference table is split by."""
    if within is not None:
        for name, frame in (("counts", counts), ("population", population)):
            if within not in frame.columns:
                raise ValueError(f"The {name} table has no column {within!r} to pool the reference rates within.")
        if reference is not None:
            raise ValueError("Give either a reference table or reference_within, not both.")
        return [within]
    if reference is None:
        return []
    need = {"rate"} if "rate" in reference.columns else {count, schema.POPULATION}
    missing = [c for c in [age, *by, *need] if c not in reference.columns]
    if missing:
        raise ValueError(f"The reference rates table has no column {', '.join(map(repr, missing))} "
                         f"(expected {age!r} and 'rate' per person-year, or {count!r} and 'population').")
    extra = [c for c in reference.columns if c not in {age, *by, "rate", count, schema.POPULATION}
             and c in counts.columns and c in population.columns]
    if schema.SEX in reference.columns and schema.SEX not in extra and schema.SEX not in by:
        raise ValueError("The reference rates are given by sex but the counts or population are not.")
    return extra


def regional_measures(counts: pd.DataFrame, population: pd.DataFrame, *, reference: pd.DataFrame | None = None,
                      standard="world_segi1960", by: Sequence[str] = (), w: libpysal.weights.W | None = None,
                      region: str = schema.REGION, age: str = schema.AGE_GROUP, count: str = schema.COUNT,
                      conf: float = 0.95, multiplier: float = 100_000, suppress_below: int = 5,
                      unreliable_below: int = 10, ci_method: str = "tiwari",
                      reference_within: str | None = None) -> pd.DataFrame:
    """All regional measures for a map, one row per region (and stratum of ``by``).

    Inputs are tidy: ``counts`` (region, age group, ``count``, strata) and ``population``
    (region, age group, ``population``, strata); they are summed over any other columns.
    ``standard=None`` skips direct standardisation (ASR columns NaN).
    Expected counts use indirect standardisation (methods sheet 3.1): the age-specific rates of
    ``reference`` (columns age, [strata], ``rate`` per person-year, or ``count`` and
    ``population``), or, when None, the pooled rates of all regions (internal standardisation,
    so sum O = sum E in each stratum). A ``reference`` table may also be split by columns that
    ``counts`` and ``population`` carry (typically ``sex``: age- and sex-specific rates); expected
    counts are then built cell by cell. ``reference_within`` (a column of both inputs, e.g.
    ``parent_code``) pools the reference rates within each group instead of nationally, so each
    district is compared with its own economic region.

    Columns: region, strata, cases, person_years, crude_rate, asr, asr_lower, asr_upper (direct
    standardisation to ``standard`` by ``rates.dsr``, CI ``ci_method``), expected, sir,
    sir_lower, sir_upper (exact), smoothed (global Poisson-gamma EB), smoothed_local (neighbours in ``w``; NaN without ``w``),
    prob_gt_1 (global EB posterior), significance ("higher" / "lower" / "not significant"),
    flag ("suppressed" when 0 < cases < ``suppress_below``, "unreliable" when cases <
    ``unreliable_below``, else "") and reason (a sentence for the hover).
    """
    from analytics.rates import DSR_METHODS
    check_choice("ASR CI method", ci_method, DSR_METHODS)
    by = list(by)
    for name, frame, need in (("counts", counts, [region, age, count]),
                              ("population", population, [region, age, schema.POPULATION])):
        missing = [c for c in need + by if c not in frame.columns]
        if missing:
            raise ValueError(f"The {name} table has no column {', '.join(map(repr, missing))}.")
    extra = _reference_keys(counts, population, reference, by, age, count, reference_within)
    cells_keys = by + extra + [region, age]
    o = counts.groupby(cells_keys, sort=False, observed=True)[count].sum().rename("cases")
    p = population.groupby(cells_keys, sort=False, observed=True)[schema.POPULATION].sum().rename("py")
    cells = pd.concat([o, p], axis=1).fillna({"cases": 0.0}).reset_index()
    orphan = cells["py"].isna() & (cells["cases"] > 0)
    if orphan.any():
        r = cells.loc[orphan].iloc[0]
        raise ValueError(f"{int(orphan.sum())} region/age cells have cases but no population "
                         f"(first: region {r[region]!r}, age group {r[age]!r}); check the population file.")
    cells = cells.dropna(subset=["py"])
    if reference_within is not None:
        split = cells.groupby([region], observed=True)[reference_within].nunique()
        if (split > 1).any():
            raise ValueError(f"Region {split[split > 1].index[0]!r} lies in more than one {reference_within!r} group.")
    ref_keys = by + extra + [age]
    if reference is None:   # internal standardisation: pooled rates (within each group when asked)
        ref = cells.groupby(ref_keys, observed=True)[["cases", "py"]].sum()
        ref_rate = (ref["cases"] / ref["py"]).rename("ref_rate").reset_index()
    else:
        if "rate" in reference.columns:
            ref_rate = reference[ref_keys + ["rate"]].rename(columns={"rate": "ref_rate"})
        else:
            rr = reference.groupby(ref_keys, observed=True)[[count, schema.POPULATION]].sum()
            ref_rate = (rr[count] / rr[schema.POPULATION]).rename("ref_rate").reset_index()
        ref_rate = ref_rate.astype({c: cells[c].dtype for c in ref_keys if c in cells.columns}, errors="ignore")
        if ref_rate.duplicated(ref_keys).any():
            d = ref_rate.loc[ref_rate.duplicated(ref_keys)].iloc[0]
            raise ValueError(f"The reference rates give more than one rate for {', '.join(f'{c} {d[c]!r}' for c in ref_keys)}.")
    cells = cells.merge(ref_rate, on=ref_keys, how="left")
    gap = cells["ref_rate"].isna() & (cells["py"] > 0)
    if reference is not None and gap.any():
        r = cells.loc[gap].iloc[0]
        raise ValueError("The reference rates have no rate for " + ", ".join(
            f"{c} {r[c].item() if hasattr(r[c], 'item') else r[c]!r}" for c in ref_keys)
                         + "; give a rate (0 if none) for every age group" + (" and sex" if extra else "") + ".")
    cells["exp"] = cells["py"] * cells["ref_rate"].fillna(0.0)
    keys = by + [region]
    out = cells.groupby(keys, sort=False, observed=True)[["cases", "py", "exp"]].sum()
    out.columns = ["cases", "person_years", "expected"]
    if standard is None:   # e.g. a single age band: no direct standardisation
        out[["asr", "asr_lower", "asr_upper"]] = np.nan
    else:
        asr_cells = (cells.groupby(keys + [age], sort=False, observed=True)[["cases", "py"]].sum().reset_index()
                     if extra else cells)
        out = out.join(_asr(asr_cells, keys, age, standard, conf, multiplier, ci_method))
    out = out.reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["crude_rate"] = np.where(out["person_years"] > 0, out["cases"] / out["person_years"] * multiplier, np.nan)
        out["sir"] = np.where(out["expected"] > 0, out["cases"] / out["expected"], np.nan)
    out["sir_lower"], out["sir_upper"] = sir_limits(out["cases"], out["expected"], conf)
    # smoothing per stratum, all strata at once: regions x strata matrices
    strata = out[by].astype(str).agg("|".join, axis=1) if by else pd.Series("all", index=out.index)
    out["_stratum"] = strata.to_numpy()
    out["smoothed"] = np.nan
    out["prob_gt_1"] = np.nan
    out["smoothed_local"] = np.nan
    for name in out["_stratum"].unique():   # strata are few (sex x site); regions are vectorised
        sel = out["_stratum"] == name
        sm = smooth_sir(out.loc[sel, "cases"].to_numpy(), out.loc[sel, "expected"].to_numpy())
        out.loc[sel, "smoothed"] = sm["smoothed"].to_numpy()
        out.loc[sel, "prob_gt_1"] = sm["prob_gt_1"].to_numpy()
        if w is not None:
            sub = out.loc[sel].set_index(out.loc[sel, region].astype(str))
            ids = [str(i) for i in w.id_order]
            o_al = sub["cases"].reindex(ids).fillna(0.0)
            e_al = sub["expected"].reindex(ids)
            loc = smooth_sir(o_al, e_al.to_numpy(), method="local", w=w)
            out.loc[sel, "smoothed_local"] = loc["smoothed"].reindex(sub.index).to_numpy()
    out = out.drop(columns="_stratum")
    out["significance"] = np.where(out["sir_lower"] > 1, "higher",
                                   np.where(out["sir_upper"] < 1, "lower", NOT_SIGNIFICANT))
    out.loc[out["sir"].isna(), "significance"] = "no data"
    suppressed = (out["cases"] > 0) & (out["cases"] < suppress_below)
    unreliable = ~suppressed & (out["cases"] < unreliable_below)
    out["flag"] = np.where(suppressed, "suppressed", np.where(unreliable, "unreliable", ""))
    out["reason"] = np.where(
        suppressed, f"fewer than {suppress_below} cases: counts and rates not shown",
        np.where(unreliable, f"fewer than {unreliable_below} cases: rates unreliable", ""))
    cols = keys + ["cases", "person_years", "crude_rate", "asr", "asr_lower", "asr_upper", "expected",
                   "sir", "sir_lower", "sir_upper", "smoothed", "smoothed_local", "prob_gt_1",
                   "significance", "flag", "reason"]
    return out[cols].reset_index(drop=True)


SUPPRESSED_COLUMNS = ["cases", "crude_rate", "asr", "asr_lower", "asr_upper", "sir", "sir_lower", "sir_upper",
                      "smoothed", "smoothed_local", "prob_gt_1"]


def blank_suppressed(measures: pd.DataFrame, *, k: int | None = None, region: str = schema.REGION,
                     by: Sequence[str] = ()) -> pd.DataFrame:
    """A copy of :func:`regional_measures` output for publication.

    Every statistic derived from a suppressed count is blanked (methods sheet 8: derived
    statistics inherit suppression; even the smoothed SIR gives the count back through
    ``(m^2 + A O)/(m + A E)``). With ``k`` (the primary threshold), complementary suppression
    is added through ``analytics.disclosure.suppress`` over the regions of each stratum of ``by``:
    a single suppressed region could otherwise be recovered from the published total; those rows
    get ``flag = "suppressed"`` and ``suppression = "complementary"``. Expected counts and
    person-years stay: they do not depend on the region's cases.
    """
    out = measures.copy()
    out["suppression"] = np.where(out["flag"] == "suppressed", "primary", "")
    if k is not None:
        from analytics import disclosure
        tab = out[[region, *by, "cases"]].copy()
        tab["_row"] = "all"
        tab["cases"] = tab["cases"].where(out["flag"] != "suppressed", 1)   # primary cells stay primary
        res = disclosure.suppress(tab, k=k, count="cases", rows=["_row"], cols=[region], layers=list(by) or None,
                                  derived=[])
        comp = (res["suppression"] == "complementary").to_numpy()
        out.loc[comp, "flag"] = "suppressed"
        out.loc[comp, "suppression"] = "complementary"
        out.loc[comp, "reason"] = "suppressed so that a small count elsewhere cannot be worked out from the total"
    hide = out["flag"] == "suppressed"
    cols = [c for c in SUPPRESSED_COLUMNS if c in out.columns]
    out[cols] = out[cols].astype(float)
    out.loc[hide, cols] = np.nan
    out.loc[hide, "significance"] = "no data"
    return out


# --------------------------------------------------------------------------- risk factors by level
def aggregate_risk_factors(risk_factors: pd.DataFrame, regions: pd.DataFrame, population: pd.DataFrame | None = None,
                           *, to: str = schema.PARENT, region: str = schema.REGION) -> pd.DataFrame:
    """District risk factors aggregated to a coarser level (economic regions by default).

    Each indicator's value is the population-weighted mean of its districts' values, weights =
    the districts' total person-years in ``population`` (region, ``population``; summed over any
    other columns), which is exact for prevalences and means of individuals (share of smokers,
    mean BMI), the usual content of a risk-factor table. Without ``population`` the plain mean is
    used. It is NOT right for totals (numbers of people): sum those before loading. Districts with
    no value for an indicator are left out of its mean (the weights are renormalised), and
    ``n_regions`` says how many districts went into each value. Columns: ``to``, indicator, value,
    unit (when given), n_regions, weighted (bool).
    """
    for c in (region, schema.INDICATOR, schema.VALUE):
        if c not in risk_factors.columns:
            raise ValueError(f"The risk-factor table has no column {c!r}.")
    if to not in regions.columns or region not in regions.columns:
        raise ValueError(f"The regions table needs columns {region!r} and {to!r}.")
    parent = regions[[region, to]].drop_duplicates(region).astype({region: str})
    d = risk_factors[[region, schema.INDICATOR, schema.VALUE]].astype({region: str}).merge(parent, on=region, how="inner")
    d = d.dropna(subset=[schema.VALUE])
    if population is not None and len(population):
        wt = population.astype({region: str}).groupby(region, observed=True)[schema.POPULATION].sum()
        d["_w"] = d[region].map(wt).fillna(0.0).to_numpy(dtype=float)
        weighted = True
    else:
        d["_w"] = 1.0
        weighted = False
    d["_wv"] = d["_w"] * d[schema.VALUE].astype(float)
    g = d.groupby([to, schema.INDICATOR], observed=True, sort=True)
    out = g[["_wv", "_w"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        out[schema.VALUE] = out["_wv"] / out["_w"]
    out["n_regions"] = g[region].nunique()
    out = out.drop(columns=["_wv", "_w"]).reset_index()
    out["weighted"] = weighted
    if schema.UNIT in risk_factors.columns:
        units = risk_factors.drop_duplicates(schema.INDICATOR).set_index(schema.INDICATOR)[schema.UNIT]
        out[schema.UNIT] = out[schema.INDICATOR].map(units)
    return out


_SEX_WORDS = {"1": 1, "m": 1, "male": 1, "men": 1, "2": 2, "f": 2, "female": 2, "women": 2}


def read_reference_rates(source, *, per: float = 100_000, name: str | None = None) -> pd.DataFrame:
    """A user-supplied table of reference rates for the SIR (indirect standardisation).

    ``source``: a CSV path, a file-like object or a frame with columns ``age_group`` (labels as in
    the data, "0-4" ... "85+"), ``rate`` (per ``per`` person-years, e.g. GLOBOCAN or another
    registry's age-specific rates) and optionally ``sex`` (1/2 or male/female). Returns
    age_group, [sex], rate per person-year, ready for ``regional_measures(reference=...)``.
    Errors name the file, row (1-based data row, header = row 0) and column.
    """
    label = name or (str(source) if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__") else "reference rates")
    frame = source if isinstance(source, pd.DataFrame) else pd.read_csv(source, dtype=str, skipinitialspace=True)
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    for c in (schema.AGE_GROUP, "rate"):
        if c not in frame.columns:
            raise ValueError(f"{label}: no column {c!r} (the table needs age_group, rate per {per:g} and optionally sex).")
    out = pd.DataFrame({schema.AGE_GROUP: frame[schema.AGE_GROUP].astype(str).str.strip()})
    rate = pd.to_numeric(frame["rate"].astype(str).str.strip().str.replace(",", ".", regex=False), errors="coerce")
    bad = rate.isna() | (rate < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{label}, row {i + 1}, column 'rate': {frame['rate'].iloc[i]!r} is not a rate "
                         f"(a number >= 0 per {per:g} person-years).")
    out["rate"] = rate.to_numpy(dtype=float) / per
    if schema.SEX in frame.columns:
        sex = frame[schema.SEX].astype(str).str.strip().str.lower().map(_SEX_WORDS)
        if sex.isna().any():
            i = int(np.flatnonzero(sex.isna().to_numpy())[0])
            raise ValueError(f"{label}, row {i + 1}, column 'sex': {frame[schema.SEX].iloc[i]!r} is not 1/male or 2/female.")
        out[schema.SEX] = sex.astype("Int8").to_numpy()
    keys = [c for c in (schema.SEX, schema.AGE_GROUP) if c in out.columns]
    dup = out.duplicated(keys)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"{label}, row {i + 1}: a second rate for " + ", ".join(f"{c} {out[c].iloc[i]}" for c in keys) + ".")
    return out


def dissolve_regions(regions: gpd.GeoDataFrame, by: str = schema.PARENT, *, hole_share: float = 1e-4) -> gpd.GeoDataFrame:
    """Districts merged into their parent regions (economic regions), one row per ``by``, first
    value of the other columns kept.

    Boundaries of real district files rarely match exactly, so a plain dissolve leaves slivers as
    holes that a map draws as stray lines; holes smaller than ``hole_share`` of their region's
    area are filled. Genuine enclaves (another country's territory inside the region) are far
    larger and stay.
    """
    import shapely
    if by not in regions.columns:
        raise ValueError(f"The regions table has no column {by!r} to merge districts by.")
    d = regions.dissolve(by=by, as_index=False, aggfunc="first")

    def fill(geom):
        if geom is None or geom.is_empty:
            return geom
        limit = geom.area * hole_share
        parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        keep = [shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= limit])
                for p in parts if p.geom_type == "Polygon"]
        return keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)

    d["geometry"] = [fill(g) for g in d.geometry]   # one geometry per parent region: a handful
    return d

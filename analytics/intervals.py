"""Confidence limits shared by the rate measures: Poisson (exact, Byar), Wilson, gamma, Dobson.

All functions take and return numpy arrays (scalars broadcast) and never loop over strata.
Formulas follow docs/methods.md §0 and §1.4; references are given per function.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special


def check_choice(what: str, value, allowed) -> None:
    """Raise ValueError naming the allowed values unless ``value`` is one of them (every public
    function validates its method arguments: an unknown method is an error, not a default)."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(map(repr, allowed))}")


def z_value(conf: float) -> float:
    """Two-sided standard normal quantile z = Φ⁻¹(1 − (1 − conf)/2) (``special.ndtri``, the
    function ``scipy.stats.norm.ppf`` evaluates, without importing ``scipy.stats``)."""
    _check_conf(conf)
    return float(special.ndtri(1 - (1 - conf) / 2))


def _check_conf(conf: float) -> None:
    if not (0 < float(conf) < 1):
        raise ValueError(f"confidence level must be between 0 and 1 (exclusive), got {conf!r}")


def conf_levels(conf: float | Sequence[float]) -> list[float]:
    """Normalise ``conf`` (one level or a list) to a list of floats, validated."""
    levels = [float(conf)] if np.isscalar(conf) else [float(c) for c in conf]
    if not levels:
        raise ValueError("at least one confidence level is needed")
    for c in levels:
        _check_conf(c)
    return levels


def conf_suffix(conf: float) -> str:
    """Column suffix for a level: 0.95 -> "95", 0.998 -> "99_8"."""
    pct = f"{conf * 100:.10g}"
    return pct.replace(".", "_")


def limit_columns(levels: Sequence[float]) -> list[tuple[float, str, str]]:
    """(level, lower column, upper column): ``lower``/``upper`` with one level, else suffixed."""
    if len(levels) == 1:
        return [(levels[0], "lower", "upper")]
    return [(c, f"lower_{conf_suffix(c)}", f"upper_{conf_suffix(c)}") for c in levels]


DEDUP_ABOVE = 512   # exact_poisson: above this many counts, evaluate each distinct count once


def exact_poisson(count, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood 1936) Poisson limits for a count: G⁻¹(α/2; O) and G⁻¹(1−α/2; O+1).

    The gamma form accepts non-integer counts. The lower limit is 0 at O = 0 (scipy would give
    NaN for shape 0, R gives 0; methods.md §0). NaN counts give NaN limits.
    """
    _check_conf(conf)
    o = np.asarray(count, dtype=float)
    if o.size > DEDUP_ABOVE:
        # Many strata share a count: the quantile function (the costly part) once per distinct
        # count, then spread back — the same values, bit for bit.
        u, inv = np.unique(o, return_inverse=True)
        if len(u) < o.size // 2:
            lo_u, up_u = exact_poisson(u, conf)
            return lo_u[inv].reshape(o.shape), up_u[inv].reshape(o.shape)
    a = (1 - conf) / 2
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, special.gammaincinv(np.where(o > 0, o, 1.0), a), 0.0)
        upper = special.gammaincinv(o + 1, 1 - a)
    lower = np.where(np.isnan(o) | (o < 0), np.nan, lower)
    upper = np.where(np.isnan(o) | (o < 0), np.nan, upper)
    return lower, upper


def byar_poisson(count, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the Poisson limits (Breslow & Day 1987, vol. II, p. 69).

    lower = O(1 − 1/(9O) − z/(3√O))³, upper = (O+1)(1 − 1/(9(O+1)) + z/(3√(O+1)))³, as
    PHEindicatormethods ``byars_lower``/``byars_upper``: a lower limit that is undefined (O = 0)
    or negative is returned as NaN.
    """
    z = z_value(conf)
    o = np.asarray(count, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    lower = np.where((o > 0) & (lower >= 0), lower, np.nan)
    upper = np.where(np.isnan(o) | (o < 0), np.nan, upper)
    return lower, upper


POISSON_METHODS = ("exact", "byar", "auto")


def poisson_count_limits(count, conf: float = 0.95, method: str = "exact"):
    """Dispatch: ``"exact"``, ``"byar"`` or ``"auto"`` (exact below 10 events, Byar from 10, as PHE)."""
    if method == "exact":
        return exact_poisson(count, conf)
    if method == "byar":
        return byar_poisson(count, conf)
    if method == "auto":
        o = np.asarray(count, dtype=float)
        el, eu = exact_poisson(o, conf)
        bl, bu = byar_poisson(o, conf)
        small = o < 10
        return np.where(small, el, bl), np.where(small, eu, bu)
    check_choice("Poisson limit method", method, POISSON_METHODS)


def wilson(x, n, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (1927) score interval for a proportion x/n (as PHEindicatormethods ``wilson_*``)."""
    z = z_value(conf)
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = 2 * x + z**2
        half = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
        denom = 2 * (n + z**2)
        return (centre - half) / denom, (centre + half) / denom


def gamma_lower(y, v, conf: float = 0.95) -> np.ndarray:
    """Lower limit of the gamma interval for a weighted sum of Poisson counts (Fay & Feuer 1997).

    G⁻¹(α/2; y²/v, v/y); 0 when y = 0.
    """
    a = (1 - conf) / 2
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    pos = (y > 0) & (v > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.where(pos, y * y / np.where(pos, v, 1.0), 1.0)
        scale = np.where(pos, v / np.where(pos, y, 1.0), 1.0)
        lo = special.gammaincinv(shape, a) * scale
    return np.where(np.isnan(y) | np.isnan(v), np.nan, np.where(pos, lo, 0.0))


def gamma_upper(y, v, w, w2, conf: float = 0.95) -> np.ndarray:
    """Upper limit G⁻¹(1−α/2; (y+w)²/(v+w2), (v+w2)/(y+w)).

    ``w``/``w2`` are max ω and max ω² (Fay & Feuer 1997) or the stratum means ω̄, ω²̄
    (Tiwari, Clegg & Zou 2006).
    """
    a = (1 - conf) / 2
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    yy = y + np.asarray(w, dtype=float)
    vv = v + np.asarray(w2, dtype=float)
    ok = (yy > 0) & (vv > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.where(ok, yy * yy / np.where(ok, vv, 1.0), 1.0)
        scale = np.where(ok, vv / np.where(ok, yy, 1.0), 1.0)
        up = special.gammaincinv(shape, 1 - a) * scale
    return np.where(ok, up, np.nan)


def dobson(y, v, x, conf: float = 0.95, count_method: str = "byar"):
    """Dobson et al. (1991) limits for a weighted sum of Poissons: y + √(v/X)(X_L − X), same for U.

    ``count_method`` chooses the limits of the total count X: ``"byar"`` (PHEindicatormethods
    ``calculate_dsr``) or ``"exact"`` (Dobson's original). Undefined (NaN) at X = 0.
    """
    x = np.asarray(x, dtype=float)
    xl, xu = poisson_count_limits(x, conf, count_method)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.sqrt(np.asarray(v, dtype=float) / x)
        lo = y + f * (xl - x)
        up = y + f * (xu - x)
    bad = ~(x > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, up)

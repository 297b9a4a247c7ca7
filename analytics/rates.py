"""Rates of a cancer registry: crude, age-specific, directly and indirectly standardised,
cumulative risk, rate ratios and funnel limits, each with its confidence interval.

Every function takes tidy frames (one row per stratum × age group, or finer rows that are
summed), works on all groups at once (no Python loop over regions, years, sexes or sites) and
returns a tidy frame whose ``attrs`` record the method, standard and rules applied. Formulas
and sources: docs/methods.md §0-§3.

``conf`` may be one level (columns ``lower``, ``upper``) or a list such as ``[0.95, 0.998]``
(columns ``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``).

``scipy.stats`` (about 0.4 s to import) is imported by the functions that use it (exact
proportions, rate ratios, funnel limits), not with the module: the rates of a dashboard's first
page (DSRs, age-specific rates, cumulative risk) need only ``scipy.special``.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics import intervals as ci
from analytics.standards import DEFAULT_STANDARD, StandardError, align_standard
from analytics.strata import (AgeAxis, Cells, Groups, RatesInputError, age_axis, as_list, flag_array, grid_sum,
                              group_codes, group_sum, join_flags, numeric, numeric_checked, require_columns)

__all__ = [
    "poisson_limits", "crude_rate", "proportion", "dsr", "age_specific", "cumulative_risk",
    "isr", "rate_ratio", "funnel_limits", "ci5_table", "flag_label", "flag_labels", "FLAG_CODES", "RatesInputError",
    "StandardError", "DSR_METHODS",
]

DSR_METHODS = ("tiwari", "fay_feuer", "dobson", "dobson_exact", "normal", "lognormal")
RATIO_METHODS = ("tiwari", "fay_feuer")          # weights of the F interval of a rate ratio
RATIO_CIS = ("f", "lognormal", "test_based")
UNKNOWN_AGE_RULES = ("exclude", "redistribute")

# Stable codes of the ``flag`` column (several joined with ";"). Labels in every language are the
# catalogue entries ``rates.flag.<code>`` (data/i18n/<lang>/rates.json); see :func:`flag_labels`.
FLAG_CODES = (
    "population_missing",          # a population value is missing: no rate
    "no_population",               # no person-years in any age group: no rate
    "below_min_count",             # fewer than min_count cases: no rate (e.g. PHE, 10)
    "population_zero_with_cases",  # cases where the population is 0 (population set to the count)
    "age_groups_missing",          # age group(s) absent: weights renormalised over those present
    "limits_undefined",            # no cases: Dobson / log-normal limits undefined
    "unknown_age_redistributed",   # cases of unknown age redistributed (CI5/CanReg5)
    "population_zero",             # age-specific rate on a population of 0
    "expected_zero",               # indirect standardisation: expected count 0
    "observed_missing",            # indirect standardisation: observed total missing
    "unreliable",                  # fewer than n cases: rate unreliable (analytics.disclosure)
    "suppressed",                  # count below k withheld (analytics.disclosure)
    "not_applicable_sex",          # sex-specific site, other sex: no rate (analytics.sites.blank_other_sex)
)


# --------------------------------------------------------------------------------------------
# counts, crude rates, proportions


def poisson_limits(count, conf: float | Sequence[float] = 0.95, method: str = "exact") -> pd.DataFrame:
    """Confidence limits for Poisson counts.

    ``method="exact"``: Garwood (1936) chi-square/gamma limits, G⁻¹(α/2; O) and G⁻¹(1−α/2; O+1);
    ``"byar"``: Byar's approximation (Breslow & Day 1987, vol. II), a negative or undefined lower
    limit returned as NaN as PHEindicatormethods does; ``"auto"``: exact below 10, Byar from 10.
    """
    levels = ci.conf_levels(conf)
    o = _as_array(count)
    out = {}
    for c, lo, up in ci.limit_columns(levels):
        out[lo], out[up] = ci.poisson_count_limits(o, c, method)
    return pd.DataFrame(out, index=_index_of(count))


def crude_rate(count, population, conf: float | Sequence[float] = 0.95, multiplier: float = 100000,
               method: str = "auto") -> pd.DataFrame:
    """Crude rate count/population × multiplier with Poisson limits for the count divided by the
    population: ``"exact"`` (Garwood), ``"byar"`` (Breslow & Day 1987), or ``"auto"`` — exact below
    10 events and Byar from 10, as OHID's PHEindicatormethods ``calculate_rate``. Missing count or
    population gives NaN throughout. Columns ``value``, ``lower``, ``upper``.
    """
    levels = ci.conf_levels(conf)
    o = _as_array(count)
    n = _as_array(population)
    o, n = np.broadcast_arrays(o, n)
    bad = np.isnan(o) | np.isnan(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, multiplier / np.where(n > 0, n, 1.0), np.nan)
    out = {"value": np.where(bad, np.nan, o * scale)}
    for c, lo, up in ci.limit_columns(levels):
        lo_c, up_c = ci.poisson_count_limits(o, c, method)
        out[lo] = np.where(bad, np.nan, lo_c * scale)
        out[up] = np.where(bad, np.nan, up_c * scale)
    frame = pd.DataFrame(out, index=_index_of(count, population))
    frame.attrs.update(measure="crude rate", method=method, multiplier=multiplier, conf=levels)
    return frame


def proportion(x, n, conf: float | Sequence[float] = 0.95, multiplier: float = 1,
               method: str = "wilson") -> pd.DataFrame:
    """Proportion x/n × multiplier with Wilson (1927) score limits (as PHEindicatormethods
    ``calculate_proportion``) or ``method="exact"`` Clopper-Pearson (1934) limits.
    Missing x or n gives NaN. Columns ``value``, ``lower``, ``upper``.
    """
    from scipy import stats   # on first use (module docstring)

    levels = ci.conf_levels(conf)
    xa, na = np.broadcast_arrays(_as_array(x), _as_array(n))
    bad = np.isnan(xa) | np.isnan(na) | (na <= 0)
    if np.any(~bad & (xa > na)):
        raise RatesInputError("proportion: numerator larger than denominator")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"value": np.where(bad, np.nan, xa / na * multiplier)}
        for c, lo, up in ci.limit_columns(levels):
            if method == "wilson":
                l, u = ci.wilson(xa, na, c)
            elif method == "exact":
                a = (1 - c) / 2
                l = np.where(xa > 0, stats.beta.ppf(a, xa, na - xa + 1), 0.0)
                u = np.where(xa < na, stats.beta.ppf(1 - a, xa + 1, na - xa), 1.0)
            else:
                raise ValueError(f"unknown proportion method {method!r}: use 'wilson' or 'exact'")
            out[lo] = np.where(bad, np.nan, l * multiplier)
            out[up] = np.where(bad, np.nan, u * multiplier)
    frame = pd.DataFrame(out, index=_index_of(x, n))
    frame.attrs.update(measure="proportion", method=method, multiplier=multiplier, conf=levels)
    return frame


# Codes whose label states a threshold, and the parameter that fills it.
_FLAG_PARAM = {"below_min_count": "min_count", "unreliable": "n", "suppressed": "k"}


def flag_label(flag: str, lang: str = "en", **params) -> str:
    """One ``flag`` value (codes joined with ";") as a sentence in ``lang`` (en, az, ru), the
    codes' labels joined with "; ". ``params`` fill the thresholds (``min_count``, ``n`` for
    unreliable, ``k`` for suppressed); without one the label says "too few cases". Codes not in
    the catalogue are kept as they are."""
    from analytics.i18n import catalogue, t
    known = catalogue("en")
    parts = []
    for code in str(flag or "").split(";"):
        if not code:
            continue
        key = f"rates.flag.{code}"
        param = _FLAG_PARAM.get(code)
        if param and params.get(param) is None:
            key += "_any"
        if key not in known:
            parts.append(code)
            continue
        parts.append(t(key, lang, **{k: v for k, v in params.items() if v is not None}))
    return "; ".join(parts)


def flag_labels(frame: pd.DataFrame | pd.Series, lang: str = "en", *, column: str = "flag",
                **params) -> pd.Series:
    """The ``flag`` codes of a result as sentences in ``lang`` (see :func:`flag_label`).
    Thresholds come from ``params`` or else from the frame's ``attrs`` (as :func:`dsr` and
    :mod:`analytics.disclosure` record them)."""
    if isinstance(frame, pd.DataFrame):
        attrs = frame.attrs
        codes = frame[column] if column in frame.columns else pd.Series("", index=frame.index)
    else:
        attrs, codes = getattr(frame, "attrs", {}), frame
    info = attrs.get("disclosure") or {}
    fmt = {"min_count": attrs.get("min_count") or None, "n": info.get("unreliable_below"),
           "k": info.get("k")}
    fmt.update(params)
    # Few distinct flag values (not one per stratum): label each once, then map.
    codes = codes.fillna("").astype(str)
    text = {u: flag_label(u, lang, **fmt) for u in pd.unique(codes)}
    return codes.map(text).rename(column)


def _as_array(x) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        return pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    arr = np.asarray(x, dtype=object if np.ndim(x) else float)
    if arr.dtype == object:
        arr = pd.to_numeric(pd.Series(arr.ravel()), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.atleast_1d(arr.astype(float))


def _index_of(*xs):
    for x in xs:
        if isinstance(x, pd.Series):
            return x.index
    return None


# --------------------------------------------------------------------------------------------
# direct standardisation


def dsr(data: pd.DataFrame, *, count: str = "count", population: str = "population",
        standard=DEFAULT_STANDARD, age: str = "age_group", by=None, method: str = "tiwari",
        conf: float | Sequence[float] = 0.95, multiplier: float = 100000, min_count: int = 0,
        ages: tuple[float, float] | None = None, unknown_age: str = "exclude",
        frequency: str | None = None) -> pd.DataFrame:
    """Directly age-standardised rate (ASR/DSR) per group of ``by``, all groups at once.

    ASR = M·Σ wᵢdᵢ/Pᵢ with the standard's weights normalised over the age groups used
    (SEER*Stat rate algorithms; Breslow & Day 1987), Poisson variance M²Σwᵢ²dᵢ/Pᵢ².
    Confidence interval ``method``:

    - ``"tiwari"``: modified gamma interval of Tiwari, Clegg & Zou (2006, SMMR 15:547), SEER*Stat;
    - ``"fay_feuer"``: gamma interval of Fay & Feuer (1997, Stat Med 16:791);
    - ``"dobson"``: Dobson et al. (1991, Stat Med 10:457) with Byar limits for the total count, as
      OHID/PHEindicatormethods (use ``min_count=10`` for its "< 10" rule); ``"dobson_exact"`` with
      exact limits for the total;
    - ``"normal"``: ASR ± z·SE (CanReg5); ``"lognormal"``: ASR·exp(±z·SE/ASR).

    ``standard``: a catalogue name (see :func:`analytics.standards.catalogue`), the name of a column
    of ``data`` holding the weights, or a Series of weights indexed by age-group label. Several rows
    per group × age group are summed first. ``ages=(35, 64)`` gives a truncated rate. Missing counts
    are 0 (as PHE); a missing population leaves the group without value. A population of 0 with
    cases is replaced by the count (SEER*Stat rule) and flagged. Groups with fewer than ``min_count``
    cases get no value and a flag. ``unknown_age``: ``"exclude"`` (default) leaves cases of unknown
    age out of the ASR, ``"redistribute"`` scales ASR, SE and limits by all/known cases
    (CI5/CanReg5, Rcan ``csu_asr``); either way the ``unknown_age`` column counts them.
    ``frequency``: column of event frequency f for non-independent events (each row's ``count``
    are events of persons having exactly f events); the variance becomes Σ f·ωᵢ²·countᵢ
    (PHEindicatormethods ``calculate_dsr(independent_events=FALSE)``).

    Columns: by..., ``count`` (all cases, known and unknown age), ``unknown_age``, ``population``,
    ``crude_rate``, ``value``, ``se``, ``lower``, ``upper``, ``flag`` (stable codes of
    :data:`FLAG_CODES` joined with ";"; sentences in en/az/ru by :func:`flag_labels`). ``attrs``
    record method, standard, multiplier, levels, thresholds and ``rules``.
    """
    if method not in DSR_METHODS:
        raise ValueError(f"unknown DSR method {method!r}; choose one of {DSR_METHODS}")
    if unknown_age not in UNKNOWN_AGE_RULES:
        raise ValueError(f"unknown_age must be one of {UNKNOWN_AGE_RULES}, got {unknown_age!r}")
    levels = ci.conf_levels(conf)
    comp = _dsr_components(data, count=count, population=population, standard=standard, age=age,
                           by=by, ages=ages, frequency=frequency)
    M = float(multiplier)
    y, v, X = comp["y"], comp["v"], comp["known"]
    se = np.sqrt(v)
    cols: dict[str, np.ndarray] = {}
    for c, lo, up in ci.limit_columns(levels):
        cols[lo], cols[up] = _weighted_poisson_limits(method, y, v, X, comp, c)
    factor = np.ones_like(y)
    if unknown_age == "redistribute":
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(X > 0, (X + comp["unknown"]) / np.where(X > 0, X, 1.0), 1.0)
    small = X < min_count
    undefined = comp["no_value"] | small
    dobson_zero = method.startswith("dobson") & (X == 0)
    lognormal_zero = (method == "lognormal") & (y == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        crude = np.where(comp["pop"] > 0, (X + comp["unknown"]) / comp["pop"] * M, np.nan)
    scale = np.where(undefined, np.nan, M * factor)
    # One frame built at once (column-by-column insertion costs more than the arithmetic).
    out = pd.DataFrame({
        **{c: comp["keys"][c] for c in comp["keys"].columns},
        "count": X + comp["unknown"], "unknown_age": comp["unknown"], "population": comp["pop"],
        "crude_rate": crude, "value": y * scale, "se": se * scale,
        **{name: arr * scale for name, arr in cols.items()},
    })
    out["flag"] = flag_array(
        (comp["pop_missing"], "population_missing"),
        (comp["no_value"] & ~comp["pop_missing"], "no_population"),
        (small & ~comp["no_value"], "below_min_count"),
        (comp["pop_zero_cases"], "population_zero_with_cases"),
        (comp["missing_groups"], "age_groups_missing"),
        ((dobson_zero | lognormal_zero) & ~undefined, "limits_undefined"),
        ((comp["unknown"] > 0) & (unknown_age == "redistribute"), "unknown_age_redistributed"),
    )
    out.attrs.update(
        measure="directly standardised rate", method=method, standard=comp["standard_name"],
        multiplier=M, conf=levels, min_count=min_count, ages=ages, unknown_age=unknown_age,
        age_groups=comp["labels"], rules=_rules(method, min_count, unknown_age))
    return out



def _rules(method, min_count, unknown_age) -> list[str]:
    rules = [f"confidence interval: {method}"]
    if min_count:
        rules.append(f"no rate when fewer than {min_count} cases")
    rules.append(f"unknown age: {unknown_age}")
    return rules


@dataclass
class _Grid:
    """Cases and person-years of every (group × age group) cell, summed from the rows once."""
    groups: Groups
    axis: AgeAxis
    cells: Cells
    d: np.ndarray                 # cases of known age in the range
    d_var: np.ndarray             # cases × event frequency (the variance's counts); ``d`` if independent
    P: np.ndarray                 # person-years, a missing value counted as 0
    present: np.ndarray           # the cell has at least one row
    all_present: bool
    p_nan: np.ndarray | None      # the cell has a missing population (None: no population is missing)
    unknown: np.ndarray           # cases of unknown age per group


def _dsr_grid(data: pd.DataFrame, *, count: str, population: str, age: str, by: list[str],
              ages: tuple[float, float] | None, frequency: str | None) -> _Grid:
    """Group codes (``by``), age codes and the cell sums every rate of :func:`dsr` starts from."""
    d_row, d_nan = numeric_checked(data, count)
    if d_nan:
        d_row = np.nan_to_num(d_row, nan=0.0)
    p_row, any_p_nan = numeric_checked(data, population)
    groups = group_codes(data, by)
    axis = age_axis(data, age, ages)
    g, a = groups.codes, axis.codes
    G, A = groups.n, len(axis.labels)
    if A == 0:
        raise RatesInputError(f"column {age!r} holds no known age group")
    cells = Cells(g, a, G, A)
    present = cells.present()
    d = cells.sum(d_row)
    d_var = cells.sum(np.nan_to_num(d_row * numeric(data, frequency), nan=0.0)) if frequency else d
    p_nan = None
    if any_p_nan:
        p_isnan = np.isnan(p_row)
        p_nan = cells.sum(p_isnan.astype(float)) > 0
        p_row = np.where(p_isnan, 0.0, p_row)
    P = cells.sum(p_row)
    unknown = group_sum(g, G, d_row, mask=(a == -1)) if not cells.all_ok else np.zeros(G)
    return _Grid(groups, axis, cells, d, d_var, P, present, cells.complete or bool(present.all()),
                 p_nan, unknown)


def _standard_weights(data: pd.DataFrame, standard, grid: _Grid, weights_override) -> tuple[np.ndarray, str]:
    """The standard's weights: one vector over the age groups when every group shares it (the
    usual case), else one row per group (a weight column that differs between groups)."""
    if weights_override is not None:
        return np.asarray(weights_override, dtype=float), "cumulative"
    if isinstance(standard, str) and standard in data.columns:
        # Weights are usually one per age group, repeated on every row: then one vector serves
        # all groups; otherwise each cell takes its own rows' weight.
        cells = grid.cells
        a = grid.axis.codes.astype(np.intp, copy=False)    # (narrow codes make indexing slow)
        w_row, w_nan = numeric_checked(data, standard)
        w_row = np.nan_to_num(w_row) if w_nan else w_row
        w_ok, a_ok = (w_row, a) if cells.all_ok else (w_row[cells.ok], a[cells.ok])
        per_age = np.zeros(len(grid.axis.labels))
        per_age[a_ok] = w_ok
        one = bool((per_age.take(a_ok) == w_ok).all())
        return (per_age if one else cells.scatter(w_row)), f"column {standard!r}"
    return _aligned(standard, tuple(grid.axis.labels))


def _dsr_components(data, *, count, population, standard, age, by, ages, frequency=None,
                    weights_override=None) -> dict:
    """Per group: the weighted sum of rates y = Σ ωᵢdᵢ (ωᵢ = wᵢ/Pᵢ), its Poisson variance
    v = Σ ωᵢ²dᵢ, the counts, person-years and the conditions :func:`dsr` flags. ``weights_override``
    (cumulative risk) gives weights that are used as they are, not normalised."""
    by = as_list(by)
    std_is_column = isinstance(standard, str) and standard in getattr(data, "columns", [])
    require_columns(data, [count, population, age] + by + ([standard] if std_is_column else [])
                    + ([frequency] if frequency else []))
    grid = _dsr_grid(data, count=count, population=population, age=age, by=by, ages=ages,
                     frequency=frequency)
    S, std_name = _standard_weights(data, standard, grid, weights_override)
    d, P, present = grid.d, grid.P, grid.present
    G, A = d.shape
    if P.size and P.min() > 0:       # no cell without person-years: nothing to replace or drop
        pop_zero_cases_cell, P_eff = None, P
        all_used = grid.all_present
    else:
        pop_zero_cases_cell = (P <= 0) & (d > 0)
        P_eff = np.where(pop_zero_cases_cell, d, P) if pop_zero_cases_cell.any() else P
        all_used = grid.all_present and bool((P_eff > 0).all())
    normalise = weights_override is None
    if S.ndim == 1 and all_used:
        # The common case: one standard for every group, every cell used: one weight vector and
        # one division for the whole grid.
        with np.errstate(invalid="ignore", divide="ignore"):
            w = S / S.sum() if normalise else S
        cell_weights = functools.partial(np.divide, w, P_eff)
        K = np.full(G, A)
    else:
        used = present & (P_eff > 0)
        omega_ = _cell_weights(S, used, grid, P_eff, normalise)
        cell_weights = omega_.copy
        K = used.sum(axis=1)
    # y = Σ ωd, then ω² in the same buffer for v = Σ ω²d (one grid-sized temporary: fresh
    # memory costs page faults, a third of the time of a small DSR)
    omega = cell_weights()
    y = np.einsum("ij,ij->i", omega, d)
    om2 = np.multiply(omega, omega, out=omega)
    v = np.einsum("ij,ij->i", om2, grid.d_var)
    del omega, om2
    return _components(grid, y, v, K, cell_weights, pop_zero_cases_cell, std_name)


def _cell_weights(S: np.ndarray, used: np.ndarray, grid: _Grid, P: np.ndarray,
                  normalise: bool) -> np.ndarray:
    """ωᵢ = wᵢ/Pᵢ per cell, 0 where a cell is not used; with ``normalise`` the weights sum to 1
    over the age groups present in each group (one vector when every group has them all)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if S.ndim == 1 and grid.all_present:
            w = S / S.sum() if normalise else S
        else:
            w = np.broadcast_to(S, P.shape) if grid.all_present else S * grid.present
            if normalise:
                total_w = w.sum(axis=1, keepdims=True)
                w = np.where(total_w > 0, w / np.where(total_w > 0, total_w, 1.0), 0.0)
        return np.where(used, w / np.where(used, P, 1.0), 0.0)


def _components(grid: _Grid, y, v, K, cell_weights, pop_zero_cases_cell, std_name: str) -> dict:
    """The per-group results of :func:`_dsr_components` as the dict :func:`dsr` reads; the
    weight summaries of the gamma limits (ω̄, ω²̄, max ω) are computed only when asked for, from
    the cell weights ω that ``cell_weights()`` gives again."""
    G, A = grid.d.shape
    axis = grid.axis
    pop_missing = (grid.p_nan & grid.present).any(axis=1) if grid.p_nan is not None else np.zeros(G, dtype=bool)

    def wbar():
        omega = cell_weights()
        with np.errstate(invalid="ignore", divide="ignore"):
            return omega.sum(axis=1) / K, (omega * omega).sum(axis=1) / K

    # A gap in the age axis of the whole input (e.g. 0-4, 10-14) renormalises the weights as
    # silently as a group absent from one stratum: flag both.
    gap = bool((axis.start[1:] > axis.end[:-1] + 1).any()) if A > 1 else False
    missing = np.full(G, gap) if grid.all_present else (grid.present.sum(axis=1) < A) | gap
    zero_cases = pop_zero_cases_cell.any(axis=1) if pop_zero_cases_cell is not None else np.zeros(G, dtype=bool)
    return dict(
        keys=grid.groups.keys, labels=axis.labels, y=y, v=v, known=grid.d.sum(axis=1), unknown=grid.unknown,
        pop=grid.P.sum(axis=1), wmax=lambda: cell_weights().max(axis=1, initial=0.0), wbar=wbar,
        no_value=pop_missing | (K == 0), pop_missing=pop_missing, pop_zero_cases=zero_cases,
        missing_groups=missing, standard_name=std_name, axis=axis)


@functools.lru_cache(maxsize=256)
def _aligned_named(standard: str, labels: tuple[str, ...]) -> tuple[np.ndarray, str]:
    s = align_standard(standard, labels)
    w = s.to_numpy(dtype=float)
    w.flags.writeable = False
    return w, s.attrs.get("standard") or str(standard)


def _aligned(standard, labels: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """The standard's weights for the data's age groups and the standard's name; a catalogue
    standard is aligned once per set of labels (parsing the labels costs more than a small DSR)."""
    if isinstance(standard, str):
        return _aligned_named(standard, labels)
    s = align_standard(standard, labels)
    return s.to_numpy(dtype=float), s.attrs.get("standard") or str(standard)


def _get(comp: dict, key: str):
    """Per-group weight summaries are computed only when a method needs them, once."""
    val = comp[key]
    if callable(val):
        val = comp[key] = val()
    return val


def _weighted_poisson_limits(method, y, v, X, comp, conf):
    """Limits for a weighted sum of Poisson counts y = Σωd with variance v (per-person scale)."""
    if method == "tiwari":
        wbar, w2bar = _get(comp, "wbar")
        return ci.gamma_lower(y, v, conf), ci.gamma_upper(y, v, wbar, w2bar, conf)
    if method == "fay_feuer":
        wm = _get(comp, "wmax")
        return ci.gamma_lower(y, v, conf), ci.gamma_upper(y, v, wm, wm * wm, conf)
    if method in ("dobson", "dobson_exact"):
        return ci.dobson(y, v, X, conf, "byar" if method == "dobson" else "exact")
    z = ci.z_value(conf)
    se = np.sqrt(v)
    if method == "normal":
        return y - z * se, y + z * se
    with np.errstate(divide="ignore", invalid="ignore"):   # lognormal
        f = np.exp(z * se / y)
        ok = y > 0
        return np.where(ok, y / f, np.nan), np.where(ok, y * f, np.nan)


# --------------------------------------------------------------------------------------------
# age-specific rates and cumulative risk


def age_specific(data: pd.DataFrame, *, count: str = "count", population: str = "population",
                 age: str = "age_group", by=None, conf: float | Sequence[float] = 0.95,
                 multiplier: float = 100000, method: str = "exact") -> pd.DataFrame:
    """Age-specific rates dᵢ/Pᵢ × multiplier per group and age group, with Poisson limits for the
    count (``"exact"`` Garwood by default; ``"byar"`` or ``"auto"`` as :func:`crude_rate`).
    Rows with unknown age are left out (their number is in ``attrs["unknown_age"]``).
    Columns: by..., ``age_group``, ``age_start``, ``count``, ``population``, ``value``, ``lower``,
    ``upper``, ``flag``.
    """
    by = as_list(by)
    require_columns(data, [count, population, age] + by)
    d_row = np.nan_to_num(numeric(data, count), nan=0.0)
    p_row = numeric(data, population)
    groups = group_codes(data, by)
    axis = age_axis(data, age)
    G, A = groups.n, len(axis.labels)
    present = grid_sum(groups.codes, axis.codes, G, A) > 0
    d = grid_sum(groups.codes, axis.codes, G, A, d_row)
    P = grid_sum(groups.codes, axis.codes, G, A, np.nan_to_num(p_row, nan=0.0))
    gi, ai = np.nonzero(present)
    out = groups.keys.iloc[gi].reset_index(drop=True)
    out["age_group"] = np.asarray(axis.labels, dtype=object)[ai]
    out["age_start"] = axis.start[ai]
    out["count"] = d[gi, ai]
    out["population"] = P[gi, ai]
    rates = crude_rate(out["count"].to_numpy(), out["population"].to_numpy(), conf, multiplier, method)
    for col in rates.columns:
        out[col] = rates[col].to_numpy()
    out["flag"] = join_flags((out["population"].to_numpy() <= 0, "population_zero"))
    out.attrs.update(measure="age-specific rate", method=method, multiplier=multiplier,
                     conf=ci.conf_levels(conf),
                     unknown_age=float(d_row[axis.codes == -1].sum()))
    return out


def cumulative_risk(data: pd.DataFrame, *, count: str = "count", population: str = "population",
                    age_start: str = "age_start", by=None, max_age: float = 74,
                    conf: float | Sequence[float] = 0.95, age: str | None = None,
                    method: str = "tiwari", unknown_age: str = "exclude") -> pd.DataFrame:
    """Cumulative rate (per 100) 100·Σ tᵢdᵢ/Pᵢ over the age groups starting at or below
    ``max_age`` (tᵢ = group width in years), and cumulative risk 100·(1 − exp(−cum_rate/100))
    (Day 1987; Jensen et al. 1991, IARC Sci. Pub. 95, ch. 11; CI5).

    SE of the cumulative rate 100·√(Σ tᵢ²dᵢ/Pᵢ²); SE of the risk by the delta method,
    exp(−cum_rate/100)·SE (methods.md §1.7). Limits: the cumulative rate's gamma interval
    (``method`` as :func:`dsr`, Tiwari by default) transformed to the risk scale, so they stay in
    [0, 100]. Group widths come from ``age_start`` (or from the labels of ``age`` if given);
    ``max_age=74`` gives 0-74, ``64`` gives 0-64. ``unknown_age="redistribute"`` scales the
    cumulative rate, its SE and limits by all cases / cases of known age (all ages), as Rcan
    ``csu_cumrisk`` and CI5. Columns: by..., ``count`` (cases in the age range),
    ``unknown_age``, ``cum_rate``, ``cum_rate_se``, ``cum_risk``, ``se``, ``lower``, ``upper``,
    ``flag``.
    """
    ci.check_choice("cumulative risk CI method", method, DSR_METHODS)
    ci.check_choice("unknown_age rule", unknown_age, UNKNOWN_AGE_RULES)
    age_col = age if age is not None else age_start
    require_columns(data, [count, population, age_col] + as_list(by))
    axis = age_axis(data, age_col)
    if np.isnan(axis.start).any():
        raise RatesInputError(f"column {age_col!r}: age groups cannot be read for cumulative risk")
    keep = axis.start <= max_age
    last = int(np.flatnonzero(keep)[-1]) if keep.any() else -1
    if last < 0:
        raise RatesInputError(f"no age group starts at or below max_age={max_age}")
    ends = axis.end[: last + 1]
    if np.isinf(ends).any():
        raise RatesInputError(f"the open-ended age group starts at or below max_age={max_age}; "
                              "cumulative risk needs closed groups")
    lo_age, hi_age = float(axis.start[0]), float(ends[-1])
    width = ends - axis.start[: last + 1] + 1
    comp = _dsr_components(data, count=count, population=population, standard=None, age=age_col,
                           by=by, ages=(lo_age, hi_age), weights_override=width)
    levels = ci.conf_levels(conf)
    # Unknown-age correction uses the known cases of all ages, not only those in the range.
    groups = group_codes(data, as_list(by))
    d_all = np.nan_to_num(numeric(data, count), nan=0.0)
    known_all = group_sum(groups.codes, groups.n, d_all, mask=axis.codes >= 0)
    unknown = group_sum(groups.codes, groups.n, d_all, mask=axis.codes == -1)
    factor = np.ones(groups.n)
    if unknown_age == "redistribute":
        factor = np.where(known_all > 0, (known_all + unknown) / np.where(known_all > 0, known_all, 1.0), 1.0)
    y, v = comp["y"], comp["v"]
    nv = comp["no_value"]
    cum_rate = np.where(nv, np.nan, 100 * y * factor)
    rate_se = np.where(nv, np.nan, 100 * np.sqrt(v) * factor)
    out = comp["keys"].copy()
    out["count"] = comp["known"]
    out["unknown_age"] = unknown
    out["cum_rate"] = cum_rate
    out["cum_rate_se"] = rate_se
    out["cum_risk"] = 100 * (1 - np.exp(-cum_rate / 100))
    out["se"] = np.exp(-cum_rate / 100) * rate_se
    for c, lo, up in ci.limit_columns(levels):
        l, u = _weighted_poisson_limits(method, y, v, comp["known"], comp, c)
        out[lo] = np.where(nv, np.nan, 100 * (1 - np.exp(-l * factor)))
        out[up] = np.where(nv, np.nan, 100 * (1 - np.exp(-u * factor)))
    out["flag"] = join_flags((comp["pop_missing"], "population_missing"),
                             (comp["missing_groups"], "age_groups_missing"))
    out.attrs.update(measure="cumulative risk", ages=(lo_age, hi_age), method=method, conf=levels,
                     unknown_age=unknown_age)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# indirect standardisation


def isr(data: pd.DataFrame, *, count: str = "count", population: str = "population",
        ref_count: str = "ref_count", ref_population: str = "ref_population", by=None,
        observed=None, conf: float | Sequence[float] = 0.95, method: str = "auto",
        statistic: str = "ratio", refvalue: float = 1, multiplier: float = 100000) -> pd.DataFrame:
    """Indirect standardisation: expected E = Σ Pᵢ·ref_countᵢ/ref_populationᵢ (Breslow & Day 1987).

    ``statistic="ratio"``: O/E × refvalue (SIR/SMR); ``"rate"``: the indirectly standardised rate
    O/E × (Σref_count/Σref_population) × multiplier (PHEindicatormethods ``calculate_ISRate``).
    Limits: the Poisson limits of O divided by E — ``"exact"``, ``"byar"`` or ``"auto"`` (exact
    below 10, Byar from 10, as PHE). ``observed``: a column name or a Series indexed like the
    groups giving each group's observed total instead of Σ count. Missing counts and populations
    count as 0 (as PHE). Columns: by..., ``observed``, ``expected``, ``value``, ``lower``,
    ``upper``, ``ci_method`` ("exact"/"byar" per group), ``flag``.
    """
    ci.check_choice("ISR statistic", statistic, ("ratio", "rate"))
    ci.check_choice("ISR limit method", method, ci.POISSON_METHODS)
    by = as_list(by)
    obs_col = observed if isinstance(observed, str) else None
    require_columns(data, [population, ref_count, ref_population] + by
                    + ([count] if observed is None else []) + ([obs_col] if obs_col else []))
    groups = group_codes(data, by)
    g, G = groups.codes, groups.n
    P = np.nan_to_num(numeric(data, population), nan=0.0)
    rc = np.nan_to_num(numeric(data, ref_count), nan=0.0)
    rp = np.nan_to_num(numeric(data, ref_population), nan=0.0)
    if np.any((rp <= 0) & (rc > 0)):
        i = int(np.flatnonzero((rp <= 0) & (rc > 0))[0])
        raise RatesInputError(f"column {ref_population!r}, row {i + 1}: reference population 0 "
                              "with reference cases")
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_rate = np.where(rp > 0, rc / np.where(rp > 0, rp, 1.0), 0.0)
    E = group_sum(g, G, P * ref_rate)
    if observed is None:
        O = group_sum(g, G, np.nan_to_num(numeric(data, count), nan=0.0))
    elif obs_col:
        o_row = numeric(data, obs_col)
        O = pd.Series(o_row).groupby(g).first().reindex(range(G)).to_numpy()
    else:
        s = pd.Series(observed)
        if by:
            idx = pd.MultiIndex.from_frame(groups.keys) if len(by) > 1 else pd.Index(groups.keys[by[0]])
            O = s.reindex(idx).to_numpy(dtype=float)
        else:
            O = np.array([float(s.iloc[0])])
    if statistic == "ratio":
        scale_ = np.full(G, float(refvalue))
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale_ = group_sum(g, G, rc) / group_sum(g, G, rp) * multiplier
    levels = ci.conf_levels(conf)
    out = groups.keys.copy()
    out["observed"] = O
    out["expected"] = E
    with np.errstate(divide="ignore", invalid="ignore"):
        per_e = np.where(E > 0, scale_ / np.where(E > 0, E, 1.0), np.nan)
    out["value"] = O * per_e
    for c, lo, up in ci.limit_columns(levels):
        l, u = ci.poisson_count_limits(O, c, method)
        out[lo] = l * per_e
        out[up] = u * per_e
    # Which limits each group got (with "auto" it depends on O), so every row says its rule.
    out["ci_method"] = np.where(O < 10, "exact", "byar") if method == "auto" else method
    out["flag"] = join_flags((~(E > 0), "expected_zero"),
                             (np.isnan(O), "observed_missing"))
    out.attrs.update(measure=f"indirectly standardised {statistic}", method=method, conf=levels,
                     refvalue=refvalue, multiplier=multiplier)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# comparing two rates


def rate_ratio(data, other: pd.DataFrame | None = None, *, compare: str | None = None,
               reference=None, count: str = "count", population: str = "population",
               standard=DEFAULT_STANDARD, age: str = "age_group", by=None, method: str = "tiwari",
               conf: float | Sequence[float] = 0.95, multiplier: float = 100000, ages=None,
               crude: bool = False, ratio_ci: str = "f") -> pd.DataFrame:
    """Ratio and difference of two rates, with confidence intervals and two-sided p-values.

    Either ``data`` and ``other`` (the comparison group's frame: ratio = data/other), or one frame
    with a ``compare`` column, each of its levels compared with the ``reference`` level within
    every group of ``by``.

    Standardised rates (default): ratio with the F interval of Fay (1999, Commun Stat 28:2141)
    using the Tiwari et al. (2006) modification when ``method="tiwari"`` (ω̄, ω²̄) or Fay–Feuer's
    maxima when ``"fay_feuer"``, as SEER*Stat (methods.md §2.1); its p-value is the level at which
    the interval touches 1. ``ratio_ci="lognormal"``: log RR ± z·√(V₁/R₁²+V₂/R₂²) (delta method);
    ``"test_based"``: RR^(1 ± z/χ), χ = (R₁−R₂)/√(V₁+V₂) (Boyle & Parkin 1991; CanReg5 ``CalcSRR``),
    undefined when the rates are equal. Difference: normal interval √(V₁+V₂) and z-test
    (methods.md §2.2).
    ``crude=True``: crude rates; ratio with the exact conditional binomial interval (O₁ given
    O₁+O₂, Clopper–Pearson; Breslow & Day 1987 §2.3) and exact binomial test.
    Columns: by..., (``compare``), ``rate1``, ``rate2``, ``ratio``, ``ratio_lower``,
    ``ratio_upper``, ``ratio_p``, ``difference``, ``difference_lower``, ``difference_upper``,
    ``difference_p``.
    """
    if other is not None:
        require_columns(other, [count, population])
        data = pd.concat([data.assign(_cmp="1"), other.assign(_cmp="2")], ignore_index=True)
        compare, reference = "_cmp", "2"
    if compare is None:
        raise ValueError("rate_ratio needs `other` or a `compare` column and a `reference` level")
    ci.check_choice("rate ratio interval", ratio_ci, RATIO_CIS)
    ci.check_choice("rate ratio weight method", method, RATIO_METHODS)
    by = as_list(by)
    require_columns(data, [compare])
    if reference not in set(data[compare].dropna().unique()):
        raise RatesInputError(f"reference level {reference!r} not found in column {compare!r}")
    if crude:
        tot = data.groupby(by + [compare], dropna=False, observed=True, sort=True)[[count, population]].sum(min_count=1).reset_index()
        comp1 = {"y": tot[count].to_numpy(float) / tot[population].to_numpy(float),
                 "known": tot[count].to_numpy(float), "pop": tot[population].to_numpy(float)}
        comp1["v"] = comp1["known"] / comp1["pop"] ** 2
        keys = tot[by + [compare]]
        comp = comp1
    else:
        c = _dsr_components(data, count=count, population=population, standard=standard, age=age,
                            by=by + [compare], ages=ages)
        keys, comp = c["keys"], c
    is_ref = (keys[compare] == reference).to_numpy()
    base = keys[by].copy() if by else pd.DataFrame(index=keys.index)
    base["_row"] = np.arange(len(keys))
    ref_rows = base[is_ref]
    cmp_rows = base[~is_ref]
    if by:
        pairs = cmp_rows.merge(ref_rows, on=by, how="inner", suffixes=("", "_ref"))
    else:
        pairs = cmp_rows.assign(_row_ref=int(ref_rows["_row"].iloc[0]) if len(ref_rows) else -1)
        pairs = pairs[pairs["_row_ref"] >= 0]
    i1 = pairs["_row"].to_numpy()
    i2 = pairs["_row_ref"].to_numpy()
    from scipy import stats   # on first use (module docstring)

    M = float(multiplier)
    R1, R2 = comp["y"][i1], comp["y"][i2]
    V1, V2 = comp["v"][i1], comp["v"][i2]
    levels = ci.conf_levels(conf)
    limits: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(R2 > 0, R1 / R2, np.nan)
        diff = R1 - R2
        sd = np.sqrt(V1 + V2)
        p_diff = np.where(sd > 0, 2 * stats.norm.sf(np.abs(diff) / sd), np.nan)
        if crude:
            O1, O2 = comp["known"][i1], comp["known"][i2]
            P1, P2 = comp["pop"][i1], comp["pop"][i2]
            p_ratio = _binom_two_sided(O1, O1 + O2, P1 / (P1 + P2))
        else:
            if method == "fay_feuer":
                wm = _get(comp, "wmax")
                w1, w1s = wm[i1], wm[i1] ** 2
                w2, w2s = wm[i2], wm[i2] ** 2
            else:
                wb, w2b = _get(comp, "wbar")
                w1, w1s = wb[i1], w2b[i1]
                w2, w2s = wb[i2], w2b[i2]
            R1s, V1s, R2s, V2s = R1 + w1, V1 + w1s, R2 + w2, V2 + w2s
            nu1, nu2 = 2 * R1 ** 2 / V1, 2 * R2 ** 2 / V2
            nu1s, nu2s = 2 * R1s ** 2 / V1s, 2 * R2s ** 2 / V2s
            # The p-value is the level at which the F interval touches 1 (closed form).
            p_lo = np.where(R1 > 0, 2 * stats.f.cdf(R2s / R1, nu1, nu2s), 2.0)
            p_hi = 2 * stats.f.sf(R2 / R1s, nu1s, nu2)
            p_ratio = np.minimum(1.0, np.minimum(p_lo, p_hi))
        for c, lo_name, up_name in ci.limit_columns(levels):
            alpha = 1 - c
            if crude:
                pl = np.where(O1 > 0, stats.beta.ppf(alpha / 2, O1, O2 + 1), 0.0)
                pu = np.where(O2 > 0, stats.beta.ppf(1 - alpha / 2, O1 + 1, O2), 1.0)
                lower = pl / (1 - pl) * P2 / P1
                upper = np.where(pu < 1, pu / (1 - pu) * P2 / P1, np.inf)
            elif ratio_ci == "f":
                lower = np.where(R1 > 0, R1 / R2s * stats.f.ppf(alpha / 2, nu1, nu2s), 0.0)
                upper = R1s / R2 * stats.f.ppf(1 - alpha / 2, nu1s, nu2)
            elif ratio_ci == "lognormal":
                half = ci.z_value(c) * np.sqrt(V1 / R1 ** 2 + V2 / R2 ** 2)
                lower, upper = ratio * np.exp(-half), ratio * np.exp(half)
            else:   # test-based (Boyle & Parkin; CanReg5 CalcSRR): RR^(1 ± z/χ)
                chi = diff / sd
                a_, b_ = ratio ** (1 - ci.z_value(c) / chi), ratio ** (1 + ci.z_value(c) / chi)
                ok = chi != 0
                lower = np.where(ok, np.minimum(a_, b_), np.nan)
                upper = np.where(ok, np.maximum(a_, b_), np.nan)
            z = ci.z_value(c)
            limits["ratio_" + lo_name] = np.where(R2 > 0, lower, np.nan)
            limits["ratio_" + up_name] = np.where(R2 > 0, upper, np.nan)
            limits["difference_" + lo_name] = (diff - z * sd) * M
            limits["difference_" + up_name] = (diff + z * sd) * M
    out = pairs[by].reset_index(drop=True) if by else pd.DataFrame(index=range(len(pairs)))
    if compare != "_cmp":
        out[compare] = keys[compare].to_numpy()[i1]
    out["rate1"] = R1 * M
    out["rate2"] = R2 * M
    out["ratio"] = ratio
    for name in [k for k in limits if k.startswith("ratio_")]:
        out[name] = limits[name]
    out["ratio_p"] = p_ratio
    out["difference"] = diff * M
    for name in [k for k in limits if k.startswith("difference_")]:
        out[name] = limits[name]
    out["difference_p"] = p_diff
    out.attrs.update(measure="rate ratio", method="exact binomial" if crude else f"{method}, {ratio_ci} interval",
                     conf=levels, multiplier=M, reference=reference)
    return out


def _binom_two_sided(k, n, p):
    """Two-sided exact binomial p-value: the probability of the outcomes no more likely than k
    (relative tolerance 1e-7), as R's ``binom.test``. The pmf falls monotonically away from the
    mean, so the boundary of the other tail is found by a vectorised bisection (any n)."""
    from scipy import stats   # on first use (module docstring)

    k, n, p = np.broadcast_arrays(*(np.asarray(a, float) for a in (k, n, p)))
    d = stats.binom.pmf(k, n, p) * (1 + 1e-7)
    m = n * p
    below = k < m
    # other tail: [ceil(m), n] when k < m (first index with pmf <= d), else [0, floor(m)] (last)
    lo = np.where(below, np.ceil(m), 0.0)
    hi = np.where(below, n + 1, np.floor(m) + 1)
    with np.errstate(invalid="ignore"):
        for _ in range(int(np.ceil(np.log2(np.nanmax(n, initial=1) + 2))) + 1):
            mid = np.floor((lo + hi) / 2)
            small = stats.binom.pmf(mid, n, p) <= d
            go_left = np.where(below, small, ~small)
            hi = np.where(go_left & (lo < hi), mid, hi)
            lo = np.where(~go_left & (lo < hi), mid + 1, lo)
        # below: lo = first index of the upper tail no more likely than k; else lo - 1 = last
        other = np.where(below, stats.binom.sf(lo - 1, n, p), stats.binom.cdf(lo - 1, n, p))
        own = np.where(below, stats.binom.cdf(k, n, p), stats.binom.sf(k - 1, n, p))
    out = np.minimum(1.0, own + other)
    return np.where(k == m, 1.0, np.where(np.isnan(k + n + p), np.nan, out))


# --------------------------------------------------------------------------------------------
# funnel plots


def funnel_limits(x, *, kind: str = "ratio", target: float = 1.0,
                  conf: Sequence[float] = (0.95, 0.998), multiplier: float = 100000,
                  observed=None, expected=None, overdispersion: bool = False,
                  trim: float = 0.1) -> pd.DataFrame:
    """Funnel-plot control limits around ``target`` (Spiegelhalter 2005, Stat Med 24:1185).

    ``kind="ratio"``: ``x`` are expected counts E and limits are for O/E around ``target``;
    ``kind="rate"``: ``x`` are person-years P and limits are for rates × multiplier around
    ``target`` (a rate per multiplier). Exact Poisson limits with the interpolation of
    Spiegelhalter (2005): rₚ = smallest integer with F(rₚ; λ) ≥ p, limit = (rₚ − a)/x with
    a = (F(rₚ) − p)/(F(rₚ) − F(rₚ−1)); clipped at 0. Defaults 95 % and 99.8 %.

    ``overdispersion=True`` (needs ``observed`` and ``expected`` of the units, ratios only):
    additive random-effects limits (Spiegelhalter 2005, "Handling over-dispersion of performance
    indicators", QSHC 14:347): √-transformed z-scores Winsorised at ``trim``, φ = mean z²,
    τ² = max(0, (nφ − (n−1)) / (Σw − Σw²/Σw)) with w = 4E, limits (√θ₀ ± z√(1/(4E) + τ²))²
    when φ > 1 + 2√(2/n); φ and τ² are in ``attrs``. Columns: ``x``, then the limit columns.
    """
    levels = ci.conf_levels(conf)
    xa = _as_array(x)
    if kind == "ratio":
        lam = target * xa
        denom = xa
        scale = 1.0
    elif kind == "rate":
        lam = target / multiplier * xa
        denom = xa
        scale = multiplier
    else:
        ci.check_choice("funnel kind", kind, ("ratio", "rate"))
    out = pd.DataFrame({"x": xa})
    phi = tau2 = None
    if overdispersion:
        if kind != "ratio" or observed is None or expected is None:
            raise ValueError("overdispersion needs kind='ratio' with observed and expected counts")
        phi, tau2, overdispersed = _overdispersion(_as_array(observed), _as_array(expected), target, trim)
    for c, lo, up in ci.limit_columns(levels):
        a = (1 - c) / 2
        if overdispersion and overdispersed:
            z = ci.z_value(c)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.sqrt(1 / (4 * xa) + tau2)
            out[lo] = np.clip(np.sqrt(target) - z * s, 0, None) ** 2
            out[up] = (np.sqrt(target) + z * s) ** 2
            continue
        out[lo] = np.clip(_interp_poisson(a, lam) / denom * scale, 0, None)
        out[up] = _interp_poisson(1 - a, lam) / denom * scale
    out.attrs.update(measure="funnel limits", kind=kind, target=target, conf=levels, phi=phi,
                     tau2=tau2, overdispersion=bool(overdispersion))
    return out


def _interp_poisson(p: float, lam: np.ndarray) -> np.ndarray:
    from scipy import stats   # on first use (module docstring)

    r = stats.poisson.ppf(p, lam)
    F = stats.poisson.cdf(r, lam)
    Fm = stats.poisson.cdf(r - 1, lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (F - p) / (F - Fm)
    return r - a


def _overdispersion(O, E, target, trim):
    ok = E > 0
    O, E = O[ok], E[ok]
    y = np.sqrt(O / E)
    s = 1 / (2 * np.sqrt(E))
    z = (y - np.sqrt(target)) / s
    lo, hi = np.quantile(z, [trim, 1 - trim])
    zw = np.clip(z, lo, hi)
    n = len(zw)
    phi = float(np.mean(zw ** 2))
    w = 1 / s ** 2
    tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return phi, tau2, phi > 1 + 2 * np.sqrt(2 / n)


def ci5_table(counts: pd.DataFrame, population: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """CI5 / CanReg5 incidence table; see :func:`analytics.ci5_table.ci5_table`."""
    from analytics.ci5_table import ci5_table as _table
    return _table(counts, population, **kwargs)

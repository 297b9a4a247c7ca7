"""Age-standardised net survival with the International Cancer Survival Standards.

Corazziari I, Quinn M, Capocaccia R (2004). Standard cancer patient population for age
standardising survival ratios. Eur J Cancer 40:2307-2316. Three standards of cancer patients
aged 15-99 in five age groups at diagnosis: ICSS 1 for sites whose incidence rises with age
(most), ICSS 2 for sites with broadly constant incidence by age, ICSS 3 for sites mainly of
young adults (assignment of sites: the paper's Table 2, as SEER lists it).

``S_std(t) = sum_k w_k S_k(t)``; ``Var = sum_k w_k^2 Var(S_k)`` with ``Var(S_k) = (S_k se_k)^2``
(``se_k`` of the log cumulative hazard, delta method); CI on the log scale
``S_std exp(+-z sqrt(Var) / S_std)``, like the age-specific ones. No standardised value when an
age group has no estimate at t (too few patients or too short follow-up).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analytics.survival.base import DEFAULT_TIMES, SurvivalInputError, SurvivalResult, validate_choice

ICSS_AGE_GROUPS = ("15-44", "45-54", "55-64", "65-74", "75-99")
ICSS_BOUNDS = (15, 45, 55, 65, 75, 100)
ICSS_COLUMN = "icss_age_group"
ICSS_WEIGHTS = {
    "ICSS1": (0.07, 0.12, 0.23, 0.29, 0.29),
    "ICSS2": (0.28, 0.17, 0.21, 0.20, 0.14),
    "ICSS3": (0.60, 0.10, 0.10, 0.10, 0.10),
}
# Corazziari et al. 2004, Table 2, in the CI5 and GLOBOCAN site labels of data/reference/site_groups.csv
ICSS2_SITES = {"Nasopharynx", "Connective and soft tissue", "Melanoma of skin", "Cervix uteri", "Brain, nervous system",
               "Thyroid", "Bone", "Eye"}
ICSS3_SITES = {"Testis", "Hodgkin disease"}


def icss_standard(site: str | None) -> str:
    """The ICSS of a site label (ICSS1 for all sites together and for sites the paper does not name)."""
    if site in ICSS3_SITES:
        return "ICSS3"
    if site in ICSS2_SITES:
        return "ICSS2"
    return "ICSS1"


def icss_age_group(age) -> pd.Categorical:
    """ICSS age group of exact ages (NaN outside 15-99)."""
    a = np.asarray(age, dtype=float)
    code = np.searchsorted(ICSS_BOUNDS, a, side="right") - 1
    code = np.where((a >= ICSS_BOUNDS[0]) & (a < ICSS_BOUNDS[-1]), code, -1)
    return pd.Categorical.from_codes(code, categories=list(ICSS_AGE_GROUPS))


def standardise(age_specific: pd.DataFrame, weights: Sequence[float] | str, *, by: Sequence[str] = (),
                conf: float = 0.95, age: str = "age_group") -> pd.DataFrame:
    """Weight age-specific estimates (columns ``by``, ``age``, time, estimate, se) by ``weights``
    (a standard's name or five weights summing to 1)."""
    w = np.asarray(ICSS_WEIGHTS[validate_choice("standard", weights, tuple(ICSS_WEIGHTS))]
                   if isinstance(weights, str) else weights, float)
    if w.size != len(ICSS_AGE_GROUPS) or abs(w.sum() - 1) > 1e-9:
        raise SurvivalInputError("ICSS weights: five age-group weights summing to 1")
    wmap = dict(zip(ICSS_AGE_GROUPS, w))
    # float even when no age group matches (a map of no hits keeps the string dtype of the labels)
    df = age_specific.assign(_w=age_specific[age].astype(str).map(wmap).astype(float))
    df = df[df["_w"].notna()]
    df = df.assign(_ws=df["_w"] * df["estimate"], _wv=(df["_w"] * df["estimate"] * df["se"]) ** 2)
    keys = list(by) + ["time"]
    g = df.groupby(keys, observed=True, dropna=False)
    # the sums of each column at once (the same sums as named aggregations, without their machinery)
    out = g[["_ws", "_wv", "n_risk", "events"]].sum().rename(columns={"_ws": "estimate", "_wv": "_var"})
    out = out.assign(_n=g.size()).reset_index()
    out = out[out["_n"] == len(ICSS_AGE_GROUPS)]
    z = stats.norm.ppf(0.5 + conf / 2)
    se = np.sqrt(out["_var"]) / out["estimate"]
    out["lower"] = out["estimate"] * np.exp(-z * se)
    out["upper"] = out["estimate"] * np.exp(z * se)
    out["se"] = se
    return out[keys + ["estimate", "lower", "upper", "n_risk", "events", "se"]].reset_index(drop=True)


def age_standardised(data: pd.DataFrame, lifetable, *, standard: str | Sequence[float] = "ICSS1",
                     times: Sequence[float] = DEFAULT_TIMES, method: str = "pohar_perme",
                     by: Sequence[str] | str | None = None, conf: float = 0.95, approach: str = "cohort",
                     period=None) -> pd.DataFrame:
    """:func:`analytics.survival.net_survival` in the five ICSS age groups, weighted by ``standard``
    ("ICSS1", "ICSS2", "ICSS3", or five weights). Patients outside 15-99 are left out. Returns the
    ``by`` columns, time, estimate, lower, upper, se, n_risk, events (summed over age groups) and
    ``standard``."""
    from analytics.survival import net_survival

    by = [by] if isinstance(by, str) else list(by or [])
    d = data.assign(**{ICSS_COLUMN: icss_age_group(data["age"])})
    d = d[d[ICSS_COLUMN].notna()]
    spec = net_survival(d, lifetable, times=times, method=method, by=by + [ICSS_COLUMN], conf=conf,
                        approach=approach, period=period)
    out = standardise(spec, standard, by=by, conf=conf, age=ICSS_COLUMN)
    out["standard"] = standard if isinstance(standard, str) else "custom"
    return out


MONTH = 1 / 12        # the grid of an age-standardised curve: one point a month (years)


def age_standardised_curve(data: pd.DataFrame, lifetable, *, standard: str | Sequence[float] = "ICSS1",
                           max_years: float = 10.0, step: float = MONTH, method: str = "pohar_perme",
                           by: Sequence[str] | str | None = None, conf: float = 0.95, approach: str = "cohort",
                           period=None) -> pd.DataFrame:
    """The age-standardised curve: :func:`age_standardised` at ``step``, 2 ``step``, ... up to
    ``max_years`` years (a month apart by default), each point with its CI. A standardised curve has
    no steps of its own (each age group steps at its own times), so it is read on a grid; points where
    an age group has no estimate (past its last observed time) are absent."""
    return age_standardised(data, lifetable, standard=standard, times=curve_times(max_years, step), method=method,
                            by=by, conf=conf, approach=approach, period=period)


def curve_times(max_years: float = 10.0, step: float = MONTH) -> np.ndarray:
    """The grid of :func:`age_standardised_curve`: ``step``, 2 ``step``, ... up to ``max_years``."""
    if not 0 < float(step) <= float(max_years):
        raise SurvivalInputError(f"step must lie between 0 and max_years, not {step!r}")
    n = int(np.floor(float(max_years) / float(step) + 1e-9))
    return np.round(np.arange(1, n + 1) * float(step), 12)


def standardised_curve(age_specific: SurvivalResult, standard: str | Sequence[float] = "ICSS1", *,
                       max_years: float = 10.0, step: float = MONTH, conf: float = 0.95) -> pd.DataFrame:
    """:func:`age_standardised_curve` from an already fitted curve by (``by`` columns and)
    ``ICSS_COLUMN``, e.g. one of :func:`analytics.survival.survival_curve_sets` (fitted with
    ``max_years`` no smaller than this one's: the frame is then the one
    :func:`age_standardised_curve` returns)."""
    by = [c for c in age_specific.by if c != ICSS_COLUMN]
    out = standardise(age_specific.at(curve_times(max_years, step)), standard, by=by, conf=conf, age=ICSS_COLUMN)
    out["standard"] = standard if isinstance(standard, str) else "custom"
    return out

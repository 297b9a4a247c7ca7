"""Cancer survival: observed (Kaplan-Meier, actuarial), relative (Ederer II) and net (Pohar Perme)
survival, by cohort, complete or period approach, with age standardisation by the International
Cancer Survival Standards. Vectorised over patients and strata; agrees with R's
``relsurv::rs.surv`` (2.2-9) and ``survival::survfit`` to 1e-4 on the frozen cases in
``tests/reference/survival/``.

For scripts and notebooks::

    from analytics import survival
    survival.net_survival(data, lifetable, times=(1, 5), by=["sex"])          # tidy frame
    survival.age_standardised(data, lifetable, standard="ICSS1", times=(5,))  # ICSS-weighted
    survival.age_standardised_curve(data, lifetable, standard="ICSS1")        # the same, monthly to 10 years

``data``: one row per tumour with ``time`` (days from diagnosis to death or last contact),
``status`` (1 died, 0 alive/censored), ``age`` (exact years at diagnosis), ``sex`` (1, 2) and
``year`` (decimal calendar year of diagnosis); ``lifetable``: ``year, sex, age, qx`` (or ``mx``;
optional ``region_code``), see :mod:`analytics.lifetable`. :func:`analytics.survival.registry.
survival_data` derives ``data`` from registry records with CONCORD-style exclusions.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analytics import lifetable as lifetable_mod
from analytics.lifetable import RateTable
from analytics.survival.actuarial import actuarial
from analytics.survival import population
from analytics.survival.base import (APPROACHES, DAYS_PER_YEAR, DEFAULT_TIMES, METHODS, REQUIRED, SurvivalInput,
                                     SurvivalInputError, SurvivalResult, check_columns, event_table, prepare, records,
                                     select, validate_choice, validate_times)
from analytics.survival.ederer2 import EdererII
from analytics.survival.kaplan_meier import KaplanMeier
from analytics.survival.pohar_perme import PoharPerme
from analytics.survival.standardise import (ICSS_AGE_GROUPS, ICSS_WEIGHTS, age_standardised, age_standardised_curve,
                                           icss_age_group, icss_standard)

__all__ = ["net_survival", "net_survival_sets", "survival_curve_sets", "age_standardised", "age_standardised_curve",
           "survival_curve", "actuarial", "KaplanMeier", "EdererII", "PoharPerme",
           "SurvivalResult", "SurvivalInputError", "METHODS", "APPROACHES", "DAYS_PER_YEAR", "ICSS_WEIGHTS",
           "ICSS_AGE_GROUPS", "icss_age_group", "icss_standard", "as_rate_table"]


def as_rate_table(lifetable) -> RateTable:
    """A life-table frame (checked) or an already built :class:`RateTable`."""
    if isinstance(lifetable, RateTable):
        return lifetable
    if not isinstance(lifetable, pd.DataFrame):
        raise SurvivalInputError("lifetable must be a data frame with year, sex, age and qx (or mx)")
    missing = [c for c in ("year", "sex", "age") if c not in lifetable.columns]
    if missing or not ({"qx", "mx"} & set(lifetable.columns)):
        raise SurvivalInputError("lifetable needs the columns year, sex, age and qx (or mx)")
    cols = [c for c in ("year", "sex", "age", "qx", "mx", "region_code") if c in lifetable.columns]
    try:
        return lifetable_mod.rate_table(lifetable[cols].astype({"year": "int64", "sex": "int64", "age": "int64"}))
    except (ValueError, TypeError) as exc:
        raise SurvivalInputError(f"life table: {exc}") from exc


def _truncate(inp: SurvivalInput, max_years: float) -> SurvivalInput:
    """Censor each stratum's follow-up at its first observed time past ``max_years``: every step up to
    and including that time (and its number at risk) is unchanged, the rest is not computed."""
    cut = np.floor(max_years * DAYS_PER_YEAR)
    after = inp.time > cut
    if not after.any():
        return inp
    nxt = np.full(inp.n_strata, np.iinfo(np.int64).max)
    np.minimum.at(nxt, inp.stratum[after], inp.time[after])
    lim = nxt[inp.stratum]
    over = inp.time > lim
    out = SurvivalInput(**{**inp.__dict__})
    out.time = np.where(over, lim, inp.time)
    out.status = np.where(over, 0, inp.status).astype(np.int8)
    return out


def survival_curve(data: pd.DataFrame, lifetable=None, *, method: str = "pohar_perme", by: Sequence[str] | str | None = None,
                   conf: float = 0.95, approach: str = "cohort", period=None, max_years: float | None = None
                   ) -> SurvivalResult:
    """The whole fitted curve (every step) as a :class:`SurvivalResult`; ``max_years`` limits the
    work to the follow-up needed up to that time."""
    validate_choice("method", method, METHODS)
    if not 0 < float(conf) < 1:
        raise SurvivalInputError(f"conf must lie between 0 and 1, not {conf!r}")
    rt = None
    if method != "observed":
        if lifetable is None:
            raise SurvivalInputError(f"method {method!r} needs a population life table")
        rt = as_rate_table(lifetable)
    by_list = [by] if isinstance(by, str) else list(by or [])
    inp = prepare(data, by=by_list, approach=approach, period=period,
                  region=rt is not None and rt.regions is not None)
    if max_years is not None:
        inp = _truncate(inp, float(max_years))
    if method == "observed":
        return KaplanMeier().fit(inp, conf=conf, approach=approach, by=by_list)
    est = PoharPerme() if method == "pohar_perme" else EdererII()
    return est.fit(inp, rt, conf=conf, approach=approach, by=by_list)


def net_survival(data: pd.DataFrame, lifetable, *, times: Sequence[float] = DEFAULT_TIMES,
                 method: str = "pohar_perme", by: Sequence[str] | str | None = None, conf: float = 0.95,
                 approach: str = "cohort", period=None) -> pd.DataFrame:
    """Net (Pohar Perme), relative (Ederer II) or observed (Kaplan-Meier) survival at ``times`` years.

    Returns a tidy frame: the ``by`` columns, ``time`` (years), ``estimate``, ``lower``, ``upper``
    (``conf`` CI on the log scale), ``n_risk`` (number with follow-up beyond t), ``events`` (deaths
    since the previous reported time) and, last, ``se`` (of the log cumulative hazard). ``approach``:
    "cohort", "complete" or "period" with ``period=(first_year, last_year)`` (see
    :mod:`analytics.survival.base`). No row where an estimate does not exist (past the last
    observed time, or past the cohort's potential follow-up).
    """
    t = validate_times(times)
    res = survival_curve(data, lifetable, method=method, by=by, conf=conf, approach=approach, period=period,
                         max_years=float(t.max()))
    return res.at(t)


def survival_curve_sets(data: pd.DataFrame, lifetable, sets: Sequence[tuple[Sequence[str], np.ndarray | None]], *,
                        method: str = "pohar_perme", conf: float = 0.95, approach: str = "cohort", period=None,
                        max_years: float | None = None) -> list[SurvivalResult]:
    """:func:`survival_curve` of several stratifications of the same patients at once: for each
    ``(by, rows)`` of ``sets`` (``rows`` a boolean mask over the rows of ``data``, None for all), the
    result of ``survival_curve(data[rows], lifetable, by=by, ...)``, in the order of ``sets``.

    Each patient's expected mortality (the cells of the life table it crosses, its population
    survival day by day) is computed once and summed into every stratification it belongs to
    (:func:`analytics.survival.population.shared_day_sums`); strata, events, intervals and, in the
    period approach, the interval of each entry stay each stratification's own, so each result is
    the one the separate call gives. Stratifications that split the same patients into the same
    strata (by sex when one sex is selected, and no stratification) are summed once. A set's
    result does not depend on the other sets passed with it (the day sums of a stratification
    depend on its own patients and on the patients of ``data``, which decide the chunks of a
    large registry: ``population.CHUNK``)."""
    validate_choice("method", method, METHODS)
    if method == "observed" or lifetable is None:
        return [survival_curve(data if rows is None else data[rows], lifetable, method=method, by=list(by),
                               conf=conf, approach=approach, period=period, max_years=max_years)
                for by, rows in sets]
    if not 0 < float(conf) < 1:
        raise SurvivalInputError(f"conf must lie between 0 and 1, not {conf!r}")
    rt = as_rate_table(lifetable)
    region = rt.regions is not None
    # the columns the sets read, taken once (a set's rows are then cut from these, not from every column)
    read = dict.fromkeys([*REQUIRED, *(c for by, _ in sets for c in by), *(["region_code"] if region else [])])
    data = data[[c for c in read if c in data.columns]]
    recs = records(data, approach=approach, period=period, region=region)    # checked and converted once
    base = select(recs, data)                                                 # every record any set keeps
    need = np.zeros(base.time.size, np.int64)
    fits, targets = [], []
    for by, rows in sets:
        by = list(by)
        check_columns(data, by)
        inp = select(recs, data, by=by, rows=rows)                  # = prepare(data[rows], by=by, ...)
        if max_years is not None:
            inp = _truncate(inp, float(max_years))
        pos = np.searchsorted(base.rows, inp.rows)
        need[pos] = np.maximum(need[pos], inp.time)
        ev = event_table(inp)
        targets.append(population.Target(pos, inp.time, inp.stratum, population.interval_starts(inp, ev), ev))
        fits.append((inp, ev, by))
    shared = SurvivalInput(**{**base.__dict__, "time": need})
    est = PoharPerme() if method == "pohar_perme" else EdererII()
    distinct, which = population.distinct_targets(targets)    # e.g. by sex when one sex is selected = all
    sums = population.shared_day_sums(shared, rt, distinct, weighted=method == "pohar_perme")
    return [est.from_sums(inp, ev, sums[k], conf=conf, approach=approach, by=by) for (inp, ev, by), k in zip(fits, which)]


def net_survival_sets(data: pd.DataFrame, lifetable, sets: Sequence[tuple[Sequence[str], np.ndarray | None]], *,
                      times: Sequence[float] = DEFAULT_TIMES, method: str = "pohar_perme", conf: float = 0.95,
                      approach: str = "cohort", period=None) -> list[pd.DataFrame]:
    """:func:`net_survival` of several stratifications of the same patients at once
    (:func:`survival_curve_sets`): for each ``(by, rows)`` of ``sets``, the frame
    ``net_survival(data[rows], lifetable, by=by, ...)`` returns, in the order of ``sets``. A by-site
    table with its all-sites row and its age-specific rows for standardisation reads the life
    table for each patient once instead of four times."""
    t = validate_times(times)
    validate_choice("method", method, METHODS)
    if method == "observed" or lifetable is None:
        return [net_survival(data if rows is None else data[rows], lifetable, times=t, method=method, by=list(by),
                             conf=conf, approach=approach, period=period) for by, rows in sets]
    return [res.at(t) for res in survival_curve_sets(data, lifetable, sets, method=method, conf=conf,
                                                     approach=approach, period=period, max_years=float(t.max()))]

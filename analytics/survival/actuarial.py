"""Observed survival by the actuarial (life-table) method.

Cutler SJ, Ederer F (1958). Maximum utilization of the life table method in analyzing survival.
J Chronic Dis 8:699-712. Greenwood M (1926), as in :mod:`.kaplan_meier`.

Follow-up is cut into intervals of ``width`` years (of 365.241 days); interval k is the time
(k W, (k+1) W]. With ``l_k`` alive and under follow-up at its start, ``d_k`` deaths and ``c_k``
withdrawals (censored) in it, and, in the period approach, ``e_k`` patients entering during it,
the effective number at risk is ``l'_k = l_k - c_k / 2 + e_k / 2`` (withdrawals and entries count
half), ``q_k = d_k / l'_k`` and ``S = prod (1 - q_k)``; the standard error on the log scale is
``sqrt(sum d_k / (l'_k (l'_k - d_k)))`` and the CI ``S exp(+-z se)``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analytics.survival.base import DAYS_PER_YEAR, group_cumprod, group_cumsum, prepare

ACTUARIAL_COLUMNS = ["start", "end", "n_entering", "entered", "deaths", "censored", "n_effective", "q",
                     "estimate", "lower", "upper", "se"]


def actuarial(data: pd.DataFrame, *, width: float = 1.0, max_years: float = 10.0, by: Sequence[str] | str | None = None,
              conf: float = 0.95, approach: str = "cohort", period=None) -> pd.DataFrame:
    """Life table by intervals of ``width`` years up to ``max_years``: one row per stratum and interval."""
    by = [by] if isinstance(by, str) else list(by or [])
    inp = prepare(data, by=by, approach=approach, period=period)
    w = float(width) * DAYS_PER_YEAR
    n_int = int(np.ceil(max_years / width - 1e-9))
    k_exit = np.ceil(inp.time / w).astype(np.int64) - 1          # interval holding the exit time
    k_entry = np.floor(inp.entry / w).astype(np.int64)           # interval of entry (0 = from the start)
    enters_inside = inp.entry > k_entry * w                       # entry strictly inside its interval
    ns, shape = inp.n_strata, (inp.n_strata, n_int + 1)

    def count(k, weights=None):
        k = np.minimum(k, n_int)
        return np.bincount(inp.stratum * (n_int + 1) + k, weights, minlength=ns * (n_int + 1)).reshape(shape)[:, :n_int]

    exits = count(k_exit)
    deaths = count(k_exit, inp.status.astype(float))
    start_in = count(np.where(enters_inside, k_entry + 1, k_entry))       # present at an interval's start from here
    entered = count(k_entry, enters_inside.astype(float))
    # alive at the start of k: started by then and not exited before k
    alive = np.cumsum(start_in, axis=1) - np.concatenate([np.zeros((ns, 1)), np.cumsum(exits, axis=1)[:, :-1]], axis=1)
    censored = exits - deaths
    eff = alive - censored / 2 + entered / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(eff > 0, deaths / eff, np.nan)
        inc = np.where(eff - deaths > 0, deaths / (eff * (eff - deaths)), np.nan)
    s = np.repeat(np.arange(ns), n_int)
    est = group_cumprod(1 - q.ravel(), s)
    # an interval without deaths adds nothing; one where everyone at risk dies makes the variance infinite
    se = np.sqrt(group_cumsum(np.where(deaths.ravel() > 0, np.nan_to_num(inc.ravel(), nan=np.inf), 0.0), s))
    z = stats.norm.ppf(0.5 + conf / 2)
    out = pd.DataFrame({"_s": s, "start": np.tile(np.arange(n_int) * width, ns),
                        "end": np.tile((np.arange(n_int) + 1) * width, ns), "n_entering": alive.ravel(),
                        "entered": entered.ravel(), "deaths": deaths.ravel(), "censored": censored.ravel(),
                        "n_effective": eff.ravel(), "q": q.ravel(), "estimate": est, "se": se})
    with np.errstate(invalid="ignore"):
        out["lower"] = np.where(out["estimate"] > 0, out["estimate"] * np.exp(-z * out["se"]), np.nan)
        out["upper"] = np.where(out["estimate"] > 0, out["estimate"] * np.exp(z * out["se"]), np.nan)
    out = out[out["n_effective"] > 0]
    if by:
        out = out.merge(inp.strata.reset_index(names="_s"), on="_s", how="left")
    return out[by + ACTUARIAL_COLUMNS].reset_index(drop=True)

"""Net survival by the Pohar Perme estimator (the CONCORD and EUROCARE standard).

Pohar Perme M, Stare J, Estève J (2012). On estimation in relative survival. Biometrics
68:113-120. Computed as relsurv 2.2-9's ``rs.surv(method = "pohar-perme")`` computes it (C routine
``netfastpinter2``), so that the two agree to the printed decimal:

* the curve steps at every distinct observed time, deaths and censorings alike; the expected
  hazard is subtracted on every interval, so the estimate can rise at censoring times and is not
  forced to be monotone;
* step ``j``: ``1 - sum_deaths 1/S_i(t_j) / sum_at-risk 1/S_i(t_j)`` plus, for each day ``k`` of
  the interval, ``1/2 (A_k/B_k + A'_k/B'_k)`` with running sums from the interval start
  ``A_k = sum_days sum_at-risk lambda_i / S_i`` and ``B_k = sum_days sum_at-risk 1/S_i`` (S at the
  start of each day; primed: at its end), i.e. the population hazard weighted by ``1/S_i``;
* ``S_i`` is the population survival of patient i from diagnosis, including t_j's last day;
  at risk on (t_{j-1}, t_j]: time >= t_j (and, with delayed entry, entry < t_j);
* standard error on the cumulative-hazard scale,
  ``se^2 = sum_j sum_deaths S_i^-2 / (sum_at-risk 1/S_i)^2``; CI ``S exp(+-z se)``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.lifetable import RateTable
from analytics.survival import population
from analytics.survival.base import EventTable, SurvivalInput, SurvivalResult, event_table, group_cumprod, group_cumsum, make_curve


class PoharPerme:
    method = "pohar_perme"

    def fit(self, inp: SurvivalInput, rt: RateTable, *, conf: float = 0.95, approach: str = "cohort",
            by=None) -> SurvivalResult:
        ev = event_table(inp)
        ds = population.day_sums(inp, rt, ev, population.interval_starts(inp, ev), weighted=True)
        return self.from_sums(inp, ev, ds, conf=conf, approach=approach, by=by)

    def from_sums(self, inp: SurvivalInput, ev: EventTable, ds: population.DaySums, *, conf: float = 0.95,
                  approach: str = "cohort", by=None) -> SurvivalResult:
        """The fit from the event table and the population day sums of ``inp`` (:meth:`fit` computes
        them; :func:`analytics.survival.net_survival_sets` shares them between stratifications)."""
        terms = population.interval_sums(ds, ev)
        dead = inp.status == 1
        inv = np.exp(ds.cum_hazard[dead])
        key = ev.stratum * (1 << 32) + ev.time
        # deaths' weights summed per (stratum, time): one integer key, the same sums as by the two columns
        g = pd.DataFrame({"k": inp.stratum[dead] * (1 << 32) + inp.time[dead], "w": inv, "w2": inv * inv})
        g = g.groupby("k", sort=True)[["w", "w2"]].sum()
        pos = np.searchsorted(key, g.index.to_numpy(np.int64))
        dnisi = np.zeros(key.size)
        dnisisq = np.zeros(key.size)
        dnisi[pos] = g["w"].to_numpy()
        dnisisq[pos] = g["w2"].to_numpy()
        yisi = terms["yisi"]
        haz = dnisi / yisi - terms["integral"]
        est = group_cumprod(1.0 - haz, ev.stratum)
        var = group_cumsum(dnisisq / (yisi * yisi), ev.stratum)
        return SurvivalResult(self.method, approach, conf, list(by or []), inp.strata, make_curve(ev, est, var, conf),
                              inp.horizon, inp.n_dropped)

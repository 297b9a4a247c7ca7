"""Relative survival by the Ederer II method, in continuous time as relsurv computes it.

Ederer F, Heise H (1959). Instructions to IBM 650 programmers in processing survival
computations. Methodological note 10, End Results Evaluation Section, National Cancer Institute.
Pohar Perme M, Stare J, Estève J (2012). On estimation in relative survival. Biometrics 68:113-120
(the continuous-time form); relsurv's ``rs.surv(method = "ederer2")``.

At each distinct observed time ``t_j``, with ``n_j`` at risk on (t_{j-1}, t_j] and ``d_j`` deaths,
``S(t) = prod (1 - (d_j - E_j) / n_j)`` where ``E_j`` is the expected number of deaths: the sum
over those at risk of their population cumulative hazard over the interval. Standard error on the
cumulative-hazard scale ``sqrt(sum d_j / n_j^2)``; CI ``S exp(+-z se)``.
"""
from __future__ import annotations

from analytics.lifetable import RateTable
from analytics.survival import population
from analytics.survival.base import EventTable, SurvivalInput, SurvivalResult, event_table, group_cumprod, group_cumsum, make_curve


class EdererII:
    method = "ederer2"

    def fit(self, inp: SurvivalInput, rt: RateTable, *, conf: float = 0.95, approach: str = "cohort",
            by=None) -> SurvivalResult:
        ev = event_table(inp)
        ds = population.day_sums(inp, rt, ev, population.interval_starts(inp, ev), weighted=False)
        return self.from_sums(inp, ev, ds, conf=conf, approach=approach, by=by)

    def from_sums(self, inp: SurvivalInput, ev: EventTable, ds: population.DaySums, *, conf: float = 0.95,
                  approach: str = "cohort", by=None) -> SurvivalResult:
        """The fit from the event table and the population day sums (``h``) of ``inp``."""
        expected = population.interval_sums(ds, ev)["h"]
        n, d = ev.n_risk.astype(float), ev.deaths.astype(float)
        est = group_cumprod(1.0 - (d - expected) / n, ev.stratum)
        var = group_cumsum(d / (n * n), ev.stratum)
        return SurvivalResult(self.method, approach, conf, list(by or []), inp.strata, make_curve(ev, est, var, conf),
                              inp.horizon, inp.n_dropped)

"""Observed survival: the Kaplan-Meier product-limit estimator with Greenwood's variance.

Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. J Am Stat
Assoc 53:457-481. Greenwood M (1926). The natural duration of cancer. Reports on Public Health
and Medical Subjects 33. HMSO, London.

``S(t) = prod_(t_j <= t) (1 - d_j / n_j)``; the standard error is on the cumulative-hazard scale,
``se = sqrt(sum d_j / (n_j (n_j - d_j)))``, and the CI is ``S exp(+-z se)`` (``survival::survfit``
with ``conf.type = "log"``, its default; like survfit, the upper limit is cut at 1). With left truncation (period approach) ``n_j`` counts
the patients who entered before ``t_j`` (``survfit(Surv(entry, exit, status))``).
"""
from __future__ import annotations

import numpy as np

from analytics.survival.base import SurvivalInput, SurvivalResult, event_table, group_cumprod, group_cumsum, make_curve


class KaplanMeier:
    method = "observed"

    def fit(self, inp: SurvivalInput, *, conf: float = 0.95, approach: str = "cohort", by=None) -> SurvivalResult:
        ev = event_table(inp)
        n, d = ev.n_risk.astype(float), ev.deaths.astype(float)
        est = group_cumprod(1.0 - d / n, ev.stratum)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = group_cumsum(np.where(d > 0, d / (n * (n - d)), 0.0), ev.stratum)
        curve = make_curve(ev, est, var, conf)
        curve["upper"] = curve["upper"].clip(upper=1.0)
        return SurvivalResult(self.method, approach, conf, list(by or []), inp.strata, curve, inp.horizon, inp.n_dropped)

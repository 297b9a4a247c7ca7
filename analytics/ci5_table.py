"""The CI5 / CanReg5 incidence table: per sex and site, cases by age group, all ages, unknown age,
crude rate, % of all sites, cumulative rate and risk 0-74 and the world ASR.

Layout of CanReg5's table builder "Age-specific incidence rates" and of Cancer Incidence in Five
Continents (Bray et al., CI5 Vol. XI, IARC Sci. Pub. 166, ch. 7): rates per 100,000, ASR on the
Segi world standard with unknown age redistributed in proportion to known ages, cumulative 0-74.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import rate_inputs, rates, schema
from analytics.intervals import check_choice
from analytics.strata import require_columns

TOTAL = "All sites"


def ci5_table(counts: pd.DataFrame, population: pd.DataFrame, *, site: str = schema.SITE_CI5,
              sex: str = schema.SEX, age: str = schema.AGE_GROUP, count: str | None = "count",
              values: str = "counts", standard: str = "world_segi1960",
              multiplier: float = 100000, total_label: str = TOTAL,
              total_excludes: tuple[str, ...] = (), decimals: int | None = 2,
              drop_empty: bool = True, unknown_age: str = "redistribute") -> pd.DataFrame:
    """CI5-style table, one row per sex × site plus an ``total_label`` row per sex.

    ``counts``: aggregated counts (``site``, ``sex``, ``age``, ``count``) or, with ``count=None``
    or a missing count column, one row per tumour (rows are counted; ``included`` respected).
    ``population``: person-years with ``sex``, ``age`` and ``population`` (other dimensions summed).
    ``values="counts"`` puts the number of cases in the age columns (CanReg5 "numbers" table),
    ``"rates"`` the age-specific rates per ``multiplier``. ``total_excludes``: sites left out of the
    total (e.g. ``("Other skin",)`` for "all sites but C44"). Columns: ``sex``, ``site``, the age
    groups, ``all_ages``, ``unknown_age``, ``crude_rate``, ``percent``, ``cum_rate_0_74``,
    ``cum_risk_0_74``, ``asr``, ``asr_se``. ``attrs`` record standard and conventions.
    """
    check_choice("unknown_age rule", unknown_age, rates.UNKNOWN_AGE_RULES)
    if count is None or count not in counts.columns:
        counts = rate_inputs.count_cases(counts, [sex, site], age=age)
        count = "count"
    require_columns(counts, [site, sex, age, count], "case counts")
    counts = counts[[sex, site, age, count]].copy()
    counts[site] = counts[site].astype(str)
    in_total = ~counts[site].isin(total_excludes)
    total = counts[in_total].groupby([sex, age], dropna=False, observed=True)[count].sum().reset_index()
    total[site] = total_label
    allc = pd.concat([counts, total[[sex, site, age, count]]], ignore_index=True)
    data = rate_inputs.join_population(allc.rename(columns={count: "count"}), population,
                                       [sex, site], age=age)
    by = [sex, site]
    spec = rates.age_specific(data, by=by, age=age, multiplier=multiplier)
    spec["cell"] = spec["count"] if values == "counts" else spec["value"]
    wide = spec.pivot_table(index=by, columns="age_group", values="cell", observed=True, sort=False)
    wide = wide[[c for c in spec["age_group"].drop_duplicates()]]
    wide.columns = [str(c) for c in wide.columns]
    asr = rates.dsr(data, by=by, age=age, standard=standard, method="normal",
                    multiplier=multiplier, unknown_age=unknown_age).set_index(by)
    cum = rates.cumulative_risk(data, by=by, age=age, max_age=74, unknown_age=unknown_age).set_index(by)
    out = wide.join(pd.DataFrame({
        "all_ages": asr["count"], "unknown_age": asr["unknown_age"],
        "crude_rate": asr["crude_rate"], "cum_rate_0_74": cum["cum_rate"],
        "cum_risk_0_74": cum["cum_risk"], "asr": asr["value"], "asr_se": asr["se"]}))
    out = out.reset_index()
    tot = out[out[site] == total_label].set_index(sex)["all_ages"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["percent"] = 100 * out["all_ages"] / out[sex].map(tot).to_numpy(dtype=float)
    out.loc[out[site].isin(total_excludes), "percent"] = np.nan
    if drop_empty:
        out = out[(out["all_ages"] > 0) | (out[site] == total_label)]
    out = out.assign(_total=out[site] == total_label).sort_values(
        [sex, "_total", "all_ages"], ascending=[True, True, False], kind="stable")
    cols = [sex, site] + list(wide.columns) + ["all_ages", "unknown_age", "crude_rate", "percent",
                                               "cum_rate_0_74", "cum_risk_0_74", "asr", "asr_se"]
    out = out[cols].reset_index(drop=True)
    if decimals is not None:
        num = [c for c in cols[2:] if c not in ("all_ages", "unknown_age")]
        if values == "counts":
            num = [c for c in num if c not in wide.columns]
        out[num] = out[num].round(decimals)
    out.attrs.update(table="CI5 incidence table", standard=standard, multiplier=multiplier,
                     values=values, unknown_age=unknown_age, cumulative="0-74",
                     total=total_label, total_excludes=list(total_excludes))
    return out

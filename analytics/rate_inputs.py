"""Turn case records (or an aggregated count table) and a population table into the tidy
``by × age group`` frame that the rate functions read: every age group of the population present,
zero counts where no case occurred, unknown-age cases kept as their own rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import schema as S
from analytics.standards import parse_age_group
from analytics.strata import RatesInputError, as_list, require_columns


def count_cases(records: pd.DataFrame, by=None, *, age: str = S.AGE_GROUP,
                included: str | None = S.INCLUDED) -> pd.DataFrame:
    """Cases per ``by`` × age group from one-row-per-tumour records (only ``included`` rows when
    that column exists). Unknown age stays as a row with a missing age group. Column ``count``."""
    by = as_list(by)
    require_columns(records, by + [age], "records")
    rec = records
    if included and included in rec.columns:
        rec = rec[rec[included].fillna(False).astype(bool)]
    counts = rec.groupby(by + [age], dropna=False, observed=True, sort=True).size()
    return counts.rename("count").reset_index()


def join_population(counts: pd.DataFrame, population: pd.DataFrame, by=None, *,
                    age: str = S.AGE_GROUP, count: str = "count",
                    pop_column: str = S.POPULATION) -> pd.DataFrame:
    """Attach person-years to counts per ``by`` × age group.

    ``by`` columns found in the population (e.g. year, region, sex) are matched; the population is
    summed over its other dimensions (pooled years give person-years). ``by`` columns that the
    population lacks (e.g. the site) get the same population for each of their values. Every age
    group of the population appears, with count 0 where no case occurred; cases whose age group is
    missing are kept as rows with population 0 (counted as unknown age by the rate functions).
    Cases in an age group or stratum absent from the population are an error naming them.
    The age group and the text ``by`` columns come back as categoricals (age ordered by age).
    """
    by = as_list(by)
    require_columns(counts, by + [age, count], "case counts")
    require_columns(population, [age, pop_column], "population")
    pop_keys = [c for c in by if c in population.columns]
    extra = [c for c in by if c not in population.columns]
    pop = population.copy()
    for c in pop_keys:
        if counts[c].dtype != pop[c].dtype:
            try:
                pop[c] = pop[c].astype(counts[c].dtype)
            except (TypeError, ValueError):
                counts = counts.assign(**{c: counts[c].astype(str)})
                pop[c] = pop[c].astype(str)
    pop[age] = pop[age].astype(str)
    pop = pop.groupby(pop_keys + [age], observed=True, sort=True)[pop_column].sum().reset_index()
    known = counts[counts[age].notna()].copy()
    known[age] = known[age].astype(str)
    unknown = counts[counts[age].isna()]
    if extra:
        levels = known[extra].drop_duplicates() if len(known) else counts[extra].drop_duplicates()
        grid = pop.merge(levels, how="cross")
    else:
        grid = pop
    keys = by + [age]
    agg = known.groupby(keys, observed=True, sort=False)[count].sum().reset_index()
    out = grid.merge(agg, on=keys, how="left", indicator=True)
    # grid and agg each hold a key once, so every count found a stratum iff as many grid rows
    # matched as agg has rows; only then are the lost ones looked up (a second merge)
    lost = agg.iloc[:0]
    if int((out["_merge"] == "both").sum()) != len(agg):
        lost = agg.merge(grid[keys], on=keys, how="left", indicator=True)
        lost = lost[lost["_merge"] == "left_only"]
    if len(lost):
        first = lost.iloc[0][keys].to_dict()
        raise RatesInputError(
            f"{int(lost[count].sum())} case(s) fall in strata without population, e.g. {first}; "
            "add that population or regroup ages (age groups must use the population's labels)")
    out = out.drop(columns="_merge")
    out[count] = out[count].fillna(0).astype(float)
    if len(unknown):
        u = unknown.groupby(by, dropna=False, observed=True)[count].sum().reset_index()
        u[age] = np.nan
        u[pop_column] = 0.0
        out = pd.concat([out, u[out.columns]], ignore_index=True)
    out = out[by + [age, count, pop_column]]
    # An ordered categorical age group: sorted by age and cheap to group by downstream.
    labels = sorted(pd.unique(out[age].dropna().astype(str)),
                    key=lambda x: (parse_age_group(x) or (np.inf, np.inf)))
    out[age] = pd.Categorical(out[age], categories=labels, ordered=True)
    # Text keys (region, site) as categoricals: a fraction of the memory, and every later
    # group-by (here and in the rate functions) reads their codes instead of hashing strings.
    for c in by:
        if pd.api.types.is_string_dtype(out[c].dtype) or out[c].dtype == object:
            out[c] = out[c].astype("category")
    return out

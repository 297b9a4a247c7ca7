"""Perturbed selections of a case cube: what public output counts.

:class:`PerturbedCube` wraps an :mod:`analytics.cube` cube built with record keys
(``events_from_records(records, site, key=...)``) and answers the same selections with published
counts. Its design makes every published count a sum of a fixed set of *base cells*, each
perturbed once by the cell-key method:

* a base cell is one year x one age group (or unknown age) x one node of each hierarchy the
  dashboard selects by: sex (men, women, or both sexes with unknown sex), region (a district,
  an economic region, or the country) and site (one site group, all sites, or all sites but C44);
* period and age range are *ranges*: a selection over several years or age groups publishes the
  sum of the perturbed base cells of each year and age group. Two overlapping ranges therefore
  differ by exactly the perturbed base cells they do not share — differencing "ages 0-84 minus
  ages 0-79" gives a perturbed cell, never a true count, and averaging many such differences
  gives nothing new, because each base cell has a single noise draw.
* other sets (both sexes without unknown sex, a list of districts that is not an economic
  region) are sums of their perturbed single-node cells.

A selection's noise variance is at most V times the number of its non-zero base cells, hence at
most V times its count (the Poisson variance of the count itself).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics import cube as cubes
from analytics import schema as S
from analytics.disclosure.rule import DisclosureRule

CANONICAL_SEXES = (frozenset({S.MALE}), frozenset({S.FEMALE}), frozenset(cubes.SEX_AXIS))


class PerturbedCube:
    """A keyed cube whose selections give published (perturbed) counts.

    ``select`` has the signature and the output columns of the cube's ``select`` (``by`` + age
    group, ``count``, ``population``) without ``key_sum``."""

    def __init__(self, cube: cubes.Cube, rule: DisclosureRule):
        if not cube.axes.has_keys:
            raise ValueError("PerturbedCube needs a cube built with record keys "
                             "(analytics.cube.events_from_records(..., key=...))")
        self.cube = cube
        self.rule = rule
        ax = cube.axes
        groups: dict[str, set] = {}
        for code, parent in zip(ax.regions, ax.parents):
            if parent:
                groups.setdefault(parent, set()).add(str(code))
        self._region_nodes = {frozenset(v) for v in groups.values()}

    @classmethod
    def from_records(cls, records: pd.DataFrame, population: pd.DataFrame, parents: dict[str, str],
                     site_column: str, rule: DisclosureRule, *, strategy: str = "auto") -> "PerturbedCube":
        """The perturbed cube of a records frame (``analytics.pipeline`` records): record keys from
        :meth:`DisclosureRule.keys_of`, counted tumours as :func:`analytics.cube.events_from_records`."""
        keyed = records.assign(**{cubes.KEY_SUM: rule.keys_of(records)})
        events = cubes.events_from_records(keyed, site_column, key=cubes.KEY_SUM)
        return cls(cubes.build_cube(events, population, parents, strategy=strategy), rule)

    @property
    def axes(self):
        return self.cube.axes

    @property
    def sites(self) -> np.ndarray:
        return self.cube.sites

    @property
    def c44_sites(self) -> frozenset:
        return self.cube.c44_sites

    def _split(self, sel: cubes.Selection, by: list[str]) -> list[str]:
        """The extra dimensions a selection is summed over (beyond ``by``): always years, and sex
        or district when the selected set is not a node of its hierarchy."""
        extra = [] if S.YEAR in by else [S.YEAR]
        sexes = frozenset(sel.sexes)
        if S.SEX not in by and sexes not in CANONICAL_SEXES:
            if S.UNKNOWN_SEX in sexes:
                raise ValueError(f"public selections count unknown sex only with both sexes; got sexes {sel.sexes}")
            extra.append(S.SEX)
        if (sel.regions is not None and len(sel.regions) > 1 and S.REGION not in by and S.PARENT not in by
                and frozenset(map(str, sel.regions)) not in self._region_nodes):
            extra.append(S.REGION)
        return extra

    def select(self, sel: cubes.Selection, by: Sequence[str] = (), *, all_sites: bool = False) -> pd.DataFrame:
        by = list(by)
        extra = self._split(sel, by)
        raw = self.cube.select(sel, by + extra, all_sites=all_sites)
        published = self.rule.noisy(raw[S.COUNT].to_numpy(), raw[cubes.KEY_SUM].to_numpy())
        out = raw.drop(columns=[cubes.KEY_SUM]).assign(**{S.COUNT: published})
        keys = by + [S.AGE_GROUP]
        out = (out.assign(_unknown=out[S.AGE_GROUP].isna(), **{S.AGE_GROUP: out[S.AGE_GROUP].fillna(cubes.UNKNOWN_AGE)})
               .groupby(keys + ["_unknown"], sort=False, observed=True)
               .agg(**{S.COUNT: (S.COUNT, "sum"), S.POPULATION: (S.POPULATION, "sum")})
               .reset_index())
        unknown = out.pop("_unknown").to_numpy()
        out[S.AGE_GROUP] = out[S.AGE_GROUP].where(~unknown, None)
        out.loc[unknown, S.POPULATION] = np.nan
        if cubes.SITE in by:
            # a site is listed when its published counts are not all zero (a true count of zero is
            # always published as zero, so an absent site says nothing a zero would not)
            shown = out.groupby(cubes.SITE, sort=False)[S.COUNT].transform("sum") > 0
            out = out[shown]
        out[S.COUNT] = out[S.COUNT].astype("int64")
        return out[keys + [S.COUNT, S.POPULATION]].reset_index(drop=True)

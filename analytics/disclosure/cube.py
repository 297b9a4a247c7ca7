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

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics import cube as cubes
from analytics import schema as S
from analytics.disclosure.rule import DisclosureRule

CANONICAL_SEXES = (frozenset({S.MALE}), frozenset({S.FEMALE}), frozenset(cubes.SEX_AXIS))
# Base cells published at once for a dense cube (int64 arrays of this size, a few at a time);
# larger cubes perturb the base cells of each selection when it is asked for.
MAX_NODE_CELLS = 12_000_000


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
        if isinstance(self.cube, cubes.DenseCube) and self._node_cells() <= MAX_NODE_CELLS:
            out = self._select_dense(sel, by, all_sites)
        else:
            out = self._select_generic(sel, by, all_sites)
        if cubes.SITE in by:
            # a site is listed when its published counts are not all zero (a true count of zero is
            # always published as zero, so an absent site says nothing a zero would not)
            shown = out.groupby(cubes.SITE, sort=False)[S.COUNT].transform("sum") > 0
            out = out[shown]
        return out.reset_index(drop=True)

    # --- dense cubes: every base cell perturbed once, ranges summed by cumulative sums ------------
    def _node_cells(self) -> int:
        ax = self.cube.axes
        n_parents = len({p for p in ax.parents if p})
        return len(ax.years) * 3 * (len(ax.regions) + n_parents + 1) * len(ax.ages) * (len(ax.sites) + 2)

    @functools.cached_property
    def _nodes(self):
        """Published base cells of a dense cube, cumulated over years: ``[year + 1, sex node,
        region node, age group, site node]`` with sex nodes (men, women, both), region nodes
        (districts, economic regions, country) and site nodes (sites, all, all but C44)."""
        cube, ax = self.cube, self.cube.axes
        parents = np.array(sorted({p for p in ax.parents if p}), dtype=object)
        onehot = (ax.parents[:, None] == parents[None, :]).astype(np.int64)
        no_c44 = ~np.isin(ax.sites, list(ax.c44_sites))

        def nodes(a: np.ndarray) -> np.ndarray:
            a = np.concatenate([a[:, :2], a.sum(axis=1, keepdims=True)], axis=1)                  # sexes
            er = np.moveaxis(np.tensordot(a, onehot, axes=([2], [0])), -1, 2)
            a = np.concatenate([a, er, a.sum(axis=2, keepdims=True)], axis=2)                     # regions
            return np.concatenate([a, a.sum(axis=4, keepdims=True),
                                   a[..., no_c44].sum(axis=4, keepdims=True)], axis=4)          # sites
        counts, keys = nodes(cube.cases), nodes(cube.keys)
        published = self.rule.noisy(counts.ravel(), keys.ravel()).reshape(counts.shape).astype(np.int64)
        cum = np.concatenate([np.zeros((1,) + published.shape[1:], np.int64), np.cumsum(published, axis=0)])
        region_index = {str(c): i for i, c in enumerate(ax.regions)}
        region_index.update({str(p): len(ax.regions) + i for i, p in enumerate(parents)})
        return cum, region_index, len(ax.regions) + len(parents)

    def _select_dense(self, sel: cubes.Selection, by: list[str], all_sites: bool) -> pd.DataFrame:
        cum, region_index, country = self._nodes
        ax = self.cube.axes
        out = self.cube.select(sel, by, all_sites=all_sites).drop(columns=[cubes.KEY_SUM])
        n = len(out)
        years = pd.Index(ax.years)
        if S.YEAR in by:
            y = years.get_indexer(out[S.YEAR].to_numpy())
            y0, y1 = y, y + 1
        else:
            inside = np.flatnonzero((ax.years >= sel.years[0]) & (ax.years <= sel.years[1]))
            y0 = np.full(n, inside[0] if len(inside) else 0)
            y1 = np.full(n, inside[-1] + 1 if len(inside) else 0)
        age = pd.Index(ax.ages).get_indexer(out[S.AGE_GROUP].fillna(cubes.UNKNOWN_AGE).to_numpy())
        sites = pd.Index(ax.sites)
        if cubes.SITE in by:
            site = sites.get_indexer(out[cubes.SITE].to_numpy())
        else:
            label = cubes.ALL_SITES if all_sites else sel.site
            k = {cubes.ALL_SITES: len(sites), cubes.ALL_BUT_C44: len(sites) + 1}.get(label)
            site = np.full(n, sites.get_loc(label) if k is None else k)
        if S.SEX in by:
            sex_lists = [out[S.SEX].map({S.MALE: 0, S.FEMALE: 1}).to_numpy()]
        else:
            sexes = frozenset(sel.sexes)
            if sexes == frozenset(cubes.SEX_AXIS):
                sex_lists = [np.full(n, 2)]
            elif S.UNKNOWN_SEX in sexes:
                raise ValueError(f"public selections count unknown sex only with both sexes; got sexes {sel.sexes}")
            else:
                sex_lists = [np.full(n, 0 if s == S.MALE else 1) for s in sorted(sexes)]
        region_lists = self._region_lists(sel, by, out, region_index, country)
        total = np.zeros(n, np.int64)
        for sx in sex_lists:
            for rg, mask in region_lists:
                v = cum[y1, sx, rg, age, site] - cum[y0, sx, rg, age, site]
                total += np.where(mask, v, 0)
        return out.assign(**{S.COUNT: total})

    def _region_lists(self, sel, by, out, region_index, country):
        """The region nodes each output row adds up: [(node index per row, rows it applies to)]."""
        n = len(out)
        every = np.ones(n, bool)
        if S.REGION in by:
            return [(out[S.REGION].map(region_index).to_numpy(), every)]
        chosen = None if sel.regions is None else [str(r) for r in sel.regions]
        if S.PARENT in by:
            rows = out[S.PARENT].astype(str).to_numpy()
            if chosen is None:
                return [(np.array([region_index[p] for p in rows]), every)]
            parts = []
            for parent in np.unique(rows):
                members = [d for d, p in zip(self.cube.axes.regions, self.cube.axes.parents) if p == parent]
                picked = [d for d in members if d in chosen]
                mask = rows == parent
                nodes = [parent] if set(picked) == set(members) else picked
                parts += [(np.full(n, region_index[str(d)]), mask) for d in nodes]
            return parts
        if chosen is None:
            return [(np.full(n, country), every)]
        if len(chosen) == 1 or frozenset(chosen) not in self._region_nodes:
            return [(np.full(n, region_index[d]), every) for d in chosen]
        parent = next(p for d, p in zip(self.cube.axes.regions, self.cube.axes.parents) if str(d) == chosen[0])
        return [(np.full(n, region_index[str(parent)]), every)]

    # --- any cube: perturbed per query (the base cells of the selection only) ----------------------
    def _select_generic(self, sel: cubes.Selection, by: list[str], all_sites: bool) -> pd.DataFrame:
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
        out[S.COUNT] = out[S.COUNT].astype("int64")
        return out[keys + [S.COUNT, S.POPULATION]]

"""Case and person-year cubes: any selection of a registry's counts in a few array slices.

A registry's counted events (incident tumours, or deaths) are summed once into an array
``[year, sex, district, age group, site]`` and its population into ``[year, sex, district,
age group]``. A *selection* (period, sexes, districts, age groups, one site or all) is then a few
boolean slices and a sum, which is what lets a dashboard answer every filter change at once.

Two strategies give the same frame for every selection:

* :class:`DenseCube` holds both arrays in memory (fast; used while the array is small);
* :class:`SparseCube` keeps the event and population tables and groups them per selection
  (for registries with very many areas × sites).

:func:`build_cube` chooses by size. Both return the input of :func:`analytics.rates.dsr`: the
``by`` columns, ``age_group``, ``count``, ``population``; the grid is the full product of the
selected axis labels (zero counts kept), and cases of unknown age appear as rows with no age
group and no population, only when the selection spans every age group.

An optional ``key_sum`` column of the events (the sum of each event's record key, see
:mod:`analytics.disclosure`) is carried through every selection in the same way as ``count``,
so that a published cell's key is known without the records.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics import schema as S

SITE = "site"
C44 = "c44"
KEY_SUM = "key_sum"
ALL_SITES, ALL_BUT_C44 = "all", "all_but_c44"
UNKNOWN_AGE = "unknown"
SEX_AXIS = (S.MALE, S.FEMALE, S.UNKNOWN_SEX)
EVENT_COLUMNS = [S.YEAR, S.SEX, S.REGION, S.AGE_GROUP, SITE, C44, S.COUNT]
BY_COLUMNS = (S.YEAR, S.SEX, S.REGION, S.PARENT, SITE)
MAX_DENSE_CELLS = 40_000_000   # above this (very many areas x sites) the sparse strategy is used
# the record columns events_from_records reads (besides the site column)
RECORD_COLUMNS = (S.INCLUDED, S.YEAR, S.REGION, S.SEX, S.AGE_GROUP, S.ICD10)


@dataclasses.dataclass(frozen=True)
class Selection:
    """What a view counts: a period, sexes, districts, age groups and a site (or all sites).

    ``regions`` None means the whole country. ``site`` is a site-group label of the cube's site
    list, :data:`ALL_SITES` or :data:`ALL_BUT_C44` (all sites but non-melanoma skin, C44).
    Cases of unknown age belong to the selection only when ``ages`` holds every age group.
    """

    years: tuple[int, int]
    sexes: tuple[int, ...] = SEX_AXIS
    regions: tuple[str, ...] | None = None
    ages: tuple[str, ...] = tuple(S.AGE_GROUPS)
    site: str = ALL_SITES

    def __post_init__(self) -> None:
        y0, y1 = self.years
        if y0 > y1:
            raise ValueError(f"Selection.years must be (first, last), got {self.years}")
        bad = [a for a in self.ages if a not in S.AGE_GROUPS]
        if bad:
            raise ValueError(f"Selection.ages: unknown age groups {bad}; use labels of {S.AGE_GROUPS}")
        bad = [s for s in self.sexes if s not in SEX_AXIS]
        if bad:
            raise ValueError(f"Selection.sexes: unknown sex codes {bad}; use {SEX_AXIS}")

    @property
    def all_ages(self) -> bool:
        return set(self.ages) == set(S.AGE_GROUPS)

    def replace(self, **changes) -> "Selection":
        return dataclasses.replace(self, **changes)


# --- events -------------------------------------------------------------------------------
def events_from_records(records: pd.DataFrame, site_column: str, *, key: str | None = None) -> pd.DataFrame:
    """Counted tumours (``included``) summed per year, sex, district, age group and site.

    Unknown sex becomes 9 and unknown age the age group :data:`UNKNOWN_AGE`; records without a
    year or a district cannot be placed and are left out (the ingest reconciliation counts them).
    With ``key`` (a column of per-record keys) the events carry ``key_sum`` as well.
    """
    r = records.loc[records[S.INCLUDED].fillna(False).astype(bool)]
    r = r.loc[r[S.YEAR].notna() & r[S.REGION].notna()]
    df = pd.DataFrame({
        S.YEAR: r[S.YEAR].astype("int64").to_numpy(),
        S.SEX: r[S.SEX].fillna(S.UNKNOWN_SEX).astype("int64").to_numpy(),
        S.REGION: _as_text(r[S.REGION], "nan"),
        S.AGE_GROUP: _as_text(r[S.AGE_GROUP], UNKNOWN_AGE),
        SITE: _as_text(r[site_column], ""),
        C44: _starts_with(r[S.ICD10], "C44"),
        S.COUNT: np.ones(len(r), dtype="int64"),
    })
    if key is not None:
        df[KEY_SUM] = r[key].to_numpy("int64")
    return df.groupby(EVENT_COLUMNS[:-1], observed=True, sort=False).sum().reset_index()


def _as_text(values: pd.Series, missing: str) -> np.ndarray:
    """``values`` as an object array of ``str`` (each value's ``str``), ``missing`` where a value
    is missing. A categorical column's categories are converted once and taken by code: converting
    every record's value (pandas' ``astype(str)`` builds an Arrow string array of them) was about
    half of making the demo's events, in the first visitor's wait (README, Performance)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = np.array([str(c) for c in values.cat.categories] + [missing], dtype=object)
        return cats[values.cat.codes.to_numpy()]          # code -1 (missing): the last entry
    if isinstance(values.dtype, pd.StringDtype):
        return values.to_numpy(dtype=object, na_value=missing)
    return values.astype(object).where(values.notna(), missing).astype(str).to_numpy(dtype=object)


def _starts_with(values: pd.Series, prefix: str) -> np.ndarray:
    """Whether each value's ``str`` starts with ``prefix`` (a missing value: no); a categorical
    column's categories are tested once."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        hit = np.array([str(c).startswith(prefix) for c in values.cat.categories] + [False], dtype=bool)
        return hit[values.cat.codes.to_numpy()]
    return values.astype(str).str.startswith(prefix).to_numpy(dtype=bool)


def _check_events(events: pd.DataFrame) -> None:
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events lack column(s) {missing}; expected {EVENT_COLUMNS}")


# --- the two strategies -------------------------------------------------------------------
def _distinct(values: pd.Series) -> list:
    """The distinct values of a column as Python scalars (ints, strings), in no particular order."""
    return pd.unique(values.to_numpy()).tolist()


class _Axes:
    """Axis labels shared by both strategies, so that both produce the same grid."""

    def __init__(self, events: pd.DataFrame, population: pd.DataFrame, parents: dict[str, str]):
        # the distinct values first (one vectorised pass), then the sets: iterating a column of
        # Arrow strings element by element cost 0.4 s of the 0.64 s build of a demo cube
        self.years = np.array(sorted(set(_distinct(population[S.YEAR].dropna().astype(int)))
                                     | set(_distinct(events[S.YEAR].astype(int)))), dtype="int64")
        self.regions = np.array(sorted(set(_distinct(population[S.REGION].dropna().astype(str)))
                                       | set(_distinct(events[S.REGION].astype(str)))), dtype=object)
        self.parents = np.array([parents.get(c, "") or "" for c in self.regions], dtype=object)
        self.ages = np.array(list(S.AGE_GROUPS) + [UNKNOWN_AGE], dtype=object)
        self.sites = np.array(sorted(set(_distinct(events[SITE].astype(str)))), dtype=object)
        self.c44_sites = frozenset(_distinct(events.loc[events[C44].astype(bool), SITE].astype(str)))
        self.has_keys = KEY_SUM in events.columns

    def masks(self, sel: Selection, by: Sequence[str], all_sites: bool):
        ym = (self.years >= sel.years[0]) & (self.years <= sel.years[1])
        sm = np.isin(SEX_AXIS, sel.sexes)
        if S.SEX in by:
            sm &= np.array(SEX_AXIS) != S.UNKNOWN_SEX   # no person-years for unknown sex
        rm = np.ones(len(self.regions), bool) if sel.regions is None else np.isin(self.regions, list(sel.regions))
        am = np.isin(self.ages, list(sel.ages) + ([UNKNOWN_AGE] if sel.all_ages else []))
        km = np.ones(len(self.sites), bool)
        if SITE not in by and not all_sites:
            if sel.site == ALL_BUT_C44:
                km = ~np.isin(self.sites, list(self.c44_sites))
            elif sel.site != ALL_SITES:
                km = self.sites == sel.site
        return ym, sm, rm, am, km


def _check_by(by: Sequence[str]) -> list[str]:
    by = list(by)
    bad = [b for b in by if b not in BY_COLUMNS]
    if bad:
        raise ValueError(f"by: unknown column(s) {bad}; choose from {BY_COLUMNS}")
    if S.REGION in by and S.PARENT in by:
        raise ValueError("by: group by districts (region_code) or economic regions (parent_code), not both")
    return by


def _finish(out: pd.DataFrame, by: list[str], keys: bool) -> pd.DataFrame:
    """Common tail: types, unknown-age rows only where they hold cases, column order."""
    for col in (S.YEAR, S.SEX):
        if col in out:
            out[col] = out[col].astype("int64")
    for col in (S.REGION, S.PARENT, SITE, S.AGE_GROUP):
        if col in out:
            out[col] = out[col].astype(str)
    unknown = out[S.AGE_GROUP] == UNKNOWN_AGE
    if unknown.any():
        out = out[~unknown | (out[S.COUNT] > 0)].copy()
        unknown = out[S.AGE_GROUP] == UNKNOWN_AGE
        out[S.AGE_GROUP] = out[S.AGE_GROUP].where(~unknown, None)
        out.loc[unknown, S.POPULATION] = np.nan
    cols = by + [S.AGE_GROUP, S.COUNT, S.POPULATION] + ([KEY_SUM] if keys else [])
    return out[cols].reset_index(drop=True)


class DenseCube:
    """Events as a dense array [year, sex, district, age group, site] (and their key sums),
    person-years as [year, sex, district, age group].

    :meth:`to_tables` and :meth:`from_tables` give it a form that can be stored without pickles
    (JSON axes, tidy frames) and read back as the same cube, with no pass over the events."""

    def __init__(self, events: pd.DataFrame, population: pd.DataFrame, parents: dict[str, str]):
        _check_events(events)
        ax = self.axes = _Axes(events, population, parents)
        shape = (len(ax.years), len(SEX_AXIS), len(ax.regions), len(ax.ages), len(ax.sites))
        self.shape = shape
        pos = [pd.Index(a).get_indexer(v) for a, v in (
            (ax.years, events[S.YEAR].astype("int64").to_numpy()), (SEX_AXIS, events[S.SEX].astype("int64").to_numpy()),
            (ax.regions, events[S.REGION].astype(str).to_numpy()), (ax.ages, events[S.AGE_GROUP].astype(str).to_numpy()),
            (ax.sites, events[SITE].astype(str).to_numpy()))]
        keep = np.all([p >= 0 for p in pos], axis=0)
        flat = np.ravel_multi_index([p[keep] for p in pos], shape)
        size = int(np.prod(shape))
        self.cases = np.bincount(flat, weights=events[S.COUNT].to_numpy(float)[keep], minlength=size) \
            .reshape(shape).astype(np.int64)
        self.keys = None
        if ax.has_keys:
            self.keys = np.bincount(flat, weights=events[KEY_SUM].to_numpy(float)[keep], minlength=size) \
                .reshape(shape).astype(np.int64)
        p = population
        ppos = [pd.Index(a).get_indexer(v) for a, v in (
            (ax.years, p[S.YEAR].astype("int64").to_numpy()), (SEX_AXIS, p[S.SEX].astype("int64").to_numpy()),
            (ax.regions, p[S.REGION].astype(str).to_numpy()), (ax.ages, p[S.AGE_GROUP].astype(str).to_numpy()))]
        keep = np.all([q >= 0 for q in ppos], axis=0)
        pflat = np.ravel_multi_index([q[keep] for q in ppos], shape[:4])
        self.pop = np.bincount(pflat, weights=p[S.POPULATION].to_numpy(float)[keep],
                               minlength=int(np.prod(shape[:4]))).reshape(shape[:4])

    def to_tables(self) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
        """The cube as (axes, cells, person-years): the axis labels as JSON-able lists; the cells
        holding events, by their position in the array (C order), with their counts and key
        sums; the person-years array flattened (C order). :meth:`from_tables` reads them back."""
        ax = self.axes
        axes = {"years": [int(y) for y in ax.years], "regions": [str(r) for r in ax.regions],
                "parents": [str(p) for p in ax.parents], "ages": [str(a) for a in ax.ages],
                "sites": [str(k) for k in ax.sites], "c44_sites": sorted(str(k) for k in ax.c44_sites),
                "has_keys": bool(self.keys is not None), "shape": [int(n) for n in self.shape]}
        cases = self.cases.ravel()
        flat = np.flatnonzero(cases if self.keys is None else cases | self.keys.ravel())
        cells = pd.DataFrame({"cell": flat.astype("int64"), S.COUNT: cases[flat]})
        if self.keys is not None:
            cells[KEY_SUM] = self.keys.ravel()[flat]
        return axes, cells, pd.DataFrame({S.POPULATION: self.pop.ravel()})

    @classmethod
    def from_tables(cls, axes: dict, cells: pd.DataFrame, population: pd.DataFrame) -> "DenseCube":
        """The cube :meth:`to_tables` gave (ValueError when the tables do not fit its axes)."""
        ax = _Axes.__new__(_Axes)
        ax.years = np.asarray(axes["years"], dtype="int64")
        for name in ("regions", "parents", "ages", "sites"):
            setattr(ax, name, np.array(list(axes[name]), dtype=object))
        ax.c44_sites = frozenset(axes["c44_sites"])
        ax.has_keys = bool(axes["has_keys"])
        shape = (len(ax.years), len(SEX_AXIS), len(ax.regions), len(ax.ages), len(ax.sites))
        size = int(np.prod(shape))
        flat = cells["cell"].to_numpy("int64")
        if list(shape) != list(axes["shape"]) or len(ax.parents) != len(ax.regions) \
                or len(population) != size // len(ax.sites) or (flat.size and (flat.min() < 0 or flat.max() >= size)) \
                or ax.has_keys != (KEY_SUM in cells.columns):
            raise ValueError("the cube's tables do not fit its axes")
        out = cls.__new__(cls)
        out.axes, out.shape = ax, shape
        out.cases = np.zeros(size, np.int64)
        out.cases[flat] = cells[S.COUNT].to_numpy("int64")
        out.cases = out.cases.reshape(shape)
        out.keys = None
        if ax.has_keys:
            out.keys = np.zeros(size, np.int64)
            out.keys[flat] = cells[KEY_SUM].to_numpy("int64")
            out.keys = out.keys.reshape(shape)
        out.pop = population[S.POPULATION].to_numpy(float).reshape(shape[:4])
        return out

    @property
    def c44_sites(self) -> frozenset:
        return self.axes.c44_sites

    @property
    def sites(self) -> np.ndarray:
        return self.axes.sites

    def select(self, sel: Selection, by: Sequence[str] = (), *, all_sites: bool = False) -> pd.DataFrame:
        """Counts and person-years of ``sel`` by ``by`` + age group (see the module docstring).

        ``all_sites``: count every site whatever ``sel.site`` says (a denominator for shares)."""
        by = _check_by(by)
        ax = self.axes
        masks = ax.masks(sel, by, all_sites)
        ym, sm, rm, am, km = masks
        labels = [ax.years[ym], np.array(SEX_AXIS)[sm], ax.regions[rm], ax.ages[am], ax.sites[km]]
        names = [S.YEAR, S.SEX, S.PARENT if S.PARENT in by else S.REGION, S.AGE_GROUP, SITE]
        keep_axes = [i for i, n in enumerate(names) if n in by or n == S.AGE_GROUP]
        onehot = None
        if S.PARENT in by:
            # districts -> economic regions: one-hot matrix product along the district axis
            par = ax.parents[rm]
            uniq = np.array(sorted(set(par)), dtype=object)
            onehot = (par[:, None] == uniq[None, :]).astype(np.int64)
            labels[2] = uniq
        # counts (integers: exact in any order of summation) summed on views of the cube
        arrays = [_summed(a, masks, keep_axes, onehot)
                  for a in [self.cases] + ([self.keys] if self.keys is not None else [])]
        # person-years (floats): in this exact order of operations, so every sum is as it always was
        p = self.pop.compress(ym, 0).compress(sm, 1).compress(rm, 2).compress(am, 3)
        if onehot is not None:
            p = np.moveaxis(np.tensordot(p, onehot.astype(float), axes=([2], [0])), -1, 2)
        p = p.sum(axis=tuple(i for i in range(4) if i not in keep_axes))
        if SITE in by:
            present = arrays[0].sum(axis=tuple(range(arrays[0].ndim - 1))) > 0   # also with no site at all
            arrays = [a[..., present] for a in arrays]
            labels[4] = labels[4][present]
            p = np.broadcast_to(p[..., None], arrays[0].shape)
        return _grid_frame([names[i] for i in keep_axes], [labels[i] for i in keep_axes], arrays,
                           np.asarray(p, float), by, self.keys is not None)

    def counts(self, sel: Selection, by: Sequence[str] = ()) -> pd.DataFrame:
        """Events of ``sel`` summed by ``by`` (see :func:`_counts_by`): one row per stratum
        holding events, sorted by ``by``; columns by..., ``count``."""
        by = _counts_by(by)
        ax = self.axes
        masks = ax.masks(sel, [b for b in by if b != S.SEX], False)   # unknown sex kept
        names = [S.YEAR, S.SEX, S.REGION, S.AGE_GROUP, SITE]
        keep_axes = sorted(names.index(b) for b in by)
        v = _summed(self.cases, masks, keep_axes, None)
        if not by:
            return _total_frame(int(v.sum()))
        axis_labels = [ax.years, np.array(SEX_AXIS), ax.regions, ax.ages, ax.sites]
        order = [keep_axes.index(names.index(b)) for b in by]          # the cube's axes in by's order
        v = v.transpose(order)
        hit = np.nonzero(v)            # C order: sorted by by's labels (every axis is sorted)
        labels = [axis_labels[names.index(b)][masks[names.index(b)]] for b in by]
        return _counts_frame(by, [lab[h] for lab, h in zip(labels, hit)], v[hit])


COUNT_BY = (S.YEAR, S.SEX, S.REGION, SITE)


def _counts_by(by: Sequence[str]) -> list[str]:
    """``by`` of :meth:`DenseCube.counts` checked: distinct columns among :data:`COUNT_BY`.

    Unlike :meth:`DenseCube.select`, ``counts`` keeps events of unknown sex (a stratum of sex 9
    when ``sex`` is in ``by``, in every total otherwise, as the sidebar's sexes say) and, with
    ``site`` in ``by``, counts every site whatever ``sel.site`` says."""
    by = list(by)
    bad = [b for b in by if b not in COUNT_BY]
    if bad or len(set(by)) != len(by):
        raise ValueError(f"counts: by must be distinct columns among {COUNT_BY}, got {by}")
    return by


def _total_frame(total: int) -> pd.DataFrame:
    """The answer of ``counts`` without ``by``: one row with the total, none when it is 0."""
    return pd.DataFrame({S.COUNT: np.array([total] if total > 0 else [], dtype="int64")})


def _counts_frame(by: list[str], labels: list[np.ndarray], count: np.ndarray) -> pd.DataFrame:
    """The answer of ``counts``: year and sex as int64, districts and sites as text, count int64."""
    cols = {b: (np.asarray(lab, dtype="int64") if b in (S.YEAR, S.SEX) else pd.array(lab.astype(str), dtype="str"))
            for b, lab in zip(by, labels)}
    out = pd.DataFrame(cols)
    out[S.COUNT] = np.asarray(count, dtype="int64")
    return out


def _view(a: np.ndarray, masks) -> np.ndarray:
    """``a`` restricted to the masked labels of each axis: a view where a mask is one run of
    labels (a period, all districts, all ages), a copy only along the other axes."""
    index, rest = [], []
    for axis, m in enumerate(masks[:a.ndim]):
        hits = np.flatnonzero(m)
        if len(hits) and hits[-1] - hits[0] + 1 == len(hits):
            index.append(slice(int(hits[0]), int(hits[-1]) + 1))
        elif len(hits):
            index.append(slice(None))
            rest.append((axis, m))
        else:
            index.append(slice(0, 0))
    out = a[tuple(index)]
    for axis, m in rest:
        out = out.compress(m, axis)
    return out


def _summed(a: np.ndarray, masks, keep_axes: list[int], onehot: np.ndarray | None) -> np.ndarray:
    """Integer cells of the selection summed over every axis but ``keep_axes`` (districts into
    economic regions by ``onehot``), axes in the cube's order."""
    v = _view(a, masks)
    other = tuple(i for i in range(v.ndim) if i not in keep_axes and i != 2)
    if other:
        v = v.sum(axis=other, keepdims=True)
    if onehot is not None:
        v = np.moveaxis(np.tensordot(v, onehot, axes=([2], [0])), -1, 2)
    elif 2 not in keep_axes:
        v = v.sum(axis=2, keepdims=True)
    return v.reshape([v.shape[i] for i in keep_axes])


def _grid_frame(names: list[str], labels: list[np.ndarray], arrays: list[np.ndarray], p: np.ndarray,
                by: list[str], keys: bool) -> pd.DataFrame:
    """The dense cube's answer as :func:`_finish` writes it, built column by column from the
    grid's codes: string columns taken from their few labels, unknown-age rows without cases
    dropped and the others without age group and population."""
    shape = tuple(len(x) for x in labels)
    count = arrays[0].ravel().astype("int64")
    pop = p.ravel()
    ages = labels[names.index(S.AGE_GROUP)]
    unknown_code = np.flatnonzero(ages == UNKNOWN_AGE)
    codes = np.indices(shape).reshape(len(shape), -1) if shape else np.zeros((0, 1), int)
    rows = None
    if len(unknown_code):
        unknown = codes[names.index(S.AGE_GROUP)] == unknown_code[0]
        if unknown.any():
            rows = ~unknown | (count > 0)
            pop = np.where(unknown, np.nan, pop)
    if rows is not None:
        codes, count, pop = codes[:, rows], count[rows], pop[rows]
        arrays = [a.ravel()[rows] for a in arrays]
    else:
        arrays = [a.ravel() for a in arrays]
    cols = {}
    for name, lab, code in zip(names, labels, codes):
        if name in (S.YEAR, S.SEX):
            cols[name] = np.asarray(lab, dtype="int64")[code]
        else:
            text = [None if (name == S.AGE_GROUP and x == UNKNOWN_AGE) else str(x) for x in lab]
            cols[name] = pd.array(text, dtype="str").take(code)
    out = pd.DataFrame(cols)
    out[S.COUNT] = count
    out[S.POPULATION] = pop.astype(float, copy=False)
    if keys:
        out[KEY_SUM] = arrays[1].astype("int64")
    return out[by + [S.AGE_GROUP, S.COUNT, S.POPULATION] + ([KEY_SUM] if keys else [])]


class SparseCube:
    """The same selections as :class:`DenseCube`, grouped from the event and population tables
    per call (memory proportional to the data, not to the product of the axes)."""

    def __init__(self, events: pd.DataFrame, population: pd.DataFrame, parents: dict[str, str]):
        _check_events(events)
        ax = self.axes = _Axes(events, population, parents)
        parent_of = dict(zip(ax.regions, ax.parents))
        self.events = events.assign(**{S.YEAR: events[S.YEAR].astype("int64"), S.SEX: events[S.SEX].astype("int64"),
                                       S.REGION: events[S.REGION].astype(str), S.AGE_GROUP: events[S.AGE_GROUP].astype(str),
                                       SITE: events[SITE].astype(str)})
        self.events[S.PARENT] = self.events[S.REGION].map(parent_of)
        pop = population.loc[population[S.YEAR].notna() & population[S.REGION].notna()]
        self.pop = pd.DataFrame({S.YEAR: pop[S.YEAR].astype("int64").to_numpy(), S.SEX: pop[S.SEX].astype("int64").to_numpy(),
                                 S.REGION: pop[S.REGION].astype(str).to_numpy(), S.AGE_GROUP: pop[S.AGE_GROUP].astype(str).to_numpy(),
                                 S.POPULATION: pop[S.POPULATION].astype(float).to_numpy()})
        self.pop[S.PARENT] = self.pop[S.REGION].map(parent_of)

    c44_sites = DenseCube.c44_sites
    sites = DenseCube.sites

    def select(self, sel: Selection, by: Sequence[str] = (), *, all_sites: bool = False) -> pd.DataFrame:
        by = _check_by(by)
        ax = self.axes
        ym, sm, rm, am, km = ax.masks(sel, by, all_sites)
        region_col = S.PARENT if S.PARENT in by else S.REGION
        labels = {S.YEAR: ax.years[ym], S.SEX: np.array(SEX_AXIS)[sm], S.AGE_GROUP: ax.ages[am], SITE: ax.sites[km],
                  S.REGION: ax.regions[rm], S.PARENT: np.array(sorted(set(ax.parents[rm])), dtype=object)}

        def keep(df: pd.DataFrame, with_site: bool) -> pd.Series:
            m = (df[S.YEAR].isin(labels[S.YEAR]) & df[S.SEX].isin(labels[S.SEX])
                 & df[S.REGION].isin(labels[S.REGION]) & df[S.AGE_GROUP].isin(labels[S.AGE_GROUP]))
            return m & df[SITE].isin(labels[SITE]) if with_site else m

        ev = self.events.loc[keep(self.events, True)]
        value_cols = [S.COUNT] + ([KEY_SUM] if ax.has_keys else [])
        case_keys = by + [S.AGE_GROUP]
        cases = ev.groupby(case_keys, observed=True)[value_cols].sum()
        pop_keys = [b for b in by if b != SITE] + [S.AGE_GROUP]
        people = self.pop.loc[keep(self.pop, False)].groupby(pop_keys, observed=True)[S.POPULATION].sum()
        if SITE in by:
            labels[SITE] = np.array(sorted(set(ev.loc[ev[S.COUNT] > 0, SITE])), dtype=object)
        axes_order = [c for c in (S.YEAR, S.SEX, region_col, S.AGE_GROUP, SITE) if c in case_keys]
        out = _reindex(cases, axes_order, [labels[c] for c in axes_order], 0).reset_index()
        pidx = pd.MultiIndex.from_frame(out[pop_keys]) if len(pop_keys) > 1 else pd.Index(out[pop_keys[0]])
        people = people.reorder_levels(pop_keys) if len(pop_keys) > 1 else people
        out[S.POPULATION] = people.reindex(pidx).fillna(0.0).to_numpy()
        out = out[[c for c in by if c in out] + [S.AGE_GROUP] + value_cols + [S.POPULATION]]
        return _finish(out, by, ax.has_keys)

    def counts(self, sel: Selection, by: Sequence[str] = ()) -> pd.DataFrame:
        """The same frame as :meth:`DenseCube.counts`, grouped from the event table."""
        by = _counts_by(by)
        ax = self.axes
        ym, sm, rm, am, km = ax.masks(sel, [b for b in by if b != S.SEX], False)
        ev = self.events
        m = (ev[S.YEAR].isin(ax.years[ym]) & ev[S.SEX].isin(np.array(SEX_AXIS)[sm])
             & ev[S.REGION].isin(ax.regions[rm]) & ev[S.AGE_GROUP].isin(ax.ages[am]) & ev[SITE].isin(ax.sites[km]))
        ev = ev.loc[m.to_numpy(dtype=bool)]
        if not by:
            return _total_frame(int(ev[S.COUNT].sum()))
        sums = ev.groupby(by, sort=True)[S.COUNT].sum()
        sums = sums[sums > 0]
        index = sums.index if len(by) > 1 else pd.MultiIndex.from_arrays([sums.index])
        return _counts_frame(by, [index.get_level_values(i).to_numpy() for i in range(len(by))], sums.to_numpy())


def _reindex(values: pd.DataFrame, names: list[str], labels: list, fill) -> pd.DataFrame:
    """``values`` (grouped by ``names``, in any level order) on the full product of ``labels``."""
    if len(names) == 1:
        return values.reindex(pd.Index(labels[0], name=names[0]), fill_value=fill)
    full = pd.MultiIndex.from_product(labels, names=names)
    return values.reorder_levels(names).reindex(full, fill_value=fill)


Cube = DenseCube | SparseCube


def record_cube(records: pd.DataFrame, population: pd.DataFrame, parents: dict[str, str], site_column: str, *,
                keys: np.ndarray | None = None, strategy: str = "auto") -> Cube:
    """The cube of a registry's counted tumours (:func:`events_from_records` of ``records`` by
    ``site_column``, with ``keys``: one record key per row, summed as ``key_sum``) and its
    ``population`` (:func:`build_cube`). Only the counted columns are read (a copy of every
    column of a 5-million-record upload cost GBs)."""
    counted = records[list(dict.fromkeys(RECORD_COLUMNS + (site_column,)))]
    if keys is not None:
        counted = counted.assign(**{KEY_SUM: keys})
    events = events_from_records(counted, site_column, key=KEY_SUM if keys is not None else None)
    return build_cube(events, population, parents, strategy=strategy)


def build_cube(events: pd.DataFrame, population: pd.DataFrame, parents: dict[str, str], *,
               strategy: str = "auto") -> Cube:
    """A cube over ``events`` (see :func:`events_from_records`) and ``population``.

    ``parents``: district -> economic region. ``strategy``: ``"auto"`` (dense unless the array
    would exceed :data:`MAX_DENSE_CELLS` cells), ``"dense"`` or ``"sparse"``.
    """
    if strategy not in ("auto", "dense", "sparse"):
        raise ValueError(f"strategy must be 'auto', 'dense' or 'sparse', got {strategy!r}")
    if strategy == "auto":
        ax = _Axes(events, population, parents)
        cells = len(ax.years) * len(SEX_AXIS) * len(ax.regions) * len(ax.ages) * max(len(ax.sites), 1)
        strategy = "dense" if cells <= MAX_DENSE_CELLS else "sparse"
    return (DenseCube if strategy == "dense" else SparseCube)(events, population, parents)

"""Cached aggregation: records -> case cube -> rate inputs -> analytics results.

Everything is keyed on ``(ds.token, filters.key(), ...)``; the data itself is an unhashed
``_`` argument. The cube (cases by year, sex, district, age group and site) is built once per
dataset and site list, so a filter change only slices small frames.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analytics import schema as S
from app_support.filters import ALL_BUT_C44, ALL_SITES, Filters
from app_support.state import Dataset

from analytics import disclosure, rates

SITE = "site"
KEYS = [S.YEAR, S.SEX, S.REGION, S.PARENT, S.AGE_GROUP]


@st.cache_data(show_spinner=False, max_entries=8)
def case_cube(_ds: Dataset, token: str, scheme_col: str) -> pd.DataFrame:
    """Counted cases (``included``) by year, sex, district, economic region, age group, site."""
    r = _ds.records
    r = r.loc[r[S.INCLUDED].fillna(False).astype(bool) & r[S.AGE_GROUP].notna()]
    parent = dict(zip(_ds.regions[S.REGION], _ds.regions[S.PARENT]))
    df = pd.DataFrame({
        S.YEAR: r[S.YEAR].astype("int64"),
        S.SEX: r[S.SEX].fillna(S.UNKNOWN_SEX).astype("int64"),
        S.REGION: r[S.REGION].astype(str),
        S.AGE_GROUP: r[S.AGE_GROUP].astype(str),
        SITE: r[scheme_col].astype(str),
        "c44": r[S.ICD10].astype(str).str.startswith("C44"),
    })
    df[S.PARENT] = df[S.REGION].map(parent).fillna("")
    return df.groupby(KEYS + [SITE, "c44"], observed=True).size().rename(S.COUNT).reset_index()


@st.cache_data(show_spinner=False, max_entries=8)
def pop_cube(_ds: Dataset, token: str) -> pd.DataFrame:
    p = _ds.population
    parent = dict(zip(_ds.regions[S.REGION], _ds.regions[S.PARENT]))
    df = pd.DataFrame({
        S.YEAR: p[S.YEAR].astype("int64"), S.SEX: p[S.SEX].astype("int64"),
        S.REGION: p[S.REGION].astype(str), S.AGE_GROUP: p[S.AGE_GROUP].astype(str),
        S.POPULATION: p[S.POPULATION].astype(float),
    })
    df[S.PARENT] = df[S.REGION].map(parent).fillna("")
    return df.groupby(KEYS, observed=True)[S.POPULATION].sum().reset_index()


def _mask(df: pd.DataFrame, f: Filters, regions, sexes) -> pd.Series:
    m = df[S.YEAR].between(f.y0, f.y1) & df[S.SEX].isin(sexes) & df[S.AGE_GROUP].isin(f.age_groups)
    codes = f.region_codes(regions)
    if codes is not None:
        m &= df[S.REGION].isin(codes)
    return m


@st.cache_data(show_spinner=False, max_entries=256)
def _rate_input(_ds: Dataset, token: str, fkey: tuple, _f: Filters, by: tuple[str, ...],
                all_sites: bool, sexes: tuple[int, ...] | None) -> pd.DataFrame:
    f = _f
    sexes = sexes or f.sex_codes
    dense = cube(_ds, token, f.site_column)
    if dense.ok:
        return dense.select(f, _ds.regions, by, all_sites, sexes)
    cube_ = case_cube(_ds, token, f.site_column)
    pop = pop_cube(_ds, token)
    c = cube_.loc[_mask(cube_, f, _ds.regions, sexes)]
    if SITE not in by and not all_sites:
        if f.site == ALL_BUT_C44:
            c = c.loc[~c["c44"]]
        elif f.site != ALL_SITES:
            c = c.loc[c[SITE] == f.site]
    p = pop.loc[_mask(pop, f, _ds.regions, sexes)]
    pkeys = [b for b in by if b != SITE] + [S.AGE_GROUP]
    cases = c.groupby(list(by) + [S.AGE_GROUP], observed=True)[S.COUNT].sum()
    people = p.groupby(pkeys, observed=True)[S.POPULATION].sum().reset_index()
    if SITE in by:
        sites = pd.DataFrame({SITE: sorted(c[SITE].unique())})
        people = people.merge(sites, how="cross")
    out = people.merge(cases.reset_index(), on=list(by) + [S.AGE_GROUP], how="left")
    out[S.COUNT] = out[S.COUNT].fillna(0).astype("int64")
    order = {a: i for i, a in enumerate(S.AGE_GROUPS)}
    out = out.sort_values(list(by) + [S.AGE_GROUP], key=lambda s: s.map(order) if s.name == S.AGE_GROUP else s)
    return out[list(by) + [S.AGE_GROUP, S.COUNT, S.POPULATION]].reset_index(drop=True)


SEX_AXIS = (S.MALE, S.FEMALE, S.UNKNOWN_SEX)
UNKNOWN_AGE = "unknown"
MAX_DENSE_CELLS = 40_000_000   # above this (very many areas x sites) the sparse path is used


class Cube:
    """Cases as a dense array [year, sex, district, age group, site] and person-years as
    [year, sex, district, age group]: a selection is a few boolean slices and a sum."""

    def __init__(self, ds: Dataset, scheme_col: str):
        r = ds.records
        r = r.loc[r[S.INCLUDED].fillna(False).astype(bool)]
        p = ds.population
        self.years = np.array(sorted(set(p[S.YEAR].dropna().astype(int)) | set(r[S.YEAR].dropna().astype(int))))
        self.regions = np.array(sorted(set(p[S.REGION].dropna().astype(str)) | set(r[S.REGION].dropna().astype(str))),
                                dtype=object)
        parent = dict(zip(ds.regions[S.REGION], ds.regions[S.PARENT]))
        self.parents = np.array([parent.get(c, "") or "" for c in self.regions], dtype=object)
        # last slot: unknown age (counted in totals and crude rates, left out of the ASR by rates.dsr)
        self.ages = np.array(S.AGE_GROUPS + [UNKNOWN_AGE], dtype=object)
        sites = r[scheme_col].astype(str)
        self.sites = np.array(sorted(sites.dropna().unique()), dtype=object)
        icd = r[S.ICD10].astype(str)
        self.c44_sites = set(sites[icd.str.startswith("C44")].unique())
        shape = (len(self.years), 3, len(self.regions), len(self.ages), len(self.sites))
        self.ok = int(np.prod(shape)) <= MAX_DENSE_CELLS
        if not self.ok:
            return

        def idx(values, axis):
            pos = pd.Index(axis).get_indexer(values)
            return pos

        ci = [idx(r[S.YEAR].astype(int).to_numpy(), self.years),
              idx(r[S.SEX].fillna(S.UNKNOWN_SEX).astype(int).to_numpy(), SEX_AXIS),
              idx(r[S.REGION].astype(str).to_numpy(), self.regions),
              idx(r[S.AGE_GROUP].astype(object).where(r[S.AGE_GROUP].notna(), UNKNOWN_AGE).astype(str).to_numpy(),
                  self.ages),
              idx(sites.to_numpy(), self.sites)]
        keep = np.all([c >= 0 for c in ci], axis=0)
        flat = np.ravel_multi_index([c[keep] for c in ci], shape)
        self.cases = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.int32)
        pshape = shape[:4]
        pi = [idx(p[S.YEAR].astype(int).to_numpy(), self.years), idx(p[S.SEX].astype(int).to_numpy(), SEX_AXIS),
              idx(p[S.REGION].astype(str).to_numpy(), self.regions), idx(p[S.AGE_GROUP].astype(str).to_numpy(), self.ages)]
        keep = np.all([c >= 0 for c in pi], axis=0)
        flat = np.ravel_multi_index([c[keep] for c in pi], pshape)
        self.pop = np.bincount(flat, weights=p[S.POPULATION].to_numpy(float)[keep],
                               minlength=int(np.prod(pshape))).reshape(pshape)

    def select(self, f: Filters, regions, by: tuple[str, ...], all_sites: bool, sexes) -> pd.DataFrame:
        by = list(by)
        ym = (self.years >= f.y0) & (self.years <= f.y1)
        sm = np.isin(SEX_AXIS, sexes)
        if S.SEX in by:
            sm &= np.array(SEX_AXIS) != S.UNKNOWN_SEX   # no person-years for unknown sex
        codes = f.region_codes(regions)
        rm = np.ones(len(self.regions), bool) if codes is None else np.isin(self.regions, list(codes))
        # cases of unknown age belong to the selection only when it spans all ages
        am = np.isin(self.ages, f.age_groups + ([UNKNOWN_AGE] if (f.a0, f.a1) == (0, 85) else []))
        km = np.ones(len(self.sites), bool)
        if SITE not in by and not all_sites:
            if f.site == ALL_BUT_C44:
                km = ~np.isin(self.sites, list(self.c44_sites))
            elif f.site != ALL_SITES:
                km = self.sites == f.site
        c = self.cases.compress(ym, 0).compress(sm, 1).compress(rm, 2).compress(am, 3).compress(km, 4)
        p = self.pop.compress(ym, 0).compress(sm, 1).compress(rm, 2).compress(am, 3)
        labels = [self.years[ym], np.array(SEX_AXIS)[sm], self.regions[rm], self.ages[am], self.sites[km]]
        if S.PARENT in by:
            # districts -> economic regions: one-hot matrix product along the district axis
            par = self.parents[rm]
            uniq = np.array(sorted(set(par)), dtype=object)
            onehot = (par[:, None] == uniq[None, :]).astype(float)
            c = np.moveaxis(np.tensordot(c, onehot, axes=([2], [0])), -1, 2)
            p = np.moveaxis(np.tensordot(p, onehot, axes=([2], [0])), -1, 2)
            labels[2] = uniq
        names = [S.YEAR, S.SEX, S.PARENT if S.PARENT in by else S.REGION, S.AGE_GROUP, SITE]
        keep_axes = [i for i, n in enumerate(names) if n in by or n == S.AGE_GROUP]
        drop_c = tuple(i for i in range(5) if i not in keep_axes)
        drop_p = tuple(i for i in range(4) if i not in keep_axes)
        c = c.sum(axis=drop_c)
        p = p.sum(axis=drop_p)
        if SITE in by:
            present = c.reshape(-1, c.shape[-1]).sum(axis=0) > 0
            c = c[..., present]
            labels[4] = labels[4][present]
            p = np.broadcast_to(p[..., None], c.shape)
        kept = [labels[i] for i in keep_axes]
        grid = np.meshgrid(*kept, indexing="ij") if kept else []
        out = pd.DataFrame({names[i]: g.ravel() for i, g in zip(keep_axes, grid)})
        out[S.COUNT] = c.ravel().astype("int64")
        out[S.POPULATION] = np.asarray(p, float).ravel()
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
        # age group last and in age order (the layout rates.* expect)
        return out[by + [S.AGE_GROUP, S.COUNT, S.POPULATION]]


@st.cache_resource(show_spinner=False, max_entries=8)
def cube(_ds: Dataset, token: str, scheme_col: str) -> Cube:
    return Cube(_ds, scheme_col)


def rate_input(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, all_sites: bool = False,
               sexes: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Cases and person-years by ``by`` + age group for the selection (input of ``rates.dsr``).

    ``by`` may hold ``site``, ``sex``, ``year``, ``region_code``, ``parent_code``. With ``site``
    in ``by`` every site of the scheme is kept (the site filter is ignored); ``sexes`` overrides
    the sex filter (e.g. (1, 2) for a men-vs-women chart).
    """
    return _rate_input(ds, ds.token, f.key(), f, tuple(by), all_sites, sexes)


@st.cache_data(show_spinner=False, max_entries=256)
def _dsr(_ds: Dataset, token: str, fkey: tuple, _f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    f = _f
    data = _rate_input(_ds, token, fkey, f, by, False, sexes)
    if data.empty:
        return pd.DataFrame(columns=list(by) + ["count", "population", "crude_rate", "value", "se", "lower", "upper", "flag"])
    res = rates.dsr(data, standard=f.std, by=list(by) or None, method=f.ci, conf=f.level)
    if f.public:
        res = suppress(res)
    return res


def dsr(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes: tuple[int, ...] | None = None) -> pd.DataFrame:
    """``analytics.rates.dsr`` over the selection, grouped by ``by`` (cached)."""
    return _dsr(ds, ds.token, f.key(), f, tuple(by), sexes)


@st.cache_data(show_spinner=False, max_entries=256)
def _cumrisk(_ds: Dataset, token: str, fkey: tuple, _f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    f = _f
    data = _rate_input(_ds, token, fkey, f, by, False, sexes)
    return rates.cumulative_risk(data, by=list(by) or None, age=S.AGE_GROUP, method=f.ci if f.ci in ("tiwari", "fay_feuer") else "tiwari", conf=f.level)


def cumulative_risk(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes=None) -> pd.DataFrame:
    """Cumulative risk 0-74 (%) over the selection (``analytics.rates.cumulative_risk``)."""
    return _cumrisk(ds, ds.token, f.key(), f, tuple(by), sexes)


def suppress(table: pd.DataFrame) -> pd.DataFrame:
    """Public output mode: ``analytics.disclosure.suppress`` with the app's threshold."""
    from app_support.filters import PUBLIC_K

    return disclosure.suppress(table, k=PUBLIC_K)


@st.cache_data(show_spinner=False, max_entries=64)
def population_pyramid(_ds: Dataset, token: str, fkey: tuple, _f: Filters) -> pd.DataFrame:
    f = _f
    pop = pop_cube(_ds, token)
    p = pop.loc[_mask(pop, f, _ds.regions, (S.MALE, S.FEMALE))]
    out = p.groupby([S.SEX, S.AGE_GROUP], observed=True)[S.POPULATION].sum().reset_index()
    out[S.POPULATION] = out[S.POPULATION] / f.n_years  # average annual population
    return out


def selected_records(_ds: Dataset, token: str, fkey: tuple, _f: Filters, included_only: bool = True) -> pd.DataFrame:
    """Records of the selection (period, sex, region, site) for quality tables.

    Deliberately not cached: process-wide caches hold aggregates only, never an upload's records
    (uploads live in the user's session)."""
    f = _f
    r = _ds.records
    m = r[S.YEAR].between(f.y0, f.y1).fillna(False)
    if f.sex != "both":
        m &= r[S.SEX].isin(f.sex_codes).fillna(False)
    codes = f.region_codes(_ds.regions)
    if codes is not None:
        m &= r[S.REGION].astype(str).isin(codes)
    if f.site == ALL_BUT_C44:
        m &= ~r[S.ICD10].astype(str).str.startswith("C44")
    elif f.site != ALL_SITES:
        m &= (r[f.site_column] == f.site).fillna(False)
    if included_only:
        m &= r[S.INCLUDED].fillna(False).astype(bool)
    return r.loc[m]


@st.cache_data(show_spinner=False, max_entries=64)
def _age_specific(_ds: Dataset, token: str, fkey: tuple, _f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    f = _f
    data = _rate_input(_ds, token, fkey, f, by, False, sexes)
    return rates.age_specific(data, by=list(by) or None, conf=f.level)


def age_specific(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes=None) -> pd.DataFrame:
    """Age-specific rates per 100,000 (``analytics.rates.age_specific``) over the selection."""
    out = _age_specific(ds, ds.token, f.key(), f, tuple(by), sexes)
    return suppress(out) if f.public else out


@st.cache_data(show_spinner=False, max_entries=64)
def _ci5_table(_ds: Dataset, token: str, fkey: tuple, _f: Filters, sex: int) -> pd.DataFrame:
    f = _f
    counts = _rate_input(_ds, token, fkey, f, (S.SEX, "site"), False, (sex,))[[S.SEX, "site", S.AGE_GROUP, S.COUNT]]
    pop = _rate_input(_ds, token, fkey, f, (S.SEX,), True, (sex,))
    pop = pop[pop[S.AGE_GROUP].notna()][[S.SEX, S.AGE_GROUP, S.POPULATION]]
    c44 = cube(_ds, token, f.site_column).c44_sites
    return rates.ci5_table(counts, pop, site="site", standard=f.std,
                           total_excludes=tuple(c44) if f.site == ALL_BUT_C44 else ())


def ci5_table(ds: Dataset, f: Filters, sex: int) -> pd.DataFrame:
    """The CI5 / CanReg5 incidence table for one sex: cases by age group, crude rate, ASR,
    cumulative risk 0-74 and % of all sites, one row per site group."""
    out = _ci5_table(ds, ds.token, f.key(), f, sex)
    if not f.public:
        return out
    from app_support.filters import PUBLIC_K

    out = suppress(out.rename(columns={"all_ages": "count"})).rename(columns={"count": "all_ages"})
    # the age-group cells are counts too: primary suppression of each small cell
    for col in [c for c in out.columns if c in S.AGE_GROUPS or c == "unknown_age"]:
        v = pd.to_numeric(out[col], errors="coerce")
        out[col] = v.where(~((v > 0) & (v < PUBLIC_K)))
    return out

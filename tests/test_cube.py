"""analytics.cube: the dense and the sparse strategy give identical frames, and both equal a
plain pandas aggregation of the records written here without the cube."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import cube as C
from analytics import schema as S


@pytest.fixture(scope="module")
def demo():
    from analytics import demo as demo_mod

    return demo_mod.load_demo(), demo_mod.load_demo_regions()


@pytest.fixture(scope="module")
def cubes(demo):
    reg, geo = demo
    parents = dict(zip(geo[S.REGION].astype(str), geo[S.PARENT].astype(str)))
    events = C.events_from_records(reg.records, S.SITE_CI5)
    return (C.build_cube(events, reg.population, parents, strategy="dense"),
            C.build_cube(events, reg.population, parents, strategy="sparse"), parents)


def brute_force(reg, parents, sel: C.Selection, by: list[str]) -> pd.DataFrame:
    """Counts and person-years of a selection straight from records and population (no cube)."""
    r = reg.records
    r = r[r[S.INCLUDED].fillna(False).astype(bool) & r[S.YEAR].between(*sel.years)]
    r = r[r[S.SEX].fillna(9).astype(int).isin(sel.sexes)]
    if S.SEX in by:
        r = r[r[S.SEX].fillna(9).astype(int) != 9]
    if sel.regions is not None:
        r = r[r[S.REGION].astype(str).isin(sel.regions)]
    ages = r[S.AGE_GROUP].astype(object)
    r = r[ages.isin(sel.ages) | (ages.isna() & sel.all_ages)]
    if "site" not in by:
        if sel.site == C.ALL_BUT_C44:
            r = r[~r[S.ICD10].astype(str).str.startswith("C44")]
        elif sel.site != C.ALL_SITES:
            r = r[r[S.SITE_CI5] == sel.site]
    r = r.assign(site=r[S.SITE_CI5].astype(str), **{S.PARENT: r[S.REGION].astype(str).map(parents)})
    cases = r.groupby(by + [S.AGE_GROUP], dropna=False, observed=True).size().rename("count")
    p = reg.population
    p = p[p[S.YEAR].between(*sel.years) & p[S.SEX].isin(sel.sexes) & p[S.AGE_GROUP].isin(sel.ages)]
    if sel.regions is not None:
        p = p[p[S.REGION].astype(str).isin(sel.regions)]
    p = p.assign(**{S.PARENT: p[S.REGION].astype(str).map(parents)})
    pkeys = [b for b in by if b != "site"] + [S.AGE_GROUP]
    pop = p.groupby(pkeys, observed=True)[S.POPULATION].sum()
    return cases.reset_index(), pop.reset_index()


SITES = ["Stomach", "Breast", "Prostate", "Lung (incl. trachea and bronchus)", C.ALL_SITES, C.ALL_BUT_C44]
BYS = [[], ["sex"], ["year", "sex"], ["site"], [S.REGION], [S.PARENT], ["sex", "site"], ["year", S.PARENT]]


@st.composite
def selections(draw):
    y0 = draw(st.integers(2010, 2024))
    y1 = draw(st.integers(y0, 2024))
    sexes = draw(st.sampled_from([(1, 2, 9), (1,), (2,), (1, 2)]))
    a0 = draw(st.integers(0, 17))
    a1 = draw(st.integers(a0, 17))
    ages = tuple(S.AGE_GROUPS[a0:a1 + 1])
    regions = draw(st.sampled_from([None, ("AZE-1676",), ("AZE-1676", "AZE-2422", "AZE-1697")]))
    site = draw(st.sampled_from(SITES))
    return C.Selection(years=(y0, y1), sexes=sexes, regions=regions, ages=ages, site=site), draw(st.sampled_from(BYS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=selections())
def test_dense_and_sparse_cubes_agree_with_a_plain_aggregation(demo, cubes, case):
    sel, by = case
    dense, sparse, parents = cubes
    a = dense.select(sel, by)
    b = sparse.select(sel, by)
    pd.testing.assert_frame_equal(a, b, check_dtype=True)
    cases, pop = brute_force(demo[0], parents, sel, by)
    # every case of the selection is in the frame (known and unknown age), none invented
    assert int(a[S.COUNT].sum()) == int(cases["count"].sum())
    known = a[a[S.AGE_GROUP].notna()]
    got = _as_dict(known, by + [S.AGE_GROUP], S.COUNT)
    want = _as_dict(cases[cases[S.AGE_GROUP].notna()], by + [S.AGE_GROUP], "count")
    assert {k: v for k, v in got.items() if v} == want
    if "site" in by and known.empty:
        return   # no site has a case in the selection: no rows to carry person-years
    # person-years: every (by without site) x age cell once
    pkeys = [b for b in by if b != "site"] + [S.AGE_GROUP]
    gp = _as_dict(known.drop_duplicates(pkeys), pkeys, S.POPULATION)
    wp = _as_dict(pop, pkeys, S.POPULATION)
    assert {k: v for k, v in gp.items() if v} == {k: v for k, v in wp.items() if v}


def _as_dict(df: pd.DataFrame, keys: list[str], value: str) -> dict:
    """{(key values as text...): summed value} — comparable whatever the column dtypes."""
    keys_text = [df[k].astype(str).to_numpy() for k in keys]
    out: dict = {}
    for key, v in zip(zip(*keys_text), df[value].to_numpy(float)):
        out[key] = out.get(key, 0.0) + float(v)
    return out


def test_unknown_age_only_when_every_age_group_is_selected(cubes):
    dense, _, _ = cubes
    full = dense.select(C.Selection(years=(2010, 2024)))
    assert full[S.AGE_GROUP].isna().sum() == 1 and full.loc[full[S.AGE_GROUP].isna(), S.POPULATION].isna().all()
    part = dense.select(C.Selection(years=(2010, 2024), ages=tuple(S.AGE_GROUPS[:-1])))
    assert part[S.AGE_GROUP].notna().all()


def test_key_sums_travel_with_the_counts(demo):
    reg, geo = demo
    parents = dict(zip(geo[S.REGION].astype(str), geo[S.PARENT].astype(str)))
    rec = reg.records.assign(rkey=np.arange(len(reg.records), dtype="int64") % 997)
    events = C.events_from_records(rec, S.SITE_CI5, key="rkey")
    sel = C.Selection(years=(2020, 2024), sexes=(2,), site="Breast")
    for strategy in ("dense", "sparse"):
        out = C.build_cube(events, reg.population, parents, strategy=strategy).select(sel, ["year"])
        r = rec[rec[S.INCLUDED] & rec[S.YEAR].between(2020, 2024) & (rec[S.SEX] == 2) & (rec[S.SITE_CI5] == "Breast")]
        want = r.groupby(S.YEAR)["rkey"].sum()
        got = out.groupby("year")[C.KEY_SUM].sum()
        assert got.to_dict() == {int(k): int(v) for k, v in want.items()}


@pytest.mark.parametrize("bad", [dict(years=(2020, 2010)), dict(years=(2010, 2020), ages=("0-5",)),
                                 dict(years=(2010, 2020), sexes=(3,))])
def test_selection_rejects_impossible_values(bad):
    with pytest.raises(ValueError):
        C.Selection(**bad)


def test_unknown_grouping_and_strategy_are_errors(cubes):
    dense, _, _ = cubes
    with pytest.raises(ValueError, match="by"):
        dense.select(C.Selection(years=(2020, 2020)), ["age"])
    with pytest.raises(ValueError, match="strategy"):
        C.build_cube(pd.DataFrame(columns=C.EVENT_COLUMNS), pd.DataFrame(), {}, strategy="fast")


@pytest.mark.parametrize("kind", ["object", "str", "category"])
def test_events_are_the_same_whatever_the_text_columns_dtype(kind):
    """District, age group, site and ICD-10 as Python objects, pandas strings or categoricals,
    with missing values: the events equal a count written here value by value (``str`` of each
    value; unknown age and a missing site as the cube names them; no ICD-10: not C44)."""
    rng = np.random.default_rng(7)
    n = 3000
    recs = pd.DataFrame({
        S.INCLUDED: rng.random(n) > 0.1, S.YEAR: rng.integers(2010, 2014, n).astype(float),
        S.SEX: pd.array(rng.choice([1, 2, None], n), dtype="Int64"),
        S.REGION: rng.choice(["A1", "B2", "C3", None], n), S.AGE_GROUP: rng.choice(list(S.AGE_GROUPS[:4]) + [None], n),
        "site": rng.choice(["Stomach", "Lung", None], n), S.ICD10: rng.choice(["C44.1", "C16.0", None, "C34.9"], n)})
    for col in (S.REGION, S.AGE_GROUP, "site", S.ICD10):
        recs[col] = recs[col].astype(kind)
    got = C.events_from_records(recs, "site")

    expected: dict[tuple, int] = {}
    for row in recs.astype(object).itertuples(index=False):
        r = row._asdict()
        if not r[S.INCLUDED] or pd.isna(r[S.REGION]):
            continue
        key = (int(r[S.YEAR]), 9 if pd.isna(r[S.SEX]) else int(r[S.SEX]), str(r[S.REGION]),
               C.UNKNOWN_AGE if pd.isna(r[S.AGE_GROUP]) else str(r[S.AGE_GROUP]),
               "" if pd.isna(r["site"]) else str(r["site"]),
               not pd.isna(r[S.ICD10]) and str(r[S.ICD10]).startswith("C44"))
        expected[key] = expected.get(key, 0) + 1
    rows = {tuple(x[:-1]): x[-1] for x in got[C.EVENT_COLUMNS].itertuples(index=False, name=None)}
    assert {(y, s, reg, a, site, bool(c44)): v for (y, s, reg, a, site, c44), v in rows.items()} == expected
    assert all(type(v) is str for col in (S.REGION, S.AGE_GROUP, C.SITE) for v in got[col])


@pytest.fixture(scope="module")
def read_back(demo, cubes):
    """(cube, the cube read back from its tables, number of cell rows) for the dense cube and for
    one with key sums: built once for the module, as the round trip does not depend on the
    selection each example draws (it was rebuilt for each of them)."""
    reg, _ = demo
    parents = cubes[2]
    rec = reg.records.assign(rkey=np.arange(len(reg.records), dtype="int64") % 997)
    keyed = C.record_cube(rec, reg.population, parents, S.SITE_CI5, keys=rec["rkey"].to_numpy(), strategy="dense")
    out = []
    for original in (cubes[0], keyed):
        axes, cells, pop = original.to_tables()
        out.append((original, C.DenseCube.from_tables(json.loads(json.dumps(axes)), cells, pop), len(cells)))
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=selections())
def test_a_dense_cube_read_back_from_its_tables_is_the_same_cube(read_back, case):
    """DenseCube.to_tables / from_tables (the demo store's form): the same arrays, axes and
    selections, with and without key sums."""
    sel, by = case
    for original, back, n_cells in read_back:
        for name in ("cases", "keys", "pop"):
            a, b = getattr(original, name), getattr(back, name)
            assert (a is None and b is None) or (np.array_equal(a, b) and a.dtype == b.dtype), name
        pd.testing.assert_frame_equal(back.select(sel, by), original.select(sel, by), check_exact=True)
        pd.testing.assert_frame_equal(back.counts(sel, [b for b in by if b in C.COUNT_BY]),
                                      original.counts(sel, [b for b in by if b in C.COUNT_BY]), check_exact=True)
        assert back.c44_sites == original.c44_sites and n_cells == np.count_nonzero(original.cases)


def test_record_cube_counts_the_records_as_events_from_records_does(demo, cubes):
    reg, _ = demo
    dense, _, parents = cubes
    got = C.record_cube(reg.records, reg.population, parents, S.SITE_CI5, strategy="dense")
    assert np.array_equal(got.cases, dense.cases) and np.array_equal(got.pop, dense.pop) and got.keys is None


def test_cube_tables_that_do_not_fit_their_axes_are_refused(cubes):
    axes, cells, pop = cubes[0].to_tables()
    with pytest.raises(ValueError, match="do not fit"):
        C.DenseCube.from_tables({**axes, "sites": axes["sites"][:-1]}, cells, pop)
    with pytest.raises(ValueError, match="do not fit"):
        C.DenseCube.from_tables(axes, cells.assign(cell=cells["cell"] + int(np.prod(axes["shape"]))), pop)
    with pytest.raises(ValueError, match="do not fit"):
        C.DenseCube.from_tables(axes, cells, pop.iloc[:-1])

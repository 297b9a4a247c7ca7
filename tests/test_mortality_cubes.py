"""The M:I ratio from the cubes (``analytics.mortality.mi_ratio_from_cubes``, what the app computes
per selection) equals the ratio computed from the records (``analytics.mortality.mi_ratio``) frame
for frame: the same strata, deaths, cases and ratios, exactly, with the same column types — on the
demo's vital-statistics deaths and on deaths derived from the records (an upload without a
deaths table), with dense and sparse cubes."""
from __future__ import annotations

import itertools

import pandas as pd
import pytest

from analytics import cube as C
from analytics import mortality as M
from analytics import schema as S

BYS = [(), ("site",), ("sex", "site"), ("year", "sex"), (S.REGION,), (S.PARENT,), ("site", "year")]


@pytest.fixture(scope="module")
def demo():
    from app_support import state

    return state.demo_dataset()


def _selections(ds, cube) -> list[C.Selection]:
    districts = tuple(sorted(ds.regions[S.REGION].astype(str)))
    return [
        C.Selection((2015, 2019)),
        C.Selection((2012, 2013), sexes=(S.MALE,)),
        C.Selection((2020, 2024), sexes=(S.FEMALE, S.UNKNOWN_SEX), site=C.ALL_BUT_C44),
        C.Selection((2018, 2021), regions=districts[3:9], ages=tuple(S.AGE_GROUPS[10:])),
        C.Selection((2010, 2024), site=str(cube.sites[3])),
        C.Selection((2016, 2016), sexes=(S.FEMALE,), regions=districts[:1], site=str(cube.sites[0])),
    ]


_RECORDS_WAY: dict = {}    # the records computation of a selection, once for both cube strategies


def _assert_same(records, me, site_column, cases, deaths, sels, parents):
    compared = 0
    for sel, by in itertools.product(sels, BYS):
        key = (id(records), id(me), site_column, sel, by)
        if key not in _RECORDS_WAY:
            _RECORDS_WAY[key] = M.mi_ratio(records, me, site_column, sel, by, parents=parents)
        old = _RECORDS_WAY[key]
        new = M.mi_ratio_from_cubes(cases, deaths, sel, by, parents=parents)
        pd.testing.assert_frame_equal(new, old, check_exact=True, obj=f"M:I by {by} of {sel}")
        compared += len(old)
    assert compared > 500      # real strata were compared, not empty frames


def _cubes(records, me, population, parents, site_column, strategy):
    inc = C.build_cube(C.events_from_records(records, site_column), population, parents, strategy=strategy)
    return inc, C.build_cube(me.events, population, parents, strategy=strategy)


@pytest.fixture(scope="module")
def demo_deaths(demo):
    years = demo.population[S.YEAR].dropna().astype(int).unique()
    return M.mortality_events(demo.records, S.SITE_CI5, deaths=demo.registry.deaths,
                              regions=demo.regions[S.REGION].astype(str), years=years)


@pytest.mark.parametrize("strategy", ["dense", "sparse"])
def test_mi_ratio_from_cubes_equals_the_records_computation_on_the_demo(demo, demo_deaths, strategy):
    parents = dict(zip(demo.regions[S.REGION].astype(str), demo.regions[S.PARENT].astype(str)))
    me = demo_deaths
    assert me.source == M.SOURCE_TABLE
    inc, mort = _cubes(demo.records, me, demo.population, parents, S.SITE_CI5, strategy)
    _assert_same(demo.records, me, S.SITE_CI5, inc, mort, _selections(demo, inc), parents)


def test_mi_ratio_from_cubes_equals_the_records_computation_without_a_deaths_table(demo):
    """An upload without deaths: deaths derived from the records (GLOBOCAN list this time)."""
    parents = dict(zip(demo.regions[S.REGION].astype(str), demo.regions[S.PARENT].astype(str)))
    records = demo.records.iloc[::3]
    me = M.mortality_events(records, S.SITE_GLOBOCAN, regions=demo.regions[S.REGION].astype(str),
                            years=demo.population[S.YEAR].dropna().astype(int).unique())
    assert me.source == M.SOURCE_RECORDS and me.n_counted > 1000
    inc, mort = _cubes(records, me, demo.population, parents, S.SITE_GLOBOCAN, "auto")
    _assert_same(records, me, S.SITE_GLOBOCAN, inc, mort, _selections(demo, inc), parents)


def test_mi_ratio_from_cubes_hand_counts_and_a_selection_without_deaths():
    """Two districts, one year: hand-counted deaths and cases; no death in the selection: no ratio."""
    records = pd.DataFrame({
        S.INCLUDED: True, S.YEAR: [2020, 2020, 2020, 2021], S.SEX: [1, 1, 2, 1], S.REGION: ["R1", "R2", "R1", "R1"],
        S.AGE_GROUP: ["60-64"] * 4, S.ICD10: ["C340", "C341", "C509", "C340"],
        S.SITE_CI5: ["Lung (incl. trachea and bronchus)"] * 2 + ["Breast", "Lung (incl. trachea and bronchus)"]})
    deaths = pd.DataFrame({S.YEAR: [2020, 2020, 2021], S.SEX: [1, 2, 1], S.AGE_GROUP: ["60-64"] * 3,
                           S.REGION: ["R1", "R1", "R2"], S.ICD10: ["C34", "C50", "C34"], S.COUNT: [3, 1, 2]})
    me = M.mortality_events(None, S.SITE_CI5, deaths=deaths)
    pop = pd.DataFrame({S.YEAR: 2020, S.SEX: [1, 2], S.REGION: "R1", S.AGE_GROUP: "60-64", S.POPULATION: 1000.0})
    inc, mort = _cubes(records, me, pop, {"R1": "E1", "R2": "E1"}, S.SITE_CI5, "dense")
    by_site = M.mi_ratio_from_cubes(inc, mort, C.Selection((2020, 2020)), ("site",)).set_index("site")
    assert by_site.loc["Lung (incl. trachea and bronchus)", ["deaths", "cases"]].tolist() == [3, 2]
    assert by_site.loc["Breast", "mi_ratio"] == 1.0
    by_parent = M.mi_ratio_from_cubes(inc, mort, C.Selection((2020, 2021)), (S.PARENT,),
                                      parents={"R1": "E1", "R2": "E1"})
    assert by_parent[["deaths", "cases"]].values.tolist() == [[6, 4]]
    none = M.mi_ratio_from_cubes(inc, mort, C.Selection((2021, 2021), regions=("R1",)), ("year",))
    assert none.empty and list(none.columns) == ["year", "deaths", "cases", "mi_ratio"]

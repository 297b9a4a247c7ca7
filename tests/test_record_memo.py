"""Record-level intermediate results (prevalence's prepared units) are kept beside their data set
(``app_support.cache.record_memo``), never in the process-wide caches: each data set gets its own,
the cached prevalence equals the direct computation, and they go when the data set's registry goes."""
from __future__ import annotations

import dataclasses
import gc

import numpy as np
import pandas as pd
import pytest

from analytics import schema as S
from analytics import tables

ARGS = dict(site_col=S.SITE_CI5, year=2021, counting="person", adjust=False, std="world_segi1960", conf=0.95,
            ages=None)


@pytest.fixture(scope="module")
def demo():
    from app_support import state

    return state.demo_dataset()


def _upload(demo, token: str):
    """Every other record of the demo's women: an 'upload' with a registry of its own."""
    from app_support import state

    reg = demo.registry
    records = reg.records[(reg.records[S.SEX] == S.FEMALE).fillna(False).to_numpy(bool)
                          & (np.arange(len(reg.records)) % 2 == 0)].copy()
    registry = dataclasses.replace(reg, records=records, n_read=len(records), n_used=int(records[S.INCLUDED].sum()))
    return state.Dataset(token, registry, demo.regions, "memo.csv", demo.geo, demo.risk_factors)


def _direct(ds, regions=None):
    rec, pop = ds.records, ds.population
    if regions is not None:
        rec, pop = (x[x[S.REGION].astype(str).isin(regions)] for x in (rec, pop))
    return tables.prevalence_table(rec, pop, index_date="2021-12-31", by=[S.SITE_CI5, S.SEX], counting="person",
                                   standard="world_segi1960", conf=0.95)


def test_each_data_set_has_its_own_prepared_units_and_the_same_numbers_as_direct(demo):
    from app_support import cache

    upload = _upload(demo, "upload:memo-test-a")
    regions = tuple(sorted(demo.regions[S.REGION].astype(str))[:4])
    for ds, reg in ((demo, None), (upload, None), (demo, regions), (upload, regions)):
        cached = cache.prevalence(ds, reg, **ARGS)
        pd.testing.assert_frame_equal(cached, _direct(ds, reg), check_exact=True)
    base_a = cache._prevalence_base(demo, None, (S.SITE_CI5, S.SEX), "person", False)
    base_b = cache._prevalence_base(upload, None, (S.SITE_CI5, S.SEX), "person", False)
    assert base_b is not base_a
    # the upload's units are its own women only (no unit of the demo's other records)
    assert set(base_b.frame[S.SEX].dropna().astype(int)) == {S.FEMALE}
    assert len(base_b.frame) < len(base_a.frame) / 3
    # asked again: the same prepared object (prepared once per data set)
    assert cache._prevalence_base(upload, None, (S.SITE_CI5, S.SEX), "person", False) is base_b


def test_prepared_units_go_with_their_registry(demo):
    from app_support import cache

    upload = _upload(demo, "upload:memo-test-b")    # a token no cached result has seen
    owner = id(upload.registry)
    cache.prevalence(upload, None, **ARGS)
    assert owner in cache._RECORD_MEMO
    # at most RECORD_MEMO_ENTRIES per data set
    for year in range(2015, 2015 + cache.RECORD_MEMO_ENTRIES + 2):
        cache.record_memo(upload, ("test", year), lambda: year)
    assert len(cache._RECORD_MEMO[owner]) == cache.RECORD_MEMO_ENTRIES
    del upload
    gc.collect()
    assert owner not in cache._RECORD_MEMO

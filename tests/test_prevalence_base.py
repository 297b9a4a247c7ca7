"""Prevalence summed in cells from a prepared base (``analytics.prevalence.prevalence_base``, what
the app evaluates at each index date) counts what the row-level method counts: every person (or
tumour) of ``prevalence_contributions`` in its window, summed per site x sex x duration by pandas as
the previous implementation did — exactly, at several index dates, for person and tumour
counting, an age range, all sites, and public output (perturbed cells) from the base or the
records alike."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import prevalence as P
from analytics import schema as S

DURS = [(1, "1"), (3, "3"), (5, "5"), (10, "10"), (None, "all")]


@pytest.fixture(scope="module")
def demo():
    from analytics.demo import load_demo

    return load_demo()


def _row_level_counts(records, t, counting, site, ages=None) -> pd.DataFrame:
    """The previous method: contributions of every unit, each copied into the windows it falls
    in, then grouped by site, sex and duration (with the all-sites rows of each person)."""
    c = P.prevalence_contributions(records, index_date=t, counting=counting, site=site)
    if ages is not None:
        c = c[c["age_group_index"].astype(str).isin(ages)]
    c = c[c["status"] != "after"]
    frames = [c[c["site_row"]].assign(_site=c[site].astype(str)),
              c[c["all_sites"]].assign(_site=P.ALL_SITES)]
    rows = []
    for d, label in DURS:
        for f in frames:
            w = f if d is None else f[f[S.INCIDENCE_DATE] > pd.Timestamp(t) - pd.DateOffset(years=d)]
            rows.append(w.assign(duration=label, _lost=(w["status"] == "lost").astype(float),
                                 _unk=(w["status"] == "unknown").astype(float)))
    cc = pd.concat(rows, ignore_index=True)
    out = (cc.groupby(["_site", S.SEX, "duration"], dropna=False, observed=True)
           .agg(count=("contribution", "sum"), n_lost=("_lost", "sum"), n_unknown=("_unk", "sum")))
    return _unknown_sex_as_9(out.reset_index())


def _unknown_sex_as_9(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(**{S.SEX: frame[S.SEX].fillna(S.UNKNOWN_SEX).astype(int)})
    return frame.set_index(["_site", S.SEX, "duration"])


@pytest.mark.parametrize("t, counting, ages", [("2024-12-31", "person", None), ("2017-12-31", "person", None),
                                               ("2020-06-30", "tumour", None),
                                               ("2022-12-31", "person", list(S.AGE_GROUPS[10:15]))])
def test_cells_count_what_the_row_level_method_counts(demo, t, counting, ages):
    records, site = demo.records, S.SITE_CI5
    expected = _row_level_counts(records, t, counting, site, ages)
    base = P.prevalence_base(records, by=[site, S.SEX], counting=counting)
    got = P.prevalence(base, demo.population, index_date=t, counting=counting, ages=ages)
    got = _unknown_sex_as_9(got.assign(_site=got[site].astype(str)))
    assert expected["count"].sum() > 10_000
    common = got.index.intersection(expected.index)
    assert len(common) == len(expected)       # every stratum with someone in it is in the table
    for col in ("count", "n_lost", "n_unknown"):
        np.testing.assert_array_equal(got.loc[common, col].to_numpy(float), expected.loc[common, col].to_numpy(float))
    # strata the table adds (a duration in which a stratum has nobody) are zeros
    assert (got.drop(common)[["count", "n_lost", "n_unknown"]] == 0).all().all()


def test_prepared_base_and_records_give_the_same_table(demo):
    from analytics.disclosure import DisclosureRule

    records, pop = demo.records, demo.population
    rule = DisclosureRule.from_env(k=5, environ={})
    keyed = records.assign(_key=rule.keys_of(records))
    for by, kw in (([S.SITE_CI5, S.SEX], {}), ([S.SITE_GLOBOCAN], {"counting": "tumour"}),
                   ([S.SITE_CI5, S.SEX], {"key": "_key", "perturb": rule.noisy})):
        source = keyed if "key" in kw else records
        base = P.prevalence_base(source, by=by, counting=kw.get("counting", "person"), key=kw.get("key"))
        for t in ("2024-12-31", "2019-12-31"):
            direct = P.prevalence(source, pop, index_date=t, by=by, **kw)
            pd.testing.assert_frame_equal(P.prevalence(base, pop, index_date=t, by=by, **kw), direct, check_exact=True)
            assert direct.attrs == P.prevalence(base, pop, index_date=t, by=by, **kw).attrs
    with pytest.raises(ValueError, match="prepared for counting"):
        P.prevalence(P.prevalence_base(records), pop, counting="tumour")

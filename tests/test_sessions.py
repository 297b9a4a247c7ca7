"""Two sessions on different data share the server's process-wide caches: no result computed
for one data set (headline numbers, regional measures, Moran's I and LISA, risk factors, joinpoint
fits, CI5 tables, sidebar options) may ever be served to the other."""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import rates, spatial
from analytics import schema as S
from analytics.i18n import format_number
from conftest import app, metric


@pytest.fixture(scope="module")
def datasets():
    """A: the demo. B: every other record of the demo's men, and its own risk factors (other
    indicator names and values) — an 'upload' with its own token."""
    from app_support import state

    a = state.demo_dataset()
    reg = a.registry
    records = reg.records[(reg.records[S.SEX] == S.MALE).fillna(False).to_numpy(bool) & (np.arange(len(reg.records)) % 2 == 0)].copy()
    registry_b = dataclasses.replace(reg, records=records, n_read=len(records), n_used=int(records[S.INCLUDED].sum()))
    rf = a.risk_factors.copy()
    rf[S.INDICATOR] = "b_" + rf[S.INDICATOR].astype(str)
    rf[S.VALUE] = rf[S.VALUE] * 2 + 1
    b = state.Dataset("upload:session-b", registry_b, a.regions, "session_b.csv", a.geo, rf)
    return a, b


def session(ds, page: str, **params) -> AppTest:
    """The app on ``ds``: the demo, or an upload put in the session as the Data page puts it."""
    state = {"_upload": ds, "_source": "upload"} if ds.token != "demo" else None
    return app(page, timeout=180, state=state, **params)


def _asr_all_ages(ds, years=(2020, 2024)) -> float:
    r = ds.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(*years) & r[S.AGE_GROUP].notna()]
    cases = r.groupby(S.AGE_GROUP, observed=True).size().rename("count")
    p = ds.population
    pop = p[p[S.YEAR].between(*years)].groupby(S.AGE_GROUP, observed=True)[S.POPULATION].sum()
    data = pop.to_frame().join(cases, how="left").fillna({"count": 0}).reset_index()
    return float(rates.dsr(data, method="tiwari")["value"].iloc[0])


def test_overview_headlines_follow_each_sessions_own_data(datasets):
    a, b = datasets
    # interleave: A, B, A again — the second A must not see B's cached results, nor B A's
    at_a, at_b, at_a2 = (session(ds, "overview", y0=2020, y1=2024) for ds in (a, b, a))
    va, vb, va2 = (metric(at, "app.metric.asr") for at in (at_a, at_b, at_a2))
    # B's "both sexes" is men only: its ASR comes from B's records (unknown-age cases aside)
    assert vb != va == va2
    # the charts come from the process-wide view cache: B's are drawn from B's data, A's again from A's
    charts_a, charts_b, charts_a2 = (_chart_data(at) for at in (at_a, at_b, at_a2))
    assert len(charts_a) == len(charts_b) == 4
    assert charts_a == charts_a2 and all(x != y for x, y in zip(charts_a[:3], charts_b[:3]))
    assert charts_a[3] == charts_b[3]          # the population pyramid: both data sets have the demo population
    assert va == format_number(_asr_all_ages(a), "en", 1)
    assert vb == format_number(_asr_all_ages(b), "en", 1)


def _chart_data(at: AppTest) -> list:
    """The traces of every chart the session was sent (the plotly spec's data)."""
    return [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]


def _moran_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Spatial autocorrelation"))


def test_maps_moran_and_lisa_are_per_dataset(datasets):
    a, b = datasets
    cap_a = _moran_caption(session(a, "maps"))
    cap_b = _moran_caption(session(b, "maps"))
    cap_a2 = _moran_caption(session(a, "maps"))
    assert cap_a == cap_a2 and cap_b != cap_a
    # B's Moran's I equals the statistic computed directly on B's regional counts
    from app_support import cache
    from app_support.filters import Filters

    f = Filters(y0=2020, y1=2024, sex="both", scheme="ci5", site="all", er="all", district="all", a0=0, a1=85,
                std="world_segi1960", ci="tiwari", conf="95", public=False, lang="en", theme="light")
    geo = b.geo[[S.REGION, S.REGION_NAME, "geometry"]]
    w = spatial.contiguity_weights(geo, key=S.REGION)
    data = b.records[b.records[S.INCLUDED] & b.records[S.YEAR].between(2020, 2024)]
    assert cache.rate_input(b, f, by=(S.REGION,))["count"].sum() == len(data)
    m = spatial.regional_measures(cache.rate_input(b, f, by=(S.REGION,)), cache.rate_input(b, f, by=(S.REGION,)),
                                  standard=f.std, w=w)
    ok = m.set_index(S.REGION)
    moran_b = spatial.moran(ok["cases"].fillna(0.0), w, population=ok["expected"], permutations=999)
    assert f"I = {format_number(moran_b.I, 'en', 3)}" in cap_b


def test_maps_table_is_each_sessions_own_named_in_its_language(datasets):
    """The Maps page's measures with their region names are built once per process and data set
    (``cache.view``): each session's table counts its own data set's cases, in its language."""
    a, b = datasets
    years = (2020, 2024)

    def cases(ds):      # the map counts the cases of a known age group (its SIRs are age-standardised)
        rec = ds.records[ds.records[S.INCLUDED] & ds.records[S.YEAR].between(*years)]
        return int(rec[S.AGE_GROUP].notna().sum())

    tables = {}
    for ds, lang in ((a, "en"), (b, "en"), (a, "en"), (b, "az")):
        at = session(ds, "maps", y0=years[0], y1=years[1], lang=lang)
        assert not at.exception
        table = at.dataframe[0].value
        assert int(table["cases"].sum()) == cases(ds)
        tables[(ds.token, lang)] = table
    assert cases(a) != cases(b)
    names_en, names_az = tables[(b.token, "en")]["region_name"], tables[(b.token, "az")]["region_name"]
    assert list(names_en) != list(names_az) and len(names_en) == len(names_az)


def test_risk_factor_indicators_are_the_sessions_own(datasets):
    a, b = datasets
    opts_b = session(b, "risk_factors").selectbox(key="p_rf_factor").options
    opts_a = session(a, "risk_factors").selectbox(key="p_rf_factor").options
    assert all(o.startswith("b_") for o in opts_b), opts_b
    assert not any(o.startswith("b_") for o in opts_a), opts_a


def test_sidebar_options_and_ci5_tables_are_the_sessions_own(datasets):
    a, b = datasets
    at_b = session(b, "incidence", y0=2020, y1=2024)
    at_a = session(a, "incidence", y0=2020, y1=2024)
    sites_b, sites_a = at_b.sidebar.selectbox(key="f_site").options, at_a.sidebar.selectbox(key="f_site").options
    # B has men only: no cervix uteri in its site list, while the demo has it
    assert any("Cervix" in s for s in sites_a) and not any("Cervix" in s for s in sites_b)
    tab_a = [d.value for d in at_a.dataframe]
    tab_b = [d.value for d in at_b.dataframe]
    assert not any(x.equals(y) for x in tab_a for y in tab_b if isinstance(x, pd.DataFrame) and x.shape == y.shape and len(x) > 3)


# --- the shared paths (issue 12): process-wide view cache, language/theme-neutral keys, prebuilt cubes --
def _filters(**kw):
    from app_support.filters import Filters

    base = dict(y0=2020, y1=2024, sex="both", scheme="ci5", site="all", er="all", district="all", a0=0, a1=85,
                std="world_segi1960", ci="tiwari", conf="95", public=False, lang="en", theme="light")
    return Filters(**{**base, **kw})


SAMPLE = [  # (filters, by, sexes): sexes, periods, sites, regions, ages, standards, CI methods, languages, themes
    (dict(), (), None),
    (dict(sex="female", y0=2012, y1=2016, lang="az", theme="presentation"), ("site",), None),
    (dict(sex="male", site="Lung (incl. trachea and bronchus)", er="second", std="STD2", lang="ru"), ("year",), None),
    (dict(a0=40, a1=70, ci="dobson", conf="99"), ("sex", "site"), (S.MALE, S.FEMALE)),
    (dict(scheme="globocan", site="all_but_c44", y0=2015, y1=2015, lang="az"), ("region_code",), None),
]


@pytest.fixture(scope="module")
def direct_cubes():
    """The demo's cubes built directly with analytics.cube (no app_support cache)."""
    from analytics import cube as cubes
    from app_support import state

    ds = state.demo_dataset()
    parents = dict(zip(ds.regions[S.REGION].astype(str), ds.regions[S.PARENT].astype(str)))
    return {col: cubes.build_cube(cubes.events_from_records(ds.records, col), ds.population, parents)
            for col in (S.SITE_CI5, S.SITE_GLOBOCAN)}


def _direct_dsr(ds, direct_cubes, f, by, sexes):
    from analytics import sites

    data = direct_cubes[f.site_column].select(f.selection(ds.regions, sexes=sexes), by)
    data = data.drop(columns=["key_sum"], errors="ignore")
    return sites.blank_other_sex(rates.dsr(data, standard=f.std, by=list(by) or None, method=f.ci, conf=f.level))


@pytest.mark.parametrize("case", range(len(SAMPLE)))
def test_cached_rates_equal_direct_analytics_whatever_the_language(datasets, direct_cubes, case):
    from app_support import cache

    a, _ = datasets
    kw, by, sexes = SAMPLE[case]
    f = _filters(**kw)
    if kw.get("er"):                                       # an economic region the demo has, another standard
        from analytics import standards

        f = dataclasses.replace(f, er=sorted(x for x in a.regions[S.PARENT].unique() if x)[1],
                                std=list(standards.ALIASES)[1])
    want = _direct_dsr(a, direct_cubes, f, by, sexes)
    got = cache.dsr(a, f, by=by, sexes=sexes)
    cols = list(by) + ["count", "population", "value", "lower", "upper"]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), want[cols].reset_index(drop=True),
                                  check_exact=True, check_dtype=False, check_categorical=False)
    # language and theme are neutral in the key: another language is served the same numbers ...
    other = dataclasses.replace(f, lang="ru" if f.lang != "ru" else "az", theme="presentation")
    pd.testing.assert_frame_equal(cache.dsr(a, other, by=by, sexes=sexes)[cols], got[cols], check_exact=True)
    assert cache.key_part(cache.neutral(f)) == cache.key_part(cache.neutral(other))
    assert cache.neutral(other) is not other


def test_results_that_override_the_sex_filter_are_shared_by_every_sex_and_equal_direct_ones(
        datasets, direct_cubes, monkeypatch):
    """The men-vs-women rates (``sexes=`` given) and a CI5 table of one sex do not depend on the
    sidebar's sex: computed once for the three sexes of a period, and each equal to the direct
    computation under that sex's filters."""
    from analytics import tables
    from app_support import cache

    a, _ = datasets
    calls = {"dsr": 0, "ci5": 0}
    dsr_table, ci5_table = tables.dsr_table, tables.ci5_table

    def counted_dsr(*args, **kw):
        calls["dsr"] += 1
        return dsr_table(*args, **kw)

    def counted_ci5(*args, **kw):
        calls["ci5"] += 1
        return ci5_table(*args, **kw)

    monkeypatch.setattr(tables, "dsr_table", counted_dsr)
    monkeypatch.setattr(tables, "ci5_table", counted_ci5)
    by, sexes, cols = ("sex", "site"), (S.MALE, S.FEMALE), ["sex", "site", "count", "population", "value", "lower",
                                                            "upper"]
    for sex in ("male", "both", "female"):
        f = _filters(sex=sex, y0=2011, y1=2017, a0=15, ci="dobson")     # a selection no other test asks for
        got = cache.dsr(a, f, by=by, sexes=sexes)
        want = _direct_dsr(a, direct_cubes, f, by, sexes)
        pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), want[cols].reset_index(drop=True),
                                      check_exact=True, check_dtype=False, check_categorical=False)
        for code in (S.MALE, S.FEMALE):
            table = cache.ci5_table(a, f, code)
            direct = ci5_table(direct_cubes[f.site_column], f.selection(a.regions), code, standard=f.std)
            pd.testing.assert_frame_equal(table, direct, check_exact=True)
        pyramid = cache.population_pyramid(a, f)       # average annual population of both sexes
        pop = a.population[a.population[S.YEAR].between(f.y0, f.y1) & a.population[S.SEX].isin(sexes)
                           & (a.population["age_start"] >= f.a0)]          # the selected ages (15 and over)
        want = pop.groupby([S.SEX, S.AGE_GROUP], observed=True)[S.POPULATION].sum() / (f.y1 - f.y0 + 1)
        got = pyramid.set_index([S.SEX, S.AGE_GROUP])[S.POPULATION]
        assert got.to_dict() == pytest.approx(want.to_dict(), rel=1e-12)
    assert calls == {"dsr": 1, "ci5": 2}
    # a result that follows the sidebar's sex is still one entry per sex
    for sex in ("male", "female"):
        cache.dsr(a, _filters(sex=sex, y0=2011, y1=2017, a0=15, ci="dobson"), by=("site",))
    assert calls["dsr"] == 3


def test_shared_figures_and_sentences_equal_direct_builds(datasets, direct_cubes):
    """A figure or sentence of the view cache is what the builder gives on the direct numbers,
    keyed by every argument: another language is another build, never the same object."""
    from analytics import narrative
    from analytics.charts import incidence as charts
    from app_support import cache

    a, _ = datasets
    f = _filters(sex="female", y0=2014, y1=2018)
    direct = _direct_dsr(a, direct_cubes, f, ("sex", "site"), (S.MALE, S.FEMALE))
    by_sex = cache.dsr(a, f, by=("sex", "site"), sexes=(S.MALE, S.FEMALE))
    for lang in ("en", "az"):
        fig = cache.figure(a, "test_top10", charts.top_sites_bar, by_sex, lang=lang, standard=f.std, conf=f.level,
                           theme="light", title="t")
        want = charts.top_sites_bar(direct, lang=lang, standard=f.std, conf=f.level, theme="light", title="t")
        assert json.loads(fig.to_json())["data"] == json.loads(want.to_json())["data"]
        assert cache.is_shared(fig)
        assert cache.figure(a, "test_top10", charts.top_sites_bar, by_sex, lang=lang, standard=f.std, conf=f.level,
                            theme="light", title="t") is fig            # built once, shared
        sentences = cache.view(a, "test_sentences", narrative.top_site_sentences, by_sex, lang=lang, standard=f.std)
        assert sentences == narrative.top_site_sentences(direct, lang=lang, standard=f.std)
    en = cache.view(a, "test_sentences", narrative.top_site_sentences, by_sex, lang="en", standard=f.std)
    az = cache.view(a, "test_sentences", narrative.top_site_sentences, by_sex, lang="az", standard=f.std)
    assert en != az


def test_view_cache_never_crosses_datasets(datasets):
    """The same view name and the same arguments on two data sets: two builds, each from its
    own data set (the dataset token leads every key)."""
    from app_support import cache

    a, b = datasets
    f = _filters()
    calls = []

    def build(ds_label, n):
        calls.append(ds_label)
        return f"{ds_label}:{n}"

    assert cache.view(a, "test_cross", build, "A", 1) == "A:1"
    assert cache.view(b, "test_cross", build, "A", 1) == "A:1" and calls == ["A", "A"]   # not A's object
    assert cache.view(a, "test_cross", build, "A", 1) == "A:1" and calls == ["A", "A"]   # A's, from the cache
    # the computed results behind the views: B's numbers, whatever the language asked first by A
    for lang in ("az", "en"):
        va = cache.dsr(a, dataclasses.replace(f, lang=lang))["value"].iloc[0]
        vb = cache.dsr(b, dataclasses.replace(f, lang=lang))["value"].iloc[0]
        assert va == pytest.approx(_asr_all_ages(a), rel=1e-9) and vb == pytest.approx(_asr_all_ages(b), rel=1e-9)
        assert va != vb


def test_a_frame_is_keyed_by_its_content_however_it_was_built():
    """cache.key_part reads a frame's values: the same table stored as Arrow chunks, a slice,
    objects or a copy gets one key; one value, a dtype, a column name or the index changed
    gets another (a view is never served for a different table)."""
    import pyarrow as pa

    from app_support import cache

    base = pd.DataFrame({"site": ["C16", "C50", None], "n": [3, 40, 12], "rate": [1.5, np.nan, 8.0],
                         "when": pd.to_datetime(["2020-01-01", "2021-06-30", None]),
                         "sex": pd.Categorical(["1", "2", "2"])})
    key = cache.key_part(base)
    chunked = base.assign(site=pd.array(pd.arrays.ArrowExtensionArray(pa.chunked_array([["C16"], ["C50", None]]))))
    same = [base.copy(), pd.concat([base.iloc[:1], base.iloc[1:]]).reset_index(drop=True),
            base.astype({"site": "string[pyarrow]"}).astype({"site": "string[pyarrow]"}).copy()]
    assert cache.key_part(chunked) == cache.key_part(base.astype({"site": chunked["site"].dtype}))
    assert all(cache.key_part(f) == key for f in same[:2])
    assert cache.key_part(same[2]) == cache.key_part(base.astype({"site": "string[pyarrow]"}))
    changed = [base.assign(n=[3, 41, 12]), base.assign(rate=[1.5, 0.0, 8.0]), base.astype({"n": "float64"}),
               base.rename(columns={"n": "count"}), base.set_axis([1, 2, 3]), base.iloc[::-1],
               base.assign(site=["C16", "C50", "None"]), base.assign(sex=pd.Categorical(["1", "2", "1"]))]
    keys = {cache.key_part(f) for f in changed}
    assert key not in keys and len(keys) == len(changed)


def test_shared_descriptions_equal_direct_ones(datasets, direct_cubes):
    """widgets.describe keeps a description per data set, filters, frame and keywords: equal to
    the one built directly, the same object for the same view, another for another frame,
    keyword, language or data set."""
    from app_support import cache, widgets

    a, b = datasets
    f = _filters(sex="female", y0=2014, y1=2018)
    by_sex = cache.dsr(a, f, by=("sex", "site"), sexes=(S.MALE, S.FEMALE))
    d = widgets.describe(f, a, by_sex, "asr", sexes=(S.MALE, S.FEMALE))
    direct = widgets._describe(f, by_sex, "asr", ds=a, sexes=(S.MALE, S.FEMALE), site=None, area=None,
                               keep_area=True, years=None, ages=None)
    assert d == direct and d.caption("en") == direct.caption("en")
    assert widgets.describe(f, a, by_sex.copy(), "asr", sexes=(S.MALE, S.FEMALE)) is d      # by content
    others = [widgets.describe(f, a, by_sex[by_sex[S.SEX] == S.MALE], "asr", sexes=(S.MALE, S.FEMALE)),
              widgets.describe(f, a, by_sex, "asr"),
              widgets.describe(f, a, by_sex, "asr", sexes=(S.MALE, S.FEMALE), area=None),
              widgets.describe(dataclasses.replace(f, lang="ru"), a, by_sex, "asr", sexes=(S.MALE, S.FEMALE)),
              widgets.describe(f, b, by_sex, "asr", sexes=(S.MALE, S.FEMALE))]
    assert all(o is not d for o in others)
    assert others[0].scope.sexes == (S.MALE,) and d.scope.sexes == (S.MALE, S.FEMALE)
    assert [w for w, _ in others[1].ignored] == ["sex"]                  # women asked, both shown
    assert (d.source, others[4].source) == (f.source(a), f.source(b)) and f.source(a) != f.source(b)


def test_survival_by_site_table_made_in_a_worker_is_the_direct_one(datasets):
    """The by-site table of a selection is fitted in a worker process, started before the curves
    (``cache.start_survival_by_site``): it is exactly the table ``analytics.tables.survival_by_site``
    gives on the same data set in this process, each data set its own, and one job serves every
    later request of the same selection."""
    from analytics import tables
    from app_support import cache

    a, b = datasets
    b = dataclasses.replace(b, lifetable=a.lifetable)          # the upload uses the demo's life table
    for fn in (cache._survival_by_site, cache._survival_by_site_job, cache._survival_fits, cache._survival_curves):
        fn.clear()
    f = _filters(sex="male", y0=2013, y1=2018)
    run = dict(method="pohar_perme", approach="period", first_primary_only=False)
    for ds in (a, b):
        cache.start_survival_by_site(ds, f, **run)
    args = (run["method"], run["approach"], run["first_primary_only"])     # as the page's calls pass them
    jobs_started = {ds.token: cache._survival_by_site_job(ds, cache.survival_filters(f, all_sites=True), *args)
                    for ds in (a, b)}
    curves = {ds.token: cache.survival_curves(ds, f, "sex", observed=True, **run) for ds in (a, b)}
    got = {ds.token: cache.survival_by_site(ds, f, **run) for ds in (a, b)}
    for ds in (a, b):
        job = jobs_started[ds.token]
        assert job.pid is not None and job.pid != os.getpid()    # fitted in a worker process
        records = tables.survival_records(ds.records, period=(f.y0, f.y1), approach="period",
                                          site_column=f.site_column, sexes=f.sex_codes, site="all")
        want = tables.survival_by_site(records, ds.lifetable, site_column=f.site_column, period=(f.y0, f.y1),
                                       method="pohar_perme", approach="period", conf=f.level, first_primary_only=False)
        pd.testing.assert_frame_equal(got[ds.token], want, check_exact=True)
        assert len(curves[ds.token]["curves"])
    assert not got[a.token]["n"].equals(got[b.token]["n"])
    cache.start_survival_by_site(a, f, **run)                  # made: no second job
    assert cache._survival_by_site_job(a, cache.survival_filters(f, all_sites=True), *args) is jobs_started[a.token]


def test_survival_patients_kept_for_a_rerun_are_each_data_sets_own(datasets):
    """The patients the Survival page's views of one rerun share (``cache._grouped_data``, kept
    beside the data set by ``cache.record_memo``) are the data set's own: the direct survival data of its records, for A
    then B then A again with the same filters."""
    from analytics import tables
    from analytics.survival import registry
    from app_support import cache

    a, b = datasets
    f = cache.survival_filters(_filters(y0=2012, y1=2016))
    cache._RECORD_MEMO.clear()
    got = [cache._grouped_data(ds, f, "sex", "period", False) for ds in (a, b, a)]
    assert got[2][0] is got[0][0]                              # A's again: kept, not read again
    for ds, (data, recon, by) in zip((a, b), got):
        records = tables.survival_records(ds.records, period=(2012, 2016), approach="period",
                                          site_column=f.site_column, site="all")
        want, want_recon = registry.survival_data(records)
        pd.testing.assert_frame_equal(data.drop(columns="group"), want, check_exact=True)
        pd.testing.assert_frame_equal(recon, want_recon)
        assert by == ["group"] and (data["group"].to_numpy() == want["sex"].astype(int).to_numpy()).all()
    assert len(got[0][0]) != len(got[1][0])


def test_ecological_fit_is_each_data_sets_own_and_the_direct_fit(datasets):
    """The Risk factors page's regression (``cache.ecological_fit``: fitted once per process for
    the same rows) is the direct ``ecological_regression`` of each data set's own rows, Moran's I
    of the residuals included (a seeded permutation test: the same p-value)."""
    from analytics.ecological import ecological_regression
    from app_support import cache

    a, b = datasets
    f = _filters(y0=2015, y1=2024)
    fits = []
    for ds in (a, b, a):
        _, w, _ = cache.level_geometry(ds, S.REGION, "en")
        m = cache.regional_measures(ds, f, S.REGION)
        wide = cache.wide_risk_factors(ds, S.REGION)
        data = m.merge(wide, left_on=S.REGION, right_index=True, how="left").set_index(S.REGION)
        data = data.rename(columns={"cases": "observed"})
        data = data[data["expected"] > 0]
        factor = str(wide.columns[0])
        got = cache.ecological_fit(ds, data, (factor,), S.REGION, family="auto", per="sd", _w=w, permutations=99)
        want = ecological_regression(data, [factor], family="auto", per="sd", w=w, permutations=99)
        pd.testing.assert_frame_equal(got.table, want.table, check_exact=True)
        assert got.residual_moran.I == want.residual_moran.I
        assert got.residual_moran.p_value == want.residual_moran.p_value
        assert got.choice == want.choice
        fits.append((factor, float(got.table["estimate"].iloc[-1])))
    assert fits[0] == fits[2] and fits[0] != fits[1]          # B's indicators and values, A's again
    with pytest.raises(ValueError):                           # weights without their level's identity
        cache.ecological_fit(a, data, (factor,), None, _w=w)


def test_survival_language_theme_standard_and_ci_method_refit_nothing(datasets, monkeypatch):
    """What only changes how survival is shown or what the other pages compute (language, theme,
    standard population of the rates, rate CI method) fits no curve again on the Survival page: its
    curves, standardised curve, actuarial table and by-site table come from the first selection's."""
    from analytics import survival
    from app_support import cache

    a, _ = datasets
    run = dict(method="pohar_perme", approach="period", first_primary_only=False)
    f = _filters(sex="female", y0=2016, y1=2021)

    def views(g):
        return (cache.survival_curves(a, g, "sex", observed=True, **run)["at"],
                cache.survival_standardised(a, g, "sex", **run),
                cache.survival_actuarial(a, g, "sex", run["approach"], run["first_primary_only"]),
                cache.survival_by_site(a, g, **run))

    first = views(f)
    fits = []
    for name in ("survival_curve_sets", "survival_curve", "actuarial"):
        fn = getattr(survival, name)
        monkeypatch.setattr(survival, name, lambda *x, _fn=fn, **kw: fits.append(_fn) or _fn(*x, **kw))
    for change in (dict(lang="az"), dict(lang="ru", theme="dark"), dict(std="europe_2013"), dict(ci="normal")):
        again = views(dataclasses.replace(f, **change))
        assert fits == [], change
        for x, y in zip(again, first):
            pd.testing.assert_frame_equal(x, y, check_exact=True)


def test_level_geometry_is_shared_by_the_languages_with_the_same_names(datasets):
    """``cache.level_geometry`` gives one object for the languages whose region names are the same
    (districts: every language; economic regions: Azerbaijani apart), each equal to the direct
    ``tables.level_geometry`` in that language: a change of language builds no weights again."""
    from analytics import tables
    from app_support import cache

    a, _ = datasets
    for level in (S.REGION, S.PARENT):
        got = {lang: cache.level_geometry(a, level, lang) for lang in ("en", "ru", "az")}
        for lang, (geo, w, gj) in got.items():
            want_geo, want_w, want_gj = tables.level_geometry(a.geo, level, lang)
            pd.testing.assert_frame_equal(pd.DataFrame(geo.drop(columns="geometry")),
                                          pd.DataFrame(want_geo.drop(columns="geometry")))
            assert geo.geometry.geom_equals(want_geo.geometry).all()
            assert w.neighbors == want_w.neighbors
        assert got["ru"] is got["en"]
        assert (got["az"] is got["en"]) == (level == S.REGION)

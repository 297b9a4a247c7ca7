"""Two sessions on different data share the server's process-wide caches: no result computed
for one data set (headline numbers, regional measures, Moran's I and LISA, risk factors, joinpoint
fits, CI5 tables, sidebar options) may ever be served to the other."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import rates, spatial
from analytics import schema as S
from analytics.i18n import format_number, t

APP = str(Path(__file__).resolve().parents[1] / "app.py")


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
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = str(v)
    if ds.token != "demo":
        at.session_state["_upload"] = ds
        at.session_state["_source"] = "upload"
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metric(at: AppTest, key: str) -> str:
    return next(m.value for m in at.metric if m.label == t(key, "en"))


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
    va = _metric(session(a, "overview", y0=2020, y1=2024), "app.metric.asr")
    vb = _metric(session(b, "overview", y0=2020, y1=2024), "app.metric.asr")
    va2 = _metric(session(a, "overview", y0=2020, y1=2024), "app.metric.asr")
    # B's "both sexes" is men only: its ASR comes from B's records (unknown-age cases aside)
    assert vb != va == va2
    assert va == format_number(_asr_all_ages(a), "en", 1)
    assert vb == format_number(_asr_all_ages(b), "en", 1)


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

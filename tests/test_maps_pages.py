"""AppTest of the Regional maps and Risk factors pages on the demo registry.

Counts are checked against the demo records counted independently here; the expected counts
against internal standardisation (sum O = sum E); the regression against analytics.ecological
run on the page's own table."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import schema as S
from analytics.i18n import t
from app_support.text import md

APP = str(Path(__file__).resolve().parents[1] / "app.py")
pytestmark = pytest.mark.filterwarnings("ignore")


def _decode(v):
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return v


def _spec(at, i):
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def _qp(at, key):
    v = at.query_params[key]
    return v[0] if isinstance(v, list) else v


def _page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def demo_records():
    from analytics import demo
    return demo.load_demo().records


def test_maps_page_counts_and_map(demo_records):
    at = _page("pages/maps.py")
    assert at.title[0].value == "Regional maps"
    assert len(at.get("plotly_chart")) == 2                   # map and the chosen panel (funnel)
    table = at.dataframe[0].value
    y0, y1 = int(_qp(at, "y0")), int(_qp(at, "y1"))
    r = demo_records
    counted = r[r[S.INCLUDED].fillna(False).astype(bool) & r[S.YEAR].between(y0, y1) & r[S.AGE_GROUP].notna()]
    assert table["cases"].sum() == len(counted)
    by_region = counted.groupby(S.REGION).size()
    got = table.set_index(S.REGION)["cases"]
    assert (got.reindex(by_region.index) == by_region).all()
    assert table["expected"].sum() == pytest.approx(table["cases"].sum())   # internal standardisation
    spec = _spec(at, 0)
    shown = [c for tr in spec["data"] if tr.get("showlegend", True) for c in tr["locations"]]
    assert sorted(shown) == sorted(table[S.REGION])
    assert spec["layout"]["geo"]["visible"] is False and {tr["type"] for tr in spec["data"]} == {"choropleth"}
    # plotly.js fetches the base-map TopoJSON for any geo trace: from Streamlit's static folder
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["topojsonURL"] == "/app/static/topojson/"
    root = Path(__file__).resolve().parents[1]
    assert (root / "static" / "topojson" / "world_110m.json").is_file()
    assert "enableStaticServing = true" in (root / ".streamlit" / "config.toml").read_text()


def test_maps_page_panels():
    at = _page("pages/maps.py")
    at.radio(key="p_map_panel").set_value("lisa").run()
    assert not at.exception and _qp(at, "map_panel") == "lisa"
    lisa = at.dataframe[1].value
    spec = _spec(at, 1)
    for tr in spec["data"]:
        in_trace = set(tr["locations"])
        clusters = set(lisa.loc[lisa[S.REGION].isin(in_trace), "cluster"])
        assert len(clusters) == 1                               # one colour per cluster type
    at.radio(key="p_map_panel").set_value("profile").run()
    assert not at.exception
    prof = at.dataframe[1].value
    main = at.dataframe[0].value
    region = _qp(at, "map_region")
    sir_row = prof[prof["indicator"] == "SIR (observed / expected)"].iloc[0]
    assert sir_row["value"] == pytest.approx(main.set_index(S.REGION).loc[region, "sir"])
    assert sir_row["max"] == pytest.approx(main["sir"].max())


def test_maps_page_state_in_url_and_levels():
    at = _page("pages/maps.py")
    at.selectbox(key="p_map_measure").select("asr").run()
    assert not at.exception
    assert _qp(at, "map_measure") == "asr"
    assert "Age-standardised rate" in _spec(at, 0)["layout"]["title"]["text"]
    at.radio(key="p_map_level").set_value(S.PARENT).run()
    assert not at.exception
    table = at.dataframe[0].value
    from analytics import demo
    parents = demo.load_demo_regions()[S.PARENT].unique()
    assert S.PARENT in table.columns and sorted(table[S.PARENT]) == sorted(parents)
    spec = _spec(at, 0)
    assert sum(len(tr["locations"]) for tr in spec["data"] if tr.get("showlegend", True)) == len(table)


def test_maps_page_public_mode_hides_small_counts():
    at = _page("pages/maps.py")
    at.sidebar.selectbox(key="f_site").select("Bone").run()       # a rarer site: many small districts
    at.sidebar.radio(key="f_public").set_value("1").run()
    assert not at.exception
    table = at.dataframe[0].value
    # The table on screen shows flags in words (analytics.rates.flag_labels); the suppression
    # column keeps its codes. Counts are perturbed (cell-key method): no complementary
    # suppression is needed, a withheld count reads "<10".
    supp = table["suppression"].eq("primary")
    assert supp.sum() > 1
    assert table.loc[supp, "flag"].str.startswith("suppressed").all()
    assert (table.loc[supp, "cases"] == "<10").all() and table.loc[supp, ["sir", "asr"]].isna().all().all()
    cases = pd.to_numeric(table.loc[~supp, "cases"])
    assert ((cases == 0) | (cases >= 10)).all()
    assert set(table["suppression"]) <= {"primary", ""}
    assert table.loc[supp, "reason"].str.len().gt(0).all()


def test_risk_factor_page_regression():
    from analytics.ecological import ecological_regression
    at = _page("pages/risk_factors.py")
    assert at.title[0].value == "Risk factors and cancer"
    assert len(at.get("plotly_chart")) == 5
    at.selectbox(key="p_rf_factor").select("obesity").run()
    at.selectbox(key="p_rf_region").select("AZE-1676").run()
    assert not at.exception and _qp(at, "rf_factor") == "obesity"
    left = _spec(at, 0)
    assert left["data"][-1]["locations"] == ["AZE-1676"]         # highlighted on both maps
    assert _spec(at, 1)["data"][-1]["locations"] == ["AZE-1676"]
    sir_tab = at.dataframe[1].value.set_index(S.REGION)
    fac_tab = at.dataframe[0].value.set_index(S.REGION)
    coef = at.dataframe[-1].value
    chosen = [x for x in coef["term"] if x != "intercept"]
    d = sir_tab.join(fac_tab.drop(columns=[S.REGION_NAME]), how="inner") if set(chosen) <= set(fac_tab.columns) else None
    if d is not None:
        ref = ecological_regression(d.rename(columns={"cases": "observed"}), chosen, per="sd").table
        np.testing.assert_allclose(coef["rate_ratio"], ref["rate_ratio"], rtol=1e-6)
    assert any("Ecological fallacy" in w.value for w in at.warning)


def test_risk_factor_map_shows_the_factor_only_and_stays_as_it_was_for_another_sex_or_site():
    """The factor map's hover names the region and the factor's value (the table under it has no
    cancer counts either), so changing the sex or the site sends the same figure again (the browser
    keeps the drawn map) while the SIR map changes."""
    at = _page("pages/risk_factors.py")
    factor_map, sir_map = _spec(at, 0), _spec(at, 1)
    texts = [x for tr in factor_map["data"] for x in (tr.get("text") or [])]
    assert texts and all(x.startswith("<b>") and t("maps.cases", "en") not in x for x in texts)
    values = at.dataframe[0].value
    factor = [c for c in values.columns if c not in (S.REGION, S.REGION_NAME)][0]
    named = values.set_index(S.REGION_NAME)[factor]
    first = texts[0]
    name = first[len("<b>"):first.index("</b>")]
    assert f"{t('maps.value', 'en')}: {named[name]:.2f}" in first
    at.radio(key="f_sex").set_value("female").run()
    at.selectbox(key="f_site").select_index(3).run()
    assert not at.exception
    assert _spec(at, 0) == factor_map
    assert _spec(at, 1) != sir_map


def test_profile_region_is_outlined_on_the_map():
    at = _page("pages/maps.py")
    at.radio(key="p_map_panel").set_value("profile").run()
    at.selectbox(key="p_map_region").select("AZE-1680").run()
    assert not at.exception
    outline = _spec(at, 0)["data"][-1]
    assert outline["locations"] == ["AZE-1680"] and outline["showlegend"] is False


def _demo_population(at):
    from analytics import demo
    pop = demo.load_demo().population
    y0, y1 = int(_qp(at, "y0")), int(_qp(at, "y1"))
    return pop[pop[S.YEAR].between(y0, y1)]


def test_maps_page_reference_own_economic_region():
    """Internal standardisation within each economic region: in every economic region the
    districts' expected counts add up to their observed counts (and not so nationally pooled)."""
    from analytics import demo
    at = _page("pages/maps.py")
    at.radio(key="p_map_ref").set_value("economic").run()
    assert not at.exception and _qp(at, "map_ref") == "economic"
    table = at.dataframe[0].value
    parent = demo.load_demo_regions().set_index(S.REGION)[S.PARENT]
    by_parent = table.assign(p=table[S.REGION].map(parent)).groupby("p")[["cases", "expected"]].sum()
    np.testing.assert_allclose(by_parent["expected"], by_parent["cases"], rtol=1e-9)
    assert any("own economic region" in c.value for c in at.caption)
    assert any("chosen reference" in h.value for h in at.subheader)


def test_maps_page_user_reference_rates_by_sex():
    """A user table of 100 per 100,000 for men and 200 for women in every age group gives
    E = 0.001 x male person-years + 0.002 x female person-years, from the demo population."""
    import pandas as pd
    at = _page("pages/maps.py")
    ref = pd.DataFrame({S.AGE_GROUP: list(S.AGE_GROUPS) * 2, S.SEX: [1] * len(S.AGE_GROUPS) + [2] * len(S.AGE_GROUPS),
                        "rate": [100.0] * len(S.AGE_GROUPS) + [200.0] * len(S.AGE_GROUPS)})
    from analytics import spatial
    at.session_state["map_ref_table"] = (spatial.read_reference_rates(ref), "ref.csv")
    at.radio(key="p_map_ref").set_value("user").run()
    assert not at.exception and _qp(at, "map_ref") == "user"
    table = at.dataframe[0].value.set_index(S.REGION)
    pop = _demo_population(at)
    py = pop.groupby([S.REGION, S.SEX])[S.POPULATION].sum().unstack()
    want = 0.001 * py[1] + 0.002 * py[2]
    np.testing.assert_allclose(table["expected"].reindex(want.index), want, rtol=1e-9)
    np.testing.assert_allclose(table["sir"], table["cases"] / table["expected"], rtol=1e-12)
    assert any(md("ref.csv") in c.value for c in at.caption)          # the file name, escaped for Markdown


def test_risk_factor_page_economic_regions_population_weighted():
    from analytics import demo
    at = _page("pages/risk_factors.py")
    at.radio(key="p_rf_level").set_value(S.PARENT).run()
    assert not at.exception and _qp(at, "rf_level") == S.PARENT
    factor = _qp(at, "rf_factor")
    fac_tab = at.dataframe[0].value.set_index(S.REGION)
    rf = demo.load_demo_risk_factors()
    rf = rf[rf[S.INDICATOR] == factor]
    if S.YEAR in rf.columns and rf[S.YEAR].notna().any():
        rf = rf[rf[S.YEAR] == rf.groupby(S.REGION)[S.YEAR].transform("max")]
    regions = demo.load_demo_regions().set_index(S.REGION)[S.PARENT]
    pop = demo.load_demo().population.groupby(S.REGION)[S.POPULATION].sum()
    d = rf.assign(p=rf[S.REGION].map(regions), w=rf[S.REGION].map(pop))
    want = (d["w"] * d[S.VALUE]).groupby(d["p"]).sum() / d.groupby("p")["w"].sum()
    np.testing.assert_allclose(fac_tab[factor].reindex(want.index), want, rtol=1e-9)
    assert len(fac_tab) == regions.nunique()
    sir_tab = at.dataframe[1].value
    assert sir_tab["cases"].sum() == pytest.approx(sir_tab["expected"].sum())


def test_profile_of_an_economic_region_lists_its_risk_factors():
    """At economic-region level the profile shows the risk factors aggregated from the districts
    (population-weighted means), e.g. the national range spans the economic regions only."""
    from analytics import demo, spatial
    at = _page("pages/maps.py")
    at.radio(key="p_map_level").set_value(S.PARENT).run()
    at.radio(key="p_map_panel").set_value("profile").run()
    assert not at.exception
    prof = at.dataframe[1].value
    region = _qp(at, "map_region")
    agg = spatial.aggregate_risk_factors(demo.load_demo_risk_factors(), demo.load_demo_regions(), demo.load_demo().population)
    ind = agg[S.INDICATOR].iloc[0]
    from analytics.labels import risk_factor_label

    row = prof[prof["indicator"] == risk_factor_label(ind, "en")].iloc[0]   # named in words, with its unit
    vals = agg[agg[S.INDICATOR] == ind].set_index(S.PARENT)[S.VALUE]
    assert row["value"] == pytest.approx(vals[region])
    assert row["max"] == pytest.approx(vals.max()) and row["min"] == pytest.approx(vals.min())


def test_risk_factor_page_fits_negative_binomial_when_overdispersed_and_says_why():
    """Issue 9: the page fitted Poisson by default although it reported strong overdispersion
    itself (chi2/df 7.76), and printed "p = 0.000"."""
    at = _page("pages/risk_factors.py")
    assert _qp_or(at, "rf_family", "auto") == "auto"
    info = " ".join(i.value for i in at.info)
    assert "Negative binomial" in info and "Cameron–Trivedi test" in info and "overdispersed" in info
    coef = at.dataframe[-1].value
    # on screen the model is named in words (the download keeps the code "negbin")
    assert set(coef["model"]) == {t("models.family.negbin", "en")} and set(coef["model_reason"]) == {"overdispersed"}
    # on screen the p-value reads "< 0.001" (the download keeps the number)
    assert set(coef["model_test_p"]) == {"< 0.001"} and coef["converged"].all()
    texts = [e.value for kind in ("markdown", "caption", "info", "warning") for e in at.get(kind)
             if isinstance(getattr(e, "value", None), str)]
    assert not any("p = 0.000" in s or "p = 0,000" in s for s in texts)
    at.radio(key="p_rf_family").set_value("poisson").run()
    assert not at.exception
    assert set(at.dataframe[-1].value["model"]) == {t("models.family.poisson", "en")}
    assert any("chosen on this page" in i.value for i in at.info)


def _qp_or(at, key, default):
    try:
        return _qp(at, key)
    except KeyError:
        return default


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_maps_moran_p_value_prints_with_the_p_value_policy(monkeypatch, lang):
    """Issue 9: p-values print "p < 0.001" below 0.001, never "p = 0.000". The Maps page printed
    Moran's I p-value with three fixed decimals; a p-value of 0.0004 (e.g. 9,999 permutations)
    read "p = 0.000". The page's own clusters, with only the p-value replaced."""
    import dataclasses

    from analytics.i18n import format_number
    from app_support import cache

    real = cache.clusters

    def small_p(*args, **kwargs):
        moran_res, lisa = real(*args, **kwargs)
        return dataclasses.replace(moran_res, p_value=0.0004), lisa

    monkeypatch.setattr(cache, "clusters", small_p)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/maps.py").run()
    assert not at.exception, at.exception
    line = next(c.value for c in at.caption if t("maps.moran_line", lang, i="", p="", n="")[:20] in c.value)
    assert f"p < {format_number(0.001, lang, 3)}" in line, line
    assert "p = 0" not in line and "= 0.000" not in line and "= 0,000" not in line, line


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_risk_factor_page_reports_a_fit_that_did_not_converge_in_words(monkeypatch, request, lang):
    """Issue 9: non-converged fits are reported on the page (and in the chart's description),
    in the page's language; the English fitting messages stay in the download."""
    from analytics import glm
    from app_support import cache
    from test_i18n_russian import offending

    monkeypatch.setattr(glm, "MAX_IRLS", 1)      # no IRLS fit can converge in one step
    # the process keeps fits made (cache.ecological_fit): fitted again under the patch, and not
    # kept for the tests after this one
    cache.ecological_fit.clear()
    request.addfinalizer(cache.ecological_fit.clear)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/risk_factors.py").run()
    assert not at.exception, at.exception
    coef = at.dataframe[-1].value
    assert not coef["converged"].any()
    family = {t(f"models.family.{k}", lang): k for k in ("poisson", "quasipoisson", "negbin")}[coef["model"].iloc[0]]
    expected = t("describe.fit_not_converged", lang, model=t(f"models.family.{family}", lang))
    assert expected in [w.value for w in at.warning]
    assert any(expected in c.value for c in at.caption)          # the chart's description says it too
    assert set(coef["warnings"]) == {t("describe.fit_problem", lang)}
    if lang == "ru":
        assert not [w for x in at.warning for w in offending("warning", x.value)]
        assert not [w for x in coef["warnings"] for w in offending("table cell", x)]

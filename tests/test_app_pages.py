"""AppTest: every page renders on the demo, its widgets exist, and the numbers it shows are the
ones analytics computes for the same selection, aggregated here independently of app_support."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from analytics import rates
from analytics import schema as S
from analytics.errors import IngestError
from analytics.i18n import format_number, sex_label, site_label, t
from app_support.text import md
from conftest import app, metric

PAGES = ["overview", "incidence", "quality", "data", "methods"]
SIDEBAR_KEYS = ["f_lang", "f_period", "f_sex", "f_scheme", "f_site", "f_er", "f_district", "f_ages",
                "f_std", "f_ci", "f_conf", "f_public", "f_theme"]


def expected_dsr(demo, *, years, sexes, site_col=None, site=None, by=None, standard="world_segi1960"):
    """Cases and person-years aggregated with plain pandas, then analytics.rates.dsr. Cases of
    unknown age go in as rows without an age group (counted, left out of the ASR)."""
    r = demo.records
    # sexes=None: both sexes, which counts cases of unknown or missing sex too
    r = r[r[S.INCLUDED] & r[S.YEAR].between(*years)]
    if sexes is not None:
        r = r[r[S.SEX].isin(sexes)]
    if site is not None:
        r = r[r[site_col] == site]
    keys = ([by] if by else []) + [S.AGE_GROUP]
    cases = r[r[S.AGE_GROUP].notna()].groupby(keys, observed=True).size().rename("count")
    p = demo.population
    p = p[p[S.YEAR].between(*years) & p[S.SEX].isin(sexes or [1, 2])]
    pop = p.groupby(keys, observed=True)[S.POPULATION].sum()
    data = pop.to_frame().join(cases, how="left").fillna({"count": 0}).reset_index()
    unknown = r[r[S.AGE_GROUP].isna()]
    if len(unknown):
        u = unknown.groupby([by], observed=True).size().rename("count").reset_index() if by else \
            pd.DataFrame({"count": [len(unknown)]})
        data = pd.concat([data, u.assign(**{S.AGE_GROUP: None, S.POPULATION: np.nan})], ignore_index=True)
    return rates.dsr(data, standard=standard, by=[by] if by else None, method="tiwari", conf=0.95)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_shared_sidebar(page):
    at = app(page)
    assert at.title[0].value == t(f"app.page.{page}", "en")
    for key in SIDEBAR_KEYS:
        assert any(getattr(w, "key", None) == key for w in _widgets(at)), key
    # the whole view is in the URL
    qp = dict(at.query_params)
    for param in ("y0", "y1", "sex", "scheme", "site", "er", "district", "a0", "a1", "std", "ci", "conf",
                  "public", "lang", "theme"):
        assert param in qp, param


def _widgets(at):
    for kind in ("selectbox", "radio", "slider", "select_slider"):
        yield from getattr(at, kind)


def test_overview_numbers_follow_url_filters(demo):
    at = app("overview", y0=2015, y1=2019, sex="female")
    exp = expected_dsr(demo, years=(2015, 2019), sexes=[2]).iloc[0]
    assert metric(at, "app.metric.asr") == format_number(exp["value"], "en", 1)
    assert metric(at, "app.metric.crude") == format_number(exp["crude_rate"], "en", 1)
    assert metric(at, "app.metric.cases_per_year") == format_number(exp["count"] / 5, "en", 0)
    assert exp["unknown_age"] > 0          # the demo has cases of unknown age: they are counted
    # issue 9: the cumulative-risk tile had two decimals ("0.19 %") beside one in the sentence
    tile = metric(at, "app.metric.cumrisk")
    assert tile.endswith(" %") and len(tile[:-2].split(".")[1]) == 1
    assert any(f"{tile[:-2]}%" in m.value for m in at.markdown)


def test_overview_sex_widget_changes_numbers(demo):
    at = app("overview", y0=2020, y1=2024)
    both = metric(at, "app.metric.asr")
    at.sidebar.radio(key="f_sex").set_value("male").run()
    assert not at.exception
    exp = expected_dsr(demo, years=(2020, 2024), sexes=[1]).iloc[0]
    assert metric(at, "app.metric.asr") == format_number(exp["value"], "en", 1) != both
    assert at.query_params["sex"] == "male"
    # the figures drawn: 4 charts, each a plotly spec with data
    assert len(at.get("plotly_chart")) == 4


def test_overview_standard_and_period_widgets(demo):
    at = app("overview")
    at.sidebar.selectbox(key="f_std").select("europe_1976").run()
    at.sidebar.slider(key="f_period").set_value((2011, 2013)).run()
    assert not at.exception
    exp = expected_dsr(demo, years=(2011, 2013), sexes=None, standard="europe_1976").iloc[0]
    assert metric(at, "app.metric.asr") == format_number(exp["value"], "en", 1)
    assert (at.query_params["std"], at.query_params["y0"], at.query_params["y1"]) == ("europe_1976", "2011", "2013")


def test_incidence_ci5_table_and_regions(demo):
    at = app("incidence", y0=2018, y1=2022, scheme="ci5", site="Stomach")
    # on screen: codes in words (sex "Men"), analytics column names underneath
    men = next(d.value for d in at.dataframe if "cum_risk_0_74" in d.value.columns
               and (d.value["sex"] == sex_label(1, "en")).all())
    exp = expected_dsr(demo, years=(2018, 2022), sexes=[1], site_col=S.SITE_CI5, site="Stomach").iloc[0]
    r = demo.records
    all_cases = int((r[S.INCLUDED] & r[S.YEAR].between(2018, 2022) & (r[S.SEX] == 1)
                     & (r[S.SITE_CI5] == "Stomach")).sum())
    row = men[men["site"] == site_label("Stomach", "en")].iloc[0]
    assert row["all_ages"] == all_cases == exp["count"]
    # CI5 / CanReg5 convention: cases of unknown age redistributed (ASR x all / known age)
    assert row["asr"] == pytest.approx(exp["value"] * all_cases / (all_cases - exp["unknown_age"]), abs=0.006)
    # regions compared: economic regions, ASR of stomach cancer, both sexes
    regions = next(d.value for d in at.dataframe if "region_name" in d.value.columns)
    parent = pd.Series(dict(zip(*_region_parent(demo))))
    rec = demo.records.assign(**{S.PARENT: demo.records[S.REGION].map(parent)})
    pop = demo.population.assign(**{S.PARENT: demo.population[S.REGION].map(parent)})
    d2 = type(demo)(**{**demo.__dict__, "records": rec, "population": pop})
    exp_r = expected_dsr(d2, years=(2018, 2022), sexes=None, site_col=S.SITE_CI5, site="Stomach",
                         by=S.PARENT).set_index(S.PARENT)
    got = regions.set_index(S.PARENT)["value"]
    assert np.allclose(got.sort_index(), exp_r["value"].reindex(got.index).sort_index())


def _region_parent(demo):
    from analytics import demo as demo_mod

    g = demo_mod.load_demo_regions()
    return g[S.REGION].astype(str), g[S.PARENT].astype(str)


def test_incidence_log_toggle_in_url():
    at = app("incidence")
    at.toggle(key="p_inc_log").set_value(True).run()
    assert not at.exception and at.query_params["inc_log"] == "1"
    import json

    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(s["layout"].get("yaxis", {}).get("type") == "log" for s in specs)


def test_quality_by_year_matches_indicator_definition(demo):
    at = app("quality", q_by="year", y0=2020, y1=2024)
    table = next(d.value for d in at.dataframe if "mv_pct" in d.value.columns)
    r = demo.records[demo.records[S.INCLUDED] & demo.records[S.YEAR].between(2020, 2024)]
    mv = r.groupby(S.YEAR)[S.BASIS].apply(lambda b: 100 * b.isin(S.MV_BASIS).mean())
    assert np.allclose(table.set_index(S.YEAR)["mv_pct"].astype(float).sort_index(), mv.sort_index().to_numpy())
    dco = r.groupby(S.YEAR)[S.BASIS].apply(lambda b: 100 * (b == 0).mean())
    assert np.allclose(table.set_index(S.YEAR)["dco_pct"].astype(float).sort_index(), dco.sort_index().to_numpy())


def test_methods_shows_segi_weights_and_provenance(demo):
    at = app("methods")
    std = next(d.value for d in at.dataframe if "world_segi1960" in d.value.columns)
    segi = std.set_index("age_group")["world_segi1960"]
    # Segi (1960) / Doll et al. (1966) world standard, per 100,000
    assert segi["0-4"] == 12000 and segi["85+"] == 500 and segi.sum() == 100000
    prov = next(d.value for d in at.dataframe if "item" in d.value.columns)
    assert format_number(demo.n_read, "en", 0) in prov["value"].tolist()


def test_data_page_malformed_upload_shows_ingest_message_and_app_stays_usable():
    bad = b"name;colour\nanna;blue\n"
    try:
        from analytics.pipeline import load_registry

        load_registry(bad, name="bad.csv")
        pytest.fail("the ingest accepted a file without tumour columns")
    except IngestError as err:
        message = str(err)
    at = app("data")
    at.file_uploader(key="up_extract").set_value(("bad.csv", bad, "text/csv")).run()
    at.button(key="data_load").click().run()
    assert not at.exception
    assert md(message) in [e.value for e in at.error]          # the sentence, escaped for Markdown
    at.switch_page("pages/overview.py").run()
    assert not at.exception and len(at.metric) == 4


def test_language_in_url_translates_labels():
    at = app("overview", lang="ru")
    assert at.title[0].value == t("app.page.overview", "ru")
    assert at.sidebar.radio(key="f_sex").label == t("app.filter.sex", "ru")


def test_data_page_upload_switches_the_app_to_the_upload(demo):
    from analytics.pipeline import load_registry

    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2020, 2024)].head(400)
    cols = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.AGE, S.TOPOGRAPHY, S.MORPHOLOGY,
            S.BEHAVIOUR, S.BASIS, S.REGION, S.VITAL_STATUS]
    extract = r[cols].assign(name="Anna Example")   # a direct identifier the ingest must drop
    extract_csv = extract.to_csv(index=False, date_format="%Y-%m-%d").encode()
    p = demo.population
    pop_csv = p[p[S.YEAR].between(2020, 2024)][[S.YEAR, S.REGION, S.SEX, S.AGE_GROUP, S.POPULATION]] \
        .to_csv(index=False).encode()
    at = app("data")
    at.file_uploader(key="up_extract").set_value(("extract.csv", extract_csv, "text/csv"))
    at.file_uploader(key="up_pop").set_value(("population.csv", pop_csv, "text/csv")).run()
    at.button(key="data_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="data_source").value == "upload"
    # what the ingest itself makes of the same bytes
    from analytics.auxiliary import read_population

    reg = load_registry(extract_csv, population=read_population(pop_csv, name="population.csv"), name="extract.csv")
    assert metric(at, "app.data.n_read") == format_number(reg.n_read, "en", 0) == "400"
    assert any("name" in w.value for w in at.warning)       # identifier column named, dropped
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    used = reg.records[reg.records[S.INCLUDED] & reg.records[S.YEAR].between(2020, 2024)]
    assert metric(at, "app.metric.cases_per_year") == format_number(len(used) / 5, "en", 0)


def test_public_output_suppresses_small_counts(demo):
    """Public output publishes perturbed counts (analytics.disclosure): a count shown is 0 or at
    least 10 and lies within the noise bound of the truth; smaller published counts read "<10"
    and their rates are blank."""
    district = demo.records[S.REGION].value_counts().index[-1]     # the smallest district
    at = app("overview", y0=2024, y1=2024, district=district, public=1)
    top = next(d.value for d in at.dataframe if {"sex", "site", "value"} <= set(d.value.columns))
    small = demo.records[demo.records[S.INCLUDED] & (demo.records[S.YEAR] == 2024)
                         & (demo.records[S.REGION] == district) & demo.records[S.SEX].isin([1, 2])]
    n = small.groupby([S.SEX, S.SITE_CI5], observed=True).size()
    rare = n[(n > 0) & (n < 10)]
    assert len(rare) > 0
    shown = top.set_index(["sex", "site"])
    withheld = 0
    for (sex, site), true in rare.items():
        key = (sex_label(sex, "en"), site_label(site, "en"))
        if key not in shown.index:    # published as 0 (a site with no published case is not listed)
            withheld += 1
            continue
        row = shown.loc[key]
        if row["count"] == "<10":
            withheld += 1
            assert pd.isna(row["value"])
        elif float(row["count"]) == 0:   # a small count may be published as 0 (zeros are shown)
            withheld += 1
        else:                     # a small true count published as 10 or more: within the bound
            assert 10 <= float(row["count"]) <= true + 4 and pd.notna(row["value"])
    assert withheld >= len(rare) // 2
    counts = pd.to_numeric(top["count"], errors="coerce").dropna()
    assert not ((counts > 0) & (counts < 10)).any()


def test_add_to_presentation_collects_charts():
    at = app("overview")
    at.button(key="deck_overview_top10").click().run()
    at.button(key="deck_overview_pyramid").click().run()
    assert not at.exception
    assert any(c.value == t("app.deck.count", "en", n=2) for c in at.sidebar.caption)
    assert at.sidebar.get("download_button")


def test_data_page_mapping_file_maps_unusual_headers(demo):
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2020, 2024)].head(200)
    odd = {S.TUMOUR_ID: "k1", S.PATIENT_ID: "k2", S.SEX: "k3", S.BIRTH_DATE: "k4", S.INCIDENCE_DATE: "k5",
           S.TOPOGRAPHY: "k6", S.MORPHOLOGY: "k7", S.BEHAVIOUR: "k8", S.BASIS: "k9", S.REGION: "k10"}
    csv = r[list(odd)].rename(columns=odd).to_csv(index=False, date_format="%Y-%m-%d").encode()
    yaml_text = "columns:\n" + "".join(f"  {v}: {k}\n" for k, v in odd.items())
    at = app("data")
    at.file_uploader(key="up_mapping").set_value(("map.yaml", yaml_text.encode(), "application/x-yaml"))
    at.file_uploader(key="up_extract").set_value(("odd.csv", csv, "text/csv")).run()
    at.button(key="data_load").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    # no population given: the demo stays on screen, the upload's report is shown with a warning
    assert at.radio(key="data_source").options == [t("app.data.use_demo", "en")]
    assert t("app.data.no_population", "en") in [w.value for w in at.warning]
    assert metric(at, "app.data.n_read") == "200"
    # a broken mapping file gives the ingest's sentence, naming the file
    at.file_uploader(key="up_mapping").set_value(("bad.yaml", b"columns: [k1, k2\n", "application/x-yaml")).run()
    assert any(md("bad.yaml") in e.value and "YAML" in e.value for e in at.error)


def test_public_output_blanks_small_age_cells_of_the_ci5_table():
    at = app("incidence", y0=2024, y1=2024, public=1, inc_ci5_sex=1)
    table = next(d.value for d in at.dataframe if "cum_risk_0_74" in d.value.columns)
    cells = table[[c for c in S.AGE_GROUPS if c in table.columns]].astype(str).to_numpy()
    shown = pd.to_numeric(pd.Series(cells.ravel()), errors="coerce")
    assert (cells == "<10").any() and not ((shown > 0) & (shown < 10)).any()
    assert set(cells.ravel()[shown.isna().to_numpy()]) == {"<10"}


def test_data_page_maps_codes_of_coded_columns(demo):
    """Sex written K/Q (kişi/qadın): the code table shows each value with its registry code
    (from the mapping file) and the load uses it: the men and women counted are the file's."""
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2020, 2024) & r[S.SEX].isin([1, 2])].head(300)
    cols = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.TOPOGRAPHY, S.MORPHOLOGY,
            S.BEHAVIOUR, S.BASIS, S.REGION]
    extract = r[cols].assign(**{S.SEX: r[S.SEX].map({1: "K", 2: "Q"})})
    csv = extract.to_csv(index=False, date_format="%Y-%m-%d").encode()
    at = app("data")
    at.file_uploader(key="up_mapping").set_value(("codes.yaml", b"codes:\n  sex: {K: 1, Q: 2}\n", "application/x-yaml"))
    at.file_uploader(key="up_extract").set_value(("k_q.csv", csv, "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    codes = next(d.value for d in at.dataframe if d.key == "code_editor")
    got = dict(zip(codes.loc[codes["column"] == S.SEX, "value"], codes.loc[codes["column"] == S.SEX, "code"]))
    assert got == {"K": "1", "Q": "2"}
    at.button(key="data_load").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    up = at.session_state["_upload"].registry.records
    assert sorted(up[S.SEX].value_counts().items()) == sorted(r[S.SEX].value_counts().items())


def test_uploads_are_written_only_to_the_operators_data_folder(demo, tmp_path, monkeypatch):
    """Issue 11: kept uploads go into a unique folder each (two loads in the same second never
    overwrite each other), written atomically, without identifier columns; raw files only when
    the operator opts in, and then the page says so."""
    import json

    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2020, 2024)].head(100)
    cols = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.TOPOGRAPHY, S.MORPHOLOGY,
            S.BEHAVIOUR, S.BASIS, S.REGION]
    csv = r[cols].assign(Surname="Məmmədova", phone="+994 50 123 45 67").to_csv(
        index=False, date_format="%Y-%m-%d").encode()
    monkeypatch.delenv("REGISTRY_DATA_DIR", raising=False)
    monkeypatch.delenv("REGISTRY_KEEP_RAW", raising=False)
    at = app("data")
    at.file_uploader(key="up_extract").set_value(("small.csv", csv, "text/csv")).run()
    at.button(key="data_load").click().run()
    assert not at.exception and at.session_state["_kept_in"] is None
    folder = tmp_path / "kept"
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(folder))
    at = app("data")
    assert md(str(folder)) in at.caption[0].value
    at.file_uploader(key="up_extract").set_value(("small.csv", csv, "text/csv")).run()
    at.button(key="data_load").click().run()
    at.button(key="data_load").click().run()                      # the same upload again, same second
    assert not at.exception
    kept = sorted(folder.glob("upload_*"))
    assert len(kept) == 2 and not list(folder.glob(".incoming_*"))
    for k in kept:
        rec = pd.read_parquet(k / "records.parquet")
        assert len(rec) == 100 and not {"Surname", "phone"} & set(rec.columns)
        text = b"".join(p.read_bytes() for p in k.rglob("*") if p.is_file())
        assert "Məmmədova".encode() not in text and b"123 45 67" not in text
        manifest = json.loads((k / "manifest.json").read_text())
        assert manifest["files"]["extract"]["sha256"] == hashlib.sha256(csv).hexdigest()
        assert manifest["raw_files_kept"] is False and not (k / "raw").exists()
    monkeypatch.setenv("REGISTRY_KEEP_RAW", "1")
    at = app("data")
    assert any(md(str(folder)) in w.value for w in at.warning)    # the page says raw files are kept
    at.file_uploader(key="up_extract").set_value(("small.csv", csv, "text/csv")).run()
    at.button(key="data_load").click().run()
    raw = list(folder.glob("upload_*/raw/extract_small.csv"))
    assert len(raw) == 1 and raw[0].read_bytes() == csv


def test_overview_table_blanks_sex_specific_sites_for_the_other_sex():
    """Issue 9: prostate was drawn and tabulated as 0.0 for women. The top-10 table shows no rate
    there, with the reason, while the count (0) stays; breast in men keeps its own value."""
    at = app("overview", y0=2015, y1=2024)
    tab = next(d.value for d in at.dataframe if {"site", "sex", "value", "flag"} <= set(d.value.columns)
               and d.value["site"].astype(str).str.contains("Prostate").any())
    women = tab[(tab["site"] == "Prostate") & (tab["sex"] == t("common.female", "en"))]
    assert len(women) == 1 and np.isnan(women["value"].iloc[0]) and women["count"].iloc[0] == 0
    assert "other sex" in women["flag"].iloc[0]
    men_breast = tab[(tab["site"] == "Breast") & (tab["sex"] == t("common.male", "en"))]
    assert len(men_breast) == 1 and np.isfinite(men_breast["value"].iloc[0])


def test_a_chart_the_sex_filter_does_not_change_stays_the_same_element():
    """The men/women chart and the pyramid draw both sexes whatever the sex filter: when it
    changes, their caption says the filter is not applied, and the figure the browser gets is the
    same (Streamlit's element identity is the figure's JSON, so the browser does not draw them
    again); the description stays with the downloads. The cases per year do change."""
    def charts(at):
        return {el.proto.id.split("-chart_", 1)[1]: el.proto for el in at.get("plotly_chart")}

    def captions(at):
        return [c.value for c in at.caption]

    both, women = app("overview", sex="both"), app("overview", sex="female")
    a, b = charts(both), charts(women)
    assert set(a) == {"overview_top10", "overview_per_year", "overview_case_mix", "overview_pyramid"}
    for name in ("overview_top10", "overview_pyramid"):
        assert a[name].id == b[name].id and a[name].spec == b[name].spec, name
        assert "meta" not in json.loads(a[name].spec)["layout"], name
    assert a["overview_per_year"].id != b["overview_per_year"].id
    note = t("describe.ignored.sex", "en", asked="{asked}", shown="{shown}").split("{asked}")[0]   # "The sex filter ("
    assert any(note in c for c in captions(women)) and not any(note in c for c in captions(both)), note


def _navigation_pages_script():
    import streamlit as st

    from app_support import navigation

    first, again, other = navigation.pages("en"), navigation.pages("en"), navigation.pages("az")
    st.session_state["out"] = {"same": first is again, "remade": other is not first,
                               "titles": [p.title for p in first], "other_titles": [p.title for p in other],
                               "paths": [p.url_path for p in first],
                               "held": st.session_state[navigation.SESSION_PAGES][1] is other}


def test_navigation_pages_are_made_once_per_session_and_language():
    """``st.Page`` resolves its file's path (system calls: waits for the GIL with many sessions at
    once), so a session keeps its page objects between reruns and makes them again only for
    another language (or another set of pages allowed); the pages are those whose file exists,
    in the navigation's order, titled in the language."""
    from streamlit.testing.v1 import AppTest

    from app_support import navigation

    at = AppTest.from_function(_navigation_pages_script, default_timeout=60).run()
    out = at.session_state["out"]
    assert out["same"] and out["remade"] and out["held"]
    stems = [stem for stem, _ in navigation.PAGES if (navigation.ROOT / "pages" / f"{stem}.py").exists()]
    assert out["paths"] == [""] + stems[1:]                  # the default page answers at the bare address
    assert [s for _, s, _ in navigation.present()] == stems
    assert out["titles"] == [t(f"app.page.{s}", "en") for s in stems]
    assert out["other_titles"] == [t(f"app.page.{s}", "az") for s in stems] != out["titles"]

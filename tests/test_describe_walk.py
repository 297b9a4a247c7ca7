"""Every page in every language on a sample of filter combinations (hypothesis, derandomized):
no exception; every headline equals what analytics computes from the records directly; every
chart's title, caption and description agree with the table drawn beside it and with the
sidebar, except for filters the description itself says the view does not apply; and every
chart's downloads (image footer, Excel metadata sheet) say what that description says, with a
standard population and a CI method only where the measure uses them. The downloads' metadata is
recorded as the page hands it to ``widgets.chart_with_table`` (no extra rerun per chart). In
Azerbaijani and Russian no word of the English catalogue that the language's own catalogue does
not use appears anywhere on a page (Azerbaijani is written in Latin script, so the Russian test's
Latin check cannot see English there).

Kept within a few minutes: two walks per language (the acceptance example; the first generated
example, mortality), the demo's caches shared. The Overview's headline is computed here for
incidence (the mortality headline is checked in tests/test_mortality_app.py)."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from analytics import presets, rates
from analytics import schema as S
from analytics.i18n import I18N_DIR, format_number, sex_label, standard_label, t
from ui_text import page_texts

APP = str(Path(__file__).resolve().parents[1] / "app.py")
from app_support.navigation import PAGES as NAV   # every page the navigation lists

PAGES = [stem for stem, _ in NAV if (Path(APP).parent / "pages" / f"{stem}.py").exists()]
AGE_STARTS = [int(a.split("-")[0].rstrip("+")) for a in S.AGE_GROUPS]
SCHEME_COLUMN = {"ci5": S.SITE_CI5, "globocan": S.SITE_GLOBOCAN}


@pytest.fixture(scope="module")
def parents():
    from analytics import demo as demo_mod

    g = demo_mod.load_demo_regions()
    return dict(zip(g[S.REGION].astype(str), g[S.PARENT].astype(str)))


# Hypothesis's first generated example is the simplest one: the first value of every list. It is
# the one a one-example run gets, so the first values make a walk unlike the acceptance example:
# mortality, men, all sites but C44 of the GLOBOCAN list, Aran, ages 40-64, 2016-2022, WHO
# standard, Fay-Feuer intervals.
FILTERS = st.fixed_dictionaries({
    "y0": st.sampled_from([2016, *range(2010, 2016), *range(2017, 2025)]), "span": st.sampled_from([6, 0, 1, 3]),
    "sex": st.sampled_from(["male", "female", "both"]),
    "scheme": st.sampled_from(["globocan", "ci5"]),
    "site": st.sampled_from(["all_but_c44", "all", "Stomach", "Breast", "Prostate"]),
    "er": st.sampled_from(["ARN", "all", "ABS", "NAX"]),
    "a0": st.sampled_from([40, 0, 15]), "a1": st.sampled_from([60, 85]),
    "std": st.sampled_from(["world_who2000", "world_segi1960", "europe_2013"]),
    "ci": st.sampled_from(["fay_feuer", "tiwari", "dobson", "normal"]),
    "measure": st.sampled_from(["mortality", "incidence"]),
})


# --- the numbers, computed here from the records ------------------------------------------------
def direct_input(demo, parents, q: dict) -> pd.DataFrame:
    """Cases and person-years by age group of the selection (pandas only); cases of unknown age
    as a row without population, kept only when every age group is selected."""
    y0, y1 = q["y0"], q["y1"]
    codes = {"both": [1, 2, 9], "male": [1], "female": [2]}[q["sex"]]
    r = demo.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(y0, y1) & r[S.SEX].fillna(9).isin(codes)]
    p = demo.population
    p = p[p[S.YEAR].between(y0, y1) & p[S.SEX].isin(codes)]
    if q["er"] != "all":
        keep = [c for c, par in parents.items() if par == q["er"]]
        r, p = r[r[S.REGION].astype(str).isin(keep)], p[p[S.REGION].astype(str).isin(keep)]
    if q["site"] == "all_but_c44":
        r = r[~r[S.ICD10].astype(str).str.startswith("C44")]
    elif q["site"] != "all":
        r = r[r[SCHEME_COLUMN[q["scheme"]]] == q["site"]]
    ages = [a for a, s in zip(S.AGE_GROUPS, AGE_STARTS) if q["a0"] <= s <= q["a1"]]
    cases = r[r[S.AGE_GROUP].isin(ages)].groupby(S.AGE_GROUP, observed=True).size().rename("count")
    pop = p[p[S.AGE_GROUP].isin(ages)].groupby(S.AGE_GROUP, observed=True)[S.POPULATION].sum()
    data = pop.to_frame().join(cases).fillna({"count": 0}).reset_index()
    unknown = int(r[S.AGE_GROUP].isna().sum())
    if unknown and len(ages) == len(S.AGE_GROUPS):
        data = pd.concat([data, pd.DataFrame({S.AGE_GROUP: [None], "count": [unknown], S.POPULATION: [np.nan]})])
    return data


def expected_overview(demo, parents, q: dict, lang: str) -> dict[str, str]:
    data = direct_input(demo, parents, q)
    n_years = q["y1"] - q["y0"] + 1
    if not data["count"].sum() > 0:
        return {}
    d = rates.dsr(data, standard=q["std"], method=q["ci"], conf=0.95).iloc[0]
    known = data[data[S.AGE_GROUP].notna()]
    method = q["ci"] if q["ci"] in ("tiwari", "fay_feuer") else "tiwari"
    cum = rates.cumulative_risk(known, age=S.AGE_GROUP, method=method, conf=0.95)["cum_risk"].iloc[0]
    return {"app.metric.cases_per_year": format_number(d["count"] / n_years, lang, 0),
            "app.metric.crude": format_number(d["crude_rate"], lang, 1),
            "app.metric.asr": format_number(d["value"], lang, 1),
            # the decimals of the one number policy (analytics.presets), as the sentence below it
            "app.metric.cumrisk": presets.fmt(cum, "percent", lang) + " %"}


# --- no English in az and ru ---------------------------------------------------------------------
WORD = re.compile(r"[A-Za-z0-9_À-ʯ'’]+")
PATH = re.compile(r"\S*[A-Za-z0-9]/[A-Za-z0-9]\S*|\S+\.[a-z]{2,}\b")     # a file name or path


@functools.cache
def catalogue_words(lang: str) -> frozenset[str]:
    words = set()
    for path in (I18N_DIR / lang).glob("*.json"):
        for v in json.loads(path.read_text("utf-8")).values():
            if isinstance(v, str):
                words |= {w.lower() for w in WORD.findall(re.sub(r"\{[^}]*\}", " ", v))}
    return frozenset(words)


def english_in(text: str, lang: str) -> list[str]:
    """Words of the English catalogue (4+ letters; no code, acronym or file name) that ``lang``'s
    catalogue never uses: a label, name or sentence left in English."""
    english = catalogue_words("en") - catalogue_words(lang)
    return [w for w in WORD.findall(PATH.sub(" ", text))
            if len(w) >= 4 and not any(c.isdigit() or c == "_" for c in w)
            and sum(c.isupper() for c in w) < 2 and w.lower() in english]


def english_words(at: AppTest, lang: str) -> list[str]:
    """:func:`english_in` over everything the page shows."""
    return [f"{where}: {', '.join(bad)} in {text[:80]!r}" for where, text in page_texts(at)
            if (bad := english_in(text, lang))]


def test_the_english_check_itself():
    assert {"Absheron", "Economic"} <= set(english_in("Absheron Economic Region, 2015–2024", "az"))
    assert english_in("Abşeron iqtisadi rayonu · SIR, CI5 · data/demo/tumours.parquet · Tiwari", "az") == []
    assert english_in("Stomach, women", "ru") == ["Stomach", "women"]


# --- the page caption states the full selection ----------------------------------------------
UNCAPTIONED = ("data", "report")      # a page about files, a document with its own period


def check_page_caption(at: AppTest, q: dict, lang: str, where: str) -> None:
    """One caption of the page names the sidebar's whole selection: period, sex, site, region and
    age range, in words of the language (the pieces built here from the query, not by the app)."""
    from analytics.describe import ages_text
    from analytics.i18n import site_label
    from analytics.labels import region_label

    ages = [a for a, s in zip(S.AGE_GROUPS, AGE_STARTS) if q["a0"] <= s <= q["a1"]]
    parts = [f"{q['y0']}\u2013{q['y1']}" if q["y1"] > q["y0"] else str(q["y0"]),
             t({"both": "describe.sex.both", "male": "describe.sex.male", "female": "describe.sex.female"}[q["sex"]],
               lang),
             ages_text(ages, lang),
             region_label(q["er"], lang, level=S.PARENT) if q["er"] != "all" else t("describe.region.all", lang),
             {"all": t("describe.site.all", lang), "all_but_c44": t("describe.site.all_but_c44", lang)}.get(
                 q["site"]) or site_label(q["site"], lang)]
    caps = [c.value for c in at.caption]
    assert any(all(p in c for p in parts) for c in caps), (where, parts, caps[:3])


# --- what the page exports ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def exports():
    """Every chart's download metadata, as ``widgets.chart_with_table`` builds it (recorded)."""
    from app_support import widgets

    seen: list[dict] = []
    real = widgets.chart_with_table

    def recording(fig, table, *, name, f, ds, title, desc=None, **kw):
        out = real(fig, table, name=name, f=f, ds=ds, title=title, desc=desc, **kw)
        d = desc if desc is not None else widgets.describe(f, ds, table, None)
        seen.append({"name": name, "meta": widgets.meta_of(title, d, f, ds)})
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(widgets, "chart_with_table", recording)
        yield seen


def check_exports(record: dict, lang: str, where: str) -> None:
    """The footer of the image downloads and the Excel metadata sheet of one chart name what the
    chart's description names (checked against its table by :func:`check_chart`)."""
    from app_support import widgets

    meta = record["meta"]
    desc = meta["description"]
    footer = widgets.provenance(meta, lang).text(lang)
    sheet = widgets.metadata(meta, lang)
    filters = " · ".join(f"{k}: {v}" for k, v in sheet["filters"].items())
    items = {k: v for k, _, v in desc.items(lang)}
    for key in ("measure", "sex", "site", "region", "ages", "reference"):
        if key in items:
            assert items[key] in footer and items[key] in filters, (where, record["name"], key, footer)
    na = t("describe.not_applicable", lang)
    if desc.spec.uses_period:
        assert desc.period_text() in footer and sheet["period"] == desc.period_text(), (where, record["name"])
    std = standard_label(desc.standard, lang) if desc.standard else ""
    if desc.uses_standard:
        assert std in footer and sheet["standard"] == std, (where, record["name"])
    else:      # a count, an SIR, a proportion: no standard population named
        assert sheet["standard"] == na and (not std or std not in footer), (where, record["name"], footer)
    method = t(f"app.ci.{desc.ci_method}", lang) if desc.ci_method else ""
    if desc.spec.ci != "dsr" and method:       # Tiwari, Fay-Feuer ... belong to a DSR's interval only
        assert method not in footer and method not in sheet["method"], (where, record["name"], footer)
    for note in desc.notes_text(lang):       # filters left aside and the page's notes travel with it
        assert note in footer, (where, record["name"], note)


_PREVALENCE: dict[tuple, float] = {}


def expected_prevalence(demo, parents, q: dict, lang: str) -> dict[str, str]:
    """The Prevalence page's headline (people alive at the end of the period, diagnosed in the
    default 5 years) from the records of the selection, by ``analytics.prevalence`` directly,
    all sexes of the selection together (unknown sex only under "both")."""
    from analytics.prevalence import ALL_SITES as PREV_ALL
    from analytics.prevalence import prevalence

    key = tuple(sorted((k, q[k]) for k in ("y1", "sex", "scheme", "site", "er", "a0", "a1")))
    if key not in _PREVALENCE:
        r, p = demo.records, demo.population
        if q["sex"] != "both":
            code = 1 if q["sex"] == "male" else 2
            r, p = r[r[S.SEX] == code], p[p[S.SEX] == code]
        if q["er"] != "all":
            keep = [c for c, par in parents.items() if par == q["er"]]
            r, p = r[r[S.REGION].astype(str).isin(keep)], p[p[S.REGION].astype(str).isin(keep)]
        ages = [a for a, s in zip(S.AGE_GROUPS, AGE_STARTS) if q["a0"] <= s <= q["a1"]]
        col = SCHEME_COLUMN[q["scheme"]]
        out = prevalence(r, p, index_date=f"{q['y1']}-12-31", by=[col],
                         ages=None if len(ages) == len(S.AGE_GROUPS) else ages)
        site = q["site"] if q["site"] not in ("all", "all_but_c44") else PREV_ALL
        _PREVALENCE[key] = float(out[(out[col] == site) & (out["duration"] == "5")]["count"].sum())
    label = t("trends.prev.metric_count", lang, duration=t("trends.dur.5", lang))
    return {label: format_number(_PREVALENCE[key], lang, 0)} if _PREVALENCE[key] > 0 else {}


# --- what the page shows -------------------------------------------------------------------------
def leaves(node):
    kids = getattr(node, "children", None)
    if kids:
        for k in kids.values():
            yield from leaves(k)
    else:
        yield node


def charts_with_twins(at: AppTest):
    """(chart name, figure spec, caption under it, the table under it) for every chart, in order;
    the name is the one ``widgets.chart_with_table`` keys the chart with (``chart_<name>``)."""
    items = list(leaves(at.main))
    for i, el in enumerate(items):
        if getattr(el, "type", None) != "plotly_chart":
            continue
        name = el.proto.id.split("-chart_", 1)[1]
        spec = json.loads(el.proto.spec)
        caption = next(x.value for x in items[i + 1:] if getattr(x, "type", None) == "caption")
        table = next((x for x in items[i + 1:] if getattr(x, "type", None) == "dataframe"), None)
        yield name, spec, caption, table


def _plain(text: str) -> str:
    """A title as read: tags (plotly's <br>, <b>) and repeated spaces out."""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def check_chart(spec: dict, caption: str, table, q: dict, lang: str, where: str, record: dict) -> None:
    """One chart drawn (its spec, the caption and table under it) against the description its
    downloads carry (``record``, recorded from ``widgets.chart_with_table``)."""
    d = record["meta"]["description"]
    ignored = set(d.as_dict()["ignored"])
    spec_ = d.spec
    assert "meta" not in spec["layout"], where     # the description travels with the downloads, not the drawing
    assert caption == d.caption(lang), where                       # what is on screen is what is exported
    title = spec["layout"].get("title", {}).get("text", "").replace("<br>", " ")
    if record["meta"]["title"]:
        assert _plain(record["meta"]["title"]) in _plain(title), (where, title)   # ... under the title drawn
    # the description agrees with the sidebar, or names the filter it leaves aside
    if spec_.uses_period and tuple(d.scope.years) != (q["y0"], q["y1"]):
        assert "period" in ignored or d.measure == "projection", where
    if spec_.uses_sex and q["sex"] != "both" and set(d.scope.sexes) != {1 if q["sex"] == "male" else 2}:
        assert "sex" in ignored, where
    if q["er"] != "all" and d.scope.area != (S.PARENT, q["er"]):
        assert "region" in ignored, where
    if spec_.uses_site and q["site"] not in ("all", "all_but_c44") and ("site" in d.by or d.scope.site != q["site"]):
        assert "site" in ignored, where
    # the title says when and where, as the description does
    if spec_.uses_period and d.measure not in ("projection", "decomposition", "prevalence", "prevalence_proportion",
                                                "prevalence_asr"):
        assert d.period_text() in title, (where, title)
    if d.scope.area is not None:
        assert d.region_text(lang) in title, (where, title)
    if spec_.uses_sex and "sex" not in d.by and len(set(d.scope.sexes) - {S.UNKNOWN_SEX}) == 1:
        assert d.sex_text(lang) in title.lower(), (where, title)      # one sex drawn: the title says which
    # ... and the description agrees with the table drawn
    if table is None:
        return
    shown = table.value
    if S.YEAR in shown.columns and d.measure not in ("projection",) and len(shown):
        years = pd.to_numeric(shown[S.YEAR], errors="coerce").dropna()
        assert (int(years.min()), int(years.max())) == tuple(d.scope.years), where
    if S.SEX in shown.columns and len(shown):
        labels = {sex_label(s, lang) for s in d.scope.sexes}
        assert set(shown[S.SEX].astype(str)) - {sex_label(0, lang)} <= labels, where


def walk(q: dict, lang: str, demo, parents, exports: list[dict]) -> None:
    q = {**q, "y1": min(2024, q["y0"] + q.pop("span", 0))}
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in {**q, "lang": lang}.items():
        at.query_params[k] = str(v)
    exports.clear()
    at.run()
    for page in PAGES:
        if page != "overview":
            exports.clear()
            at.switch_page(f"pages/{page}.py").run()
        where = f"{page} {lang} {q}"
        assert not at.exception, (where, [e.value for e in at.exception])
        assert at.title[0].value, where
        if lang != "en":
            assert not english_words(at, lang), (where, english_words(at, lang))
        if page not in UNCAPTIONED:
            check_page_caption(at, q, lang, where)
        if page == "overview" and len(at.metric) and q["measure"] == "incidence":
            exp = expected_overview(demo, parents, q, lang)
            got = {m.label: m.value for m in at.metric}
            for key, value in exp.items():
                assert got[t(key, lang)] == value, (where, key)
        if page == "prevalence":        # people alive with the disease: the page must have its headline
            got = {m.label: m.value for m in at.metric}
            for label, value in expected_prevalence(demo, parents, q, lang).items():
                assert got[label] == value, (where, label, got[label], value)
        if page == "data":
            got = {m.label: m.value for m in at.metric}
            assert got[t("app.data.n_read", lang)] == format_number(demo.n_read, lang, 0), where
        recorded = list(exports)
        for name, spec, caption, table in charts_with_twins(at):
            record = next((r for r in recorded if r["name"] == name), None)
            assert record is not None, (where, name, "a chart drawn without chart_with_table's downloads")
            recorded.remove(record)
            check_chart(spec, caption, table, q, lang, where, record)
            check_exports(record, lang, where)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "az", "ru"])
@settings(max_examples=1, derandomize=True, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
          suppress_health_check=list(HealthCheck))
@given(q=FILTERS)
@example(q=dict(y0=2015, span=9, sex="female", scheme="ci5", site="Stomach", er="ABS", a0=0, a1=85,
                std="europe_2013", ci="tiwari", measure="incidence"))
def test_every_page_every_language_says_what_it_shows(q, lang, demo, parents, exports):
    walk(dict(q), lang, demo, parents, exports)

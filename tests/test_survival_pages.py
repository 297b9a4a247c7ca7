"""AppTest of the Survival page on the demo registry, in English, Azerbaijani and Russian.

The numbers shown are checked against an independent computation here: the selection made with
plain pandas, survival times from analytics.survival.registry, estimates from
analytics.survival.net_survival (itself tested against relsurv). Also: the page controls live in the
URL, captions name what is plotted, an uploaded life table changes the dataset token and the
numbers, every dynamic catalogue key exists in every language."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import demo as demo_mod
from analytics import survival
from analytics.i18n import I18N_DIR, format_number, t
from analytics.survival import METHODS, registry

APP = str(Path(__file__).resolve().parents[1] / "app.py")
pytestmark = pytest.mark.filterwarnings("ignore")


def page(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.run()
    at.switch_page("pages/survival.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def qp(at, key):
    v = at.query_params[key]
    return v[0] if isinstance(v, list) else v


@pytest.fixture(scope="module")
def demo():
    return demo_mod.load_demo()


@pytest.fixture(scope="module")
def lifetable():
    return demo_mod.load_demo_lifetable()


def selection(demo, *, y0, y1, sex=None, site=None, approach="period"):
    r = demo.records
    year = r["year"].astype(float)
    m = (year <= y1) if approach == "period" else year.between(y0, y1)
    if sex is not None:
        m &= r["sex"] == sex
    if site is not None:
        m &= r["site_ci5"] == site
    return registry.survival_data(r[m.fillna(False)])


def test_default_view_matches_an_independent_computation(demo, lifetable):
    at = page(y0=2020, y1=2024)
    assert at.title[0].value == "Survival"
    # the page controls are in the URL
    assert (qp(at, "sv_method"), qp(at, "sv_approach"), qp(at, "sv_by"), qp(at, "sv_time")) == \
        ("pohar_perme", "period", "sex", "5")
    data, recon = selection(demo, y0=2020, y1=2024)
    metric = {m.label: m.value for m in at.metric}
    assert metric["Patients analysed"] == format_number(len(data), "en", 0)
    assert metric["Deaths"] == format_number(int(data["status"].sum()), "en", 0)
    assert int(recon.set_index("reason").loc["read", "n"]) == \
        int(recon.set_index("reason").loc["used", "n"]) + int(recon.iloc[1:-1]["n"].sum())
    exp = survival.net_survival(data, lifetable, times=(5,), by=["sex"], approach="period", period=(2020, 2024))
    for sex, word in ((1, "men"), (2, "women")):
        row = exp[exp["sex"] == sex].iloc[0]
        sentence = (f"5-year net survival for {word} with cancer (all sites), estimated from the follow-up in "
                    f"2020\u20132024 (period approach), was {100 * row['estimate']:.0f}% (95% CI "
                    f"{100 * row['lower']:.0f} to {100 * row['upper']:.0f}).")
        assert any(m.value == f"- {sentence}" for m in at.markdown), sentence
    # every curve has its completeness beside it, and the caption says exactly what is plotted
    caps = [c.value for c in at.caption]
    comp = registry.completeness(data.assign(g=data["sex"]), by=["g"],
                                 closing_day=int(np.datetime64(demo.records["last_contact_date"].max().date(), "D")
                                                 .astype(np.int64)))
    men = comp[comp["g"] == 1].iloc[0]
    assert any(f"Men: follow-up completeness (Clark's C) {men['clark_c']:.1f}%, {men['pct_lost']:.1f}% lost" in c
               for c in caps)
    assert any(c.startswith("Shown: Net survival (Pohar Perme), period approach, follow-up in 2020\u20132024; "
                            "site: All sites; sex: Both; region: All; ages at diagnosis 0\u201385+") for c in caps)
    assert len(at.get("plotly_chart")) == 4
    # the ICSS age-standardised curve (ICSS 1 for all sites): its 5-year values and their reading
    std = next(d.value for d in at.dataframe if "standard" in d.value.columns and "std_estimate" not in d.value.columns)
    want = survival.age_standardised(data, lifetable, standard="ICSS1", times=(1, 5), by=["sex"], approach="period",
                                     period=(2020, 2024))
    assert set(std["standard"]) == {"ICSS1"} and np.allclose(np.diff(std[std["sex"] == "Men"]["time"]), 1 / 12, atol=1e-4)
    for sex, word in ((1, "men"), (2, "women")):
        for t_ in (1, 5):
            w = want[(want["sex"] == sex) & (want["time"] == t_)].iloc[0]
            row = std[(std["sex"] == word.capitalize()) & np.isclose(std["time"], t_)].iloc[0]
            assert (row["estimate"], row["lower"], row["upper"]) == pytest.approx(
                (round(w["estimate"], 4), round(w["lower"], 4), round(w["upper"], 4)), abs=1e-12)
        w = want[(want["sex"] == sex) & (want["time"] == 5)].iloc[0]
        assert any(m.value.startswith(f"- 5-year net survival for {word} ") and m.value.endswith(
            f"was {100 * w['estimate']:.0f}% (95% CI {100 * w['lower']:.0f} to {100 * w['upper']:.0f}), "
            "age-standardised (ICSS).") for m in at.markdown)
    # the actuarial life table: the library on the same patients, yearly to 10 years
    act = next(d.value for d in at.dataframe if "n_effective" in d.value.columns)
    lt_ = survival.actuarial(data, width=1, max_years=10, by=["sex"], approach="period", period=(2020, 2024))
    men = act[act["sex"] == "Men"].reset_index(drop=True)
    exp_men = lt_[lt_["sex"] == 1].reset_index(drop=True)
    assert men["end"].tolist() == exp_men["end"].tolist() == list(range(1, 11))
    assert men["deaths"].tolist() == exp_men["deaths"].tolist()
    np.testing.assert_allclose(men["estimate"], exp_men["estimate"].round(4), atol=1e-12)


def test_cohort_approach_site_and_method_from_the_url(demo, lifetable):
    at = page(y0=2012, y1=2016, sex="female", site="Breast", sv_method="ederer2", sv_approach="cohort", sv_by="none",
              sv_time="5", sv_obs="0")
    data, _ = selection(demo, y0=2012, y1=2016, sex=2, site="Breast", approach="cohort")
    exp = survival.net_survival(data, lifetable, times=(5,), method="ederer2", approach="cohort",
                                period=(2012, 2016)).iloc[0]
    sentence = (f"- 5-year relative survival for women with Breast diagnosed in 2012\u20132016 was "
                f"{100 * exp['estimate']:.0f}% (95% CI {100 * exp['lower']:.0f} to {100 * exp['upper']:.0f}).")
    std = survival.age_standardised(data, lifetable, standard="ICSS1", times=(5,), method="ederer2", approach="cohort",
                                    period=(2012, 2016)).iloc[0]
    std_sentence = (f"- 5-year relative survival for women with Breast diagnosed in 2012\u20132016 was "
                    f"{100 * std['estimate']:.0f}% (95% CI {100 * std['lower']:.0f} to {100 * std['upper']:.0f}), "
                    "age-standardised (ICSS).")
    assert [m.value for m in at.markdown if m.value.startswith("- ")] == [sentence, std_sentence]
    curves = next(d.value for d in at.dataframe if "estimate" in d.value.columns and "clark_c" in d.value.columns)
    five = curves[curves["time"] == 5].iloc[0]
    assert five["estimate"] == pytest.approx(round(exp["estimate"], 4))
    assert five["n"] == len(data)
    # the by-site table: the chosen site's crude value equals the same estimator on the same patients
    by_site = next(d.value for d in at.dataframe if "std_estimate" in d.value.columns)
    assert qp(at, "sv_obs") == "0" and qp(at, "sv_approach") == "cohort"
    assert len(by_site) > 10


def test_by_age_group_uses_icss_groups_and_period_grouping_needs_cohort():
    at = page(y0=2015, y1=2019, sv_by="age", sv_approach="complete")
    table = next(d.value for d in at.dataframe if "clark_c" in d.value.columns)
    assert set(table["age"]) >= {"15-44", "45-54", "55-64", "65-74", "75-99"}
    at2 = page(y0=2015, y1=2024, sv_by="period", sv_approach="period")
    assert any(i.value.startswith("In the period approach every curve") for i in at2.info)


@pytest.mark.parametrize("lang", ["az", "ru"])
def test_page_in_every_language(lang):
    at = page(lang=lang, y0=2020, y1=2024)
    assert at.title[0].value == t("app.page.survival", lang)
    shown = [m.label for m in at.metric] + [c.value for c in at.caption] + [m.value for m in at.markdown]
    english = re.compile(r"\b(survival|patients|follow-up|Shown|approach|women|men|years)\b")
    leftovers = [s for s in shown if english.search(s)]
    assert not leftovers, leftovers
    five = {"az": "5 illik xalis sağqalma", "ru": "5-летняя чистая выживаемость"}[lang]
    # men and women, crude and ICSS age-standardised
    readings = [m.value for m in at.markdown if m.value.startswith("- ") and five in m.value]
    assert len(readings) == 4
    assert sum(m.endswith(t("survival.reading.standardised", lang)) for m in readings) == 2
    # the measure's name, capitalised, begins a heading, a sentence or a part of a caption, never
    # comes mid-sentence ("5 illik Xalis sağqalma")
    titled = t("survival.measure.net", lang)
    headings = [h.value for h in at.subheader] + [c.value for c in at.caption]
    assert any(titled in h for h in headings)
    mid = [h for h in headings if re.search(rf"(?<![:?.·])\s{re.escape(titled)}", h) or re.search(rf"\w{re.escape(titled)}", h)]
    assert not mid, mid
    # survival by site: every site of 50 patients or more is drawn, highest first, and the reading
    # names the first and the last bar (it once named a site below the 25 bars drawn)
    bars = next(tr for c in at.get("plotly_chart") for tr in json.loads(c.proto.spec)["data"]
                if tr.get("type") == "bar" and tr.get("orientation") == "h")
    x = plotted(bars["x"])
    table = next(d.value for d in at.dataframe if {"site", "n", "estimate"} <= set(d.value.columns))
    five_years = table[np.isclose(table["time"], 5) & (table["n"] >= 50) & table["estimate"].notna()
                       & (table["site"] != t("app.site.all", lang))]
    assert len(bars["y"]) == len(five_years) > 25
    assert list(x) == sorted(x, reverse=True)
    np.testing.assert_allclose(np.sort(x), np.sort(five_years["estimate"].to_numpy() * 100), atol=5e-3)
    reading = t("survival.site.reading", lang, years=5, measure=t("survival.reading.measure_net", lang),
                high=bars["y"][0], high_v=format_number(x[0], lang, 0),
                low=bars["y"][-1], low_v=format_number(x[-1], lang, 0))
    assert reading in [c.value for c in at.caption]


def plotted(values) -> np.ndarray:
    """A plotly trace's numbers from its JSON, plain or typed (``{"dtype", "bdata"}``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


def test_uploaded_life_table_changes_the_token_and_the_numbers(lifetable):
    from app_support import state

    at = page(y0=2020, y1=2024, sv_by="none")
    before = [m.value for m in at.markdown if m.value.startswith("- ")]
    worse = lifetable.assign(qx=np.minimum(lifetable["qx"] * 2, 0.99))
    raw = worse.to_csv(index=False).encode()
    at.session_state[state.LIFETABLE_KEY] = ("double_mortality.csv", raw, worse)
    at.run()
    assert not at.exception
    after = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert before and after and before != after
    assert any("life table: double_mortality.csv" in c.value for c in at.caption)


def test_with_lifetable_token_includes_the_table(monkeypatch):
    import streamlit as st

    from app_support import state

    ds = state.Dataset("upload:abc", None, pd.DataFrame(), "x", lifetable=pd.DataFrame({"a": [1]}), lifetable_label="own")
    monkeypatch.setattr(st, "session_state", {})
    assert state.with_lifetable(ds) is ds
    st.session_state[state.LIFETABLE_KEY] = ("a.csv", b"one", pd.DataFrame())
    one = state.with_lifetable(ds)
    st.session_state[state.LIFETABLE_KEY] = ("a.csv", b"two", pd.DataFrame())
    two = state.with_lifetable(ds)
    assert one.token != two.token != ds.token and one.token.startswith("upload:")
    st.session_state[state.LIFETABLE_KEY] = ("a.csv", b"one", pd.DataFrame())
    assert state.with_lifetable(ds).token == one.token


def test_every_dynamic_survival_key_is_in_every_language():
    from app_support import cache

    keys = {f"survival.method.{m}" for m in METHODS} | {f"survival.by.{g}" for g in cache.SURVIVAL_GROUPS}
    keys |= {f"survival.approach.{a}" for a in survival.APPROACHES}
    keys |= {f"survival.measure.{m}" for m in ("net", "relative", "observed")}
    keys |= {f"survival.axis.{m}" for m in ("net", "relative", "observed")}
    keys |= {f"survival.reading.measure_{m}" for m in ("net", "relative", "observed")}
    keys |= {f"survival.recon.{r}" for r in ("read", "used") + registry.EXCLUSIONS}
    keys |= {f"survival.methods.{m}{s}" for m in ("km", "actuarial", "ederer2", "pohar_perme", "approaches", "icss",
                                                   "followup") for s in ("", "_text")}
    keys |= {f"survival.col.{c}" for c in ("time", "estimate", "n_risk", "events", "n", "deaths", "n_lost", "pct_lost",
                                           "clark_c", "std_estimate", "std_lower", "std_upper", "standard")}
    for lang in ("en", "az", "ru"):
        cat = json.loads((I18N_DIR / lang / "survival.json").read_text("utf-8"))
        assert not sorted(keys - set(cat)), lang
        assert "app.page.survival" in json.loads((I18N_DIR / lang / "app.json").read_text("utf-8"))

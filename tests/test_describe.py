"""analytics.describe: what a view shows, from the frame drawn; which methods apply to which
measure; the notes on filters a view does not apply; the renderings (caption, footer,
metadata) in every language."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics import schema as S
from analytics.describe import MEASURES, Description, Scope, ages_text, describe
from analytics.i18n import LANGUAGES, standard_label, t

REQUESTED = Scope(years=(2015, 2024), sexes=(2,), site="Stomach", area=(S.PARENT, "ABS"), site_list="ci5")
METHODS = dict(standard="europe_2013", ci_method="tiwari", conf=0.95, source="Demo")


def by_sex_frame() -> pd.DataFrame:
    return pd.DataFrame({"sex": [1, 1, 2, 2], "site": ["Lung", "Stomach", "Breast", "Stomach"],
                         "value": [50.0, 10.0, 75.0, 8.0]})


def test_frame_by_sex_and_site_overrides_the_sidebar_and_says_so():
    d = describe(by_sex_frame(), "asr", scope=REQUESTED.replace(sexes=(1, 2)), requested=REQUESTED,
                 asked={"sex": "women", "site": "Stomach"}, **METHODS)
    assert set(d.scope.sexes) == {1, 2} and d.by == ("sex", "site")
    assert d.sites == ("Lung", "Stomach", "Breast")
    assert [w for w, _ in d.ignored] == ["sex", "site"]
    caption = d.caption("en")
    assert "men and women, shown separately" in caption
    assert "The sex filter (women) does not apply here" in caption
    assert "The site filter (Stomach) does not apply here" in caption
    assert "Absheron Economic Region" in caption and "2015–2024" in caption


def test_asr_names_standard_and_ci_method_sir_names_neither():
    asr = describe(None, "asr", scope=REQUESTED, **METHODS)
    text = asr.provenance("en").text("en")
    assert standard_label("europe_2013", "en") in text and t("app.ci.tiwari", "en") in text and "95 %" in text
    sir = describe(pd.DataFrame({S.REGION: ["A", "B"]}), "sir", scope=REQUESTED.replace(area=None),
                   requested=REQUESTED, reference="national", highlight="AZE-1676", **METHODS)
    for lang in LANGUAGES:
        footer = sir.provenance(lang).text(lang)
        assert standard_label("europe_2013", lang) not in footer
        assert t("app.ci.tiwari", lang) not in footer
        assert t("describe.reference.national", lang) in footer
        assert t("describe.ci.sir", lang, level="95") in footer
    meta = sir.metadata("en")
    assert meta["standard"] == t("describe.not_applicable", "en") and meta["method"].startswith("exact Poisson")
    # the whole country is mapped, the chosen region outlined: said, not hidden
    assert "The whole country is mapped" in sir.caption("en") and "Aghstafa outlined" in sir.caption("en")
    assert sir.as_dict()["standard"] is None and sir.as_dict()["ci_method"] is None


@pytest.mark.parametrize("measure,standard,method", [
    ("cases", False, False), ("crude_rate", False, True), ("asr", True, True), ("cum_risk", False, False),
    ("age_specific", False, True), ("population", False, False), ("sir", False, True), ("smoothed", False, True),
    ("trend", True, True), ("apc", True, True), ("projection", False, False), ("risk_factor", False, False)])
def test_each_measure_states_only_the_methods_it_uses(measure, standard, method):
    d = describe(None, measure, scope=REQUESTED, **METHODS)
    keys = [k for k, _, _ in d.items("en")]
    assert ("standard" in keys) == standard
    assert ("method" in keys) == method
    assert "reference" not in keys                      # none given
    with_ref = d.replace(reference="national")
    assert ("reference" in [k for k, _, _ in with_ref.items("en")]) == MEASURES[measure].reference


def test_cumulative_risk_is_described_up_to_74_and_population_without_a_site():
    d = describe(None, "cum_risk", scope=REQUESTED.replace(ages=tuple(S.AGE_GROUPS[8:])), **METHODS)
    assert d.ages_shown[0] == "40-44" and d.ages_shown[-1] == "70-74"
    assert d.ages_text("en") == "ages 40–74"
    pyr = describe(pd.DataFrame({S.SEX: [1, 2] * 18, S.AGE_GROUP: S.AGE_GROUPS * 2}), "population",
                   scope=REQUESTED.replace(sexes=(1, 2)), requested=REQUESTED, **METHODS)
    assert "site" not in [k for k, _, _ in pyr.items("en")]
    assert [w for w, _ in pyr.ignored] == ["sex"]


def test_ages_text():
    assert ages_text(S.AGE_GROUPS, "en") == "all ages"
    assert ages_text(["40-44", "45-49"], "en") == "ages 40–49"
    assert ages_text(["65-69", "70-74", "75-79", "80-84", "85+"], "en") == "ages 65 and over"
    assert ages_text(["65-69", "70-74", "75-79", "80-84", "85+"], "ru") == "возраст 65 лет и старше"


def test_period_of_the_frame_and_its_note():
    frame = pd.DataFrame({S.YEAR: [2010, 2024], "value": [1.0, 2.0]})
    d = describe(frame, "trend", scope=REQUESTED, asked={"period": "2015–2024"}, **METHODS)
    assert d.period_text() == "2010–2024" and ("period", "2015–2024") in d.ignored
    assert "The period filter (2015–2024) does not apply here: 2010–2024." in d.caption("en")


def test_region_names_come_from_the_catalogue_or_the_data():
    d = describe(None, "asr", scope=REQUESTED.replace(area=(S.REGION, "AZE-1676")), **METHODS)
    assert (d.region_text("en"), d.region_text("az"), d.region_text("ru")) == ("Aghstafa", "Ağstafa", "Агстафа")
    own = describe(None, "asr", scope=REQUESTED.replace(area=(S.REGION, "X1")), names={"X1": "Upland"}, **METHODS)
    assert own.region_text("ru") == "Upland"


def test_unknown_measure_is_an_error():
    with pytest.raises(ValueError, match="unknown measure 'asr2'"):
        describe(None, "asr2", scope=REQUESTED)


def test_every_rendering_in_every_language_has_no_raw_key():
    d = describe(by_sex_frame(), "asr", scope=REQUESTED.replace(sexes=(1, 2)), requested=REQUESTED, **METHODS)
    for lang in LANGUAGES:
        for text in (d.caption(lang), d.context(lang), d.scope_phrase(lang), d.provenance(lang).text(lang)):
            assert "describe." not in text and "{" not in text, text


def test_scope_from_an_analytics_selection():
    from analytics.cube import Selection

    sel = Selection(years=(2015, 2019), sexes=(1,), regions=("AZE-1676",), site="Lung")
    scope = Scope.from_selection(sel, area=(S.REGION, "AZE-1676"), site_list="ci5")
    d = Description(measure="cases", scope=scope)
    assert d.context("en", site=True) == "Lung, men, Aghstafa, 2015–2019"


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "category"])
def test_what_a_frame_shows_does_not_depend_on_how_its_columns_are_stored(dtype):
    """Sites and regions in order of first appearance, missing values and "" left out, age
    groups in their standard order: the same for text stored as objects, Arrow or categories."""
    frame = pd.DataFrame({
        "site": ["Stomach", None, "Lung", "Stomach", "All sites", "Breast"],
        S.REGION: ["AZ07", "AZ03", "", None, "AZ07", "AZ03"],
        S.AGE_GROUP: ["85+", "0-4", None, "40-44", "0-4", "85+"],
        "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    text = ["site", S.REGION, S.AGE_GROUP]
    frame[text] = frame[text].astype(dtype)
    d = describe(frame, "asr", scope=REQUESTED, **METHODS)
    assert d.sites == ("Stomach", "Lung", "Breast")
    assert d.regions == ("AZ07", "AZ03")
    assert d.scope.ages == ("0-4", "40-44", "85+")
    assert d.by == ("site", S.REGION, S.AGE_GROUP)

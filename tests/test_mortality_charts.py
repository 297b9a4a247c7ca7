"""analytics.charts.mortality: the GCO two-sided bars, the M:I charts, the count charts relabelled for
deaths and the plain-language readings, on small frames whose values are written out here."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.charts import incidence as ic
from analytics.charts import mortality as mc
from analytics.i18n import t


def rates_frame(values: dict[str, float], count: float = 100.0) -> pd.DataFrame:
    return pd.DataFrame({"site": list(values), "count": count, "value": list(values.values()),
                         "lower": [v * 0.9 for v in values.values()], "upper": [v * 1.1 for v in values.values()]})


INC = rates_frame({"Lung (incl. trachea and bronchus)": 40.0, "Stomach": 20.0, "Breast": 30.0, "Other": 99.0})
MORT = rates_frame({"Lung (incl. trachea and bronchus)": 35.0, "Stomach": 15.0, "Breast": 6.0, "Other": 80.0})


def test_two_sided_bars_put_incidence_left_and_mortality_right_ranked_by_incidence():
    fig = mc.incidence_mortality_bars(INC, MORT, lang="en", title="x", n=2)
    bars = [tr for tr in fig.data if tr.type == "bar"]
    assert [b.name for b in bars] == [t("mortality.measure.incidence", "en"), t("mortality.measure.mortality", "en")]
    # "Other" is not ranked; the top 2 by incidence: lung, breast
    assert list(bars[0].y) == ["Lung (incl. trachea and bronchus)", "Breast"]
    np.testing.assert_allclose(bars[0].x, [-40.0, -30.0])
    np.testing.assert_allclose(bars[1].x, [35.0, 6.0])
    # error bars of the left side point outwards (minus side is the upper CI)
    np.testing.assert_allclose(bars[0].error_x.array, [40 * 0.1, 30 * 0.1])


def test_two_sided_bars_show_suppressed_values_as_below_k():
    mort = MORT.assign(suppressed=[False, False, True, False])
    fig = mc.incidence_mortality_bars(INC, mort, lang="en", k=10)
    right = [tr for tr in fig.data if tr.type == "bar"][1]
    labels = [tr for tr in fig.data if tr.type == "scatter"][1]
    i = list(right.y).index("Breast")
    assert right.x[i] == 0.0 and labels.text[i].strip() == "<10"


def test_mi_bars_flag_ratios_above_one_and_translate_sites():
    mi = pd.DataFrame({"site": ["Liver", "Thyroid", "Other thoracic organs"], "deaths": [90, 3, 11],
                       "cases": [100, 100, 10], "mi_ratio": [0.9, 0.03, 1.1]})
    fig = mc.mi_bars(mi, label="site", lang="ru")
    bar = fig.data[0]
    assert list(bar.x) == [1.1, 0.9, 0.03]
    assert bar.marker.color[0] == mc.MI_HIGH_COLOUR and bar.marker.color[1] == mc.MI_COLOUR
    from analytics.i18n import site_label

    assert bar.y[1] == site_label("Liver", "ru")
    assert fig.layout.xaxis.title.text == t("mortality.chart.axis_mi", "ru")


def test_count_charts_relabelled_for_deaths():
    per_year = pd.DataFrame({"year": [2020, 2021], "count": [5, 7]})
    fig = mc.as_mortality(ic.cases_per_year(per_year, sex=None, lang="az"), "az")
    assert fig.layout.yaxis.title.text == t("mortality.chart.axis_deaths", "az")
    assert fig.data[0].name == t("mortality.col.deaths", "az")


@pytest.mark.parametrize("lang", ["en", "az", "ru"])
def test_readings_from_written_out_numbers(lang):
    assert mc.deaths_sentence(1000, (2020, 2024), lang=lang) == t(
        "mortality.reading.deaths", lang, deaths={"en": "1,000", "az": "1.000", "ru": "1\u202f000"}[lang],
        period="2020–2024", per_year={"en": "200", "az": "200", "ru": "200"}[lang])
    # cumulative risk 9.1%: about 1 in round(100 / 9.1) = 11
    s = mc.risk_of_dying_sentence(9.1, sex=1, lang=lang)
    assert "11" in s and {"en": "9.1", "az": "9,1", "ru": "9,1"}[lang] in s
    # lung leads both incidence and mortality
    s = mc.incidence_mortality_sentence(INC, MORT, sex=1, lang=lang)
    assert s.endswith(t("mortality.reading.both_same", lang, sex_group=t("charts.narrative_sex_group_1", lang),
                        inc_site=_site(lang), inc={"en": "40.0"}.get(lang, "40,0"),
                        mort_site=_site(lang), mort={"en": "35.0"}.get(lang, "35,0"))[1:])


def _site(lang):
    from analytics.i18n import site_label

    return site_label("Lung (incl. trachea and bronchus)", lang)


def test_mi_readings():
    mi = pd.DataFrame({"site": ["Liver", "Thyroid", "Breast", "Bone"], "deaths": [90, 3, 20, 30],
                       "cases": [100, 100, 100, 15], "mi_ratio": [0.9, 0.03, 0.2, 2.0]})
    overall = pd.DataFrame({"deaths": [143], "cases": [315], "mi_ratio": [143 / 315]})
    s = mc.mi_site_sentence(mi, overall, lang="en")
    # 143 / 315 = 0.454 -> 45 deaths per 100 cases; bone (15 cases) is too small to be ranked
    assert s == ("Overall there were 45 deaths for every 100 new cases (M:I 0.45). "
                 "The ratio was highest for Liver (0.90) and lowest for Thyroid (0.03).")
    years = pd.DataFrame({"year": [2010, 2010, 2024, 2024], "sex": [1, 2, 1, 2], "deaths": [30, 20, 25, 15],
                          "cases": [50, 50, 60, 40], "mi_ratio": [0.6, 0.4, 25 / 60, 15 / 40]})
    # 2010: 50 / 100 = 0.50; 2024: 40 / 100 = 0.40
    assert mc.mi_year_sentence(years, lang="en") == "The M:I ratio went from 0.50 in 2010 to 0.40 in 2024."
    fig = mc.mi_trend(years, lang="ru")
    assert [tr.name for tr in fig.data] == ["Мужчины", "Женщины"]

"""Numbers on charts and in readings (issue 9): sex-specific sites blank for the other sex, axis
ticks that adapt to small rates, negative APCs and CIs with their sign, p-values never "0.000"."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import rates, sites
from analytics.charts import incidence, maps, trends
from analytics.ecological import ecological_regression

MINUS = "\u2212"


def _by_sex_site(rows):
    return pd.DataFrame(rows, columns=["site", "sex", "value", "lower", "upper", "count"]).assign(flag="")


def test_sex_specific_site_is_blank_not_zero_for_the_other_sex():
    """Issue 9: prostate drawn as 0.0 for women (the rate engine gives 0/P = 0)."""
    df = _by_sex_site([("Prostate", 1, 30.0, 27.0, 33.0, 300), ("Prostate", 2, 0.0, 0.0, 0.4, 0),
                       ("Cervix uteri", 1, 0.0, 0.0, 0.4, 0), ("Cervix uteri", 2, 12.0, 10.0, 14.0, 120),
                       ("Breast", 1, 0.8, 0.5, 1.2, 9), ("Breast", 2, 60.0, 56.0, 64.0, 700)])
    fig = incidence.top_sites_bar(df, n=5)
    men, women = [tr for tr in fig.data if tr.type == "bar"]
    assert "Prostate" not in list(women.y) and "Cervix uteri" not in list(men.y)
    assert "Breast" in list(men.y)                       # breast in men is a value of its own
    texts = [tr for tr in fig.data if tr.type == "scatter"]
    assert not any(t.strip() == "0.0" for tr in texts for t in tr.text)
    fig = incidence.asr_by_site(df)
    drawn = {(tr.name, y) for tr in fig.data if tr.type == "bar" for y in tr.y}
    assert ("Women", "Prostate") not in drawn and ("Men", "Cervix uteri") not in drawn
    blank = sites.blank_other_sex(df)
    row = blank[(blank.site == "Prostate") & (blank.sex == 2)].iloc[0]
    assert np.isnan(row["value"]) and np.isnan(row["upper"]) and row["count"] == 0
    assert "not_applicable_sex" in row["flag"]
    assert "other sex" in rates.flag_labels(blank, "en")[row.name]


def test_age_specific_curves_leave_out_the_other_sex():
    rows = [(s, x, a, v) for a in ["60-64", "65-69"] for s, x, v in
            [("Prostate", 1, 80.0), ("Prostate", 2, 0.0), ("Lung", 1, 40.0), ("Lung", 2, 10.0)]]
    df = pd.DataFrame(rows, columns=["site", "sex", "age_group", "value"]).assign(flag="")
    fig = incidence.age_specific_curves(df, ci=False)
    drawn = [(tr.name, tr.xaxis) for tr in fig.data]
    assert ("Prostate", "x") in drawn and ("Prostate", "x2") not in drawn


def test_small_rates_get_ticks_that_do_not_all_read_zero():
    """Issue 9: below ~1.5 per 100,000 every tick of the two-sided bar read "0"."""
    df = _by_sex_site([("Eye", 1, 0.31, 0.2, 0.45, 12), ("Eye", 2, 0.22, 0.1, 0.35, 8),
                       ("Bone", 1, 0.6, 0.4, 0.9, 20), ("Bone", 2, 0.4, 0.2, 0.7, 14)])
    fig = incidence.top_sites_bar(df)
    ticks = list(fig.layout.xaxis.ticktext)
    right = [t for t, v in zip(ticks, fig.layout.xaxis.tickvals) if v >= 0]
    assert len(set(right)) == len(right) >= 3, ticks
    for text, val in zip(ticks, fig.layout.xaxis.tickvals):
        assert float(text) == pytest.approx(abs(val)), (text, val)


def test_falling_trend_reads_with_its_sign():
    """Issue 9: a falling trend's CI was printed as positive numbers."""
    seg = {"start": 2010, "end": 2024, "apc": -2.04, "lower": -2.81, "upper": -1.26}
    text = trends.apc_sentence(seg, who="Among women", site="stomach cancer", lang="en")
    assert f"{MINUS}2.0" in text and f"{MINUS}2.8" in text and f"{MINUS}1.3" in text and "fell" in text
    for lang in ("az", "ru"):
        text = trends.apc_sentence(seg, who="X", site="Y", lang=lang)
        assert f"{MINUS}2,8" in text and f"{MINUS}1,3" in text
    flat = trends.apc_sentence({"start": 2010, "end": 2024, "apc": -0.3, "lower": -1.1, "upper": 0.5},
                               who="Among men", site="lung cancer", lang="en")
    assert f"{MINUS}0.3" in flat and f"{MINUS}1.1" in flat
    seg_df = pd.DataFrame([seg])
    fig = trends.apc_chart(seg_df)
    assert "+" in fig.data[0].hovertemplate            # hover formats carry the sign (d3 "+")


def test_coefficient_hover_prints_small_p_values_as_below_0001():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"x": rng.normal(size=60), "expected": rng.uniform(50, 100, 60)})
    d["observed"] = rng.poisson(d["expected"] * np.exp(0.5 * d["x"]))
    fit = ecological_regression(d, ["x"])
    assert fit.table.set_index("term").loc["x", "p_value"] < 1e-6
    fig = maps.coefficient_plot(fit.table)
    text = " ".join(fig.data[0].text)
    assert "p < 0.001" in text and "p = 0.000" not in text

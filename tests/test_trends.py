"""Log-linear APC (SEER*Stat) checked against statsmodels WLS/OLS fits."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analytics.trends import TrendInputError, apc_table, loglinear_apc

YR = np.arange(2005, 2019)
RATE = 40 * np.exp(0.021 * (YR - 2005)) * (1 + 0.02 * np.sin(YR * 1.7))
SE = RATE * (0.04 + 0.01 * np.cos(YR))


def _sm(rate, weights):
    X = sm.add_constant(YR.astype(float))
    f = sm.WLS(np.log(rate), X, weights=weights).fit()
    return 100 * np.expm1(f.params[1]), 100 * np.expm1(f.conf_int(0.05)[1]), f.pvalues[1]


def test_unweighted_matches_ols():
    a = loglinear_apc(YR, RATE)
    apc, ci, p = _sm(RATE, np.ones_like(RATE))
    np.testing.assert_allclose([a.apc, a.lower, a.upper, a.p_value], [apc, *ci, p], rtol=1e-10)


def test_seer_weighted_matches_wls():
    a = loglinear_apc(YR, RATE, se=SE)
    apc, ci, p = _sm(RATE, RATE**2 / SE**2)
    np.testing.assert_allclose([a.apc, a.lower, a.upper, a.p_value], [apc, *ci, p], rtol=1e-10)


def test_exact_exponential_gives_its_apc():
    a = loglinear_apc(YR, 10 * 1.035 ** (YR - 2005))
    assert a.apc == pytest.approx(3.5, abs=1e-10)


def test_zero_rate_is_refused_with_year():
    r = RATE.copy()
    r[3] = 0
    with pytest.raises(TrendInputError, match="2008"):
        loglinear_apc(YR, r)


def test_apc_table_vectorised_equals_single():
    df = pd.concat([
        pd.DataFrame({"site": "A", "sex": 1, "year": YR, "value": RATE, "se": SE}),
        pd.DataFrame({"site": "B", "sex": 2, "year": YR, "value": RATE[::-1], "se": SE}),
        pd.DataFrame({"site": "C", "sex": 1, "year": YR[:5], "value": [1, 2, 0, 3, 4], "se": 1.0}),
    ])
    out = apc_table(df, by=["site", "sex"], se="se")
    a = loglinear_apc(YR, RATE, se=SE)
    b = loglinear_apc(YR, RATE[::-1], se=SE)
    np.testing.assert_allclose(out.loc[0, ["apc", "lower", "upper", "p_value"]].astype(float),
                               [a.apc, a.lower, a.upper, a.p_value], rtol=1e-10)
    np.testing.assert_allclose(out.loc[1, ["apc", "lower", "upper"]].astype(float),
                               [b.apc, b.lower, b.upper], rtol=1e-10)
    assert np.isnan(out.loc[2, "apc"])  # a zero rate: no APC (SEER*Stat rule)
    assert list(out["site"]) == ["A", "B", "C"]


def test_joinpoint_table_and_charts():
    from analytics.charts.trends import apc_chart, apc_sentence, decomposition_chart, trend_chart
    from analytics.trends import joinpoint_table

    df = pd.concat([
        pd.DataFrame({"sex": 1, "year": YR, "value": RATE}),
        pd.DataFrame({"sex": 2, "year": YR, "value": 30 * 0.98 ** (YR - 2005)}),
        pd.DataFrame({"sex": 9, "year": YR[:4], "value": [1.0, 0.0, 2.0, 3.0]}),
    ])
    segs, fitted, results = joinpoint_table(df, by="sex", selection="bic", max_joinpoints=1)
    assert set(results) == {(1,), (2,)}
    assert "every" in segs.loc[segs["sex"] == 9, "note"].iloc[0]   # zero rate refused, reported
    women = segs[segs["sex"] == 2]
    assert women["apc"].iloc[0] == pytest.approx(-2.0, abs=1e-9)
    fig = trend_chart(fitted, segs, series="sex")
    ys = [list(tr.y) for tr in fig.data if tr.mode == "lines"]
    np.testing.assert_allclose(ys[1], fitted.loc[fitted["sex"] == 2, "fitted"])
    assert len(apc_chart(segs.dropna(subset=["apc"]), series="sex").data[0].x) == len(segs.dropna(subset=["apc"]))
    s = apc_sentence({"apc": -2.0, "lower": -2.5, "upper": -1.5, "start": 2005, "end": 2018},
                     who="Among women", site="breast cancer")
    # a fall: the decline, and the APC with its CI as the negative numbers they are (issue 9)
    assert s == ("Among women, breast cancer incidence fell by 2.0% a year (APC \u22122.0%, 95% CI \u22122.5 to "
                 "\u22121.5) from 2005 to 2018.")
    w = decomposition_chart({"cases_start": 100, "growth": 20, "ageing": 52.5, "risk": 7.5, "cases_end": 180},
                            start_label="2024", end_label="2040")
    assert list(w.data[0].y) == [100, 20, 52.5, 7.5, 180]


def test_plain_language_reading_in_three_languages():
    """The issue's example sentence, word for word, and its Azerbaijani and Russian versions."""
    from analytics.charts.trends import apc_sentence, site_phrase, who_phrase

    seg = {"apc": 2.1, "lower": 1.4, "upper": 2.8, "start": 2010, "end": 2024}
    en = apc_sentence(seg, who=who_phrase(2, "en"), site=site_phrase("Breast", "en"))
    assert en == "Among women, breast cancer incidence rose by 2.1% a year (95% CI 1.4 to 2.8) from 2010 to 2024."
    ru = apc_sentence(seg, who=who_phrase(2, "ru"), site=site_phrase("Молочная железа", "ru"), lang="ru")
    assert ru == "Среди женщин заболеваемость (молочная железа) росла на 2,1% в год (95% ДИ от 1,4 до 2,8) с 2010 по 2024 год."
    az = apc_sentence(seg, who=who_phrase(2, "az"), site=site_phrase("Süd vəzi", "az"), lang="az")
    assert az == "Qadınlar arasında süd vəzi xəstələnməsi 2010–2024 illərində ildə 2,1% artmışdır (95% EI 1,4 – 2,8)."
    # Stable when the CI spans 0; a fall is told with its signed APC and CI.
    flat = apc_sentence({**seg, "lower": -0.3}, who=who_phrase(None, "en", region="Baku"),
                        site=site_phrase("All sites", "en"))
    assert flat.startswith("Among men and women combined in Baku, all-sites cancer incidence did not change")
    assert who_phrase(1, "az", region="Bakı") == "Bakı, kişilər arasında"
    assert who_phrase(2, "ru", region="Бакинский") == "Среди женщин (Бакинский)"
    small = apc_sentence({"apc": -0.19, "lower": -0.34, "upper": -0.04, "start": 2010, "end": 2024},
                         who=who_phrase(1), site="cancer")
    assert "fell by 0.19% a year (APC \u22120.19%, 95% CI \u22120.34 to \u22120.04)" in small   # not "CI 0.0"
    assert site_phrase("Hodgkin lymphoma") == "Hodgkin lymphoma"
    assert site_phrase("Non-Hodgkin lymphoma") == "non-Hodgkin lymphoma"
    assert site_phrase("Lung (incl. trachea and bronchus)") == "lung (incl. trachea and bronchus) cancer"


def test_trend_chart_legend_for_many_series():
    from analytics.charts.trends import trend_chart

    yrs = np.arange(2010, 2015)
    fitted = pd.concat([pd.DataFrame({"region": r, "year": yrs, "observed": v, "fitted": v})
                        for r, v in (("A", 10.0), ("B", 20.0), ("C", 30.0))])
    fig = trend_chart(fitted, None, series="region")
    shown = [tr.name for tr in fig.data if tr.showlegend is not False]
    assert shown == ["A", "B", "C"]                       # one entry per region, not points + fit
    assert fig.layout.legend.yanchor == "top" and fig.layout.legend.y < 0   # under the plot
    two = trend_chart(fitted[fitted["region"] != "C"], None, series="region")
    assert len([tr for tr in two.data if tr.showlegend is not False]) == 4

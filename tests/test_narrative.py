"""Plain-language sentences: values, ratios and wording in the three languages (numbers as the
glibc locales write them: en 1,234.5; az 1.234,5; ru 1 234,5 with a narrow no-break space)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import narrative as nar

NB = "\u202f"


def _by_sex() -> pd.DataFrame:
    return pd.DataFrame({
        "site": ["Lung", "Lung", "Breast", "Prostate", "Other", "Thyroid", "Thyroid"],
        "sex": [1, 2, 2, 1, 1, 1, 2],
        "value": [45.2, 25.1, 60.3, 30.0, 99.0, 1.0, 12.0],
    })


def test_top_site_sentence_english_matches_the_issue_example():
    s = nar.top_site_sentences(_by_sex(), lang="en", standard="segi_1960_world_18grp_per100k")
    # 45.2 / 25.1 = 1.80; "Other" (99.0) is a residual group and is not ranked
    assert s == ["Among men, Lung had the highest rate, 45.2 per 100,000 (world standard), 1.8 times that of women.",
                 "Among women, Breast had the highest rate, 60.3 per 100,000 (world standard)."]


def test_top_site_sentence_azerbaijani_and_russian():
    az = nar.top_site_sentences(_by_sex(), lang="az", standard="world_segi1960")
    assert az[0] == ("Kişilər arasında ən yüksək göstərici «Ağciyər» lokalizasiyasındadır: 100.000 nəfərə 45,2 "
                     "(dünya standartı), qadınlar arasındakından 1,8 dəfə çox.")
    assert az[1].startswith("Qadınlar arasında") and "60,3" in az[1] and "«Süd vəzisi»" in az[1]
    ru = nar.top_site_sentences(_by_sex(), lang="ru", standard="esp_2013_18grp_per100k")
    assert ru[0] == (f"Среди мужчин самый высокий показатель у локализации «Лёгкое»: 45,2 на 100{NB}000 "
                     "(европейский стандарт 2013), в 1,8 раза больше, чем среди женщин.")


def test_lower_than_other_sex_and_suppressed_values():
    df = pd.DataFrame({"site_ci5": ["Thyroid", "Thyroid", "Breast"], "sex": [1, 2, 2],
                       "value": [4.0, 12.0, 50.0]})
    s = nar.top_site_sentence(df, 1, lang="en", standard="world")
    assert s.endswith("4.0 per 100,000 (world standard), 3.0 times lower than that of women.")
    assert "в 3,0 раза меньше, чем среди женщин" in nar.top_site_sentence(df, 1, lang="ru", standard="world")
    df2 = _by_sex().assign(suppressed=[True, False, False, False, False, False, False])
    # men's lung is withheld: the leading shown site is prostate (30.0), no ratio (male-only site)
    assert nar.top_site_sentence(df2, 1, lang="en") == \
        "Among men, Prostate had the highest rate, 30.0 per 100,000 (age-standardised)."
    assert nar.top_site_sentence(df2.assign(sex=2).iloc[:0], 1) is None
    with pytest.raises(ValueError, match="site"):
        nar.top_site_sentence(pd.DataFrame({"sex": [1], "value": [1.0]}), 1)


def test_cases_asr_cumulative_risk_regions():
    assert nar.cases_sentence(12345, (2015, 2019)) == \
        "12,345 new cases were registered in 2015–2019, 2,469 a year on average."
    assert nar.cases_sentence(12345, [2015, 2016, 2017, 2018, 2019], lang="ru") == \
        f"За 2015–2019 зарегистрировано 12{NB}345 новых случаев, в среднем 2{NB}469 в год."
    assert nar.cases_sentence(12345, (2015, 2019), lang="az") == \
        "2015–2019 dövründə 12.345 yeni hal qeydə alınıb, ildə orta hesabla 2.469."
    assert nar.asr_sentence(45.2, 44.06, 46.34, standard="segi", sex=2) == \
        "Among women, the age-standardised rate (world standard) was 45.2 per 100,000 (95% CI 44.1 to 46.3)."
    assert nar.asr_sentence(45.2, 44.06, 46.34, standard="segi", conf=0.9, lang="ru") == \
        f"Стандартизованный по возрасту показатель (мировой стандарт) составил 45,2 на 100{NB}000 (90% ДИ от 44,1 до 46,3)."
    assert nar.asr_sentence(np.nan, np.nan, np.nan, suppressed=True, k=5) == \
        "The rate is not shown because it is based on fewer than 5 cases."
    # 1,234 cases in 3,418,000 person-years = 36.10 per 100,000
    assert nar.crude_rate_sentence(1234 / 3_418_000 * 1e5) == "The crude rate was 36.1 per 100,000."
    assert nar.crude_rate_sentence(1234 / 3_418_000 * 1e5, lang="az") == "Kobud göstərici 100.000 nəfərə 36,1 olub."
    # cumulative risk 12.5 % -> 1 in 8 (100 / 12.5)
    assert nar.cumulative_risk_sentence(12.5, sex=1) == \
        "Among men, the cumulative risk of developing cancer between 0 and 74 years was 12.5%, about 1 in 8."
    assert nar.cumulative_risk_sentence(12.5, sex=1, lang="az").startswith("Kişilər arasında 0–74 yaşda")
    reg = pd.DataFrame({"lower": [45.0, 25.0, 35.0, 10.0], "upper": [55.0, 35.5, 47.0, 30.0]})
    assert nar.regions_sentence(reg, 40.0) == \
        "1 of 4 regions had a rate significantly higher than the national value and 2 significantly lower."
    assert nar.regions_sentence(reg, 40.0, lang="ru") == \
        "В 1 из 4 регионов показатель статистически значимо выше национального, в 2 — ниже."


def test_azerbaijani_dotted_capital():
    assert nar._capitalise("iki", "az") == "İki" and nar._capitalise("iki", "en") == "Iki"


def test_case_mix_sentence_hand_computed():
    from analytics.narrative import case_mix_sentence

    df = pd.DataFrame({"site": ["Breast", "Lung (incl. trachea and bronchus)", "Other", "Stomach", "Liver"],
                       "count": [50, 20, 15, 10, 5]})
    # of 100 cases: breast 50%, lung 20%, stomach 10% ("Other" not ranked) -> 80%
    assert case_mix_sentence(df, lang="en") == \
        "Breast (50.0%), Lung (incl. trachea and bronchus) (20.0%) and Stomach (10.0%) accounted for 80.0% of the cases."
    ru = case_mix_sentence(df, lang="ru", n=2)
    assert "70,0%" in ru and "50,0%" in ru and "Breast" not in ru
    # a suppressed count is neither ranked nor counted in the total
    sup = df.assign(suppressed=[False, True, False, False, False])
    assert case_mix_sentence(sup, lang="en", n=1) == "Breast (62.5%) accounted for 62.5% of the cases."


def test_population_sentence_hand_computed():
    # men 3.0 + 1.5 + 0.4 million, women 3.0 + 1.6 + 0.5 million = 10.0 million;
    # aged 65 or over: 0.4 (65-69) + 0.5 (85+) = 0.9 million = 9.0%; unknown age not counted
    pop = pd.DataFrame({"sex": [1, 1, 1, 2, 2, 2, 2],
                        "age_group": ["0-4", "60-64", "65-69", "0-4", "60-64", "85+", None],
                        "population": [3e6, 1.5e6, 0.4e6, 3e6, 1.6e6, 0.5e6, 7e6]})
    assert nar.population_sentence(pop) == \
        "The average annual population was 10.0 million, 9.0% of it aged 65 or over."
    assert nar.population_sentence(pop, lang="az") == \
        "Orta illik əhali 10,0 milyon nəfər olub, onların 9,0%-i 65 və daha yuxarı yaşdadır."
    assert nar.population_sentence(pop, lang="ru") == \
        "Среднегодовая численность населения — 10,0 млн, из них 9,0% в возрасте 65 лет и старше."
    # below a million the number is written out: 400 of 2,000 aged 60+ = 20.0%
    small = pd.DataFrame({"age_group": ["0-4", "60-64"], "population": [1600, 400]})
    assert nar.population_sentence(small, older=60) == \
        "The average annual population was 2,000, 20.0% of it aged 60 or over."
    assert nar.population_sentence(small.iloc[:0]) == "There are no cases for this selection."
    with pytest.raises(ValueError, match="population"):
        nar.population_sentence(pd.DataFrame({"age_group": ["0-4"]}))


def test_age_specific_sentence_one_and_several_curves():
    one = pd.DataFrame({"age_group": ["85+", "0-4", "40-44"], "value": [120.0, 0.5, 20.0]})
    assert nar.age_specific_sentence(one) == "Rates rise with age, from 0.5 per 100,000 at 0–4 to 120.0 at 85+."
    assert nar.age_specific_sentence(one, lang="az") == \
        "Göstəricilər yaşla artır: 0–4 yaşda 100.000 nəfərə 0,5, 85+ yaşda 120,0."
    assert nar.age_specific_sentence(one, lang="ru") == \
        f"Показатели растут с возрастом: от 0,5 на 100{NB}000 в возрасте 0–4 лет до 120,0 в возрасте 85+ лет."
    # the oldest group is lower than 60-64: a peak, not a rise
    peak = pd.DataFrame({"age_group": ["0-4", "60-64", "85+"], "value": [0.5, 80.0, 70.0]})
    assert nar.age_specific_sentence(peak) == "Rates peak at 80.0 per 100,000 at 60–64."
    sup = pd.DataFrame({"age_group": ["0-4", "60-64", "85+"], "value": [0.5, 80.0, 500.0],
                        "suppressed": [False, False, True]})
    # the withheld 85+ (500.0) is neither the peak nor the end of the curve
    assert nar.age_specific_sentence(sup) == "Rates rise with age, from 0.5 per 100,000 at 0–4 to 80.0 at 60–64."
    several = pd.DataFrame({"site": ["Lung", "Lung", "Breast", "Breast"], "sex": [1, 1, 2, 2],
                            "age_group": ["60-64", "85+", "60-64", "85+"], "value": [300.0, 250.0, 100.0, 90.0]})
    assert nar.age_specific_sentence(several) == \
        "The highest age-specific rate is 300.0 per 100,000 (Lung, Men, 60–64)."
    assert nar.age_specific_sentence(several, lang="ru") == \
        f"Самый высокий повозрастной показатель — 300,0 на 100{NB}000 (Лёгкое, Мужчины, 60–64)."
    # one site, both sexes: the sex names the curve, the site is not repeated
    both = several.assign(site="Lung")
    assert nar.age_specific_sentence(both) == "The highest age-specific rate is 300.0 per 100,000 (Men, 60–64)."


def test_quality_sentence_pools_counts_not_percentages():
    part = pd.DataFrame({"name": ["A", "B", "C"], "count": [90, 70, 800], "total": [100, 100, 900],
                         "value": [90.0, 70.0, 800 / 9]})
    # (90 + 70 + 800) / (100 + 100 + 900) = 87.27% (the mean of the percentages would be 83.0%);
    # B (70.0) and C (88.9) are under 90, A meets it exactly
    assert nar.quality_sentence(part, "mv_pct", target=90) == \
        "Microscopically verified: 87.3% overall (target ≥ 90%); 2 of 3 below the target."
    assert nar.quality_sentence(part, "mv_pct", target=90, lang="ru") == \
        "Морфологически подтверждённые: в целом 87,3% (цель ≥ 90%); ниже цели 2 из 3."
    assert nar.quality_sentence(part, "mv_pct", target=90, lang="az") == \
        "Mikroskopik təsdiqlənmiş: ümumilikdə 87,3% (hədəf ≥ 90%); 3 qrupdan 2 qrup hədəfdən aşağıdır."
    dco = pd.DataFrame({"count": [3, 12], "total": [100, 100], "value": [3.0, 12.0]})
    # 15 / 200 = 7.5%; only the second (12% > 5%) misses a maximum of 5%
    assert nar.quality_sentence(dco, "dco_pct", target=5, direction="lower") == \
        "Death certificate only: 7.5% overall (target ≤ 5%); 1 of 2 above the target."
    with pytest.raises(ValueError, match="direction"):
        nar.quality_sentence(dco, "dco_pct", target=5, direction="up")
    with pytest.raises(ValueError, match="'total'"):
        nar.quality_sentence(dco.drop(columns="total"), "dco_pct", target=5)


def test_prevalence_sentence_hand_computed():
    # 2,500 people in a population of 2,000,000 = 125.0 per 100,000
    sites = pd.DataFrame({"site_ci5": ["Breast", "Lung", "Other", "Cervix uteri"], "count": [900, 400, 1000, np.nan]})
    assert nar.prevalence_sentence(2500, 2_000_000, date="31.12.2019", duration="5-year", sites=sites) == \
        "5-year prevalence on 31.12.2019: 2,500 people, 125.0 per 100,000; the largest group: Breast (900)."
    assert nar.prevalence_sentence(2500, 2_000_000, date="31.12.2019", duration="5-летняя", lang="ru") == \
        f"5-летняя распространённость на 31.12.2019: 2{NB}500 чел., 125,0 на 100{NB}000."
    assert nar.prevalence_sentence(2500, 2_000_000, date="31.12.2019", duration="5 illik", lang="az",
                                   sites=sites.assign(suppressed=[True, False, False, False])) == \
        "31.12.2019 tarixinə 5 illik prevalentlik: 2.500 nəfər, 100.000 nəfərə 125,0; ən böyük qrup: Ağciyər (400)."
    assert nar.prevalence_sentence(np.nan, 2_000_000, date="31.12.2019", duration="5-year") == \
        "There are no cases for this selection."


def test_funnel_sentence_counts_points_outside_the_998_limits():
    # at E = 100 the 99.8% limits for O/E are about 1 ± 3.09 / sqrt(100) = 0.69 to 1.31 (normal
    # approximation to the Poisson): SIR 2.0 is above, 0.5 below, 1.0 and 1.3 within; the
    # suppressed region is not counted
    fr = pd.DataFrame({"cases": [200, 50, 100, 130, 3], "expected": [100, 100, 100, 100, 1],
                       "flag": ["", "", "", "", "suppressed"]})
    assert nar.funnel_sentence(fr) == "1 of 4 regions lie above the 99.8% control limit and 1 below."
    assert nar.funnel_sentence(fr, lang="ru") == "Из 4 регионов 1 выше 99,8% контрольной границы, 1 — ниже."
    assert nar.funnel_sentence(fr, lang="az") == \
        "4 regiondan 1 region 99,8% nəzarət həddindən yuxarıda, 1 region isə aşağıdadır."
    # 1.3 lies above the 95% limit (about 1 + 1.96 / 10 = 1.20)
    assert nar.funnel_sentence(fr, conf=0.95) == "2 of 4 regions lie above the 95% control limit and 1 below."
    with pytest.raises(ValueError, match="'expected'"):
        nar.funnel_sentence(fr.drop(columns="expected"))


def test_range_sentence_lowest_and_highest_region():
    fr = pd.DataFrame({"region_name": ["Aran", "Baku", "Quba", "Shaki"], "smoking": [28.1, 52.3, 40.0, 10.0],
                       "flag": ["", "", "", "suppressed"]})   # the suppressed 10.0 is not the minimum
    assert nar.range_sentence(fr, "smoking", label="Smoking (men)", unit="%") == \
        "Smoking (men) ranges from 28.1% in Aran to 52.3% in Baku."
    assert nar.range_sentence(fr, "smoking", label="Smoking (men)", unit="%", lang="ru") == \
        "Smoking (men): от 28,1% (Aran) до 52,3% (Baku)."
    assert nar.range_sentence(fr, "smoking", label="Siqaret", unit="%", lang="az") == \
        "Siqaret Aran regionunda 28,1%, Baku regionunda 52,3% arasında dəyişir."
    assert nar.range_sentence(fr, "smoking", label="Alcohol", unit="l") == \
        "Alcohol ranges from 28.1 l in Aran to 52.3 l in Baku."
    assert nar.range_sentence(fr.iloc[3:], "smoking", label="x") == "There are no cases for this selection."
    with pytest.raises(ValueError, match="'obesity'"):
        nar.range_sentence(fr, "obesity", label="x")


def test_sir_map_sentence_range_and_significant_counts():
    fr = pd.DataFrame({"region_name": ["Aran", "Baku", "Quba", "Lankaran", "Shaki"],
                       "smoothed": [0.71, 1.38, 1.0, 0.9, 3.0],
                       "significance": ["lower", "higher", "higher", "not significant", "higher"],
                       "flag": ["", "", "", "", "suppressed"]})
    assert nar.sir_map_sentence(fr) == \
        "The SIR ranges from 0.71 (Aran) to 1.38 (Baku); 2 regions significantly above 1, 1 below."
    assert nar.sir_map_sentence(fr, lang="ru") == \
        "SIR колеблется от 0,71 (Aran) до 1,38 (Baku); в 2 регионах значимо выше 1, в 1 — ниже."


def test_bivariate_sentence_reads_the_corner_cells():
    counts = [[2, 0, 1], [0, 1, 0], [1, 0, 3]]   # [risk-factor tertile][SIR tertile]
    assert nar.bivariate_sentence(counts, x_label="smoking") == \
        "3 of 8 regions are high on both smoking and SIR, 2 low on both."
    assert nar.bivariate_sentence(counts, x_label="siqaret", lang="az") == \
        "8 regiondan 3 region həm siqaret, həm də SIR üzrə yüksək, 2 region hər ikisi üzrə aşağıdır."
    with pytest.raises(ValueError, match="3x3"):
        nar.bivariate_sentence([[1, 2]], x_label="x")


def test_regression_sentence_matches_the_closed_form_poisson_rate_ratio():
    from analytics.ecological import ecological_regression
    # one binary factor: the Poisson MLE of the rate ratio is (O1/E1)/(O0/E0) = (110/100)/(100/100)
    # = 1.1, SE(log RR) = sqrt(1/110 + 1/100) (Breslow & Day 1987, vol. II, ch. 2)
    d = pd.DataFrame({"observed": [50, 50, 55, 55], "expected": [50.0, 50, 50, 50], "smoking": [0.0, 0, 1, 1]})
    se = np.sqrt(1 / 110 + 1 / 100)
    lo, hi = 1.1 * np.exp(-1.959964 * se), 1.1 * np.exp(1.959964 * se)
    assert (round(100 * (lo - 1), 1), round(100 * (hi - 1), 1)) == (-16.1, 44.2)
    table = ecological_regression(d, ["smoking"]).table
    assert nar.regression_sentence(table, "smoking", x_label="smoking") == \
        "The SIR rises by 10.0% per 1 unit of smoking (95% CI \u221216.1% to 44.2%)."
    down = pd.DataFrame({"term": ["x"], "per": ["1 SD"], "rate_ratio": [0.9], "rr_lower": [0.8],
                         "rr_upper": [0.95]})
    assert nar.regression_sentence(down, "x", x_label="obesity") == \
        "The SIR falls by 10.0% per 1 standard deviation of obesity (95% CI \u221220.0% to \u22125.0%)."
    assert nar.regression_sentence(down, "x", x_label="piylənmə", lang="az") == \
        "Piylənmə 1 standart kənarlaşma artdıqda SIR 10,0% azalır (95% Eİ \u221220,0%–\u22125,0%)."
    assert nar.regression_sentence(down, "absent", x_label="x") == "There are no cases for this selection."


def test_profile_sentence_counts_significant_indicators():
    prof = pd.DataFrame({"indicator": ["SIR", "ASR", "crude", "smoking"],
                         "significance": ["higher", "lower", "not significant", "higher"]})
    assert nar.profile_sentence(prof, region="Baku") == \
        "Baku: 2 of 4 indicators significantly higher than the national value, 1 lower."
    assert nar.profile_sentence(prof, region="Bakı", lang="ru") == \
        "Bakı: из 4 показателей 2 значимо выше национального значения, 1 — ниже."

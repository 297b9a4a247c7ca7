"""The public result columns of every rate function, pinned for one and for two confidence levels
(issue 3: notebooks and scripts rely on these names), and the flag codes with their labels in
every language."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics import disclosure, i18n, presets, rates

LABELS = ["0-4", "5-9", "10-14"]
DF = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3, "age_group": LABELS * 2, "count": [1, 2, 3, 4, 5, 6],
                   "population": [1000.0] * 6, "ref_count": [10, 20, 30] * 2,
                   "ref_population": [1e4] * 6})
STD = pd.Series([1.0, 1.0, 1.0], index=LABELS)


def _limits(conf, prefix=""):
    if np.isscalar(conf):
        return [f"{prefix}lower", f"{prefix}upper"]
    return [f"{prefix}lower_95", f"{prefix}upper_95", f"{prefix}lower_99_8", f"{prefix}upper_99_8"]


CALLS = {
    "poisson_limits": (lambda c: rates.poisson_limits([1, 2], c), lambda c: _limits(c)),
    "crude_rate": (lambda c: rates.crude_rate([1, 2], [100, 100], c), lambda c: ["value"] + _limits(c)),
    "proportion": (lambda c: rates.proportion([1, 2], [10, 10], c), lambda c: ["value"] + _limits(c)),
    "dsr": (lambda c: rates.dsr(DF, by="g", standard=STD, conf=c),
            lambda c: ["g", "count", "unknown_age", "population", "crude_rate", "value", "se"]
            + _limits(c) + ["flag"]),
    "age_specific": (lambda c: rates.age_specific(DF, by="g", conf=c),
                     lambda c: ["g", "age_group", "age_start", "count", "population", "value"]
                     + _limits(c) + ["flag"]),
    "cumulative_risk": (lambda c: rates.cumulative_risk(DF, by="g", age="age_group", conf=c),
                        lambda c: ["g", "count", "unknown_age", "cum_rate", "cum_rate_se", "cum_risk",
                                   "se"] + _limits(c) + ["flag"]),
    "isr_exact": (lambda c: rates.isr(DF, by="g", conf=c, method="exact"),
                  lambda c: ["g", "observed", "expected", "value"] + _limits(c) + ["ci_method", "flag"]),
    "isr_auto": (lambda c: rates.isr(DF, by="g", conf=c, method="auto"),
                 lambda c: ["g", "observed", "expected", "value"] + _limits(c) + ["ci_method", "flag"]),
    "rate_ratio": (lambda c: rates.rate_ratio(DF[DF.g == "a"], DF[DF.g == "b"], standard=STD, conf=c),
                   lambda c: ["rate1", "rate2", "ratio"] + _limits(c, "ratio_") + ["ratio_p", "difference"]
                   + _limits(c, "difference_") + ["difference_p"]),
    "rate_ratio_crude": (lambda c: rates.rate_ratio(DF[DF.g == "a"], DF[DF.g == "b"], crude=True, conf=c),
                         lambda c: ["rate1", "rate2", "ratio"] + _limits(c, "ratio_") + ["ratio_p",
                                    "difference"] + _limits(c, "difference_") + ["difference_p"]),
    "funnel_limits": (lambda c: rates.funnel_limits([1, 2, 3], conf=c), lambda c: ["x"] + _limits(c)),
}


@pytest.mark.parametrize("conf", [0.95, [0.95, 0.998]], ids=["one_level", "two_levels"])
@pytest.mark.parametrize("name", list(CALLS))
def test_exact_result_columns(name, conf):
    call, expected = CALLS[name]
    assert list(call(conf).columns) == expected(conf)


def test_issue_column_names_are_all_present():
    """The names the issue fixes, read straight from its text."""
    assert {"value", "lower", "upper"} <= set(rates.crude_rate(5, 100).columns)
    assert {"by", "count", "population", "crude_rate", "value", "se", "lower", "upper", "flag"} - {"by"} \
        <= set(rates.dsr(DF, standard=STD).columns)
    assert {"cum_rate", "cum_risk", "se", "lower", "upper"} <= set(
        rates.cumulative_risk(DF, age="age_group").columns)
    assert {"observed", "expected", "value", "lower", "upper"} <= set(rates.isr(DF).columns)
    two = rates.dsr(DF, standard=STD, conf=[0.95, 0.998])
    assert {"lower_95", "upper_95", "lower_99_8", "upper_99_8"} <= set(two.columns)
    assert "lower" not in two.columns


# --- flag codes and their labels --------------------------------------------------------------
def _flag_frame():
    """Groups that raise every DSR flag."""
    rows = []
    add = lambda g, a, d, p: rows.append({"g": g, "age_group": a, "count": d, "population": p})
    for a in LABELS:
        add("ok", a, 5, 1000.0)
        add("few", a, 1, 1000.0)
        add("nopop_missing", a, 1, np.nan)
        add("zero_pop", a, 2, 0.0 if a == "0-4" else 1000.0)
        add("no_cases", a, 0, 1000.0)
    add("unk", "0-4", 3, 1000.0)
    add("unk", "5-9", 3, 1000.0)
    add("unk", None, 2, 0.0)
    return pd.DataFrame(rows)


def _codes(series):
    return {c for v in series for c in str(v).split(";") if c}


def test_every_flag_code_is_labelled_in_every_language():
    for lang in i18n.LANGUAGES:
        data = json.loads((i18n.I18N_DIR / lang / "rates.json").read_text(encoding="utf-8"))
        missing = [c for c in rates.FLAG_CODES if f"rates.flag.{c}" not in data]
        assert not missing, (lang, missing)
    # and the labels really differ by language (not English copied)
    en = rates.flag_labels(pd.Series(["below_min_count"]), "en", min_count=10).iloc[0]
    az = rates.flag_labels(pd.Series(["below_min_count"]), "az", min_count=10).iloc[0]
    ru = rates.flag_labels(pd.Series(["below_min_count"]), "ru", min_count=10).iloc[0]
    assert en == "fewer than 10 cases: not calculated"
    assert len({en, az, ru}) == 3 and all("10" in s for s in (az, ru))


@pytest.mark.parametrize("method", ["dobson", "lognormal", "tiwari"])
def test_frames_hold_codes_only(method):
    df = _flag_frame()
    r = rates.dsr(df, by="g", standard=STD, method=method, min_count=4, unknown_age="redistribute")
    r = disclosure.flag_unreliable(r, 16)
    r = disclosure.suppress(r, 4)
    codes = _codes(r["flag"])
    assert codes <= set(rates.FLAG_CODES), codes - set(rates.FLAG_CODES)
    f = r.set_index("g")["flag"]
    assert "below_min_count" in f["few"] and "population_missing" in f["nopop_missing"]
    assert "population_zero_with_cases" in f["zero_pop"] and "unknown_age_redistributed" in f["unk"]
    assert "unreliable" in f["ok"] and "suppressed" in f["few"]   # 3 cases < k = 4
    none = rates.dsr(df[df.g == "no_cases"], standard=STD, method=method).iloc[0]
    assert none["flag"] == ("" if method == "tiwari" else "limits_undefined")
    labels = rates.flag_labels(r, "en").set_axis(r["g"])
    assert "fewer than 4 cases: not calculated" in labels["few"]
    assert "unreliable: fewer than 16 cases" in labels["ok"]
    assert "suppressed: fewer than 4 cases" in labels["few"]
    ru = rates.flag_labels(r, "ru").set_axis(r["g"])
    assert "менее 16 случаев" in ru["ok"]


def test_other_measures_flag_codes():
    a = rates.age_specific(DF.assign(population=[0.0, 1000, 1000] * 2), by="g")
    assert _codes(a["flag"]) == {"population_zero"}
    i = rates.isr(DF.assign(population=0.0), by="g")
    assert _codes(i["flag"]) == {"expected_zero"}
    c = rates.cumulative_risk(DF[DF.age_group != "5-9"], by="g", age="age_group")
    assert _codes(c["flag"]) == {"age_groups_missing"}
    # a gap in the age axis of the whole input (not only of some groups) is flagged too
    d = rates.dsr(DF[DF.age_group != "5-9"], by="g", standard=STD)
    assert _codes(d["flag"]) == {"age_groups_missing"}
    assert _codes(rates.dsr(DF, by="g", standard=STD)["flag"]) == set()


def test_preset_output_keeps_rules_and_codes():
    r = presets.dsr(_flag_frame()[lambda d: d.g.isin(["ok", "few"])], "seer", by="g", standard=STD)
    assert r.attrs["preset"] == "seer" and r.attrs["disclosure"]["k"] == 16
    assert r.attrs["disclosure"]["unreliable_below"] == 16
    assert _codes(r["flag"]) == {"unreliable", "suppressed"}


def test_preset_suppression_is_complementary_over_the_last_two_by_columns():
    """seer (k = 16) on region × sex × site: within each region no sex and no site has exactly
    one withheld cell (Hundepool et al. 2012, §4.2), and withheld rates are blank."""
    rows = []
    counts = {("A", 1, "x"): 5, ("A", 1, "y"): 40, ("A", 2, "x"): 30, ("A", 2, "y"): 50,
              ("B", 1, "x"): 60, ("B", 1, "y"): 70, ("B", 2, "x"): 80, ("B", 2, "y"): 90}
    for (reg, sex, site), n in counts.items():
        for a in LABELS:
            rows.append({"region": reg, "sex": sex, "site": site, "age_group": a,
                         "count": n / 3, "population": 1e4})
    r = presets.dsr(pd.DataFrame(rows), "seer", by=["region", "sex", "site"], standard=STD)
    status = r.set_index(["region", "sex", "site"])["suppression"]
    assert status[("A", 1, "x")] == "primary"
    assert (status.loc["A"] != "").all()          # 40 and 30 complementary, then 50
    assert (status.loc["B"] == "").all()
    assert r.loc[r["suppressed"], "value"].isna().all()
    assert "complementary" in r.attrs["disclosure"]["rule"]


def test_flag_label_of_one_value_with_and_without_thresholds():
    assert rates.flag_label("unreliable;suppressed", "en", n=16, k=10) == \
        "unreliable: fewer than 16 cases; suppressed: fewer than 10 cases"
    assert rates.flag_label("suppressed", "ru") == "скрыто: слишком мало случаев"
    assert rates.flag_label("below_min_count", "az") == "hallar çox azdır: hesablanmayıb"
    assert rates.flag_label("", "en") == "" and rates.flag_label("something_else") == "something_else"
    for lang in i18n.LANGUAGES:
        for code in rates.FLAG_CODES:
            assert rates.flag_label(code, lang, min_count=1, n=1, k=1) != code, (lang, code)
            assert "{" not in rates.flag_label(code, lang) and rates.flag_label(code, lang) != code


def test_presets_change_method_standard_thresholds_and_rounding():
    """ci5, seer and phe on the same data give the settings of those tools (methods.md §1, §8)."""
    ages = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
            "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+"]
    rows = [{"g": g, "age_group": a, "count": (i + 1) * m, "population": 10000.0}
            for g, m in (("big", 3), ("small", 0)) for i, a in enumerate(ages)]
    rows += [{"g": "small", "age_group": "60-64", "count": 9, "population": 10000.0},
             {"g": "big", "age_group": None, "count": 30, "population": 0.0}]
    df = pd.DataFrame(rows)
    out = {p: presets.dsr(df, p, by="g").set_index("g") for p in ("ci5", "seer", "phe")}
    ci5, seer, phe = out["ci5"], out["seer"], out["phe"]
    # ci5: Segi world, normal limits ASR ± 1.96·SE, unknown age redistributed, one decimal
    raw = rates.dsr(df, by="g", method="normal", standard="world_segi1960",
                    unknown_age="redistribute").set_index("g")
    assert ci5.loc["big", "value"] == round(raw.loc["big", "value"], 1)
    known = raw.loc["big", "count"] - 30
    excl = rates.dsr(df, by="g", standard="world_segi1960").set_index("g")
    assert raw.loc["big", "value"] == pytest.approx(excl.loc["big", "value"] * (known + 30) / known)
    assert ci5.loc["big", "upper"] == round(raw.loc["big", "value"] + 1.959964 * raw.loc["big", "se"], 1)
    # seer: US 2000 standard, Tiwari, fewer than 16 cases withheld
    us = rates.dsr(df, by="g", method="tiwari", standard="us_2000").set_index("g")
    assert seer.loc["big", "value"] == round(us.loc["big", "value"], 1)
    assert seer.loc["big", "upper"] == round(us.loc["big", "upper"], 1)
    assert np.isnan(seer.loc["small", "value"]) and "unreliable" in seer.loc["small", "flag"]
    # phe: ESP 2013, Dobson with 95 % and 99.8 % limits, no DSR below 10 cases
    esp = rates.dsr(df, by="g", method="dobson", standard="europe_2013", conf=[0.95, 0.998]).set_index("g")
    assert phe.loc["big", "value"] == round(esp.loc["big", "value"], 1)
    assert phe.loc["big", "upper_99_8"] == round(esp.loc["big", "upper_99_8"], 1)
    assert np.isnan(phe.loc["small", "value"]) and phe.loc["small", "flag"] == "below_min_count"
    assert len({ci5.loc["big", "value"], seer.loc["big", "value"], phe.loc["big", "value"]}) == 3


def test_preset_rounding_of_ratios_and_p_values():
    sir = rates.isr(DF.assign(ref_count=[7, 20, 30] * 2), by="g")      # a: 6 / 5.7 = 1.0526
    r = presets.finish(sir, "phe", count="observed")
    assert r.loc[0, "value"] == 1.05 and r.loc[0, "expected"] == 5.7
    rr = rates.rate_ratio(DF[DF.g == "a"], DF[DF.g == "b"], standard=STD)
    f = presets.finish(rr, "phe")
    assert f.loc[0, "ratio_p"] == rr.loc[0, "ratio_p"] and f.loc[0, "ratio"] == round(rr.loc[0, "ratio"], 2)

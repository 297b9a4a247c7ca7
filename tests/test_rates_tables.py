"""CI5 table, presets and the counts + population joiner, checked by hand calculation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import presets, rate_inputs, rates, schema

A = schema.AGE_GROUPS
SEGI = np.array([12000, 10000, 9000, 9000, 8000, 8000, 6000, 6000, 6000, 6000, 5000, 4000, 4000,
                 3000, 2000, 1000, 500, 500]) / 100000


@pytest.fixture
def registry():
    rng = np.random.default_rng(7)
    counts = pd.DataFrame([(s, site, a, int(rng.poisson(2 + i)))
                           for s in (1, 2) for site in ("Stomach", "Lung", "Prostate")
                           for i, a in enumerate(A) if not (site == "Prostate" and s == 2)],
                          columns=["sex", "site_ci5", "age_group", "count"])
    counts = pd.concat([counts, pd.DataFrame({"sex": [1], "site_ci5": ["Lung"], "age_group": [None],
                                              "count": [3]})], ignore_index=True)
    pop = pd.DataFrame([(y, s, a, 5000.0 + 100 * i) for y in (2020, 2021) for s in (1, 2)
                        for i, a in enumerate(A)], columns=["year", "sex", "age_group", "population"])
    return counts, pop


def test_ci5_table_by_hand(registry):
    counts, pop = registry
    t = rates.ci5_table(counts, pop, decimals=None)
    assert list(t["sex"]) == [1, 1, 1, 1, 2, 2, 2]            # no female prostate row
    for _, part in t.groupby("sex"):
        assert part["site_ci5"].iloc[-1] == "All sites"         # total last, sites by frequency
        assert part["all_ages"].iloc[:-1].is_monotonic_decreasing
    lung = t[(t["sex"] == 1) & (t["site_ci5"] == "Lung")].iloc[0]
    c = counts[(counts["sex"] == 1) & (counts["site_ci5"] == "Lung")]
    known = c.dropna(subset=["age_group"]).set_index("age_group")["count"].reindex(A).to_numpy(float)
    py = 2 * (5000.0 + 100 * np.arange(18))               # two years pooled
    assert lung["all_ages"] == c["count"].sum() and lung["unknown_age"] == 3
    assert [lung[a] for a in A] == list(known)
    assert lung["crude_rate"] == pytest.approx(c["count"].sum() / py.sum() * 1e5)
    asr = (SEGI * known / py).sum() * 1e5 * c["count"].sum() / known.sum()   # unknown age redistributed
    assert lung["asr"] == pytest.approx(asr, rel=1e-12)
    cum = 100 * 5 * (known[:15] / py[:15]).sum() * c["count"].sum() / known.sum()
    assert lung["cum_rate_0_74"] == pytest.approx(cum)
    assert lung["cum_risk_0_74"] == pytest.approx(100 * (1 - np.exp(-cum / 100)))
    men = t[t["sex"] == 1]
    total = men[men["site_ci5"] == "All sites"].iloc[0]
    assert total["all_ages"] == men[men["site_ci5"] != "All sites"]["all_ages"].sum()
    assert lung["percent"] == pytest.approx(100 * lung["all_ages"] / total["all_ages"])
    rt = rates.ci5_table(counts, pop, values="rates", decimals=None)
    r_lung = rt[(rt["sex"] == 1) & (rt["site_ci5"] == "Lung")].iloc[0]
    assert [r_lung[a] for a in A] == pytest.approx(list(known / py * 1e5))


def test_ci5_table_from_records_and_excluded_total(registry):
    counts, pop = registry
    rows = counts.loc[counts.index.repeat(counts["count"])].drop(columns="count")
    rows["included"] = True
    t = rates.ci5_table(rows, pop, count=None, total_excludes=("Prostate",))
    men_total = t[(t["sex"] == 1) & (t["site_ci5"] == "All sites")]["all_ages"].iloc[0]
    no_prostate = counts[(counts["sex"] == 1) & (counts["site_ci5"] != "Prostate")]["count"].sum()
    assert men_total == no_prostate
    assert np.isnan(t[(t["site_ci5"] == "Prostate")]["percent"].iloc[0])


def test_join_population_zero_fill_unknown_and_errors(registry):
    counts, pop = registry
    data = rate_inputs.join_population(counts, pop, ["sex", "site_ci5"])
    female_prostate = data[(data["sex"] == 2) & (data["site_ci5"] == "Prostate")]
    assert len(female_prostate) == 18 and female_prostate["count"].sum() == 0   # zero-filled
    assert data["population"].sum() == pytest.approx(3 * pop[pop["sex"] == 1]["population"].sum()
                                                     + 3 * pop[pop["sex"] == 2]["population"].sum())
    assert data["age_group"].isna().sum() == 1
    bad = pd.DataFrame({"sex": [1], "site_ci5": ["Lung"], "age_group": ["90+"], "count": [1]})
    with pytest.raises(rates.RatesInputError, match="without population"):
        rate_inputs.join_population(bad, pop, ["sex", "site_ci5"])


def test_count_cases_respects_included():
    rec = pd.DataFrame({"sex": [1, 1, 2, 1], "age_group": ["0-4", "0-4", "5-9", None],
                        "included": [True, False, True, True]})
    c = rate_inputs.count_cases(rec, "sex")
    assert c["count"].sum() == 3 and c["age_group"].isna().sum() == 1


def test_presets_catalogue_and_rules(registry):
    cat = presets.catalogue()
    assert set(cat["name"]) == {"ci5", "seer", "phe"}
    counts, pop = registry
    data = rate_inputs.join_population(counts, pop, ["sex", "site_ci5"])
    phe = presets.dsr(data, "phe", by=["sex", "site_ci5"])
    assert {"lower_95", "upper_95", "lower_99_8", "upper_99_8"} <= set(phe.columns)
    assert phe.attrs["preset"] == "phe" and phe.attrs["method"] == "dobson"
    seer = presets.dsr(data, "seer", by=["sex", "site_ci5"], standard="world_segi1960")
    assert (seer["value"].dropna().round(1) == seer["value"].dropna()).all()
    tiny = data[data["site_ci5"] == "Lung"].assign(count=lambda d: (d["count"] > 10).astype(float))
    s2 = presets.dsr(tiny, "seer", by="sex", standard="world_segi1960")
    assert s2["value"].isna().all() and (s2["flag"] == "unreliable;suppressed").all()
    assert (rates.flag_labels(s2) == "unreliable: fewer than 16 cases; suppressed: fewer than 16 cases").all()
    assert s2["count"].isna().all() and s2.attrs["disclosure"]["k"] == 16
    assert "16" in s2.attrs["disclosure"]["reliability"]
    ci5 = presets.get("ci5")
    assert ci5.unknown_age == "redistribute" and ci5.standard == "world_segi1960"
    assert presets.customise("seer", standard="world_segi1960").standard == "world_segi1960"
    with pytest.raises(ValueError, match="unknown preset"):
        presets.get("nope")

"""Survival data from registry records (exclusions, reconciliation, completeness) by hand; the demo's
life table against the published figures it was fitted to; the demo's net survival by site in the
range published for the region; the survival chart builders."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics import demo, lifetable, survival
from analytics.charts import survival as charts
from analytics.survival import registry


def rec(**kw):
    base = dict(tumour_id="t", patient_id="p", sex=1, birth_date="1950-01-01", incidence_date="2015-01-01", age=65,
                basis=7, vital_status=1, last_contact_date="2020-01-01", included=True, region_code="R",
                year=2015, icd10="C509", site_ci5="Breast", site_globocan="Breast", cause_of_death=None)
    base.update(kw)
    return base


RECORDS = pd.DataFrame([
    rec(tumour_id="a", patient_id="1"),                                                   # used, alive
    rec(tumour_id="b", patient_id="2", vital_status=2, last_contact_date="2016-01-01"),  # used, died
    rec(tumour_id="c", patient_id="3", included=False),                                   # not counted
    rec(tumour_id="d", patient_id="4", basis=0, vital_status=2, last_contact_date="2015-01-01"),   # DCO
    rec(tumour_id="e", patient_id="5", basis=8),                                          # autopsy
    rec(tumour_id="f", patient_id="6", birth_date=None, age=None),                        # age unknown
    rec(tumour_id="g", patient_id="7", birth_date="1910-01-01", age=105),                 # 100+
    rec(tumour_id="h", patient_id="8", sex=None),                                         # sex unknown
    rec(tumour_id="i", patient_id="9", vital_status=9),                                   # vital status unknown
    rec(tumour_id="j", patient_id="10", last_contact_date=None),                          # no date
    rec(tumour_id="k", patient_id="11", last_contact_date="2015-01-01"),                  # zero time
    rec(tumour_id="l", patient_id="1", incidence_date="2017-06-01", site_ci5="Colon"),   # second primary of 1
    rec(tumour_id="m", patient_id="12", last_contact_date="2018-01-01"),                  # used, lost
])
for c in ("birth_date", "incidence_date", "last_contact_date"):
    RECORDS[c] = pd.to_datetime(RECORDS[c])


def test_exclusions_each_on_their_own_line_and_they_reconcile():
    data, recon = registry.survival_data(RECORDS, first_primary_only=True)
    lines = dict(zip(recon["reason"], recon["n"]))
    assert lines == {"read": 13, "not_counted": 1, "dco": 1, "autopsy": 1, "age_unknown": 1, "age_100": 1,
                     "sex_unknown": 1, "vital_unknown": 1, "date_unknown": 1, "zero_time": 1, "later_primary": 1,
                     "used": 3}
    assert lines["read"] == lines["used"] + sum(v for k, v in lines.items() if k not in ("read", "used"))
    assert sorted(data["tumour_id"]) == ["a", "b", "m"]
    b = data.set_index("tumour_id").loc["b"]
    assert b["time"] == 365 and b["status"] == 1
    # exact age: days between birth and incidence / 365.241
    days = (pd.Timestamp("2015-01-01") - pd.Timestamp("1950-01-01")).days
    assert b["age"] == pytest.approx(days / 365.241)
    assert b["year"] == 2015.0
    # second primaries kept unless asked
    data2, recon2 = registry.survival_data(RECORDS)
    assert "l" in set(data2["tumour_id"]) and recon2.set_index("reason").loc["later_primary", "n"] == 0


def test_closing_date_cuts_follow_up():
    data, _ = registry.survival_data(RECORDS, closing_date="2017-01-01")
    a = data.set_index("tumour_id").loc["a"]
    assert a["time"] == (pd.Timestamp("2017-01-01") - pd.Timestamp("2015-01-01")).days and a["status"] == 0


def test_clark_completeness_and_lost_by_hand():
    data, _ = registry.survival_data(RECORDS)
    close = int(np.datetime64("2020-01-01", "D").astype(np.int64))
    out = registry.completeness(data, closing_day=close).iloc[0]
    d = data.set_index("tumour_id")
    inc = d["incidence_day"]
    observed = d["time"].sum()
    potential = (close - inc["a"]) + d.loc["b", "time"] + (close - inc["m"]) + (close - inc["l"])
    assert out["n"] == 4 and out["deaths"] == 1
    assert out["n_lost"] == 1                      # m: alive, last seen 2018 before the 2020 closing date
    assert out["pct_lost"] == pytest.approx(25.0)
    assert out["clark_c"] == pytest.approx(100 * observed / potential)


# --- the demo ---------------------------------------------------------------------------------
def test_demo_life_table_matches_the_published_life_expectancy():
    lt = demo.load_demo_lifetable()
    assert lifetable.check_lifetable(lt) == []
    assert sorted(lt["year"].unique()) == list(range(2000, 2026)) and lt["age"].max() == 100
    # life expectancy computed here from qx (constant hazard within each year of age; 100+ open)
    def e(q, age):
        lam = -np.log1p(-q)
        p = np.exp(-lam)
        lx = np.concatenate([[1.0], np.cumprod(p)])[:-1]
        return ((lx * (1 - p) / lam)[age:].sum() + lx[-1] * p[-1] / lam[-1]) / lx[age]
    who = {(2000, 1): (64, 16), (2000, 2): (69, 18), (2012, 1): (69, 17), (2012, 2): (75, 20)}
    for (year, sex), (e0, e60) in who.items():
        q = lt[(lt["year"] == year) & (lt["sex"] == sex)].sort_values("age")["qx"].to_numpy()
        assert e(q, 0) == pytest.approx(e0, abs=0.01) and e(q, 60) == pytest.approx(e60, abs=0.01)
    q24 = lt[(lt["year"] == 2024) & (lt["sex"] == 2)].sort_values("age")["qx"].to_numpy()
    assert e(q24, 0) == pytest.approx(75 + 0.2 * 12, abs=0.01)


@pytest.fixture(scope="module")
def demo_survival():
    data, recon = registry.survival_data(demo.load_demo().records)
    return data, recon


def test_demo_net_survival_by_site_is_in_the_regional_range(demo_survival):
    data, recon = demo_survival
    assert recon.set_index("reason").loc["dco", "n"] > 5000          # DCO cases have no survival time
    comp = registry.completeness(data).iloc[0]
    assert 95 < comp["clark_c"] < 99 and 1 < comp["pct_lost"] < 6
    lt = demo.load_demo_lifetable()
    sites = ["Pancreas", "Lung (incl. trachea and bronchus)", "Stomach", "Colon", "Breast", "Prostate", "Thyroid"]
    d = data[data["site_ci5"].isin(sites) & (data["age"] >= 15)]
    out = survival.net_survival(d, lt, times=(1, 5, 10), by=["site_ci5"], approach="period", period=(2020, 2024))
    five = out[out["time"] == 5].set_index("site_ci5")["estimate"]
    # 5-year net survival in the range CONCORD-3 published for neighbouring countries (2010-14)
    ranges = {"Pancreas": (0.04, 0.15), "Lung (incl. trachea and bronchus)": (0.08, 0.2), "Stomach": (0.18, 0.35),
              "Colon": (0.45, 0.65), "Breast": (0.7, 0.9), "Prostate": (0.7, 0.92), "Thyroid": (0.85, 1.0)}
    for site, (lo, hi) in ranges.items():
        assert lo < five[site] < hi, (site, five[site])
    one = out[out["time"] == 1].set_index("site_ci5")["estimate"]
    ten = out[out["time"] == 10].set_index("site_ci5")["estimate"]
    assert (one > five).all() and (five >= ten - 0.02).all()
    # dead patients all carry a cause of death; mostly the cancer itself
    r = demo.load_demo_tumours()
    dead = r[r["vital_status"] == 2]
    assert dead["cause_of_death"].notna().all()
    assert 0.8 < dead["cause_of_death"].str.startswith("C").mean() < 0.97


# --- charts -------------------------------------------------------------------------------------
def test_curve_chart_draws_steps_bands_and_observed():
    curve = pd.DataFrame({"group": [1, 1, 2, 2], "time": [100, 400, 200, 800], "estimate": [0.9, 0.8, 0.95, 0.7],
                          "lower": [0.85, 0.7, 0.9, 0.6], "upper": [0.95, 0.9, 0.99, 0.8]})
    fig = charts.survival_curves_chart(curve, group="group", labels={1: "Men", 2: "Women"}, observed=curve,
                                       lang="az", title="x")
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    assert len(lines) == 4 and {tr.line.shape for tr in fig.data} == {"hv"}
    assert list(lines[0].y) == [100.0, 90.0, 80.0] and lines[0].x[0] == 0.0
    assert lines[0].x[-1] == pytest.approx(400 / 365.241)
    assert fig.layout.xaxis.title.text == "Diaqnozdan sonrakı illər"
    assert sum(tr.fill == "toself" for tr in fig.data) == 2
    site = pd.DataFrame({"site": ["Breast", "Lung (incl. trachea and bronchus)"], "time": 5.0, "estimate": [0.8, 0.1],
                         "lower": [0.75, 0.08], "upper": [0.85, 0.12]})
    bar = charts.survival_by_site_chart(site, lang="ru")
    assert list(bar.data[0].x) == [80.0, 10.0] and math.isclose(bar.data[0].error_x.array[0], 5.0)
    assert bar.data[0].y[0] == "Молочная железа"


def test_a_curve_with_more_steps_than_pixels_is_drawn_from_its_own_points_within_one_slice():
    rng = np.random.default_rng(3)
    days = np.unique(rng.integers(1, 3653, 5000))                       # about 3,000 distinct days
    est = np.cumprod(1 - rng.uniform(0, 4e-4, days.size))
    curve = pd.DataFrame({"time": days, "estimate": est, "lower": est - 0.02, "upper": est + 0.02})
    fig = charts.survival_curves_chart(curve, observed=curve)
    line, band, dashed = fig.data[1], fig.data[0], fig.data[2]
    x_all = np.r_[0.0, days / 365.241]
    y_all = np.r_[100.0, est * 100]
    x, y = np.asarray(line.x), np.asarray(line.y)
    assert x.size <= charts.STEP_POINTS + 1 < x_all.size
    assert np.asarray(band.x).size == 2 * x.size and np.asarray(dashed.x).size == x.size
    # every point drawn is a point of the curve, the first and the last included
    at = np.searchsorted(x_all, x)
    assert np.array_equal(x_all[at], x) and np.array_equal(y_all[at], y) and x[-1] == x_all[-1] and y[0] == 100
    # every step of the curve is drawn no more than one slice later than it falls
    nxt = np.searchsorted(x, x_all)
    assert (x[nxt] - x_all).max() <= (x_all[-1] - x_all[0]) / charts.STEP_POINTS + 1e-12
    assert np.array_equal(charts.thinned(x_all[:50]), np.arange(50))      # few steps: every one

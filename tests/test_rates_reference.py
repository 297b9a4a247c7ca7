"""Every published reference case in tests/reference_cases/ (except joinpoint) through the public
rate functions, at the tolerance tests/reference_cases/README.md gives for its file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import rates

CASES = Path(__file__).resolve().parent / "reference_cases"


def _json(name):
    return json.loads((CASES / name).read_text())


def _close(actual, expected, rel=None, abs_=None):
    if expected is None:
        assert np.isnan(actual), f"expected no value, got {actual}"
        return
    assert actual == pytest.approx(expected, rel=rel, abs=abs_)


def _limit_cols(limits):
    if len(limits) == 1:
        return [("lower", "upper", limits[0])]
    out = []
    for lim in limits:
        suffix = f"{lim['confidence'] * 100:.10g}".replace(".", "_")
        out.append((f"lower_{suffix}", f"upper_{suffix}", lim))
    return out


# --- PHE DSR (Dobson + Byar), relative 1e-9 -------------------------------------------------
PHE_DSR = _json("phe_dsr_dobson.json")["cases"]


@pytest.mark.parametrize("case", PHE_DSR, ids=[c["id"] for c in PHE_DSR])
def test_phe_dsr_dobson(case):
    i, e = case["inputs"], case["expected"]
    df = pd.DataFrame({"age_group": i["ageband"], "count": i["count"], "population": i["pop"],
                       "stdpop": i["stdpop"]})
    levels = [lim["confidence"] for lim in e["limits"]]
    r = rates.dsr(df, standard="stdpop", method="dobson", conf=levels,
                  multiplier=case["multiplier"], min_count=10).iloc[0]
    assert r["count"] == e["total_count"]
    assert r["population"] == e["total_pop"]
    _close(r["value"], e["value"], rel=1e-9)
    for lo, up, lim in _limit_cols(e["limits"]):
        _close(r[lo], lim["lower"], rel=1e-9)
        _close(r[up], lim["upper"], rel=1e-9)
    if e["value"] is None:
        assert r["flag"] == "below_min_count"
        assert rates.flag_labels(pd.Series([r["flag"]]), min_count=10).iloc[0] \
            == "fewer than 10 cases: not calculated"


def test_phe_dsr_all_groups_at_once():
    """The same cases stacked in one frame and computed in one call (vectorised over groups)."""
    frames = []
    for case in PHE_DSR:
        if case["multiplier"] != 100000:
            continue
        i = case["inputs"]
        frames.append(pd.DataFrame({"case": case["id"], "age_group": i["ageband"], "count": i["count"],
                                    "population": i["pop"], "stdpop": i["stdpop"]}))
    r = rates.dsr(pd.concat(frames), standard="stdpop", method="dobson", by="case",
                  min_count=10).set_index("case")
    for case in PHE_DSR:
        if case["multiplier"] == 100000:
            _close(r.loc[case["id"], "value"], case["expected"]["value"], rel=1e-9)
            _close(r.loc[case["id"], "upper"], case["expected"]["limits"][0]["upper"], rel=1e-9)


# --- PHE DSR, non-independent events, absolute 1e-7 ----------------------------------------
PHE_NONIND = _json("phe_dsr_nonindependent.json")["cases"]


@pytest.mark.parametrize("case", PHE_NONIND, ids=[c["id"] for c in PHE_NONIND])
def test_phe_dsr_nonindependent(case):
    i, e = case["inputs"], case["expected"]
    rows = []
    for f, persons in i["persons_by_event_frequency"].items():
        rows.append(pd.DataFrame({"age_group": i["ageband"], "freq": int(f),
                                  "count": np.asarray(persons) * int(f), "population": i["pop"],
                                  "stdpop": i["stdpop"]}))
    df = pd.concat(rows, ignore_index=True)
    limits = e["limits"] or [{"confidence": 0.95, "lower": None, "upper": None},
                             {"confidence": 0.998, "lower": None, "upper": None}]
    # The population is per age group, repeated on each frequency row: keep it once.
    df.loc[df["freq"] != df["freq"].min(), "population"] = 0
    r = rates.dsr(df, standard="stdpop", method="dobson", conf=[l["confidence"] for l in limits],
                  multiplier=case["multiplier"], min_count=10, frequency="freq").iloc[0]
    assert r["count"] == e["total_events"]
    _close(r["value"], e["value"], abs_=1e-7)
    for lo, up, lim in _limit_cols(limits):
        _close(r[lo], lim["lower"], abs_=1e-7)
        _close(r[up], lim["upper"], abs_=1e-7)


# --- Fay-Feuer gamma DSR, relative 1e-6 -----------------------------------------------------
FF = _json("fay_feuer_gamma_dsr.json")["cases"]


@pytest.mark.parametrize("case", FF, ids=[c["id"] for c in FF])
def test_fay_feuer(case):
    i, e = case["inputs"], case["expected"]
    df = pd.DataFrame({"age_group": i["ageband"], "count": i["count"], "population": i["pop"]})
    std = pd.Series(i["stdpop"], index=i["ageband"])
    r = rates.dsr(df, standard=std, method="fay_feuer", conf=case["confidence"],
                  multiplier=case["multiplier"]).iloc[0]
    for k in ("value", "lower", "upper"):
        _close(r[k], e[k], rel=1e-6)
    if "variance_unscaled" in e:
        _close((r["se"] / case["multiplier"]) ** 2, e["variance_unscaled"], rel=1e-6)
        _close(r["crude_rate"], e["crude_rate"], rel=1e-6)
        cr = rates.crude_rate(e["cases"], sum(i["pop"]), method="exact",
                              multiplier=case["multiplier"]).iloc[0]
        _close(cr["lower"], e["crude_lower"], rel=1e-6)
        _close(cr["upper"], e["crude_upper"], rel=1e-6)


# --- SEER*Stat tutorial, US 2000 standard ----------------------------------------------------
SEER = _json("asr_published_worked_examples.json")["cases"]


@pytest.mark.parametrize("case", SEER, ids=[c["id"] for c in SEER])
@pytest.mark.parametrize("standard", ["given", "us_2000"])
def test_seer_tutorial_aar(case, standard):
    i, e = case["inputs"], case["expected"]
    df = pd.DataFrame({"age_group": i["ageband"], "count": i["count"], "population": i["pop"]})
    std = pd.Series(i["stdpop"], index=i["ageband"]) if standard == "given" else "us_2000"
    r = rates.dsr(df, standard=std, method="tiwari").iloc[0]
    assert abs(r["value"] - e["age_adjusted_rate"]) <= 0.05
    spec = rates.age_specific(df)
    assert np.abs(spec["value"].to_numpy() - e["crude_rate_by_age_1dp"]).max() <= 0.05
    weights = np.asarray(i["stdpop"]) / e["std_total"]
    assert np.abs(weights - e["std_weights_6dp"]).max() <= 5e-7
    terms = weights * spec["value"].to_numpy()
    assert np.abs(terms - e["weighted_terms_2dp"]).max() <= 0.005


# --- PHE ISR (ratio and rate), relative 1e-9 --------------------------------------------------
PHE_ISR = _json("phe_isr.json")["cases"]


@pytest.mark.parametrize("case", PHE_ISR, ids=[c["id"] for c in PHE_ISR])
def test_phe_isr(case):
    i, e = case["inputs"], case["expected"]
    df = pd.DataFrame({"age_group": i["ageband"], "count": i["count"], "population": i["pop"],
                       "ref_count": i["refcount"], "ref_population": i["refpop"]})
    levels = [lim["confidence"] for lim in e["limits"]]
    kw = (dict(statistic="rate", multiplier=case["multiplier"]) if case["statistic"] == "ISRate"
          else dict(statistic="ratio", refvalue=case["refvalue"]))
    r = rates.isr(df, conf=levels, method="auto", **kw).iloc[0]
    assert r["observed"] == e["observed"]
    _close(r["expected"], e["expected"], rel=1e-9)
    _close(r["value"], e["value"], rel=1e-9)
    for lo, up, lim in _limit_cols(e["limits"]):
        _close(r[lo], lim["lower"], rel=1e-9)
        _close(r[up], lim["upper"], rel=1e-9)
    assert r["ci_method"] == {"Byars": "byar", "Exact": "exact"}[e["method_label"]]


# --- PHStatsMethods ISR with observed totals, relative 1e-9 ------------------------------------
PHSM = _json("phsm_isr_observed_totals.json")["cases"]


def test_phsm_isr_observed_totals_vectorised():
    rows, obs = [], {}
    for case in PHSM:
        i = case["inputs"]
        rows.append(pd.DataFrame({"case": case["id"], "age_start": i["ageband_start"],
                                  "count": i["agespecific_obs_not_used"], "population": i["pop"],
                                  "ref_count": i["refcount"], "ref_population": i["refpop"]}))
        obs[case["id"]] = i["observed_total"]
    df = pd.concat(rows, ignore_index=True)
    r = rates.isr(df, by="case", observed=pd.Series(obs), method="byar").set_index("case")
    assert len(r) == len(PHSM)
    for case in PHSM:
        e = case["expected"]
        row = r.loc[case["id"]]
        assert row["observed"] == e["observed"]
        _close(row["expected"], e["expected"], rel=1e-9)
        _close(row["value"], e["value"], rel=1e-9)
        _close(row["lower"], e["limits"][0]["lower"], rel=1e-9)
        _close(row["upper"], e["limits"][0]["upper"], rel=1e-9)


def test_phsm_isr_observed_as_column():
    case = PHSM[0]
    i = case["inputs"]
    df = pd.DataFrame({"population": i["pop"], "ref_count": i["refcount"],
                       "ref_population": i["refpop"], "obs": i["observed_total"]})
    r = rates.isr(df, observed="obs", method="byar").iloc[0]
    _close(r["value"], case["expected"]["value"], rel=1e-9)


# --- Byar and Wilson limits, relative 1e-9 -----------------------------------------------------
BW = pd.read_csv(CASES / "phe_byar_wilson.csv")


@pytest.mark.parametrize("row", BW.to_dict("records"), ids=list(BW["case_id"]))
def test_phe_byar_wilson(row):
    if row["method"] == "Byar":
        r = rates.poisson_limits(row["x"], conf=row["confidence"], method="byar").iloc[0]
    else:
        r = rates.proportion(row["x"], row["n"], conf=row["confidence"]).iloc[0]
    for col, key in (("lower", "expected_lower"), ("upper", "expected_upper")):
        exp = row[key]
        _close(r[col], None if pd.isna(exp) else exp, rel=1e-9)


# --- crude rates, relative 1e-9 ------------------------------------------------------------------
CR = pd.read_csv(CASES / "phe_crude_rate.csv")


@pytest.mark.parametrize("row", CR.to_dict("records"), ids=list(CR["case_id"]))
def test_phe_crude_rate(row):
    r = rates.crude_rate(row["numerator"], row["denominator"], conf=row["confidence"],
                         multiplier=row["multiplier"], method="auto").iloc[0]
    for col, key in (("value", "expected_value"), ("lower", "expected_lower"), ("upper", "expected_upper")):
        exp = row[key]
        _close(r[col], None if pd.isna(exp) else exp, rel=1e-9)


def test_phe_crude_rate_vectorised():
    sub = CR[CR["confidence"] == 0.95]
    r = rates.crude_rate(sub["numerator"], sub["denominator"], multiplier=sub["multiplier"].to_numpy())
    np.testing.assert_allclose(r["value"], sub["expected_value"], rtol=1e-9)
    np.testing.assert_allclose(r["lower"], sub["expected_lower"], rtol=1e-9)
    np.testing.assert_allclose(r["upper"], sub["expected_upper"], rtol=1e-9)


# --- proportions, relative 1e-9 --------------------------------------------------------------------
PR = pd.read_csv(CASES / "phe_proportion_wilson.csv")


@pytest.mark.parametrize("row", PR.to_dict("records"), ids=list(PR["case_id"]))
def test_phe_proportion(row):
    r = rates.proportion(row["numerator"], row["denominator"], conf=row["confidence"],
                         multiplier=row["multiplier"]).iloc[0]
    for col, key in (("value", "expected_value"), ("lower", "expected_lower"), ("upper", "expected_upper")):
        exp = row[key]
        _close(r[col], None if pd.isna(exp) else exp, rel=1e-9)


# --- every reference file is exercised, every case of it ----------------------------------------
USED = {"phe_dsr_dobson.json": PHE_DSR, "phe_dsr_nonindependent.json": PHE_NONIND,
        "fay_feuer_gamma_dsr.json": FF, "asr_published_worked_examples.json": SEER,
        "phe_isr.json": PHE_ISR, "phsm_isr_observed_totals.json": PHSM,
        "phe_byar_wilson.csv": BW, "phe_crude_rate.csv": CR, "phe_proportion_wilson.csv": PR}


def test_every_reference_file_and_case_is_run():
    """The files on disk (joinpoint belongs to trends), the case counts the README states, and the
    lists the tests above parametrise over (one test per case, or one vectorised call) agree."""
    on_disk = {p.name for p in CASES.iterdir() if p.suffix in (".json", ".csv")}
    assert on_disk - {"joinpoint_apc_uk_mortality.json"} == set(USED)
    readme = (CASES / "README.md").read_text()
    for name, cases in USED.items():
        line = next(l for l in readme.splitlines() if l.startswith(f"| `{name}`"))
        stated = int(line.split("|")[2].strip())
        assert len(cases) == stated, name

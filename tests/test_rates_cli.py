"""``python -m analytics rates`` on small files: CSV and Excel output, presets, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import rate_inputs, rates, schema
from analytics.__main__ import main

AGES = schema.AGE_GROUPS


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(4)
    pop = pd.DataFrame([(y, r, s, a, i * 5, float(rng.integers(2000, 9000)))
                        for y in (2020, 2021) for r in ("R1", "R2") for s in (1, 2)
                        for i, a in enumerate(AGES)], columns=schema.POPULATION_COLUMNS)
    counts = pd.DataFrame([(r, s, a, int(rng.poisson(3 + i)))
                           for r in ("R1", "R2") for s in (1, 2) for i, a in enumerate(AGES)],
                          columns=["region_code", "sex", "age_group", "count"])
    counts = pd.concat([counts, pd.DataFrame({"region_code": ["R1"], "sex": [1],
                                              "age_group": [None], "count": [4]})])
    pop_path, cases_path = tmp_path / "pop.csv", tmp_path / "cases.csv"
    pop.to_csv(pop_path, index=False)
    counts.to_csv(cases_path, index=False)
    return pop, counts, pop_path, cases_path


def test_cli_dsr_csv_matches_library(files, tmp_path):
    pop, counts, pop_path, cases_path = files
    out = tmp_path / "r.csv"
    code = main(["rates", "--population", str(pop_path), "--cases", str(cases_path),
                 "--by", "region_code,sex", "--standard", "world_segi1960", "--method", "tiwari",
                 "--out", str(out)])
    assert code == 0
    got = pd.read_csv(out)
    data = rate_inputs.join_population(counts, pop, ["region_code", "sex"])
    want = rates.dsr(data, by=["region_code", "sex"])
    assert len(got) == 4
    np.testing.assert_allclose(got["value"], want["value"], rtol=1e-9)
    np.testing.assert_allclose(got["upper"], want["upper"], rtol=1e-9)
    assert got.loc[(got["region_code"] == "R1") & (got["sex"] == 1), "unknown_age"].item() == 4
    # population pooled over the two years: person-years
    assert got["population"].sum() == pytest.approx(pop["population"].sum())
    assert "tiwari" in (tmp_path / "r.csv.meta.txt").read_text()


def test_cli_excel_with_preset(files, tmp_path):
    _, _, pop_path, cases_path = files
    out = tmp_path / "r.xlsx"
    assert main(["rates", "--population", str(pop_path), "--cases", str(cases_path), "--by", "sex",
                 "--preset", "phe", "--out", str(out)]) == 0
    book = pd.read_excel(out, sheet_name=None)
    assert set(book) == {"rates", "method"}
    assert {"lower_95", "upper_99_8"} <= set(book["rates"].columns)
    meth = dict(zip(book["method"]["item"], book["method"]["value"]))
    assert meth["method"] == "dobson" and meth["preset"] == "phe"


def test_cli_other_measures(files, tmp_path):
    _, _, pop_path, cases_path = files
    for measure in ("crude", "age_specific", "cumulative_risk"):
        out = tmp_path / f"{measure}.csv"
        assert main(["rates", "--population", str(pop_path), "--cases", str(cases_path),
                     "--by", "sex", "--measure", measure, "--out", str(out)]) == 0
        assert len(pd.read_csv(out)) >= 2


def test_cli_bad_input_is_one_sentence(files, tmp_path, capsys):
    _, _, pop_path, cases_path = files
    code = main(["rates", "--population", str(pop_path), "--cases", str(cases_path),
                 "--by", "district", "--out", str(tmp_path / "x.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert "district" in err and "Traceback" not in err
    code = main(["rates", "--population", str(tmp_path / "missing.csv"), "--cases", str(cases_path),
                 "--out", str(tmp_path / "x.csv")])
    assert code == 2


def test_cli_registry_extract(tmp_path):
    """A small one-row-per-tumour extract: cases are counted per group and joined to the population."""
    rng = np.random.default_rng(9)
    n = 120
    age = rng.integers(20, 90, n)
    inc = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    rec = pd.DataFrame({
        "tumour_id": [f"T{i}" for i in range(n)], "patient_id": [f"P{i}" for i in range(n)],
        "sex": rng.integers(1, 3, n), "birth_date": (inc - pd.to_timedelta(age * 365.25 + 100, unit="D")).date,
        "incidence_date": inc.date, "age": age, "topography": "C169", "morphology": "8140",
        "behaviour": 3, "basis": 7, "region_code": rng.choice(["R1", "R2"], n)})
    ext = tmp_path / "extract.csv"
    rec.to_csv(ext, index=False)
    pop = pd.DataFrame([(y, r, s, a, i * 5, 10000.0) for y in (2020, 2021) for r in ("R1", "R2")
                        for s in (1, 2) for i, a in enumerate(AGES)], columns=schema.POPULATION_COLUMNS)
    pop_path = tmp_path / "pop.csv"
    pop.to_csv(pop_path, index=False)
    out = tmp_path / "r.csv"
    assert main(["rates", "--population", str(pop_path), "--registry", str(ext),
                 "--by", "region_code,year,sex", "--out", str(out)]) == 0
    got = pd.read_csv(out)
    assert len(got) == 8
    assert got["count"].sum() == n
    assert np.isfinite(got["value"]).all() and (got["population"] == 18 * 10000.0).all()


def test_cli_isr_and_rate_ratio(files, tmp_path):
    pop, counts, pop_path, cases_path = files
    out = tmp_path / "sir.csv"
    assert main(["rates", "--population", str(pop_path), "--cases", str(cases_path),
                 "--by", "region_code,sex", "--measure", "isr", "--ref-by", "sex", "--out", str(out)]) == 0
    sir = pd.read_csv(out)
    assert len(sir) == 4
    # internal standardisation: observed and expected agree in total within each sex
    tot = sir.groupby("sex")[["observed", "expected"]].sum()
    known = counts.dropna(subset=["age_group"]).groupby("sex")["count"].sum()
    np.testing.assert_allclose(tot["expected"], known, rtol=1e-9)
    out2 = tmp_path / "rr.csv"
    assert main(["rates", "--population", str(pop_path), "--cases", str(cases_path),
                 "--by", "region_code,sex", "--measure", "rate_ratio", "--compare", "sex",
                 "--reference", "2", "--out", str(out2)]) == 0
    rr = pd.read_csv(out2)
    assert list(rr["region_code"]) == ["R1", "R2"] and (rr["sex"] == 1).all()
    assert (rr["ratio_lower"] < rr["ratio"]).all() and (rr["ratio"] < rr["ratio_upper"]).all()


def test_cli_isr_reference_specific_to_a_column_not_in_by(files, tmp_path):
    """--ref-by sex with --by region_code: expected counts use sex-specific reference rates,
    summed over sex within each region (internal standardisation: ΣE = ΣO)."""
    pop, counts, pop_path, cases_path = files
    out = tmp_path / "sir.csv"
    assert main(["rates", "--population", str(pop_path), "--cases", str(cases_path),
                 "--by", "region_code", "--measure", "isr", "--ref-by", "sex", "--out", str(out)]) == 0
    sir = pd.read_csv(out)
    assert list(sir["region_code"]) == ["R1", "R2"] and "sex" not in sir.columns
    data = rate_inputs.join_population(counts, pop, ["region_code", "sex"])
    known = data.dropna(subset=["age_group"])
    ref = known.groupby(["sex", "age_group"], observed=True)[["count", "population"]].sum()
    rate = (ref["count"] / ref["population"]).rename("r").reset_index()
    e = known.merge(rate, on=["sex", "age_group"]).assign(e=lambda d: d["population"] * d["r"])
    np.testing.assert_allclose(sir["expected"], e.groupby("region_code", observed=True)["e"].sum(), rtol=1e-9)


def test_cli_integers_rounding_and_translated_flags(files, tmp_path):
    _, _, pop_path, cases_path = files
    out = tmp_path / "r.csv"
    assert main(["rates", "--population", str(pop_path), "--cases", str(cases_path), "--by", "region_code,sex",
                 "--min-count", "230", "--decimals", "2", "--lang", "ru", "--out", str(out)]) == 0
    got = pd.read_csv(out)
    assert pd.api.types.is_integer_dtype(got["count"])
    few = got["count"] < 230
    assert few.any() and got.loc[few, "value"].isna().all()
    assert (got.loc[few, "flag"] == "below_min_count").all()
    assert (got.loc[few, "flag_text"] == "менее 230 случаев: не рассчитано").all()
    shown = got.loc[~few, "crude_rate"]
    assert (shown.round(2) == shown).all()


def test_cli_suppression_is_complementary(files, tmp_path):
    """--suppress 5 on region × sex with one cell of 3 cases: the smallest cell of its region and
    of its sex are suppressed too (then the fourth), so no cell is recoverable from a total."""
    _, _, pop_path, _ = files
    cases = pd.DataFrame({"region_code": ["R1", "R1", "R2", "R2"], "sex": [1, 2, 1, 2],
                          "age_group": "60-64", "count": [3, 50, 40, 60]})
    cases_path = tmp_path / "c.csv"
    cases.to_csv(cases_path, index=False)
    out = tmp_path / "r.csv"
    assert main(["rates", "--population", str(pop_path), "--cases", str(cases_path), "--by", "region_code,sex",
                 "--suppress", "5", "--out", str(out)]) == 0
    got = pd.read_csv(out)
    assert got["suppression"].fillna("").tolist() == ["primary", "complementary", "complementary",
                                                      "complementary"]
    for col in ("region_code", "sex"):
        per = got.groupby(col)["suppressed"].sum()
        assert not (per == 1).any(), per
    assert got.loc[got["suppressed"], "value"].isna().all()
    assert got.loc[got["suppressed"], "flag"].str.contains("suppressed").all()
    assert "complementary" in (tmp_path / "r.csv.meta.txt").read_text()

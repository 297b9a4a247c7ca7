"""The synthetic demo registry (data/demo): determinism, consistency with its sources
(UN WPP 2024, Natural Earth, the CanReg5 TRN export header), and realistic magnitudes."""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import re

import numpy as np
import pandas as pd
import pytest
import shapely

from analytics import demo, schema

REPO = schema.DATA_DIR.parent
WPP = REPO / "data" / "sources" / "azerbaijan_population_unwpp2024.csv"
TRN_HEADER = REPO / "data" / "canreg5_trn" / "export" / "trn_tumour_patient_shortnames.tsv"
STANDARDS = REPO / "data" / "reference" / "standard_populations.csv"
YEARS = list(range(2010, 2025))


def _load_generator():
    spec = importlib.util.spec_from_file_location("demo_generate", REPO / "data" / "demo" / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tumours() -> pd.DataFrame:
    return demo.load_demo_tumours()


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return demo.load_demo_population()


@pytest.fixture(scope="module")
def errors() -> pd.DataFrame:
    return demo.load_demo_errors()


@pytest.fixture(scope="module")
def wpp() -> pd.Series:
    w = pd.read_csv(WPP)
    w["sex"] = w["Sex"].map({"Male": 1, "Female": 2})
    w["age_start"] = np.minimum(w["AgeGrpStart"], 85)
    return w.groupby(["Year", "sex", "age_start"])["Value"].sum()


def _completed_years(birth: pd.Series, event: pd.Series) -> pd.Series:
    before = (event.dt.month < birth.dt.month) | ((event.dt.month == birth.dt.month) & (event.dt.day < birth.dt.day))
    return event.dt.year - birth.dt.year - before.astype(int)


# --- generator ----------------------------------------------------------------------------------
def test_generator_is_deterministic_and_committed_static_files_are_current(tmp_path):
    gen = _load_generator()
    a = gen.generate(tmp_path / "a", years=[2010])
    b = gen.generate(tmp_path / "b", years=[2010])
    for key in a:
        assert _sha(a[key]) == _sha(b[key]), f"{key} differs between two runs with the same seed"
    committed = demo.demo_paths()
    # these do not depend on the years simulated: they must equal the committed files byte for byte
    for key in ("regions", "risk_factors", "projection", "lifetable"):
        assert _sha(a[key]) == _sha(committed[key]), f"committed {key} is not what generate.py writes"
    # the population of a year does not depend on the other years either
    sub = pd.read_parquet(a["population"])
    full = demo.load_demo_population()
    pd.testing.assert_frame_equal(sub, full[full["year"] == 2010].reset_index(drop=True))


def test_generator_rejects_years_outside_the_period():
    gen = _load_generator()
    with pytest.raises(SystemExit, match="2010-2024"):
        gen._parse_years("2005-2012")


# --- population ---------------------------------------------------------------------------------
def test_population_shape_and_integers(population):
    assert list(population.columns) == schema.POPULATION_COLUMNS
    assert len(population) == 15 * 78 * 2 * 18
    assert not population.duplicated(["year", "region_code", "sex", "age_group"]).any()
    v = population["population"].to_numpy()
    assert (v >= 0).all() and (v == np.round(v)).all()
    assert sorted(population["age_group"].unique(), key=lambda s: int(s.rstrip("+").split("-")[0])) \
        == schema.AGE_GROUPS


@pytest.mark.parametrize("year", [2010, 2015, 2020])
def test_population_sums_to_un_wpp_to_the_unit(population, wpp, year):
    got = population[population["year"] == year].groupby(["sex", "age_start"])["population"].sum()
    exp = wpp.loc[year]
    assert got.to_numpy().tolist() == exp.astype(float).to_numpy().tolist()


def test_population_between_wpp_points_is_linear(population, wpp):
    got = population[population["year"] == 2012].groupby(["sex", "age_start"])["population"].sum().to_numpy()
    exp = 0.6 * wpp.loc[2010].to_numpy() + 0.4 * wpp.loc[2015].to_numpy()
    assert np.abs(got - exp).max() <= 0.5


def test_projection_is_wpp_medium_variant(wpp):
    p = demo.load_demo_projection()
    assert list(p.columns) == schema.POPULATION_COLUMNS
    assert set(p["region_code"]) == {"AZ"} and sorted(p["year"].unique()) == list(range(2025, 2051))
    for y in (2025, 2030, 2040, 2050):
        got = p[p["year"] == y].groupby(["sex", "age_start"])["population"].sum()
        assert got.to_numpy().tolist() == wpp.loc[y].astype(float).to_numpy().tolist()


# --- regions -------------------------------------------------------------------------------------
def test_regions_units_parents_orientation_and_labels():
    g = demo.load_demo_regions()
    assert list(g.columns[:5]) == schema.REGION_COLUMNS
    assert g.crs.to_epsg() == 4326
    assert len(g) == 78 and g["region_code"].is_unique and g["iso_3166_2"].is_unique
    assert g["region_name"].is_unique
    assert g["parent_code"].nunique() == 10
    exteriors = [p.exterior for geom in g.geometry for p in getattr(geom, "geoms", [geom])]
    assert not any(shapely.is_ccw(r) for r in exteriors), "exterior rings must be clockwise"
    assert g.is_valid.all()
    names = dict(zip(g["region_code"], g["region_name"]))
    assert names["AZE-1735"] == "Laçın"
    assert names["AZE-1680"] == "Göygöl" and names["AZE-1701"] == "Şabran" and names["AZE-4838"] == "Xankəndi"
    assert names["AZE-1689"] == "Bakı"
    # the Natural Earth source has these labels; the fixes must not lose the link
    src = dict(zip(g["region_code"], g["name_naturalearth"]))
    assert src["AZE-1735"] == "Lankaran" and src["AZE-1680"] == "Xanlar"


def test_every_population_and_tumour_region_is_a_map_unit(population, tumours):
    codes = set(demo.load_demo_regions()["region_code"])
    assert set(population["region_code"]) == codes
    assert set(tumours["region_code"]) <= codes


# --- risk factors --------------------------------------------------------------------------------
def test_risk_factors_cover_all_regions():
    rf = demo.load_demo_risk_factors()
    assert list(rf.columns) == schema.RISK_FACTOR_COLUMNS
    codes = set(demo.load_demo_regions()["region_code"])
    per = rf.groupby("indicator")["region_code"].agg(lambda s: set(s) == codes and s.is_unique)
    assert per.all() and len(per) >= 8
    assert {"smoking_men", "alcohol", "obesity", "hepatitis_b", "hepatitis_c"} <= set(per.index)
    assert (rf["source"] == "synthetic (demo)").all()
    ci = rf.dropna(subset=["lower"])
    assert ((ci["lower"] <= ci["value"]) & (ci["value"] <= ci["upper"])).all()


# --- tumours -------------------------------------------------------------------------------------
def test_tumour_columns_and_ids(tumours):
    assert list(tumours.columns) == schema.TUMOUR_COLUMNS
    assert tumours["tumour_id"].is_unique
    assert (tumours["tumour_id"].str[:8] == tumours["patient_id"]).all()
    assert tumours["tumour_id"].str.fullmatch(r"\d{10}").all()
    assert set(tumours["behaviour"].dropna()) <= {1, 2, 3}
    assert set(tumours["basis"].dropna()) <= set(range(10))
    assert set(tumours["vital_status"].dropna()) <= {1, 2, 9}


def test_yearly_totals_are_in_range(tumours):
    per_year = tumours.groupby(tumours["incidence_date"].dt.year).size()
    assert per_year.loc[YEARS].between(12_000, 18_000).all(), per_year.loc[YEARS].to_dict()


@pytest.mark.parametrize("sex", [1, 2])
def test_all_sites_world_asr_is_of_realistic_magnitude(tumours, population, sex):
    # independent Segi (1960) ASR from the standard in data/reference
    std = pd.read_csv(STANDARDS)
    std = std[std["standard"] == "segi_1960_world_18grp_per100k"].set_index("age_start")["weight"]
    t = tumours[(tumours["incidence_date"].dt.year == 2017) & (tumours["behaviour"] == 3)
                & (tumours["sex"] == sex) & tumours["age"].notna()]
    cases = t.groupby(np.minimum(t["age"] // 5 * 5, 85)).size().reindex(std.index, fill_value=0)
    pop = population[(population["year"] == 2017) & (population["sex"] == sex)].groupby("age_start")["population"].sum()
    asr = (cases / pop * std).sum() / std.sum() * 1e5
    assert 110 <= asr <= 160


def test_leading_sites(tumours):
    t = tumours[tumours["behaviour"] == 3]
    site = t["topography"].str[:3]
    women = site[t["sex"] == 2].value_counts()
    men = site[t["sex"] == 1].value_counts()
    assert women.index[0] == "C50" and women.iloc[0] > 3 * women.iloc[1]
    assert men.index[0] == "C34"
    assert {"C16", "C61"} <= set(men.index[:4])


def test_basis_of_diagnosis_shares(tumours):
    mv = tumours["basis"].isin(schema.MV_BASIS).mean()
    dco = (tumours["basis"] == schema.DCO_BASIS).mean()
    assert 0.80 <= mv <= 0.92 and 0.02 <= dco <= 0.06
    d = tumours[tumours["basis"] == 0].merge(demo.load_demo_errors(), on="tumour_id", how="left")
    clean = d[d["error"].isna()]
    assert (clean["morphology"] == "8000").all()
    assert (clean["vital_status"] == 2).all() and (clean["last_contact_date"] == clean["incidence_date"]).all()


def test_age_is_completed_years_between_dates_except_planted_errors(tumours, errors):
    t = tumours[~tumours["tumour_id"].isin(errors["tumour_id"])]
    assert t["age"].notna().all() and t["birth_date"].notna().all()
    assert (_completed_years(t["birth_date"], t["incidence_date"]) == t["age"]).all()
    assert (t["birth_date"] < t["incidence_date"]).all()
    assert (t["last_contact_date"] >= t["incidence_date"]).all()
    assert (t["last_contact_date"] <= pd.Timestamp("2025-06-30")).all()
    assert t["topography"].str.fullmatch(r"C\d{3}").all() and t["morphology"].str.fullmatch(r"\d{4}").all()


def test_multiple_primaries_share_patient_data(tumours):
    multi = tumours[tumours.duplicated("patient_id", keep=False)]
    assert len(multi) > 1000
    same = multi.groupby("patient_id")[["sex", "birth_date", "vital_status", "last_contact_date"]].nunique(dropna=False)
    assert (same <= 1).all().all()


def test_survival_follows_site_prognosis(tumours):
    t = tumours[(tumours["incidence_date"].dt.year <= 2014) & (tumours["behaviour"] == 3) & (tumours["basis"] != 0)]
    five = t["incidence_date"] + pd.Timedelta(days=1826)
    dead = (t["vital_status"] == 2) & (t["last_contact_date"] <= five)
    known = dead | (t["last_contact_date"] >= five)
    s5 = (~dead[known]).groupby(t.loc[known, "topography"].str[:3]).mean()
    assert s5["C25"] < 0.15 and s5["C34"] < 0.2 and 0.15 < s5["C16"] < 0.4
    assert s5["C25"] < s5["C34"] < s5["C16"] < s5["C18"] < s5["C50"] < s5["C73"]
    assert s5["C50"] > 0.7 and s5["C73"] > 0.85


def _age_std_rate(tumours, population, site, sex, years):
    t = tumours[(tumours["topography"].str[:3] == site) & (tumours["sex"] == sex) & (tumours["behaviour"] == 3)
                & tumours["incidence_date"].dt.year.isin(years) & tumours["age"].notna()]
    cases = t.groupby(np.minimum(t["age"] // 5 * 5, 85)).size()
    pop = population[population["year"].isin(years) & (population["sex"] == sex)].groupby("age_start")["population"].sum()
    w = pd.Series([12, 10, 9, 9, 8, 8, 6, 6, 6, 6, 5, 4, 4, 3, 2, 1, .5, .5], index=range(0, 90, 5))
    return float((cases.reindex(w.index, fill_value=0) / pop * w).sum() / w.sum())


@pytest.mark.parametrize("site,sex,rising", [("C16", 1, False), ("C53", 2, False), ("C73", 2, True), ("C50", 2, True)])
def test_secular_trends(tumours, population, site, sex, rising):
    early = _age_std_rate(tumours, population, site, sex, [2010, 2011, 2012])
    late = _age_std_rate(tumours, population, site, sex, [2022, 2023, 2024])
    assert (late > 1.1 * early) if rising else (late < 0.9 * early)


def test_lung_incidence_follows_smoking(tumours, population):
    rf = demo.load_demo_risk_factors()
    smoke = rf[rf["indicator"] == "smoking_men"].set_index("region_code")["value"]
    men = tumours[(tumours["sex"] == 1) & (tumours["topography"].str[:3] == "C34") & tumours["age"].notna()]
    # indirect standardisation on national age-specific rates: SIR per district
    pop = population[population["sex"] == 1].groupby(["region_code", "age_start"])["population"].sum()
    ag = np.minimum(men["age"] // 5 * 5, 85)
    nat = men.groupby(ag).size() / pop.groupby(level="age_start").sum()
    expected = (pop * nat.reindex(pop.index.get_level_values("age_start")).to_numpy()).groupby(level=0).sum()
    sir = men.groupby("region_code").size() / expected
    big = expected[expected > 50].index
    assert np.corrcoef(sir[big], smoke[big])[0, 1] > 0.3


# --- deliberate errors --------------------------------------------------------------------------
def test_readme_lists_the_planted_errors_with_their_counts(errors):
    text = demo.demo_paths()["readme"].read_text(encoding="utf-8")
    text = text.split("## Deliberate data errors", 1)[1].split("\n## ", 1)[0]
    table = dict(re.findall(r"^\| ([a-z_0-9]+) \| (\d+) \|", text, flags=re.M))
    counts = errors["error"].value_counts()
    assert {k: int(v) for k, v in table.items()} == counts.to_dict()
    assert 0.003 <= len(errors) / len(demo.load_demo_tumours()) <= 0.007


def test_planted_errors_are_what_they_say(tumours, errors):
    t = tumours.merge(errors, on="tumour_id")
    by = {k: g for k, g in t.groupby("error")}
    assert ((by["prostate_in_woman"]["sex"] == 2) & (by["prostate_in_woman"]["topography"] == "C619")).all()
    assert ((by["cervix_in_man"]["sex"] == 1) & by["cervix_in_man"]["topography"].str.startswith("C53")).all()
    assert by["missing_sex"]["sex"].isna().all()
    assert (by["incidence_before_birth"]["birth_date"] > by["incidence_before_birth"]["incidence_date"]).all()
    assert (by["future_incidence_date"]["incidence_date"] > pd.Timestamp("2027-01-01")).all()
    assert by["unknown_age_999"]["age"].isna().all() and by["unknown_age_999"]["birth_date"].isna().all()
    assert ((by["dco_with_specific_morphology"]["basis"] == 0)
            & (by["dco_with_specific_morphology"]["morphology"] != "8000")).all()
    a = by["age_inconsistent_with_dates"]
    assert (_completed_years(a["birth_date"], a["incidence_date"]) - a["age"]).abs().min() >= 2
    d = by["probable_duplicate"].merge(tumours, on=["patient_id", "topography", "morphology"], suffixes=("", "_o"))
    d = d[d["tumour_id"] != d["tumour_id_o"]]
    assert len(d) == len(by["probable_duplicate"])
    assert ((d["incidence_date"] - d["incidence_date_o"]).dt.days.between(0, 60)).all()


# --- deaths --------------------------------------------------------------------------------------
def test_deaths_are_consistent_with_the_tumours(tumours):
    deaths = demo.load_demo_deaths()
    assert list(deaths.columns) == schema.DEATH_COLUMNS
    assert (deaths["count"] > 0).all() and deaths["icd10"].str.fullmatch(r"C\d\d").all()
    # every cancer death the registry knows of is in the death counts (which also hold deaths
    # the registry missed: lost to follow-up, diagnosed before 2010)
    p = tumours.drop_duplicates("patient_id")
    known = p[(p["vital_status"] == 2) & p["cause_of_death"].str.startswith("C", na=False)
              & p["last_contact_date"].dt.year.between(2010, 2024)]
    known_per_year = known.groupby(known["last_contact_date"].dt.year).size()
    per_year = deaths.groupby("year")["count"].sum()
    assert (per_year.loc[YEARS].to_numpy() >= known_per_year.loc[YEARS].to_numpy()).all()
    incidence = tumours[tumours["behaviour"] == 3].groupby(tumours["incidence_date"].dt.year).size()
    mi = per_year.loc[YEARS] / incidence.loc[YEARS]
    assert mi.between(0.35, 0.75).all()


# --- CanReg5 export ------------------------------------------------------------------------------
def test_canreg_export_has_trn_header_and_the_same_tumours(tumours):
    raw = gzip.decompress(demo.demo_paths()["canreg5"].read_bytes()).decode("utf-8")
    lines = raw.split("\r\n")
    assert lines[0] == TRN_HEADER.read_text(encoding="utf-8").rstrip("\r\n")
    assert lines[-1] == "" and len(lines) == len(tumours) + 2
    assert "\n" not in raw.replace("\r\n", "")
    # commons-csv would quote a value with a quote or one starting with a character <= '#':
    # the generator writes none, so the unquoted file is exactly what CanReg5 writes
    assert '"' not in raw and not re.search(r"(^|\t)[ !#]", raw, flags=re.M)
    cr = pd.read_csv(io.StringIO(raw), sep="\t", dtype=str, keep_default_na=False,
                     usecols=["TUMOURID", "TOP", "ADDR", "INCID", "AGE", "SEX", "STAT", "FAMN", "FIRSTN"])
    assert (cr["TUMOURID"] == tumours["tumour_id"]).all()
    assert (("C" + cr["TOP"]) == tumours["topography"]).all()
    assert (cr["ADDR"] == tumours["region_code"]).all()
    known = ~cr["INCID"].str.endswith("99")
    assert (cr.loc[known, "INCID"] == tumours.loc[known, "incidence_date"].dt.strftime("%Y%m%d")).all()
    assert (~known).sum() > 100
    assert ((cr["AGE"] == "999") == tumours["age"].isna()).all()
    assert set(cr["SEX"]) == {"1", "2", ""} and set(cr["STAT"]) <= {"1", "2", "9"}
    assert (cr["FAMN"] != "").all() and (cr["FIRSTN"] != "").all()


# --- analytics.demo ------------------------------------------------------------------------------
def test_parquet_files_are_labelled_synthetic():
    import pyarrow.parquet as pq

    for key in ("tumours", "population", "projection", "deaths"):
        meta = pq.read_schema(demo.demo_paths()[key]).metadata
        assert meta[b"description"].startswith(b"SYNTHETIC demo data"), key


def test_demo_paths_exist_and_loaders_return_the_data_model():
    paths = demo.demo_paths()
    for key in ("tumours", "population", "projection", "deaths", "regions", "risk_factors", "canreg5"):
        assert paths[key].exists(), key
    assert list(demo.load_demo_deaths().columns) == schema.DEATH_COLUMNS


def test_load_demo_runs_the_pipeline_and_accounts_for_every_record(tumours, errors):
    reg = demo.load_demo()
    assert reg.n_read == len(tumours)
    assert reg.n_read == reg.n_used + reg.n_excluded
    assert reg.n_excluded >= errors["error"].isin(["invalid_topography", "prostate_in_woman"]).sum()


def test_canreg_export_loads_to_the_same_records_as_the_parquet(tumours):
    # the first 3,000 records through the CanReg5 reader path of the pipeline
    from analytics.pipeline import load_registry

    with gzip.open(demo.demo_paths()["canreg5"], "rb") as fh:
        head = b"".join(fh.readline() for _ in range(3001))
    reg = load_registry(head, name="canreg5_export_head.txt")
    assert reg.n_read == 3000
    assert {"FAMN", "FIRSTN"} <= set(reg.dropped_columns)
    got = reg.records.set_index("tumour_id").sort_index()
    exp = tumours.iloc[:3000].set_index("tumour_id").sort_index()
    for col in ("sex", "birth_date", "incidence_date", "age", "topography", "morphology", "behaviour", "basis",
                "region_code", "vital_status", "last_contact_date"):
        same = (got[col] == exp[col]).fillna(False) | (got[col].isna() & exp[col].isna())
        assert same.all(), col


def test_demo_tables_read_through_the_generic_readers(population):
    from analytics import readers

    paths = demo.demo_paths()
    g = readers.read_regions(paths["regions"], key="region_code", name="region_name", parent="parent_code",
                             parent_name="parent_name")
    assert len(g) == 78 and g.crs.to_epsg() == 4326
    p = readers.read_population(paths["population"])
    assert p["population"].sum() == population["population"].sum()
    assert len(readers.read_risk_factors(paths["risk_factors"])) == len(demo.load_demo_risk_factors())
    assert readers.read_deaths(paths["deaths"])["count"].sum() == demo.load_demo_deaths()["count"].sum()

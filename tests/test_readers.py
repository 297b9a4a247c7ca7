"""Generic readers: encodings, delimiters, mapping files, suggested mappings, Excel/Parquet,
identifiers, population (long/wide), regions, risk factors, deaths."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from analytics import schema as S
from analytics.auxiliary import parse_age_label
from analytics.encoding import detect_encoding
from analytics.errors import IngestError
from analytics.mapping import load_mapping, suggest_mapping
from analytics.readers import (read_deaths, read_population, read_records, read_regions,
                               read_risk_factors, sniff_delimiter)

AZ = ["Şəki", "Gəncə", "Ağdaş", "İsmayıllı", "Göyçay", "Qəbələ", "Füzuli", "Lənkəran"]
HEADER = ["tumour_id", "sex", "incidence_date", "age", "topography", "morphology", "behaviour", "basis",
          "region_code"]


def _csv(rows, header=HEADER, sep=","):
    return "\r\n".join([sep.join(header)] + [sep.join(r) for r in rows]) + "\r\n"


def _rows(regions):
    return [[f"T{i}", "1", "2020-03-0%d" % (i % 9 + 1), "50", "C34.1", "8070", "3", "7", reg]
            for i, reg in enumerate(regions)]


# --- encodings --------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding,regions", [
    ("utf-8", AZ), ("utf-8-sig", AZ), ("utf-16", AZ),
    ("cp1252", ["Zürich", "Genève", "Málaga", "Køge"]),
    ("cp1252", ["Göyçay", "Füzuli", "Ucar", "Qax"]),             # Azerbaijani names without ə ğ ı ş
    ("cp1254", ["Ağdaş", "Şamaxı", "İsmayıllı", "Göyçay"]),        # Azerbaijani Latin in Windows ANSI
    ("cp1254", ["Qışlaq", "Ağstafa", "Şabran", "Ağsu"]),
    ("cp1251", ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург"]),
    ("latin-1", ["Zürich\x81", "Genève", "Ærø", "Ñuble"]),
])
def test_encodings_survive(tmp_path, encoding, regions):
    f = tmp_path / "x.csv"
    f.write_bytes(_csv(_rows(regions)).encode(encoding))
    raw = read_records(f)
    assert list(raw.records[S.REGION]) == regions


def test_detect_encoding_rules():
    assert detect_encoding("Şəki".encode()) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfabc") == "utf-8-sig"
    assert detect_encoding("abc".encode("utf-16")) == "utf-16"
    assert detect_encoding("район Москва, область".encode("cp1251")) == "cp1251"
    assert detect_encoding("Zürich, Genève, Málaga".encode("cp1252")) == "cp1252"
    assert detect_encoding("Şamaxı, Ağdaş, İsmayıllı".encode("cp1254")) == "cp1254"
    assert detect_encoding("Reykjavík, Þórshöfn, Ísafjörður".encode("cp1252")) == "cp1252"   # Icelandic ð þ
    assert detect_encoding("Зеленоград, Ростов".encode("cp1251")) == "cp1251"


@pytest.mark.parametrize("sep", ["\t", ",", ";", "|"])
def test_delimiters(tmp_path, sep):
    f = tmp_path / "x.txt"
    f.write_text(_csv(_rows(AZ[:3]), sep=sep), encoding="utf-8")
    raw = read_records(f)
    assert raw.delimiter == sep and raw.n_read == 3 and list(raw.records[S.TOPOGRAPHY]) == ["C341"] * 3


def test_sniff_ignores_delimiters_inside_quotes():
    assert sniff_delimiter('a;b;c\r\n"1,5";"2,5";3\r\n') == ";"


# --- errors a user can fix ----------------------------------------------------------------------
def test_empty_file(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    with pytest.raises(IngestError, match="empty") as e:
        read_records(f)
    assert "empty.csv" in str(e.value)


def test_header_only_is_zero_records(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text(",".join(HEADER) + "\r\n")
    raw = read_records(f)
    assert raw.n_read == 0 and len(raw.records) == 0 and len(raw.flags) == 0


def test_missing_required_columns_names_file_and_columns(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("id,foo,bar\r\n1,2,3\r\n")
    with pytest.raises(IngestError) as e:
        read_records(f)
    msg = str(e.value)
    # the same sentence serves the Data page and the command line: no command-line flag in it
    assert "m.csv" in msg and "sex" in msg and "topography" in msg and "mapping file" in msg
    assert "--mapping" not in msg


def test_wrong_delimiter_is_explained(tmp_path):
    # a header whose separator is not among the ones sniffed: ":" is taken as the custom
    # delimiter only when consistent; here the header is one blob with commas inside quotes
    f = tmp_path / "w.csv"
    f.write_text('"sex,incidence_date,topography,age"\r\n"1,2020-01-01,C341,50"\r\n')
    with pytest.raises(IngestError, match="delimiter"):
        read_records(f)


def test_malformed_row_is_excluded_with_its_row_number(tmp_path):
    rows = _rows(AZ[:4])
    rows[1] = rows[1] + ["extra"]
    f = tmp_path / "x.csv"
    f.write_text(_csv(rows), encoding="utf-8")
    raw = read_records(f)
    assert raw.n_read == 4 and list(raw.records[S.ROW]) == [1, 3, 4]
    assert list(raw.exclusions[S.ROW]) == [2] and raw.exclusions["check"].iloc[0] == "malformed_row"


def test_unparseable_values_become_na_with_flags(tmp_path):
    rows = _rows(AZ[:3])
    rows[0][2] = "31/02/2020"      # impossible date
    rows[1][1] = "X"               # unknown sex code
    rows[2][4] = "lung"            # not a topography code
    f = tmp_path / "x.csv"
    f.write_text(_csv(rows))
    raw = read_records(f)
    fl = raw.flags.set_index(S.ROW)
    assert len(raw.records) == 3
    assert fl.loc[1, "check"] == "unparseable_date" and fl.loc[1, "column"] == S.INCIDENCE_DATE
    assert fl.loc[2, "column"] == S.SEX and "'X'" in fl.loc[2, "message"]
    assert fl.loc[3, "column"] == S.TOPOGRAPHY
    assert pd.isna(raw.records[S.INCIDENCE_DATE].iloc[0]) and pd.isna(raw.records[S.SEX].iloc[1])


# --- mapping ------------------------------------------------------------------------------------
def test_mapping_file_yaml_and_json(tmp_path):
    f = tmp_path / "their.csv"
    f.write_text("ID;Gender;DiagDate;Alter;Site;Histo;Verh;Basis;Kreis;Status\r\n"
                 "a1;M;03.02.2019;61;C18.7;8140;3;7;K1;A\r\n"
                 "a2;W;15.11.2020;45;C50.4;8500;3;5;K2;D\r\n", encoding="cp1252")
    spec = {"columns": {"ID": "tumour_id", "Gender": "sex", "DiagDate": "incidence_date", "Alter": "age",
                        "Site": "topography", "Histo": "morphology", "Verh": "behaviour", "Basis": "basis",
                        "Kreis": "region_code", "Status": "vital_status"},
            "codes": {"sex": {"M": 1, "W": 2}, "vital_status": {"A": 1, "D": 2}},
            "date_format": "%d.%m.%Y"}
    (tmp_path / "m.json").write_text(json.dumps(spec))
    import yaml
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    for m in ("m.json", "m.yaml"):
        r = read_records(f, mapping=tmp_path / m).records
        assert list(r[S.SEX]) == [1, 2] and list(r[S.VITAL_STATUS]) == [1, 2]
        assert list(r[S.INCIDENCE_DATE]) == [pd.Timestamp("2019-02-03"), pd.Timestamp("2020-11-15")]
        assert list(r[S.TOPOGRAPHY]) == ["C187", "C504"] and list(r[S.REGION]) == ["K1", "K2"]


def test_bad_mapping_messages(tmp_path):
    with pytest.raises(IngestError, match="unknown schema column"):
        load_mapping({"columns": {"x": "gender"}})
    (tmp_path / "bad.yaml").write_text("columns: [unclosed\n")
    with pytest.raises(IngestError, match="bad.yaml"):
        load_mapping(tmp_path / "bad.yaml")
    f = tmp_path / "x.csv"
    f.write_text(_csv(_rows(AZ[:1])))
    with pytest.raises(IngestError, match="not in the file"):
        read_records(f, mapping={"columns": {"Gender": "sex"}})


def test_suggest_mapping_naaccr_seer_canonical():
    naaccr = ["patientIdNumber", "primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3", "dateOfDiagnosis",
              "diagnosticConfirmation", "vitalStatus", "sex", "ageAtDiagnosis", "dateOfBirth", "countyAtDx",
              "dateOfLastContact", "nameLast"]
    m = suggest_mapping(naaccr)
    assert m["columns"] == {"patientIdNumber": S.PATIENT_ID, "primarySite": S.TOPOGRAPHY,
                            "histologicTypeIcdO3": S.MORPHOLOGY, "behaviorCodeIcdO3": S.BEHAVIOUR,
                            "dateOfDiagnosis": S.INCIDENCE_DATE, "diagnosticConfirmation": S.BASIS,
                            "vitalStatus": S.VITAL_STATUS, "sex": S.SEX, "ageAtDiagnosis": S.AGE,
                            "dateOfBirth": S.BIRTH_DATE, "countyAtDx": S.REGION, "dateOfLastContact": S.LAST_CONTACT}
    # NAACCR vital status 0 = dead, 1 = alive; confirmation 1 = positive histology
    assert m["codes"][S.VITAL_STATUS]["0"] == 2 and m["codes"][S.BASIS]["1"] == 7
    seer = suggest_mapping(["Age at diagnosis", "Sex", "Year of diagnosis", "Primary Site - labeled",
                            "Histologic Type ICD-O-3", "Behavior code ICD-O-3", "Diagnostic Confirmation",
                            "Vital status recode (study cutoff used)", "Site recode ICD-O-3/WHO 2008"])
    assert seer["columns"]["Year of diagnosis"] == S.INCIDENCE_DATE
    assert seer["columns"]["Primary Site - labeled"] == S.TOPOGRAPHY
    assert "Site recode ICD-O-3/WHO 2008" not in seer["columns"] and not seer["codes"]
    canon = suggest_mapping(S.TUMOUR_COLUMNS)["columns"]
    assert canon == {c: c for c in S.TUMOUR_COLUMNS}


def test_seer_style_values(tmp_path):
    df = pd.DataFrame({"Age at diagnosis": ["65 years", "85+ years"], "Sex": ["Male", "Female"],
                       "Year of diagnosis": ["2015", "2016"],
                       "Primary Site - labeled": ["C50.9-Breast, NOS", "C18.0-Cecum"],
                       "Histologic Type ICD-O-3": ["8500", "8140"], "Behavior code ICD-O-3": ["3", "3"],
                       "Diagnostic Confirmation": ["Positive histology", "Clinical diagnosis only"]})
    r = read_records(df).records
    assert list(r[S.AGE]) == [65, 85] and list(r[S.SEX]) == [1, 2] and list(r[S.BASIS]) == [7, 1]
    assert list(r[S.INCIDENCE_DATE]) == [pd.Timestamp("2015-07-01"), pd.Timestamp("2016-07-01")]
    assert r["incidence_date_imputed"].all() and list(r[S.TOPOGRAPHY]) == ["C509", "C180"]


# --- formats ------------------------------------------------------------------------------------
def _canonical_frame():
    return pd.DataFrame({
        S.TUMOUR_ID: ["a", "b"], S.PATIENT_ID: ["p", "q"], S.SEX: [1, 2],
        S.BIRTH_DATE: pd.to_datetime(["1950-01-02", "1960-05-06"]),
        S.INCIDENCE_DATE: pd.to_datetime(["2015-03-04", "2018-07-08"]), S.AGE: [65, 58],
        S.TOPOGRAPHY: ["C341", "C509"], S.MORPHOLOGY: ["8070", "8500"], S.BEHAVIOUR: [3, 3], S.BASIS: [7, 5],
        S.REGION: ["AZ-BA", "AZ-GA"], S.VITAL_STATUS: [2, 1],
        S.LAST_CONTACT: pd.to_datetime(["2016-01-01", "2023-12-31"]), "phone": ["+994 12 345 67 89", "+994 50 123 45 67"],
    })


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_parquet_and_xlsx(tmp_path, fmt):
    df = _canonical_frame()
    f = tmp_path / f"x.{fmt}"
    df.to_parquet(f) if fmt == "parquet" else df.to_excel(f, index=False)
    raw = read_records(f)
    r = raw.records
    assert raw.kind == fmt and list(r[S.INCIDENCE_DATE]) == list(df[S.INCIDENCE_DATE])
    assert list(r[S.SEX]) == [1, 2] and list(r[S.AGE]) == [65, 58] and list(r[S.REGION]) == ["AZ-BA", "AZ-GA"]
    assert raw.dropped_columns == {"phone": "phone number"} and "phone" not in r


def test_bytes_upload_is_read():
    data = _csv(_rows(AZ[:2])).encode("utf-8")
    raw = read_records(io.BytesIO(data), name="upload.csv")
    assert raw.source == "upload.csv" and list(raw.records[S.REGION]) == AZ[:2]


# --- privacy ------------------------------------------------------------------------------------
def test_identifiers_dropped_by_header_and_content(tmp_path):
    df = pd.DataFrame({
        "tumour_id": ["1", "2"], "sex": ["1", "2"], "incidence_date": ["20200101", "20200202"], "age": ["50", "60"],
        "topography": ["C341", "C509"], "Surname": ["Əliyev", "Həsənova"], "FIN": ["5ABC123", "7XYZ987"],
        "contact": ["ali@example.az", "hasan@mail.ru"], "tel2": ["+994 12 345 67 89", "(012) 345-6789"],
        "Address": ["12 Nizami küç., Bakı", "Füzuli pr. 5, Gəncə"], "note": ["ok", "ok"],
    })
    raw = read_records(df)
    assert raw.dropped_columns == {"Surname": "name", "FIN": "national id", "contact": "e-mail",
                                   "tel2": "phone number", "Address": "street address"}
    flat = " ".join(map(str, raw.records.to_numpy().ravel()))
    for v in ("Əliyev", "5ABC123", "example.az", "345", "Nizami"):
        assert v not in flat
    assert raw.ignored_columns == ["note"]


# --- population ---------------------------------------------------------------------------------
def test_age_labels():
    assert parse_age_label("00-04") == (0, 4) and parse_age_label("85+") == (85, None)
    assert parse_age_label("85 and over") == (85, None) and parse_age_label("85-") == (85, None)
    assert parse_age_label("5 - 9 years") == (5, 9) and parse_age_label("Under 1") == (0, 0)
    assert parse_age_label("100+") == (100, None) and parse_age_label("42") == (42, 42)
    assert parse_age_label("Total") is None


def test_population_wpp_long_aggregates_top_group():
    wpp = pd.read_csv(S.DATA_DIR / "sources" / "azerbaijan_population_unwpp2024.csv")
    pop = read_population(wpp)
    assert list(pop.columns) == S.POPULATION_COLUMNS
    one = pop[(pop[S.YEAR] == 2020) & (pop[S.SEX] == 1)]
    raw = wpp[(wpp["Year"] == 2020) & (wpp["Sex"] == "Male")]
    assert list(one[S.AGE_GROUP]) == S.AGE_GROUPS
    assert one[S.POPULATION].sum() == raw["Value"].sum()
    assert one.loc[one[S.AGE_GROUP] == "85+", S.POPULATION].item() == raw.loc[raw["AgeGrpStart"] >= 85, "Value"].sum()
    top80 = read_population(wpp, top_age=80)
    assert top80[S.AGE_GROUP].iloc[-1] == "80+" and top80[S.AGE_GROUP].nunique() == 17


def test_population_wide_and_single_years():
    wide = pd.DataFrame({"Year": [2020, 2020], "District": ["011", "011"], "Sex": ["M", "F"],
                         "00-04": [100, 90], "05-09": [80, 70], "10 and over": [500, 520]})
    pop = read_population(wide, top_age=10)
    assert list(pop[S.AGE_GROUP]) == ["0-4", "5-9", "10+"] * 2
    assert list(pop[S.POPULATION]) == [100, 80, 500, 90, 70, 520] and (pop[S.REGION] == "011").all()
    single = pd.DataFrame({"year": 2021, "sex": 2, "age": [str(a) for a in range(0, 91)] + ["91+"],
                           "population": 1.0})
    p = read_population(single)
    assert p.loc[p[S.AGE_GROUP] == "0-4", S.POPULATION].item() == 5
    assert p.loc[p[S.AGE_GROUP] == "85+", S.POPULATION].item() == 7   # 85..90 and 91+
    assert p[S.POPULATION].sum() == 92


def test_population_canreg_standard_and_errors():
    pc = pd.read_csv(S.DATA_DIR / "canreg5_trn" / "population_counts.csv")
    world = read_population(pc[pc["pds_id"] == 0])
    # Segi world standard, stored by CanReg per 1,000 (README): 1,000 per sex
    assert world.groupby(S.SEX)[S.POPULATION].sum().tolist() == [1000, 1000]
    with pytest.raises(IngestError, match="0-14"):
        read_population(pd.DataFrame({"sex": [1], "age_group": ["0-14"], "population": [5]}))
    with pytest.raises(IngestError, match="80"):
        read_population(pd.DataFrame({"sex": [1, 1], "age_group": ["0-4", "80+"], "population": [5, 1]}))
    with pytest.raises(IngestError) as e:
        read_population(pd.DataFrame({"sex": [1, 1], "age_group": ["0-4", "5-9"], "population": ["5", "x"]}))
    assert "row 2" in str(e.value)


def test_population_roundtrip_is_stable():
    wpp = pd.read_csv(S.DATA_DIR / "sources" / "azerbaijan_population_unwpp2024.csv")
    pop = read_population(wpp[wpp["Year"] == 2020])
    again = read_population(pop)
    pd.testing.assert_frame_equal(pop.reset_index(drop=True), again.reset_index(drop=True), check_dtype=False)


# --- regions, risk factors, deaths ----------------------------------------------------------------
GEO = S.DATA_DIR / "sources" / "azerbaijan_admin1_naturalearth.geojson"


def test_regions_geojson_gpkg_zip(tmp_path):
    g = read_regions(GEO, key="adm1_code", name="name_en")
    assert list(g.columns) == S.REGION_COLUMNS and g.crs.to_epsg() == 4326 and len(g) > 70
    import geopandas as gpd
    src = gpd.read_file(GEO).to_crs(3857)
    src.to_file(tmp_path / "r.gpkg", driver="GPKG")
    g2 = read_regions(tmp_path / "r.gpkg", key="adm1_code", name="name_en", parent="region")
    assert g2.crs.to_epsg() == 4326
    assert np.allclose(g2.total_bounds, g.total_bounds, atol=1e-6)
    assert g2[S.PARENT].notna().all()
    src.to_file(tmp_path / "r.shp")
    with zipfile.ZipFile(tmp_path / "r.zip", "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"r.{ext}").exists():
                z.write(tmp_path / f"r.{ext}", f"r.{ext}")
    g3 = read_regions(tmp_path / "r.zip", key="adm1_code")
    assert g3.crs.to_epsg() == 4326 and np.allclose(g3.total_bounds, g.total_bounds, atol=1e-6)
    with pytest.raises(IngestError, match="nope"):
        read_regions(GEO, key="nope")
    # uploads arrive as bytes / file-like objects
    g4 = read_regions(io.BytesIO((tmp_path / "r.zip").read_bytes()), key="adm1_code")
    g5 = read_regions((tmp_path / "r.gpkg").read_bytes(), key="adm1_code")
    assert len(g4) == len(g5) == len(g) and g5.crs.to_epsg() == 4326


def test_risk_factors_long_and_wide():
    long = pd.DataFrame({"region": ["A", "B"], "indicator": ["smoking", "smoking"], "value": ["30,5", "22"],
                         "unit": "%", "year": [2019, 2019]})
    rf = read_risk_factors(long)
    assert list(rf.columns) == S.RISK_FACTOR_COLUMNS and list(rf[S.VALUE]) == [30.5, 22.0]
    wide = pd.DataFrame({"region_code": ["A", "B"], "smoking": [30.0, 22.0], "obesity": [20.0, 25.0]})
    rf = read_risk_factors(wide)
    assert len(rf) == 4 and set(rf[S.INDICATOR]) == {"smoking", "obesity"}


def test_deaths():
    d = pd.DataFrame({"year": [2020, 2020, 2020], "sex": ["M", "M", "F"], "age": ["85-89", "90+", "60-64"],
                      "icd10": ["C34.1", "C34.1", "C50"], "deaths": [3, 4, 5]})
    out = read_deaths(d)
    assert list(out.columns) == S.DEATH_COLUMNS
    assert out.loc[out[S.AGE_GROUP] == "85+", S.COUNT].item() == 7 and set(out[S.ICD10]) == {"C341", "C50"}


def test_quoted_delimiters_are_not_overlong_rows(tmp_path):
    # row 1 has a quoted comma (one field), row 2 one field too many, row 3 one too few
    text = ("tumour_id,sex,incidence_date,age,topography,note\r\n"
            'a,1,20200101,50,C341,"Baku, Nizami"\r\n'
            "b,2,20200101,50,C509,x,EXTRA\r\n"
            "c,2,20200101,50,C509\r\n")
    f = tmp_path / "q.csv"
    f.write_text(text)
    raw = read_records(f)
    assert raw.n_read == 3 and list(raw.records[S.TUMOUR_ID]) == ["a", "c"]
    assert list(raw.exclusions[S.ROW]) == [2]
    # well-formed, the same file takes the Arrow path and gives the same values
    f.write_text(text.replace(",x,EXTRA", ",x").replace("C509\r\n", "C509,\r\n"))
    raw = read_records(f)
    assert list(raw.records[S.TUMOUR_ID]) == ["a", "b", "c"] and raw.exclusions.empty


def test_identifier_headers_and_patterns():
    from analytics import privacy
    kinds = {h: privacy.identifier_by_header(h) for h in
             ["patient_surname", "Phone 2", "E-mail", "Passport No", "FAMN", "MAIDN*", "-6-", "ФИО", "Soyad",
              "region_code", "Address", "TOP", "site"]}
    assert kinds == {"patient_surname": "name", "Phone 2": "phone number", "E-mail": "e-mail",
                     "Passport No": "national id", "FAMN": "name", "MAIDN*": "name", "-6-": "name", "ФИО": "name",
                     "Soyad": "name", "region_code": None, "Address": None, "TOP": None, "site": None}
    codes = pd.Series(["011", "023", "AZE-1680"])
    assert privacy.identifier_by_content(codes, address_header=True) is None     # CanReg ADDR codes stay
    assert privacy.identifier_by_content(pd.Series(["20150799", "19950101"])) is None   # dates are not phones


def test_preview_sample_has_no_identifiers():
    from analytics.readers import open_source, sample_table
    data = _csv([["T1", "1", "2020-01-01", "50", "C341", "8070", "3", "7", "011", "Əliyev", "a@b.az"]],
                header=HEADER + ["Surname", "contact"]).encode()
    prev = sample_table(open_source(data, "x.csv"), nrows=20)
    assert list(prev.columns) == HEADER and "Əliyev" not in prev.to_string()


def test_empty_row_is_excluded_with_its_row_number(tmp_path):
    from analytics.pipeline import load_registry
    rows = _rows(AZ[:3])
    rows[1] = [""] * len(HEADER)                    # a row of empty fields (e.g. a spreadsheet's blank line)
    f = tmp_path / "e.csv"
    f.write_text(_csv(rows), encoding="utf-8")
    reg = load_registry(f)
    assert reg.n_read == 3 and reg.n_used == 2
    assert dict(zip(reg.reconciliation["reason"], reg.reconciliation["records"])) == {"used": 2, "empty_row": 1}
    assert reg.flags.loc[reg.flags["check"] == "empty_row", S.ROW].tolist() == [2]
    assert reg.records[S.ROW].tolist() == [1, 3]   # the rows around it keep their own numbers

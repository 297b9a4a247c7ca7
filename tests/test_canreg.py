"""CanReg5 exports: every header form of the TRN registry, its dictionary codes, dates with
unknown parts and the exporter's quoting (data/canreg5_trn/README.md)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import canreg, parsing
from analytics import schema as S
from analytics.readers import read_records

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import trn_records as T  # noqa: E402

EXPORT = S.DATA_DIR / "canreg5_trn" / "export"
DICT = S.DATA_DIR / "canreg5_trn" / "trn_dictionary_entries.csv"
TARGETS = {S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.AGE, S.TOPOGRAPHY,
           S.MORPHOLOGY, S.BEHAVIOUR, S.BASIS, S.REGION, S.VITAL_STATUS, S.LAST_CONTACT, canreg.RECORD_STATUS}


@pytest.mark.parametrize("path", sorted(EXPORT.iterdir()), ids=lambda p: p.name)
def test_every_trn_header_file_is_read(path):
    raw = read_records(path)
    assert raw.n_read == 0 and len(raw.records) == 0 and raw.canreg
    assert set(raw.column_map.values()) == TARGETS
    # the four name variables are recognised as identifiers, whatever the naming option
    assert sorted(raw.dropped_columns.values()) == ["name"] * 4
    assert raw.delimiter == ("," if path.suffix == ".csv" else "\t")


def test_header_forms_match_codebook():
    # the writer's header options reproduce the real export files byte for byte
    cols = T.export_columns()
    for opt, fname in [("short", "shortnames.tsv"), ("english", "englishnames.tsv"),
                       ("full", "fullnames.tsv"), ("standard", "standardnames.tsv")]:
        made = canreg.write_export(pd.DataFrame(columns=cols), names=opt, delimiter="\t")
        assert made == (EXPORT / f"trn_tumour_patient_{fname}").read_bytes()
    made = canreg.write_export(pd.DataFrame(columns=cols), names="short", delimiter=",")
    assert made == (EXPORT / "trn_tumour_patient_shortnames.csv").read_bytes()


def test_commons_csv_minimal_quoting():
    # rules from the README (commons-csv 1.4 QuoteMode.MINIMAL), checked by hand
    df = pd.DataFrame({"A": ["", " lead", "x"], "B": ["a,b", "#hash", 'say "hi"'], "C": ["end ", "ok", ""]})
    out = canreg.write_export(df, names="short", delimiter=",").decode()
    assert out.split("\r\n")[1:4] == ['"",\"a,b\","end "', '" lead","#hash",ok', 'x,"say ""hi""",']
    # tab delimiter: a comma no longer needs quotes
    out = canreg.write_export(df.iloc[:1], names="short", delimiter="\t").decode()
    assert out.split("\r\n")[1] == '""\ta,b\t"end "'


@pytest.mark.parametrize("names", canreg.HEADER_OPTIONS)
@pytest.mark.parametrize("delimiter", ["\t", ",", ";"])
def test_records_in_every_header_form_and_delimiter(tmp_path, names, delimiter):
    f = tmp_path / "export.txt"
    canreg.write_export(T.trn_frame(T.CASES), f, names=names, delimiter=delimiter)
    raw = read_records(f)
    assert raw.n_read == len(T.CASES)
    rec = raw.records.set_index(S.ROW)
    # RECS = 2 (row 4) is a reader-level exclusion with its reason
    assert list(raw.exclusions[S.ROW]) == [4] and raw.exclusions["check"].iloc[0] == "canreg_deleted"
    assert 4 not in rec.index and len(rec) == len(T.CASES) - 1
    assert rec.loc[1, S.TOPOGRAPHY] == "C509" and rec.loc[2, S.TOPOGRAPHY] == "C180"
    assert rec.loc[1, S.INCIDENCE_DATE] == pd.Timestamp("2015-06-15") and not rec.loc[1, "incidence_date_imputed"]
    assert rec.loc[2, S.INCIDENCE_DATE] == pd.Timestamp("2015-07-15") and rec.loc[2, "incidence_date_imputed"]
    assert rec.loc[3, S.INCIDENCE_DATE] == pd.Timestamp("2016-07-01") and rec.loc[3, "incidence_date_imputed"]
    assert pd.isna(rec.loc[3, S.AGE])
    assert rec.loc[5, S.VITAL_STATUS] == 2 and rec.loc[5, S.LAST_CONTACT] == pd.Timestamp("2017-03-15")
    assert pd.isna(rec.loc[6, S.AGE]) and rec.loc[7, S.AGE] == 99
    assert pd.isna(rec.loc[8, S.INCIDENCE_DATE]) and pd.isna(rec.loc[8, S.SEX])
    assert pd.isna(rec.loc[9, S.BIRTH_DATE]) and rec.loc[9, S.AGE] == 60
    assert rec.loc[1, S.REGION] == "011"           # ADDR is a code: leading zero kept
    assert rec.loc[1, S.PATIENT_ID] == "20150001" and rec.loc[1, S.TUMOUR_ID] == "2015000101"
    flags = raw.flags
    # the three imputed dates (cases 2, 3, 5) are flagged as the README says
    assert set(zip(flags[S.ROW], flags["check"], flags["column"])) == {
        (6, "age_99_unknown", S.AGE), (8, "unparseable_date", S.INCIDENCE_DATE), (8, "invalid_code", S.SEX),
        (2, "date_imputed", S.INCIDENCE_DATE), (3, "date_imputed", S.INCIDENCE_DATE),
        (5, "date_imputed", S.LAST_CONTACT)}
    # identifiers never reach the records
    assert not any(n in str(v) for n in T.NAMES for v in raw.records.astype(str).to_numpy().ravel())


def test_dictionary_columns_and_sources_are_ignored(tmp_path):
    df = T.trn_frame(T.CASES[:2])
    df.insert(df.columns.get_loc("TOP") + 1, "TOP (desc)", [" C50.9 Breast, NOS", " C18.0 Caecum"])
    df["Hosp1"], df["Unit1"], df["Hosp2"] = "01", "02", ""
    f = tmp_path / "e.tsv"
    canreg.write_export(df, f, names="short", delimiter="\t")
    raw = read_records(f)
    assert list(raw.records[S.TOPOGRAPHY]) == ["C509", "C180"]
    assert {"TOP (desc)", "Hosp1", "Hosp2"} <= set(raw.ignored_columns)


def test_patient_id_falls_back_to_patient_record_id(tmp_path):
    df = T.trn_frame(T.CASES[:2]).drop(columns=["REGNO", "PATIENTIDTUMOURTABLE"])
    f = tmp_path / "e.csv"
    canreg.write_export(df, f, names="short", delimiter=",")
    raw = read_records(f)
    assert raw.column_map["PATIENTRECORDID"] == S.PATIENT_ID
    assert list(raw.records[S.PATIENT_ID]) == ["2015000101", "2015000201"]


def test_three_digit_age_variable_keeps_99(tmp_path):
    # an age above 99 shows the registry's age variable has 3 digits: 99 is a real age
    df = T.trn_frame([{"AGE": "99"}, {"AGE": "101", "BIRTHD": "19140101"}])
    f = tmp_path / "e.tsv"
    canreg.write_export(df, f)
    assert list(read_records(f).records[S.AGE]) == [99, 101]


def test_all_trn_dictionary_codes_are_accepted():
    d = pd.read_csv(DICT, dtype=str, keep_default_na=False)

    def codes(name):
        return pd.Series(d.loc[(d["dictionary_name"] == name) & (d["code_kind"] == "code"), "code"], dtype="str")

    for name, table in [("Sex", parsing.SEX_CODES), ("Behaviour", parsing.BEHAVIOUR_CODES),
                        ("Status", parsing.VITAL_CODES)]:
        p = parsing.parse_code(codes(name), table)
        assert not p.invalid.any(), name
    assert not parsing.parse_basis(codes("Basis of Diagnosis")).invalid.any()
    assert sorted(parsing.parse_basis(codes("Basis of Diagnosis")).values.tolist()) == list(range(10))
    top = codes("Topography")
    pt = parsing.parse_topography(top)
    assert len(top) == 331 and not pt.invalid.any()
    assert (pt.values.str.slice(1) == top.values).all()          # "509" -> "C509"
    pm, _ = parsing.parse_morphology(codes("Morphology"))
    assert len(pm.values) == 553 and not pm.invalid.any()


def test_formatted_dates_from_canreg_format_date_option():
    # "Format Date" keeps unknown parts as raw digits (README: 19950799 -> 99/07/1995)
    s = pd.Series(["99/07/1995", "15/03/2001", "00/00/1990", "31/12/1999"], dtype="str")
    p = parsing.parse_dates(s, date_format="dd/mm/yyyy")
    assert list(p.values) == [pd.Timestamp("1995-07-15"), pd.Timestamp("2001-03-15"),
                              pd.Timestamp("1990-07-01"), pd.Timestamp("1999-12-31")]
    assert list(p.imputed) == [True, False, True, False]
    p = parsing.parse_dates(pd.Series(["07/99/1995", "03/15/2001", "12/31/99"], dtype="str"))
    assert list(p.values[:2]) == [pd.Timestamp("1995-07-15"), pd.Timestamp("2001-03-15")]
    assert p.values[2] == pd.Timestamp("1999-12-31")            # mm/dd/yy, 2-digit year pivot
    # an impossible date is unparseable, not silently shifted
    p = parsing.parse_dates(pd.Series(["19950231", "dd/mm/yyyy", "20240229"], dtype="str"))
    assert list(p.invalid) == [True, True, False] and p.values[2] == pd.Timestamp("2024-02-29")

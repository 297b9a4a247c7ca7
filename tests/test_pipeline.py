"""load_registry: every record read is used or excluded with a reason; identifiers never
reach RegistryData; uploads (bytes, DataFrame) and the population table pass through."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics import canreg
from analytics import schema as S
from analytics.errors import IngestError
from analytics.pipeline import RegistryData, load_registry

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import trn_records as T  # noqa: E402


@pytest.fixture(scope="module")
def trn_file(tmp_path_factory):
    f = tmp_path_factory.mktemp("trn") / "trn_export.tsv"
    canreg.write_export(T.trn_frame(T.CASES), f, names="english", delimiter="\t")
    return f


def _accounted(reg: RegistryData):
    assert reg.n_read == reg.n_used + reg.n_excluded
    assert int(reg.reconciliation["records"].sum()) == reg.n_read
    assert int(reg.reconciliation.loc[reg.reconciliation["status"] == "used", "records"].sum()) == reg.n_used
    assert int(reg.records[S.INCLUDED].sum()) == reg.n_used
    # every excluded record is listed in the report by row
    excluded_rows = set(reg.records.loc[~reg.records[S.INCLUDED], S.ROW])
    reader_rows = set(reg.flags.loc[reg.flags["check"].isin(["canreg_deleted", "malformed_row", "empty_row"]), S.ROW])
    assert excluded_rows | reader_rows <= set(reg.report()[S.ROW]) | excluded_rows
    assert len(reg.records) + len(reader_rows) == reg.n_read


def test_trn_records_reconcile(trn_file):
    reg = load_registry(trn_file)
    _accounted(reg)
    assert reg.n_read == len(T.CASES)
    recon = reg.reconciliation.set_index("reason")
    assert recon.loc["canreg_deleted", "records"] == 1 and recon.loc["canreg_deleted", "stage"] == "reader"
    # row 8 has an unparseable incidence date: kept by the reader, excluded by validation
    assert not reg.records.loc[reg.records[S.ROW] == 8, S.INCLUDED].item()
    assert {"unparseable_date", "invalid_code"} <= set(reg.flags.loc[reg.flags[S.ROW] == 8, "check"])
    assert set(reg.dropped_columns) == {"Surname", "First Name", "-6-", "MiddleName"}


def test_no_identifier_anywhere(trn_file):
    reg = load_registry(trn_file)
    cells = " ".join(map(str, reg.records.to_numpy().ravel())) + " ".join(map(str, reg.flags.to_numpy().ravel()))
    for name in T.NAMES:
        assert name not in cells
    assert not set(reg.records.columns) & {"FAMN", "Surname", "First Name", "-6-", "MiddleName"}


def test_upload_bytes_and_frame(trn_file):
    reg = load_registry(trn_file.read_bytes(), name="upload.tsv")
    assert reg.source == "upload.tsv" and reg.n_read == len(T.CASES)
    reg2 = load_registry(io.BytesIO(trn_file.read_bytes()), name="upload.tsv")
    assert reg2.n_used == reg.n_used
    canon = reg.records[S.TUMOUR_COLUMNS]
    reg3 = load_registry(canon)
    _accounted(reg3)
    assert reg3.n_read == len(canon)


def test_header_only_is_refused_with_one_sentence():
    """A header without records is not a registry of 0 tumours (issue 9): one sentence that names
    the file and says what to export, and no command-line flag in it."""
    f = S.DATA_DIR / "canreg5_trn" / "export" / "trn_tumour_patient_standardnames.tsv"
    with pytest.raises(IngestError) as e:
        load_registry(f)
    msg = str(e.value)
    assert f.name in msg and "no records" in msg and "--" not in msg


def test_population_passes_through(trn_file):
    wpp = pd.read_csv(S.DATA_DIR / "sources" / "azerbaijan_population_unwpp2024.csv")
    reg = load_registry(trn_file, population=wpp[wpp["Year"] == 2015])
    assert list(reg.population.columns) == S.POPULATION_COLUMNS
    assert reg.population[S.POPULATION].sum() == wpp.loc[wpp["Year"] == 2015, "Value"].sum()


def test_unreadable_raises_ingest_error(tmp_path):
    f = tmp_path / "x.parquet"
    f.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(IngestError) as e:
        load_registry(f)
    assert "x.parquet" in str(e.value)


def test_demo_extracts_load():
    # both demo paths (Parquet with schema names, gzipped CanReg5 export) give the same registry
    demo = S.DATA_DIR / "demo"
    pq = load_registry(demo / "tumours.parquet")
    cr = load_registry(demo / "canreg5_export.txt.gz")
    for reg in (pq, cr):
        _accounted(reg)
        assert reg.n_read > 100_000 and reg.n_used > 0.9 * reg.n_read
    assert cr.info["canreg"] and cr.dropped_columns


# --- a 100 MB extract ---------------------------------------------------------------------------
def _big_csv(path: Path, target_bytes: int = 100 * 2**20) -> int:
    """A ~100 MB comma-separated extract written by Arrow in about a second, with two bad
    values and one overlong row at known places; returns the number of data rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    n = target_bytes // 62                              # each row is ~62 bytes
    i = np.arange(n)
    sites = np.array(["C509", "C341", "C619", "C180", "C169", "C220", "C739", "C679"])
    morph = np.array(["8500", "8070", "8140", "8140", "8140", "8170", "8260", "8120"])
    k = i % 8
    sex = np.where(k == 0, "2", np.where(k == 2, "1", np.where(i % 2 == 0, "1", "2"))).astype(object)
    days = np.asarray((pd.Timestamp("2010-01-01") + pd.to_timedelta(np.arange(5000), unit="D"))
                      .strftime("%Y-%m-%d"), dtype=object)
    inc_s = days[i % 5000]                              # 2010-2023
    births = np.array([f"{y}-03-15" for y in range(1930, 1980)], dtype=object)
    sex[777_777] = "X"                                  # unknown code -> warning, still counted
    inc_s[1_000_001] = "2015-13-45"                     # impossible date -> excluded
    ids = (i + 10_000_000).astype(str)
    table = pa.table({"tumour_id": ids, "patient_id": ids, "sex": sex.astype(str),
                      "birth_date": births[i % 50].astype(str), "incidence_date": inc_s.astype(str),
                      "topography": sites[k], "morphology": morph[k], "behaviour": np.full(n, "3"),
                      "basis": np.full(n, "7"), "region_code": np.char.add("R", (i % 78).astype(str))})
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    with open(path, "a") as fh:                          # row n+1: more fields than the header
        fh.write("1,2,1,1950-01-01,2015-01-01,C509,8500,3,7,R1,surplus\n")
    return n + 1


@pytest.fixture(scope="module")
def big_extract(tmp_path_factory):
    f = tmp_path_factory.mktemp("big") / "big_extract.csv"
    return f, _big_csv(f)


def test_100_mb_extract_is_read_and_accounted_for(big_extract):
    f, n = big_extract
    assert f.stat().st_size > 100 * 10**6
    reg = load_registry(f)
    _accounted(reg)
    assert reg.n_read == n and reg.n_excluded == 2
    by = dict(zip(reg.reconciliation["reason"], reg.reconciliation["records"]))
    assert by == {"used": n - 2, "incidence_date_missing": 1, "malformed_row": 1}
    rep = reg.report().set_index("check")
    # the messages name the row (1-based data row) and the column of the source file
    bad_sex = rep.loc["invalid_code"]
    assert bad_sex[S.ROW] == 777_778 and bad_sex["column"] == S.SEX and "sex 'X'" in bad_sex["message"]
    bad_date = rep.loc["unparseable_date"]
    assert bad_date[S.ROW] == 1_000_002 and "'2015-13-45'" in bad_date["message"]
    assert rep.loc["malformed_row", S.ROW] == n


def test_100_mb_extract_without_required_column_fails_fast_with_the_place(big_extract, tmp_path):
    import shutil
    import time
    f = tmp_path / "big_bad.csv"
    shutil.copyfile(big_extract[0], f)
    text_head = f.read_bytes()[:200].split(b"\n")[0]
    with open(f, "r+b") as fh:                             # rename the topography header in place
        fh.write(text_head.replace(b"topography", b"topogrXphy"))
    t0 = time.perf_counter()
    with pytest.raises(IngestError) as e:
        load_registry(f)
    assert time.perf_counter() - t0 < 5                   # judged from the header, not after reading it all
    err = e.value
    assert err.file.endswith("big_bad.csv") and err.row == 0 and err.column == S.TOPOGRAPHY
    assert "big_bad.csv" in str(err) and "'topogrXphy'" in str(err) and "mapping file" in str(err)


# --- an extract without morphology or behaviour ------------------------------------------------
def test_extract_without_morphology_column_is_read_as_8000_and_says_so():
    csv = ("tumour_id,sex,age,incidence_date,topography,basis,region\r\n"
           "1,1,60,2020-01-05,C341,7,R1\r\n2,2,55,2020-02-01,C509,5,R1\r\n3,2,40,2020-03-01,C539,1,R2\r\n")
    reg = load_registry(csv.encode(), name="no_morphology.csv")
    _accounted(reg)
    assert reg.n_used == 3 and reg.records[S.MORPHOLOGY].astype(str).tolist() == ["8000"] * 3
    assert reg.records[S.BEHAVIOUR].tolist() == [3, 3, 3]
    assert reg.records[S.ICD10].astype(str).tolist() == ["C341", "C509", "C539"]   # ICD-10 from the site
    assert reg.assumptions == {"morphology_assumed": 3, "behaviour_assumed": 3}
    used = reg.reconciliation.set_index("reason").loc["used", "description"]
    assert "no morphology column" in used and "8000" in used and "no behaviour column" in used
    text = "\n".join(reg.summary_lines())
    assert "[morphology_assumed]: 3 records" in text and "[behaviour_assumed]: 3 records" in text
    # a morphology with its behaviour suffix is still read when the behaviour column is absent
    reg = load_registry(b"sex,age,incidence_date,topography,morphology\n2,50,2020-01-01,C509,8500/2\n"
                        b"2,50,2020-01-01,C509,8500\n", name="x.csv")
    assert reg.records[S.BEHAVIOUR].tolist() == [2, 3] and reg.assumptions == {"behaviour_assumed": 1}


def test_report_lists_every_excluded_record_including_not_counted():
    csv = ("tumour_id,sex,age,incidence_date,topography,morphology,behaviour,basis,region\r\n"
           "1,1,60,2020-01-05,C341,8070,3,7,R1\r\n2,2,55,2020-02-01,C509,8500,2,7,R1\r\n"
           "3,2,70,2020-03-01,C619,8140,3,7,R2\r\n")
    reg = load_registry(csv.encode(), name="r.csv")
    rep = reg.report()
    assert dict(zip(rep[S.ROW], rep["check"])) == {2: "not_counted_by_default", 3: "sex_site"}
    assert set(reg.records.loc[~reg.records[S.INCLUDED], S.ROW]) == set(rep[S.ROW])
    assert rep.loc[rep[S.ROW] == 2, "severity"].iloc[0] == "not counted"

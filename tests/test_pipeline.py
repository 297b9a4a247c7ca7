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


def test_header_only_gives_clean_empty_registry():
    reg = load_registry(S.DATA_DIR / "canreg5_trn" / "export" / "trn_tumour_patient_standardnames.tsv")
    _accounted(reg)
    assert reg.n_read == 0 and reg.n_used == 0 and len(reg.report()) == 0


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

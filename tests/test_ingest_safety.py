"""Hostile input (issue 11): each defect found by trying the upload as an attacker or a careless
user would, as a test that failed before the fix. Regions that read server files or fetch URLs,
decompression bombs, huge headers, long fields, identifiers in odd places, non-ASCII digits,
malformed mapping files, and the worker that keeps all of it away from the server."""
from __future__ import annotations

import gzip
import http.server
import io
import json
import socketserver
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import parsing, privacy
from analytics import schema as S
from analytics.auxiliary import read_regions
from analytics.errors import IngestError
from analytics.ingest import geo, safeio, sandbox, upload
from analytics.ingest.limits import Limits
from analytics.mapping import load_mapping
from analytics.pipeline import load_registry
from analytics.readers import read_records

HEADER = "SEX\tINCID\tTOP\tMOR\tBEH\tAGE\tADDR\n"
ROW = "2\t20190115\t509\t8500\t3\t56\tAZE-1676\n"


def _tsv(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode()


# --- regions: only three formats, by their bytes, with their own driver -------------------------
PASSWD_VRT = (b'<OGRVRTDataSource><OGRVRTLayer name="passwd"><SrcDataSource>CSV:/etc/passwd</SrcDataSource>'
              b'<GeometryField encoding="PointFromColumns" x="field_3" y="field_4"/></OGRVRTLayer></OGRVRTDataSource>')


def _boxes():
    import geopandas as gpd
    import shapely
    return gpd.GeoDataFrame({"code": ["A1", "A2"], "label": ["Alpha", "Beta"]},
                            geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=4326)


@pytest.mark.parametrize("name", ["regions.vrt", "regions.geojson", "regions.json", "regions.xml"])
def test_vrt_pointing_at_etc_passwd_is_refused_whatever_its_name(tmp_path, name):
    for source in (PASSWD_VRT, io.BytesIO(PASSWD_VRT)):
        with pytest.raises(IngestError) as e:
            read_regions(source, file=name)
        assert "XML" in str(e.value) and name in str(e.value) and "root:" not in str(e.value)
    f = tmp_path / name
    f.write_bytes(PASSWD_VRT)
    with pytest.raises(IngestError, match="XML"):
        read_regions(f)


@pytest.fixture()
def http_server(tmp_path):
    """A local web server that records every request (GDAL must make none)."""
    (tmp_path / "x.geojson").write_text(_boxes().to_json())
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path), **k)

        def log_message(self, *a):
            hits.append(self.path)

    srv = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()
    srv.server_close()


def test_vsicurl_vrt_is_refused_and_gdal_fetches_nothing(http_server, tmp_path):
    import pyogrio
    url, hits = http_server
    vrt = (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/{url}/x.geojson</SrcDataSource>'
           f'</OGRVRTLayer></OGRVRTDataSource>').encode()
    for source in (vrt, b"  \n" + vrt):
        with pytest.raises(IngestError):
            read_regions(source, file="r.geojson")
    for path in (f"/vsicurl/{url}/x.geojson", f"{url}/x.geojson", f"GeoJSON:/vsicurl/{url}/x.geojson"):
        with pytest.raises(IngestError, match="only files on this computer"):
            read_regions(path)
    # GDAL itself is off the network in this process: even a direct call reaches nothing
    geo.disable_network()
    assert geo.network_disabled()
    f = tmp_path / "x.vrt"
    f.write_bytes(vrt)
    for target in (f"/vsicurl/{url}/x.geojson", f"/vsicurl_streaming/{url}/x.geojson", str(f)):
        with pytest.raises(Exception):
            pyogrio.read_dataframe(target)
    assert hits == []


def test_the_three_formats_are_read_with_their_own_driver(tmp_path):
    g = _boxes()
    g.to_file(tmp_path / "r.geojson", driver="GeoJSON")
    g.to_file(tmp_path / "r.gpkg", driver="GPKG")
    g.to_file(tmp_path / "r.shp")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"r.{ext}").exists():
                z.write(tmp_path / f"r.{ext}", f"boundaries/r.{ext}")
    for data in ((tmp_path / "r.geojson").read_bytes(), (tmp_path / "r.gpkg").read_bytes(), zbuf.getvalue()):
        out = read_regions(data, key="code", name="label", file="upload")
        assert out[S.REGION].tolist() == ["A1", "A2"] and out[S.REGION_NAME].tolist() == ["Alpha", "Beta"]
        assert out.crs.to_epsg() == 4326


def test_a_zip_whose_shp_is_a_vrt_and_sqlite_without_gpkg_id_are_refused(tmp_path):
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("r.shp", PASSWD_VRT)
        z.writestr("r.shx", PASSWD_VRT)
        z.writestr("r.dbf", b"\x03" + b"\x00" * 40)
    with pytest.raises(IngestError, match="not a Shapefile"):
        read_regions(zbuf.getvalue(), file="r.zip")
    import sqlite3
    db = tmp_path / "plain.sqlite"
    sqlite3.connect(db).execute("create table t (x)").connection.commit()
    with pytest.raises(IngestError, match="not a GeoPackage"):
        read_regions(db.read_bytes(), file="plain.gpkg")
    with pytest.raises(IngestError):
        read_regions(b"%PDF-1.4 ...", file="r.geojson")


# --- decompression: streamed, stopped at the cap ------------------------------------------------
def _bomb(gigabytes: float = 1.0) -> bytes:
    """A multi-member gzip of zeros expanding to ``gigabytes`` (about 1 MB per GB)."""
    member = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    return member * int(gigabytes * 64)


def test_gzip_bomb_stops_at_the_ratio_within_one_step_of_memory():
    bomb = _bomb(1.0)
    assert len(bomb) < 2_000_000
    with pytest.raises(IngestError) as e:
        safeio.gunzip(bomb, limits=Limits(), name="bomb.tsv.gz")
    assert "expands more than 100 times" in str(e.value) and "REGISTRY_MAX_RATIO" in str(e.value)
    # through the whole pipeline, in the worker: a sentence, and far from 1 GB of memory
    out = sandbox.run(upload.load, {"extract": ("bomb.tsv.gz", bomb)}, label="bomb.tsv.gz")
    assert out.error is not None and "expands" in str(out.error)
    assert out.peak_mb < 600


def test_uncompressed_cap_and_corrupt_or_truncated_gzip():
    data = gzip.compress(_tsv(ROW * 2000))
    small = Limits(max_uncompressed_mb=0)
    with pytest.raises(IngestError, match="REGISTRY_MAX_UNCOMPRESSED_MB"):
        load_registry(data, name="x.tsv.gz", limits=small)
    with pytest.raises(IngestError, match="ends too early"):
        load_registry(data[: len(data) // 2], name="cut.tsv.gz")
    with pytest.raises(IngestError, match="damaged"):
        load_registry(data[:10] + b"\xff" * 50 + data[60:], name="bad.tsv.gz")
    assert load_registry(data, name="ok.tsv.gz").n_read == 2000


def test_zip_bomb_as_xlsx_is_refused_before_opening():
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<row/>" * ((40 << 20) // 6))
    with pytest.raises(IngestError, match="expands more than"):
        load_registry(zbuf.getvalue(), name="bomb.xlsx")


# --- limits: rows, columns, field length --------------------------------------------------------
def test_ten_thousand_columns_are_refused_from_the_header():
    header = "\t".join(["SEX", "INCID", "TOP", "AGE"] + [f"c{i}" for i in range(10_000)])
    data = (header + "\n" + "\t".join(["1", "20190101", "509", "50"] + ["x"] * 10_000) + "\n").encode()
    with pytest.raises(IngestError) as e:
        load_registry(data, name="wide.tsv")
    assert "10,004 columns" in str(e.value) and "REGISTRY_MAX_COLUMNS" in str(e.value)


def test_rows_and_field_length_limits_name_the_place():
    with pytest.raises(IngestError, match="records .* over the limit of 5"):
        load_registry(_tsv(ROW * 6), name="x.tsv", limits=Limits(max_rows=5))
    long = ROW.replace("AZE-1676", "A" * 40_000)
    with pytest.raises(IngestError) as e:
        load_registry(_tsv(ROW, long), name="x.tsv")
    assert e.value.row == 2 and e.value.column == "ADDR" and "40,000 characters" in str(e.value)


# --- linear time: no backtracking pattern ever sees a long value --------------------------------
class _Spy:
    """Stands in for a compiled pattern and records the length of every text it is given."""
    seen: list[int] = []

    def __init__(self, pattern):
        self.pattern = pattern

    def __getattr__(self, name):
        method = getattr(self.pattern, name)

        def call(text, *a, **k):
            _Spy.seen.append(len(text))
            return method(text, *a, **k)
        return call


def test_fields_of_a_hundred_thousand_characters_are_handled_in_linear_time(monkeypatch):
    """The 60,000-character address froze every session (a quadratic regular expression). Now the
    identifier checks run in RE2 (linear by construction) and the code/date parsers never hand a
    value longer than 64 characters to Python's backtracking engine."""
    for name in dir(parsing):
        if isinstance(getattr(parsing, name), type(parsing._TOP_RE)):
            monkeypatch.setattr(parsing, name, _Spy(getattr(parsing, name)))
    _Spy.seen = []
    big = "12 Nizami küç., " + "a " * 50_000
    assert len(big) > 100_000
    cols = ["SEX", "INCID", "TOP", "MOR", "BEH", "AGE", "Address", "notes"]
    rows = [["1", "20190101", "509", "8500", "3", "50", big, big],
            ["9" * 100_000, "2" * 100_000, "C" * 100_000, "8" * 100_000, "3", "5 " * 50_000, "x", "y"]]
    data = ("\t".join(cols) + "\n" + "\n".join("\t".join(r) for r in rows) + "\n").encode()
    reg = load_registry(data, name="long.tsv", limits=Limits(max_field_chars=200_000))
    assert reg.n_read == 2 and reg.dropped_columns == {"Address": "street address"}
    assert _Spy.seen and max(_Spy.seen) <= parsing.MAX_CODE_CHARS
    msgs = " ".join(reg.flags["message"].astype(str))
    assert "100,000 characters" in msgs and "9999999999" not in msgs
    # the identifier checks on such text: RE2 patterns, one pass
    assert privacy.identifier_by_content(pd.Series([big] * 3), address_header=True) == "street address"
    assert privacy.identifier_values(pd.Series([big, "a" * 100_000 + "@", "b" * 100_000 + "@x.az"])).tolist() == [
        False, False, True]


# --- identifiers ----------------------------------------------------------------------------------
def test_identifier_content_check_covers_every_row_not_a_sample():
    """The address check sampled 200 rows: e-mails after row 200 in a kept column stayed."""
    n = 600
    region = [f"AZE-{1600 + i % 50}" for i in range(150)] + [f"person{i}@mail.az" for i in range(n - 150)]
    df = pd.DataFrame({"sex": "1", "incidence_date": "20190101", "topography": "C509", "age": "50",
                       "district": region, "Address": [""] * 250 + ["12 Nizami st, Baku"] * (n - 250)})
    raw = read_records(df)
    assert raw.dropped_columns == {"district": "e-mail", "Address": "street address"}
    assert "@" not in " ".join(map(str, raw.records.to_numpy().ravel()))


def test_single_identifier_values_in_kept_columns_are_blanked_and_never_echoed(tmp_path):
    rows = [ROW] * 20 + [ROW.replace("AZE-1676", "anar@example.az"), ROW.replace("AZE-1676", "+994 50 123 45 67"),
                         ROW.replace("2\t2019", "Məmmədova\t2019"), ROW.replace("20190115", "050-123-45-67")]
    data = _tsv(*rows)
    reg = load_registry(data, name="x.tsv")
    flags = reg.report()
    secrets = ("anar@example.az", "123 45 67", "Məmmədova", "050-123")
    text = flags.to_csv() + " ".join(reg.summary_lines()) + reg.records.to_csv()
    assert not any(s in text for s in secrets)
    assert set(flags.loc[flags["check"] == "identifier_value_removed", S.ROW]) == {21, 22}
    assert "a value of 9 characters" in " ".join(flags["message"])            # the name in the sex column
    # the command line: stdout and the report file
    from analytics.cli.ingest_cmd import run
    import argparse
    import contextlib
    f = tmp_path / "x.tsv"
    f.write_bytes(data)
    out = io.StringIO()
    args = argparse.Namespace(path=str(f), mapping=None, population=None, deaths=None, report=str(tmp_path / "r.csv"),
                              top_age=85, by="site_ci5", regions=None, region_key=None)
    with contextlib.redirect_stdout(out):
        assert run(args) == 0
    printed = out.getvalue() + (tmp_path / "r.csv").read_text(encoding="utf-8")
    assert not any(s in printed for s in secrets)


def test_preview_keeps_no_value_of_identifier_columns_and_page_shows_none_of_unmapped():
    """FAMILIYA, col7, notes, 'yashayish yeri' reached the browser in the preview."""
    cols = ["SEX", "INCID", "TOP", "AGE", "FAMILIYA", "col7", "notes", "yashayish yeri", "e-poçt"]
    row = ["2", "20190115", "509", "56", "Hüseynova", "Leyla", "called +994 50 111 22 33", "Nizami 12, Bakı",
           "leyla@mail.az"]
    data = ("\t".join(cols) + "\n" + ("\t".join(row) + "\n") * 30).encode()
    pv = upload.preview(data, "x.tsv")
    assert "e-poçt" in pv.identifiers and "e-poçt" not in pv.sample.columns
    assert "leyla@mail.az" not in pv.sample.to_string()


# --- codes: non-ASCII digits are unknown values, not a rejected file -------------------------------
@pytest.mark.parametrize("bad", ["²", "①", "٣", "5²", "５０"])
def test_non_ascii_digits_become_unknown_with_a_flag(bad):
    reg = load_registry(_tsv(ROW, ROW.replace("\t56\t", f"\t{bad}\t").replace("2\t2019", f"{bad}\t2019")),
                        name="x.tsv")
    assert reg.n_read == 2 and reg.n_used == 2
    r2 = reg.records.set_index(S.ROW).loc[2]
    assert pd.isna(r2[S.AGE]) and pd.isna(r2[S.SEX])
    hit = reg.flags[(reg.flags[S.ROW] == 2) & (reg.flags["check"] == "invalid_code")]
    assert set(hit["column"]) == {S.SEX, S.AGE}
    assert all("digits other than 0-9" in m or "character" in m for m in hit["message"])


# --- mapping files ---------------------------------------------------------------------------------
@pytest.mark.parametrize("data,fragment", [
    ("columns:\n  Gender: sex\n".encode("utf-16"), "not UTF-8"),
    (b"- sex\n- topography\n", "holds a list"),
    (b"[" * 5000 + b"]" * 5000, "nested more than"),
    (b"a: &x [1,2]\nb: *x\n", "anchors or aliases"),
    (b"columns: [a, b\n", "not valid YAML"),
    (b"columns: {a: sex}\ncodes: {sex: {M: one}}\n", "whole number code"),
    (b"columns: {a: sex}\ndate_format: '%Q'\n", "date_format"),
    (b"colums: {a: sex}\n", "mean nothing here"),
    (b"x: " + b"a" * 300_000, "limit is 256 KB"),
    (b"columns:\n  \x00: sex\n", "NUL"),
])
def test_malformed_mapping_files_give_a_sentence(data, fragment):
    with pytest.raises(IngestError) as e:
        load_mapping(data, name="map.yaml")
    assert fragment in str(e.value) and "map.yaml" in str(e.value)


# --- the worker: memory, time, crash ---------------------------------------------------------------
def _stalls(seconds: float, *, progress) -> None:
    """A reader that never finishes (run in the worker: importable at module level)."""
    import time

    progress("stalling")
    time.sleep(seconds)
    raise AssertionError("the worker was not stopped")


def test_worker_turns_memory_time_and_crashes_into_sentences():
    data = _tsv(ROW * 50_000)
    out = sandbox.run(upload.load, {"extract": ("x.tsv", data)}, label="x.tsv", limits=Limits(worker_memory_mb=20))
    assert out.error is not None and "x.tsv" in str(out.error)
    assert "memory" in str(out.error) or "stopped unexpectedly" in str(out.error)
    out = sandbox.run(_stalls, 120, label="x.tsv", limits=Limits(worker_timeout_s=1))
    assert out.value is None and "longer than 1 s" in str(out.error) and "REGISTRY_WORKER_TIMEOUT_S" in str(out.error)
    assert out.stages in ([], ["stalling"])    # stopped long before its 120 s (on a busy machine, maybe before it began)
    ok = sandbox.run(upload.load, {"extract": ("x.tsv", _tsv(ROW * 10))}, label="x.tsv")
    assert ok.error is None and ok.value.registry.n_read == 10 and ok.stages[0] == "open" and "done" in ok.stages


# --- UTF-32 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_file_is_transcoded_once_and_read_whole(encoding):
    """A 30 KB UTF-32 file took 20-28 s (each sniffing and parsing step decoded it again). It is
    now transcoded to UTF-8 once, as it is opened; every record and letter survives."""
    from analytics import readers

    rows = [ROW.replace("AZE-1676", f"AZE-{1600 + i % 70}").replace("\t56\t", f"\t{30 + i % 50}\t") for i in range(400)]
    text = HEADER.replace("ADDR", "ADDR\tşəhər") .replace("\n", "") + "\n" + "".join(
        r.rstrip("\n") + "\tŞəki-Ağdaş\n" for r in rows)
    data = text.encode(encoding)
    assert len(data) > 30_000
    src = readers.open_source(data, "x.tsv")
    assert src.file_encoding.startswith("utf-32") and src.encoding == "utf-8"
    assert src.data == text.encode("utf-8")
    reg = load_registry(data, name="x.tsv")
    assert reg.n_read == 400 and reg.n_used + reg.n_excluded == 400
    assert sorted(reg.records[S.REGION].astype(str).unique()) == sorted({f"AZE-{1600 + i % 70}" for i in range(400)})
    assert reg.records[S.AGE].astype(float).tolist() == [30 + i % 50 for i in range(400)]

"""Readers: any supported extract in, tidy frames of the data model (``analytics.schema``) out.

* :func:`read_records` reads tumour records: CanReg5 exports as CanReg5 writes them (tab,
  comma or a custom delimiter; short/English/full/standard headers; ``yyyyMMdd`` dates with
  ``99``/``00`` unknown parts; unknown age ``999``; topography ``509`` = C50.9; record
  status ``RECS`` 2 = deleted) and generic CSV/TSV/XLSX/Parquet with a mapping
  (:mod:`analytics.mapping`). Direct identifiers are recognised (:mod:`analytics.privacy`)
  and never read.
* :func:`read_population`, :func:`read_regions`, :func:`read_risk_factors`,
  :func:`read_deaths` (in :mod:`analytics.auxiliary`, re-exported here).

Everything a user can get wrong raises :class:`analytics.errors.IngestError` with a
sentence naming the file, row and column and what to do; values that cannot be parsed
become unknown and are reported as flag rows, the record itself is kept and counted.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from analytics import canreg, parsing, privacy
from analytics import schema as S
from analytics.encoding import SAMPLE_BYTES, decode_sample, detect_encoding
from analytics.errors import IngestError
from analytics.ingest import safeio
from analytics.ingest.limits import Limits
from analytics.ingest.limits import current as current_limits
from analytics.ingest.limits import memory_message
from analytics.mapping import AGE_SOURCES, REQUIRED, ColumnMapping, load_mapping, resolve_columns

SAMPLE_ROWS = 200
# Schema columns with few distinct values: read as categoricals (codes, dates, regions).
CATEGORICAL_TARGETS = {S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.AGE, S.TOPOGRAPHY, S.MORPHOLOGY, S.BEHAVIOUR,
                       S.BASIS, S.REGION, S.VITAL_STATUS, S.LAST_CONTACT, "_record_status"}

# Reader-level checks (flags that the reader itself raises, before validation).
CHECK_UNPARSEABLE_DATE = "unparseable_date"
CHECK_INVALID_CODE = "invalid_code"
CHECK_MALFORMED_ROW = "malformed_row"
CHECK_EMPTY_ROW = "empty_row"
CHECK_DELETED = "canreg_deleted"
CHECK_AGE_UNKNOWN_99 = "age_99_unknown"
CHECK_DATE_IMPUTED = "date_imputed"
# File-level assumptions: a column the extract does not have at all (not a record's fault).
ASSUME_MORPHOLOGY = "morphology_assumed"
ASSUME_BEHAVIOUR = "behaviour_assumed"
ASSUMPTIONS = {
    ASSUME_MORPHOLOGY: "The file has no morphology column: morphology was read as 8000 (neoplasm, NOS) "
                       "for every record.",
    ASSUME_BEHAVIOUR: "The file has no behaviour column: every record was read as malignant (behaviour 3).",
}
UNKNOWN_MORPHOLOGY = "8000"
READER_EXCLUSION_REASONS = {
    CHECK_MALFORMED_ROW: "malformed row (more fields than the header)",
    CHECK_EMPTY_ROW: "empty row",
    CHECK_DELETED: "deleted in CanReg5 (record status 2)",
}


# --- sources ------------------------------------------------------------------------------
@dataclass
class TableSource:
    """Where a table comes from and how to read it (filled in by :func:`open_source`)."""
    name: str
    kind: str                       # "text", "xlsx", "parquet", "frame"
    path: Path | None = None
    data: bytes | None = None
    frame: pd.DataFrame | None = None
    encoding: str | None = None
    delimiter: str | None = None
    limits: Limits = field(default_factory=Limits)
    file_encoding: str | None = None    # as the file was written (UTF-16/32 are read as UTF-8)
    truncated: bool = False             # only the start of a compressed file (a preview)
    header: list[str] | None = None     # column names, once read (read_header)

    def handle(self):
        return self.path if self.path is not None else io.BytesIO(self.data or b"")


def _refuse_path(text: str, label: str) -> None:
    """Only local files: GDAL virtual file systems (/vsicurl/ ...) and URLs are refused."""
    low = text.strip().lower()
    if low.startswith("/vsi") or "://" in low or low.startswith(("http:", "https:", "ftp:")):
        raise IngestError("only files on this computer can be read, not network addresses or virtual "
                          "file systems. Download the file and give its path.", file=label)


def open_source(source: Any, name: str | None = None, *, limits: Limits | None = None,
                head_only: bool = False) -> TableSource:
    """Work out the format of ``source`` (path, bytes, file-like or DataFrame) from its bytes.

    Sizes are checked against ``limits`` (default: :func:`analytics.ingest.limits.current`);
    gzip is decompressed as a stream up to the cap (``head_only``: only its first
    :data:`SAMPLE_BYTES`, enough for a preview); UTF-16 and UTF-32 text is transcoded to
    UTF-8; binary files and other formats are refused with a sentence saying what they are.
    """
    limits = current_limits(limits)
    if isinstance(source, pd.DataFrame):
        return TableSource(name or "data frame", "frame", frame=source, limits=limits)
    if isinstance(source, (str, Path)):
        label = name or str(source)
        _refuse_path(str(source), label)
        path = Path(source)
        if not path.exists():
            raise IngestError("the file does not exist. Check the path and try again.", file=label)
        if path.is_dir():
            raise IngestError("this is a folder, not a file. Give the path of the extract itself.", file=label)
        safeio.check_size(path.stat().st_size, limits, label)
        with open(path, "rb") as fh:
            head = fh.read(SAMPLE_BYTES)
        src = TableSource(label, "", path=path, limits=limits)
    else:
        data = source.getvalue() if hasattr(source, "getvalue") else (
            source.read() if hasattr(source, "read") else bytes(source))
        label = name or getattr(source, "name", None) or "uploaded file"
        safeio.check_size(len(data), limits, str(label), upload=True)
        head = data[:SAMPLE_BYTES]
        src = TableSource(str(label), "", data=data, limits=limits)
    if safeio.sniff(head) == "gzip":          # e.g. export.tsv.gz
        packed = src.path if src.path is not None else src.data
        data = safeio.gunzip(packed, limits=limits, name=src.name, head_only=SAMPLE_BYTES if head_only else None)
        src.truncated = head_only and len(data) >= SAMPLE_BYTES
        src.path, src.data, head = None, data, data[:SAMPLE_BYTES]
    suffix = Path(src.name.removesuffix(".gz")).suffix.lower()
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError("the file is empty. Export the data again (with the header line) and "
                          "load the new file.", file=src.name)
    container = safeio.sniff(head)
    if container == "parquet":
        src.kind = "parquet"
        return src
    if container == "zip":
        _check_workbook(src)
        src.kind = "xlsx"
        return src
    if container == "gzip":
        raise IngestError("the file is compressed twice (gzip inside gzip). Decompress it once and load the "
                          "result.", file=src.name)
    if suffix == ".xls" or head[:8] == safeio.OLE2_MAGIC:
        raise IngestError("old Excel .xls files are not supported. Save the sheet as .xlsx or CSV "
                          "and load that.", file=src.name)
    other = safeio.other_format(head)
    if other:
        raise IngestError(f"this is {other}, not a table. Load the registry extract as a CSV/TSV "
                          "export, an Excel workbook (.xlsx) or a Parquet file.", file=src.name)
    _open_text(src, head)
    return src


def _check_workbook(src: TableSource) -> None:
    """A zip archive is accepted as an Excel workbook only after its directory passed the
    limits (sizes, ratio) and it has a workbook part."""
    infos = safeio.zip_members(src.path if src.path is not None else src.data, limits=src.limits, name=src.name)
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise IngestError("this is a zip archive, not an Excel workbook. Unzip it and load the table "
                          "inside (CSV/TSV, .xlsx or Parquet).", file=src.name)


def _open_text(src: TableSource, head: bytes) -> None:
    """Encoding (UTF-16/32 transcoded to UTF-8), binary check and delimiter of a text file."""
    src.kind = "text"
    enc = detect_encoding(head)
    src.file_encoding = enc
    if enc.startswith(("utf-16", "utf-32")):
        raw = src.path.read_bytes() if src.path is not None else (src.data or b"")
        text = raw.decode(enc, errors="replace").lstrip("\ufeff")
        src.path, src.data = None, text.encode("utf-8")
        head, enc = src.data[:SAMPLE_BYTES], "utf-8"
        if not text.strip():
            raise IngestError("the file is empty. Export the data again (with the header line) and "
                              "load the new file.", file=src.name)
    src.encoding = enc
    if src.truncated and src.data:
        cut = src.data.rfind(b"\n")
        src.data = src.data[:cut + 1] if cut > 0 else src.data
    text = decode_sample(head, src.encoding)
    reason = safeio.binary_reason(text)
    if reason:
        raise IngestError(f"this is not a text table ({reason}). Load the registry extract as a CSV/TSV "
                          "export, an Excel workbook (.xlsx) or a Parquet file.", file=src.name)
    src.delimiter = sniff_delimiter(text)


def sniff_delimiter(text: str) -> str:
    """Tab, comma, semicolon or pipe by consistent counts over the first lines; else
    the punctuation character CanReg's custom delimiter would be (most common, same count
    on every line)."""
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:50] if ln.strip()]
    if not lines:
        return ","
    header = lines[0]
    best, best_score = None, 0
    for cand in ["\t", ",", ";", "|"]:
        counts = [_count_outside_quotes(ln, cand) for ln in lines[:20]]
        if counts[0] == 0:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        score = counts[0] * (0.5 + consistent)
        if score > best_score:
            best, best_score = cand, score
    if best is not None:
        return best
    punct = [ch for ch in header if not ch.isalnum() and ch not in " _.-*()'\"\ufeff"]
    if punct:
        ch = max(set(punct), key=punct.count)
        return ch
    return ","


_QUOTED = re.compile(r'"[^"]*"?')


def _count_outside_quotes(line: str, ch: str) -> int:
    """Occurrences of ``ch`` outside double-quoted parts (an unclosed quote runs to the end
    of the line); one regular-expression pass, linear in the line."""
    return _QUOTED.sub("", line).count(ch) if '"' in line else line.count(ch)


# --- reading tables -----------------------------------------------------------------------
def _text_kwargs(src: TableSource, encoding: str) -> dict:
    return dict(sep=src.delimiter, dtype=str, encoding=encoding, keep_default_na=False,
                na_values=[""], skip_blank_lines=False, engine="c", quotechar='"',
                on_bad_lines="warn")


def _read_text_arrow(src: TableSource, columns: list[str], n_fields: int
                     ) -> tuple[pd.DataFrame, list[int]] | None:
    """Fast path for well-formed text (UTF-8 or a single-byte code page): Arrow's multi-threaded CSV reader, only the
    needed columns, every value as a string (Arrow-backed ``str`` columns, no copy).

    Rows with more fields than the header are skipped and returned by data-row number (as
    the pandas path does), so that one bad row does not cost a large file the fast path.
    Returns None, and the pandas path takes over, for anything else irregular: another
    encoding, duplicate header names, blank lines, short rows (the pandas path keeps them)."""
    if src.encoding not in ("utf-8", "utf-8-sig", "cp1251", "cp1252", "cp1254", "latin-1") or len(set(columns)) != len(columns):
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv
    irregular = []

    def on_invalid(row):
        irregular.append(row)
        return "skip"

    try:
        fh = src.path if src.path is not None else pa.BufferReader(src.data or b"")
        table = pacsv.read_csv(
            fh, read_options=pacsv.ReadOptions(block_size=1 << 24, use_threads=True,
                                               encoding="utf8" if src.encoding.startswith("utf") else src.encoding),
            parse_options=pacsv.ParseOptions(delimiter=src.delimiter, quote_char='"', double_quote=True,
                                             newlines_in_values=False, ignore_empty_lines=False,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types={c: pa.large_string() for c in columns},
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True))
    except Exception:   # noqa: BLE001 - any doubt: the pandas path reads it and explains problems
        return None
    if table.num_columns != len(columns):
        return None
    bad: list[int] = []
    if irregular:
        if not all(r.actual_columns > r.expected_columns for r in irregular):
            return None
        # Arrow does not number rows when it reads in parallel: the byte scan finds them
        over = _overlong_rows(src, n_fields)
        if len(over) != len(irregular):
            return None
        bad = sorted(int(r) for r in over)
    df = table.to_pandas()          # string columns as Arrow-backed "str" (no copy)
    return df, bad


def _csv_with_fallback(src: TableSource, enc: str, usecols, nrows) -> pd.DataFrame:
    """The C parser, and the Python parser where the C parser fails on odd input
    (control characters, ragged last lines with ``usecols``)."""
    kw = _text_kwargs(src, enc)
    try:
        return pd.read_csv(src.handle(), usecols=usecols, nrows=nrows, **kw)
    except UnicodeDecodeError:
        raise
    except (pd.errors.ParserError, ValueError):
        kw = _text_kwargs(src, enc) | {"engine": "python"}
        return pd.read_csv(src.handle(), usecols=usecols, nrows=nrows, **kw)


def _read_text(src: TableSource, usecols=None, nrows=None, n_fields: int | None = None
               ) -> tuple[pd.DataFrame, list[int]]:
    """Read a delimited text table; returns the frame and the 1-based data rows skipped as
    malformed (more fields than the header)."""
    encodings = [src.encoding] + [e for e in ("cp1252", "latin-1") if e != src.encoding]
    last_exc: Exception | None = None
    for enc in encodings:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                df = _csv_with_fallback(src, enc, usecols, nrows)
            bad = []
            for w in caught:
                for m in re.finditer(r"Skipping line (\d+)", str(w.message)):
                    bad.append(int(m.group(1)) - 1)
            src.encoding = enc
            if usecols is not None and n_fields is not None:
                # with usecols pandas reads over-long rows silently: find them from the bytes
                over = _overlong_rows(src, n_fields)
                over = over[over <= len(df)]
                if len(over):
                    df = df.drop(index=df.index[over - 1]).reset_index(drop=True)
                    bad.extend(int(r) for r in over)
            return df, sorted(set(bad))
        except UnicodeDecodeError as exc:
            last_exc = exc
            continue
        except pd.errors.EmptyDataError:
            raise IngestError("the file has no header line. Export it again with the variable names "
                              "as the first line.", file=src.name) from None
        except (pd.errors.ParserError, ValueError, csv.Error, OverflowError) as exc:
            row = None
            mrow = re.search(r"(?:line|row) (\d+)", str(exc))
            if mrow:
                row = max(int(mrow.group(1)) - 1, 0)
            text = str(exc)
            if "unexpected end of data" in text or "EOF inside string" in text:
                raise IngestError('a double quote (") opens a value that is never closed, so the rest of the '
                                  "file would be read as one value. Remove the stray quote or export the file "
                                  "again.", file=src.name, row=row) from None
            raise IngestError(f"the file could not be read as a table ({_first_line(exc)}). Check that it is "
                              "a CSV/TSV export with one header line and matching quotes.",
                              file=src.name, row=row) from None
    raise IngestError(f"the text encoding could not be read ({_first_line(last_exc)}). Save the file as "
                      "UTF-8 and load it again.", file=src.name)


def _overlong_rows(src: TableSource, n_fields: int, chunk: int = 1 << 24) -> np.ndarray:
    """1-based data rows with more fields than the header, found by counting delimiter bytes
    per line (in chunks, vectorised); lines that look over-long are re-parsed with the csv
    module so that quoted delimiters are not miscounted."""
    enc = (src.encoding or "utf-8").lower()
    if enc.startswith("utf-16") or not src.delimiter or len(src.delimiter.encode(enc, "ignore")) != 1:
        return np.array([], dtype=np.int64)
    delim = src.delimiter.encode(enc)[0]
    fh = open(src.path, "rb") if src.path is not None else io.BytesIO(src.data or b"")
    suspects: list[int] = []
    line_no = 0          # physical lines completed before the current chunk
    carry = 0            # delimiters counted on the unfinished line
    with fh:
        while True:
            buf = fh.read(chunk)
            if not buf:
                break
            a = np.frombuffer(buf, dtype=np.uint8)
            nl = np.flatnonzero(a == 10)
            dl = np.flatnonzero(a == delim)
            per_line = np.diff(np.searchsorted(dl, np.r_[-1, nl], side="right")) if len(nl) else np.array([], int)
            if len(per_line):
                per_line[0] += carry
                hit = np.flatnonzero(per_line + 1 > n_fields)
                suspects.extend((line_no + hit + 1).tolist())
                line_no += len(nl)
                carry = int(len(dl) - np.searchsorted(dl, nl[-1], side="right"))
            else:
                carry += len(dl)
        if carry + 1 > n_fields:
            suspects.append(line_no + 1)
    suspects = [s for s in suspects if s > 1]          # line 1 is the header
    if not suspects:
        return np.array([], dtype=np.int64)
    confirmed = []
    if len(suspects) > 10000:   # too many to re-parse one by one: trust the byte count
        return np.asarray(suspects, dtype=np.int64) - 1
    raw = src.path.read_bytes() if src.path is not None else (src.data or b"")
    text_lines = raw.split(b"\n")
    for ln in suspects:
        line = text_lines[ln - 1].decode(enc, errors="replace").rstrip("\r")
        try:
            fields = next(csv.reader([line], delimiter=src.delimiter))
        except (csv.Error, StopIteration):
            fields = []
        if len(fields) > n_fields:
            confirmed.append(ln - 1)
    return np.asarray(confirmed, dtype=np.int64)


def _first_line(exc: BaseException | None) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200] if exc else ""


def sample_table(src: TableSource, nrows: int = SAMPLE_ROWS, *, drop_identifiers: bool = True) -> pd.DataFrame:
    """The header and the first ``nrows`` rows, every column as text: a preview for the
    mapping step. Direct identifier columns are left out (``drop_identifiers=False`` is for
    the reader's own detection, which needs them to recognise them)."""
    df = _sample(src, nrows)
    if drop_identifiers and len(df.columns):
        found = privacy.find_identifiers(df)
        df = df.drop(columns=[c for c in df.columns if str(c) in found])
    return df


def _sample(src: TableSource, nrows: int) -> pd.DataFrame:
    try:
        if src.kind == "frame":
            return src.frame.head(nrows).astype(str)
        if src.kind == "parquet":
            import pyarrow.parquet as pq
            pf = pq.ParquetFile(src.handle())
            batch = next(pf.iter_batches(batch_size=nrows), None)
            if batch is None:
                return pd.DataFrame(columns=pf.schema_arrow.names, dtype=str)
            return batch.to_pandas().head(nrows).astype(str)
        if src.kind == "xlsx":
            return pd.read_excel(src.handle(), sheet_name=0, nrows=nrows, dtype=str, engine="openpyxl")
        df, _ = _read_text(src, nrows=nrows)
        return df
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(f"the file could not be read as {_kind_label(src)} ({_first_line(exc)}). "
                          "Check the file type and export it again.", file=src.name) from None


def _kind_label(src: TableSource) -> str:
    return {"parquet": "Parquet", "xlsx": "an Excel workbook", "text": "CSV/TSV text",
            "frame": "a table"}.get(src.kind, "a table")


def read_columns(src: TableSource, positions: list[int], names: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """Only the columns at ``positions`` (others, identifiers included, are never parsed)."""
    try:
        if src.kind == "frame":
            df = src.frame.iloc[:, positions].copy()
            df.columns = names
            return df.reset_index(drop=True), []
        if src.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq
            schema_ = pq.read_schema(src.handle())
            cols = [schema_.names[p] for p in positions]
            # code columns come back as dictionary arrays (pandas categoricals): no re-hashing
            as_dict = [c for c, n in zip(cols, names) if n in CATEGORICAL_TARGETS and (
                pa.types.is_string(schema_.field(c).type) or pa.types.is_large_string(schema_.field(c).type))]
            df = pq.ParquetFile(src.handle(), read_dictionary=as_dict).read(columns=cols).to_pandas()
            df.columns = names
            return df, []
        if src.kind == "xlsx":
            df = pd.read_excel(src.handle(), sheet_name=0, usecols=positions, dtype=str, engine="openpyxl")
            df.columns = names
            return df, []
        header = src.header if src.header is not None else [str(c) for c in _sample(src, 0).columns]
        fast = _read_text_arrow(src, [str(header[p]) for p in positions], len(header))
        if fast is not None:
            fast[0].columns = names
            return fast
        df, bad = _read_text(src, usecols=positions, n_fields=len(header))
        df.columns = names
        return df, bad
    except IngestError:
        raise
    except MemoryError:
        raise IngestError(memory_message(src.limits), file=src.name) from None
    except Exception as exc:
        raise IngestError(f"the file could not be read as {_kind_label(src)} ({_first_line(exc)}). "
                          "Check the file type and export it again.", file=src.name) from None


# --- tumour records -------------------------------------------------------------------------
@dataclass
class RawRecords:
    """Tumour records as read, before derivation and validation."""
    records: pd.DataFrame                 # schema.TUMOUR_COLUMNS (+ *_imputed) + ROW
    flags: pd.DataFrame                   # schema.FLAG_COLUMNS, reader-level
    exclusions: pd.DataFrame              # ROW, TUMOUR_ID, check, reason: removed by the reader
    n_read: int
    dropped_columns: dict[str, str] = field(default_factory=dict)   # identifier column -> kind
    ignored_columns: list[str] = field(default_factory=list)        # other columns not needed
    column_map: dict[str, str] = field(default_factory=dict)        # their column -> schema
    source: str = ""
    kind: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    canreg: bool = False
    # file-level assumptions (ASSUMPTIONS keys) -> number of records they apply to
    assumptions: dict[str, int] = field(default_factory=dict)


def _empty_flags() -> pd.DataFrame:
    return pd.DataFrame({S.ROW: pd.Series(dtype="int64"), S.TUMOUR_ID: pd.Series(dtype="str"),
                         "check": pd.Series(dtype="str"), "severity": pd.Series(dtype="str"),
                         "column": pd.Series(dtype="str"), "message": pd.Series(dtype="str")})


def _flag_frame(rows: np.ndarray, ids: pd.Series, check: str, severity: str, column: str,
                messages) -> pd.DataFrame:
    return pd.DataFrame({S.ROW: np.asarray(rows, dtype="int64"),
                         S.TUMOUR_ID: pd.array(np.asarray(ids, dtype=object), dtype="str"),
                         "check": check, "severity": severity, "column": column,
                         "message": pd.array(np.asarray(messages, dtype=object), dtype="str")})


TEXT_TARGETS = (S.TUMOUR_ID, S.PATIENT_ID, S.REGION, S.CAUSE_OF_DEATH)
CHECK_IDENTIFIER_VALUE = "identifier_value_removed"


def read_records(source: Any, *, mapping: Any = None, name: str | None = None,
                 limits: Limits | None = None, progress: Progress | None = None) -> RawRecords:
    """Read tumour records into the data model; see the module docstring.

    ``source`` is a path, bytes, a file-like object (an upload) or a DataFrame. ``mapping``
    is a mapping file path, dict or :class:`~analytics.mapping.ColumnMapping`. ``limits``
    bounds what the file may cost (:mod:`analytics.ingest.limits`); ``progress(stage)`` is
    told when each stage starts (:data:`analytics.pipeline.STAGES`).
    """
    limits = current_limits(limits)
    _tell(progress, "open")
    src = open_source(source, name, limits=limits)
    cmap = load_mapping(mapping, limits=limits)
    headers = [str(c) for c in read_header(src)]
    is_canreg = canreg.is_canreg_header(headers)
    col_map, codes = resolve_columns(headers, cmap)
    # Identifiers by header are never read; every other column is read and its content
    # checked, every value of it (linear-time patterns): see analytics.privacy.
    by_header = {c: kind for c in headers if c not in col_map and (kind := privacy.identifier_by_header(c))}
    _check_required(col_map, headers, src)
    _tell(progress, "read")
    keep = [i for i, h in enumerate(headers) if h not in by_header]
    table, bad_rows = read_columns(src, keep, [headers[i] for i in keep])
    _check_table_limits(table, len(bad_rows), src)
    _tell(progress, "identifiers")
    # unmapped columns and the text columns kept (dates and codes: anything else there is
    # reported as unparseable); street-like text counts under an address header or as region
    checked = [c for c in table.columns if col_map.get(c) is None or col_map.get(c) in TEXT_TARGETS]
    address = {c for c in checked if col_map.get(c) == S.REGION or (
        col_map.get(c) is None and canreg.normalise_header(c) in privacy.ADDRESS_CONTENT_HEADERS)}
    ident = dict(by_header)
    ident.update(privacy.identifiers_by_content({c: table[c] for c in checked}, address=address))
    ident = {c: ident[c] for c in headers if c in ident}
    for c in ident:
        col_map.pop(c, None)
    # in file order, then renamed to the data model; identifier and unused columns go now
    col_map = dict(sorted(col_map.items(), key=lambda kv: headers.index(kv[0])))
    raw = table[list(col_map)].copy()
    raw.columns = [col_map[c] for c in col_map]
    del table
    ignored = [c for c in headers if c not in col_map and c not in ident]
    _tell(progress, "parse")
    rec, flags, excl, n_read = _normalise(raw, bad_rows, codes, cmap.date_format, is_canreg,
                                          {v: k for k, v in col_map.items()})
    assumptions = rec.attrs.pop("assumptions", {})
    return RawRecords(rec, flags, excl, n_read, dropped_columns=ident, ignored_columns=ignored,
                      column_map=col_map, source=src.name, kind=src.kind,
                      encoding=src.file_encoding or src.encoding, delimiter=src.delimiter, canreg=is_canreg,
                      assumptions=assumptions)


Progress = Callable[[str], None]


def _tell(progress: Progress | None, stage: str) -> None:
    if progress is not None:
        progress(stage)


def read_header(src: TableSource) -> list[str]:
    """The column names of a table (header line, first row of the sheet, Parquet schema),
    checked against the column limit."""
    if src.kind == "parquet":
        import pyarrow.parquet as pq
        try:
            meta = pq.ParquetFile(src.handle()).metadata
        except Exception as exc:   # noqa: BLE001 - a damaged file is the user's to fix
            raise IngestError(f"the file could not be read as Parquet ({_first_line(exc)}). Export it again.",
                              file=src.name) from None
        if meta.num_columns > src.limits.max_columns:
            raise safeio.too_large("the table's number of columns", meta.num_columns, src.limits.max_columns,
                                   "max_columns", "columns", src.name)
        if meta.num_rows > src.limits.max_rows:
            raise safeio.too_large("the table's number of records", meta.num_rows, src.limits.max_rows,
                                   "max_rows", "records", src.name)
        names = meta.schema.to_arrow_schema().names
    else:
        names = [str(c) for c in _sample(src, 0).columns]
    if len(names) > src.limits.max_columns:
        raise safeio.too_large("the table's number of columns", len(names), src.limits.max_columns,
                               "max_columns", "columns", src.name)
    src.header = names
    long = next((n for n in names if len(n) > src.limits.max_field_chars), None)
    if long is not None:
        raise safeio.too_large("a column name", len(long), src.limits.max_field_chars, "max_field_chars",
                               "characters", src.name)
    return names


def _check_table_limits(table: pd.DataFrame, n_bad: int, src: TableSource) -> None:
    """Records and field length of a table as read: over a limit is a sentence naming where."""
    lim = src.limits
    n = len(table) + n_bad
    if n > lim.max_rows:
        raise safeio.too_large("the table's number of records", n, lim.max_rows, "max_rows", "records", src.name)
    for col in table.columns:
        longest, row = _longest(table[col])
        if longest > lim.max_field_chars:
            raise IngestError(f"a value has {longest:,} characters, over the limit of {lim.max_field_chars:,} "
                              "(the most a spreadsheet cell holds). Check the delimiter and the quotes of the "
                              f"file, or ask the operator to raise {safeio.env_name('max_field_chars')}.",
                              file=src.name, row=row + 1, column=privacy.shown_header(col))


def _longest(s: pd.Series) -> tuple[int, int]:
    """(length of the longest text value, its position); (0, -1) for a column without text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object) or not len(s):
        return 0, -1
    arr = getattr(s.array, "_pa_array", None)
    if arr is None:
        arr = pa.array(s.astype("str").array, type=pa.large_string(), from_pandas=True)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        from analytics.ingest import arrowtext
        if arrowtext.plain_ascii(arr):          # characters are bytes: the offsets give the lengths
            nbytes = arrowtext.byte_lengths(arr)
            if arr.null_count:
                nbytes = np.where(np.asarray(pc.is_valid(arr)), nbytes, -1)
            top = int(nbytes.max())
            return (top, int(nbytes.argmax())) if top >= 0 else (0, -1)
    lengths = pc.utf8_length(arr)
    top = pc.max(lengths).as_py()
    if top is None:
        return 0, -1
    return int(top), int(pc.index(lengths, top).as_py())


def _check_required(col_map: dict[str, str], headers: list[str], src: TableSource) -> None:
    have = set(col_map.values())
    missing = [c for c in REQUIRED if c not in have]
    if not any(c in have for c in AGE_SOURCES):
        missing.append(f"{S.AGE} or {S.BIRTH_DATE}")
    if not missing:
        return
    shown = ", ".join(f"'{privacy.shown_header(h)}'" for h in headers[:30]) + (" ..." if len(headers) > 30 else "")
    hint = ""
    if len(headers) == 1 and any(ch in headers[0] for ch in ",;\t|"):
        hint = (" The whole header was read as one column, so the delimiter was not recognised: "
                "save the file as comma- or tab-separated.")
    raise IngestError(f"required column(s) not found: {', '.join(missing)}. The header has {shown}.{hint} "
                      "Say which column is which in the column mapping (the table on the Data page, or a "
                      "mapping file).", file=src.name, row=0, column=missing[0])


def _normalise(raw: pd.DataFrame, bad_rows: list[int], codes: dict, date_format: str | None,
               is_canreg: bool, source_col: dict[str, str]):
    """Parse every mapped column; returns records, reader flags, reader exclusions, n_read."""
    n_kept = len(raw)
    n_read = n_kept + len(bad_rows)
    if bad_rows:
        keep = np.ones(n_read, dtype=bool)          # a mask, not setdiff1d (which sorts/hashes all rows)
        br = np.asarray(bad_rows, dtype=np.int64)
        keep[br[(br >= 1) & (br <= n_read)] - 1] = False
        rows = (np.flatnonzero(keep) + 1)[:n_kept]
    else:
        rows = np.arange(1, n_kept + 1)
    raw = raw.reset_index(drop=True)
    out = pd.DataFrame(index=raw.index)
    flag_parts: list[pd.DataFrame] = []
    excl_parts: list[pd.DataFrame] = []

    def src_name(col):
        return privacy.shown_header(source_col.get(col, col))

    # Kept text columns: a single value that looks like an e-mail address or a phone number is
    # blanked (whole identifier columns were dropped by the reader already).
    blanked: dict[str, np.ndarray] = {}
    for col in TEXT_TARGETS:
        if col in raw:
            hit = privacy.identifier_values(raw[col])
            if hit.any():
                raw[col] = raw[col].where(~hit)
                blanked[col] = hit

    if S.TUMOUR_ID in raw:
        tid = parsing.parse_text(raw[S.TUMOUR_ID])
        if tid.isna().any():   # a record without an id is named after its row
            miss = tid.isna().to_numpy()
            tid[miss] = np.char.add("row", rows[miss].astype(str))
    else:
        tid = pd.Series(np.char.add("row", rows.astype(str)), dtype="str")
    out[S.TUMOUR_ID] = tid.values
    ids = out[S.TUMOUR_ID]
    if S.PATIENT_ID in raw:
        pid = parsing.parse_text(raw[S.PATIENT_ID])
        out[S.PATIENT_ID] = pid.where(pid.notna(), ids.values).values
    else:
        out[S.PATIENT_ID] = ids.values
    for col, hit in blanked.items():
        flag_parts.append(_flag_frame(rows[hit], ids[hit].to_numpy(), CHECK_IDENTIFIER_VALUE, S.WARNING, col,
                                      [f"{src_name(col)}: a value that looks like an e-mail address or a phone "
                                       "number was removed (identifiers are not kept)"] * int(hit.sum())))

    def add_invalid(col: str, parsed: parsing.Parsed, check: str, what: str, show_value: bool = True):
        mask = np.asarray(parsed.invalid, dtype=bool)
        if not mask.any():
            return
        if show_value:   # a value is repeated only when it has the shape of a code (analytics.privacy)
            codes_, uniq = pd.factorize(raw[col][mask].astype(str))
            msgs = np.array([f"{src_name(col)} {privacy.shown_value(v)} is not {what}; set to unknown"
                             for v in uniq], dtype=object)[codes_]
        else:
            msgs = [f"{src_name(col)} is not {what}; set to unknown"] * int(mask.sum())
        flag_parts.append(_flag_frame(rows[mask], ids[mask].to_numpy(), check, S.WARNING, col, msgs))

    code_specs = [
        (S.SEX, parsing.SEX_CODES, "a valid sex code (1 male, 2 female, 9 unknown)"),
        (S.VITAL_STATUS, parsing.VITAL_CODES, "a valid vital status (1 alive, 2 dead, 9 unknown)"),
        (canreg.RECORD_STATUS, {"0": 0, "1": 1, "2": 2}, "a CanReg record status (0, 1, 2)"),
    ]
    for col, table, what in code_specs:
        if col in raw:
            p = parsing.parse_code(raw[col], table, extra=codes.get(col))
            out[col] = p.values
            add_invalid(col, p, CHECK_INVALID_CODE, what)
        elif col != canreg.RECORD_STATUS:
            out[col] = parsing.missing(len(raw), "Int8")
    if S.BASIS in raw:
        p = parsing.parse_basis(raw[S.BASIS], extra=codes.get(S.BASIS))
        out[S.BASIS] = p.values
        add_invalid(S.BASIS, p, CHECK_INVALID_CODE, "a basis of diagnosis code (0-9)")
    else:
        out[S.BASIS] = parsing.missing(len(raw), "Int8")

    if S.TOPOGRAPHY in raw:
        p = parsing.parse_topography(raw[S.TOPOGRAPHY])
        out[S.TOPOGRAPHY] = p.values.values
        add_invalid(S.TOPOGRAPHY, p, CHECK_INVALID_CODE, "an ICD-O-3 topography code (C000-C809)")
    beh_from_mor = None
    assumptions: dict[str, int] = {}
    if S.MORPHOLOGY in raw:
        p, beh_from_mor = parsing.parse_morphology(raw[S.MORPHOLOGY])
        out[S.MORPHOLOGY] = p.values.values
        add_invalid(S.MORPHOLOGY, p, CHECK_INVALID_CODE, "a 4-digit ICD-O-3 morphology code")
    else:
        # An extract without any morphology (site-only registries, some hospital lists) is
        # still usable: ICD-10 follows from topography for solid tumours. Reading 8000
        # ("neoplasm, NOS") says exactly that the histology is unknown, and the load
        # reports the assumption instead of excluding every record as "morphology missing".
        out[S.MORPHOLOGY] = pd.Categorical.from_codes(np.zeros(len(raw), dtype="int8"),
                                                   categories=pd.Index([UNKNOWN_MORPHOLOGY], dtype="str"))
        assumptions[ASSUME_MORPHOLOGY] = len(raw)
    if S.BEHAVIOUR in raw:
        p = parsing.parse_code(raw[S.BEHAVIOUR], parsing.BEHAVIOUR_CODES, extra=codes.get(S.BEHAVIOUR))
        beh = p.values
        if beh_from_mor is not None:   # "8140/3" in the morphology fills a missing behaviour
            beh = pd.Series(beh).fillna(pd.Series(beh_from_mor.values)).array
        out[S.BEHAVIOUR] = beh
        add_invalid(S.BEHAVIOUR, p, CHECK_INVALID_CODE, "a behaviour code (0, 1, 2, 3)")
    else:
        beh = (pd.Series(beh_from_mor.values, dtype="Int8") if beh_from_mor is not None
               else pd.Series(parsing.missing(len(raw), "Int8"), dtype="Int8"))
        # Without a behaviour column an extract lists malignant tumours (the registry's
        # default count); a "/2" suffix on the morphology still says otherwise.
        n_assumed = int(beh.isna().sum())
        if n_assumed:
            beh = beh.fillna(3)
            assumptions[ASSUME_BEHAVIOUR] = n_assumed
        out[S.BEHAVIOUR] = beh.array

    for col in (S.BIRTH_DATE, S.INCIDENCE_DATE, S.LAST_CONTACT):
        if col in raw:
            p = parsing.parse_dates(raw[col], date_format=date_format)
            out[col] = p.values.values
            out[f"{col}_imputed"] = p.imputed
            add_invalid(col, p, CHECK_UNPARSEABLE_DATE, "a valid date", show_value=col != S.BIRTH_DATE)
            imp = np.asarray(p.imputed, dtype=bool)
            if imp.any():   # CanReg5's "Correct unknown date": said per record, as a warning
                flag_parts.append(_flag_frame(rows[imp], ids[imp].to_numpy(), CHECK_DATE_IMPUTED, S.WARNING, col,
                                              [f"{src_name(col)} has an unknown day or month: imputed as CanReg5 does "
                                               "(unknown day -> 15th, unknown month -> 1 July)"] * int(imp.sum())))
        else:
            out[col] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
            out[f"{col}_imputed"] = False

    if S.AGE in raw:
        p = parsing.parse_age(raw[S.AGE], extra=codes.get(S.AGE))
        age = pd.Series(p.values)
        add_invalid(S.AGE, p, CHECK_INVALID_CODE, "an age in years (0-130, 999 unknown)")
        if is_canreg and not ((age >= 100) & (age <= 998)).any():
            # 2-digit age variable: 99 means unknown unless the dates give 99 completed years
            from_dates = _completed_years(out[S.BIRTH_DATE], out[S.INCIDENCE_DATE])
            unk99 = (age == 99).fillna(False).to_numpy() & ~(from_dates == 99).fillna(False).to_numpy()
            if unk99.any():
                age = age.mask(unk99)
                flag_parts.append(_flag_frame(rows[unk99], ids[unk99].to_numpy(), CHECK_AGE_UNKNOWN_99,
                                              S.WARNING, S.AGE,
                                              [f"{src_name(S.AGE)} 99 read as unknown (2-digit CanReg age "
                                               "variable; the dates do not give 99 years)"] * int(unk99.sum())))
        out[S.AGE] = age.astype("Int16").values
    else:
        out[S.AGE] = parsing.missing(len(raw), "Int16")

    for col in (S.REGION, S.CAUSE_OF_DEATH):
        out[col] = (parsing.parse_text(raw[col]).values if col in raw
                    else parsing.missing(len(raw), "str"))
    out[S.ROW] = rows

    # Reader-level exclusions: malformed rows (never parsed), empty rows, CanReg deleted records.
    if bad_rows:
        br = np.asarray(bad_rows, dtype="int64")
        excl_parts.append(pd.DataFrame({S.ROW: br, S.TUMOUR_ID: parsing.missing(len(br), "str"),
                                        "check": CHECK_MALFORMED_ROW,
                                        "reason": READER_EXCLUSION_REASONS[CHECK_MALFORMED_ROW]}))
    empty = raw.isna().all(axis=1).to_numpy() if raw.shape[1] else np.zeros(len(raw), bool)
    drop = empty.copy()
    if empty.any():
        excl_parts.append(pd.DataFrame({S.ROW: rows[empty], S.TUMOUR_ID: ids[empty].values,
                                        "check": CHECK_EMPTY_ROW,
                                        "reason": READER_EXCLUSION_REASONS[CHECK_EMPTY_ROW]}))
    if canreg.RECORD_STATUS in out:
        deleted = (out[canreg.RECORD_STATUS] == canreg.DELETED_STATUS).fillna(False).to_numpy() & ~empty
        if deleted.any():
            excl_parts.append(pd.DataFrame({S.ROW: rows[deleted], S.TUMOUR_ID: ids[deleted].values,
                                            "check": CHECK_DELETED,
                                            "reason": READER_EXCLUSION_REASONS[CHECK_DELETED]}))
        drop |= deleted
        out = out.drop(columns=[canreg.RECORD_STATUS])
    flags = pd.concat(flag_parts, ignore_index=True) if flag_parts else _empty_flags()
    if drop.any():
        out = out[~drop].reset_index(drop=True)
        flags = flags[~flags[S.ROW].isin(rows[drop])].reset_index(drop=True)
    excl = (pd.concat(excl_parts, ignore_index=True) if excl_parts else
            pd.DataFrame({S.ROW: pd.Series(dtype="int64"), S.TUMOUR_ID: pd.Series(dtype="str"),
                          "check": pd.Series(dtype="str"), "reason": pd.Series(dtype="str")}))
    excl = excl.sort_values(S.ROW, kind="stable").reset_index(drop=True)
    ordered = [c for c in S.TUMOUR_COLUMNS if c in out] + [S.ROW] + [
        f"{c}_imputed" for c in (S.BIRTH_DATE, S.INCIDENCE_DATE, S.LAST_CONTACT)]
    out = out[ordered]
    out.attrs["assumptions"] = {k: v for k, v in assumptions.items() if v}
    return out, flags, excl, n_read


def _completed_years(birth: pd.Series, event: pd.Series) -> pd.Series:
    """Completed years between two date columns (NA where either is unknown)."""
    b, e = pd.DatetimeIndex(birth), pd.DatetimeIndex(event)
    yrs = e.year - b.year - ((e.month < b.month) | ((e.month == b.month) & (e.day < b.day))).astype(int)
    return pd.Series(yrs, dtype="Int64").where(~(b.isna() | e.isna()))


# Readers of the other tables live in analytics.auxiliary; exported here as the interface.
from analytics.auxiliary import read_deaths, read_population, read_regions, read_risk_factors  # noqa: E402,F401

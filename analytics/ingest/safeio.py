"""Bytes in: sizes checked, compressed data streamed up to a cap, formats known by their bytes.

Nothing here trusts a file's name or the sizes it declares more than it has to:

* gzip is decompressed as a stream (:func:`gunzip`), a chunk at a time, and stops with a
  message as soon as the output passes the uncompressed-size limit or the ratio of output to
  input passes the ratio limit (a 3.5 MB file that would expand to 1 GB stops after about
  16 MB); a damaged or cut-off stream is a sentence, not an "unexpected error";
* zip archives (xlsx workbooks, zipped Shapefiles) are judged by their central directory
  before anything is extracted (:func:`zip_members`): the number of members, the total and
  per-member uncompressed sizes and ratios. Python's ``zipfile`` never returns more bytes
  than a member declares, so the declared sizes bound what any later reader gets;
* the format comes from the first bytes (:func:`sniff`), and text that is really binary
  (NUL bytes, control characters) is refused before a CSV parser turns it into garbled
  column names.
"""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from analytics.errors import IngestError
from analytics.ingest.limits import MB, RATIO_CHECK_FROM_BYTES, Limits, env_name

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY = b"PK\x05\x06"
PARQUET_MAGIC = b"PAR1"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_ZIP_MEMBERS = 10_000
_CHUNK = 1 << 20

# The first bytes of formats a user might pick by mistake, with what to say about them.
OTHER_FORMATS = (
    (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ\x00", "an xz archive"), (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"), (SQLITE_MAGIC, "a database (SQLite or GeoPackage)"),
    (OLE2_MAGIC, "an old Office document (.xls/.doc)"),
)


def too_large(what: str, found: int, limit: int, field: str, unit: str, name: str | None) -> IngestError:
    """The sentence for a file over a limit: the value found, the limit and how to raise it."""
    return IngestError(f"{what} ({found:,} {unit}) is over the limit of {limit:,} {unit}. Split the file "
                       f"(e.g. by year), or ask the operator to raise {env_name(field)}.", file=name)


def check_size(n_bytes: int, limits: Limits, name: str | None, *, upload: bool = False) -> None:
    """A file as given: the upload limit (uploads) and the uncompressed limit (everything)."""
    if upload and n_bytes > limits.max_upload_bytes:
        raise too_large("the file", n_bytes // MB, limits.max_upload_mb, "max_upload_mb", "MB", name)
    if n_bytes > limits.max_uncompressed_bytes:
        raise too_large("the file", n_bytes // MB, limits.max_uncompressed_mb, "max_uncompressed_mb", "MB", name)


def gunzip(source: bytes | BinaryIO | Path, *, limits: Limits, name: str | None,
           head_only: int | None = None) -> bytes:
    """Decompress gzip (one or several members) as a stream, within the limits.

    ``head_only`` stops quietly after that many output bytes (a preview needs only the
    start); otherwise the whole stream is decompressed, and passing the uncompressed-size or
    ratio limit raises :class:`IngestError` at once, at most one step (16 MB) past the cap.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        fh: BinaryIO = io.BytesIO(source)
    elif isinstance(source, Path):
        fh = open(source, "rb")
    else:
        fh = source
    try:
        return _gunzip_stream(fh, limits, name, head_only)
    finally:
        if isinstance(source, Path):
            fh.close()


_STEP = 16 * MB      # most output one decompression step may produce


def _gunzip_stream(fh: BinaryIO, limits: Limits, name: str | None, head_only: int | None) -> bytes:
    cap = limits.max_uncompressed_bytes
    out: list[bytes] = []
    n_out = n_in = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending, draining, started = b"", False, False
    while True:
        if not pending and not draining:
            pending = fh.read(_CHUNK)
            if not pending:
                break
            n_in += len(pending)
        step = _STEP if head_only is None else max(head_only - n_out, 1)
        try:
            piece = d.decompress(pending, step)
        except zlib.error as exc:
            raise IngestError(f"the gzip file is damaged ({exc}). Compress the export again.", file=name) from None
        pending = d.unconsumed_tail
        draining = len(piece) == step and not d.eof       # output may be waiting without more input
        started = started or bool(piece)
        out.append(piece)
        n_out += len(piece)
        if head_only is not None and n_out >= head_only:
            return b"".join(out)[:head_only]
        if n_out > cap:
            raise too_large("the decompressed file", n_out // MB, limits.max_uncompressed_mb,
                            "max_uncompressed_mb", "MB", name)
        if n_out > RATIO_CHECK_FROM_BYTES and n_out > limits.max_ratio * max(n_in - len(pending), 1):
            raise IngestError(f"the gzip file expands more than {limits.max_ratio} times (a 'decompression "
                              "bomb', or a file padded with repeated bytes), so it was not read. Compress the "
                              f"export itself, or ask the operator to raise {env_name('max_ratio')}.", file=name)
        if d.eof:                          # end of a member: another may follow (concatenated gzip)
            rest = d.unused_data + pending
            if not rest:
                rest = fh.read(_CHUNK)
                n_in += len(rest)
            if not rest.startswith(GZIP_MAGIC):
                return b"".join(out)       # trailing zeros or garbage after a complete member: ignored, as gzip does
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            pending, draining = rest, False
    if not d.eof:
        if started:
            raise IngestError("the gzip file ends too early (it was cut off while copying or uploading). "
                              "Copy or compress the export again.", file=name)
        raise IngestError("the gzip file is damaged (nothing in it could be decompressed). Compress the "
                          "export again.", file=name)
    return b"".join(out)


def zip_members(source: bytes | Path, *, limits: Limits, name: str | None) -> list[zipfile.ZipInfo]:
    """The members of a zip archive after checking its central directory against the limits:
    member count, total and per-member uncompressed size, ratio. Raises IngestError."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise IngestError(f"the zip archive is damaged ({exc}). Create it again.", file=name) from None
    with zf:
        infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise IngestError(f"the zip archive has {len(infos):,} members; a workbook or a zipped Shapefile has "
                          "a few. Create it again with only the files needed.", file=name)
    total = sum(max(i.file_size, 0) for i in infos)
    packed = sum(max(i.compress_size, 0) for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise too_large("the unzipped content", total // MB, limits.max_uncompressed_mb,
                        "max_uncompressed_mb", "MB", name)
    if total > RATIO_CHECK_FROM_BYTES and total > limits.max_ratio * max(packed, 1):
        raise IngestError(f"the zip archive expands more than {limits.max_ratio} times (a 'decompression "
                          "bomb'), so it was not opened. Save the file again, or ask the operator to raise "
                          f"{env_name('max_ratio')}.", file=name)
    for i in infos:
        if i.flag_bits & 0x1:
            raise IngestError("the zip archive is encrypted (password-protected). Save it without a password.",
                              file=name)
    return infos


def sniff(head: bytes) -> str:
    """The container of a file from its first bytes: ``gzip``, ``parquet``, ``zip``, or
    ``text`` for anything else (then judged by :func:`binary_reason`)."""
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head[:4] == PARQUET_MAGIC:
        return "parquet"
    if head[:4] in (ZIP_MAGIC, ZIP_EMPTY):
        return "zip"
    return "text"


def other_format(head: bytes) -> str | None:
    """What a file is when it is a known non-table format (``"a PDF document"``), else None."""
    for magic, what in OTHER_FORMATS:
        if head.startswith(magic):
            return what
    return None


def binary_reason(text_sample: str) -> str | None:
    """Why decoded text is not a table (NUL bytes, mostly control characters), or None."""
    if not text_sample:
        return None
    if "\x00" in text_sample:
        return "it contains NUL bytes"
    control = sum(1 for ch in text_sample[:65536] if ch < " " and ch not in "\t\r\n\x0c\x1a")
    if control > 0.05 * min(len(text_sample), 65536):
        return "most of it is not text"
    replacement = text_sample[:65536].count("\ufffd")
    if replacement > 0.3 * min(len(text_sample), 65536):
        return "most of it is not text"
    return None

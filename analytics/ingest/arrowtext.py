"""Cheap facts about an Arrow string column, read from its offsets and data buffers.

Identifier columns have as many distinct values as records, so every whole-column string
kernel (trimming, lower-casing, a substring search) costs a pass over millions of values and,
for the ones that build new strings, a copy of the column. Most extracts hold plain ASCII
codes without surrounding blanks; for those, these facts let the readers skip work whose
result is known in advance, with exactly the same output:

* :func:`plain_ascii` — every value is ASCII and neither starts nor ends with whitespace, so
  Unicode trimming leaves every value as it is and a value's length in characters is its
  length in bytes;
* :func:`byte_lengths` — each value's length in bytes, from the offsets (no pass over text);
* :func:`has_byte`, :func:`has_any_byte` — whether a byte (one of some bytes) occurs anywhere
  in the column's text (one scan of the data buffer instead of a per-value search).

Every function is conservative: where the buffers cannot answer (another type, an unusual
layout) it says so, and the caller takes the general path.
"""
from __future__ import annotations

import numpy as np

_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True   # what utf8_trim_whitespace trims in ASCII


def _chunks(arr) -> list:
    import pyarrow as pa
    return list(arr.chunks) if isinstance(arr, pa.ChunkedArray) else [arr]


def _parts(chunk) -> tuple[np.ndarray, np.ndarray] | None:
    """(offsets of the chunk's values, the data buffer as bytes) of a string/large_string
    array; None for any other type."""
    import pyarrow as pa
    if pa.types.is_large_string(chunk.type):
        width = np.int64
    elif pa.types.is_string(chunk.type):
        width = np.int32
    else:
        return None
    bufs = chunk.buffers()
    offsets = np.frombuffer(bufs[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def plain_ascii(arr) -> bool:
    """True when every value (missing values' slots included) is ASCII and neither starts nor
    ends with whitespace: trimming then changes nothing, and characters are bytes."""
    for chunk in _chunks(arr):
        parts = _parts(chunk)
        if parts is None:
            return False
        offsets, data = parts
        if not len(chunk):
            continue
        body = data[offsets[0]:offsets[-1]]
        if len(body) and body.max() >= 0x80:
            return False
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts
        if not filled.all():
            starts, ends = starts[filled], ends[filled]
        first, last = data[starts], data[ends - 1]
        low = (first <= 32) | (last <= 32)                 # every ASCII space is <= 32
        if low.any() and (_ASCII_SPACE[first[low]].any() or _ASCII_SPACE[last[low]].any()):
            return False
    return True


def byte_lengths(arr) -> np.ndarray:
    """Length in bytes of every value (0 for a missing value's slot, as Arrow keeps it)."""
    out = []
    for chunk in _chunks(arr):
        parts = _parts(chunk)
        if parts is None:
            raise TypeError(f"not a string array: {chunk.type}")
        out.append(np.diff(parts[0]))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def has_byte(arr, byte: int) -> bool:
    """Whether ``byte`` occurs in the text of any value (True when the buffers cannot say)."""
    for chunk in _chunks(arr):
        parts = _parts(chunk)
        if parts is None:
            return True
        offsets, data = parts
        if len(chunk) and (data[offsets[0]:offsets[-1]] == byte).any():
            return True
    return False


def has_any_byte(arr, byte_values: bytes) -> bool:
    """Whether any of ``byte_values`` occurs in the text of any value (True when the buffers
    cannot say)."""
    wanted = np.zeros(256, dtype=bool)
    wanted[list(byte_values)] = True
    for chunk in _chunks(arr):
        parts = _parts(chunk)
        if parts is None:
            return True
        offsets, data = parts
        if len(chunk) and wanted[data[offsets[0]:offsets[-1]]].any():
            return True
    return False

"""Record keys and cell keys of the cell-key method.

Every record (tumour) gets a fixed pseudo-random integer key in ``[0, 2**bits)``: a keyed hash
(SipHash-2-4, a pseudo-random function) of its identifier under a key derived from the
operator's secret by HMAC-SHA256. Without the secret nobody can compute a record's key, and the
same record always has the same key, in every view and every session. A cell's key is the sum
of its records' keys modulo ``2**bits``; divided by ``2**bits`` it is a number in ``[0, 1)``
that picks the cell's noise from the perturbation table (Thompson, Broadfoot & Elazar 2013;
ONS 2021). Aggregated inputs without records (a deaths table: one row per year, sex, age group,
region and code with a count) get one key per input row, a keyed hash of the row's coordinates.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np
import pandas as pd

KEY_BITS = 20            # record keys in [0, 2**20): sums of 5 million keys stay exact in float64
SEPARATOR = "\x1f"       # between the coordinates of an input row (unit separator: not in codes)


def derive_hash_key(secret: bytes, purpose: str) -> str:
    """The 16-byte SipHash key for ``purpose`` derived from ``secret`` (HMAC-SHA256), as the
    16-character string pandas' keyed hash expects (7 bits per character: 112 key bits)."""
    digest = hmac.new(secret, f"registry-disclosure/{purpose}".encode(), hashlib.sha256).digest()
    return "".join(chr(b & 0x7F) for b in digest[:16])


def keyed_hash(values: Sequence | pd.Series | np.ndarray, secret: bytes, purpose: str,
               bits: int = KEY_BITS) -> np.ndarray:
    """Integer keys in ``[0, 2**bits)``: SipHash-2-4 of each value's text under a key derived from
    ``secret`` (vectorised; missing values hash as the empty text)."""
    s = pd.Series(values, copy=False)
    text = s.astype(object).where(s.notna(), "").astype(str).to_numpy(dtype=object)
    h = pd.util.hash_array(text, hash_key=derive_hash_key(secret, purpose), categorize=False)
    return (h & np.uint64((1 << bits) - 1)).astype(np.int64)


def record_keys(ids: Sequence | pd.Series | np.ndarray, secret: bytes, bits: int = KEY_BITS) -> np.ndarray:
    """The record key of each identifier (``tumour_id``)."""
    return keyed_hash(ids, secret, "record", bits)


def row_keys(frame: pd.DataFrame, columns: Sequence[str], secret: bytes, bits: int = KEY_BITS) -> np.ndarray:
    """One key per row of an aggregated input (e.g. deaths: year, sex, age group, region, ICD-10),
    from its coordinates: the same row always has the same key."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"row_keys: the table has no column(s) {missing}")
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    parts = [frame[c].astype(object).where(frame[c].notna(), "").astype(str) for c in columns]
    text = parts[0].str.cat(parts[1:], sep=SEPARATOR) if len(parts) > 1 else parts[0]
    return keyed_hash(text.to_numpy(dtype=object), secret, "row:" + SEPARATOR.join(columns), bits)


def cell_key(key_sum, bits: int = KEY_BITS) -> np.ndarray:
    """A cell's key in ``[0, 1)`` from the sum of its records' keys."""
    s = np.asarray(key_sum, dtype=np.int64)
    return np.mod(s, 1 << bits) / float(1 << bits)

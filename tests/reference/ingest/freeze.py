"""Freeze what the ingest gives (derived columns, every flag with its message, the reconciliation)
on the demo and on the benchmark extract, as digests, so that a new implementation of derivation
and checks can be proven to give exactly the same output (issue 12).

    python tests/reference/ingest/freeze.py          # writes frozen_outputs.json beside this file

The digests were written by the row-wise pandas implementation (derive.py and quality.py as of
the commit that added this file, dbd70d6); ``tests/test_ingest_equivalence.py`` recomputes them
with the current code and compares. When the demo is regenerated, its entries are written again
by that same code: check out dbd70d6 in a scratch worktree, copy the new ``data/demo`` files into
it, run this script there and copy ``frozen_outputs.json`` back (done once, after the survival
work regenerated the demo; the benchmark entries came out identical, as they must). A digest is the SHA-256 of a column's values written out canonically
(missing values as ``<NA>``, dates in ISO, numbers without their dtype), so the storage type of
a column (categorical, Arrow string, nullable integer) may change but no value may.
"""
from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FROZEN = HERE / "frozen_outputs.json"
BENCH_N = 60_000
TODAY = "2026-11-01"        # "future" dates are judged against a fixed day, so digests do not age


def value_text(v) -> str:
    """One value as text, whatever its type (missing: ``<NA>``; whole numbers without a decimal
    point)."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return "<NA>"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
        return str(int(v))
    return str(v)


def date_text(v) -> str:
    return "<NA>" if pd.isna(v) else pd.Timestamp(v).isoformat()


def canonical_by_value(s: pd.Series) -> list[str]:
    """Values as text independent of the column's dtype: the definition the digests were
    written with, value by value."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return [date_text(v) for v in s]
    return [value_text(v) for v in s.astype(object)]


def _alike(s: pd.Series, text: bool) -> bool:
    """Whether equal values of ``s`` (as pd.factorize groups them) always print alike: a column
    of one integer, float, boolean, date or categorical type, or of ``text`` only (1, 1.0 and True
    are equal but print differently, so a column of mixed objects is not)."""
    d, types = s.dtype, pd.api.types
    return (isinstance(d, pd.CategoricalDtype) or types.is_datetime64_any_dtype(d) or types.is_integer_dtype(d)
            or types.is_float_dtype(d) or types.is_bool_dtype(d) or text)


def _text(s: pd.Series, values: pd.Series) -> bool:
    """A column of text only (missing values aside): each value is its own text."""
    d = s.dtype
    if isinstance(d, pd.CategoricalDtype):
        return False
    if d == object:
        return pd.api.types.infer_dtype(values, skipna=True) == "string"
    return pd.api.types.is_string_dtype(d)


def canonical(s: pd.Series) -> list[str]:
    """canonical_by_value(s), the same text, computed once per distinct value where equal values
    print alike (_alike; text and NumPy integer columns with no call per value); missing values
    and any other column value by value. About ten times faster on the ingest's output."""
    dates = pd.api.types.is_datetime64_any_dtype(s.dtype)
    values = s if dates else s.astype(object)
    one = date_text if dates else value_text
    items = s.array if dates else values.to_numpy()
    text = _text(s, values)
    if not _alike(s, text):
        return [one(v) for v in items]
    codes, _ = pd.factorize(s, use_na_sentinel=True)          # -1: missing
    present = codes >= 0
    if text:
        out = np.array(items, dtype=object)
    elif isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":
        out = s.to_numpy().astype(str).astype(object)          # str(int(v)) of each
    else:
        first = np.zeros(codes.max() + 1 if present.any() else 0, dtype=np.int64)
        first[codes[present]] = np.flatnonzero(present)     # a row of each distinct value
        out = np.array([one(items[i]) for i in first] + [""], dtype=object)[codes]
    for i in np.flatnonzero(~present):
        out[i] = one(items[i])
    return out.tolist()


def digest(frame: pd.DataFrame) -> dict:
    cols = {c: hashlib.sha256("\n".join(canonical(frame[c])).encode()).hexdigest() for c in frame.columns}
    return {"rows": int(len(frame)), "columns": cols}


def outputs(reg) -> dict:
    flags = reg.flags.copy()
    flags = flags.assign(**{c: flags[c].astype(str) for c in ("check", "severity", "column", "message")})
    flags = flags.sort_values(["row", "check", "column", "message"], kind="stable").reset_index(drop=True)
    recon = reg.reconciliation.sort_values(["status", "reason"], kind="stable").reset_index(drop=True)
    return {"records": digest(reg.records.reset_index(drop=True)), "flags": digest(flags),
            "reconciliation": digest(recon), "n": [reg.n_read, reg.n_used, reg.n_excluded]}


def load(path, regions=None) -> "object":
    from unittest import mock

    from analytics import pipeline, quality
    check = quality.check_records

    def fixed_day(records, **kw):
        return check(records, **{"today": TODAY, **kw})
    with mock.patch.object(quality, "check_records", fixed_day):
        return pipeline.load_registry(path, regions=regions)


# half of the benchmark's district codes as a regions table: the other half is flagged region_unknown
BENCH_REGIONS = [f"{d:02d}{s}" for d in range(1, 14) for s in range(1, 4)]


def cases(tmp: Path) -> dict[str, tuple[Path, list | None]]:
    """The inputs: the demo (CanReg5 export and Parquet) and the benchmark extract (TSV, Parquet),
    the TSV also against a regions table."""
    import ingest as bench_ingest

    from analytics import demo
    tsv, pq = bench_ingest.build(BENCH_N, tmp)
    return {"demo_canreg5": (demo.demo_paths()["canreg5"], None), "demo_parquet": (demo.demo_paths()["tumours"], None),
            "bench_tsv": (tsv, None), "bench_parquet": (pq, None), "bench_tsv_regions": (tsv, BENCH_REGIONS)}


def compute() -> dict:
    with tempfile.TemporaryDirectory() as d:
        return {name: outputs(load(path, regions)) for name, (path, regions) in cases(Path(d)).items()}


if __name__ == "__main__":
    FROZEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FROZEN}")

"""Dense (group × age group) grids built from tidy frames, without a Python loop over groups.

Every rate measure works on 2-D arrays: one row per combination of the ``by`` columns, one column
per age group. Building them takes one integer code per row and ``np.bincount`` sums, which is
what makes a DSR for every region × year × sex × site fast.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.standards import parse_age_group

_UNKNOWN_AGE = re.compile(r"^\s*(unknown|unk|n/?a|nan|none|\?|-|)\s*$", re.I)


class RatesInputError(ValueError):
    """Input to a rate function that cannot be used; the message names the column and what to do."""


def as_list(by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [c.strip() for c in by.split(",") if c.strip()]
    return list(by)


def require_columns(data: pd.DataFrame, columns: Sequence[str], what: str = "data") -> None:
    if not isinstance(data, pd.DataFrame):
        raise RatesInputError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise RatesInputError(
            f"{what} has no column(s) {missing}; available: {list(map(str, data.columns))}")


def numeric(data: pd.DataFrame, column: str) -> np.ndarray:
    """Column as float; text that is not a number is an error naming the first bad row."""
    return numeric_checked(data, column)[0]


def numeric_checked(data: pd.DataFrame, column: str) -> tuple[np.ndarray, bool]:
    """:func:`numeric`, and whether the column holds missing values. A clean column (the usual
    case) costs one pass: its minimum is neither negative nor NaN."""
    s = data[column]
    if not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna() & (s.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise RatesInputError(
                f"column {column!r}, row {i + 1}: {s.iloc[i]!r} is not a number")
        s = conv
    arr = s.to_numpy(dtype=float, na_value=np.nan)
    if not arr.size or arr.min() >= 0:       # NaN would make the minimum NaN
        return arr, False
    neg = arr < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise RatesInputError(f"column {column!r}, row {i + 1}: negative value {arr[i]!r}")
    return arr, True


@dataclass
class Groups:
    """Row -> group code, and the distinct ``by`` values (one row per group, sorted)."""
    codes: np.ndarray
    keys: pd.DataFrame
    n: int


def group_codes(data: pd.DataFrame, by: list[str]) -> Groups:
    """Sorted group codes for the ``by`` columns (missing values form their own group, last)."""
    nrow = len(data)
    if not by:
        return Groups(np.zeros(nrow, dtype=np.int64), pd.DataFrame(index=range(1)), 1)
    codes, uniques = [], []
    for col in by:
        # Per-column codes need not be dense: unused values drop out with the empty combinations.
        c, u = factorize_sorted(data[col], dense=False)
        codes.append(c)
        uniques.append(u)
    sizes = [max(len(u), 1) for u in uniques]
    total = math.prod(sizes)
    if total <= 1 << 24:
        # In place and in 32 bits: half the memory traffic of int64 temporaries.
        combined = codes[0].astype(np.int32)
        for c, size in zip(codes[1:], sizes[1:]):
            combined *= size
            combined += c
        present = np.bincount(combined, minlength=total) > 0
        if present.all():                    # every combination occurs: the code is the group
            gcode = combined.astype(np.int64)
            which = np.arange(total)
        else:
            remap = np.cumsum(present) - 1
            gcode = remap[combined]
            which = np.flatnonzero(present)
        idx = np.unravel_index(which, sizes) if len(codes) > 1 else (which,)
    else:
        combined = np.ravel_multi_index(codes, sizes) if total < 2**62 else \
            pd.MultiIndex.from_arrays(codes).codes[0]
        gcode, first = pd.factorize(combined, sort=True)
        idx = np.unravel_index(np.asarray(first), sizes)
    keys = pd.DataFrame({col: u.take(i) for col, u, i in zip(by, uniques, idx)})
    for col in by:
        src = data[col].dtype
        if keys[col].dtype != src and (pd.api.types.is_integer_dtype(src) or pd.api.types.is_bool_dtype(src)):
            try:
                keys[col] = keys[col].astype(src)
            except (TypeError, ValueError):
                pass
    return Groups(gcode, keys, len(keys))


def factorize_sorted(s: pd.Series, dense: bool = True) -> tuple[np.ndarray, pd.Index]:
    """Codes and sorted distinct values (missing last), faster than ``pd.factorize(sort=True)``
    for the usual key columns: categories keep their order and cost nothing, small-range integers
    are offset, anything else is factorised unsorted and the few distinct values sorted after.
    ``dense=False`` allows codes of values that do not occur (all categories, the integer range)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        c = s.cat.codes.to_numpy()
        cats = s.cat.categories
        k = len(cats)
        has_na = bool((c < 0).any())
        if has_na:
            c = np.where(c < 0, k, c.astype(np.int64))
        elif dense:
            c = c.astype(np.int64)
        if not dense:
            values = pd.CategoricalIndex(pd.Categorical.from_codes(
                np.arange(k + has_na) if not has_na else np.r_[np.arange(k), -1], dtype=dtype))
            return c, values
        used = np.bincount(c, minlength=k + 1) > 0
        remap = np.cumsum(used) - 1
        codes = np.r_[np.flatnonzero(used[:-1]), [-1] if used[-1] else []].astype(np.int64)
        return remap[c], pd.CategoricalIndex(pd.Categorical.from_codes(codes, dtype=dtype))
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if len(s) and not s.hasnans:
            # in the column's own width (a nullable Int16 year stays 16 bits): less memory traffic
            v = s.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype))
            lo, hi = int(v.min()), int(v.max())
            # (a range up to the number of rows costs no more than hashing them)
            if hi - lo < (max(4096, len(v)) if not dense else 1_000_000):
                off = np.subtract(v, lo, dtype=np.int32) if hi - lo < 2**31 - 1 else v.astype(np.int64) - lo
                if not dense:
                    return off, pd.Index(np.arange(lo, hi + 1)).astype(dtype)
                used = np.bincount(off, minlength=hi - lo + 1) > 0
                remap = np.cumsum(used) - 1
                return remap[off], pd.Index(np.flatnonzero(used) + lo).astype(dtype)
    c, u = pd.factorize(s, sort=False, use_na_sentinel=False)
    u = pd.Index(u)
    isna = np.asarray(pd.isna(u), dtype=bool)
    if isna.any():
        ok = np.flatnonzero(~isna)
        order = np.concatenate([ok[np.argsort(u[ok].to_numpy(), kind="stable")], np.flatnonzero(isna)])
    else:
        order = np.argsort(u.to_numpy(), kind="stable")
    rank = np.empty(len(u), dtype=np.int64)
    rank[order] = np.arange(len(u))
    return rank[c.astype(np.int64)], u.take(order)


@dataclass
class AgeAxis:
    """Row -> age-group code (-1 for unknown age) and the ordered labels with their bounds."""
    codes: np.ndarray
    labels: list[str]
    start: np.ndarray
    end: np.ndarray
    unknown: np.ndarray = field(repr=False, default=None)


def age_axis(data: pd.DataFrame, age: str, ages: tuple[float, float] | None = None) -> AgeAxis:
    """Factorise the age-group column in age order; NA and 'unknown' labels are unknown age.

    ``ages=(35, 64)`` keeps only groups lying inside 35-64 (a truncated rate); a group that
    straddles a bound is an error.
    """
    raw = data[age]
    if pd.api.types.is_numeric_dtype(raw):
        # Numeric ages: read as group start (e.g. schema.AGE_START) or single years.
        vals = raw.to_numpy(dtype=float, na_value=np.nan)
        codes, uniq = pd.factorize(vals, sort=True)
        starts = np.asarray(uniq, dtype=float)
        # Each group ends before the next one starts, unless the gap is wider than the usual
        # width (a group absent from the data): then it spans the usual width.
        gaps = np.diff(starts)
        if len(gaps):
            vals, freq = np.unique(gaps, return_counts=True)
            usual = float(vals[freq == freq.max()].max())
        else:
            usual = 5.0
        ends = np.append(np.where(gaps > usual, starts[:-1] + usual - 1, starts[1:] - 1), math.inf)
        labels = [_start_label(s, e) for s, e in zip(starts, ends)]
        unknown = codes < 0
    else:
        # Factorise first, classify the few distinct labels after (a regex per row is slow).
        if isinstance(raw.dtype, pd.CategoricalDtype):
            codes, uniq = raw.cat.codes.to_numpy(), list(raw.cat.categories)   # narrow; -1 = missing
        else:
            codes, uniq = pd.factorize(raw, sort=False)
        uniq = [str(u) for u in uniq]
        is_unknown = [bool(_UNKNOWN_AGE.match(u)) for u in uniq]
        keep = [i for i, u in enumerate(uniq) if not is_unknown[i]]
        bounds = {i: parse_age_group(uniq[i]) for i in keep}
        # Order by age; labels that cannot be read keep their order of appearance, after the others.
        order_key = {i: (0, b[0], b[1], i) if b else (1, 0, 0, i) for i, b in bounds.items()}
        order = sorted(keep, key=lambda i: order_key[i])
        # One lookup table over the few distinct labels (position -1 = missing), applied to the
        # rows once: unknown -> -1, known -> rank in age order.
        lut = np.full(len(uniq) + 1, -1, dtype=np.int64)
        lut[order] = np.arange(len(order))
        if not (len(order) == len(uniq) and np.array_equal(lut[:-1], np.arange(len(uniq)))):
            codes = lut[codes]    # (categories already in age order, all known: codes as they are)
        labels = [uniq[i] for i in order]
        starts = np.array([bounds[i][0] if bounds[i] else np.nan for i in order], dtype=float)
        ends = np.array([bounds[i][1] if bounds[i] else np.nan for i in order], dtype=float)
        unknown = codes < 0
    codes = np.asarray(codes)
    axis = AgeAxis(codes if codes.dtype.kind == "i" else codes.astype(np.int64), labels, starts, ends, unknown)
    if ages is not None:
        axis = _truncate(axis, ages)
    return axis


def _start_label(s: float, e: float) -> str:
    return f"{int(s)}+" if math.isinf(e) else (f"{int(s)}" if s == e else f"{int(s)}-{int(e)}")


def _truncate(axis: AgeAxis, ages) -> AgeAxis:
    lo, hi = float(ages[0]), float(ages[1])
    if np.isnan(axis.start).any():
        bad = [lbl for lbl, s in zip(axis.labels, axis.start) if np.isnan(s)]
        raise RatesInputError(f"ages={ages}: age group label(s) {bad} cannot be read")
    keep = (axis.start >= lo) & (axis.end <= hi)
    straddle = ~keep & (axis.end >= lo) & (axis.start <= hi)
    if straddle.any():
        bad = [lbl for lbl, s in zip(axis.labels, straddle) if s]
        raise RatesInputError(f"ages={ages}: age group(s) {bad} straddle the range; choose bounds "
                              "that fall on age-group limits")
    if not keep.any():
        raise RatesInputError(f"ages={ages}: no age group of the data lies in that range")
    newcode = np.full(len(axis.labels), -2, dtype=np.int64)   # -2: outside the range, dropped
    newcode[keep] = np.arange(int(keep.sum()))
    codes = np.where(axis.codes >= 0, newcode[np.maximum(axis.codes, 0)], -1)
    return AgeAxis(codes, [l for l, k in zip(axis.labels, keep) if k], axis.start[keep],
                   axis.end[keep], axis.unknown)


def grid_sum(gcode: np.ndarray, acode: np.ndarray, n_groups: int, n_ages: int,
             values: np.ndarray | None = None) -> np.ndarray:
    """Sum ``values`` (or count rows) into an (n_groups, n_ages) array; rows with acode < 0 ignored."""
    ok = acode >= 0
    flat = gcode[ok] * n_ages + acode[ok]
    w = None if values is None else values[ok]
    return np.bincount(flat, weights=w, minlength=n_groups * n_ages).reshape(n_groups, n_ages)


class Cells:
    """(group, age) cell index of every row, computed once and reused for every sum.

    When every cell holds exactly one row (``complete``, known once :meth:`present` ran) a sum is
    a scatter of the rows into the grid, cheaper than ``np.bincount`` and equal to it bit for bit
    (0 + x, as bincount adds into zeros). When moreover the rows come in cell order (``in_order``:
    by group, then age group, as a long frame sorted by its keys) the rows already are the grid:
    a sum is a read-only view of them, nothing copied (a -0.0 then stays -0.0 in the grid, which
    every comparison and sum treats as 0)."""

    def __init__(self, gcode: np.ndarray, acode: np.ndarray, n_groups: int, n_ages: int):
        self.shape = (n_groups, n_ages)
        self.all_ok = bool(acode.min() >= 0) if len(acode) else True
        self._acode = acode
        flat = np.multiply(gcode, n_ages, dtype=np.int64)
        flat += acode
        self.flat = flat if self.all_ok else flat[self.ok]
        n = n_groups * n_ages
        # n rows, strictly increasing from 0 to n - 1: the row number is the cell number
        self.in_order = (self.all_ok and len(flat) == n and n > 0 and flat[0] == 0 and flat[-1] == n - 1
                         and bool((flat[1:] > flat[:-1]).all()))
        self.complete = self.in_order

    @property
    def ok(self) -> np.ndarray:
        """True for rows of known age (in the grid)."""
        return self._acode >= 0

    def present(self) -> np.ndarray:
        """True for cells with at least one row."""
        if self.in_order:
            return np.ones(self.shape, dtype=bool)
        out = np.zeros(self.shape[0] * self.shape[1], dtype=bool)
        out[self.flat] = True
        self.complete = len(self.flat) == out.size and bool(out.all())
        return out.reshape(self.shape)

    def scatter(self, values: np.ndarray) -> np.ndarray:
        """Value of each cell taken from its rows (for values constant within a cell); 0 if empty."""
        if self.in_order:
            return _read_only(np.asarray(values, dtype=float).reshape(self.shape))
        if not self.all_ok:
            values = values[self.ok]
        out = np.zeros(self.shape[0] * self.shape[1])
        out[self.flat] = values
        return out.reshape(self.shape)

    def sum(self, values: np.ndarray | None = None) -> np.ndarray:
        if values is not None and not self.all_ok:
            values = values[self.ok]
        n = self.shape[0] * self.shape[1]
        if self.in_order and values is not None:
            return _read_only(np.asarray(values, dtype=float).reshape(self.shape))
        if self.complete and values is not None:
            out = np.empty(n)
            out[self.flat] = values
            out += 0.0            # as bincount: 0 + x (a -0.0 becomes 0.0)
            return out.reshape(self.shape)
        return np.bincount(self.flat, weights=values, minlength=n).reshape(self.shape)


def _read_only(view: np.ndarray) -> np.ndarray:
    """A view of the caller's rows that cannot be written through."""
    view = view.view()
    view.flags.writeable = False
    return view


def group_sum(gcode: np.ndarray, n_groups: int, values: np.ndarray | None = None,
              mask: np.ndarray | None = None) -> np.ndarray:
    if mask is not None:
        gcode = gcode[mask]
        values = None if values is None else values[mask]
    return np.bincount(gcode, weights=values, minlength=n_groups).astype(float)


FLAG_SEP = ";"


def join_flags(*parts: tuple[np.ndarray, str]) -> np.ndarray:
    """Per-group flag codes: the stable codes whose condition holds, joined with ``FLAG_SEP``
    ('' if none). Codes, not sentences, so that any language can label them
    (``analytics.rates.flag_labels``)."""
    bits, table = _flag_bits(parts)
    return table[bits]


def flag_array(*parts: tuple[np.ndarray, str]):
    """:func:`join_flags` as a pandas text array (the dtype pandas gives a column of text),
    built from the few distinct combinations instead of one Python string per group."""
    bits, table = _flag_bits(parts)
    dtype = pd.Series([""]).dtype
    if getattr(dtype, "storage", None) == "pyarrow":
        import pyarrow as pa

        return pd.array(pa.array(table.tolist(), type=pa.large_string()).take(pa.array(bits)), dtype=dtype)
    return table[bits]


def _flag_bits(parts) -> tuple[np.ndarray, np.ndarray]:
    """Per group, a bit per part whose condition holds; and the joined codes of each bit pattern
    that occurs (an object array indexed by the pattern)."""
    n = len(np.atleast_1d(parts[0][0])) if parts else 0
    if len(parts) > 16:
        raise ValueError("join_flags: at most 16 conditions")
    bits = np.zeros(n, dtype=np.int64)
    used = []
    for i, (cond, code) in enumerate(parts):
        cond = np.broadcast_to(np.asarray(cond, dtype=bool), (n,))
        if cond.any():
            bits |= cond.astype(np.int64) << len(used)
            used.append(code)
    patterns = np.flatnonzero(np.bincount(bits, minlength=1 << len(used))) if n else np.array([0])
    table = np.full(1 << len(used), "", dtype=object)
    for p in patterns:
        table[p] = FLAG_SEP.join(code for j, code in enumerate(used) if p >> j & 1)
    return bits, table

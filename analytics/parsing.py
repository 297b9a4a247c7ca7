"""Vectorised parsers that turn raw extract values into schema values.

Each parser works on the *distinct* values of a column (``pandas.factorize``) and maps the
result back with the factor codes, so a 5-million-row column with a few thousand distinct
dates or a few hundred topography codes costs one pass of integer indexing. Each returns
the parsed column and a boolean mask of values that were present but could not be parsed;
the reader turns that mask into flag rows (value set to unknown, record kept and counted).

Dates follow CanReg5 (``DateHelper.java``): ``yyyyMMdd`` with day or month ``99``/``00`` and
year ``9999`` for unknown parts. Unknown parts are imputed as CanReg5's "Correct Unknown
Date" does: unknown month -> 1 July, unknown day of a known month -> the 15th; an unknown
year leaves the date unknown. Formatted exports (``dd/mm/yyyy``, ``mm/dd/yyyy``,
``mm/dd/yy``, ``yyyy/mm/dd``), ISO dates, ``dd.mm.yyyy``, NAACCR's blank-padded
``yyyymm``/``yyyy`` and year-only values are accepted too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_NA_STRINGS = {"", "nan", "na", "n/a", "null", "none", "<na>", "nat", "."}
# A code, an age or a date never needs more characters than this: longer values are invalid at
# once, so that no pattern ever runs over a long free text (linear time whatever the input).
MAX_CODE_CHARS = 64


def is_digits(text: str) -> bool:
    """ASCII digits only: ``'²'``, ``'①'`` and Arabic-Indic digits are not codes (they become
    unknown values with a flag; ``str.isdigit`` alone would accept them and ``int`` fail)."""
    return text.isascii() and text.isdigit()


def missing(n: int, dtype: str):
    """An all-missing array of length ``n`` (built without a Python list of NA)."""
    if dtype == "str":
        import pyarrow as pa
        return pd.array(pa.nulls(n, pa.large_string()), dtype="str")
    return pd.arrays.IntegerArray(np.zeros(n, dtype=dtype.lower()), np.ones(n, dtype=bool))


@dataclass
class Parsed:
    values: object            # pandas array/Series, aligned with the input
    invalid: np.ndarray        # bool: present but unparseable
    imputed: np.ndarray | None = None   # bool: date with an imputed day/month


def factorize(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Factor codes (-1 for missing) and distinct values as stripped strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):   # read as categorical: factorised already
        codes = s.cat.codes.to_numpy().astype(np.int64)
        uniques = s.cat.categories
        used = np.zeros(len(uniques), dtype=bool)
        used[codes[codes >= 0]] = True
        if not used.all():      # drop unused categories so every unique is a real value
            keep = np.flatnonzero(used)
            remap = np.full(len(uniques), -1, dtype=np.int64)
            remap[keep] = np.arange(len(keep))
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
            uniques = uniques[keep]
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    out = []
    for u in np.asarray(uniques, dtype=object):
        if isinstance(u, (float, np.floating)) and float(u).is_integer():
            u = int(u)
        out.append(str(u).strip())
    return codes, out


def _spread(codes: np.ndarray, per_unique: np.ndarray, fill) -> np.ndarray:
    """Values per row from values per distinct value; missing (-1) rows get ``fill``."""
    ext = np.append(per_unique, np.array([fill], dtype=per_unique.dtype))
    return ext[codes]  # code -1 indexes the appended fill value


def _is_na(u: list[str]) -> np.ndarray:
    return np.array([x.lower() in _NA_STRINGS for x in u], dtype=bool)


# --- integer codes --------------------------------------------------------------------
def parse_code(s: pd.Series, allowed: dict[str, int], *, extra: dict | None = None,
               dtype: str = "Int8") -> Parsed:
    """Map values to integer codes via ``allowed`` (keys lower-case text), ``extra`` first.

    ``extra`` is a user's code table from the mapping file (their value -> code); numbers
    written as ``1.0`` (Excel) match ``1``.
    """
    return _parse_code(*factorize(s), allowed, extra=extra, dtype=dtype)


def _parse_code(codes: np.ndarray, u: list[str], allowed: dict[str, int], *, extra: dict | None = None,
                dtype: str = "Int8") -> Parsed:
    """:func:`parse_code` of a column already factorised (:func:`factorize`)."""
    table = {k.lower(): v for k, v in allowed.items()}
    user = {str(k).strip().lower(): v for k, v in (extra or {}).items()}
    vals = np.full(len(u), -1, dtype=np.int64)
    bad = np.zeros(len(u), dtype=bool)
    na = _is_na(u)
    for i, x in enumerate(u):
        if na[i] and x.lower() not in user:
            continue
        if len(x) > MAX_CODE_CHARS:
            bad[i] = True
            continue
        key = x.lower()
        if key.endswith(".0") and is_digits(key[:-2].lstrip("-")):
            key = key[:-2]
        v = user.get(key, table.get(key))
        if v is None and is_digits(key):
            v = user.get(str(int(key)), table.get(str(int(key))))
        if v is None or (isinstance(v, float) and np.isnan(v)):
            bad[i] = True
        else:
            vals[i] = int(v)
    per_row = _spread(codes, vals, -1)
    out = pd.arrays.IntegerArray(np.where(per_row >= 0, per_row, 0).astype(dtype.lower()), per_row < 0)
    return Parsed(out, _spread(codes, bad, False))


SEX_CODES = {"1": 1, "2": 2, "9": 9, "m": 1, "f": 2, "u": 9, "male": 1, "female": 2, "unknown": 9,
             "man": 1, "woman": 2, "men": 1, "women": 2, "males": 1, "females": 2,
             "м": 1, "ж": 2, "муж": 1, "жен": 2, "мужской": 1, "женский": 2,
             "k": 1, "q": 2, "kişi": 1, "qadın": 2, "erkek": 1, "kadın": 2}
BEHAVIOUR_CODES = {"0": 0, "1": 1, "2": 2, "3": 3, "6": 3, "9": 3, "benign": 0, "uncertain": 1,
                   "borderline": 1, "in situ": 2, "malignant": 3}
BASIS_CODES = {str(i): i for i in range(10)} | {"dco": 0, "death certificate only": 0,
                                                  "clinical only": 1, "clinical": 1,
                                                  "clinical investigation": 2, "histology": 7,
                                                  "cytology": 5, "unknown": 9}
VITAL_CODES = {"1": 1, "2": 2, "9": 9, "alive": 1, "dead": 2, "deceased": 2, "unknown": 9,
               "a": 1, "d": 2, "living": 1}

# SEER*Stat "Diagnostic Confirmation" labels -> IARC basis of diagnosis
_SEER_CONFIRMATION = [("positive histology", 7), ("cytology", 5), ("microscopic confirm", 7),
                      ("laboratory test", 4), ("marker", 4), ("direct visualization", 2),
                      ("radiography", 2), ("clinical diagnosis", 1), ("death certificate", 0)]


def parse_basis(s: pd.Series, extra: dict | None = None) -> Parsed:
    table = dict(BASIS_CODES)
    codes, u = factorize(s)
    for x in u:
        low = x.lower()
        for key, v in _SEER_CONFIRMATION:
            if key in low:
                table[low] = v
                break
    return _parse_code(codes, u, table, extra=extra)      # factorised once


_AGE_RE = re.compile(r"(\d{1,3})(?:\.0+)?\s*(?:\+|years?|yrs?|y)?(?:\s+years?)?", re.I | re.ASCII)


def parse_age(s: pd.Series, *, unknown=(999,), extra: dict | None = None) -> Parsed:
    """Completed years 0-130; ``999`` unknown; ``"65 years"``/``"85+ years"`` (SEER) read as 65/85."""
    codes, u = factorize(s)
    vals = np.full(len(u), -1, dtype=np.int64)
    bad = np.zeros(len(u), dtype=bool)
    na = _is_na(u)
    for i, x in enumerate(u):
        if na[i]:
            continue
        if extra and x in extra:
            v = extra[x]
            vals[i] = -1 if v is None else int(v)
            continue
        if len(x) > MAX_CODE_CHARS:
            bad[i] = True
            continue
        m = _AGE_RE.fullmatch(x)
        if not m:
            bad[i] = True
            continue
        a = int(m.group(1))
        if a in unknown:
            continue
        if a > 130:
            bad[i] = True
            continue
        vals[i] = a
    per_row = _spread(codes, vals, -1)
    out = pd.arrays.IntegerArray(np.where(per_row >= 0, per_row, 0).astype("int16"), per_row < 0)
    return Parsed(out, _spread(codes, bad, False))


# --- ICD-O-3 --------------------------------------------------------------------------
_TOP_RE = re.compile(r"^C?\s*(\d{2})\s*\.?\s*(\d)\b", re.I | re.ASCII)
_MOR_RE = re.compile(r"^(?:M-?)?(\d{4})(?:\s*/?\s*(\d))?$", re.I | re.ASCII)


def parse_topography(s: pd.Series) -> Parsed:
    """``509``, ``C509``, ``C50.9``, ``c50.9``, SEER ``C50.9-Breast, NOS`` -> ``C509``."""
    codes, u = factorize(s)
    vals = np.empty(len(u), dtype=object)
    bad = np.zeros(len(u), dtype=bool)
    na = _is_na(u)
    for i, x in enumerate(u):
        if na[i]:
            vals[i] = None
            continue
        if len(x) > MAX_CODE_CHARS:
            vals[i] = None
            bad[i] = True
            continue
        x2 = x[:-2] if x.endswith(".0") and is_digits(x[:-2]) else x
        if is_digits(x2) and len(x2) < 3:
            x2 = x2.zfill(3)   # numeric export lost the leading zero: 9 -> 009 (C00.9)
        m = _TOP_RE.match(x2)
        if m and (len(x2) <= 5 or not is_digits(x2[:1])):
            vals[i] = f"C{m.group(1)}{m.group(2)}"
        else:
            vals[i] = None
            bad[i] = True
    return Parsed(_to_cat(codes, vals), _spread(codes, bad, False))


def parse_morphology(s: pd.Series) -> tuple[Parsed, Parsed]:
    """``8140``, ``8140/3``, ``81403``, ``M-8140/3`` -> (morphology ``8140``, behaviour 3 or NA)."""
    codes, u = factorize(s)
    vals = np.empty(len(u), dtype=object)
    beh = np.full(len(u), -1, dtype=np.int64)
    bad = np.zeros(len(u), dtype=bool)
    na = _is_na(u)
    for i, x in enumerate(u):
        vals[i] = None
        if na[i]:
            continue
        if len(x) > MAX_CODE_CHARS:
            bad[i] = True
            continue
        x2 = x[:-2] if x.endswith(".0") else x
        m = _MOR_RE.match(x2)
        if not m:
            bad[i] = True
            continue
        vals[i] = m.group(1)
        if m.group(2) is not None:
            beh[i] = {"6": 3, "9": 3}.get(m.group(2), int(m.group(2)))
    bper = _spread(codes, beh, -1)
    b = pd.arrays.IntegerArray(np.where(bper >= 0, bper, 0).astype("int8"), bper < 0)
    return Parsed(_to_cat(codes, vals), _spread(codes, bad, False)), Parsed(b, np.zeros(len(codes), bool))


def parse_text(s: pd.Series) -> pd.Series:
    """Stripped strings, empty and NA markers -> NA (ids, region codes, cause of death).

    Identifiers have as many distinct values as rows, so this works on the whole column
    with Arrow string kernels instead of factorising."""
    import pyarrow as pa
    if isinstance(s.dtype, pd.CategoricalDtype):     # cleaned once per category, then spread
        cats = parse_text(pd.Series(s.cat.categories.astype(str)))
        codes = s.cat.codes.to_numpy()
        arr = pa.array(cats.array, type=pa.large_string(), from_pandas=True)
        taken = arr.take(pa.array(np.where(codes >= 0, codes, 0))).to_pandas()
        out = pd.Series(taken, dtype="str")
        return out.where(codes >= 0) if (codes < 0).any() else out
    if pd.api.types.is_float_dtype(s.dtype):
        s = s.astype("Int64")          # 1.0 -> "1", not "1.0"
    arr = pa.array(s.astype("str").array, type=pa.large_string()) if not isinstance(
        s.dtype, pd.StringDtype) else pa.array(s.array, type=pa.large_string())
    return pd.Series(_clean_text(arr).to_pandas(), dtype="str")


_NA_MAX_CHARS = max(len(x) for x in _NA_STRINGS)


def _clean_text(arr):
    """Trimmed values, NA markers and empty values -> null (Arrow kernels). Plain ASCII text
    (:func:`analytics.ingest.arrowtext.plain_ascii`, ids as most extracts write them) needs no
    trimming, and only its values short enough to be an NA marker are lower-cased and looked up."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from analytics.ingest import arrowtext
    markers = pa.array(sorted(_NA_STRINGS), type=pa.large_string())
    null = pa.scalar(None, type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not arrowtext.plain_ascii(arr):
        arr = pc.utf8_trim_whitespace(arr)
        na = pc.is_in(pc.utf8_lower(arr), value_set=markers)
        return pc.if_else(pc.fill_null(na, True), null, arr)
    short = np.flatnonzero(arrowtext.byte_lengths(arr) <= _NA_MAX_CHARS)   # ASCII: characters are bytes
    if not len(short):
        return arr
    cand = arr.take(pa.array(short))
    na = np.asarray(pc.fill_null(pc.is_in(pc.utf8_lower(cand), value_set=markers), True), dtype=bool)
    if not na.any():
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[short[na]] = True
    return pc.if_else(pa.array(mask), null, arr)


def _to_cat(codes: np.ndarray, vals: np.ndarray) -> pd.Series:
    """Categorical with string categories (distinct raw values that normalise to the same
    code, "509" and "C50.9", share one category)."""
    valid = np.array([v is not None for v in vals], dtype=bool)
    cats, inv = np.unique(np.array([v if v is not None else "" for v in vals], dtype=object)[valid]
                          .astype(str), return_inverse=True) if valid.any() else (np.array([], str), np.array([], int))
    per_unique = np.full(len(vals), -1, dtype=np.int64)
    per_unique[valid] = inv
    row_codes = _spread(codes, per_unique, -1)
    return pd.Series(pd.Categorical.from_codes(row_codes, categories=pd.Index(cats, dtype="str")))


def _to_str(codes: np.ndarray, vals: np.ndarray) -> pd.Series:
    uniq = pd.array(list(vals) + [None], dtype="str")
    taken = uniq.take(np.where(codes < 0, len(vals), codes))
    return pd.Series(taken)


# --- dates --------------------------------------------------------------------------------
_P_YMD8 = re.compile(r"^(\d{4})(\d{2})(\d{2})$", re.ASCII)
_P_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$", re.ASCII)
_P_XYY4 = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T].*)?$", re.ASCII)
_P_XYY2 = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2})$", re.ASCII)
_P_YM = re.compile(r"^(\d{4})[-/.]?(\d{2})$", re.ASCII)
_P_Y = re.compile(r"^(\d{4})(?:\.0)?$", re.ASCII)


def _order_from_format(fmt: str | None) -> str | None:
    if not fmt:
        return None
    f = fmt.lower().replace("%", "")
    i_d, i_m = f.find("d"), f.find("m")
    if i_d < 0 or i_m < 0:
        return None
    return "dmy" if i_d < i_m else "mdy"


def _yyyymmdd(u: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(which values are exactly eight ASCII digits, their number), vectorised over the values."""
    found = np.zeros(len(u), dtype=bool)
    lengths = np.fromiter(map(len, u), dtype=np.int64, count=len(u))
    cand = np.flatnonzero(lengths == 8)
    if not len(cand):
        return found, np.zeros(0, dtype=np.int64)
    points = np.array([u[i] for i in cand], dtype="U8").view(np.uint32).reshape(len(cand), 8).astype(np.int64)
    digits = ((points >= 48) & (points <= 57)).all(axis=1)
    found[cand[digits]] = True
    return found, (points[digits] - 48) @ (10 ** np.arange(7, -1, -1, dtype=np.int64))


def parse_dates(s: pd.Series, *, date_format: str | None = None, today: pd.Timestamp | None = None) -> Parsed:
    """Dates with CanReg5 unknown-part handling; see the module docstring."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        vals = s.astype("datetime64[ns]").reset_index(drop=True)
        n = len(vals)
        return Parsed(vals, np.zeros(n, bool), np.zeros(n, bool))
    codes, u = factorize(s)
    n_u = len(u)
    y = np.full(n_u, -1, dtype=np.int64)
    m = np.full(n_u, -1, dtype=np.int64)
    d = np.full(n_u, -1, dtype=np.int64)
    present = ~_is_na(u)
    # For d/m vs m/d: a first part > 12 (ignoring the 99/00 unknown markers) means d/m.
    order = _order_from_format(date_format)
    if order is None:
        first_big = second_big = False
        for x in u:
            mm = (_P_XYY4.match(x) or _P_XYY2.match(x)) if len(x) <= MAX_CODE_CHARS else None
            if mm:
                a, b = int(mm.group(1)), int(mm.group(2))
                first_big |= 12 < a < 32
                second_big |= 12 < b < 32
        order = "mdy" if (second_big and not first_big) else "dmy"
    if date_format and "%" in date_format:
        exact = pd.to_datetime(pd.Series(u, dtype=object), format=date_format, errors="coerce")
    else:
        exact = None
    pivot = (today or pd.Timestamp.today()).year % 100
    done = np.zeros(n_u, dtype=bool)
    if exact is None:       # CanReg5's yyyyMMdd, as the pattern below would read it, without a loop
        done, y8 = _yyyymmdd(u)
        y[done], m[done], d[done] = y8 // 10000, y8 // 100 % 100, y8 % 100
    for i, x in enumerate(u):
        if done[i] or not present[i]:
            continue
        if len(x) > MAX_CODE_CHARS:
            y[i] = -2
            continue
        if exact is not None and not pd.isna(exact.iloc[i]):
            t = exact.iloc[i]
            y[i], m[i], d[i] = t.year, t.month, t.day
            continue
        if x.endswith(".0") and is_digits(x[:-2]):
            x = x[:-2]
        mt = _P_YMD8.match(x) or _P_YMD.match(x)
        if mt:
            y[i], m[i], d[i] = int(mt.group(1)), int(mt.group(2)), int(mt.group(3))
            continue
        mt = _P_XYY4.match(x)
        yy2 = False
        if not mt:
            mt = _P_XYY2.match(x)
            yy2 = mt is not None
        if mt:
            a, b, yr = int(mt.group(1)), int(mt.group(2)), int(mt.group(3))
            if yy2:
                yr = yr + (2000 if yr <= pivot else 1900)
            dd, mo = (a, b) if order == "dmy" else (b, a)
            y[i], m[i], d[i] = yr, mo, dd
            continue
        mt = _P_YM.match(x)
        if mt:
            y[i], m[i], d[i] = int(mt.group(1)), int(mt.group(2)), 99
            continue
        mt = _P_Y.match(x)
        if mt:
            y[i], m[i], d[i] = int(mt.group(1)), 99, 99
            continue
        y[i] = -2   # present but unparseable
    year_unknown = (y == 9999) | (y == 0)
    unparsed = y == -2
    mon_unknown = (m == 99) | (m == 0)
    day_unknown = (d == 99) | (d == 0)
    imputed = present & ~year_unknown & ~unparsed & (mon_unknown | day_unknown)
    m2 = np.where(mon_unknown, 7, m)
    d2 = np.where(mon_unknown, 1, np.where(day_unknown, 15, d))
    ok = present & ~year_unknown & ~unparsed & (y >= 1800) & (y <= 2200) & (m2 >= 1) & (m2 <= 12) & (d2 >= 1)
    months = np.where(ok, (y - 1970) * 12 + (m2 - 1), 0).astype("datetime64[M]")
    dim = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    ok &= d2 <= dim
    days = months.astype("datetime64[D]") + np.where(ok, d2 - 1, 0).astype("timedelta64[D]")
    bad = present & ~year_unknown & ~ok
    per_row = _spread(codes, days.astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
    ok_row = _spread(codes, ok, False)
    per_row[~ok_row] = np.datetime64("NaT", "ns")
    return Parsed(pd.Series(per_row, dtype="datetime64[ns]"), _spread(codes, bad, False),
                  _spread(codes, imputed & ok, False))

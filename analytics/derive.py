"""Derived columns of the tumour records: year, age, age group, ICD-10, site groups, first primary.

All vectorised over the records; code conversions run once per distinct code.

* Age: completed years between birth and incidence dates (the anniversary rule used by
  CanReg5 and IARCcrgTools), used only where the recorded age is missing; when both are
  present :mod:`analytics.quality` checks that they agree.
* Age groups: 5-year groups 0-4 ... ``top_age``+ (CI5/CanReg convention,
  :func:`analytics.schema.age_group_labels`).
* ICD-10 from ICD-O-3 (:mod:`analytics.coding`), site groups CI5 detailed and GLOBOCAN
  (:mod:`analytics.sites`). Records not counted by default (benign, uncertain, in situ
  except bladder) get the site group of their topography, so that they can be tabulated
  on request; they stay out of the default counts through ``included``.
* First primary: the first tumour of a patient within a CI5 site group, among the tumours
  counted by default (earliest incidence date; ties broken by tumour id in string order;
  tumours without a date come last). Used for person-based counts (prevalence, survival)
  as recommended by the IARC/IACR multiple-primary rules (IARC Internal Report 2004/02).
  :func:`analytics.quality.reconcile` recomputes it among the records actually included.
"""
from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from . import coding, schema, sites


def _col(records: pd.DataFrame, name: str, dtype=None) -> pd.Series:
    if name in records.columns:
        return records[name]
    return pd.Series(pd.NA, index=records.index, dtype=dtype if dtype else object)


def _dates(records: pd.DataFrame, name: str) -> pd.Series:
    s = _col(records, name)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce")
    return s


def _ymd(values) -> tuple[np.ndarray, np.ndarray]:
    """(year, month*100+day) as float arrays, NaN where the date is unknown."""
    s = pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce")
    dt = s.dt
    year = dt.year.to_numpy(dtype=float, na_value=np.nan)
    md = dt.month.to_numpy(dtype=float, na_value=np.nan) * 100 + dt.day.to_numpy(dtype=float, na_value=np.nan)
    return year, md


def age_from_dates(birth, incidence) -> np.ndarray:
    """Completed years from birth to incidence (float, NaN where a date is unknown)."""
    by, bmd = _ymd(birth)
    iy, imd = _ymd(incidence)
    return iy - by - (imd < bmd)


def _int_col(records: pd.DataFrame, name: str) -> np.ndarray:
    s = _col(records, name)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    s = pd.to_numeric(s, errors="coerce")
    return s.to_numpy(dtype=float, na_value=np.nan)


def age_groups(age, *, top_age: int = 85, width: int = 5) -> tuple[pd.Series, pd.Series]:
    """(age_group categorical, age_start Int16) for ages in completed years.

    Ages outside 0-120 (impossible, flagged by the checks) and unknown ages get NA.
    """
    a = np.asarray(pd.to_numeric(pd.Series(age), errors="coerce").to_numpy(float, na_value=np.nan))
    ok = ~np.isnan(a) & (a >= 0) & (a <= 120)
    start = np.where(ok, np.minimum((np.where(ok, a, 0) // width) * width, top_age), -1).astype(np.int64)
    labels = schema.age_group_labels(top_age, width)
    codes = np.where(ok, start // width, -1)
    group = pd.Categorical.from_codes(codes, categories=pd.Index(labels, dtype=str), ordered=True)
    age_start = pd.array(np.where(ok, start, 0), dtype="Int16")
    age_start[~ok] = pd.NA
    return pd.Series(group), pd.Series(age_start)


def _as_category(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniq, dtype=str)),
                     index=s.index, name=s.name)


_CODE_CACHE: dict[int, tuple] = {}


def factorize_ids(values) -> np.ndarray:
    """Integer codes of an identifier column (-1 for missing), cached per Arrow array.

    Hashing millions of identifier strings is the costliest step of ingest; derive, the
    duplicate check and reconcile all need the patient codes. Arrow arrays are immutable,
    so codes cached against the array object (held by a weak reference) stay valid.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    pa_arr = getattr(s.array, "_pa_array", None)
    if pa_arr is not None:
        hit = _CODE_CACHE.get(id(pa_arr))
        if hit is not None and hit[0]() is pa_arr:
            return hit[1]
        codes = _arrow_codes(pa_arr)
    else:
        codes = pd.factorize(s, use_na_sentinel=True)[0].astype(np.int64)
    if pa_arr is not None:
        try:
            ref = weakref.ref(pa_arr)
        except TypeError:
            return codes
        if len(_CODE_CACHE) >= 4:
            _CODE_CACHE.pop(next(iter(_CODE_CACHE)))
        codes.setflags(write=False)
        _CODE_CACHE[id(pa_arr)] = (ref, codes)
    return codes


def _arrow_codes(arr) -> np.ndarray:
    """Codes in order of first appearance (-1 for missing) from Arrow's hash kernel, which
    costs about two thirds of pandas' factorize on the same strings and releases the GIL (so
    two id columns are encoded at once, see :func:`encode_ids`)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    codes = _sorted_codes(arr)
    if codes is not None:
        return codes
    return np.asarray(pc.fill_null(pc.dictionary_encode(arr).indices, -1)).astype(np.int64)


def _sorted_codes(arr) -> np.ndarray | None:
    """Codes of an Arrow array without missing values whose values never decrease (extracts
    sorted by registration number or tumour id, as the demo and the benchmark are): a new code
    wherever the value changes from the one before. Equal values are then adjacent, so these
    are exactly the first-appearance codes of the hash kernel, for two comparisons of adjacent
    values (about 2% of the hash's CPU time); None when the array is not sorted."""
    import pyarrow.compute as pc
    n = len(arr)
    if n < 2 or arr.null_count:
        return None
    head, tail = arr.slice(0, n - 1), arr.slice(1)
    if not pc.all(pc.less_equal(head, tail)).as_py():
        return None
    codes = np.zeros(n, dtype=np.int64)
    np.cumsum(np.asarray(pc.not_equal(head, tail)), out=codes[1:])
    return codes


def repeated(codes: np.ndarray) -> np.ndarray:
    """Per element of first-appearance codes (:func:`factorize_ids`): True where the code was
    seen on an earlier element (pandas' ``duplicated(keep="first")`` for codes >= 0, without
    hashing again): a code is new exactly where it exceeds every code before it."""
    codes = np.asarray(codes)
    if not len(codes):
        return np.zeros(0, dtype=bool)
    before = np.empty_like(codes)
    before[0] = -1
    np.maximum.accumulate(codes[:-1], out=before[1:])
    return codes <= before


PARALLEL_FROM_ROWS = 200_000


def encode_ids(*columns) -> None:
    """Hash the identifier columns (patient and tumour ids) into :func:`factorize_ids`' cache,
    concurrently: Arrow's kernels release the GIL, so on two cores both run at once."""
    cols = [c for c in columns if c is not None and len(c) >= PARALLEL_FROM_ROWS]
    if len(cols) < 2:
        return
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(len(cols)) as pool:
        list(pool.map(factorize_ids, cols))


def window_min(key: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per element: is ``value`` the minimum of its integer ``key`` group, and how many
    elements of the group share that minimum (one hash pass and a grouped minimum; measured
    against Polars' window, DuckDB and a sort: see the README's ingest section)."""
    g, _ = pd.factorize(key)
    gmin = pd.Series(value).groupby(g, sort=False).min().sort_index().to_numpy()
    is_min = value == gmin[g]
    return is_min, np.bincount(g, weights=is_min)[g]


def count_over(key: np.ndarray) -> np.ndarray:
    """Per element: how many elements share its integer ``key``."""
    kc, _ = pd.factorize(key)
    return np.bincount(kc)[kc]


def first_primary(patient_id, site, incidence_date, tumour_id, eligible=None) -> np.ndarray:
    """True for the first tumour of each patient within each site group (vectorised).

    Earliest incidence date wins; ties go to the smallest tumour id (string order);
    records with ``eligible`` False, or no site group, are never first primaries.
    A missing patient id makes the tumour its own patient.
    """
    if isinstance(patient_id, np.ndarray) and np.issubdtype(patient_id.dtype, np.integer):
        pc = patient_id.astype(np.int64)          # already factorized (see factorize_ids)
    else:
        pc = factorize_ids(pd.Series(patient_id))
    n = len(pc)
    elig = np.ones(n, bool) if eligible is None else np.asarray(eligible, dtype=bool)
    site_s = pd.Series(site).reset_index(drop=True)
    if isinstance(site_s.dtype, pd.CategoricalDtype):
        sc = site_s.cat.codes.to_numpy().astype(np.int64)
    else:
        sc = pd.factorize(site_s, use_na_sentinel=True)[0].astype(np.int64)
    elig &= sc >= 0
    pc = pc.copy()
    miss = pc < 0
    pc[miss] = pc.max(initial=-1) + 1 + np.arange(miss.sum())
    out = np.zeros(n, bool)
    idx = np.flatnonzero(elig)
    if not len(idx):
        return out
    # A patient's only eligible tumour is the first of its site group: only patients with
    # several eligible tumours (a few per cent of the records) need the window below.
    alone = np.bincount(pc[idx])[pc[idx]] == 1
    out[idx[alone]] = True
    idx = idx[~alone]
    if not len(idx):
        return out
    # earliest date per (patient, site): a hash window over integer keys
    key = pc[idx] * (int(sc.max(initial=0)) + 1) + sc[idx]
    is_min, n_min = window_min(key, _date_order(incidence_date, idx))
    single = is_min & (n_min == 1)
    out[idx[single]] = True
    tied = is_min & (n_min > 1)
    if tied.any():
        # ties on the first date (rare): smallest tumour id wins
        rows = idx[tied]
        tid = pd.Series(tumour_id).reset_index(drop=True).iloc[rows].astype(str).to_numpy()
        sub = pd.DataFrame({"g": key[tied], "tid": tid, "row": rows})
        win = sub.sort_values(["g", "tid"], kind="stable").drop_duplicates("g")["row"].to_numpy()
        out[win] = True
    return out


def _date_order(dates, idx: np.ndarray) -> np.ndarray:
    """Dates at positions ``idx`` as int64 nanoseconds, unknown dates last (int64 max)."""
    d = pd.Series(dates).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(d.dtype):
        d = d.iloc[idx]                            # only the records the window needs
    else:
        d = pd.to_datetime(d, errors="coerce").iloc[idx]   # parsed as a whole column, as always
    dv = d.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    dv[d.isna().to_numpy()] = np.iinfo(np.int64).max
    return dv


def derive(records: pd.DataFrame, *, top_age: int = 85) -> pd.DataFrame:
    """Add YEAR, AGE (filled from dates), AGE_GROUP, AGE_START, ICD10, SITE_CI5,
    SITE_GLOBOCAN and FIRST_PRIMARY to a frame of canonical tumour records.

    Missing or all-NA canonical columns are tolerated (the derived values are then NA).
    Topography and morphology are returned as categoricals (same values, less memory).
    Methods: see the module docstring.
    """
    out = records.copy(deep=False)
    n = len(out)
    encode_ids(out.get(schema.PATIENT_ID), out.get(schema.TUMOUR_ID))   # the ids first primary and the checks need
    inc = _dates(out, schema.INCIDENCE_DATE)
    birth = _dates(out, schema.BIRTH_DATE)
    out[schema.YEAR] = pd.array(inc.dt.year, dtype="Int16")

    age = _int_col(out, schema.AGE)
    filled = age.copy()
    unknown = np.flatnonzero(np.isnan(age))          # the dates are needed only where age is not given
    if len(unknown):
        filled[unknown] = age_from_dates(birth.iloc[unknown], inc.iloc[unknown])
    age_arr = pd.array(np.where(np.isnan(filled), 0, np.clip(filled, -32000, 32000)), dtype="Int16")
    age_arr[np.isnan(filled)] = pd.NA
    out[schema.AGE] = age_arr
    grp, start = age_groups(filled, top_age=top_age)
    out[schema.AGE_GROUP] = grp.array
    out[schema.AGE_START] = start.array

    topo = _as_category(_col(out, schema.TOPOGRAPHY))
    morph = _as_category(_col(out, schema.MORPHOLOGY))
    out[schema.TOPOGRAPHY] = topo
    out[schema.MORPHOLOGY] = morph
    t = coding.parse_topography(topo)
    m = coding.parse_morphology(morph)
    b = coding._int_codes(_col(out, schema.BEHAVIOUR))
    icd10 = coding._convert_many(t, m, b, out.index)
    out[schema.ICD10] = icd10
    counted = coding.is_counted(icd10)

    # site group of the ICD-10 code where counted, else of the malignant equivalent
    ci5 = sites.assign(icd10, "ci5_detailed").array
    glo = sites.assign(icd10, "globocan").array
    if (~counted).any():
        nc = np.flatnonzero(~counted)          # a few per cent of the records
        b3 = np.where(np.isin(b[nc], (0, 1, 2)), 3, b[nc]).astype(np.int16)
        as_malignant = coding._convert_many(t[nc], m[nc], b3)
        ci5_codes = ci5.codes.copy()
        glo_codes = glo.codes.copy()
        ci5_codes[nc] = sites.assign(as_malignant, "ci5_detailed").array.codes
        glo_codes[nc] = sites.assign(as_malignant, "globocan").array.codes
        ci5 = pd.Categorical.from_codes(ci5_codes, dtype=ci5.dtype)
        glo = pd.Categorical.from_codes(glo_codes, dtype=glo.dtype)
    out[schema.SITE_CI5] = ci5
    out[schema.SITE_GLOBOCAN] = glo
    out[schema.FIRST_PRIMARY] = first_primary(
        _col(out, schema.PATIENT_ID), out[schema.SITE_CI5], inc,
        _col(out, schema.TUMOUR_ID) if schema.TUMOUR_ID in out else pd.Series(np.arange(n)),
        eligible=counted)
    return out

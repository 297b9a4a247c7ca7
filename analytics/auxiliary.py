"""Readers for the tables around the tumour records: population, regions, risk factors, deaths.

Population comes long (one row per year x region x sex x age group) or wide (age groups as
columns). Age-group labels such as ``0-4``, ``00-04``, ``5 - 9``, ``85+``, ``85 and over``,
``85-``, ``Under 1``, single years ``0``..``100`` or ``100+`` are understood; bands are
aggregated to 5-year groups with the open top group at ``top_age`` (default 85, as CI5).
A band that crosses a 5-year boundary (``0-14``) cannot be split and is an error, as is an
open group that starts below ``top_age``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics import canreg, parsing
from analytics import schema as S
from analytics.errors import IngestError
from analytics.ingest.limits import Limits, memory_message

def _friendly(fn=None, *, label_kw: str = "name"):
    """Any failure we did not foresee still reaches the user as an IngestError sentence.
    ``label_kw`` is the keyword that names the file (``read_regions`` uses ``name`` for the
    column of region names, and ``file`` for the file)."""
    import functools

    def deco(f):
        @functools.wraps(f)
        def wrapper(source, *args, **kwargs):
            label = kwargs.get(label_kw) or _label(source)
            try:
                return f(source, *args, **kwargs)
            except IngestError as exc:
                raise exc.with_file(label) from None
            except MemoryError:
                raise IngestError(memory_message(), file=label) from None
            except RecursionError:
                raise IngestError("the file is nested too deeply to be read.", file=label) from None
            except Exception as exc:  # noqa: BLE001
                raise IngestError(f"the table could not be read ({type(exc).__name__}: {str(exc)[:160]}). Check "
                                  "the file type and its columns (see the README for examples).",
                                  file=label) from None
        return wrapper
    return deco(fn) if fn is not None else deco


def _label(source) -> str:
    if isinstance(source, pd.DataFrame):
        return "data frame"
    if isinstance(source, (str, Path)):
        return Path(str(source)).name
    return str(getattr(source, "name", None) or "upload")


_POP_ALIASES = {
    S.YEAR: ("year", "yr", "period", "time"),
    S.REGION: ("regioncode", "region", "district", "districtcode", "area", "areacode", "addr", "rayon",
               "county", "regionid", "adm1code", "code"),
    S.SEX: ("sex", "gender", "sexcode"),
    S.AGE_GROUP: ("agegrouplabel", "agegrp", "agegroup", "agelabel", "age", "agegroupname", "ageband"),
    S.POPULATION: ("population", "pop", "personyears", "py", "count", "value", "persons", "number", "total",
                   "populationcount"),
}
_BOTH_SEXES = {"both", "both sexes", "total", "all", "persons", "3", "0"}
_TOTAL_AGES = {"total", "all", "all ages", "allages", "total ages", "unknown", "not stated"}


def parse_age_label(label: object) -> tuple[int, int | None] | None:
    """``'0-4'`` -> (0, 4); ``'85+'``/``'85 and over'``/``'85-'`` -> (85, None); ``'7'`` -> (7, 7).

    None when the text is not an age group.
    """
    t = str(label).strip().lower().replace("–", "-").replace("—", "-")
    t = re.sub(r"\s*(years?|yrs?|y)\.?\s*$", "", t)
    t = re.sub(r"^(age|ages|aged)\s*", "", t)
    t = re.sub(r"\.0$", "", t)
    if re.fullmatch(r"(under|<)\s*1", t):
        return (0, 0)
    m = re.fullmatch(r"(\d{1,3})\s*(?:-|to)\s*(\d{1,3})", t)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        return (a, b) if b >= a else None
    m = re.fullmatch(r"(\d{1,3})\s*(?:\+|-|and over|and older|or over|or more|plus|and above|\+ years)", t)
    if m:
        return (int(m.group(1)), None)
    m = re.fullmatch(r"(\d{1,3})", t)
    if m:
        return (int(m.group(1)), int(m.group(1)))
    return None


def _aggregate_ages(labels: pd.Series, top_age: int, file: str | None) -> pd.Series:
    """Age-group start (multiple of 5, capped at ``top_age``) for each label."""
    out = {}
    for lab in pd.unique(labels.astype(str)):
        p = parse_age_label(lab)
        if p is None:
            raise IngestError(f"the age group '{lab}' is not understood. Use labels such as 0-4, 5-9, ..., 85+.",
                              file=file, column=S.AGE_GROUP)
        a, b = p
        if b is None:
            if a < top_age:
                raise IngestError(f"the open age group '{lab}' starts below the top group {top_age}+. "
                                  f"Set the top age group to {a} or give finer age groups.",
                                  file=file, column=S.AGE_GROUP)
        elif a // 5 != b // 5 and a < top_age:
            raise IngestError(f"the age group '{lab}' spans several 5-year groups and cannot be split. "
                              "Give the population in 5-year (or single-year) age groups.",
                              file=file, column=S.AGE_GROUP)
        out[lab] = min(a // 5 * 5, top_age)
    return labels.astype(str).map(out).astype("int64")


def _find(cols, aliases) -> str | None:
    norm = {canreg.normalise_header(c): c for c in cols}
    for a in aliases:
        if a in norm:
            return norm[a]
    return None


def _as_frame(source: Any, name: str | None, limits: Limits | None = None) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), name or "data frame"
    from analytics.readers import _check_table_limits, open_source, read_columns, read_header
    src = open_source(source, name, limits=limits)
    header = read_header(src)
    df, bad = read_columns(src, list(range(len(header))), [str(c) for c in header])
    if bad:
        raise IngestError("the row has more fields than the header. Fix the row or the delimiter.",
                          file=src.name, row=bad[0])
    _check_table_limits(df, 0, src)
    if df.empty:
        raise IngestError("the file has a header but no rows. Export the table with its rows.", file=src.name)
    return df, src.name


def _numbers(s: pd.Series, file: str, column: str, *, allow_na: bool = False) -> pd.Series:
    txt = s.astype(str).str.replace(r"[\s\u00a0']", "", regex=True).str.replace(",", ".", regex=False) \
        if not pd.api.types.is_numeric_dtype(s) else s
    v = pd.to_numeric(txt, errors="coerce")
    bad = v.isna() & s.notna() & (s.astype(str).str.strip() != "")
    if not allow_na:
        bad |= s.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise IngestError(f"'{s.iloc[i]}' is not a number. Correct the value (use digits, no text).",
                          file=file, row=i + 1, column=column)
    return v.astype("float64")


@_friendly
def read_population(source: Any, *, top_age: int = 85, name: str | None = None,
                    columns: dict[str, str] | None = None, limits: Limits | None = None) -> pd.DataFrame:
    """Population (person-years) as ``schema.POPULATION_COLUMNS``, long or wide input.

    ``columns`` optionally maps the file's columns to ``year``, ``region_code``, ``sex``,
    ``age_group``, ``population`` where the header names are not recognised. Rows for both
    sexes combined or all ages combined are left out (they would double the totals); the
    number left out is in ``result.attrs["notes"]``. Missing year/region become NA.
    """
    df, file = _as_frame(source, name, limits)
    df.columns = [str(c) for c in df.columns]
    if columns:
        df = df.rename(columns=columns)
    found = {k: (k if k in df.columns else _find(df.columns, v)) for k, v in _POP_ALIASES.items()}
    age_cols = [c for c in df.columns if c not in found.values() and parse_age_label(c) is not None
                and not re.fullmatch(r"\d{4}", str(c).strip())]
    notes = []
    if len(age_cols) >= 3 and found[S.AGE_GROUP] is None or (len(age_cols) >= 3 and found[S.POPULATION] is None):
        ids = [c for c in (found[S.YEAR], found[S.REGION], found[S.SEX]) if c is not None]
        long = df.melt(id_vars=ids, value_vars=age_cols, var_name="__age", value_name="__pop")
        agecol, popcol = "__age", "__pop"
    else:
        if found[S.AGE_GROUP] is None or found[S.POPULATION] is None:
            miss = [k for k in (S.AGE_GROUP, S.POPULATION) if found[k] is None]
            raise IngestError(f"no {' or '.join(miss)} column found (columns: {', '.join(map(str, df.columns[:20]))}). "
                              "Give the population long (year, region, sex, age group, population) or with "
                              "age groups as columns.", file=file, row=0, column=miss[0])
        long = df
        agecol, popcol = found[S.AGE_GROUP], found[S.POPULATION]
        start_col = _find(df.columns, ("agegrpstart", "agefrom", "agestart"))
        # CanReg's AGE_GROUP is an index; a label or start column next to it is the real age
        if start_col and canreg.normalise_header(agecol) == "agegroup" and \
                long[agecol].astype(str).str.fullmatch(r"\d+").all():
            agecol = start_col
    if found[S.SEX] is None:
        raise IngestError("no sex column found. Add a column 'sex' (1 male, 2 female).", file=file, row=0,
                          column=S.SEX)
    sex_txt = long[found[S.SEX]].astype(str).str.strip().str.lower()
    age_txt = long[agecol].astype(str).str.strip().str.lower()
    keep = ~sex_txt.isin(_BOTH_SEXES) & ~age_txt.isin(_TOTAL_AGES) & (age_txt != "nan")
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} rows for both sexes or all ages combined left out")
    long = long[keep.to_numpy()].reset_index(drop=True)
    sex = parsing.parse_code(long[found[S.SEX]], parsing.SEX_CODES)
    if sex.invalid.any():
        i = int(np.flatnonzero(sex.invalid)[0])
        raise IngestError(f"sex '{long[found[S.SEX]].iloc[i]}' is not understood. Use 1/2 or male/female.",
                          file=file, row=i + 1, column=found[S.SEX])
    start = _aggregate_ages(long[agecol], top_age, file)
    pop = _numbers(long[popcol], file, str(popcol))
    if (pop < 0).any():
        i = int(np.flatnonzero((pop < 0).to_numpy())[0])
        raise IngestError("a population count is negative. Correct it.", file=file, row=i + 1, column=str(popcol))
    year = (_numbers(long[found[S.YEAR]], file, found[S.YEAR], allow_na=True).astype("Int16") if found[S.YEAR] is not None
            else parsing.missing(len(long), "Int16"))
    region = (parsing.parse_text(long[found[S.REGION]]).values if found[S.REGION] is not None
              else parsing.missing(len(long), "str"))
    tidy = pd.DataFrame({S.YEAR: year, S.REGION: region, S.SEX: sex.values, S.AGE_START: start.values,
                         S.POPULATION: pop.values})
    out = (tidy.groupby([S.YEAR, S.REGION, S.SEX, S.AGE_START], dropna=False, sort=True)[S.POPULATION]
           .sum().reset_index())
    labels = dict(zip(S.age_group_edges(top_age), S.age_group_labels(top_age)))
    out[S.AGE_GROUP] = out[S.AGE_START].map(labels).astype("str")
    out[S.AGE_START] = out[S.AGE_START].astype("Int16")
    out = out[S.POPULATION_COLUMNS]
    out.attrs["notes"] = notes
    return out


_REGION_KEYS = ("regioncode", "region_code", "code", "adm1code", "iso31662", "id", "key", "regionid", "gid1")
_REGION_NAMES = ("regionname", "nameen", "name", "namelocal", "label")


@_friendly(label_kw="file")
def read_regions(source: Any, *, key: str | None = None, name: str | None = None,
                 parent: str | None = None, parent_name: str | None = None, file: str | None = None,
                 limits: Limits | None = None):
    """Region polygons as ``schema.REGION_COLUMNS`` in EPSG:4326.

    GeoJSON, GeoPackage (first layer) or a zipped Shapefile, recognised by their bytes and
    opened with their own GDAL driver (:mod:`analytics.ingest.geo`; VRT, other XML, URLs and
    GDAL virtual file systems are refused). ``key`` is the column with the region code that
    matches the records' ``region_code``; ``name`` (the column of region names), ``parent``
    (e.g. the economic region) and ``parent_name`` are optional; ``file`` is the file's
    name for messages. A file without a CRS is taken to be longitude/latitude when its
    coordinates fit, and is an error otherwise.
    """
    import geopandas as gpd

    from analytics.ingest.geo import read_geo
    label = file or (Path(str(source)).name if isinstance(source, (str, Path)) else getattr(source, "name", None))
    g = read_geo(source, name=label, limits=limits)
    if "geometry" not in g.columns or not isinstance(g, gpd.GeoDataFrame):
        raise IngestError("the file has no geometries: region boundaries are needed (polygons).", file=label)
    cols = [c for c in g.columns if c != g.geometry.name]
    k = key or _find(cols, _REGION_KEYS)
    for arg, col in (("key", k), ("name", name), ("parent", parent), ("parent_name", parent_name)):
        if col is not None and col not in g.columns:
            raise IngestError(f"the column '{col}' given as {arg} is not in the file (columns: {', '.join(cols)}).",
                              file=label, column=col)
    if k is None:
        raise IngestError(f"no region code column recognised (columns: {', '.join(cols)}). Choose the key "
                          "column that matches the records' region codes.", file=label)
    nm = name or _find([c for c in cols if c != k], _REGION_NAMES)
    if g.crs is None:
        minx, miny, maxx, maxy = g.total_bounds
        if not (-180 <= minx <= 180 and -90 <= miny <= 90 and -180 <= maxx <= 180 and -90 <= maxy <= 90):
            raise IngestError("the file has no coordinate reference system and is not in longitude/latitude. "
                              "Include the .prj file (Shapefile) or save as GeoJSON in EPSG:4326.", file=label)
        g = g.set_crs(4326)
    elif g.crs.to_epsg() != 4326:
        g = g.to_crs(4326)
    if g[k].isna().any() or g[k].astype(str).duplicated().any():
        dup = g[k].astype(str)[g[k].astype(str).duplicated()].iloc[0] if g[k].astype(str).duplicated().any() else "empty"
        raise IngestError(f"region codes must be unique and filled; '{dup}' is not. Choose another key column.",
                          file=label, column=k)
    out = gpd.GeoDataFrame({
        S.REGION: g[k].astype(str).str.strip().astype("str"),
        S.REGION_NAME: inert_markup(g[nm].astype("str") if nm else g[k].astype("str")),
        S.PARENT: (g[parent].astype("str") if parent else parsing.missing(len(g), "str")),
        S.PARENT_NAME: (inert_markup(g[parent_name].astype("str")) if parent_name
                        else parsing.missing(len(g), "str")),
    }, geometry=g.geometry.values, crs=4326)
    return out[S.REGION_COLUMNS].reset_index(drop=True)


_RF_ALIASES = {
    S.REGION: _POP_ALIASES[S.REGION],
    S.INDICATOR: ("indicator", "riskfactor", "factor", "variable", "measure"),
    S.VALUE: ("value", "prevalence", "estimate", "val", "percent"),
    S.UNIT: ("unit", "units"),
    S.YEAR: ("year",),
    S.LOWER: ("lower", "lci", "lowerci", "low", "lowerlimit"),
    S.UPPER: ("upper", "uci", "upperci", "high", "upperlimit"),
    S.SOURCE: ("source", "reference", "provenance"),
}


# Chart text is drawn by plotly.js, which renders a few HTML tags (<a href>, <b>, <br>, <span
# style>, <img> is not among them) in titles, labels and hovers: a name read from an uploaded file
# could otherwise become a link on the user's screen. Angle brackets in names become the single
# guillemets that look like them, so a name is always shown as text (Markdown is escaped separately
# by app_support.text.md).
_MARKUP = {"<": "\u2039", ">": "\u203a"}


def inert_markup(names: pd.Series) -> pd.Series:
    """Names from an uploaded file with no character plotly.js reads as markup ("<", ">")."""
    for mark, shown in _MARKUP.items():
        names = names.str.replace(mark, shown, regex=False)
    return names


@_friendly
def read_risk_factors(source: Any, *, name: str | None = None, limits: Limits | None = None) -> pd.DataFrame:
    """Risk factors as ``schema.RISK_FACTOR_COLUMNS`` (long; a wide table with one column per
    indicator is melted)."""
    df, file = _as_frame(source, name, limits)
    df.columns = [str(c) for c in df.columns]
    f = {k: (k if k in df.columns else _find(df.columns, v)) for k, v in _RF_ALIASES.items()}
    if f[S.REGION] is None:
        raise IngestError("no region column found. Add 'region_code' matching the regions' codes.",
                          file=file, row=0, column=S.REGION)
    if f[S.INDICATOR] is None:
        ids = [c for c in (f[S.REGION], f[S.YEAR], f[S.UNIT], f[S.SOURCE]) if c is not None]
        value_cols = [c for c in df.columns if c not in ids]
        if not value_cols:
            raise IngestError("no indicator/value columns found.", file=file, row=0, column=S.INDICATOR)
        df = df.melt(id_vars=ids, value_vars=value_cols, var_name=S.INDICATOR, value_name=S.VALUE)
        f[S.INDICATOR], f[S.VALUE], f[S.LOWER], f[S.UPPER] = S.INDICATOR, S.VALUE, None, None
    if f[S.VALUE] is None:
        raise IngestError("no value column found.", file=file, row=0, column=S.VALUE)
    n = len(df)
    out = pd.DataFrame({
        S.REGION: parsing.parse_text(df[f[S.REGION]]).values,
        S.INDICATOR: inert_markup(parsing.parse_text(df[f[S.INDICATOR]])).values,
        S.VALUE: _numbers(df[f[S.VALUE]], file, f[S.VALUE], allow_na=True).values,
        S.UNIT: (inert_markup(parsing.parse_text(df[f[S.UNIT]])).values if f[S.UNIT] else parsing.missing(n, "str")),
        S.YEAR: (_numbers(df[f[S.YEAR]], file, f[S.YEAR], allow_na=True).astype("Int16").values if f[S.YEAR]
                 else parsing.missing(n, "Int16")),
        S.LOWER: (_numbers(df[f[S.LOWER]], file, f[S.LOWER], allow_na=True).values if f[S.LOWER] else np.nan),
        S.UPPER: (_numbers(df[f[S.UPPER]], file, f[S.UPPER], allow_na=True).values if f[S.UPPER] else np.nan),
        S.SOURCE: (parsing.parse_text(df[f[S.SOURCE]]).values if f[S.SOURCE] else parsing.missing(n, "str")),
    })
    for col, what in ((S.REGION, "region code"), (S.INDICATOR, "indicator name")):
        gap = out[col].isna().to_numpy()
        if gap.any():
            raise IngestError(f"a row has no {what}. Fill it in or remove the row.", file=file,
                              row=int(np.flatnonzero(gap)[0]) + 1, column=str(f[col]))
    empty = out[S.VALUE].isna().to_numpy()
    if empty.all():
        raise IngestError("every value is empty, so there is nothing to map. Fill in the value column.",
                          file=file, column=str(f[S.VALUE]))
    notes = []
    if empty.any():   # a region without a value for an indicator: left out, as on the map
        notes.append(f"{int(empty.sum())} rows without a value left out")
        out = out[~empty].reset_index(drop=True)
    out = out[S.RISK_FACTOR_COLUMNS]
    out.attrs["notes"] = notes
    return out


_DEATH_ALIASES = {
    S.YEAR: ("year",), S.SEX: ("sex", "gender"),
    S.AGE_GROUP: ("agegroup", "agegrp", "agegrouplabel", "age"),
    S.REGION: _POP_ALIASES[S.REGION],
    S.ICD10: ("icd10", "cause", "causeofdeath", "icd", "underlyingcause", "site"),
    S.COUNT: ("count", "deaths", "n", "number", "value"),
}


UNKNOWN_DEATH_AGES = ("", "nan", "unknown", "unk", "999", "99", "?", "na", "n/a")


@_friendly
def read_deaths(source: Any, *, top_age: int = 85, name: str | None = None,
                limits: Limits | None = None) -> pd.DataFrame:
    """Deaths as ``schema.DEATH_COLUMNS``: counts by year, sex, 5-year age group, region, ICD-10.

    ICD-10 codes are written without the dot (``C50.9`` -> ``C509``); age groups are
    aggregated as for the population; an unknown age (empty, ``unknown``, ``999``) gives a
    missing age group.
    """
    df, file = _as_frame(source, name, limits)
    df.columns = [str(c) for c in df.columns]
    f = {k: (k if k in df.columns else _find(df.columns, v)) for k, v in _DEATH_ALIASES.items()}
    miss = [k for k in (S.YEAR, S.SEX, S.AGE_GROUP, S.ICD10, S.COUNT) if f[k] is None]
    if miss:
        raise IngestError(f"column(s) missing: {', '.join(miss)}. Deaths need year, sex, age group, ICD-10 "
                          "and count (region optional).", file=file, row=0, column=miss[0])
    sex = parsing.parse_code(df[f[S.SEX]], parsing.SEX_CODES)
    if sex.invalid.any():
        i = int(np.flatnonzero(sex.invalid)[0])
        raise IngestError(f"sex '{df[f[S.SEX]].iloc[i]}' is not understood.", file=file, row=i + 1, column=f[S.SEX])
    # deaths of unknown age are kept (NA age group): analytics.mortality counts them in all-ages totals
    ages = df[f[S.AGE_GROUP]]
    unknown_age = ages.isna().to_numpy() | ages.astype(str).str.strip().str.lower().isin(UNKNOWN_DEATH_AGES).to_numpy()
    start = _aggregate_ages(ages.where(~unknown_age, "0-4"), top_age, file).astype("Int64").mask(unknown_age)
    icd = df[f[S.ICD10]].astype(str).str.strip().str.upper().str.replace(".", "", regex=False)
    tidy = pd.DataFrame({
        S.YEAR: _numbers(df[f[S.YEAR]], file, f[S.YEAR]).astype("Int16").values,
        S.SEX: sex.values, S.AGE_START: start.values,
        S.REGION: (parsing.parse_text(df[f[S.REGION]]).values if f[S.REGION]
                   else parsing.missing(len(df), "str")),
        S.ICD10: icd.astype("str").values,
        S.COUNT: _numbers(df[f[S.COUNT]], file, f[S.COUNT]).values,
    })
    out = tidy.groupby([S.YEAR, S.SEX, S.AGE_START, S.REGION, S.ICD10], dropna=False)[S.COUNT].sum().reset_index()
    labels = dict(zip(S.age_group_edges(top_age), S.age_group_labels(top_age)))
    out[S.AGE_GROUP] = out[S.AGE_START].map(labels).astype("str")
    return out[S.DEATH_COLUMNS]

"""The one place for caching: every ``st.cache_*`` of the app lives here.

Every cached function is declared with :func:`by_dataset`, whose key always holds the dataset
token (``Dataset.token``: "demo", or a hash of every file of the session's upload) — so no
result of one data set, or of one user's upload, can ever be served for another. The data
themselves go in unhashed; every other argument is hashed by value (a ``Filters`` by its
fields, a DataFrame by its content); keyword arguments starting with ``_`` are passed through
unhashed (then their identity must already be in the key, e.g. a table's token).

Language and theme say how a result is shown, never what is computed: a cached function sees a
``Filters`` with them neutralised (:func:`neutral`), so switching either reuses every computed
result (a function whose output is worded takes the language as an argument of its own, e.g.
``level_geometry``). What a page draws — figures, tables and sentences of a selection — is built
once per process too and shared by every session (:func:`view`, keyed by dataset token, the
view's name and every argument, language and theme included).

Flow: records -> :mod:`analytics.cube` (built once per dataset and site list) -> rate inputs of a
selection -> ``analytics.rates`` results.

Public output (``Filters.public``) is decided here, once: rate inputs come from
``analytics.disclosure.PerturbedCube`` (cell-key perturbation of every base cell), every result
is computed from those published counts and then passed through ``analytics.disclosure.protect``
(published counts below k withheld with what derives from them). Quality indicators and
prevalence perturb their own counts with the same record keys. ``Filters`` is part of every key,
so public and internal results are never served for each other.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import logging
import os
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from analytics import cube as cubes
from analytics import disclosure, mortality, sites, tables
from analytics import schema as S
from app_support import jobs
from app_support.filters import PUBLIC_K, Filters
from app_support.state import Dataset

log = logging.getLogger(__name__)
SITE = cubes.SITE
DSR_COLUMNS = tables.DSR_COLUMNS


# --- the key helper ---------------------------------------------------------------------
def _column_bytes(values: Any) -> bytes:
    """A column's values as bytes that depend on the values only (not on how the column was
    built: chunks, string objects, views): numbers, booleans and datetimes by their memory,
    anything else (text, objects, categories, Arrow arrays) by the ``repr`` of its Python values."""
    arr = values if isinstance(values, np.ndarray) else None
    if arr is None and (isinstance(values, pd.arrays.NumpyExtensionArray)      # what Series.array gives for numbers
                        or isinstance(getattr(values, "dtype", None), np.dtype)):
        arr = np.asarray(values)
    if arr is not None and arr.dtype.kind in "biufcmM":
        return str(arr.dtype).encode() + b":" + np.ascontiguousarray(arr).tobytes()
    arrow = getattr(values, "_pa_array", None)        # pandas' Arrow-backed arrays (text): read by Arrow
    items = arrow.to_pylist() if arrow is not None else np.asarray(values, dtype=object).tolist()
    return str(getattr(values, "dtype", "")).encode() + b":" + repr(items).encode()


def _frame_digest(df: pd.DataFrame) -> str:
    """A frame's identity by content: every column's values and dtype, the column names and
    the index (a few times cheaper than ``pd.util.hash_pandas_object`` on text columns)."""
    h = hashlib.sha256(repr([str(c) for c in df.columns]).encode())
    idx = df.index
    if isinstance(idx, pd.RangeIndex):
        h.update(f"range:{idx.start}:{idx.stop}:{idx.step}".encode())
    else:
        for level in range(idx.nlevels):
            h.update(b"|index|" + _column_bytes(idx.get_level_values(level)))
    # the column arrays themselves: ``df.items()`` makes a Series of every column (half the time)
    for values in df._iter_column_arrays():      # noqa: SLF001 - pandas' own column iterator
        h.update(b"|col|" + _column_bytes(values))
    return h.hexdigest()


def key_part(value: Any) -> Any:
    """A value as a hashable, by-value part of a cache key."""
    if value is None or isinstance(value, (str, int, float, bool, np.integer, np.floating)):
        return value
    if isinstance(value, Filters):
        return ("Filters",) + value.key()
    if isinstance(value, cubes.Selection):
        return ("Selection",) + dataclasses.astuple(value)
    if isinstance(value, (tuple, list)):
        return tuple(key_part(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(key_part(v) for v in value))
    if isinstance(value, dict):
        return tuple(sorted((str(k), key_part(v)) for k, v in value.items()))
    if isinstance(value, pd.DataFrame):
        return ("DataFrame", _frame_digest(value))
    if isinstance(value, pd.Series):
        return ("Series", _frame_digest(value.to_frame()))
    if callable(value) and hasattr(value, "__qualname__") and not isinstance(value, type):
        return ("function", getattr(value, "__module__", ""), value.__qualname__)   # a builder: by its name
    if isinstance(value, np.ndarray):
        return ("ndarray", str(value.dtype), value.shape, hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest())
    raise TypeError(f"cache key: a {type(value).__name__} cannot be hashed by value; pass it as a keyword "
                    "argument starting with '_' and put its identity (a token) in another argument")


# How a result is shown, never what is computed (see the module doc).
DISPLAY_FIELDS = {"lang": "en", "theme": "light"}


def neutral(f: Filters) -> Filters:
    """``f`` with the display-only fields (:data:`DISPLAY_FIELDS`) at fixed values."""
    if all(getattr(f, k) == v for k, v in DISPLAY_FIELDS.items()):
        return f
    return dataclasses.replace(f, **DISPLAY_FIELDS)


def dataset_key(ds: Dataset, *parts: Any) -> tuple:
    """The key of a cached result: the dataset token first, then ``parts`` by value."""
    return (ds.token,) + tuple(key_part(p) for p in parts)


def key_text(key: tuple) -> str:
    """A key (:func:`dataset_key`: nested tuples of strings, numbers, booleans and None) as one
    string, which Streamlit hashes at once instead of element by element. ``repr`` writes each of
    those values unambiguously (strings quoted, floats exactly), so distinct keys stay distinct."""
    return repr(key)


def by_dataset(*, max_entries: int = 64, resource: bool = False, shown: bool = False,
               validate: Callable[[Any], bool] | None = None) -> Callable:
    """Decorator: cache ``fn(ds, *args, **kwargs)`` per process under :func:`dataset_key`.

    ``resource=True`` shares one object between sessions (``st.cache_resource``: never mutate
    it); otherwise every caller gets its own copy (``st.cache_data``). A ``Filters`` argument
    reaches ``fn`` with its display fields neutralised (:func:`neutral`) unless ``shown=True``
    (a view whose words or style follow the language and theme). ``validate`` (resources only):
    a stored object for which it says False is computed again (a job whose worker died)."""
    if validate is not None and not resource:
        raise ValueError("validate= applies to shared resources (resource=True) only")

    def deco(fn: Callable) -> Callable:
        def run(key: tuple, _ds: Dataset, _args: tuple, _kwargs: dict):
            return fn(_ds, *_args, **_kwargs)

        # a distinct qualified name gives each function its own store (Streamlit keys a
        # function's cache by module, qualified name and source)
        run.__qualname__ = f"{fn.__qualname__}.<cached>"
        run.__module__ = fn.__module__
        extra = {"validate": validate} if validate is not None else {}
        store = (st.cache_resource if resource else st.cache_data)(show_spinner=False, max_entries=max_entries,
                                                                   **extra)(run)

        @functools.wraps(fn)
        def wrapper(ds: Dataset, *args, **kwargs):
            if not shown:
                args = tuple(neutral(a) if isinstance(a, Filters) else a for a in args)
                kwargs = {k: neutral(v) if isinstance(v, Filters) else v for k, v in kwargs.items()}
            hashed = {k: v for k, v in kwargs.items() if not k.startswith("_")}
            key = dataset_key(ds, fn.__qualname__, args, hashed)
            # by keyword: Streamlit names a positional argument by inspecting the function's
            # signature, once per argument on every call (a tenth of a cached rerun's time)
            return store(key=key_text(key), _ds=ds, _args=args, _kwargs=kwargs)

        wrapper.clear = store.clear
        return wrapper
    return deco


# --- views: figures, tables and sentences built once per process --------------------------------
VIEW_ENTRIES = 1024    # about 25 views (figures, tables, sentences, descriptions) per page and selection;
                       # a map shares its boundaries (maps.SharedGeoJSON), so an entry is small


def view(ds: Dataset, name: str, build: Callable[..., Any], *args, identity: Any = None, **kwargs) -> Any:
    """``build(*args, **kwargs)`` — a page's figure, sentence or table — built once per process
    for the same data set, ``name`` and arguments (frames by content, a ``Filters`` by every
    field, language and theme included), then shared by every session: a hundred people on the
    same link cost one build. ``name`` names the view and its builder (one name, one builder);
    ``build`` must depend on its arguments only, and its result must never be modified afterwards
    (``widgets.chart_with_table`` copies a shared figure before changing it; exports copy).
    Keyword arguments starting with ``_`` reach ``build`` unhashed and without that underscore
    (``_regions=geo`` -> ``regions=geo``: a GeoDataFrame of the data set; put what identifies
    it — level, language — in ``identity``, which is part of the key and not passed)."""
    hashed, passed = _split(kwargs)
    return _view(ds, (name, key_part(build), key_part(identity)), args, hashed, {}, _build=build, _passed=passed)


def figure(ds: Dataset, name: str, build: Callable[..., Any], *args, desc=None, caption: str = "",
           identity: Any = None, **kwargs):
    """:func:`view` of a figure whose ``layout.meta`` already holds the description of what it
    shows (``desc.as_dict()`` and its ``caption``, as ``widgets.chart_with_table`` writes them), so
    the shared figure is drawn as it is, never copied or changed per session."""
    meta = {} if desc is None else {"description": desc.as_dict(), "caption": caption}
    hashed, passed = _split(kwargs)
    return _view(ds, (name, key_part(build), key_part(identity)), args, hashed, meta, _build=build, _passed=passed)


def _split(kwargs: dict) -> tuple[dict, dict]:
    hashed = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    passed = {k[1:]: v for k, v in kwargs.items() if k.startswith("_")}
    return hashed, passed


def is_shared(obj: Any) -> bool:
    """Was ``obj`` built by :func:`view` (shared by every session: never modify it)?"""
    return bool(getattr(obj, "_registry_shared", False))


@by_dataset(resource=True, max_entries=VIEW_ENTRIES, shown=True)
def _view(ds: Dataset, name: tuple, args: tuple, kwargs: dict, meta: dict, *, _build: Callable[..., Any],
          _passed: dict) -> Any:
    out = _build(*args, **kwargs, **_passed)
    if hasattr(out, "layout") and hasattr(out, "data"):      # a plotly figure: its description, marked shared
        if meta:
            old = dict(out.layout.meta) if isinstance(out.layout.meta, dict) else {}
            out.update_layout(meta={**old, **meta})
        out._registry_shared = True   # noqa: SLF001 - read by is_shared
    return out


# --- disclosure control ---------------------------------------------------------------------
@functools.cache
def _rule_for(secret: str) -> disclosure.DisclosureRule:
    rule = disclosure.DisclosureRule.from_env(k=PUBLIC_K, environ={disclosure.SECRET_ENV: secret})
    if rule.uses_demo_secret:
        log.warning("public output uses the demo disclosure secret: set %s for real data", disclosure.SECRET_ENV)
    return rule


def disclosure_rule() -> disclosure.DisclosureRule:
    """The rule of public output: k = ``PUBLIC_K``, the operator's secret
    (``REGISTRY_DISCLOSURE_SECRET``, read from the server's environment, never from a URL)."""
    return _rule_for(os.environ.get(disclosure.SECRET_ENV, ""))


def protect(table: pd.DataFrame, **kw) -> pd.DataFrame:
    """Public output: ``analytics.disclosure.protect`` with the app's rule (published counts
    below k withheld with the statistics derived from them)."""
    return tables.protect(table, disclosure_rule(), **kw)


# --- cubes and rate inputs -----------------------------------------------------------------
def _parents(ds: Dataset) -> dict[str, str]:
    return parents_of(ds.regions)


def parents_of(regions: pd.DataFrame) -> dict[str, str]:
    """District -> economic region of a region table."""
    return dict(zip(regions[S.REGION].astype(str), regions[S.PARENT].astype(str)))


@by_dataset(resource=True, max_entries=8)
def mortality_events(ds: Dataset, site_column: str) -> mortality.MortalityEvents:
    """The data set's deaths as counted events (``analytics.mortality``): its vital-statistics
    deaths table, or deaths derived from its records when it has none; with the account of every
    death read (districts checked against the regions table, years against the population's).
    Each deaths row carries a key (``death_keys``) for public output."""
    years = ds.population[S.YEAR].dropna().astype(int).unique() if ds.population is not None else None
    return mortality.mortality_events(ds.records, site_column, deaths=ds.registry.deaths,
                                      regions=ds.regions[S.REGION].astype(str), years=years,
                                      row_keys=death_keys)


@by_dataset(resource=True, max_entries=8)
def _cube(ds: Dataset, site_column: str, strategy: str, measure: str, rule_id: str) -> cubes.Cube:
    if measure not in mortality.MEASURES:
        raise ValueError(f"measure must be one of {mortality.MEASURES}, got {measure!r}")
    if measure == mortality.MORTALITY:
        return cubes.build_cube(mortality_events(ds, site_column).events, ds.population, _parents(ds),
                                strategy=strategy)
    prebuilt = ds.prebuilt_cube(site_column, rule_id) if strategy == "auto" else None
    if prebuilt is not None:      # the demo store's (app_support/demo_store.py): the same cube, read
        return prebuilt
    return incidence_cube(ds.records, ds.population, ds.regions, site_column, strategy=strategy)


def incidence_cube(records: pd.DataFrame, population: pd.DataFrame, regions: pd.DataFrame, site_column: str, *,
                   strategy: str = "auto") -> cubes.Cube:
    """The incidence cube of :func:`cube` from a data set's parts (``regions``: its region table):
    counted tumours with the sums of their record keys under the app's rule (:func:`disclosure_rule`).
    The demo store prebuilds the demo's with it."""
    return cubes.record_cube(records, population, parents_of(regions), site_column,
                             keys=disclosure_rule().keys_of(records), strategy=strategy)


def cube(ds: Dataset, site_column: str, strategy: str = "auto", *, measure: str = mortality.INCIDENCE) -> cubes.Cube:
    """Counted tumours (``measure="incidence"``) or deaths (``"mortality"``, from
    :func:`mortality_events`) by year, sex, district, age group and site (``analytics.cube``),
    with the sums of their record (or deaths-row) keys, shared read-only by every session on
    this data set."""
    return _cube(ds, site_column, strategy, measure, disclosure_rule().fingerprint)


@by_dataset(resource=True, max_entries=8)
def _public_cube(ds: Dataset, site_column: str, measure: str, rule_id: str) -> disclosure.PerturbedCube:
    return disclosure.PerturbedCube(cube(ds, site_column, measure=measure), disclosure_rule())


def public_cube(ds: Dataset, site_column: str, measure: str = mortality.INCIDENCE) -> disclosure.PerturbedCube:
    """The same cube answering with published (perturbed) counts (its published base cells are
    computed once and shared read-only by every session on this data set)."""
    return _public_cube(ds, site_column, measure, disclosure_rule().fingerprint)


ANY_SEX = "both"   # the sex filter's value in a key whose result ``sexes`` decides (see :func:`sex_set_aside`)


def sex_set_aside(f: Filters, sexes) -> Filters:
    """``f`` with its sex filter at one value (:data:`ANY_SEX`) when ``sexes`` overrides it: a
    result then does not depend on the sidebar's sex (the men-vs-women charts, a CI5 table of one
    sex), so a user switching sex is served the entry already made instead of a copy of it."""
    return dataclasses.replace(f, sex=ANY_SEX) if sexes and f.sex != ANY_SEX else f


def selection(ds: Dataset, f: Filters, sexes: tuple[int, ...] | None = None) -> cubes.Selection:
    """The sidebar's selection as an ``analytics.cube.Selection``."""
    return f.selection(ds.regions, sexes=sexes)


@by_dataset(max_entries=256)
def _rate_input(ds: Dataset, f: Filters, by: tuple[str, ...], all_sites: bool, sexes) -> pd.DataFrame:
    sel = selection(ds, f, sexes)
    if f.public:
        return public_cube(ds, f.site_column, f.measure).select(sel, by, all_sites=all_sites)
    return (cube(ds, f.site_column, measure=f.measure).select(sel, by, all_sites=all_sites)
            .drop(columns=[cubes.KEY_SUM], errors="ignore"))


def rate_input(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, all_sites: bool = False,
               sexes: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Cases and person-years by ``by`` + age group for the selection (input of ``rates.dsr``).

    ``by`` may hold ``site``, ``sex``, ``year``, ``region_code``, ``parent_code``. With ``site``
    in ``by`` every site of the scheme is kept (the site filter is ignored); ``sexes`` overrides
    the sex filter (e.g. (1, 2) for a men-vs-women chart). In public output the counts are the
    published (perturbed) ones.
    """
    return _rate_input(ds, sex_set_aside(f, sexes), tuple(by), all_sites, tuple(sexes) if sexes else None)


def blank_other_sex(res: pd.DataFrame, f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    """Measures of a sex-specific site for the other sex blanked with their reason
    (``analytics.sites.blank_other_sex``), also when the site or the sex comes from the sidebar
    rather than a column (prostate chosen with "women": no ASR, not 0.0)."""
    added = {}
    if SITE not in by:
        added[SITE] = f.site
    if S.SEX not in by:
        one = set(sexes or f.sex_codes) & {S.MALE, S.FEMALE}
        if len(one) != 1 or S.UNKNOWN_SEX in set(sexes or f.sex_codes):
            return res
        added[S.SEX] = one.pop()
    if not added:
        return res          # site and sex are columns: analytics.tables blanked them already
    out = sites.blank_other_sex(res.assign(**added))
    return out.drop(columns=list(added)) if out is not res else res


@by_dataset(max_entries=256)
def _dsr(ds: Dataset, f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    res = tables.dsr_table(_rate_input(ds, f, by, False, sexes), by, standard=f.std, method=f.ci, conf=f.level)
    res = blank_other_sex(res, f, by, sexes)      # prostate in women: no rate (NaN with its reason), not 0.0
    return protect(res) if f.public else res


def dsr(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes: tuple[int, ...] | None = None) -> pd.DataFrame:
    """``analytics.rates.dsr`` over the selection, grouped by ``by`` (cached)."""
    return _dsr(ds, sex_set_aside(f, sexes), tuple(by), tuple(sexes) if sexes else None)


@by_dataset(max_entries=256)
def _cumrisk(ds: Dataset, f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    out = blank_other_sex(tables.cumulative_risk_table(_rate_input(ds, f, by, False, sexes), by, method=f.ci,
                                                       conf=f.level), f, by, sexes)
    return protect(out) if f.public else out   # withheld with its count (ages 0-74)


def cumulative_risk(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes=None) -> pd.DataFrame:
    """Cumulative risk 0-74 (%) over the selection (``analytics.rates.cumulative_risk``); not
    defined (NaN, shown as a dash) when the age range starts at 75 or above."""
    if not by and f.a0 > 74:
        return pd.DataFrame({"cum_rate": [np.nan], "cum_risk": [np.nan]})
    return _cumrisk(ds, sex_set_aside(f, sexes), tuple(by), tuple(sexes) if sexes else None)


@by_dataset(max_entries=64)
def _age_specific(ds: Dataset, f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    out = blank_other_sex(tables.age_specific_table(_rate_input(ds, f, by, False, sexes), by, conf=f.level), f, by,
                          sexes)
    return protect(out) if f.public else out


def age_specific(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes=None) -> pd.DataFrame:
    """Age-specific rates per 100,000 (``analytics.rates.age_specific``) over the selection."""
    return _age_specific(ds, sex_set_aside(f, sexes), tuple(by), tuple(sexes) if sexes else None)


def ci5_table(ds: Dataset, f: Filters, sex: int) -> pd.DataFrame:
    """The CI5 / CanReg5 incidence table for one sex: cases by age group, crude rate, ASR,
    cumulative risk 0-74 and % of all sites, one row per site group (the same table whichever
    sex the sidebar shows)."""
    return _ci5_table(ds, sex_set_aside(f, (sex,)), sex)


@by_dataset(max_entries=64)
def _ci5_table(ds: Dataset, f: Filters, sex: int) -> pd.DataFrame:
    if not f.public:
        return tables.ci5_table(cube(ds, f.site_column, measure=f.measure), selection(ds, f), sex, standard=f.std)
    # published counts: each age cell and the row's total below k shown as "<k" (as the report's)
    return tables.ci5_table(public_cube(ds, f.site_column, f.measure), selection(ds, f), sex, standard=f.std,
                            rule=disclosure_rule())


def population_pyramid(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Average annual population by sex and age group over the selection (both sexes, whichever
    the sidebar shows)."""
    return _population_pyramid(ds, sex_set_aside(f, (S.MALE, S.FEMALE)))


@by_dataset(max_entries=64)
def _population_pyramid(ds: Dataset, f: Filters) -> pd.DataFrame:
    p = cube(ds, f.site_column).select(selection(ds, f, (S.MALE, S.FEMALE)), (S.SEX,), all_sites=True)
    p = p[p[S.AGE_GROUP].notna()]
    out = p[[S.SEX, S.AGE_GROUP, S.POPULATION]].reset_index(drop=True)
    out[S.POPULATION] = out[S.POPULATION] / f.n_years  # average annual population
    return out


def selected_records(ds: Dataset, f: Filters, included_only: bool = True) -> pd.DataFrame:
    """Records of the selection (period, sex, region, site) for quality tables.

    Deliberately not cached: process-wide caches hold aggregates only, never an upload's records
    (uploads live in the user's session)."""
    r = ds.records
    m = r[S.YEAR].between(f.y0, f.y1).fillna(False)
    if f.sex != "both":
        m &= r[S.SEX].isin(f.sex_codes).fillna(False)
    codes = f.region_codes(ds.regions)
    if codes is not None:
        m &= r[S.REGION].astype(str).isin(codes)
    if f.site == cubes.ALL_BUT_C44:
        m &= ~r[S.ICD10].astype(str).str.startswith("C44")
    elif f.site != cubes.ALL_SITES:
        m &= (r[f.site_column] == f.site).fillna(False)
    if included_only:
        m &= r[S.INCLUDED].fillna(False).astype(bool)
    return r.loc[m]


@by_dataset(max_entries=64)
def mi_ratio(ds: Dataset, f: Filters, by: tuple[str, ...] = ()) -> pd.DataFrame:
    """Mortality:incidence ratio of the selection by ``by`` (``analytics.mortality.mi_ratio``:
    the data-quality indicator of ``analytics.quality``), summed from the data set's incidence
    and mortality cubes (``analytics.mortality.mi_ratio_from_cubes``: the same frame without a
    pass over the records); in public output, strata with fewer than k deaths or cases are
    suppressed (and their ratio with them)."""
    if f.public:
        return _public_mi_ratio(ds, f, by)
    return mortality.mi_ratio_from_cubes(cube(ds, f.site_column), cube(ds, f.site_column, measure=mortality.MORTALITY),
                                         selection(ds, f), by, parents=_parents(ds))


def _public_mi_ratio(ds: Dataset, f: Filters, by: tuple[str, ...]) -> pd.DataFrame:
    """M:I from published counts: the deaths and the cases that the mortality and incidence
    views publish for the same strata (perturbed base cells summed), then withheld below k."""
    data = {m: rate_input(ds, dataclasses.replace(f, measure=m), by=tuple(by)) for m in mortality.MEASURES}
    return tables.published_mi_ratio(data[mortality.MORTALITY], data[mortality.INCIDENCE], by, disclosure_rule())


# --- sidebar options -------------------------------------------------------------------------
@by_dataset(resource=True, max_entries=16)
def region_fallback_names(ds: Dataset) -> dict[str, str]:
    """Code -> name of every district and economic region as the data set names them (where the
    catalogue ``regions.json`` has no entry, e.g. an upload's own regions); one dict per data set,
    shared read-only by every session and every description of a page."""
    reg = ds.regions
    out = dict(zip(reg[S.PARENT].astype(str), reg[S.PARENT_NAME].astype(str)))
    out.update(zip(reg[S.REGION].astype(str), reg[S.REGION_NAME].astype(str)))
    out.pop("", None)
    return out


@by_dataset(max_entries=16)
def filter_options(ds: Dataset) -> dict:
    """Years, site lists, economic regions and districts of the data set, for the sidebar."""
    from app_support.filters import ALL_BUT_C44, ALL_SITES, SCHEMES

    rec = ds.records
    years = sorted(int(y) for y in ds.population[S.YEAR].dropna().unique())
    out = {"years": (years[0], years[-1]) if years else (2000, 2000)}
    counted = rec[S.INCLUDED].fillna(False).astype(bool)
    for scheme, col in SCHEMES.items():
        # the distinct values first, then their text (not every record's value: a demo's
        # 225,000 as Arrow strings took 0.1 s of the first visitor's run)
        labels = {str(v) for v in pd.unique(rec.loc[counted, col].dropna())}
        out[scheme] = [ALL_SITES, ALL_BUT_C44] + sorted(labels)
    regions = ds.regions
    out["er"] = ["all"] + sorted(x for x in regions[S.PARENT].unique() if x)
    out["er_names"] = dict(zip(regions[S.PARENT], regions[S.PARENT_NAME]))
    out["er_names_en"] = dict(zip(regions[S.PARENT], regions["parent_name_en"]))
    out["districts"] = regions[[S.REGION, S.REGION_NAME, S.PARENT]].sort_values(S.REGION_NAME).values.tolist()
    return out


# --- maps and risk factors -------------------------------------------------------------------
def level_geometry(ds: Dataset, level: str, lang: str):
    """Regions at ``level`` (districts, or economic regions dissolved from them; the code column
    keeps the level's name), their contiguity weights and the GeoJSON (code as region_code): one
    shared object for every language whose names are the same (``tables.level_names_language``),
    so a change of language does not build the weights and the GeoJSON again."""
    return _level_geometry(ds, level, tables.level_names_language(level, lang))


@by_dataset(resource=True, max_entries=8)
def _level_geometry(ds: Dataset, level: str, lang: str):
    return tables.level_geometry(ds.geo, level, lang)


def _mapped(ds: Dataset, data: pd.DataFrame, level: str) -> pd.DataFrame:
    """Rows of regions in the regions table only: records whose region code is not there are
    flagged at ingest (``region_unknown``) and counted in the national figures, in no region."""
    return data[data[level].astype(str).isin(set(ds.regions[level].astype(str)))]


@by_dataset(max_entries=64)
def regional_measures(ds: Dataset, f: Filters, level: str, ref: str = "national", ref_token: str = "", *,
                      _ref_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Regional measures (``analytics.spatial.regional_measures``); the SIR's reference is the
    pooled national rates, the district's own economic region (rates pooled within it), or the
    user's table of age(/sex)-specific rates (``ref="user"``; ``ref_token`` identifies it)."""
    _, w, _ = level_geometry(ds, level, f.lang)
    kw = dict(level=level, w=w, standard=f.std, conf=f.level, ci_method=f.ci, k=PUBLIC_K if f.public else None)
    if ref == "economic" and level == S.REGION:
        data = _mapped(ds, rate_input(ds, f, by=(level,)), level)
        parent = ds.regions.drop_duplicates(S.REGION).set_index(S.REGION)[S.PARENT]
        data = data.assign(**{S.PARENT: data[S.REGION].map(parent).to_numpy()})
        return tables.map_measures(data, reference_within=S.PARENT, **kw)
    if ref == "user" and _ref_table is not None:
        by = (level, S.SEX) if S.SEX in _ref_table.columns else (level,)
        data = _mapped(ds, rate_input(ds, f, by=by), level)
        if S.SEX in data.columns:
            data = data.astype({S.SEX: "Int8"})
        return tables.map_measures(data, reference=_ref_table, **kw)
    return tables.map_measures(_mapped(ds, rate_input(ds, f, by=(level,)), level), **kw)


def clusters(ds: Dataset, f: Filters, level: str, ref: str = "national", ref_token: str = "", *,
             _ref_table: pd.DataFrame | None = None, wait: Callable[[jobs.Job], Any] = jobs.value):
    """Moran's I (empirical Bayes) and LISA of the regional counts against their expected
    (``analytics.spatial.clusters``, 999 permutations each), computed once per data set and
    selection in a worker process (:func:`clusters_job`); ``wait`` waits for it (the pages pass
    ``app_support.progress.waiting``: a progress bar). The caller gets its own copy."""
    return _awaited(lambda: clusters_job(ds, f, level, ref, ref_token, _ref_table=_ref_table), wait)


@by_dataset(resource=True, max_entries=64, validate=lambda job: not jobs.lost(job))
def clusters_job(ds: Dataset, f: Filters, level: str, ref: str = "national", ref_token: str = "", *,
                 _ref_table: pd.DataFrame | None = None) -> jobs.Job:
    """The permutation tests of :func:`clusters` as a job of the process pool, started once per
    data set and selection and shared by every session asking for them (its result stays)."""
    from analytics import spatial

    _, w, _ = level_geometry(ds, level, f.lang)
    m = regional_measures(ds, f, level, ref, ref_token, _ref_table=_ref_table)
    ok = m.set_index(level)
    return process_pool().submit("clusters", spatial.clusters, ok["cases"].fillna(0.0), ok["expected"], w)


@by_dataset(max_entries=16)
def wide_risk_factors(ds: Dataset, level: str) -> pd.DataFrame:
    """One column per risk-factor indicator (the latest year when several are given); at
    economic-region level the population-weighted mean of the districts."""
    return tables.wide_risk_factors(ds.risk_factors, ds.regions, ds.population, level)


@by_dataset(max_entries=64)
def ecological_fit(ds: Dataset, data: pd.DataFrame, factors: tuple[str, ...], level: str | None, *, _w=None,
                   **options):
    """:func:`analytics.ecological.ecological_regression` of ``data`` (by content) on ``factors``
    with its keyword ``options`` (observed, expected, family, per, conf, permutations: its own
    defaults where not given), once per data set and arguments: a rerun that changes nothing the
    model reads (language, theme, a highlighted region) does not fit it again, nor its residuals'
    permutation test (seeded: the same result). ``_w``: the contiguity weights of ``level``
    (``level_geometry``; its identity is ``level``), or None with ``level=None`` (no Moran's I of
    the residuals). A fit that cannot be made raises as the function does (nothing is stored)."""
    from analytics.ecological import ecological_regression

    if (level is None) != (_w is None):
        raise ValueError("ecological_fit: pass the weights of the level (_w) with the level, or neither")
    return ecological_regression(data, list(factors), w=_w, **options)


# --- trends, prevalence, quality, projections ---------------------------------------------------
def joinpoint_fit(ds: Dataset, data: pd.DataFrame, series: str | None, selection: str, max_jp: str,
                  weighted: bool, conf: float, *, wait: Callable[[jobs.Job], Any] = jobs.value):
    """Joinpoint fits of ``data`` (rates per year, by ``series``): segments, fitted values, AAPCs
    (``analytics.tables.joinpoint_fit``: permutation tests), computed once per data set and input
    in a worker process (:func:`joinpoint_job`); ``wait`` as for :func:`clusters`. The caller
    gets its own copy."""
    return _awaited(lambda: joinpoint_job(ds, data, series, selection, max_jp, weighted, conf), wait)


def _awaited(job: Callable[[], jobs.Job], wait: Callable[[jobs.Job], Any]) -> Any:
    """A copy of the result of the cached job ``job()``; a job lost with its worker (killed) is
    started once more (the cache's ``validate`` replaces it)."""
    first = job()
    try:
        return copy.deepcopy(wait(first))
    except (BrokenProcessPool, CancelledError):
        log.warning("a worker process was lost during %r: running it again", first.label)
        return copy.deepcopy(wait(job()))


@by_dataset(resource=True, max_entries=64, validate=lambda job: not jobs.lost(job))
def joinpoint_job(ds: Dataset, data: pd.DataFrame, series: str | None, selection: str, max_jp: str,
                  weighted: bool, conf: float) -> jobs.Job:
    """The fits of :func:`joinpoint_fit` as a job of the process pool (once per data set and
    input, shared by every session asking for them)."""
    return process_pool().submit("joinpoint", tables.joinpoint_fit, data, series, selection=selection,
                                 max_jp=max_jp, weighted=weighted, conf=conf)


# --- record-level intermediate results ----------------------------------------------------------
# Records are never put in the process-wide caches (an upload's records live in its session). What
# a page derives from them once and reads at every selection (e.g. prevalence's sorted units) is
# kept here beside the data set instead: per registry object, dropped with it, a few per data set.
RECORD_MEMO_ENTRIES = 4
_RECORD_MEMO: dict[int, OrderedDict] = {}
_RECORD_MEMO_LOCK = threading.Lock()


def record_memo(ds: Dataset, key: tuple, build: Callable[[], Any]) -> Any:
    """``build()`` once per data set and ``key`` (the dataset token in the key), kept as long as
    the data set's registry lives (the last :data:`RECORD_MEMO_ENTRIES` keys per data set), never
    longer and never for another data set: for record-level results that must not enter the
    process-wide caches. Shared read-only by the sessions on the same registry (the demo)."""
    owner = ds.registry
    full = dataset_key(ds, *key)
    with _RECORD_MEMO_LOCK:
        memo = _RECORD_MEMO.get(id(owner))
        if memo is not None and full in memo:
            memo.move_to_end(full)
            return memo[full]
    value = build()
    with _RECORD_MEMO_LOCK:
        memo = _RECORD_MEMO.get(id(owner))
        if memo is None:
            try:
                weakref.finalize(owner, _RECORD_MEMO.pop, id(owner), None)
            except TypeError:        # an object without weak references (a test's stand-in): not kept
                return value
            memo = _RECORD_MEMO[id(owner)] = OrderedDict()
        memo[full] = value
        while len(memo) > RECORD_MEMO_ENTRIES:
            memo.popitem(last=False)
    return value


def _prevalence_base(ds: Dataset, regions: tuple | None, by: tuple[str, ...], counting: str, public: bool):
    """Prevalence's index-date-free part of the data set's records (``analytics.tables.prevalence_base``),
    once per data set, regions, columns, counting method and disclosure rule (:func:`record_memo`)."""
    def build():
        rec = ds.records
        if regions is not None:
            rec = rec[rec[S.REGION].astype(str).isin(regions)]
        return tables.prevalence_base(rec, by=by, counting=counting, rule=disclosure_rule() if public else None,
                                      reference=ds.records)
    rule_id = disclosure_rule().fingerprint if public else ""
    return record_memo(ds, ("prevalence_base", regions, by, counting, public, rule_id), build)


@by_dataset(max_entries=32)
def prevalence(ds: Dataset, regions: tuple | None, site_col: str, year: int, counting: str, adjust: bool,
               std: str, conf: float, ages: tuple | None, public: bool = False, by_sex: bool = True) -> pd.DataFrame:
    """Limited-duration prevalence at 31 December of ``year`` (``analytics.prevalence``), by site
    and sex (``by_sex=False``: by site, both sexes together); the records' index-date-free part
    is prepared once (:func:`_prevalence_base`), each year only evaluates it.

    ``public``: every count (people, lost, unknown) perturbed per cell of site x sex (or both
    sexes) x duration x age group at the index date, figures computed from those, then published
    counts below k withheld; the adjustment for loss to follow-up (fractional counts) is not
    available."""
    pop = ds.population
    if regions is not None:
        pop = pop[pop[S.REGION].astype(str).isin(regions)]
    by = (site_col, S.SEX) if by_sex else (site_col,)
    return tables.prevalence_table(_prevalence_base(ds, regions, by, counting, public), pop,
                                   index_date=f"{year}-12-31", by=by, counting=counting, standard=std, conf=conf,
                                   ages=ages, adjust_lost=adjust, rule=disclosure_rule() if public else None)


def death_keys(deaths: pd.DataFrame) -> np.ndarray:
    """Row keys of an aggregated deaths table with the app's rule (``analytics.tables.death_keys``)."""
    return tables.death_keys(deaths, disclosure_rule())


@by_dataset(max_entries=64)
def quality_indicators(ds: Dataset, f: Filters, column: str) -> pd.DataFrame:
    """Data-quality indicators (``analytics.quality.indicators``) of the selection by ``column``."""
    deaths = ds.registry.deaths
    deaths = deaths if column in (S.YEAR, S.REGION) else None
    records = selected_records(ds, f, True)
    if f.public:
        if column == S.PARENT and S.PARENT not in records.columns:
            records = records.assign(**{S.PARENT: records[S.REGION].astype(str).map(_parents(ds))})
        return _public_quality(ds, f, column, records, deaths)
    return tables.quality_indicators(records, (column,), parents=_parents(ds), deaths=deaths)


CUBE_COLUMN = {S.YEAR: S.YEAR, S.REGION: S.REGION, S.PARENT: S.PARENT}


def _public_quality(ds: Dataset, f: Filters, column: str, records: pd.DataFrame,
                    deaths: pd.DataFrame | None) -> pd.DataFrame:
    """Quality indicators from published counts (``analytics.tables.published_quality``): the
    totals (and deaths for M:I) are the published counts of the selection by the same groups,
    all ages, so they equal the other pages' counts."""
    cube_col = CUBE_COLUMN.get(column, SITE)
    f_all = dataclasses.replace(f, a0=0, a1=85, measure=mortality.INCIDENCE)

    def published(measure: str) -> pd.Series:
        data = rate_input(ds, dataclasses.replace(f_all, measure=measure), by=(cube_col,))
        return data.groupby(cube_col, observed=True)[S.COUNT].sum()

    return tables.published_quality(records, column, disclosure_rule(), reference=ds.records,
                                    totals=published(mortality.INCIDENCE),
                                    deaths=published(mortality.MORTALITY) if deaths is not None else None)


@by_dataset(max_entries=32)
def nordpred(ds: Dataset, yearly: pd.DataFrame, future: pd.DataFrame, last_year: int):
    """Nordpred projections per sex from yearly counts (5-year periods ending with ``last_year``)."""
    from analytics import projections as pj

    obs = pj.five_year_periods(yearly, last_year=last_year, value=["count", "population"], by=["sex", "age_group"])
    fut = pj.five_year_periods(future, last_year=last_year + 25, value="population", by=["sex", "age_group"])
    fut = fut[fut["period"] > last_year]
    out, notes = [], []
    for sex, g in obs.groupby("sex"):
        by_age = g.groupby("age_group")["count"].sum()
        n_per = g["period"].nunique()
        starts = pd.Series([int(str(a).split("-")[0].rstrip("+")) for a in by_age.index], index=by_age.index)
        # Sparse young ages are projected from their recent mean rate (Nordpred's startestage):
        # modelled ages start at the first group with >= 5 cases per period on average.
        ok = starts[by_age >= 5 * n_per]
        res = pj.nordpred(g, fut[fut["sex"] == sex], start_age=int(ok.min()) if len(ok) else 0)
        out.append(res.projection.assign(sex=sex))
        # (sex, periods, drift, recent slope?, power-5 fit converged, its iterations, Period^2 test converged)
        notes.append((sex, res.periods_used, res.drift_used, res.recent, res.converged, res.iterations,
                      res.curvature_converged))
    return pd.concat(out, ignore_index=True), notes


# --- survival (analytics.survival) ----------------------------------------------------------
SURVIVAL_TIMES = tables.SURVIVAL_TIMES
SURVIVAL_GROUPS = ("none", "sex", "age", "period", "region")
CHILD_GROUP = "0-14"


def _survival_selection(ds: Dataset, f: Filters, approach: str, all_sites: bool) -> pd.DataFrame:
    """Records of the sidebar's selection for survival (``analytics.tables.survival_records``; not
    cached: records never are)."""
    return tables.survival_records(ds.records, period=(f.y0, f.y1), approach=approach, site_column=f.site_column,
                                   sexes=None if f.sex == "both" else f.sex_codes, regions=f.region_codes(ds.regions),
                                   site=cubes.ALL_SITES if all_sites else f.site, ages=(f.a0, f.a1))


def survival_filters(f: Filters, *, all_sites: bool = False) -> Filters:
    """The filters survival results depend on: language, theme, standard population and rate CI
    method do not change them (nor the site, for the by-site table), so they are neutralised in
    the cache key and a change of language reuses the computed curves."""
    return dataclasses.replace(f, lang="en", theme="light", std="", ci="",
                               site=cubes.ALL_SITES if all_sites else f.site)


def _survival_groups(data: pd.DataFrame, group: str, parents: dict) -> pd.Series | None:
    from analytics.survival import icss_age_group

    if group == "sex":
        return data["sex"].astype(int)
    if group == "age":
        g = icss_age_group(data["age"]).astype(object)
        return pd.Series(np.where(data["age"].to_numpy() < 15, CHILD_GROUP, g), index=data.index).astype(str)
    if group == "period":
        y = np.floor(data["year"]).astype(int)
        start = y - (y - y.min()) % 5
        labels = {a: f"{a}\u2013{min(a + 4, int(y.max()))}" for a in np.unique(start)}   # one per 5-year period
        return pd.Series(start.to_numpy(), index=data.index).map(labels)
    if group == "region":
        return data[S.REGION].astype(str).map(parents).fillna("")
    return None


def survival_curves(ds: Dataset, f: Filters, group: str, method: str, approach: str, observed: bool,
                    first_primary_only: bool) -> dict:
    """Cached :func:`_survival_curves` keyed on the filters that matter (:func:`survival_filters`)."""
    return _survival_curves(ds, survival_filters(f), group, method, approach, observed, first_primary_only)


def survival_by_site(ds: Dataset, f: Filters, method: str, approach: str, first_primary_only: bool) -> pd.DataFrame:
    """Cached :func:`_survival_by_site` keyed on the filters that matter (every site)."""
    return _survival_by_site(ds, survival_filters(f, all_sites=True), method, approach, first_primary_only)


@by_dataset(max_entries=32)
def _survival_curves(ds: Dataset, f: Filters, group: str, method: str, approach: str, observed: bool,
                     first_primary_only: bool) -> dict:
    """Curves of the selection by ``group`` (none, sex, age, period, region), with follow-up
    completeness per group and the reconciliation of exclusions. Aggregates only."""
    from analytics import survival
    from analytics.survival import registry

    data, recon, by = _grouped_data(ds, f, group, approach, first_primary_only)
    close = _closing_day(ds)
    period = (f.y0, f.y1)
    out = {"reconciliation": recon, "closing_day": close, "curves": pd.DataFrame(), "observed": pd.DataFrame(),
           "completeness": pd.DataFrame(), "at": pd.DataFrame(), "n": len(data)}
    if data.empty:
        return out
    kw = dict(by=by or None, approach=approach, period=period, conf=f.level)
    res = _survival_fits(ds, f, group, method, approach, first_primary_only, _grouped=(data, by))["curve"]
    out["curves"] = _labelled(res)
    out["at"] = res.at(SURVIVAL_TIMES)
    if observed and method != "observed":
        out["observed"] = _labelled(survival.survival_curve(data, None, method="observed",
                                                            max_years=max(SURVIVAL_TIMES), **kw))
    comp_data = data if approach != "period" else data[np.floor(data["year"]) <= f.y1]
    out["completeness"] = registry.completeness(comp_data, closing_day=close, by=by)
    if f.public:       # public output: no curve of fewer than k patients
        sizes = out["completeness"]
        hide = set(sizes.loc[sizes["n"] < PUBLIC_K, "group"]) if by else set()
        for k in ("curves", "observed", "at"):
            frame = out[k]
            if by and len(frame):
                out[k] = frame[~frame["group"].isin(hide)]
            elif not by and len(data) < PUBLIC_K:
                out[k] = frame.iloc[0:0]
        out = _public_survival(out)
    return out


def survival_standardised(ds: Dataset, f: Filters, group: str, method: str, approach: str,
                          first_primary_only: bool) -> pd.DataFrame:
    """Cached :func:`_survival_standardised` keyed on the filters that matter."""
    return _survival_standardised(ds, survival_filters(f), group, method, approach, first_primary_only)


def survival_actuarial(ds: Dataset, f: Filters, group: str, approach: str, first_primary_only: bool) -> pd.DataFrame:
    """Cached :func:`_survival_actuarial` keyed on the filters that matter."""
    return _survival_actuarial(ds, survival_filters(f), group, approach, first_primary_only)


def _grouped_data(ds: Dataset, f: Filters, group: str, approach: str, first_primary_only: bool):
    """The survival data of the selection with its ``group`` column (or none), the reconciliation
    of its exclusions and the ``by`` list. Patient-level: never in Streamlit's caches; kept beside
    the data set (:func:`record_memo`) for the other views of the same rerun (read only): the
    curves, the standardised curve and the actuarial table read the records once."""
    from analytics.survival import registry

    def build():
        data, recon = registry.survival_data(_survival_selection(ds, f, approach, all_sites=False),
                                             first_primary_only=first_primary_only)
        g = _survival_groups(data, group, _parents(ds)) if len(data) else None
        by = ["group"] if g is not None else []
        if g is not None:
            data = data.assign(group=g.to_numpy())
        return data, recon, by

    return record_memo(ds, ("survival_grouped", neutral(f), group, approach, first_primary_only), build)


def _survival_grouped(ds: Dataset, f: Filters, group: str, approach: str, first_primary_only: bool):
    """The survival data of the selection with its ``group`` column (or none), the ``by`` list and
    the groups too small for public output."""
    data, _, by = _grouped_data(ds, f, group, approach, first_primary_only)
    small = set()
    if f.public and len(data):
        sizes = data.groupby(by).size() if by else pd.Series({None: len(data)})
        small = set(sizes[sizes < PUBLIC_K].index)
    return data, by, small


def _public_rows(frame: pd.DataFrame, by: list, small: set, counts: tuple[str, ...]) -> pd.DataFrame:
    if by:
        frame = frame[~frame["group"].isin(small)]
    elif small:
        frame = frame.iloc[0:0]
    return frame.drop(columns=[c for c in counts if c in frame.columns])


@by_dataset(max_entries=32)
def _survival_standardised(ds: Dataset, f: Filters, group: str, method: str, approach: str,
                           first_primary_only: bool) -> pd.DataFrame:
    """The ICSS age-standardised curve of the selection by ``group`` (none, sex, period, region; not
    by age: the age groups are the standard's strata), monthly to 10 years with CIs, by the
    standard of the selected site (``analytics.survival.age_standardised_curve``)."""
    from analytics import survival
    from analytics.survival import standardise

    data, by, small = _survival_grouped(ds, f, group, approach, first_primary_only)
    if data.empty or group == "age":
        return pd.DataFrame(columns=by + ["time", "estimate", "lower", "upper", "se", "standard"])
    # = survival.age_standardised_curve(data, ..., max_years=max(SURVIVAL_TIMES)), fitted beside the curves
    fits = _survival_fits(ds, f, group, method, approach, first_primary_only, _grouped=(data, by))
    out = standardise.standardised_curve(fits["std"], survival.icss_standard(f.site), max_years=max(SURVIVAL_TIMES),
                                         conf=f.level)
    return _public_rows(out, by, small, ("n_risk", "events")) if f.public else out


@by_dataset(max_entries=8)      # full curves of every step: needed by the two views of the same rerun
def _survival_fits(ds: Dataset, f: Filters, group: str, method: str, approach: str,
                   first_primary_only: bool, *, _grouped: tuple[pd.DataFrame, list] | None = None) -> dict:
    """The fitted curves of the selection by ``group`` (``curve``) and, but by age, by ``group`` x ICSS
    age group of the patients aged 15-99 (``std``, the strata of the age-standardised curve), to
    ``max(SURVIVAL_TIMES)`` years: one pass over the patients' expected mortality for both
    (``analytics.survival.survival_curve_sets``). Not shown as such (the curves and the standardised
    curve are); the selection is non-empty. ``_grouped``: the caller's (data, by) of
    :func:`_grouped_data` for the same arguments (not part of the key: derived from them). The
    by-site table of the same selection is fitted meanwhile in a worker process
    (:func:`start_survival_by_site`)."""
    from analytics import survival
    from analytics.survival import standardise

    if _grouped is None:
        data, _, by = _grouped_data(ds, f, group, approach, first_primary_only)
    else:
        data, by = _grouped
    data = data.assign(**{standardise.ICSS_COLUMN: standardise.icss_age_group(data["age"])})
    sets = [(by, None)]
    if group != "age":
        sets.append((by + [standardise.ICSS_COLUMN], data[standardise.ICSS_COLUMN].notna().to_numpy()))
    fits = survival.survival_curve_sets(data, ds.lifetable if method != "observed" else None, sets, method=method,
                                        conf=f.level, approach=approach, period=(f.y0, f.y1),
                                        max_years=max(SURVIVAL_TIMES))
    return {"curve": fits[0], "std": fits[1] if len(fits) > 1 else None}


ACTUARIAL_COUNTS = ("n_entering", "entered", "deaths", "censored", "n_effective")


@by_dataset(max_entries=32)
def _survival_actuarial(ds: Dataset, f: Filters, group: str, approach: str, first_primary_only: bool) -> pd.DataFrame:
    """Observed survival of the selection by ``group`` by the actuarial method, yearly intervals to
    10 years (``analytics.survival.actuarial``); public output without the counts."""
    from analytics import survival

    data, by, small = _survival_grouped(ds, f, group, approach, first_primary_only)
    if data.empty:
        return pd.DataFrame(columns=by + ["start", "end", "q", "estimate", "lower", "upper", "se"])
    out = survival.actuarial(data, width=1.0, max_years=max(SURVIVAL_TIMES), by=by or None, conf=f.level,
                             approach=approach, period=(f.y0, f.y1))
    return _public_rows(out, by, small, ACTUARIAL_COUNTS) if f.public else out


SURVIVAL_COUNTS = ("n_risk", "events", "n", "deaths", "n_lost")
MONTH_DAYS = 365.25 / 12


def _public_survival(out: dict) -> dict:
    """Survival in public output: curves read on a monthly grid (no day of an individual death),
    no exact counts (patients, deaths, at risk, lost: exact counts of free age ranges and periods
    could be differenced), no reconciliation; percentages only (``n`` stays in the completeness
    table as the weight of each group's percentages; the page does not show it)."""
    for k in ("curves", "observed"):
        c = out[k]
        if not len(c):
            continue
        parts = []
        for _, g in c.groupby("stratum", sort=False):
            g = g.sort_values("time")
            grid = pd.DataFrame({"time": np.arange(0.0, float(g["time"].max()) + MONTH_DAYS, MONTH_DAYS)})
            step = pd.merge_asof(grid, g.drop(columns=["time"]).assign(_t=g["time"].to_numpy(float)),
                                 left_on="time", right_on="_t", direction="backward").drop(columns="_t")
            first = g.iloc[0]
            for col in ("stratum", "group"):
                if col in g.columns:
                    step[col] = first[col]
            parts.append(step.dropna(subset=["estimate"]))
        out[k] = pd.concat(parts, ignore_index=True).drop(columns=[c_ for c_ in SURVIVAL_COUNTS if c_ in c.columns])
    out["at"] = out["at"].drop(columns=[c for c in SURVIVAL_COUNTS if c in out["at"].columns])
    comp = out["completeness"]
    out["completeness"] = comp.drop(columns=[c for c in ("deaths", "n_lost") if c in comp.columns])
    out["reconciliation"] = out["reconciliation"].iloc[0:0]
    return out


def _labelled(res) -> pd.DataFrame:
    c = res.curve
    if res.by:
        c = c.merge(res.strata.reset_index(names="stratum"), on="stratum", how="left")
    return c


def _closing_day(ds: Dataset) -> int:
    """The registry's closing date: the latest date of last contact or death."""
    last = pd.to_datetime(ds.records[S.LAST_CONTACT], errors="coerce").max()
    return int(np.datetime64(last.date(), "D").astype(np.int64)) if pd.notna(last) else 0


def start_survival_by_site(ds: Dataset, f: Filters, method: str, approach: str, first_primary_only: bool) -> None:
    """Start fitting the by-site table of the selection in a worker process (:func:`_survival_by_site_job`),
    if it is not made or under way: the Survival page calls this before it fits its curves, so the
    table's four stratifications (most of a new selection's fitting) take the other core meanwhile
    instead of following the curves on this process's GIL. :func:`survival_by_site` takes the result."""
    _survival_by_site_job(ds, survival_filters(f, all_sites=True), method, approach, first_primary_only)


@by_dataset(resource=True, max_entries=32, validate=lambda job: not jobs.lost(job))
def _survival_by_site_job(ds: Dataset, f: Filters, method: str, approach: str, first_primary_only: bool) -> jobs.Job:
    """``analytics.tables.survival_by_site`` of the selection as a job of the process pool (once per
    data set and selection, shared by every session): the patients are selected here and sent with
    the columns the fits read only (no identifiers)."""
    from analytics.survival import registry
    from analytics.survival.base import REQUIRED

    data, _ = registry.survival_data(_survival_selection(ds, f, approach, all_sites=True),
                                     first_primary_only=first_primary_only)
    read = dict.fromkeys((*REQUIRED, S.REGION, f.site_column))     # what the fits read (survival.base.prepare)
    data = data[[c for c in read if c in data.columns]]
    return process_pool().submit("survival by site", tables.survival_by_site_of, data,
                                 ds.lifetable if method != "observed" else None, site_column=f.site_column,
                                 period=(f.y0, f.y1), method=method, approach=approach, conf=f.level,
                                 k=PUBLIC_K if f.public else None)


@by_dataset(max_entries=32)
def _survival_by_site(ds: Dataset, f: Filters, method: str, approach: str, first_primary_only: bool) -> pd.DataFrame:
    """Survival at 1, 3, 5 and 10 years by site of the selection: the result of its worker job."""
    return _awaited(lambda: _survival_by_site_job(ds, f, method, approach, first_primary_only), jobs.value)


# --- long builds ---------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def worker_pool():
    """The process's pool for long builds (reports, fact sheets): they run beside the sessions'
    reruns instead of inside one, so no user waits for another's document. Two workers: at most
    two documents are built at once, others queue."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="document")


PROCESS_WORKERS = 2      # computations at once (2 cores); more queue


@st.cache_resource(show_spinner=False)
def process_pool() -> jobs.ProcessPool:
    """The process's pool of worker *processes* for computations that hold the GIL for long
    (permutation tests): a session waiting for one releases the GIL, so the other sessions'
    reruns go on (``app_support.jobs``). Workers start on demand, forked from the ingest fork
    server."""
    from analytics.ingest import sandbox

    return jobs.ProcessPool(PROCESS_WORKERS, sandbox.worker_context())


# --- rendered images: figures drawn by the export browser once per process ----------------------
IMAGE_ENTRIES = 64     # a PNG is 0.05-0.4 MB: the store stays below ~25 MB
_IMAGES: OrderedDict[tuple, Future] = OrderedDict()
_IMAGES_LOCK = threading.Lock()


@functools.cache
def _image_pool() -> ThreadPoolExecutor:
    from analytics import export

    # one worker per export tab: more would only queue inside the browser
    return ThreadPoolExecutor(max_workers=export.EXPORT_TABS, thread_name_prefix="image")


def figure_digest(fig: Any) -> str:
    """A figure (``go.Figure`` or its dict) by content, for the key of its image."""
    import plotly.io as pio

    return hashlib.sha256(pio.to_json(fig, validate=False).encode()).hexdigest()


def rendered(token: str, key: tuple, render: Callable[[], bytes], *, background: bool = True) -> Future:
    """The image ``render()`` draws, drawn once per process for the dataset ``token`` and ``key``
    (everything the image depends on: the figure by :func:`figure_digest`, format, size, scale,
    footer text — its date included —, theme) and shared by every session; the last
    :data:`IMAGE_ENTRIES` are kept. ``background``: drawn by the image pool (the caller goes on
    and waits on the future when it needs the bytes), else drawn now in the calling thread. A
    render that failed is tried again by the next call."""
    full = (token,) + tuple(key_part(k) for k in key)
    with _IMAGES_LOCK:
        fut = _IMAGES.get(full)
        if fut is not None and not (fut.done() and (fut.cancelled() or fut.exception() is not None)):
            _IMAGES.move_to_end(full)
            return fut
        fut = _image_pool().submit(render) if background else Future()
        _IMAGES[full] = fut
        while len(_IMAGES) > IMAGE_ENTRIES:
            _IMAGES.popitem(last=False)
    if not background:
        try:
            fut.set_result(render())
        except Exception as exc:     # noqa: BLE001 - every waiter gets the error; the next call draws again
            fut.set_exception(exc)
        except BaseException as exc:     # interrupted (a stopped run): the others must not wait forever
            fut.set_exception(RuntimeError("the image was not drawn: its run was interrupted"))
            raise exc
    return fut


def slide_image(token: str, figure: Any) -> Future:
    """The PNG of a deck's slide (``analytics.export.slide_images``), started in the background:
    "Add to presentation" calls it so the PowerPoint download only assembles the slides."""
    from analytics import export

    return rendered(token, ("slide", figure_digest(figure), export.SLIDE_THEME, export.SLIDE_DPI),
                    lambda: export.slide_images([figure])[0])


def figure_image(token: str, fig: Any, fmt: str, width: int, height: int, scale: float | None, provenance: Any,
                 lang: str, theme: str | None = None) -> bytes:
    """A figure's PNG/SVG/PDF download (``analytics.export.figure_to_image``), drawn once per
    process for the same figure, size, scale, footer and theme; drawn in the calling thread."""
    from analytics import export

    import datetime as dt

    footer = provenance.text(lang) if hasattr(provenance, "text") else provenance
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()     # a footer without a date gets today's
    key = ("figure", figure_digest(fig), fmt, width, height, scale, footer, today, lang, theme)
    return rendered(token, key, lambda: export.figure_to_image(fig, fmt, width=width, height=height, scale=scale,
                                                               provenance=provenance, lang=lang, theme=theme),
                    background=False).result()

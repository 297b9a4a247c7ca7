"""The one place for caching: every ``st.cache_*`` of the app lives here.

Every cached function is declared with :func:`by_dataset`, whose key always holds the dataset
token (``Dataset.token``: "demo", or a hash of every file of the session's upload) — so no
result of one data set, or of one user's upload, can ever be served for another. The data
themselves go in unhashed; every other argument is hashed by value (a ``Filters`` by its
fields, a DataFrame by its content); keyword arguments starting with ``_`` are passed through
unhashed (then their identity must already be in the key, e.g. a table's token).

Flow: records -> :mod:`analytics.cube` (built once per dataset and site list) -> rate inputs of a
selection -> ``analytics.rates`` results (public-output mode applied here).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from analytics import cube as cubes
from analytics import disclosure, mortality, rates, sites
from analytics import schema as S
from app_support.filters import PUBLIC_K, Filters
from app_support.state import Dataset

log = logging.getLogger(__name__)
SITE = cubes.SITE
DSR_COLUMNS = ["count", "population", "crude_rate", "value", "se", "lower", "upper", "flag"]


# --- the key helper ---------------------------------------------------------------------
def _frame_digest(df: pd.DataFrame) -> str:
    h = hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    h.update(repr(list(map(str, df.columns))).encode())
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
    raise TypeError(f"cache key: a {type(value).__name__} cannot be hashed by value; pass it as a keyword "
                    "argument starting with '_' and put its identity (a token) in another argument")


def dataset_key(ds: Dataset, *parts: Any) -> tuple:
    """The key of a cached result: the dataset token first, then ``parts`` by value."""
    return (ds.token,) + tuple(key_part(p) for p in parts)


def by_dataset(*, max_entries: int = 64, resource: bool = False) -> Callable:
    """Decorator: cache ``fn(ds, *args, **kwargs)`` per process under :func:`dataset_key`.

    ``resource=True`` shares one object between sessions (``st.cache_resource``: never mutate
    it); otherwise every caller gets its own copy (``st.cache_data``)."""
    def deco(fn: Callable) -> Callable:
        def run(key: tuple, _ds: Dataset, _args: tuple, _kwargs: dict):
            return fn(_ds, *_args, **_kwargs)

        # a distinct qualified name gives each function its own store (Streamlit keys a
        # function's cache by module, qualified name and source)
        run.__qualname__ = f"{fn.__qualname__}.<cached>"
        run.__module__ = fn.__module__
        store = (st.cache_resource if resource else st.cache_data)(show_spinner=False, max_entries=max_entries)(run)

        @functools.wraps(fn)
        def wrapper(ds: Dataset, *args, **kwargs):
            hashed = {k: v for k, v in kwargs.items() if not k.startswith("_")}
            key = dataset_key(ds, fn.__qualname__, args, hashed)
            return store(key, ds, args, kwargs)

        wrapper.clear = store.clear
        return wrapper
    return deco


# --- cubes and rate inputs -----------------------------------------------------------------
def _parents(ds: Dataset) -> dict[str, str]:
    return dict(zip(ds.regions[S.REGION].astype(str), ds.regions[S.PARENT].astype(str)))


@by_dataset(resource=True, max_entries=8)
def mortality_events(ds: Dataset, site_column: str) -> mortality.MortalityEvents:
    """The data set's deaths as counted events (``analytics.mortality``): its vital-statistics
    deaths table, or deaths derived from its records when it has none; with the account of every
    death read (districts checked against the regions table, years against the population's)."""
    years = ds.population[S.YEAR].dropna().astype(int).unique() if ds.population is not None else None
    return mortality.mortality_events(ds.records, site_column, deaths=ds.registry.deaths,
                                      regions=ds.regions[S.REGION].astype(str), years=years)


@by_dataset(resource=True, max_entries=8)
def cube(ds: Dataset, site_column: str, strategy: str = "auto", *, measure: str = mortality.INCIDENCE) -> cubes.Cube:
    """Counted tumours (``measure="incidence"``) or deaths (``"mortality"``, from
    :func:`mortality_events`) by year, sex, district, age group and site (``analytics.cube``),
    shared read-only by every session on this data set."""
    if measure not in mortality.MEASURES:
        raise ValueError(f"measure must be one of {mortality.MEASURES}, got {measure!r}")
    if measure == mortality.MORTALITY:
        events = mortality_events(ds, site_column).events
    else:
        events = cubes.events_from_records(ds.records, site_column)
    return cubes.build_cube(events, ds.population, _parents(ds), strategy=strategy)


def selection(ds: Dataset, f: Filters, sexes: tuple[int, ...] | None = None) -> cubes.Selection:
    """The sidebar's selection as an ``analytics.cube.Selection``."""
    return f.selection(ds.regions, sexes=sexes)


@by_dataset(max_entries=256)
def _rate_input(ds: Dataset, f: Filters, by: tuple[str, ...], all_sites: bool, sexes) -> pd.DataFrame:
    return cube(ds, f.site_column, measure=f.measure).select(selection(ds, f, sexes), by, all_sites=all_sites)


def rate_input(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, all_sites: bool = False,
               sexes: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Cases and person-years by ``by`` + age group for the selection (input of ``rates.dsr``).

    ``by`` may hold ``site``, ``sex``, ``year``, ``region_code``, ``parent_code``. With ``site``
    in ``by`` every site of the scheme is kept (the site filter is ignored); ``sexes`` overrides
    the sex filter (e.g. (1, 2) for a men-vs-women chart).
    """
    return _rate_input(ds, f, tuple(by), all_sites, tuple(sexes) if sexes else None)


def suppress(table: pd.DataFrame) -> pd.DataFrame:
    """Public output mode: ``analytics.disclosure.suppress`` with the app's threshold."""
    return disclosure.suppress(table, k=PUBLIC_K)


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
        return sites.blank_other_sex(res)
    out = sites.blank_other_sex(res.assign(**added))
    return out.drop(columns=list(added)) if out is not res else res


@by_dataset(max_entries=256)
def _dsr(ds: Dataset, f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    data = _rate_input(ds, f, by, False, sexes)
    if data.empty:
        return pd.DataFrame(columns=list(by) + DSR_COLUMNS)
    res = rates.dsr(data, standard=f.std, by=list(by) or None, method=f.ci, conf=f.level)
    res = blank_other_sex(res, f, by, sexes)      # prostate in women: no rate (NaN with its reason), not 0.0
    return suppress(res) if f.public else res


def dsr(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes: tuple[int, ...] | None = None) -> pd.DataFrame:
    """``analytics.rates.dsr`` over the selection, grouped by ``by`` (cached)."""
    return _dsr(ds, f, tuple(by), tuple(sexes) if sexes else None)


@by_dataset(max_entries=256)
def _cumrisk(ds: Dataset, f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    data = _rate_input(ds, f, by, False, sexes)
    method = f.ci if f.ci in ("tiwari", "fay_feuer") else "tiwari"
    return blank_other_sex(rates.cumulative_risk(data, by=list(by) or None, age=S.AGE_GROUP, method=method,
                                                 conf=f.level), f, by, sexes)


def cumulative_risk(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes=None) -> pd.DataFrame:
    """Cumulative risk 0-74 (%) over the selection (``analytics.rates.cumulative_risk``); not
    defined (NaN, shown as a dash) when the age range starts at 75 or above."""
    if not by and f.a0 > 74:
        return pd.DataFrame({"cum_rate": [np.nan], "cum_risk": [np.nan]})
    return _cumrisk(ds, f, tuple(by), tuple(sexes) if sexes else None)


@by_dataset(max_entries=64)
def _age_specific(ds: Dataset, f: Filters, by: tuple[str, ...], sexes) -> pd.DataFrame:
    data = _rate_input(ds, f, by, False, sexes)
    out = blank_other_sex(rates.age_specific(data, by=list(by) or None, conf=f.level), f, by, sexes)
    return suppress(out) if f.public else out


def age_specific(ds: Dataset, f: Filters, by: tuple[str, ...] = (), *, sexes=None) -> pd.DataFrame:
    """Age-specific rates per 100,000 (``analytics.rates.age_specific``) over the selection."""
    return _age_specific(ds, f, tuple(by), tuple(sexes) if sexes else None)


@by_dataset(max_entries=64)
def ci5_table(ds: Dataset, f: Filters, sex: int) -> pd.DataFrame:
    """The CI5 / CanReg5 incidence table for one sex: cases by age group, crude rate, ASR,
    cumulative risk 0-74 and % of all sites, one row per site group."""
    counts = _rate_input(ds, f, (S.SEX, SITE), False, (sex,))[[S.SEX, SITE, S.AGE_GROUP, S.COUNT]]
    pop = _rate_input(ds, f, (S.SEX,), True, (sex,))
    pop = pop[pop[S.AGE_GROUP].notna()][[S.SEX, S.AGE_GROUP, S.POPULATION]]
    c44 = cube(ds, f.site_column, measure=f.measure).c44_sites
    out = sites.blank_other_sex(rates.ci5_table(counts, pop, site=SITE, standard=f.std,
                                                total_excludes=tuple(c44) if f.site == cubes.ALL_BUT_C44 else ()))
    if not f.public:
        return out
    out = suppress(out.rename(columns={"all_ages": "count"})).rename(columns={"count": "all_ages"})
    # the age-group cells are counts too: primary suppression of each small cell
    for col in [c for c in out.columns if c in S.AGE_GROUPS or c == "unknown_age"]:
        v = pd.to_numeric(out[col], errors="coerce")
        out[col] = v.where(~((v > 0) & (v < PUBLIC_K)))
    return out


@by_dataset(max_entries=64)
def population_pyramid(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Average annual population by sex and age group over the selection."""
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
    the data-quality indicator of ``analytics.quality``); in public output, strata with fewer
    than k deaths or cases are suppressed (and their ratio with them)."""
    out = mortality.mi_ratio(ds.records, mortality_events(ds, f.site_column), f.site_column, selection(ds, f),
                             by, parents=_parents(ds))
    if not f.public:
        return out
    first = disclosure.suppress(out, k=PUBLIC_K, count="deaths", derived=["mi_ratio"])
    second = disclosure.suppress(first.drop(columns=["suppressed", "suppression"]), k=PUBLIC_K, count="cases",
                                 derived=["mi_ratio", "deaths"])
    second["suppressed"] = first["suppressed"].to_numpy() | second["suppressed"].to_numpy()
    second["suppression"] = np.where(second["suppressed"], disclosure.PRIMARY, "")
    return second


# --- sidebar options -------------------------------------------------------------------------
@by_dataset(max_entries=16)
def filter_options(ds: Dataset) -> dict:
    """Years, site lists, economic regions and districts of the data set, for the sidebar."""
    from app_support.filters import ALL_BUT_C44, ALL_SITES, SCHEMES

    rec = ds.records
    years = sorted(int(y) for y in ds.population[S.YEAR].dropna().unique())
    out = {"years": (years[0], years[-1]) if years else (2000, 2000)}
    counted = rec[S.INCLUDED].fillna(False).astype(bool)
    for scheme, col in SCHEMES.items():
        labels = rec.loc[counted, col].dropna().astype(str)
        out[scheme] = [ALL_SITES, ALL_BUT_C44] + sorted(labels.unique().tolist())
    regions = ds.regions
    out["er"] = ["all"] + sorted(x for x in regions[S.PARENT].unique() if x)
    out["er_names"] = dict(zip(regions[S.PARENT], regions[S.PARENT_NAME]))
    out["er_names_en"] = dict(zip(regions[S.PARENT], regions["parent_name_en"]))
    out["districts"] = regions[[S.REGION, S.REGION_NAME, S.PARENT]].sort_values(S.REGION_NAME).values.tolist()
    return out


# --- maps and risk factors -------------------------------------------------------------------
@by_dataset(resource=True, max_entries=8)
def level_geometry(ds: Dataset, level: str, lang: str):
    """Regions at ``level`` (districts, or economic regions dissolved from them; the code column
    keeps the level's name), their contiguity weights and the GeoJSON (code as region_code)."""
    from analytics import spatial
    from analytics.charts import maps as mc

    g = ds.geo
    if level == S.PARENT:
        name = S.PARENT_NAME if lang == "az" or "parent_name_en" not in g.columns else "parent_name_en"
        g = spatial.dissolve_regions(g)[[S.PARENT, name, "geometry"]].rename(columns={name: S.REGION_NAME})
    else:
        g = g[[S.REGION, S.REGION_NAME, "geometry"]]
    w = spatial.contiguity_weights(g, key=level)
    g = g.reset_index(drop=True)
    return g, w, mc.geojson_of(g.rename(columns={level: S.REGION}) if level != S.REGION else g)


@by_dataset(max_entries=64)
def regional_measures(ds: Dataset, f: Filters, level: str, ref: str = "national", ref_token: str = "", *,
                      _ref_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Regional measures (``analytics.spatial.regional_measures``); the SIR's reference is the
    pooled national rates, the district's own economic region (rates pooled within it), or the
    user's table of age(/sex)-specific rates (``ref="user"``; ``ref_token`` identifies it)."""
    from analytics import spatial

    _, w, _ = level_geometry(ds, level, f.lang)
    k = PUBLIC_K if f.public else 0
    kw = dict(standard=f.std, w=w, region=level, conf=f.level, suppress_below=k,
              unreliable_below=max(10, k), ci_method=f.ci)
    if ref == "economic" and level == S.REGION:
        data = rate_input(ds, f, by=(level,))
        parent = ds.regions.drop_duplicates(S.REGION).set_index(S.REGION)[S.PARENT]
        data = data.assign(**{S.PARENT: data[S.REGION].map(parent).to_numpy()})
        return spatial.regional_measures(data, data, reference_within=S.PARENT, **kw)
    if ref == "user" and _ref_table is not None:
        by = (level, S.SEX) if S.SEX in _ref_table.columns else (level,)
        data = rate_input(ds, f, by=by)
        if S.SEX in data.columns:
            data = data.astype({S.SEX: "Int8"})
        return spatial.regional_measures(data, data, reference=_ref_table, **kw)
    data = rate_input(ds, f, by=(level,))
    return spatial.regional_measures(data, data, **kw)


@by_dataset(max_entries=64)
def clusters(ds: Dataset, f: Filters, level: str, ref: str = "national", ref_token: str = "", *,
             _ref_table: pd.DataFrame | None = None):
    """Moran's I (empirical Bayes) and LISA of the regional counts against their expected."""
    from analytics import spatial

    _, w, _ = level_geometry(ds, level, f.lang)
    m = regional_measures(ds, f, level, ref, ref_token, _ref_table=_ref_table)
    ok = m.set_index(level)
    cases, expected = ok["cases"].fillna(0.0), ok["expected"]
    return (spatial.moran(cases, w, population=expected, permutations=999),
            spatial.lisa(cases, w, population=expected, permutations=999, seed=12345))


@by_dataset(max_entries=16)
def wide_risk_factors(ds: Dataset, level: str) -> pd.DataFrame:
    """One column per risk-factor indicator (the latest year when several are given); at
    economic-region level the population-weighted mean of the districts."""
    from analytics import spatial

    d = ds.risk_factors
    if S.YEAR in d.columns and d[S.YEAR].notna().any():
        d = d.sort_values(S.YEAR).groupby([S.REGION, S.INDICATOR], observed=True).tail(1)
    if level == S.PARENT:
        d = spatial.aggregate_risk_factors(d, ds.regions, ds.population).rename(columns={S.PARENT: S.REGION})
    out = d.pivot_table(index=S.REGION, columns=S.INDICATOR, values=S.VALUE, aggfunc="mean")
    out.columns = [str(c) for c in out.columns]
    return out


# --- trends, prevalence, quality, projections ---------------------------------------------------
@by_dataset(max_entries=64)
def joinpoint_fit(ds: Dataset, data: pd.DataFrame, series: str | None, selection: str, max_jp: str,
                  weighted: bool, conf: float):
    """Joinpoint fits of ``data`` (rates per year, by ``series``): segments, fitted values, AAPCs."""
    from analytics.trends import joinpoint_table

    by = [series] if series else None
    kw = dict(selection=selection, conf=conf, max_joinpoints=None if max_jp == "auto" else int(max_jp))
    segs, fitted, results = joinpoint_table(data, by=by, year="year", rate="value",
                                            se="se" if weighted else None, **kw)
    aapc = []
    for key, res in results.items():
        a, lo, hi = res.aapc(conf=conf)
        row = {"segment": "AAPC", "start": res.year.min(), "end": res.year.max(), "apc": a, "lower": lo,
               "upper": hi, "joinpoints": ", ".join(f"{j:g}" for j in res.joinpoints), "note": ""}
        if series:
            row[series] = key[0]
        aapc.append(row)
    return segs, fitted, pd.DataFrame(aapc)


@by_dataset(max_entries=32)
def prevalence(ds: Dataset, regions: tuple | None, site_col: str, year: int, counting: str, adjust: bool,
               std: str, conf: float, ages: tuple | None) -> pd.DataFrame:
    """Limited-duration prevalence at 31 December of ``year`` (``analytics.prevalence``)."""
    from analytics.prevalence import prevalence as compute

    rec, pop = ds.records, ds.population
    if regions is not None:
        rec = rec[rec[S.REGION].astype(str).isin(regions)]
        pop = pop[pop[S.REGION].astype(str).isin(regions)]
    out = compute(rec, pop, index_date=f"{year}-12-31", by=[site_col, S.SEX], counting=counting,
                  adjust_lost=adjust, standard=std, conf=conf, ages=list(ages) if ages else None)
    out = sites.blank_other_sex(out, site=site_col)
    out.attrs = dict(out.attrs)
    return out


@by_dataset(max_entries=64)
def quality_indicators(ds: Dataset, f: Filters, column: str) -> pd.DataFrame:
    """Data-quality indicators (``analytics.quality.indicators``) of the selection by ``column``."""
    from analytics import quality

    records = selected_records(ds, f, True)
    if column == S.PARENT:
        records = records.assign(**{S.PARENT: records[S.REGION].astype(str).map(_parents(ds))})
    deaths = ds.registry.deaths
    return quality.indicators(records, by=(column,), deaths=deaths if column in (S.YEAR, S.REGION) else None)


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
        notes.append((sex, res.periods_used, res.drift_used, res.recent))
    return pd.concat(out, ignore_index=True), notes


# --- survival (analytics.survival) ----------------------------------------------------------
SURVIVAL_TIMES = (1, 3, 5, 10)
SURVIVAL_GROUPS = ("none", "sex", "age", "period", "region")
CHILD_GROUP = "0-14"


def _survival_selection(ds: Dataset, f: Filters, approach: str, all_sites: bool) -> pd.DataFrame:
    """Records of the sidebar's selection for survival (not cached: records never are). The period
    is the diagnosis years (cohort, complete) or the follow-up window (period approach)."""
    r = ds.records
    m = pd.Series(True, index=r.index)
    year = pd.to_numeric(r[S.YEAR], errors="coerce")
    m &= (year <= f.y1).fillna(False) if approach == "period" else year.between(f.y0, f.y1).fillna(False)
    if f.sex != "both":
        m &= r[S.SEX].isin(f.sex_codes).fillna(False)
    codes = f.region_codes(ds.regions)
    if codes is not None:
        m &= r[S.REGION].astype(str).isin(codes)
    if not all_sites:
        if f.site == cubes.ALL_BUT_C44:
            m &= ~r[S.ICD10].astype(str).str.startswith("C44")
        elif f.site != cubes.ALL_SITES:
            m &= (r[f.site_column] == f.site).fillna(False)
    age = pd.to_numeric(r[S.AGE], errors="coerce")
    top = np.inf if f.a1 >= 85 else f.a1 + 5
    m &= (age >= f.a0).fillna(True) & (age < top).fillna(True)     # unknown age: its own exclusion line
    return r.loc[m]


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

    rec = _survival_selection(ds, f, approach, all_sites=False)
    data, recon = registry.survival_data(rec, first_primary_only=first_primary_only)
    close = _closing_day(ds)
    period = (f.y0, f.y1)
    out = {"reconciliation": recon, "closing_day": close, "curves": pd.DataFrame(), "observed": pd.DataFrame(),
           "completeness": pd.DataFrame(), "at": pd.DataFrame(), "n": len(data)}
    if data.empty:
        return out
    g = _survival_groups(data, group, _parents(ds))
    by = ["group"] if g is not None else []
    if g is not None:
        data = data.assign(group=g.to_numpy())
    kw = dict(by=by or None, approach=approach, period=period, conf=f.level)
    lt = ds.lifetable if method != "observed" else None
    res = survival.survival_curve(data, lt, method=method, max_years=max(SURVIVAL_TIMES), **kw)
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


@by_dataset(max_entries=32)
def _survival_by_site(ds: Dataset, f: Filters, method: str, approach: str, first_primary_only: bool) -> pd.DataFrame:
    """Survival at 1, 3, 5 and 10 years by site of the selection (sex, region, period, ages), with the
    ICSS age-standardised value of each site (its own standard, Corazziari et al. 2004) and all sites."""
    from analytics import survival
    from analytics.survival import registry, standardise

    rec = _survival_selection(ds, f, approach, all_sites=True)
    data, _ = registry.survival_data(rec, first_primary_only=first_primary_only)
    site = f.site_column
    cols = ["site", "time", "estimate", "lower", "upper", "n_risk", "events", "std_estimate", "std_lower",
            "std_upper", "standard", "n"]
    if data.empty:
        return pd.DataFrame(columns=cols)
    counts = data[site].value_counts()
    data = data[data[site].isin(counts[counts >= PUBLIC_K].index)] if f.public else data
    lt = ds.lifetable if method != "observed" else None
    kw = dict(times=SURVIVAL_TIMES, method=method, approach=approach, period=(f.y0, f.y1), conf=f.level)
    crude = survival.net_survival(data, lt, by=[site], **kw).rename(columns={site: "site"})
    every = survival.net_survival(data, lt, **kw).assign(site=cubes.ALL_SITES)
    adults = data[(data["age"] >= 15) & (data["age"] < 100)]
    adults = adults.assign(**{standardise.ICSS_COLUMN: standardise.icss_age_group(adults["age"])})
    spec = survival.net_survival(adults, lt, by=[site, standardise.ICSS_COLUMN], **kw)
    std_parts = []
    for name in standardise.ICSS_WEIGHTS:
        part = spec[spec[site].map(standardise.icss_standard) == name]
        if len(part):
            std_parts.append(standardise.standardise(part, name, by=[site], age=standardise.ICSS_COLUMN, conf=f.level)
                             .assign(standard=name))
    spec_all = survival.net_survival(adults, lt, by=[standardise.ICSS_COLUMN], **kw)
    std_parts.append(standardise.standardise(spec_all, "ICSS1", age=standardise.ICSS_COLUMN, conf=f.level)
                     .assign(standard="ICSS1", **{site: cubes.ALL_SITES}))
    std = pd.concat(std_parts, ignore_index=True).rename(columns={site: "site", "estimate": "std_estimate",
                                                                  "lower": "std_lower", "upper": "std_upper"})
    out = pd.concat([every, crude], ignore_index=True).merge(
        std[["site", "time", "std_estimate", "std_lower", "std_upper", "standard"]], on=["site", "time"], how="left")
    n = data[site].value_counts()
    out["n"] = out["site"].map(n).fillna(len(data)).astype(int)
    return out[cols]

"""The tables the dashboard's pages and the documents (:mod:`analytics.report`) both show.

One implementation per number: a page (through ``app_support.cache``) and the annual report call
the same function here on the same cube selection, so the CI5 table, the rates by site, the
regional ASR table, the quality indicators, the region profile, the joinpoint fits and the
prevalence view are computed once, the same way, wherever they are printed.

Public output (disclosure control) is decided here too, once for the pages and the documents:
every count comes from ``analytics.disclosure.PerturbedCube`` (cell-key perturbation, the
caller passes the perturbed cube or its selections), every statistic is computed from those
published counts, and :func:`protect` withholds published counts below ``rule.k`` with what
derives from them (``rule``: the ``analytics.disclosure.DisclosureRule`` in force, None for
internal output). docs/methods.md section 8.1.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analytics import disclosure, rates, sites
from analytics import schema as S
from analytics.cube import ALL_BUT_C44, SITE, Cube, Selection
from analytics.disclosure import PerturbedCube
from analytics.narrative import NOT_RANKED  # residual groups are never ranked (one definition)

log = logging.getLogger(__name__)

PUBLIC_K = 10   # primary suppression threshold of public output (methods sheet section 8)
DSR_COLUMNS = ["count", "population", "crude_rate", "value", "se", "lower", "upper", "flag"]


# --- disclosure -----------------------------------------------------------------------------
Rule = disclosure.DisclosureRule


def protect(table: pd.DataFrame, rule: Rule | None, **kwargs) -> pd.DataFrame:
    """Public output: ``analytics.disclosure.protect`` with ``rule`` (published counts below
    ``rule.k`` withheld with the statistics derived from them); None: unchanged."""
    return table if rule is None else disclosure.protect(table, rule, **kwargs)


def selection_counts(cube: Cube | PerturbedCube, selection: Selection, by: Sequence[str] = (), *, all_sites: bool = False) -> pd.DataFrame:
    """A cube's rate input of ``selection`` by ``by`` (``Cube.select`` or, for public output,
    ``PerturbedCube.select``: published counts), without the record keys' sums."""
    return cube.select(selection, tuple(by), all_sites=all_sites).drop(columns=[disclosure.KEY_SUM], errors="ignore")


# --- rates over a cube selection ----------------------------------------------------------------
def dsr_table(data: pd.DataFrame, by: Sequence[str] = (), *, standard: str, method: str, conf: float,
              rule: Rule | None = None) -> pd.DataFrame:
    """``rates.dsr`` of a rate input (``Cube.select``) grouped by ``by``, protected with ``rule``. With
    site and sex in ``by``, a sex-specific site has no rate for the other sex (NaN with its reason,
    ``analytics.sites.blank_other_sex``), not 0.0."""
    by = list(by)
    if data.empty:
        return pd.DataFrame(columns=by + DSR_COLUMNS)
    res = sites.blank_other_sex(rates.dsr(data, standard=standard, by=by or None, method=method, conf=conf))
    return protect(res, rule)


CUM_RISK_MAX_AGE = 74
CUM_RISK_COLUMNS = ["count", "unknown_age", "cum_rate", "cum_rate_se", "cum_risk", "se", "lower", "upper", "flag"]


def cumulative_risk_table(data: pd.DataFrame, by: Sequence[str] = (), *, method: str, conf: float,
                          rule: Rule | None = None) -> pd.DataFrame:
    """Cumulative risk 0-74 (%) of a rate input; limits by Tiwari unless ``method`` is Fay-Feuer;
    with ``rule``, withheld with its count (ages 0-74) when that is below k.

    A selection of ages that all start after 74 has no cumulative risk 0-74: its rows are
    missing values (shown as such), not an error."""
    from analytics.strata import age_axis

    method = method if method in ("tiwari", "fay_feuer") else "tiwari"
    known = data[data[S.AGE_GROUP].notna()]
    if len(known) and not (age_axis(known, S.AGE_GROUP).start <= CUM_RISK_MAX_AGE).any():
        keys = data[list(by)].drop_duplicates().reset_index(drop=True) if by else pd.DataFrame(index=[0])
        return keys.assign(**{c: ("" if c == "flag" else np.nan) for c in CUM_RISK_COLUMNS})
    return protect(sites.blank_other_sex(rates.cumulative_risk(data, by=list(by) or None, age=S.AGE_GROUP,
                                                               method=method, conf=conf, max_age=CUM_RISK_MAX_AGE)),
                   rule)


def age_specific_table(data: pd.DataFrame, by: Sequence[str] = (), *, conf: float,
                       rule: Rule | None = None) -> pd.DataFrame:
    """Age-specific rates per 100,000 of a rate input (the other sex of a sex-specific site blank),
    protected with ``rule``."""
    return protect(sites.blank_other_sex(rates.age_specific(data, by=list(by) or None, conf=conf)), rule)


def ci5_table(cube: Cube | PerturbedCube, selection: Selection, sex: int, *, standard: str,
              rule: Rule | None = None) -> pd.DataFrame:
    """The CI5 / CanReg5 incidence table of one sex: cases by age group, crude rate, ASR,
    cumulative risk 0-74 and % of all sites, one row per site group (``analytics.ci5_table``).

    ``cube``: an ``analytics.cube`` cube, or for public output its ``PerturbedCube`` with the
    ``rule`` in force: every figure is then computed from the published counts, and each age
    cell, unknown-age cell and all-ages count below k is withheld ("<k"), the row's rates with
    its all-ages count. The total leaves out non-melanoma skin when the selection is "all sites
    but C44"."""
    sel = selection.replace(sexes=(sex,))
    counts = selection_counts(cube, sel, (S.SEX, SITE))[[S.SEX, SITE, S.AGE_GROUP, S.COUNT]]
    pop = selection_counts(cube, sel, (S.SEX,), all_sites=True)
    pop = pop[pop[S.AGE_GROUP].notna()][[S.SEX, S.AGE_GROUP, S.POPULATION]]
    out = sites.blank_other_sex(rates.ci5_table(counts, pop, site=SITE, standard=standard,
                                                total_excludes=tuple(cube.c44_sites) if selection.site == ALL_BUT_C44
                                                else ()))
    cells = [c for c in out.columns if c in S.AGE_GROUPS or c == "unknown_age"]
    return protect(out, rule, count="all_ages", cells=cells)


def ranked_sites(by_site: pd.DataFrame, *, value: str = "value", site: str = SITE) -> pd.DataFrame:
    """Rows of ``by_site`` ordered by ``value`` (highest first), residual groups left out."""
    return by_site[~by_site[site].isin(NOT_RANKED)].sort_values(value, ascending=False, kind="stable")


def leading_sites(by_sex_site: pd.DataFrame, n: int = 10, *, value: str = "value",
                  count: str = "count") -> pd.DataFrame:
    """The ``n`` sites with the highest ``value`` for each sex, with each site's rank and share
    of the sex's cases (withheld cells are neither ranked nor counted)."""
    df = by_sex_site[~by_sex_site[SITE].isin(NOT_RANKED)].copy()
    df = df[pd.to_numeric(df[value], errors="coerce").notna()]
    total = by_sex_site.groupby(S.SEX)[count].sum(min_count=1)
    df["percent"] = 100 * pd.to_numeric(df[count], errors="coerce") / df[S.SEX].map(total).astype(float)
    df = df.sort_values([S.SEX, value], ascending=[True, False], kind="stable")
    df["rank"] = df.groupby(S.SEX).cumcount() + 1
    return df[df["rank"] <= n].reset_index(drop=True)


# --- regions ------------------------------------------------------------------------------------
def regions_compared(by_region: pd.DataFrame, national: float | None, *, level: str,
                     names: pd.Series) -> pd.DataFrame:
    """Rates by region (``level``: district or economic region) with ``region_name`` and a
    ``status`` against the national value ("higher"/"lower"/"same": the CI excludes it or not)."""
    from analytics.charts.incidence import region_status

    reg = by_region.assign(region_name=by_region[level].map(names).fillna(by_region[level]))
    reg = reg[reg[level].astype(str) != ""]
    status = region_status(reg, national) if national is not None and np.isfinite(national) else "same"
    return reg.assign(status=status)


def level_names_language(level: str, lang: str) -> str:
    """The language of the region names :func:`level_geometry` gives at ``level`` for ``lang``: its
    result is the same for every ``lang`` with the same answer (districts keep the names of the
    boundaries; economic regions are named in Azerbaijani for "az", else in English where the
    boundaries have English names)."""
    return "az" if level == S.PARENT and lang == "az" else "en"


def level_geometry(geo, level: str, lang: str):
    """Regions at ``level`` (districts, or economic regions dissolved from them; the code column
    keeps the level's name), their contiguity weights and the GeoJSON (code as region_code)."""
    from analytics import spatial
    from analytics.charts import maps as mc

    g = geo
    if level == S.PARENT:
        az = level_names_language(level, lang) == "az"
        name = S.PARENT_NAME if az or "parent_name_en" not in g.columns else "parent_name_en"
        g = spatial.dissolve_regions(g)[[S.PARENT, name, "geometry"]].rename(columns={name: S.REGION_NAME})
    else:
        g = g[[S.REGION, S.REGION_NAME, "geometry"]]
    w = spatial.contiguity_weights(g, key=level)
    g = g.reset_index(drop=True)
    return g, w, mc.geojson_of(g.rename(columns={level: S.REGION}) if level != S.REGION else g)


def map_measures(data: pd.DataFrame, *, level: str, w, standard: str, conf: float, ci_method: str,
                 k: int | None = None, **reference) -> pd.DataFrame:
    """``spatial.regional_measures`` of a rate input by region, with the dashboard's thresholds:
    suppression below ``k`` (none when None) and "unreliable" below max(10, k). ``reference``:
    ``reference=`` (a rate table) or ``reference_within=`` (pooled within a column)."""
    from analytics import spatial

    k = k or 0
    return spatial.regional_measures(data, data, standard=standard, w=w, region=level, conf=conf, suppress_below=k,
                                     unreliable_below=max(10, k), ci_method=ci_method, **reference)


def published_measures(measures: pd.DataFrame, *, level: str, k: int | None, lang: str) -> pd.DataFrame:
    """Regional measures as shown (the Maps page's): in public output (``k``: the rule's
    threshold; the measures computed from published counts by :func:`map_measures`) every
    statistic of a withheld region blanked, and the flag reasons in ``lang``. The counts are
    perturbed, so a withheld region cannot be worked out from the published total: no
    complementary suppression."""
    from analytics import spatial
    from analytics.charts import maps as mc

    m = spatial.blank_suppressed(measures, region=level) if k else measures
    return mc.localise_reasons(m, lang, k=k or 0, unreliable=max(10, k or 0))


PROFILE_COLUMNS = ["indicator", "value", "national", "min", "q25", "q75", "max", "significance"]


def region_profile(measures: pd.DataFrame, region: str, *, level: str, national_asr: float, national_crude: float,
                   labels: dict[str, str], risk_factors: pd.DataFrame | None = None,
                   risk_factor_name: Callable[[str], str] = str) -> pd.DataFrame:
    """The region profile of the Maps page (input of ``charts.maps.spine_chart``): for the smoothed
    SIR, SIR, ASR and crude rate, and each risk factor (``risk_factors``: one column per indicator,
    indexed by region code), the region's value, the national value and the spread of all regions.

    ``labels`` names the four cancer measures (keys smoothed, sir, asr, crude_rate);
    ``risk_factor_name`` names an indicator from its code (``analytics.labels.risk_factor_label``)."""
    rows = []
    r = measures.loc[measures[level] == region].iloc[0]
    for col, nat in (("smoothed", 1.0), ("sir", 1.0), ("asr", national_asr), ("crude_rate", national_crude)):
        v = measures[col].astype(float)
        if col == "sir":
            sig = r["significance"]
        elif col == "asr" and np.isfinite(r["asr_lower"]):
            sig = "higher" if r["asr_lower"] > nat else "lower" if r["asr_upper"] < nat else "not significant"
        else:
            sig = "not significant"
        rows.append({"indicator": labels[col], "value": r[col], "national": nat, "min": v.min(),
                     "q25": v.quantile(0.25), "q75": v.quantile(0.75), "max": v.max(), "significance": sig})
    if risk_factors is not None and region in risk_factors.index:
        for ind in risk_factors.columns:
            v = risk_factors[ind].astype(float)
            rows.append({"indicator": risk_factor_name(str(ind)), "value": v[region], "national": v.mean(), "min": v.min(),
                         "q25": v.quantile(0.25), "q75": v.quantile(0.75), "max": v.max(),
                         "significance": "not significant"})
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)


def wide_risk_factors(risk_factors: pd.DataFrame, regions: pd.DataFrame, population: pd.DataFrame | None,
                      level: str) -> pd.DataFrame:
    """One column per risk-factor indicator (the latest year when several are given), indexed by
    region; at economic-region level the population-weighted mean of the districts."""
    from analytics import spatial

    d = risk_factors
    if S.YEAR in d.columns and d[S.YEAR].notna().any():
        d = d.sort_values(S.YEAR).groupby([S.REGION, S.INDICATOR], observed=True).tail(1)
    if level == S.PARENT:
        d = spatial.aggregate_risk_factors(d, regions, population).rename(columns={S.PARENT: S.REGION})
    out = d.pivot_table(index=S.REGION, columns=S.INDICATOR, values=S.VALUE, aggfunc="mean")
    out.columns = [str(c) for c in out.columns]
    return out


# --- mortality ----------------------------------------------------------------------------------
def mi_ratio_table(records: pd.DataFrame, deaths, site_column: str, selection: Selection, by: Sequence[str] = (), *,
                   parents: dict[str, str] | None = None) -> pd.DataFrame:
    """The mortality:incidence ratio of a selection by ``by`` (``analytics.mortality.mi_ratio`` on the
    counted deaths ``deaths``, an ``analytics.mortality.MortalityEvents``): internal output."""
    from analytics import mortality

    return mortality.mi_ratio(records, deaths, site_column, selection, tuple(by), parents=parents)


def published_mi_ratio(deaths: pd.DataFrame, cases: pd.DataFrame, by: Sequence[str], rule: Rule) -> pd.DataFrame:
    """M:I of public output from the published counts of the same selection by ``by`` (rate
    inputs of the mortality and incidence ``PerturbedCube``): deaths and cases summed per stratum,
    then a stratum of fewer than k (published) cases withheld with its deaths and ratio, and one of
    fewer than k deaths its deaths and ratio."""
    by = list(by)
    counts = {name: data.groupby(by, observed=True)[S.COUNT].sum() if by else pd.Series([data[S.COUNT].sum()])
              for name, data in (("deaths", deaths), ("cases", cases))}
    out = pd.concat(counts, axis=1).fillna(0).astype("int64").reset_index() if by else \
        pd.DataFrame({k: [int(v.iloc[0])] for k, v in counts.items()})
    out = out[out["cases"] > 0]
    out["mi_ratio"] = out["deaths"] / out["cases"]
    return _withhold_both(out[by + ["deaths", "cases", "mi_ratio"]].reset_index(drop=True), rule,
                          whole="cases", part="deaths", derived=["mi_ratio"])


def _withhold_both(table: pd.DataFrame, rule: Rule, *, whole: str, part: str, derived: list[str]) -> pd.DataFrame:
    """A small ``whole`` withholds the row (its ``part`` and ``derived`` with it); a small ``part``
    withholds itself and ``derived``."""
    first = protect(table, rule, count=whole, derived=derived + [part])
    small = protect(table, rule, count=part, derived=derived)["suppressed"].to_numpy()
    for col in [part, *derived]:
        first[col] = first[col].where(~small)
    first["suppressed"] = first["suppressed"].to_numpy() | small
    first["suppression"] = np.where(first["suppressed"], disclosure.PRIMARY, "")
    return first


DEATH_KEY_COLUMNS = (S.YEAR, S.SEX, S.AGE_GROUP, S.REGION, S.ICD10)


def death_keys(deaths: pd.DataFrame, rule: Rule) -> np.ndarray:
    """Row keys of an aggregated deaths table (a keyed hash of each row's year, sex, age group,
    region and code: ``DisclosureRule.row_keys``), for perturbing counts of deaths."""
    return rule.row_keys(deaths, [c for c in DEATH_KEY_COLUMNS if c in deaths.columns])


# --- quality ------------------------------------------------------------------------------------
def quality_indicators(records: pd.DataFrame, by: Sequence[str], *, deaths: pd.DataFrame | None = None,
                       parents: dict[str, str] | None = None) -> pd.DataFrame:
    """``analytics.quality.indicators`` of the counted ``records`` of a selection by ``by``
    (``parent_code`` is derived from the districts with ``parents``; the M:I ratio needs
    ``deaths`` and strata the deaths table has)."""
    from analytics import quality

    if S.PARENT in by:
        records = records.assign(**{S.PARENT: records[S.REGION].astype(str).map(parents or {})})
    return quality.indicators(records, by=tuple(by), deaths=deaths)


QUALITY_COLUMNS = ["indicator", "label", "count", "total", "value", "unit", "suppressed", "suppression"]


def published_quality(records: pd.DataFrame, column: str | None, rule: Rule, *, reference: pd.DataFrame,
                      totals: pd.Series, deaths: pd.Series | None = None) -> pd.DataFrame:
    """Quality indicators of public output (``column``: by site, region or year; None: overall).

    Each numerator (MV, DCO, ... cases) is perturbed per group and year with the records' keys
    (``rule.keys_of(records, reference=reference)``: ``reference`` is the whole data set, so a
    record keeps its key) and the years added up, like every period; ``totals`` (and ``deaths``
    for the M:I ratio) are the published counts of the same selection by ``column``, all ages
    (a number when ``column`` is None), so they equal the other views' counts. Then a total below
    k withholds its row and a numerator below k its count and percentage."""
    from analytics import quality

    col = column or "_all"
    records = records[records[S.YEAR].notna() & records[S.REGION].notna()]      # the cube's records
    records = records.assign(_key=rule.keys_of(records, reference=reference))
    if column is None:
        records = records.assign(_all="")
        totals = pd.Series([totals], index=[""])
        deaths = pd.Series([deaths], index=[""]) if deaths is not None else None
    by = [col] if col == S.YEAR else [col, S.YEAR]
    long = quality.indicators(records, by=by, key="_key")
    long["count"] = rule.noisy(long["count"].to_numpy(), long["count_key"].to_numpy())
    long = long.groupby([col, "indicator", "label", "unit"], observed=True, sort=False)["count"].sum().reset_index()
    if col == S.YEAR:
        totals = totals.set_axis(totals.index.astype(long[col].dtype))
    if deaths is not None:     # M:I, as the internal table has it when deaths are loaded
        groups = pd.Index(long[col].unique())
        dead = deaths.set_axis(deaths.index.astype(long[col].dtype) if col == S.YEAR else deaths.index)
        dead = dead.reindex(groups).fillna(0).astype("int64")
        long = pd.concat([long, pd.DataFrame({col: groups, "indicator": "mi_ratio",
                                              "label": quality.INDICATORS["mi_ratio"], "unit": "ratio",
                                              "count": dead.to_numpy()})], ignore_index=True)
    long["total"] = long[col].map(totals).fillna(0).astype("int64").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = long["count"] / long["total"].where(long["total"] > 0)
    long["value"] = np.where(long["indicator"] == "mi_ratio", ratio, 100.0 * ratio)
    long = long[long["total"] > 0]
    out = _withhold_both(long, rule, whole="total", part="count", derived=["value"])
    order = list(quality.INDICATORS)
    out = out.assign(_o=out["indicator"].map(order.index)).sort_values([col, "_o"], kind="stable")
    return out[([column] if column else []) + QUALITY_COLUMNS].reset_index(drop=True)


def quality_wide(long: pd.DataFrame, column: str) -> pd.DataFrame:
    """Indicators of ``analytics.quality.indicators`` (long, with a ``name`` column) as one row per
    ``column`` value and one column per indicator, in the indicators' order."""
    wide = long.pivot_table(index=[column, "name"], columns="indicator", values="value", observed=True).reset_index()
    return wide[[column, "name"] + [c for c in long["indicator"].unique() if c in wide.columns]]


def quality_targets() -> dict[str, tuple[str, float, float]]:
    """indicator -> (better direction, target, acceptable limit) where a target exists
    (``analytics.quality.targets``: Bray & Parkin 2009)."""
    from analytics import quality

    return {r.indicator: (r.direction, r.good, r.acceptable) for r in quality.targets().itertuples()
            if r.good == r.good}


# --- trends -------------------------------------------------------------------------------------
def joinpoint_fit(data: pd.DataFrame, series: str | None, *, selection: str, max_jp: str, weighted: bool,
                  conf: float, progress: Callable[[float, str], None] | None = None):
    """Joinpoint fits of ``data`` (rates per year, by ``series``): segments, fitted values and
    the AAPC over the whole range of each series (``progress(fraction, series)`` after each)."""
    from analytics.trends import joinpoint_table

    by = [series] if series else None
    kw = dict(selection=selection, conf=conf, max_joinpoints=None if max_jp == "auto" else int(max_jp))
    segs, fitted, results = joinpoint_table(data, by=by, year="year", rate="value",
                                            se="se" if weighted else None, progress=progress, **kw)
    aapc = []
    for key, res in results.items():
        a, lo, hi = res.aapc(conf=conf)
        row = {"segment": "AAPC", "start": res.year.min(), "end": res.year.max(), "apc": a, "lower": lo,
               "upper": hi, "joinpoints": ", ".join(f"{j:g}" for j in res.joinpoints), "note": ""}
        if series:
            row[series] = key[0]
        aapc.append(row)
    return segs, fitted, pd.DataFrame(aapc)


def trend_input(rates_by_year: pd.DataFrame, series: str | None, *, public: bool) -> pd.DataFrame:
    """The joinpoint input of rates per year: withheld (missing) or zero rates cannot be fitted
    (log-linear fits); ``public`` is kept for callers, withheld years are already missing."""
    cols = [c for c in [series, "year", "count", "value", "se", "lower", "upper"] if c]
    data = rates_by_year[cols].dropna(subset=["value"])
    return data[data["value"] > 0]


def last_segments(segments: pd.DataFrame, series: str | None) -> pd.DataFrame:
    """The last fitted segment of each series (the one a plain-language reading describes)."""
    good = segments[segments["note"].fillna("") == ""]
    if good.empty:
        return good
    keys = [series] if series else []
    return good.sort_values(keys + ["end"]).groupby(keys, sort=False).tail(1) if keys else good.sort_values("end").tail(1)


# --- prevalence ---------------------------------------------------------------------------------
PREVALENCE_DERIVED = ("count", "proportion", "lower", "upper", "asr", "asr_lower", "asr_upper")


PREVALENCE_RATES = ["proportion", "lower", "upper", "asr", "asr_lower", "asr_upper"]


PREVALENCE_KEY = "_key"      # the column of record keys in public prevalence


def prevalence_base(records: pd.DataFrame, *, by: Sequence[str], counting: str, rule: Rule | None = None,
                    reference: pd.DataFrame | None = None):
    """The index-date-free part of :func:`prevalence_table` (``analytics.prevalence.prevalence_base``)
    for ``by`` and ``counting``; with ``rule`` (public output) the records' keys come along
    (``reference``: the whole data set, so that a record keeps its key)."""
    from analytics.prevalence import prevalence_base as prepare

    if rule is None:
        return prepare(records, by=list(by), counting=counting)
    keys = rule.keys_of(records, reference=records if reference is None else reference)
    rec = records.assign(**{PREVALENCE_KEY: keys})
    return prepare(rec, by=list(by), counting=counting, key=PREVALENCE_KEY)


def prevalence_table(records, population: pd.DataFrame, *, index_date: str, by: Sequence[str],
                     counting: str, standard: str, conf: float, ages: Sequence | None = None, adjust_lost: bool = False,
                     rule: Rule | None = None, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Limited-duration prevalence at ``index_date`` (``analytics.prevalence.prevalence``) by ``by``
    (site column first), the other sex of a sex-specific site blank.

    ``records``: the records, or their :func:`prevalence_base` for the same ``by``, ``counting``
    and ``rule`` (prepared once, evaluated at any index date).

    With ``rule`` (public output): every count (people, lost, unknown) perturbed per cell with the
    records' keys (``reference``: the whole data set, so that a record keeps its key), figures
    computed from those, then published counts below k withheld; the adjustment for loss to
    follow-up (fractional counts) is not available."""
    from analytics.prevalence import PrevalenceBase
    from analytics.prevalence import prevalence as compute

    by = list(by)
    kw = dict(index_date=index_date, by=by, counting=counting, standard=standard, conf=conf,
              ages=list(ages) if ages else None)
    if not isinstance(records, PrevalenceBase):
        records = prevalence_base(records, by=by, counting=counting, rule=rule, reference=reference)
    if rule is None:
        out = sites.blank_other_sex(compute(records, population, adjust_lost=adjust_lost, **kw), site=by[0])
        out.attrs = dict(out.attrs)
        return out
    out = sites.blank_other_sex(compute(records, population, adjust_lost=False, key=PREVALENCE_KEY,
                                        perturb=rule.noisy, **kw), site=by[0])
    return protect(out, rule, count="count", cells=["n_lost", "n_unknown"], derived=PREVALENCE_RATES)


def prevalence_view(table: pd.DataFrame, *, sexes: Sequence[int], site: str, site_column: str,
                    k: int | None = None) -> pd.DataFrame:
    """Prevalence (``analytics.prevalence.prevalence``) as shown for a selection: unknown sex as 9,
    the chosen sexes, the chosen site (with the all-sites rows) and, in public output, counts below
    ``k`` withheld with every figure derived from them."""
    from analytics.cube import ALL_SITES
    from analytics.prevalence import ALL_SITES as PREV_ALL

    table = table.assign(**{S.SEX: table[S.SEX].fillna(S.UNKNOWN_SEX).astype(int)})
    table = table[table[S.SEX].isin(list(sexes))]
    if site not in (ALL_SITES, ALL_BUT_C44):
        table = table[table[site_column].isin([site, PREV_ALL])]
    if k:
        small = (table["count"] > 0) & (table["count"] < k)
        table = table.assign(**{c: table[c].astype(float).where(~small, np.nan) for c in PREVALENCE_DERIVED})
    return table


# --- survival -------------------------------------------------------------------------------------
SURVIVAL_TIMES = (1, 3, 5, 10)


def survival_records(records: pd.DataFrame, *, period: tuple[int, int], approach: str, site_column: str,
                     sexes: Sequence[int] | None = None, regions: Sequence[str] | None = None, site: str = "all",
                     ages: tuple[int, int] = (0, 85)) -> pd.DataFrame:
    """The records of a selection for survival. The period is the diagnosis years (cohort,
    complete approach) or the follow-up window (period approach: every diagnosis up to its last
    year); ``sexes``/``regions`` None mean all; ``ages`` are the first and last age-group starts
    (85: open top). Records of unknown age are kept (the survival data's own exclusion line)."""
    from analytics.cube import ALL_SITES

    y0, y1 = period
    r = records
    m = pd.Series(True, index=r.index)
    year = pd.to_numeric(r[S.YEAR], errors="coerce")
    m &= (year <= y1).fillna(False) if approach == "period" else year.between(y0, y1).fillna(False)
    if sexes is not None:
        m &= r[S.SEX].isin(list(sexes)).fillna(False)
    if regions is not None:
        m &= r[S.REGION].astype(str).isin(list(regions))
    if site == ALL_BUT_C44:
        m &= ~r[S.ICD10].astype(str).str.startswith("C44")
    elif site != ALL_SITES:
        m &= (r[site_column] == site).fillna(False)
    age = pd.to_numeric(r[S.AGE], errors="coerce")
    top = np.inf if ages[1] >= 85 else ages[1] + 5
    m &= (age >= ages[0]).fillna(True) & (age < top).fillna(True)
    return r.loc[m]


BY_SITE_COLUMNS = ["site", "time", "estimate", "lower", "upper", "n_risk", "events", "std_estimate", "std_lower",
                   "std_upper", "standard", "n"]


def survival_by_site(records: pd.DataFrame, lifetable: pd.DataFrame | None, *, site_column: str,
                     period: tuple[int, int], method: str, approach: str, conf: float, first_primary_only: bool,
                     k: int | None = None) -> pd.DataFrame:
    """Survival at 1, 3, 5 and 10 years by site of ``records`` (:func:`survival_records`), with the
    ICSS age-standardised value of each site (its own standard, Corazziari et al. 2004) and of all
    sites. ``lifetable`` None: observed survival. In public output sites of fewer than ``k``
    patients are left out."""
    from analytics.survival import registry

    data, _ = registry.survival_data(records, first_primary_only=first_primary_only)
    return survival_by_site_of(data, lifetable, site_column=site_column, period=period, method=method,
                               approach=approach, conf=conf, k=k)


def survival_by_site_of(data: pd.DataFrame, lifetable: pd.DataFrame | None, *, site_column: str,
                        period: tuple[int, int], method: str, approach: str, conf: float,
                        k: int | None = None, progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """:func:`survival_by_site` of the patients ``data`` (``analytics.survival.registry.survival_data``
    of the records; the columns it reads: ``analytics.survival.base.REQUIRED``, the district for a
    life table by region, and ``site_column``). ``progress``
    (fraction, message): told when the fits begin (a worker process's progress bar)."""
    from analytics import survival

    if progress is not None:
        progress(0.0, "survival by site")
    data = by_site_patients(data, site_column=site_column, k=k)
    if data.empty:
        return pd.DataFrame(columns=BY_SITE_COLUMNS)
    # one computation of each patient's expected mortality for the four stratifications
    fits = survival.net_survival_sets(data, lifetable, by_site_sets(data, site_column=site_column),
                                      times=SURVIVAL_TIMES, method=method, approach=approach, period=period, conf=conf)
    return by_site_table(data, fits, site_column=site_column, conf=conf)


def by_site_patients(data: pd.DataFrame, *, site_column: str, k: int | None = None) -> pd.DataFrame:
    """The patients of the by-site table (:func:`analytics.survival.registry.survival_data` output):
    in public output (``k``) those of sites with at least ``k`` patients; with their ICSS age group."""
    from analytics.survival import standardise

    if data.empty:
        return data
    counts = data[site_column].value_counts()
    data = data[data[site_column].isin(counts[counts >= k].index)] if k else data
    return data.assign(**{standardise.ICSS_COLUMN: standardise.icss_age_group(data["age"])})


def by_site_sets(data: pd.DataFrame, *, site_column: str) -> list[tuple[list[str], np.ndarray | None]]:
    """The by-site table's four stratifications of :func:`by_site_patients` (``sets`` of
    ``analytics.survival.net_survival_sets``): by site, all sites, site x ICSS age group and ICSS age
    group (the last two of the patients aged 15-99)."""
    from analytics.survival import standardise

    adults = ((data["age"] >= 15) & (data["age"] < 100)).to_numpy()
    return [([site_column], None), ([], None), ([site_column, standardise.ICSS_COLUMN], adults),
            ([standardise.ICSS_COLUMN], adults)]


def by_site_table(data: pd.DataFrame, fits: list[pd.DataFrame], *, site_column: str, conf: float) -> pd.DataFrame:
    """The by-site table from the estimates at ``SURVIVAL_TIMES`` of :func:`by_site_sets` (in their
    order): crude by site and all sites, each with its ICSS age-standardised value."""
    from analytics.cube import ALL_SITES
    from analytics.survival import standardise

    site = site_column
    crude, every, spec, spec_all = fits
    crude = crude.rename(columns={site: "site"})
    every = every.assign(site=ALL_SITES)
    std_parts = []
    for name in standardise.ICSS_WEIGHTS:
        part = spec[spec[site].map(standardise.icss_standard) == name]
        if len(part):
            std_parts.append(standardise.standardise(part, name, by=[site], age=standardise.ICSS_COLUMN, conf=conf)
                             .assign(standard=name))
    std_parts.append(standardise.standardise(spec_all, "ICSS1", age=standardise.ICSS_COLUMN, conf=conf)
                     .assign(standard="ICSS1", **{site: ALL_SITES}))
    std = pd.concat(std_parts, ignore_index=True).rename(columns={site: "site", "estimate": "std_estimate",
                                                                  "lower": "std_lower", "upper": "std_upper"})
    out = pd.concat([every, crude], ignore_index=True).merge(
        std[["site", "time", "std_estimate", "std_lower", "std_upper", "standard"]], on=["site", "time"], how="left")
    n = data[site].value_counts()
    out["n"] = out["site"].map(n).fillna(len(data)).astype(int)
    return out[BY_SITE_COLUMNS]

"""Mortality: cancer deaths as counted events for the same rates engine as incidence.

Deaths come from one of two sources, and every death read is counted or excluded with its
reason (:attr:`MortalityEvents.reconciliation`):

1. **A vital-statistics deaths table** (``schema.DEATH_COLUMNS``: ``year, sex, age_group,
   region_code, icd10, count``, read by :func:`analytics.auxiliary.read_deaths`): the year,
   sex, age group and district of death and the underlying cause (ICD-10).
2. **Derived from the registry's own records** when no deaths table is given
   (:func:`deaths_from_records`). The rule: a registered patient counts as one cancer death
   when

   * at least one of the patient's tumours is counted (``included``),
   * the vital status is 2 (dead) and the date of last contact (= the date of death) is known,
   * the cause of death (ICD-10) is in the same site group of IARC's CI5-XI detailed list as
     one of the patient's counted tumours (:data:`MATCH_SCHEME`; a death certificate naming
     another cancer, or no cancer, is not a death *from the registered cancer*).

   One death per patient, whatever the number of tumours. The death takes the cause of
   death's ICD-10 code (hence its site group in either list), the year of the date of death,
   the age at death (completed years from the birth date; without one, the age at diagnosis
   plus the completed years from diagnosis to death) and the patient's sex and district of
   residence at the diagnosis of the matching tumour (the earliest one when several match).
   Deaths of patients diagnosed before the registry began are not in the records, so the first
   years' registry-derived mortality is too low; a vital-statistics table is preferred.

Both sources then go through :func:`death_events`, which assigns the CI5 or GLOBOCAN site group
with :func:`analytics.sites.assign` (the same machinery as the tumours), flags C44, and returns an
events table with the columns of :func:`analytics.cube.events_from_records`. A cube built on
these events (:func:`analytics.cube.build_cube`) gives mortality rates from the same engine as
incidence: crude, age-specific, ASR with every CI method of :func:`analytics.rates.dsr`,
cumulative risk 0-74, truncated age ranges, disclosure control, SMRs for maps
(:func:`analytics.spatial.regional_measures`).

The mortality:incidence ratio (:func:`mi_ratio`) is the data-quality indicator of
:func:`analytics.quality.indicators` (deaths / new cases in the same strata; Bray & Parkin
2009, Eur J Cancer 45:747), applied to the records and deaths of one selection.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from analytics import cube as cubes
from analytics import derive, sites
from analytics import schema as S

log = logging.getLogger(__name__)

INCIDENCE, MORTALITY = "incidence", "mortality"
MEASURES = (INCIDENCE, MORTALITY)
SOURCE_TABLE = "deaths_table"         # vital statistics
SOURCE_RECORDS = "registry_records"   # derived from the registry's records
MATCH_SCHEME = "ci5_detailed"         # site groups that link a cause of death to a tumour
SCHEME_OF = {S.SITE_CI5: "ci5_detailed", S.SITE_GLOBOCAN: "globocan"}
DEAD = 2
ICD10_PATTERN = r"^[A-Z][0-9]{2}[0-9A-Z]?$"
RECONCILIATION_COLUMNS = ["status", "reason", "description", "rows", "deaths"]
USED, EXCLUDED = "used", "excluded"

# reason code -> English description (the app translates the code: mortality.reason.<code>)
REASONS = {
    # registry-derived deaths: patients with vital status "dead" not counted as a cancer death
    "cause_missing": "dead, cause of death not recorded",
    "cause_not_cancer": "dead of a cause outside the site list (not a counted cancer)",
    "cause_other_cancer": "dead of a cancer in another site group than the patient's registered tumours",
    "death_date_missing": "dead, date of death (last contact) unknown",
    # every death (table rows, or deaths linked to the records)
    "bad_count": "count missing, negative or not a whole number",
    "icd10_unknown": "ICD-10 code missing or not an ICD-10 code",
    "not_in_site_list": "ICD-10 code outside the site list (not a counted cancer)",
    "year_missing": "year of death missing",
    "year_outside_population": "year outside the population's years (no person-years)",
    "region_missing": "district (region code) missing",
    "region_unknown": "district not in the regions table",
    "age_group_unknown_label": "age group not among the population's age groups",
    "counted": "counted",
    "counted_unknown_age": "counted; age unknown (in all-ages totals only, as for incidence)",
    "counted_unknown_sex": "counted; sex unknown (in both-sexes totals only, as for incidence)",
}
LINKAGE_REASONS = ("cause_missing", "cause_not_cancer", "cause_other_cancer", "death_date_missing")
UNKNOWN_AGE_LABELS = frozenset({"", "nan", "none", "<na>", "unknown", "unk", "999", "?", cubes.UNKNOWN_AGE})


@dataclasses.dataclass(frozen=True)
class MortalityEvents:
    """Deaths ready for :func:`analytics.cube.build_cube`, with the account of every death read.

    ``events``: the columns of :func:`analytics.cube.events_from_records`. ``deaths``: the deaths
    counted, as ``schema.DEATH_COLUMNS`` plus ``site`` and ``c44``. ``reconciliation``:
    status, reason, description, rows (table rows or patients), deaths. ``source``:
    :data:`SOURCE_TABLE` or :data:`SOURCE_RECORDS`.
    """

    events: pd.DataFrame
    deaths: pd.DataFrame
    reconciliation: pd.DataFrame
    source: str

    @property
    def n_counted(self) -> int:
        r = self.reconciliation
        return int(r.loc[r["status"] == USED, "deaths"].sum())

    @property
    def n_excluded(self) -> int:
        r = self.reconciliation
        return int(r.loc[r["status"] == EXCLUDED, "deaths"].sum())


def _scheme(site_column: str) -> str:
    try:
        return SCHEME_OF[site_column]
    except KeyError:
        raise ValueError(f"site_column must be one of {sorted(SCHEME_OF)}, got {site_column!r}") from None


def normalise_icd10(codes: pd.Series) -> pd.Series:
    """ICD-10 codes upper case without dot or blanks (``c50.9`` -> ``C509``); missing -> ""."""
    s = pd.Series(codes)
    s = s.astype(object).where(s.notna(), "")
    return s.astype(str).str.strip().str.upper().str.replace(".", "", regex=False).str.replace(" ", "", regex=False)


# --- deaths table -> events ------------------------------------------------------------------
def _first_reason(checks: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    """Per row, the code of the first check that fires (checks in order), else ""."""
    out = np.full(n, "", dtype=object)
    for code, mask in checks:
        out[(out == "") & mask] = code
    return out


def death_events(deaths: pd.DataFrame, site_column: str, *, regions: Iterable[str] | None = None,
                 years: Iterable[int] | None = None, keys: np.ndarray | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Deaths (``schema.DEATH_COLUMNS``) -> (events, counted deaths, reconciliation).

    Each row is counted or excluded, the first failing check giving the reason (in this order):
    count not a whole number >= 0; ICD-10 missing or malformed; ICD-10 outside the site list of
    ``site_column`` (``site_ci5`` or ``site_globocan``); year missing, or not in ``years`` (the
    population's years: no person-years); district missing, or not in ``regions``; an age-group
    label that is not one of ``schema.AGE_GROUPS``. Unknown age ("", "unknown", NA) and unknown
    sex (9, NA) are counted, as incidence counts them (all-ages / both-sexes totals only).

    ``keys``: one key per row of ``deaths`` (``analytics.disclosure.DisclosureRule.row_keys``);
    the events then carry ``key_sum`` for public output's perturbation.
    """
    scheme = _scheme(site_column)
    missing = [c for c in S.DEATH_COLUMNS if c not in deaths.columns]
    if missing:
        raise ValueError(f"deaths lack column(s) {missing}; expected {S.DEATH_COLUMNS}")
    n = len(deaths)
    count = pd.to_numeric(deaths[S.COUNT], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    icd = normalise_icd10(deaths[S.ICD10]).to_numpy(dtype=object)
    site = sites.assign(icd, scheme).astype(object).to_numpy()
    year = pd.to_numeric(deaths[S.YEAR], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    region = deaths[S.REGION].astype(object).where(deaths[S.REGION].notna(), "").astype(str).str.strip().to_numpy(object)
    age_raw = deaths[S.AGE_GROUP].astype(object).where(deaths[S.AGE_GROUP].notna(), "").astype(str).str.strip()
    age_unknown = age_raw.str.lower().isin(UNKNOWN_AGE_LABELS).to_numpy()
    age_ok = age_raw.isin(S.AGE_GROUPS).to_numpy()
    sex = pd.to_numeric(deaths[S.SEX], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    sex_unknown = ~np.isin(sex, (S.MALE, S.FEMALE))

    checks = [
        ("bad_count", ~np.isfinite(count) | (count < 0) | (np.round(count) != count)),
        ("icd10_unknown", ~pd.Series(icd, dtype=object).astype(str).str.match(ICD10_PATTERN).to_numpy()),
        ("not_in_site_list", pd.isna(site)),
        ("year_missing", np.isnan(year)),
    ]
    if years is not None:
        checks.append(("year_outside_population", ~np.isin(year, np.fromiter((int(y) for y in years), float))))
    checks.append(("region_missing", region == ""))
    if regions is not None:
        known = pd.Index(sorted({str(r) for r in regions}))
        checks.append(("region_unknown", known.get_indexer(region) < 0))
    checks.append(("age_group_unknown_label", ~age_ok & ~age_unknown))
    reason = _first_reason(checks, n)
    used = reason == ""
    reason[used & age_unknown] = "counted_unknown_age"
    reason[used & ~age_unknown & sex_unknown] = "counted_unknown_sex"
    reason[reason == ""] = "counted"

    recon = pd.DataFrame({"reason": reason, "rows": 1, "deaths": np.nan_to_num(count, nan=0.0)})
    recon = recon.groupby("reason", sort=False).sum().reset_index()
    recon = _order_reconciliation(recon)

    kept = pd.DataFrame({
        S.YEAR: year[used].astype("int64"),
        S.SEX: np.where(sex_unknown, S.UNKNOWN_SEX, np.nan_to_num(sex, nan=S.UNKNOWN_SEX))[used].astype("int64"),
        S.AGE_GROUP: np.where(age_unknown, cubes.UNKNOWN_AGE, age_raw.to_numpy(object))[used],
        S.REGION: region[used],
        S.ICD10: icd[used],
        cubes.SITE: site[used].astype(str),
        cubes.C44: pd.Series(icd[used], dtype=object).astype(str).str.startswith("C44").to_numpy(),
        S.COUNT: count[used].astype("int64"),
    })
    value_cols = [S.COUNT]
    if keys is not None:
        kept[cubes.KEY_SUM] = np.asarray(keys, dtype=np.int64)[used]
        value_cols.append(cubes.KEY_SUM)
    kept = kept[kept[S.COUNT] > 0]
    events = (kept.groupby(cubes.EVENT_COLUMNS[:-1], sort=False)[value_cols].sum().reset_index()
              [cubes.EVENT_COLUMNS + value_cols[1:]])
    counted = (kept.groupby([S.YEAR, S.SEX, S.AGE_GROUP, S.REGION, S.ICD10, cubes.SITE, cubes.C44], sort=False)
               [S.COUNT].sum().reset_index())
    counted[S.AGE_GROUP] = counted[S.AGE_GROUP].where(counted[S.AGE_GROUP] != cubes.UNKNOWN_AGE, None)
    return events.reset_index(drop=True), counted, recon


def _order_reconciliation(recon: pd.DataFrame) -> pd.DataFrame:
    order = {code: i for i, code in enumerate(REASONS)}
    recon = recon.assign(_o=recon["reason"].map(order)).sort_values("_o", kind="stable").drop(columns="_o")
    recon.insert(0, "status", np.where(recon["reason"].str.startswith("counted"), USED, EXCLUDED))
    recon.insert(2, "description", recon["reason"].map(REASONS))
    recon["rows"] = recon["rows"].astype("int64")
    d = recon["deaths"].to_numpy(float)
    recon["deaths"] = d.astype("int64") if np.all(d == np.round(d)) else d
    return recon[RECONCILIATION_COLUMNS].reset_index(drop=True)


# --- registry records -> deaths --------------------------------------------------------------
def _age_at_death(dead: pd.DataFrame) -> np.ndarray:
    """Completed years at death: from the birth date, else age at diagnosis + completed years
    from diagnosis to death; NaN when neither is known."""
    death = dead[S.LAST_CONTACT]
    by_birth = derive.age_from_dates(dead[S.BIRTH_DATE], death) if S.BIRTH_DATE in dead else np.full(len(dead), np.nan)
    since_dx = derive.age_from_dates(dead[S.INCIDENCE_DATE], death)
    at_dx = pd.to_numeric(dead[S.AGE], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(by_birth), by_birth, at_dx + since_dx)


def deaths_from_records(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registry's own cancer deaths (the rule in the module docstring), as a deaths table.

    Returns (deaths as ``schema.DEATH_COLUMNS``, linkage account): the account has one line per
    reason a dead patient is not a cancer death (:data:`LINKAGE_REASONS`) and the line
    ``linked`` (patients counted as one death each, checked further by :func:`death_events`).
    Vectorised over the records (one sort and one de-duplication, no loop over patients).
    """
    need = [S.INCLUDED, S.VITAL_STATUS, S.LAST_CONTACT, S.INCIDENCE_DATE, S.SEX, S.REGION, S.SITE_CI5]
    missing = [c for c in need if c not in records.columns]
    if missing:
        raise ValueError(f"records lack column(s) {missing} needed to derive deaths from the registry")
    keep = records[S.INCLUDED].fillna(False).astype(bool) \
        & (pd.to_numeric(records[S.VITAL_STATUS], errors="coerce") == DEAD).fillna(False)
    cols = need[3:] + [c for c in (S.PATIENT_ID, S.TUMOUR_ID, S.CAUSE_OF_DEATH, S.BIRTH_DATE, S.AGE, S.LAST_CONTACT)
                       if c in records.columns and c not in need[3:]]
    r = records.loc[keep.to_numpy(dtype=bool), cols]
    cause = normalise_icd10(r[S.CAUSE_OF_DEATH] if S.CAUSE_OF_DEATH in r else pd.Series("", index=r.index))
    cause_group = sites.assign(cause.to_numpy(object), MATCH_SCHEME).astype(object).to_numpy()
    tumour_group = r[S.SITE_CI5].astype(object).to_numpy()
    match = ~pd.isna(cause_group) & (cause_group == tumour_group)
    patient = r[S.PATIENT_ID].astype(object) if S.PATIENT_ID in r else pd.Series(np.nan, index=r.index, dtype=object)
    patient = patient.where(patient.notna() & (patient.astype(str) != ""), "tumour:" + r[S.TUMOUR_ID].astype(str)
                            if S.TUMOUR_ID in r else pd.Series(np.arange(len(r)).astype(str), index=r.index))
    # one row per patient: a matching tumour first, the earliest diagnosis among them
    order = pd.DataFrame({"p": pd.factorize(patient.astype(str))[0], "m": ~match,
                          "d": r[S.INCIDENCE_DATE].to_numpy(), "i": np.arange(len(r))})
    order = order.sort_values(["p", "m", "d", "i"], kind="stable", na_position="last").drop_duplicates("p")
    one = r.iloc[order["i"].to_numpy()]
    one_cause, one_match = cause.iloc[order["i"].to_numpy()], match[order["i"].to_numpy()]
    one_group = cause_group[order["i"].to_numpy()]
    death_date = pd.to_datetime(one[S.LAST_CONTACT], errors="coerce")
    reason = _first_reason([
        ("cause_missing", (one_cause == "").to_numpy()),
        ("cause_not_cancer", pd.isna(one_group)),
        ("cause_other_cancer", ~one_match),
        ("death_date_missing", death_date.isna().to_numpy()),
    ], len(one))
    linked = reason == ""
    account = pd.Series(np.where(linked, "linked", reason)).value_counts()
    account = pd.DataFrame({"reason": account.index.astype(str), "patients": account.to_numpy("int64")})
    d = one.loc[linked]
    age = _age_at_death(d)
    groups, _ = derive.age_groups(age)
    table = pd.DataFrame({
        S.YEAR: death_date[linked].dt.year.to_numpy("int64"),
        S.SEX: pd.to_numeric(d[S.SEX], errors="coerce").fillna(S.UNKNOWN_SEX).to_numpy("int64"),
        S.AGE_GROUP: groups.astype(object).where(groups.notna(), cubes.UNKNOWN_AGE).astype(str).to_numpy(),
        S.REGION: d[S.REGION].astype(object).where(d[S.REGION].notna(), "").astype(str).to_numpy(),
        S.ICD10: one_cause[linked].to_numpy(object),
        S.COUNT: 1,
    })
    table = table.groupby(S.DEATH_COLUMNS[:-1], sort=False)[S.COUNT].sum().reset_index()
    return table[S.DEATH_COLUMNS], account


# --- either source -> events -------------------------------------------------------------------
def mortality_events(records: pd.DataFrame | None, site_column: str, *, deaths: pd.DataFrame | None = None,
                     regions: Iterable[str] | None = None, years: Iterable[int] | None = None,
                     row_keys=None) -> MortalityEvents:
    """Deaths as counted events for :func:`analytics.cube.build_cube`: from ``deaths`` (vital
    statistics) when given, else derived from ``records`` (:func:`deaths_from_records`).

    ``regions`` (district codes of the regions table) and ``years`` (the population's years)
    make deaths outside them excluded with their reason instead of silently uncounted.
    ``row_keys``: ``f(deaths table) -> one key per row`` (public output's cell keys; e.g.
    ``lambda d: rule.row_keys(d, ["year", "sex", "age_group", "region_code", "icd10"])``).
    """
    if deaths is not None:
        keys = None if row_keys is None else row_keys(deaths)
        events, counted, recon = death_events(deaths, site_column, regions=regions, years=years, keys=keys)
        return MortalityEvents(events, counted, recon, SOURCE_TABLE)
    if records is None:
        raise ValueError("mortality_events needs a deaths table or the registry's records")
    table, account = deaths_from_records(records)
    keys = None if row_keys is None else row_keys(table)
    events, counted, recon = death_events(table, site_column, regions=regions, years=years, keys=keys)
    recon = recon.assign(rows=recon["deaths"])            # one row per patient = one death
    lost = account[account["reason"] != "linked"]
    lines = pd.DataFrame({"status": EXCLUDED, "reason": lost["reason"], "description": lost["reason"].map(REASONS),
                          "rows": lost["patients"], "deaths": lost["patients"]})
    order = {code: i for i, code in enumerate(REASONS)}
    lines = lines.assign(_o=lines["reason"].map(order)).sort_values("_o").drop(columns="_o")
    recon = pd.concat([lines, recon], ignore_index=True)[RECONCILIATION_COLUMNS]
    recon[["rows", "deaths"]] = recon[["rows", "deaths"]].astype("int64")
    return MortalityEvents(events, counted, recon, SOURCE_RECORDS)


# --- selections and the M:I ratio ---------------------------------------------------------------
def _select(frame: pd.DataFrame, sel: cubes.Selection, site: pd.Series, c44: np.ndarray,
            age: pd.Series) -> pd.DataFrame:
    """Rows of ``frame`` in ``sel`` with the cube's rules (unknown age only with every age group)."""
    year = pd.to_numeric(frame[S.YEAR], errors="coerce")
    m = year.between(*sel.years).fillna(False).to_numpy(dtype=bool).copy()
    sex = pd.to_numeric(frame[S.SEX], errors="coerce").fillna(S.UNKNOWN_SEX)
    m &= sex.isin(sel.sexes).to_numpy()
    if sel.regions is not None:
        m &= frame[S.REGION].astype(str).isin(sel.regions).to_numpy()
    ages = age.astype(object).where(age.notna(), cubes.UNKNOWN_AGE).astype(str)
    m &= ages.isin(list(sel.ages) + ([cubes.UNKNOWN_AGE] if sel.all_ages else [])).to_numpy()
    if sel.site == cubes.ALL_BUT_C44:
        m &= ~c44
    elif sel.site != cubes.ALL_SITES:
        m &= (site.astype(object) == sel.site).fillna(False).to_numpy(dtype=bool)
    return frame.loc[m]


def select_records(records: pd.DataFrame, sel: cubes.Selection, site_column: str) -> pd.DataFrame:
    """Counted tumours of a selection, as :func:`analytics.cube.events_from_records` places them
    (``included``, with a year and a district)."""
    r = records.loc[records[S.INCLUDED].fillna(False).astype(bool) & records[S.YEAR].notna()
                    & records[S.REGION].notna()]
    c44 = r[S.ICD10].astype(str).str.startswith("C44").to_numpy()
    return _select(r, sel, r[site_column], c44, r[S.AGE_GROUP])


def select_deaths(counted: pd.DataFrame, sel: cubes.Selection) -> pd.DataFrame:
    """Counted deaths (:attr:`MortalityEvents.deaths`) of a selection."""
    return _select(counted, sel, counted[cubes.SITE], counted[cubes.C44].to_numpy(bool), counted[S.AGE_GROUP])


MI_BY = (cubes.SITE, S.YEAR, S.SEX, S.REGION, S.PARENT)


def _mi_by(by: Sequence[str], sel: cubes.Selection, parents: dict[str, str] | None
           ) -> tuple[list[str], cubes.Selection]:
    """``by`` checked (:data:`MI_BY`; economic regions need ``parents``), and the selection over
    every site of the list when the ratio is by site (as the cube)."""
    by = list(by)
    bad = [b for b in by if b not in MI_BY]
    if bad:
        raise ValueError(f"mi_ratio: by must be among {MI_BY}, got {bad}")
    if S.PARENT in by and parents is None:
        raise ValueError("mi_ratio: by parent_code needs parents (district -> economic region)")
    return by, (sel.replace(site=cubes.ALL_SITES) if cubes.SITE in by else sel)


def mi_ratio(records: pd.DataFrame, mortality: MortalityEvents, site_column: str, sel: cubes.Selection,
             by: Sequence[str] = (), *, parents: dict[str, str] | None = None) -> pd.DataFrame:
    """Mortality:incidence ratio of a selection by ``by`` (any of ``site``, ``year``, ``sex``,
    ``region_code``, ``parent_code``), computed by :func:`analytics.quality.indicators` on the
    selection's counted tumours and counted deaths (deaths in the year of death, cases in the
    year of diagnosis). Columns: by..., ``deaths``, ``cases``, ``mi_ratio``. Strata with deaths
    but no case have no ratio and are absent (as in the quality indicators).
    """
    from analytics import quality

    by, sel = _mi_by(by, sel, parents)
    rec = select_records(records, sel, site_column)
    dth = select_deaths(mortality.deaths, sel)
    cols = [site_column if b == cubes.SITE else b for b in by]
    if S.PARENT in by:
        rec = rec.assign(**{S.PARENT: rec[S.REGION].astype(str).map(parents).to_numpy()})
        dth = dth.assign(**{S.PARENT: dth[S.REGION].astype(str).map(parents).to_numpy()})
    rec = rec.assign(**{site_column: rec[site_column].astype(object).astype(str)}) if cubes.SITE in by else rec
    dth = dth.rename(columns={cubes.SITE: site_column})
    if S.SEX in by:
        rec = rec.assign(**{S.SEX: pd.to_numeric(rec[S.SEX], errors="coerce").fillna(S.UNKNOWN_SEX).astype("int64")})
    if S.YEAR in by:
        rec = rec.assign(**{S.YEAR: rec[S.YEAR].astype("int64")})
    q = quality.indicators(rec, by=tuple(cols), deaths=dth)
    out = q.loc[q["indicator"] == "mi_ratio", cols + ["count", "total", "value"]]
    out = out.rename(columns={"count": "deaths", "total": "cases", "value": "mi_ratio",
                              **({site_column: cubes.SITE} if cubes.SITE in by else {})})
    return out.reset_index(drop=True)


def mi_ratio_from_cubes(cases: cubes.Cube, deaths: cubes.Cube, sel: cubes.Selection, by: Sequence[str] = (), *,
                        parents: dict[str, str] | None = None) -> pd.DataFrame:
    """:func:`mi_ratio` from the cubes of the counted tumours and of the counted deaths
    (:func:`analytics.cube.build_cube` over :func:`analytics.cube.events_from_records` and over
    :attr:`MortalityEvents.events`) instead of the records: the same frame, a few array sums
    per selection instead of filtering every record.

    The same rules as :func:`mi_ratio` (which :func:`analytics.quality.indicators` applies):
    strata are those holding cases; when ``year`` is not in ``by``, deaths count only in the
    years that hold a case of the selection; a selection without any death has no ratio at all
    (an empty frame). The cubes place a tumour or a death as :func:`select_records` and
    :func:`select_deaths` do (a year, a district, unknown sex 9, unknown age only with every age
    group; "all sites but C44" leaves out the site group of C44, which holds nothing else).
    """
    by, sel = _mi_by(by, sel, parents)
    base = [S.REGION if b == S.PARENT else b for b in by]
    need = base + ([S.YEAR] if S.YEAR not in by else [])
    c, d = cases.counts(sel, need), deaths.counts(sel, need)
    if c.empty or d.empty:
        return pd.DataFrame({**{b: pd.Series(dtype="int64" if b in (S.YEAR, S.SEX) else "str") for b in by},
                             "deaths": pd.Series(dtype="int64"), "cases": pd.Series(dtype="int64"),
                             "mi_ratio": pd.Series(dtype=float)})
    if S.YEAR not in by:      # deaths of the years that hold a case of the selection
        d = d[d[S.YEAR].isin(c[S.YEAR].unique())]
    if S.PARENT in by:
        c, d = (x.assign(**{S.PARENT: x[S.REGION].map(parents)}) for x in (c, d))
    if need != by:
        c, d = ((x.groupby(by, sort=True, dropna=False)[S.COUNT].sum().reset_index() if by else
                 pd.DataFrame({S.COUNT: [int(x[S.COUNT].sum())]})) for x in (c, d))
    if by:
        dsum = d.set_index(by)[S.COUNT].reindex(pd.MultiIndex.from_frame(c[by]) if len(by) > 1 else pd.Index(c[by[0]]))
        dsum = dsum.fillna(0).to_numpy().astype("int64")
    else:
        dsum = d[S.COUNT].to_numpy("int64")
    out = c[by].reset_index(drop=True)
    out["deaths"] = dsum
    out["cases"] = c[S.COUNT].to_numpy("int64")
    out["mi_ratio"] = out["deaths"] / out["cases"]
    return out

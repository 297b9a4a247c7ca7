"""Limited-duration prevalence by the counting method (SEER*Stat).

N-year limited-duration prevalence at an index date is the number of people alive at that
date who were diagnosed in the N years before it (NCI, https://surveillance.cancer.gov/
prevalence/limited.html; Feldman et al. 1986, Gail et al. 1999 Stat Med 18:1473-1483).

Conventions (team decisions, docs/methods.md 5.1):

* The count is taken at the **end of the index date** ``t``: a person diagnosed on ``t``
  counts, a person who died on ``t`` does not. This is SEER*Stat's rule ("only cases
  diagnosed prior to the prevalence date"; alive if death on/after it) with prevalence date
  ``t + 1 day``: the default index date 31 December 2024 equals SEER's 1 January 2025.
* The N-year window is ``(t - N years, t]``, so with ``t`` = 31 December the 1-year window is
  exactly that calendar year.
* Person-based counting (default): for a site, each person counts once, through the first
  tumour of that person in the site group (``first_primary``); for "All sites", through the
  person's earliest tumour (NCI's first-malignant-primary rule, so persons are counted once).
  Tumour-based counting (``counting="tumour"``) counts every tumour.
* Vital status: dead with a known date of death > ``t`` or last contact >= ``t`` counts as
  alive at ``t``; alive with an unknown last-contact date is taken as alive at the closing
  date (passive follow-up by death linkage). Dead with an unknown date of death, or vital
  status unknown without a date, cannot be classified and are reported in ``n_unknown``
  (not counted). Unknown incidence dates cannot be placed in a window and are left out
  (their number is in ``result.attrs["excluded_unknown_incidence_date"]``).
* People lost to follow-up (alive at last contact before ``t``) count 0, or with
  ``adjust_lost=True`` their probability of being alive at ``t`` given alive at last contact,
  S(t - dx) / S(t_L - dx), from Kaplan-Meier curves with monthly intervals in survival cohorts
  of site x sex x age at diagnosis (<60, 60-69, 70+), as SEER*Stat's counting method does
  (Byrne et al. 1992, Stat Med 11:1493; Gail et al. 1999).

Proportions per ``multiplier`` use the population of the index year with Wilson score
limits (Wilson 1927; PHE's PHEindicatormethods ``phe_proportion``); age-standardised
proportions weight the age-specific proportions (age at the index date) by a standard
population with Tiwari et al. (2006) modified gamma limits.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from analytics import intervals as ci
from analytics import rates, standards
from analytics import schema as S

__all__ = [
    "PrevalenceInputError",
    "PrevalenceBase",
    "prevalence_base",
    "prevalence_contributions",
    "prevalence",
    "wilson_limits",
    "standard_weights",
    "DURATIONS",
    "ALL_SITES",
]

DURATIONS = (1, 3, 5, 10, None)   # None = all years available
ALL_SITES = "All sites"
SITE_COLUMNS = (S.SITE_CI5, S.SITE_GLOBOCAN, S.ICD10)
PREVALENCE_COLUMNS = [
    "duration", "count", "n_lost", "n_unknown", "population", "proportion", "lower", "upper",
    "asr", "asr_lower", "asr_upper",
]
DEFAULT_STANDARD = "world_segi1960"
_MONTH = 365.25 / 12


class PrevalenceInputError(ValueError):
    """Records or population that prevalence cannot use; the message says what to fix."""


def wilson_limits(count, total, conf: float = 0.95, multiplier: float = 1.0):
    """Proportion with Wilson score limits (Wilson 1927), through ``analytics.rates.proportion``
    (PHEindicatormethods' method). Returns (value, lower, upper) arrays times ``multiplier``;
    NaN where an input is missing or the denominator is not positive. Fractional (adjusted)
    counts are accepted.
    """
    x = np.atleast_1d(np.asarray(count, dtype=float))
    n = np.atleast_1d(np.asarray(total, dtype=float))
    x, n = np.broadcast_arrays(x, n)
    res = rates.proportion(x, n, conf=conf, multiplier=multiplier, method="wilson")
    v, lo, hi = (res[c].to_numpy(float) for c in ("value", "lower", "upper"))
    if np.ndim(count) == 0 and np.ndim(total) == 0:
        return v[0], lo[0], hi[0]
    return v, lo, hi


def standard_weights(standard=DEFAULT_STANDARD) -> pd.Series:
    """Standard population weights indexed by age-group label (``analytics.standards``).

    ``standard`` is a catalogue name (e.g. "world_segi1960") or a Series/dict of weights by
    age-group label.
    """
    if isinstance(standard, (pd.Series, dict)):
        return pd.Series(standard, dtype=float)
    try:
        st = standards.get_standard(standard)
    except ValueError as e:
        raise PrevalenceInputError(str(e)) from None
    return pd.Series(st["weight"].to_numpy(float), index=st["age_group"].astype(str))


def _age_labels(top_age: int) -> list[str]:
    starts = np.arange(0, top_age + 1, 5)
    return [f"{a}-{a + 4}" for a in starts[:-1]] + [f"{top_age}+"]


def _age_codes(a: np.ndarray, top_age: int) -> np.ndarray:
    """Codes of :func:`_age_labels` for ages ``a`` (float, NaN unknown); -1 where unknown or
    negative (born after the index date: a record diagnosed later has no age group at that date)."""
    n = len(_age_labels(top_age))
    known = np.isfinite(a) & (np.nan_to_num(a, nan=-1.0) >= 0)
    return np.where(known, np.minimum(np.floor(np.nan_to_num(a) / 5), n - 1), -1).astype(int)


def _age_group(age: pd.Series, top_age: int) -> pd.Categorical:
    a = age.to_numpy(dtype=float, na_value=np.nan)
    return pd.Categorical.from_codes(_age_codes(a, top_age), categories=_age_labels(top_age))


def _check_columns(records: pd.DataFrame, need: list[str]):
    missing = [c for c in need if c not in records.columns]
    if missing:
        raise PrevalenceInputError(
            f"The records have no column(s) {missing}, needed for prevalence "
            "(load them with analytics.pipeline.load_registry or map those columns)."
        )


STATUSES = ("alive", "dead", "lost", "unknown", "after")
ALIVE, DEAD, LOST, UNKNOWN, AFTER = range(len(STATUSES))


@dataclasses.dataclass(frozen=True)
class PrevalenceBase:
    """What prevalence needs of the records whatever the index date (:func:`prevalence_base`):
    the units counted (tumours, or for person counting each person's first tumour of each site
    group and earliest tumour), sorted by person, diagnosis date and tumour, with the arrays read
    at every index date. :func:`prevalence` evaluates it at any index date (pass it as
    ``records``) without going through the records again.

    ``frame``: the units with the record columns kept (``all_sites``, ``site_row`` added);
    ``unknown_dx``: counted records without an incidence date (left out); ``last_year``: the
    latest year of diagnosis (the default index year; None without records); ``codes``: per
    tabulation column, integer codes of each unit (-1 missing), its labels and whether it is
    tabulated as categories (:func:`_tabulation_codes`).
    """

    frame: pd.DataFrame
    counting: str
    site: str
    key: str | None
    unknown_dx: int
    last_year: int | None
    dx: np.ndarray             # datetime64, diagnosis
    last: np.ndarray           # datetime64 (NaT unknown), last contact or death
    dead: np.ndarray           # vital status 2
    alive_undated: np.ndarray  # vital status 1 without a last-contact date
    birth: np.ndarray          # (3, n) float year, month, day of birth (NaN unknown)
    age_dx: np.ndarray         # float age at diagnosis (NaN unknown)
    codes: dict


def _tabulation_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index, bool]:
    """Integer codes (-1 missing), labels and "categorical?" of a column prevalence is tabulated
    by: a text column as categories (categorical columns keep theirs), a numeric one by its
    distinct values (missing among them)."""
    if pd.api.types.is_numeric_dtype(values):
        codes, uniques = pd.factorize(values.array, use_na_sentinel=False)
        return np.asarray(codes, dtype=np.int64), pd.Index(uniques), False
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    return cat.cat.codes.to_numpy(dtype=np.int64), cat.cat.categories, True


def prevalence_base(records: pd.DataFrame, *, by=(S.SITE_CI5, S.SEX), counting: str = "person",
                    key: str | None = None, site: str | None = None, extra_columns=()) -> PrevalenceBase:
    """The index-date-free part of :func:`prevalence` and :func:`prevalence_contributions`
    (:class:`PrevalenceBase`): counted records with an incidence date, sorted by person, diagnosis
    date and tumour; for person counting only each person's first tumour per site group
    (``first_primary``) and earliest tumour. ``by``: the columns prevalence will be tabulated by
    (``age_group`` is the age at the index date, not a record column); ``key``: a column of
    record keys for public output; ``site``: the site column (default: the one in ``by``)."""
    by = [by] if isinstance(by, str) else list(by)
    if site is None:
        site = next((c for c in by if c in SITE_COLUMNS), S.SITE_CI5)
        site = site if site in records.columns else S.SITE_CI5
    tab = [b for b in by if b != S.AGE_GROUP]
    need = [S.PATIENT_ID, S.INCIDENCE_DATE, S.VITAL_STATUS, S.LAST_CONTACT, site]
    _check_columns(records, need)
    if counting not in ("person", "tumour"):
        raise PrevalenceInputError(f"counting must be 'person' or 'tumour', not {counting!r}.")
    keep = [c for c in dict.fromkeys(
        need + [S.TUMOUR_ID, S.SEX, S.BIRTH_DATE, S.AGE, S.REGION, S.FIRST_PRIMARY, S.INCLUDED, S.YEAR]
        + tab + ([key] if key else []) + list(extra_columns)) if c in records.columns]
    r = records[keep].copy()
    if S.INCLUDED in r.columns:
        r = r[r[S.INCLUDED].fillna(False).astype(bool)]
    dx = pd.to_datetime(r[S.INCIDENCE_DATE])
    unknown_dx = int(dx.isna().sum())
    r = r[dx.notna()].copy()
    r[S.INCIDENCE_DATE] = pd.to_datetime(r[S.INCIDENCE_DATE])
    last_year = None
    if not r.empty:
        last_year = int(r[S.YEAR].max() if S.YEAR in r.columns else r[S.INCIDENCE_DATE].dt.year.max())

    # Integer codes make the sort and the duplicate search cheap on string ids.
    pid = pd.factorize(r[S.PATIENT_ID])[0]
    tid = pd.factorize(r[S.TUMOUR_ID], sort=True)[0] if S.TUMOUR_ID in r.columns else np.zeros(len(r), int)
    order = np.lexsort((tid, r[S.INCIDENCE_DATE].to_numpy(), pid))
    r = r.iloc[order]
    pid = pid[order]
    # The person's earliest tumour stands for the person in the all-sites count.
    r["all_sites"] = ~pd.Series(pid).duplicated(keep="first").to_numpy()
    if counting == "person":
        if S.FIRST_PRIMARY in r.columns:
            first = r[S.FIRST_PRIMARY].fillna(False).astype(bool)
        else:
            sid = pd.factorize(r[site])[0]
            first = pd.Series(~pd.DataFrame({"p": pid, "s": sid}).duplicated(keep="first").to_numpy(),
                              index=r.index)
        # A person's earliest tumour is always the first of its own site.
        r = r[first | r["all_sites"]].copy()
        r["site_row"] = first.loc[r.index].to_numpy()
    else:
        r["site_row"] = True

    last = pd.to_datetime(r[S.LAST_CONTACT])
    vs = r[S.VITAL_STATUS].astype("Int8")
    if S.BIRTH_DATE in r.columns and r[S.BIRTH_DATE].notna().any():
        b = pd.to_datetime(r[S.BIRTH_DATE])
        birth = np.stack([b.dt.year.to_numpy(float, na_value=np.nan), b.dt.month.to_numpy(float, na_value=np.nan),
                          b.dt.day.to_numpy(float, na_value=np.nan)])
    else:
        birth = np.full((3, len(r)), np.nan)
    age_dx = (r[S.AGE].astype("Float64").to_numpy(dtype=float, na_value=np.nan) if S.AGE in r.columns
              else np.full(len(r), np.nan))
    codes = {c: _tabulation_codes(r[c]) for c in tab if c in r.columns}
    return PrevalenceBase(frame=r, counting=counting, site=site, key=key, unknown_dx=unknown_dx,
                          last_year=last_year, dx=r[S.INCIDENCE_DATE].to_numpy(), last=last.to_numpy(),
                          dead=vs.eq(2).fillna(False).to_numpy(dtype=bool),
                          alive_undated=vs.eq(1).fillna(False).to_numpy(dtype=bool) & last.isna().to_numpy(),
                          birth=birth, age_dx=age_dx, codes=codes)


def _index_date(base: PrevalenceBase, index_date) -> pd.Timestamp:
    if index_date is not None:
        return pd.Timestamp(index_date).normalize()
    if base.last_year is None:
        raise PrevalenceInputError("No records with an incidence date: prevalence needs them.")
    return pd.Timestamp(base.last_year, 12, 31)


def _days_to(t: pd.Timestamp, dates: np.ndarray) -> np.ndarray:
    """Whole days from ``dates`` to ``t`` (``Timedelta.days``: floor)."""
    return (np.datetime64(t) - dates) // np.timedelta64(1, "D")


def _status_at(base: PrevalenceBase, t: pd.Timestamp, adjust_lost: bool, top_age: int) -> dict:
    """Each unit at the end of ``t``: status code (:data:`STATUSES`), contribution, age at ``t``
    and its age-group code (module docstring)."""
    t64 = np.datetime64(t)
    last, dead = base.last, base.dead
    known = ~np.isnat(last)
    status = np.full(len(last), UNKNOWN, dtype=np.int8)
    # Dead: alive at the end of t only if the death came after t.
    dk = dead & known
    status[dk] = np.where(last[dk] > t64, ALIVE, DEAD)
    alive_like = ~dead & known
    status[alive_like] = np.where(last[alive_like] >= t64, ALIVE, LOST)
    status[base.alive_undated] = ALIVE
    status[base.dx > t64] = AFTER
    contrib = np.where(status == ALIVE, 1.0, 0.0)
    if adjust_lost and (status == LOST).any():
        r = base.frame.assign(status=pd.Categorical.from_codes(status, categories=list(STATUSES)))
        contrib = contrib + _lost_adjustment(r, t, base.site)
    by_, bm, bd = base.birth
    had_bday = (bm < t.month) | ((bm == t.month) & (bd <= t.day))
    age_t = t.year - by_ - (~had_bday).astype(int)
    from_dx = base.age_dx + np.floor(_days_to(t, base.dx) / 365.25)
    age_t = np.where(np.isnan(age_t), from_dx, age_t)
    return {"status": status, "contribution": contrib, "age": age_t, "age_code": _age_codes(age_t, top_age)}


def prevalence_contributions(
    records: pd.DataFrame,
    *,
    index_date=None,
    counting: str = "person",
    adjust_lost: bool = False,
    site: str = S.SITE_CI5,
    top_age: int = 85,
    extra_columns=(),
) -> pd.DataFrame:
    """One row per counted unit (person-site or tumour) with its status and contribution at the
    end of ``index_date`` (see the module docstring for the rules).

    Columns: the record's own columns plus ``index_date``, ``years_since_dx`` (float),
    ``age_at_index``, ``age_group_index``, ``status`` (alive / dead / lost / unknown / after),
    ``contribution`` (1, 0 or the conditional survival when ``adjust_lost``), and
    ``all_sites`` (True for the rows that represent a person in the all-sites count).
    """
    base = prevalence_base(records, by=[], counting=counting, site=site, extra_columns=extra_columns)
    t = _index_date(base, index_date)
    at = _status_at(base, t, adjust_lost, top_age)
    r = base.frame.copy()
    r["status"] = pd.Categorical.from_codes(at["status"], categories=list(STATUSES))
    r["index_date"] = t
    r["years_since_dx"] = _days_to(t, base.dx) / 365.25
    r["contribution"] = at["contribution"]
    r["age_at_index"] = pd.array(at["age"], dtype="Float64")
    r["age_group_index"] = pd.Categorical.from_codes(at["age_code"], categories=_age_labels(top_age))
    r.attrs["excluded_unknown_incidence_date"] = base.unknown_dx
    r.attrs["index_date"] = t
    return r


def _lost_adjustment(r: pd.DataFrame, t: pd.Timestamp, site: str) -> np.ndarray:
    """Conditional Kaplan-Meier survival S(t - dx) / S(t_L - dx) for people lost to follow-up,
    monthly intervals, cohorts site x sex x age at diagnosis (<60, 60-69, 70+) (SEER*Stat)."""
    dx = r[S.INCIDENCE_DATE]
    last = pd.to_datetime(r[S.LAST_CONTACT])
    age = (r[S.AGE].astype("Float64").to_numpy(dtype=float, na_value=np.nan) if S.AGE in r.columns
           else np.full(len(r), np.nan))
    agec = np.select([age < 60, age < 70, age >= 70], ["<60", "60-69", "70+"], "unknown")
    sex = r[S.SEX].astype("str") if S.SEX in r.columns else "all"
    cohort = r[site].astype("str") + "|" + pd.Series(sex, index=r.index).astype(str) + "|" + agec
    dead = r[S.VITAL_STATUS].astype("Int8").eq(2).fillna(False)
    usable = last.notna() & (last >= dx)
    month = np.floor((last - dx).dt.days / _MONTH)
    km_in = pd.DataFrame({"cohort": cohort, "month": month, "event": dead})[usable]
    ev = km_in.groupby(["cohort", "month"]).agg(d=("event", "sum"), c=("event", "size")).reset_index()
    ev = ev.sort_values(["cohort", "month"], ascending=[True, False])
    ev["n"] = ev.groupby("cohort")["c"].cumsum()          # at risk: time >= month
    ev = ev.sort_values(["cohort", "month"])
    ev["s_end"] = (1 - ev["d"] / ev["n"]).groupby(ev["cohort"]).cumprod()

    def s_start(months: pd.Series) -> np.ndarray:
        q = pd.DataFrame({"cohort": cohort[months.index], "month": months.astype(float),
                          "_i": np.arange(len(months))}).sort_values("month")
        m = pd.merge_asof(q, ev[["cohort", "month", "s_end"]].sort_values("month"), on="month",
                          by="cohort", allow_exact_matches=False)
        return m.sort_values("_i")["s_end"].fillna(1.0).to_numpy()

    lost = (r["status"] == "lost").to_numpy() & usable.to_numpy()
    out = np.zeros(len(r))
    if lost.any():
        idx = r.index[lost]
        m_p = np.floor((t - dx[idx]).dt.days / _MONTH)
        m_l = month[idx]
        sp, sl = s_start(m_p), s_start(m_l)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lost] = np.where(sl > 0, sp / sl, 0.0)
    return out


def _tiwari(y, v, wbar, w2bar, conf):
    """Tiwari, Clegg & Zou (2006, SMMR 15:547) modified gamma limits of a weighted sum of
    Poisson counts with value y, variance v and per-stratum weights omega: the upper limit adds
    the mean weight ``wbar`` to y and the mean *squared* weight ``w2bar`` to v (R dsrTest
    ``wmtype="tcz"``), through the same helpers as ``rates.dsr(method="tiwari")``."""
    return ci.gamma_lower(y, v, conf), ci.gamma_upper(y, v, wbar, w2bar, conf)


MAX_DENSE_CELLS = 2_000_000   # cells summed with bincount over the full grid up to this size


def _cell_parts(base: PrevalenceBase, keep: np.ndarray, site: str, has_site: bool,
                all_sites: bool) -> list[tuple[np.ndarray, bool]]:
    """The units each row of the table counts: (positions, True for the "All sites" rows)."""
    frame = base.frame
    if not has_site:
        rows = keep & frame["all_sites"].to_numpy(bool) if base.counting == "person" else keep
        return [(np.flatnonzero(rows), False)]
    parts = [(np.flatnonzero(keep & frame["site_row"].to_numpy(bool)), False)]
    if all_sites:
        parts.append((np.flatnonzero(keep & frame["all_sites"].to_numpy(bool)), True))
    return parts


def _cells(base: PrevalenceBase, at: dict, keep: np.ndarray, by: list[str], site: str, all_sites: bool,
           labels: list[str], durs: list, t: pd.Timestamp, age_labels: list[str]) -> pd.DataFrame:
    """The units of ``keep`` summed per cell of ``by`` x duration x age group at ``t`` (``_agi``):
    ``contribution``, ``_lost`` and ``_unk`` (and, with ``base.key``, the key sums ``_ck``,
    ``_lk``, ``_uk`` of the units in each), one row per cell holding a unit. Vectorised: each
    unit's cell is an integer code, the sums are ``np.bincount`` over the codes."""
    has_site = site in by
    cols = []       # (column, codes of the units (-1 missing), labels, categorical?)
    for b in by:
        codes, labs, is_cat = ((at["age_code"], pd.Index(age_labels), True) if b == S.AGE_GROUP
                               else base.codes[b])
        if b == site and has_site and all_sites:
            labs = labs.append(pd.Index([ALL_SITES]))
        cols.append((b, codes, labs, is_cat))
    sizes = [len(labs) + 1 for _, _, labs, _ in cols]      # the last code of each column: missing
    nd, na = len(durs), len(age_labels) + 1
    age = np.where(at["age_code"] < 0, na - 1, at["age_code"])
    status = at["status"]
    weights = {"_n": np.ones(len(status)), "contribution": at["contribution"],
               "_lost": (status == LOST).astype(float), "_unk": (status == UNKNOWN).astype(float)}
    if base.key is not None:
        kv = base.frame[base.key].to_numpy(dtype=np.int64)
        weights |= {"_ck": np.where(weights["contribution"] > 0, kv, 0), "_lk": np.where(status == LOST, kv, 0),
                    "_uk": np.where(status == UNKNOWN, kv, 0)}
    # Window (t - N years, t]: calendar years via DateOffset. "All years" has no lower bound.
    starts = [None if d is None else np.datetime64(t - pd.DateOffset(years=int(d))) for d in durs]
    code_parts, unit_parts = [], []
    for rows, total in _cell_parts(base, keep, site, has_site, all_sites):
        g = np.zeros(len(rows), dtype=np.int64)
        for (b, codes, labs, _), size in zip(cols, sizes):
            c = np.full(len(rows), len(labs) - 1) if (total and b == site) else codes[rows]
            g = g * size + np.where(c < 0, size - 1, c)
        dx = base.dx[rows]
        for k, s in enumerate(starts):
            inwin = slice(None) if s is None else dx > s
            code_parts.append((g[inwin] * nd + k) * na + age[rows][inwin])
            unit_parts.append(rows[inwin])
    code, units = np.concatenate(code_parts), np.concatenate(unit_parts)
    n_cells = int(np.prod(sizes, dtype=np.int64)) * nd * na
    if n_cells <= MAX_DENSE_CELLS:
        sums = {k: np.bincount(code, weights=w[units], minlength=n_cells) for k, w in weights.items()}
        hit = np.flatnonzero(sums["_n"] > 0)
        sums = {k: v[hit] for k, v in sums.items()}
    else:
        hit, inv = np.unique(code, return_inverse=True)
        sums = {k: np.bincount(inv, weights=w[units], minlength=len(hit)) for k, w in weights.items()}
    a, k, g = hit % na, (hit // na) % nd, hit // (na * nd)
    out = {}
    for (b, _, labs, is_cat), size in reversed(list(zip(cols, sizes))):
        c = g % size
        g = g // size
        out[b] = (pd.Categorical.from_codes(np.where(c == size - 1, -1, c), categories=labs) if is_cat
                  else labs.take(c))
    cc = pd.DataFrame({b: out[b] for b in by})
    cc["duration"] = pd.Categorical.from_codes(k, categories=labels)
    cc["_agi"] = pd.Categorical.from_codes(np.where(a == na - 1, -1, a), categories=age_labels)
    for name in weights:
        if name != "_n":
            cc[name] = sums[name]
    return cc


def prevalence(
    records: pd.DataFrame | PrevalenceBase,
    population: pd.DataFrame | None = None,
    *,
    index_date=None,
    durations=DURATIONS,
    by=(S.SITE_CI5, S.SEX),
    counting: str = "person",
    adjust_lost: bool = False,
    all_sites: bool = True,
    conf: float = 0.95,
    multiplier: float = 100000,
    standard=DEFAULT_STANDARD,
    top_age: int = 85,
    ages=None,
    key: str | None = None,
    perturb=None,
) -> pd.DataFrame:
    """N-year limited-duration prevalence by the counting method (SEER*Stat; Gail et al. 1999).

    ``records``: the records frame of ``analytics.pipeline.load_registry(...).records``, or its
    :func:`prevalence_base` (prepared once for ``by``, ``counting`` and ``key``, then evaluated at
    any index date without going through the records again).
    ``population``: schema.POPULATION_COLUMNS; the index year's population is the denominator
    (the latest year not after it when that year is missing). ``by`` may hold any record column
    (site, sex, region_code) and ``"age_group"`` (age at the index date). ``durations``: years,
    ``None`` = all years available. With ``all_sites`` and a site column in ``by`` an
    "All sites" row counts each person once.

    Returns a tidy frame: by..., duration ("1", "3", ..., "all"), count (persons or tumours;
    fractional with ``adjust_lost``), n_lost, n_unknown, population, proportion, lower, upper
    (Wilson, per ``multiplier``), asr, asr_lower, asr_upper (age-standardised to ``standard``,
    Tiwari limits; NaN when ``age_group`` is in ``by`` or there is no population).
    ``ages``: age-group labels (age at the index date) to keep, e.g. ["50-54", ..., "85+"];
    numerator and denominator are both restricted, people of unknown age are left out and the
    ASR is truncated to those ages (standard weights renormalised, as a truncated ASR). None =
    all ages, people of unknown age included in counts.

    Public output (``analytics.disclosure``): with ``key`` (a column of record keys) and
    ``perturb`` (``f(counts, key_sums) -> published counts``, e.g. ``DisclosureRule.noisy``) the
    counts, lost and unknown of each cell by = ``by`` x duration x age group at the index date
    are perturbed once, and every figure (totals over ages, proportions, ASRs) is computed from
    those published cells. Needs whole counts (``adjust_lost=False``).
    """
    by = [by] if isinstance(by, str) else list(by)
    if isinstance(records, PrevalenceBase):
        base = records
        if base.counting != counting or base.key != key:
            raise ValueError(f"prevalence: the PrevalenceBase was prepared for counting={base.counting!r}, "
                             f"key={base.key!r}, not counting={counting!r}, key={key!r}")
    else:
        base = prevalence_base(records, by=by, counting=counting, key=key)
    site = next((c for c in by if c in SITE_COLUMNS), S.SITE_CI5)
    t = _index_date(base, index_date)
    at = _status_at(base, t, adjust_lost, top_age)
    keep = at["status"] != AFTER
    age_labels = _age_labels(top_age)
    if ages is not None:
        ages = [str(a) for a in ages]
        keep &= np.isin(at["age_code"], [i for i, a in enumerate(age_labels) if a in set(ages)])
        if population is not None and len(population) and S.AGE_GROUP in population.columns:
            population = population[population[S.AGE_GROUP].astype(str).isin(ages)]
    for col in by:
        if col != S.AGE_GROUP and col not in base.codes:
            raise PrevalenceInputError(f"Cannot tabulate prevalence by {col!r}: the records have no such column.")
    cat_cols = [b for b in by if b != S.AGE_GROUP and base.codes[b][2]]
    if perturb is not None:
        if key is None:
            raise PrevalenceInputError("perturbed prevalence needs a column of record keys (key=...).")
        alive = at["contribution"][keep]
        if ((alive != 0) & (alive != 1)).any():
            raise PrevalenceInputError("perturbed prevalence needs whole counts: use adjust_lost=False.")

    durs = list(durations)
    labels = ["all" if d is None else str(int(d)) for d in durs]
    cc = _cells(base, at, keep, by, site, all_sites, labels, durs, t, age_labels)
    keys = by + ["duration"]
    if perturb is not None:
        cc = _perturbed_cells(cc, keys, perturb)
    out = cc.groupby(keys, dropna=False, sort=True, observed=True).agg(
        count=("contribution", "sum"), n_lost=("_lost", "sum"), n_unknown=("_unk", "sum")
    ).reset_index()
    for b in cat_cols + ["duration"]:
        out[b] = out[b].astype(str)
    # Full grid of durations so a stratum with cases in "all" but none in "1" shows 0.
    grid = out[by].drop_duplicates().merge(pd.DataFrame({"duration": labels}), how="cross")
    out = grid.merge(out, on=keys, how="left").fillna({"count": 0.0, "n_lost": 0.0, "n_unknown": 0.0})
    out["n_lost"] = out["n_lost"].astype(int)
    out["n_unknown"] = out["n_unknown"].astype(int)

    out["population"] = np.nan
    out["asr"] = out["asr_lower"] = out["asr_upper"] = np.nan
    if population is not None and len(population):
        pop = _population_at(population, t)
        pkeys = [k for k in by if k not in SITE_COLUMNS]
        for k in pkeys:
            if k not in pop.columns:
                raise PrevalenceInputError(f"The population has no column {k!r} to match prevalence by {k!r}.")
        if S.SEX in pkeys:
            out[S.SEX] = out[S.SEX].astype("Int64")
            pop = pop.assign(**{S.SEX: pop[S.SEX].astype("Int64")})
        ptot = pop.groupby(pkeys, dropna=False)[S.POPULATION].sum().rename("population").reset_index() \
            if pkeys else pd.DataFrame({"population": [pop[S.POPULATION].sum()]})
        out = out.drop(columns="population")
        out = out.merge(ptot, on=pkeys, how="left") if pkeys else out.assign(population=ptot["population"].iloc[0])
        if S.AGE_GROUP not in by:
            out = _add_asr(out, cc, pop, by, pkeys, standard, conf, multiplier, top_age)
    out["proportion"], out["lower"], out["upper"] = wilson_limits(
        out["count"], out["population"], conf=conf, multiplier=multiplier)
    order = {lab: i for i, lab in enumerate(labels)}
    out = out.sort_values(by + ["duration"], key=lambda s: s.map(order) if s.name == "duration" else s,
                          kind="stable").reset_index(drop=True)
    out.attrs["index_date"] = t.date().isoformat()
    out.attrs["excluded_unknown_incidence_date"] = base.unknown_dx
    out.attrs["counting"] = counting
    return out[by + PREVALENCE_COLUMNS]


def _perturbed_cells(cc: pd.DataFrame, keys: list, perturb) -> pd.DataFrame:
    """Cells (keys x age group at the index date, :func:`_cells` with key sums) whose count, lost
    and unknown are the published values ``perturb(count, key sum)``."""
    out = cc[keys + ["_agi"]].copy()
    for col, ksum in (("contribution", "_ck"), ("_lost", "_lk"), ("_unk", "_uk")):
        out[col] = np.asarray(perturb(cc[col].to_numpy(dtype=np.int64), cc[ksum].to_numpy(dtype=np.int64)),
                              dtype=float)
    return out


def _population_at(population: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    _check_pop = [c for c in (S.YEAR, S.AGE_GROUP, S.POPULATION) if c not in population.columns]
    if _check_pop:
        raise PrevalenceInputError(f"The population table has no column(s) {_check_pop}.")
    years = population[S.YEAR].dropna().astype(int)
    ok = years[years <= t.year]
    if ok.empty:
        raise PrevalenceInputError(
            f"The population table has no year on or before the index year {t.year} "
            f"(it covers {years.min()}-{years.max()})."
        )
    return population[population[S.YEAR].astype(int) == ok.max()]


def _add_asr(out, cc, pop, by, pkeys, standard, conf, multiplier, top_age):
    """Directly standardised proportion over age at the index date (weights renormalised over
    the age groups with population), Tiwari et al. (2006) limits."""
    w = standard_weights(standard)
    keys = by + ["duration"]
    num = cc.groupby(keys + ["_agi"], dropna=False, observed=True)["contribution"].sum().rename("x").reset_index()
    for k in keys + ["_agi"]:
        if isinstance(num[k].dtype, pd.CategoricalDtype):
            num[k] = num[k].astype(str)
    strata = out[keys].merge(pd.DataFrame({"_agi": w.index.astype(str)}), how="cross")
    num = strata.merge(num, on=keys + ["_agi"], how="left").fillna({"x": 0.0})
    pa = pop.groupby(pkeys + [S.AGE_GROUP], dropna=False)[S.POPULATION].sum().rename("p").reset_index()
    pa = pa.rename(columns={S.AGE_GROUP: "_agi"})
    num = num.merge(pa, on=pkeys + ["_agi"], how="left")
    num["w"] = num["_agi"].map(w).astype(float)
    num = num[(num["p"] > 0) & num["w"].notna()]
    if num.empty:
        return out
    num["wi"] = num["w"] / num.groupby(keys, dropna=False)["w"].transform("sum") / num["p"]
    num["y"] = num["wi"] * num["x"]
    num["wi2"] = num["wi"] ** 2
    num["v"] = num["wi2"] * num["x"]
    agg = num.groupby(keys, dropna=False).agg(y=("y", "sum"), v=("v", "sum"), wbar=("wi", "mean"),
                                              w2bar=("wi2", "mean")).reset_index()
    lo, hi = _tiwari(agg["y"].to_numpy(), agg["v"].to_numpy(), agg["wbar"].to_numpy(),
                     agg["w2bar"].to_numpy(), conf)
    agg["asr"] = agg["y"] * multiplier
    agg["asr_lower"] = lo * multiplier
    agg["asr_upper"] = hi * multiplier
    out = out.drop(columns=["asr", "asr_lower", "asr_upper"]).merge(
        agg[keys + ["asr", "asr_lower", "asr_upper"]], on=keys, how="left")
    return out

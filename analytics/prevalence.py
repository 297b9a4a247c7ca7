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

import numpy as np
import pandas as pd

from analytics import intervals as ci
from analytics import rates, standards
from analytics import schema as S

__all__ = [
    "PrevalenceInputError",
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


def _age_group(age: pd.Series, top_age: int) -> pd.Categorical:
    starts = np.arange(0, top_age + 1, 5)
    labels = [f"{a}-{a + 4}" for a in starts[:-1]] + [f"{top_age}+"]
    a = age.to_numpy(dtype=float, na_value=np.nan)
    code = np.where(np.isfinite(a), np.minimum(np.floor(np.nan_to_num(a) / 5), len(labels) - 1), -1).astype(int)
    return pd.Categorical.from_codes(code, categories=labels)


def _check_columns(records: pd.DataFrame, need: list[str]):
    missing = [c for c in need if c not in records.columns]
    if missing:
        raise PrevalenceInputError(
            f"The records have no column(s) {missing}, needed for prevalence "
            "(load them with analytics.pipeline.load_registry or map those columns)."
        )


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
    need = [S.PATIENT_ID, S.INCIDENCE_DATE, S.VITAL_STATUS, S.LAST_CONTACT, site]
    _check_columns(records, need)
    if counting not in ("person", "tumour"):
        raise PrevalenceInputError(f"counting must be 'person' or 'tumour', not {counting!r}.")
    keep = [c for c in dict.fromkeys(
        need + [S.TUMOUR_ID, S.SEX, S.BIRTH_DATE, S.AGE, S.REGION, S.FIRST_PRIMARY, S.INCLUDED, S.YEAR]
        + list(extra_columns)) if c in records.columns]
    r = records[keep].copy()
    if S.INCLUDED in r.columns:
        r = r[r[S.INCLUDED].fillna(False).astype(bool)]
    dx = pd.to_datetime(r[S.INCIDENCE_DATE])
    unknown_dx = int(dx.isna().sum())
    r = r[dx.notna()].copy()
    r[S.INCIDENCE_DATE] = pd.to_datetime(r[S.INCIDENCE_DATE])
    if index_date is None:
        if r.empty:
            raise PrevalenceInputError("No records with an incidence date: prevalence needs them.")
        yr = r[S.YEAR].max() if S.YEAR in r.columns else r[S.INCIDENCE_DATE].dt.year.max()
        t = pd.Timestamp(int(yr), 12, 31)
    else:
        t = pd.Timestamp(index_date).normalize()

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

    dxd = r[S.INCIDENCE_DATE]
    last = pd.to_datetime(r[S.LAST_CONTACT])
    vs = r[S.VITAL_STATUS].astype("Int8")
    dead = vs.eq(2).fillna(False).to_numpy()
    known_date = last.notna().to_numpy()
    status = np.full(len(r), "unknown", dtype=object)
    after = (dxd > t).to_numpy()
    # Dead: alive at the end of t only if the death came after t.
    status[dead & known_date] = np.where((last > t).to_numpy()[dead & known_date], "alive", "dead")
    alive_like = ~dead & known_date
    status[alive_like] = np.where((last >= t).to_numpy()[alive_like], "alive", "lost")
    status[vs.eq(1).fillna(False).to_numpy() & ~known_date] = "alive"
    status[after] = "after"
    r["status"] = pd.Categorical(status, categories=["alive", "dead", "lost", "unknown", "after"])
    r["index_date"] = t
    r["years_since_dx"] = (t - dxd).dt.days.to_numpy() / 365.25
    contrib = np.where(status == "alive", 1.0, 0.0)
    if adjust_lost and (status == "lost").any():
        contrib = contrib + _lost_adjustment(r, t, site)
    r["contribution"] = contrib

    if S.BIRTH_DATE in r.columns and r[S.BIRTH_DATE].notna().any():
        b = pd.to_datetime(r[S.BIRTH_DATE])
        had_bday = (b.dt.month < t.month) | ((b.dt.month == t.month) & (b.dt.day <= t.day))
        age_t = (t.year - b.dt.year - (~had_bday).astype(int)).astype("Float64")
    else:
        age_t = pd.Series(np.nan, index=r.index, dtype="Float64")
    if S.AGE in r.columns:
        from_dx = r[S.AGE].astype("Float64") + np.floor((t - dxd).dt.days / 365.25)
        age_t = age_t.fillna(from_dx)
    r["age_at_index"] = age_t
    r["age_group_index"] = _age_group(age_t, top_age)
    r.attrs["excluded_unknown_incidence_date"] = unknown_dx
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


def prevalence(
    records: pd.DataFrame,
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
) -> pd.DataFrame:
    """N-year limited-duration prevalence by the counting method (SEER*Stat; Gail et al. 1999).

    ``records``: the records frame of ``analytics.pipeline.load_registry(...).records``.
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
    """
    by = [by] if isinstance(by, str) else list(by)
    site = next((c for c in by if c in SITE_COLUMNS), S.SITE_CI5)
    c = prevalence_contributions(records, index_date=index_date, counting=counting,
                                 adjust_lost=adjust_lost, site=site if site in records.columns else S.SITE_CI5,
                                 top_age=top_age, extra_columns=[b for b in by if b != S.AGE_GROUP])
    t = c.attrs["index_date"]
    c = c.rename(columns={"age_group_index": "_agi"})
    if ages is not None:
        ages = [str(a) for a in ages]
        c = c[c["_agi"].astype(str).isin(ages)]
        if population is not None and len(population) and S.AGE_GROUP in population.columns:
            population = population[population[S.AGE_GROUP].astype(str).isin(ages)]
    if S.AGE_GROUP in by:
        c[S.AGE_GROUP] = c["_agi"]
    for col in by:
        if col not in c.columns:
            raise PrevalenceInputError(f"Cannot tabulate prevalence by {col!r}: the records have no such column.")

    # Categoricals keep the copies below cheap (string columns are Arrow-backed in pandas 3).
    cat_cols = [b for b in by if b != S.AGE_GROUP and not pd.api.types.is_numeric_dtype(c[b])]
    for b in cat_cols:
        c[b] = c[b].astype("category")
    frames = []
    has_site = site in by
    if has_site:
        frames.append(c[c["site_row"]])
        if all_sites:
            tot = c[c["all_sites"]].copy()
            tot[site] = pd.Categorical([ALL_SITES] * len(tot),
                                       categories=list(c[site].cat.categories) + [ALL_SITES])
            frames[0] = frames[0].assign(**{site: frames[0][site].cat.add_categories([ALL_SITES])})
            frames.append(tot)
    else:
        frames.append(c[c["all_sites"]] if counting == "person" else c)
    c = pd.concat(frames, ignore_index=True)
    c = c[c["status"] != "after"]

    durs = list(durations)
    labels = ["all" if d is None else str(int(d)) for d in durs]
    # Window (t - N years, t]: calendar years via DateOffset, vectorised over durations.
    # "All years" has no lower bound. (pd.Timestamp.min used to stand for it: as a numpy
    # datetime64[us] scalar it overflowed when compared with nanosecond dates and counted nobody.)
    starts = [None if d is None else t - pd.DateOffset(years=int(d)) for d in durs]
    dx_ser = c[S.INCIDENCE_DATE]
    inwin = np.stack([np.ones(len(c), bool) if s is None else (dx_ser > s).to_numpy(bool) for s in starts],
                     axis=1)
    flat = inwin.reshape(-1)
    rows = np.repeat(np.arange(len(c)), len(durs))[flat]
    dcode = np.tile(np.arange(len(durs)), len(c))[flat]
    cols = list(dict.fromkeys(by + ["contribution", "status", "_agi"]))
    cc = c[cols].iloc[rows].reset_index(drop=True)
    cc["duration"] = pd.Categorical.from_codes(dcode, categories=labels)
    cc["_lost"] = (cc["status"] == "lost").astype(float)
    cc["_unk"] = (cc["status"] == "unknown").astype(float)

    keys = by + ["duration"]
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
    out.attrs["excluded_unknown_incidence_date"] = c.attrs.get("excluded_unknown_incidence_date", 0)
    out.attrs["counting"] = counting
    return out[by + PREVALENCE_COLUMNS]


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

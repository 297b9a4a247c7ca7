"""Shared base of the survival estimators: inputs, approaches, the fitted curve and its report.

Every estimator (:mod:`.kaplan_meier`, :mod:`.ederer2`, :mod:`.pohar_perme`) works on the same
prepared input (:class:`SurvivalInput`): one row per tumour with follow-up ``time`` in whole days,
``status`` (1 died, 0 censored), exact ``age`` in years, ``sex`` (1, 2), decimal calendar ``year``
of diagnosis, and optional stratum columns. The three ways of choosing the follow-up
(Brenner & Gefeller 1996, Cancer 78:2004-2010) are applied here, before any estimator runs:

* ``cohort``: patients diagnosed in ``period`` (whole calendar years, inclusive; None = all),
  followed to the end of their follow-up; an estimate at t years is reported only when every
  patient of the cohort could have been followed for t years (potential follow-up: the data's
  closing date, the latest end of follow-up, minus the latest diagnosis date).
* ``complete``: the same patients, every available time reported (recent diagnoses add their
  shorter follow-up).
* ``period``: follow-up inside the calendar window ``period`` only, whatever the year of
  diagnosis: a patient enters at the window's start (left truncation, delayed entry) and is
  censored at its end. With times counted in days as relsurv counts them (day ``d`` of
  follow-up covers the time (d, d+1]), a patient at risk on the window's first day ``s`` is
  observed on (s - diagnosis day, ...]: deaths dated on 1 January of the window's first year are
  before the window, those dated on 1 January after its last year are in it.

A fitted curve steps at every distinct observed time (deaths and censorings); the value
reported at t years is the value at the largest observed time <= 365.241 t, and past the last
observed time there is no row (relsurv's ``rs.surv`` and ``survival::summary.survfit``).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.241          # relsurv's year: ages and report times in days
METHODS = ("pohar_perme", "ederer2", "observed")
APPROACHES = ("cohort", "complete", "period")
DEFAULT_TIMES = (1, 3, 5)
REQUIRED = ("time", "status", "age", "sex", "year")
RESULT_COLUMNS = ["time", "estimate", "lower", "upper", "n_risk", "events", "se"]   # the columns, then se
_EPOCH_YEAR = 1970


class SurvivalInputError(ValueError):
    """Data, life table or arguments that the survival estimators cannot use; the message says
    what to fix."""


# --- dates ----------------------------------------------------------------------------------
def jan1(year: np.ndarray) -> np.ndarray:
    """Day number (days since 1970-01-01) of 1 January of each year."""
    y = np.asarray(year, dtype=np.int64)
    return (y - _EPOCH_YEAR).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def decimal_year_to_day(year: np.ndarray) -> np.ndarray:
    """Decimal calendar year -> day number: 1 January + round(fraction x days in that year)
    (round half to even, as R's ``round``)."""
    x = np.asarray(year, dtype=float)
    y = np.floor(x).astype(np.int64)
    start = jan1(y)
    ndays = jan1(y + 1) - start
    return start + np.rint((x - y) * ndays).astype(np.int64)


def day_to_decimal_year(day: np.ndarray) -> np.ndarray:
    """Day number -> decimal year (the inverse of :func:`decimal_year_to_day`)."""
    d = np.asarray(day, dtype=np.int64)
    y = d.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + _EPOCH_YEAR
    start = jan1(y)
    return y + (d - start) / (jan1(y + 1) - start)


# --- inputs ---------------------------------------------------------------------------------
@dataclasses.dataclass
class SurvivalInput:
    """Prepared records (numpy arrays, one element per tumour kept) and their strata.

    ``entry`` is the day of follow-up from which a record is observed (0 but in the period
    approach); ``time`` its last day (death or censoring), ``time > entry``.
    """
    time: np.ndarray            # int64 days
    status: np.ndarray          # int8 1 died / 0 censored
    entry: np.ndarray           # int64 days
    age: np.ndarray             # float years at diagnosis
    sex: np.ndarray             # int64
    diag_day: np.ndarray        # int64 day number of diagnosis
    stratum: np.ndarray         # int64 0..n_strata-1
    strata: pd.DataFrame        # one row per stratum: the ``by`` columns
    region: np.ndarray | None = None
    horizon: np.ndarray | None = None   # per stratum: largest time in years an estimate may be reported at
    n_dropped: int = 0          # records with no follow-up left (time <= entry)
    rows: np.ndarray | None = None      # position of each record kept among the rows of the data prepared

    @property
    def n_strata(self) -> int:
        return len(self.strata)


def check_columns(data: pd.DataFrame, need: Iterable[str]) -> None:
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise SurvivalInputError(
            f"the data have no column(s) {', '.join(missing)}; net_survival needs one row per tumour with "
            "time (days), status (1 died, 0 censored), age (years), sex (1, 2) and year (decimal year of diagnosis)")


def _numeric(data: pd.DataFrame, col: str) -> np.ndarray:
    v = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(v)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SurvivalInputError(f"column '{col}', row {row + 1}: a number is needed, found {data[col].iloc[row]!r}")
    return v


def validate_choice(name: str, value: str, options: Sequence[str]) -> str:
    if value not in options:
        raise SurvivalInputError(f"{name} must be one of {', '.join(map(repr, options))}, not {value!r}")
    return value


def validate_period(approach: str, period) -> tuple[int, int] | None:
    """``period``: (first, last) whole calendar years, inclusive; required by the period approach."""
    if period is None:
        if approach == "period":
            raise SurvivalInputError("the period approach needs period=(first_year, last_year), the calendar "
                                     "window of follow-up")
        return None
    try:
        y0, y1 = period
        ok = float(y0) == int(y0) and float(y1) == int(y1)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise SurvivalInputError(f"period must be two whole calendar years (first, last), not {period!r}")
    y0, y1 = int(y0), int(y1)
    if y1 < y0:
        raise SurvivalInputError(f"period ends ({y1}) before it starts ({y0})")
    return y0, y1


def validate_times(times) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise SurvivalInputError(f"times must be positive numbers of years, not {times!r}")
    return np.unique(t)


def prepare(data: pd.DataFrame, *, by: Sequence[str] | str | None = None, approach: str = "cohort",
            period=None, region: bool = False) -> SurvivalInput:
    """Check the records and apply the approach (module docstring); one stratum per ``by`` value."""
    by = [by] if isinstance(by, str) else list(by or [])
    check_columns(data, list(REQUIRED) + by + (["region_code"] if region else []))
    return select(records(data, approach=approach, period=period, region=region), data, by=by)


@dataclasses.dataclass
class Records:
    """Every row of the data, checked, with the approach applied (:func:`records`): follow-up in
    days, status and entry after the period window, exact age, sex, diagnosis day (and region);
    ``window`` the rows the approach keeps before the check of follow-up left, ``kept`` those
    with follow-up left (``time > entry``). :func:`select` takes the rows of a stratification."""
    approach: str
    time: np.ndarray
    status: np.ndarray
    entry: np.ndarray
    age: np.ndarray
    sex: np.ndarray
    diag_day: np.ndarray
    region: np.ndarray | None
    window: np.ndarray
    kept: np.ndarray


def records(data: pd.DataFrame, *, approach: str = "cohort", period=None, region: bool = False) -> Records:
    """The checks and the approach of :func:`prepare`, once for all the rows of ``data`` (several
    stratifications of the same rows read them through :func:`select`)."""
    validate_choice("approach", approach, APPROACHES)
    period = validate_period(approach, period)
    check_columns(data, list(REQUIRED) + (["region_code"] if region else []))
    time = _numeric(data, "time")
    if np.any(time != np.round(time)):
        row = int(np.flatnonzero(time != np.round(time))[0])
        raise SurvivalInputError(f"column 'time', row {row + 1}: follow-up must be whole days, found {time[row]}")
    if np.any(time < 0):
        row = int(np.flatnonzero(time < 0)[0])
        raise SurvivalInputError(f"column 'time', row {row + 1}: negative follow-up ({time[row]:g} days)")
    status = _numeric(data, "status")
    if not np.isin(status, (0, 1)).all():
        row = int(np.flatnonzero(~np.isin(status, (0, 1)))[0])
        raise SurvivalInputError(f"column 'status', row {row + 1}: must be 1 (died) or 0 (alive/censored), "
                                 f"found {status[row]:g}")
    age = _numeric(data, "age")
    if np.any(age < 0):
        row = int(np.flatnonzero(age < 0)[0])
        raise SurvivalInputError(f"column 'age', row {row + 1}: negative age {age[row]:g}")
    sex = _numeric(data, "sex").astype(np.int64)
    year = _numeric(data, "year")
    diag = decimal_year_to_day(year)
    time = time.astype(np.int64)
    status = status.astype(np.int8)
    entry = np.zeros_like(time)
    window = np.ones(time.size, bool)
    if approach in ("cohort", "complete") and period is not None:
        yi = np.floor(year).astype(np.int64)
        window &= (yi >= period[0]) & (yi <= period[1])
    elif approach == "period":
        start, end = jan1(np.array([period[0], period[1] + 1]))
        exit_ = np.minimum(time, end - diag)
        status = np.where(time > end - diag, 0, status).astype(np.int8)
        entry = np.maximum(start - diag, 0)
        time = exit_
        window &= diag < end
    return Records(approach=approach, time=time, status=status, entry=entry, age=age, sex=sex, diag_day=diag,
                   region=data["region_code"].astype(str).to_numpy() if region else None, window=window,
                   kept=window & (time > entry))


def select(recs: Records, data: pd.DataFrame, *, by: Sequence[str] = (),
           rows: np.ndarray | None = None) -> SurvivalInput:
    """The :class:`SurvivalInput` of the rows ``rows`` (a boolean mask over the rows of ``data``,
    None for all) of :func:`records` of ``data``, one stratum per ``by`` value: what :func:`prepare`
    gives for ``data[rows]``, but ``rows`` (the records kept) counts positions among all the rows
    of ``data``."""
    by = list(by)
    rows = None if rows is None else np.asarray(rows, bool)
    kept = recs.kept if rows is None else recs.kept & rows
    window = recs.window if rows is None else recs.window & rows
    if by:
        codes, strata = _strata(data.loc[kept, by].reset_index(drop=True), by)
    else:
        codes = np.zeros(int(kept.sum()), np.int64)
        strata = pd.DataFrame(index=[0])
    out = SurvivalInput(time=recs.time[kept], status=recs.status[kept], entry=recs.entry[kept], age=recs.age[kept],
                        sex=recs.sex[kept], diag_day=recs.diag_day[kept], stratum=codes, strata=strata,
                        region=None if recs.region is None else recs.region[kept],
                        n_dropped=int((window & ~kept).sum()), rows=np.flatnonzero(kept))
    mine = slice(None) if rows is None else rows
    out.horizon = _horizon(out, recs.approach, recs.diag_day[mine], recs.time[mine])
    return out


def _strata(keys: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Stratum of each row and one row of ``keys`` per stratum, numbered as
    ``keys.groupby(by, sort=True, dropna=False, observed=True).ngroup()`` numbers them (values in
    sorted order, a categorical's in its categories' order, missing last): each column's sorted
    codes combined into one integer (no groupby over the key columns)."""
    combined = np.zeros(len(keys), np.int64)
    span = 1
    for c in by:
        codes, uniques = pd.factorize(keys[c], sort=True, use_na_sentinel=True)
        span *= len(uniques) + 1
        if span >= 1 << 62:          # too many combinations for one integer: pandas numbers them
            codes = keys.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy(np.int64)
            first = np.unique(codes, return_index=True)[1]
            return codes, keys.iloc[first].reset_index(drop=True)
        combined = combined * (len(uniques) + 1) + np.where(codes < 0, len(uniques), codes)
    _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
    return codes.astype(np.int64).ravel(), keys.iloc[first].reset_index(drop=True)


def _horizon(inp: SurvivalInput, approach: str, diag_all: np.ndarray, time_all: np.ndarray) -> np.ndarray:
    """Largest report time (years) per stratum: unlimited but in the cohort approach, where it is
    the potential follow-up of the latest diagnosis (closing date = latest end of follow-up)."""
    h = np.full(inp.n_strata, np.inf)
    if approach != "cohort" or inp.time.size == 0:
        return h
    closing = int(np.max(diag_all + time_all))
    latest = np.full(inp.n_strata, np.iinfo(np.int64).min)
    np.maximum.at(latest, inp.stratum, inp.diag_day)
    return (closing - latest) / DAYS_PER_YEAR


# --- segmented helpers (vectorised over strata) -----------------------------------------------
def group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each new value of ``group`` (``group`` sorted)."""
    return pd.Series(values).groupby(group, sort=False).cumsum().to_numpy(float)


def group_cumprod(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    return pd.Series(values).groupby(group, sort=False).cumprod().to_numpy(float)


@dataclasses.dataclass
class EventTable:
    """Per stratum and distinct observed time (sorted by stratum, then time): number at risk,
    deaths, and where each time sits on the flattened (stratum, day) axis."""
    stratum: np.ndarray
    time: np.ndarray            # int64 days
    n_risk: np.ndarray          # at risk on (t_prev, t]: entry < t <= time
    deaths: np.ndarray
    day_offset: np.ndarray      # per stratum: first index of its days on the flattened axis
    n_days: np.ndarray          # per stratum: number of days (= its largest time)


def event_table(inp: SurvivalInput) -> EventTable:
    """Distinct observed times per stratum with at-risk counts and deaths (vectorised)."""
    key = inp.stratum.astype(np.int64) * (1 << 32) + inp.time
    uniq, inverse, n_at = np.unique(key, return_inverse=True, return_counts=True)
    s = uniq >> 32
    t = uniq & ((1 << 32) - 1)
    deaths = np.bincount(inverse.ravel(), weights=inp.status, minlength=uniq.size).astype(np.int64)
    # at risk at t: time >= t (exits at or after t) minus those not yet entered (entry >= t)
    done = np.cumsum(n_at)                                    # records with a key <= this one
    last = np.searchsorted(s, s, side="right") - 1            # each row's stratum's last row
    exits_after = done[last] - done + n_at
    n_risk = exits_after
    if np.any(inp.entry > 0):
        # for each (s, t): number of records of s with entry >= t
        ekey = np.sort(inp.stratum.astype(np.int64) * (1 << 32) + inp.entry)
        counts_s = np.bincount(inp.stratum, minlength=inp.n_strata)
        below = np.searchsorted(ekey, uniq, side="left")            # entries < t in s or earlier strata
        first = np.concatenate([[0], np.cumsum(counts_s)])[s]
        n_risk = exits_after - (counts_s[s] - (below - first))
    n_days = np.zeros(inp.n_strata, np.int64)
    np.maximum.at(n_days, s, t)
    offset = np.cumsum(n_days) - n_days                       # exclusive: one per stratum, none without
    return EventTable(stratum=s, time=t, n_risk=n_risk.astype(np.int64), deaths=deaths,
                      day_offset=offset, n_days=n_days)


# --- the fitted curve -------------------------------------------------------------------------
@dataclasses.dataclass
class SurvivalResult:
    """A fitted survival curve per stratum, statsmodels-style: ``curve`` holds every step,
    :meth:`at` the tidy values at report times, :meth:`summary` a printable table."""
    method: str
    approach: str
    conf: float
    by: list[str]
    strata: pd.DataFrame
    curve: pd.DataFrame          # stratum, time (days), estimate, se (log scale), lower, upper, n_risk, events
    horizon: np.ndarray
    n_dropped: int = 0

    def at(self, times: Sequence[float] = DEFAULT_TIMES) -> pd.DataFrame:
        """Values at ``times`` (years): the step at the largest observed time <= 365.241 t; no row past
        the last observed time (or, in the cohort approach, past the potential follow-up)."""
        return report(self, validate_times(times))

    def summary(self, times: Sequence[float] = DEFAULT_TIMES) -> str:
        level = f"{100 * self.conf:g}%"
        head = f"{_TITLES[self.method]} ({self.approach} approach), {level} CI on the log scale"
        return head + "\n" + self.at(times).to_string(index=False, float_format=lambda v: f"{v:.4f}")


_TITLES = {"observed": "Observed survival (Kaplan-Meier)", "ederer2": "Relative survival (Ederer II)",
           "pohar_perme": "Net survival (Pohar Perme)"}


def make_curve(ev: EventTable, estimate: np.ndarray, var: np.ndarray, conf: float) -> pd.DataFrame:
    """The curve frame with log-scale CIs S exp(+-z se) (relsurv / survfit ``conf.type="log"``)."""
    z = stats.norm.ppf(0.5 + conf / 2)
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(estimate > 0, estimate * np.exp(-z * se), np.nan)
        upper = np.where(estimate > 0, estimate * np.exp(z * se), np.nan)
    return pd.DataFrame({"stratum": ev.stratum, "time": ev.time, "estimate": estimate, "se": se,
                         "lower": lower, "upper": upper, "n_risk": ev.n_risk, "events": ev.deaths})


def report(res: SurvivalResult, times: np.ndarray) -> pd.DataFrame:
    """Tidy frame: the ``by`` columns, time (years), estimate, lower, upper, se, n_risk, events."""
    c = res.curve
    cols = res.by + RESULT_COLUMNS
    if c.empty:
        return pd.DataFrame(columns=cols)
    s = c["stratum"].to_numpy(np.int64)
    t = c["time"].to_numpy(np.int64)
    n_str = len(res.strata)
    first = np.searchsorted(s, np.arange(n_str), side="left")
    last = np.searchsorted(s, np.arange(n_str), side="right")       # exclusive
    S, T = np.meshgrid(np.arange(n_str), times, indexing="ij")
    S, T = S.ravel(), T.ravel()
    days = T * DAYS_PER_YEAR
    key = s * (1 << 32) + t
    pos = np.searchsorted(key, S * (1 << 32) + np.floor(days).astype(np.int64), side="right") - 1
    has = last[S] > first[S]
    before = pos < first[S]                              # earlier than the first observed time: S = 1
    tmax = np.where(has, t[np.maximum(last[S] - 1, 0)], -1)
    ok = has & (days <= tmax) & (T <= res.horizon[S] + 1e-12)
    pos = np.where(before, first[S], pos)
    nxt = np.minimum(pos + np.where(before, 0, 1), last[S] - 1)
    cum_d = np.cumsum(c["events"].to_numpy(np.int64))
    base = np.where(first[S] > 0, cum_d[np.maximum(first[S] - 1, 0)], 0)
    cum_at = np.where(before, 0, cum_d[pos] - base)         # deaths up to the step, within the stratum
    out = pd.DataFrame({
        "_s": S, "time": T,
        "estimate": np.where(before, 1.0, c["estimate"].to_numpy()[pos]),
        "lower": np.where(before, 1.0, c["lower"].to_numpy()[pos]),
        "upper": np.where(before, 1.0, c["upper"].to_numpy()[pos]),
        "se": np.where(before, 0.0, c["se"].to_numpy()[pos]),
        "n_risk": c["n_risk"].to_numpy(np.int64)[nxt],
        "_cum": cum_at,
    })[ok]
    out["events"] = (out["_cum"] - out.groupby("_s")["_cum"].shift(1).fillna(0)).astype(np.int64)
    out = out.merge(res.strata.reset_index(names="_s"), on="_s", how="left") if res.by else out
    return out[cols].reset_index(drop=True)

"""Survival data from registry records: follow-up times, CONCORD-style exclusions with their
reconciliation, and follow-up completeness.

``time`` is the number of days from the incidence date to the date of death or last contact;
``status`` 1 when the patient died (vital status 2), else 0. Exclusions, each on its own
reconciliation line, applied in this order so that a record is counted once (Allemani et al.
2018, Lancet 391:1023-1075, CONCORD-3 protocol; Swaminathan & Brenner 2011, IARC Sci Publ 162):

* ``not_counted``      not a counted tumour (validation error, or not malignant), when ``included`` is given
* ``dco``              death certificate only (basis 0): no survival time
* ``autopsy``          first diagnosed at autopsy (basis 8, autopsy with histology)
* ``age_unknown``      no age at diagnosis
* ``age_100``          aged 100 or more at diagnosis
* ``sex_unknown``      sex not known (no life table to compare with)
* ``vital_unknown``    vital status unknown (9 or missing)
* ``date_unknown``     no incidence or last-contact date
* ``zero_time``        zero or negative survival time (last contact on or before the incidence date)
* ``later_primary``    (``first_primary_only=True``) not the patient's first primary tumour

``read = used + sum(excluded)`` exactly.

Follow-up completeness (:func:`completeness`): the percentage of patients lost to follow-up (not
known dead and last seen before the closing date) and Clark's completeness index
``C = sum observed follow-up / sum potential follow-up`` (Clark TG, Altman DG, De Stavola BL 2002,
Lancet 359:1309-1310), the potential follow-up running to the closing date, or to death for the
patients known to have died.
"""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pandas as pd

from analytics import schema as S
from analytics.survival.base import DAYS_PER_YEAR, day_to_decimal_year

log = logging.getLogger(__name__)

EXCLUSIONS = ("not_counted", "dco", "autopsy", "age_unknown", "age_100", "sex_unknown", "vital_unknown", "date_unknown",
              "zero_time", "later_primary")
AUTOPSY_BASIS = 8
MAX_AGE = 100
DEAD = 2
ALIVE = 1
KEEP = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.REGION, S.YEAR, S.ICD10, S.SITE_CI5, S.SITE_GLOBOCAN, S.CAUSE_OF_DEATH]


def _days(s: pd.Series) -> np.ndarray:
    v = pd.to_datetime(s, errors="coerce")
    out = v.to_numpy("datetime64[D]").astype(np.int64).astype(float)
    out[v.isna().to_numpy()] = np.nan
    return out


def survival_data(records: pd.DataFrame, *, closing_date=None, first_primary_only: bool = False
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data, reconciliation). ``data`` has one row per tumour kept: ``time``, ``status``, ``age``
    (exact years: incidence minus birth date in days / 365.241, or completed age + 0.5 without a
    birth date), ``sex``, ``year`` (decimal year of incidence) and the record's identifying and
    grouping columns. ``closing_date``: follow-up after it is cut (deaths after it count as alive on
    it). ``reconciliation``: ``reason``, ``n``; first row ``read``, last ``used``."""
    r = records
    n = len(r)
    inc = _days(r[S.INCIDENCE_DATE])
    last = _days(r[S.LAST_CONTACT])
    birth = _days(r[S.BIRTH_DATE]) if S.BIRTH_DATE in r else np.full(n, np.nan)
    age_done = pd.to_numeric(r[S.AGE], errors="coerce").to_numpy(float) if S.AGE in r else np.full(n, np.nan)
    exact = np.where(np.isfinite(birth) & np.isfinite(inc), (inc - birth) / DAYS_PER_YEAR, age_done + 0.5)
    basis = pd.to_numeric(r[S.BASIS], errors="coerce").to_numpy(float) if S.BASIS in r else np.full(n, np.nan)
    vital = pd.to_numeric(r[S.VITAL_STATUS], errors="coerce").to_numpy(float)
    status = (vital == DEAD).astype(np.int8)
    if closing_date is not None:
        close = float(np.datetime64(pd.Timestamp(closing_date).date(), "D").astype(np.int64))
        after = last > close
        status = np.where(after, 0, status).astype(np.int8)
        last = np.where(after, close, last)
    time = last - inc
    masks = {
        "not_counted": ~r[S.INCLUDED].fillna(False).astype(bool).to_numpy() if S.INCLUDED in r else np.zeros(n, bool),
        "dco": basis == S.DCO_BASIS,
        "autopsy": basis == AUTOPSY_BASIS,
        "age_unknown": ~np.isfinite(exact) | (exact < 0),
        "age_100": exact >= MAX_AGE,
        "sex_unknown": ~np.isin(pd.to_numeric(r[S.SEX], errors="coerce").to_numpy(float), (S.MALE, S.FEMALE)),
        "vital_unknown": ~np.isin(vital, (ALIVE, DEAD)),
        "date_unknown": ~np.isfinite(inc) | ~np.isfinite(last),
        "zero_time": ~(time > 0),
        "later_primary": _later_primary(r, inc) if first_primary_only else np.zeros(n, bool),
    }
    left = np.ones(n, bool)
    counts = []
    for reason in EXCLUSIONS:
        hit = left & masks[reason]
        counts.append((reason, int(hit.sum())))
        left &= ~hit
    recon = pd.DataFrame([("read", n)] + counts + [("used", int(left.sum()))], columns=["reason", "n"])
    keep = [c for c in KEEP if c in r.columns]
    data = r.loc[left, keep].reset_index(drop=True)
    data["time"] = time[left].astype(np.int64)
    data["status"] = status[left]
    data["age"] = exact[left]
    data["sex"] = pd.to_numeric(r.loc[left, S.SEX], errors="coerce").to_numpy()
    data["year"] = day_to_decimal_year(inc[left].astype(np.int64))
    data["incidence_day"] = inc[left].astype(np.int64)
    return data, recon


def _later_primary(r: pd.DataFrame, inc: np.ndarray) -> np.ndarray:
    """Not the patient's earliest tumour (by incidence date, then tumour id)."""
    if S.PATIENT_ID not in r:
        return np.zeros(len(r), bool)
    key = pd.DataFrame({"p": r[S.PATIENT_ID].astype(str).to_numpy(), "d": np.nan_to_num(inc, nan=np.inf),
                        "t": r[S.TUMOUR_ID].astype(str).to_numpy() if S.TUMOUR_ID in r else np.arange(len(r)).astype(str),
                        "i": np.arange(len(r))})
    first = key.sort_values(["p", "d", "t"]).drop_duplicates("p")["i"].to_numpy()
    out = np.ones(len(r), bool)
    out[first] = False
    return out


def completeness(data: pd.DataFrame, *, closing_day: int | None = None, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per ``by`` group of :func:`survival_data` output: ``n``, ``deaths``, ``n_lost`` (alive, last
    seen before the closing day), ``pct_lost`` and Clark's completeness index ``clark_c`` (%).
    ``closing_day``: day number of the closing date (default: the latest end of follow-up)."""
    end = data["incidence_day"].to_numpy(np.int64) + data["time"].to_numpy(np.int64)
    close = int(end.max()) if closing_day is None else int(closing_day)
    dead = data["status"].to_numpy() == 1
    observed = data["time"].to_numpy(float)
    potential = np.where(dead, observed, np.maximum(close - data["incidence_day"].to_numpy(np.int64), observed))
    lost = ~dead & (end < close)
    df = pd.DataFrame({"_o": observed, "_p": potential, "_l": lost.astype(int), "_d": dead.astype(int)})
    for b in by:
        df[b] = data[b].to_numpy()
    g = df.groupby(list(by), observed=True, dropna=False) if by else df.assign(_k=0).groupby("_k")
    out = g.agg(n=("_o", "size"), deaths=("_d", "sum"), n_lost=("_l", "sum"), _o=("_o", "sum"), _p=("_p", "sum"))
    out["pct_lost"] = 100 * out["n_lost"] / out["n"]
    out["clark_c"] = 100 * out["_o"] / out["_p"].where(out["_p"] > 0)
    out = out.drop(columns=["_o", "_p"]).reset_index()
    return out.drop(columns="_k", errors="ignore")

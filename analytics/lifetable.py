"""Population life tables for relative and net survival: reader, checks and the rate table.

A life table is long: one row per ``year, sex, age`` (single years of age, the last one open,
e.g. ``100+``) with the probability of dying within the year ``qx`` or the central death rate
``mx``; an optional ``region_code`` gives one table per region. The survival estimators use it
as relsurv and ``survival::ratetable`` do (Pohar Perme, Stare & Estève 2012; Therneau's
``ratetable``): a population hazard per day, constant within each single year of age x calendar
year cell, ``lambda = -log(1 - qx) / 365.241`` (or ``mx / 365.241``). Ages above the top row use
the top row; years outside the table use the nearest year.

:func:`read_lifetable` reads a file (CSV/TSV/Excel/Parquet, or a data frame) and checks it;
every problem a user can fix is an :class:`analytics.errors.IngestError` naming file, row and
column. :func:`check_lifetable` returns the warnings that do not stop the computation (qx that
falls at old ages, years not covering the follow-up). :func:`rate_table` turns a checked frame
into the arrays the estimators index.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd

from analytics import parsing
from analytics.auxiliary import _as_frame, _find, _numbers, parse_age_label
from analytics.errors import IngestError

log = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.241
COLUMNS = ["year", "sex", "age", "qx"]
OLD_AGE = 60                 # from this age on, qx should not fall (checked "monotone enough")
FALL_TOLERANCE = 0.10        # a fall of more than 10 % from one age to the next is reported
_ALIASES = {
    "year": ("year", "yr", "calendaryear", "period"),
    "sex": ("sex", "gender", "sexcode"),
    "age": ("age", "ageyears", "exactage", "agex", "x"),
    "qx": ("qx", "q", "probabilityofdying", "qxprob"),
    "mx": ("mx", "m", "deathrate", "mortalityrate", "centraldeathrate", "hazard"),
    "region_code": ("regioncode", "region", "district", "area"),
}


@dataclasses.dataclass(frozen=True)
class RateTable:
    """Daily population hazards ``rates[group, age, year]`` with relsurv's cut points: age cuts
    ``age * 365.241`` days, year cuts the day numbers (days since 1970-01-01) of 1 January."""
    rates: np.ndarray
    ages: np.ndarray
    years: np.ndarray
    sexes: tuple[int, ...]
    regions: tuple[str, ...] | None
    age_cuts: np.ndarray
    year_cuts: np.ndarray

    def group_index(self, sex: np.ndarray, region: np.ndarray | None = None) -> np.ndarray:
        """Row of ``rates`` for each record (sex, and region when the table has regions)."""
        from analytics.survival.base import SurvivalInputError

        sex = np.asarray(sex, dtype=np.int64)
        si = pd.Index(self.sexes).get_indexer(sex)
        if np.any(si < 0):
            bad = sorted(set(sex[si < 0].tolist()))
            raise SurvivalInputError(f"sex {bad} has no life table (the table has sexes {list(self.sexes)})")
        if self.regions is None:
            return si
        if region is None:
            raise SurvivalInputError("the life table is by region: the data need a region_code column")
        ri = pd.Index(self.regions).get_indexer(np.asarray(region, dtype=object))
        if np.any(ri < 0):
            bad = sorted(set(np.asarray(region, dtype=object)[ri < 0].tolist()))[:5]
            raise SurvivalInputError(f"region(s) {bad} have no life table")
        return ri * len(self.sexes) + si

    @property
    def max_rate(self) -> float:
        return float(np.max(self.rates)) if self.rates.size else 0.0


def read_lifetable(source: Any, *, name: str | None = None) -> pd.DataFrame:
    """Read and check a life table; returns ``year, sex, age, qx`` (+ ``mx``, ``region_code`` when
    given), sorted. Raises :class:`IngestError` naming file, row and column."""
    try:
        df, file = _as_frame(source, name)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable upload becomes a sentence
        raise IngestError(f"the life table could not be read ({type(exc).__name__}). Save it as CSV, Excel or "
                          "Parquet with columns year, sex, age and qx (or mx).", file=name) from exc
    df.columns = [str(c) for c in df.columns]
    f = {k: (k if k in df.columns else _find(df.columns, v)) for k, v in _ALIASES.items()}
    miss = [k for k in ("year", "sex", "age") if f[k] is None]
    if f["qx"] is None and f["mx"] is None:
        miss.append("qx (or mx)")
    if miss:
        raise IngestError(f"column(s) missing: {', '.join(miss)}. A life table has one row per year, sex and single "
                          "year of age with qx (probability of dying) or mx (death rate).", file=file, row=0,
                          column=miss[0])
    parsed = parsing.parse_code(df[f["sex"]], parsing.SEX_CODES)
    sex = pd.Series(parsed.values)
    if parsed.invalid.any() or sex.isna().any():
        i = int(np.flatnonzero(parsed.invalid | sex.isna().to_numpy())[0])
        raise IngestError(f"sex '{df[f['sex']].iloc[i]}' is not understood (use 1 male, 2 female).", file=file,
                          row=i + 1, column=f["sex"])
    out = pd.DataFrame({"year": _numbers(df[f["year"]], file, f["year"]).to_numpy(),
                        "sex": sex.astype("int64").to_numpy(), "age": _ages(df[f["age"]], file, f["age"])})
    for k in ("qx", "mx"):
        if f[k] is not None:
            out[k] = _numbers(df[f[k]], file, f[k]).to_numpy()
    if f["region_code"] is not None:
        out["region_code"] = df[f["region_code"]].astype(str).str.strip().to_numpy()
    out["_row"] = np.arange(1, len(df) + 1)
    validate(out, file=file, columns=f)
    return out.drop(columns="_row").sort_values(_keys(out) + ["age"]).reset_index(drop=True)


def _ages(s: pd.Series, file: str, column: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        parsed = [parse_age_label(x) for x in s]
        v = np.array([p[0] if p is not None and (p[1] is None or p[1] == p[0]) else np.nan for p in parsed], float)
    bad = ~np.isfinite(v) | (v != np.round(v)) | (v < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IngestError(f"age '{s.iloc[i]}' is not a single year of age (0, 1, ..., 100 or 100+).", file=file,
                          row=i + 1, column=column)
    return v.astype(np.int64)


def _keys(df: pd.DataFrame) -> list[str]:
    return (["region_code"] if "region_code" in df.columns else []) + ["sex", "year"]


def validate(lt: pd.DataFrame, *, file: str = "life table", columns: dict | None = None) -> None:
    """Errors that stop the computation: qx outside [0, 1] (1 only at the open top age), negative
    mx, fractional years, duplicate rows, ages that are not consecutive single years, or tables
    (year x sex [x region]) with different ages, missing years between the first and last."""
    col = columns or {}
    rows = lt["_row"].to_numpy() if "_row" in lt.columns else np.arange(1, len(lt) + 1)
    if len(lt) == 0:
        raise IngestError("the life table has no rows.", file=file)
    yr = lt["year"].to_numpy(float)
    if np.any(yr != np.round(yr)):
        i = int(np.flatnonzero(yr != np.round(yr))[0])
        raise IngestError(f"year {yr[i]} is not a whole calendar year.", file=file, row=int(rows[i]),
                          column=col.get("year", "year"))
    top = lt.groupby(_keys(lt))["age"].transform("max").to_numpy()
    if "qx" in lt.columns:
        q = lt["qx"].to_numpy(float)
        bad = (q < 0) | (q > 1) | ((q == 1) & (lt["age"].to_numpy() < top))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise IngestError(f"qx = {q[i]:g} at age {lt['age'].iloc[i]}: a probability of dying must lie in [0, 1), "
                              "1 only at the open top age.", file=file, row=int(rows[i]), column=col.get("qx", "qx"))
    elif np.any(lt["mx"].to_numpy(float) < 0):
        i = int(np.flatnonzero(lt["mx"].to_numpy(float) < 0)[0])
        raise IngestError(f"mx = {lt['mx'].iloc[i]:g} is negative.", file=file, row=int(rows[i]),
                          column=col.get("mx", "mx"))
    dup = lt.duplicated(_keys(lt) + ["age"], keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise IngestError(f"a second row for year {int(yr[i])}, sex {lt['sex'].iloc[i]}, age {lt['age'].iloc[i]}. "
                          "Keep one row per year, sex and age.", file=file, row=int(rows[i]),
                          column=col.get("age", "age"))
    ages = np.sort(lt["age"].unique())
    if ages.size < 2 or np.any(np.diff(ages) != 1):
        gap = ages[np.flatnonzero(np.diff(ages) != 1)[0]] + 1 if ages.size >= 2 else ages[0]
        raise IngestError(f"ages must be consecutive single years; age {int(gap)} is missing.", file=file,
                          column=col.get("age", "age"))
    n = lt.groupby(_keys(lt))["age"].transform("size").to_numpy()
    short = n != ages.size
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise IngestError(f"the table for year {int(yr[i])}, sex {lt['sex'].iloc[i]} has {int(n[i])} ages, others "
                          f"have {ages.size} ({int(ages[0])}-{int(ages[-1])}). Give every year and sex the same ages.",
                          file=file, row=int(rows[i]), column=col.get("age", "age"))
    years = np.sort(np.unique(yr)).astype(np.int64)
    if np.any(np.diff(years) != 1):
        gap = years[np.flatnonzero(np.diff(years) != 1)[0]] + 1
        raise IngestError(f"years must be consecutive; {int(gap)} is missing (repeat the nearest year's table if "
                          "no newer one exists).", file=file, column=col.get("year", "year"))
    combos = lt.groupby([k for k in _keys(lt) if k != "year"])["year"].nunique()
    if (combos != years.size).any():
        raise IngestError(f"every sex{' and region' if 'region_code' in lt.columns else ''} needs a table for each "
                          f"year {years[0]}-{years[-1]}.", file=file, column=col.get("year", "year"))


def check_lifetable(lt: pd.DataFrame, *, first_year: int | None = None, last_year: int | None = None
                    ) -> list[str]:
    """Warnings that do not stop the computation: qx falling by more than 10 % from one age to the
    next at ages 60 and over ("monotone enough"), an open top age with qx = 1 (replaced, see
    :func:`rate_table`), and table years that do not cover ``first_year``-``last_year`` (the
    diagnoses and follow-up), where the nearest year is used."""
    out = []
    lt = lt.sort_values(_keys(lt) + ["age"])
    if "qx" in lt.columns:
        q = lt["qx"].to_numpy(float)
        same = (lt[_keys(lt)].shift(-1) == lt[_keys(lt)]).all(axis=1).to_numpy()
        nxt = np.roll(q, -1)
        fall = same & (lt["age"].to_numpy() >= OLD_AGE) & (nxt < (1 - FALL_TOLERANCE) * q)
        if fall.any():
            i = int(np.flatnonzero(fall)[0])
            out.append(f"qx falls by more than {FALL_TOLERANCE:.0%} between ages {lt['age'].iloc[i]} and "
                       f"{lt['age'].iloc[i] + 1} (year {lt['year'].iloc[i]}, sex {lt['sex'].iloc[i]}; "
                       f"{int(fall.sum())} such place(s)): check the table at old ages.")
        if (q >= 1).any():
            out.append("qx = 1 at the open top age: its hazard is extrapolated from the two ages below it.")
    years = lt["year"].astype(int)
    if first_year is not None and first_year < years.min():
        out.append(f"the life table starts in {years.min()}: {first_year}-{years.min() - 1} use the {years.min()} table.")
    if last_year is not None and last_year > years.max():
        out.append(f"the life table ends in {years.max()}: {years.max() + 1}-{last_year} use the {years.max()} table.")
    return out


def rate_table(lt: pd.DataFrame) -> RateTable:
    """The checked life table as daily hazards [group, age, year] (groups: sex, or region x sex).

    qx -> ``-log(1 - qx) / 365.241`` (relsurv's ``transrate``); mx -> ``mx / 365.241``. A qx of 1 at
    the open top age (infinite hazard) is replaced by a Gompertz extrapolation of the two ages
    below it: lambda_top = lambda_{top-1}^2 / lambda_{top-2}.
    """
    if "_row" not in lt.columns:
        validate(lt)
    lt = lt.sort_values(_keys(lt) + ["age"])
    ages = np.sort(lt["age"].unique()).astype(np.int64)
    years = np.sort(lt["year"].unique()).astype(np.int64)
    sexes = tuple(int(s) for s in sorted(lt["sex"].unique()))
    regions = tuple(sorted(lt["region_code"].astype(str).unique())) if "region_code" in lt.columns else None
    if "qx" in lt.columns:
        with np.errstate(divide="ignore"):
            lam = -np.log(1.0 - lt["qx"].to_numpy(float)) / DAYS_PER_YEAR
    else:
        lam = lt["mx"].to_numpy(float) / DAYS_PER_YEAR
    g = (len(regions) if regions else 1) * len(sexes)
    arr = np.empty((g, years.size, ages.size))
    arr.reshape(-1)[:] = lam        # sorted by (region,) sex, year, age
    arr = np.transpose(arr, (0, 2, 1)).copy()           # group, age, year
    inf = ~np.isfinite(arr)
    if inf.any():
        a1, a2 = arr[:, -2, :], arr[:, -3, :] if ages.size > 2 else arr[:, -2, :]
        extra = np.where(a2 > 0, a1 * a1 / np.where(a2 > 0, a2, 1), a1)
        arr[:, -1, :] = np.where(inf[:, -1, :], extra, arr[:, -1, :])
    from analytics.survival.base import jan1

    return RateTable(rates=arr, ages=ages, years=years, sexes=sexes, regions=regions,
                     age_cuts=ages.astype(float) * DAYS_PER_YEAR, year_cuts=jan1(years))


def life_expectancy(lt: pd.DataFrame) -> pd.DataFrame:
    """Life expectancy at birth and at 60 of each year x sex table (ages above the top row at the top
    row's hazard), for checking a table against published figures."""
    rt = rate_table(lt)
    lam = rt.rates * DAYS_PER_YEAR                      # per year
    p = np.exp(-lam)                                    # group, age, year
    lx = np.concatenate([np.ones((p.shape[0], 1, p.shape[2])), np.cumprod(p, axis=1)], axis=1)
    lx = lx[:, :-1, :]
    top_e = 1 / np.maximum(lam[:, -1, :], 1e-12)        # open top age: constant hazard
    lived = lx * np.where(lam > 0, (1 - p) / np.where(lam > 0, lam, 1), 1)   # exact years in [x, x+1)
    tail = lx[:, -1, :] * p[:, -1, :] * top_e
    def ex(a):
        i = int(np.searchsorted(rt.ages, a))
        return (lived[:, i:, :].sum(axis=1) + tail) / lx[:, i, :]
    out = []
    for gi in range(rt.rates.shape[0]):
        sex = rt.sexes[gi % len(rt.sexes)]
        reg = rt.regions[gi // len(rt.sexes)] if rt.regions else None
        for yi, y in enumerate(rt.years):
            row = {"year": int(y), "sex": sex, "e0": float(ex(rt.ages[0])[gi, yi]), "e60": float(ex(60)[gi, yi])}
            if reg is not None:
                row["region_code"] = reg
            out.append(row)
    return pd.DataFrame(out)

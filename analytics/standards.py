"""Standard populations for direct age standardisation, and matching them to a data's age groups.

The catalogue is read from ``data/reference/standard_populations.csv`` (sources and cross-checks
in ``standard_populations.md``). Weights stay in the unit of their source (per 100,000, per million
or persons); :func:`align_standard` collapses a standard to the data's age groups (e.g. 85+ from
85-89, 90-94, ...) and the rate functions normalise over the groups actually used (methods.md §1.1).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from analytics.schema import DATA_DIR

STANDARDS_CSV = DATA_DIR / "reference" / "standard_populations.csv"

# Short names -> csv standard ids, most detailed first: the first variant whose groups can be
# collapsed onto the data's groups is used (e.g. a 0 / 1-4 split needs a 19-group table).
ALIASES: dict[str, tuple[str, ...]] = {
    "world_segi1960": ("segi_1960_world_18grp_per100k", "segi_1960_world_19grp_per100k"),
    # WHO's published % table, 85+ collapsed from the 21-group tail (635, not 630; see W2 in the .md).
    "world_who2000": ("who_2000_2025_world_21grp_published_per100k",
                      "who_2000_2025_world_19grp_seer_per1m"),
    "europe_1976": ("esp_1976_18grp_per100k", "esp_1976_19grp_per100k"),
    "europe_2013": ("esp_2013_21grp_per100k",),
    # SEER*Stat uses the P25-1130 persons, not the rounded standard million (U1 in the .md).
    "us_2000": ("us_2000_20grp_p25_1130_count", "us_2000_11grp_nchs_std_million"),
    "nordic_2000": ("nordic_2000_18grp_per100k",),
    "canada_2011": ("canada_2011_19grp_count",),
    "canada_2021": ("canada_2021_19grp_count",),
}
DEFAULT_STANDARD = "world_segi1960"
STANDARD_COLUMNS = ["age_group", "age_start", "age_end", "weight"]


class StandardError(ValueError):
    """A standard population that does not exist or cannot be matched to the data's age groups."""


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    t = pd.read_csv(STANDARDS_CSV)
    t["age_end"] = t["age_end"].fillna(math.inf)
    return t


def catalogue() -> pd.DataFrame:
    """One row per available standard: ``name`` (short alias or csv id), ``standard_id``, ``groups``,
    ``total``, ``first_group``, ``last_group``. Aliases come first."""
    t = _table()
    info = t.groupby("standard", sort=False).agg(
        groups=("weight", "size"), total=("weight", "sum"),
        first_group=("age_group_label", "first"), last_group=("age_group_label", "last"))
    rows = [{"name": a, "standard_id": ids[0], **info.loc[ids[0]].to_dict()} for a, ids in ALIASES.items()]
    rows += [{"name": s, "standard_id": s, **info.loc[s].to_dict()} for s in info.index]
    return pd.DataFrame(rows)


def names() -> list[str]:
    """Every name :func:`get_standard` accepts."""
    return list(ALIASES) + list(_table()["standard"].unique())


def get_standard(name: str = DEFAULT_STANDARD) -> pd.DataFrame:
    """The standard ``name`` (alias or csv id) as columns age_group, age_start, age_end, weight.

    Weights are in the source's own unit; ``attrs["standard"]`` holds the csv id and
    ``attrs["total"]`` the sum of weights.
    """
    return _variants(name)[0]


def _variants(name: str) -> list[pd.DataFrame]:
    t = _table()
    ids = ALIASES.get(name, (name,))
    out = []
    for sid in ids:
        sub = t[t["standard"] == sid]
        if sub.empty:
            raise StandardError(
                f"unknown standard population {name!r}; choose one of: {', '.join(names())}")
        frame = pd.DataFrame({
            "age_group": sub["age_group_label"].to_numpy(dtype=object),
            "age_start": sub["age_start"].to_numpy(dtype=float),
            "age_end": sub["age_end"].to_numpy(dtype=float),
            "weight": sub["weight"].to_numpy(dtype=float),
        })
        frame.attrs.update(standard=sid, name=name, total=float(frame["weight"].sum()))
        out.append(frame)
    return out


def user_standard(table: pd.DataFrame | Mapping[str, float] | pd.Series, *, name: str = "user",
                  age: str = "age_group", weight: str = "weight") -> pd.DataFrame:
    """A user-supplied standard: a mapping/Series label -> weight, or a frame with ``age`` and ``weight``.

    Labels are parsed ("0-4", "85+", "<1", "00", "01-04"); weights may be in any unit.
    """
    if isinstance(table, pd.DataFrame):
        missing = [c for c in (age, weight) if c not in table.columns]
        if missing:
            raise StandardError(f"standard population table lacks column(s) {missing}; "
                                f"it needs {age!r} and {weight!r}")
        labels, weights = table[age].astype(str).tolist(), table[weight].to_numpy(dtype=float)
    else:
        s = pd.Series(table)
        labels, weights = [str(i) for i in s.index], s.to_numpy(dtype=float)
    bounds = [parse_age_group(lbl) for lbl in labels]
    bad = [lbl for lbl, b in zip(labels, bounds) if b is None]
    if bad:
        raise StandardError(f"standard population {name!r}: cannot read age group(s) {bad} "
                            "(expected labels like '0-4', '85+', '<1')")
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise StandardError(f"standard population {name!r}: weights must be finite and >= 0")
    frame = pd.DataFrame({"age_group": labels, "age_start": [b[0] for b in bounds],
                          "age_end": [b[1] for b in bounds], "weight": weights})
    frame = frame.sort_values("age_start", kind="stable").reset_index(drop=True)
    frame.attrs.update(standard=name, name=name, total=float(weights.sum()))
    return frame


_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|–|to)\s*(\d+)\s*$")
_OPEN = re.compile(r"^\s*(\d+)\s*(?:\+|\s*and over|\s*plus)\s*$", re.I)
_UNDER = re.compile(r"^\s*<\s*(\d+)\s*$")
_SINGLE = re.compile(r"^\s*(\d+)\s*$")


def parse_age_group(label) -> tuple[float, float] | None:
    """Inclusive (start, end) in completed years of an age-group label; end is inf if open.

    "0-4" -> (0, 4); "85+" -> (85, inf); "<1" -> (0, 0); "00" -> (0, 0); None if unreadable.
    """
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return None
    s = str(label)
    if m := _RANGE.match(s):
        a, b = int(m[1]), int(m[2])
        return (float(a), float(b)) if b >= a else None
    if m := _OPEN.match(s):
        return float(m[1]), math.inf
    if m := _UNDER.match(s):
        n = int(m[1])
        return (0.0, float(n - 1)) if n > 0 else None
    if m := _SINGLE.match(s):
        return float(m[1]), float(m[1])
    return None


def align_standard(standard, labels: Iterable[str]) -> pd.Series:
    """Standard weights (source units) for each of the data's age-group ``labels``, collapsing
    the standard's finer groups into the data's (e.g. 85+ = 85-89 + 90-94 + 95+).

    ``standard``: a catalogue name, a frame from :func:`get_standard`/:func:`user_standard`, or a
    Series/mapping label -> weight (used label by label, without parsing, when every label is there).
    Raises :class:`StandardError` naming the groups that cannot be matched.
    """
    labels = [str(x) for x in labels]
    if isinstance(standard, (pd.Series, Mapping)):
        s = pd.Series(standard)
        s.index = s.index.map(str)
        if set(labels) <= set(s.index):
            out = s.reindex(labels).astype(float)
            out.attrs.update(standard=getattr(standard, "name", None) or "user", total=float(s.sum()))
            return out
        variants = [user_standard(s)]
    elif isinstance(standard, pd.DataFrame):
        variants = [standard]
    else:
        variants = _variants(str(standard))
    bounds = [parse_age_group(lbl) for lbl in labels]
    unreadable = [lbl for lbl, b in zip(labels, bounds) if b is None]
    if unreadable:
        raise StandardError(
            f"age group label(s) {unreadable} cannot be read; use labels like '0-4', '5-9', ..., '85+'")
    errors = []
    for std in variants:
        try:
            return _collapse(std, labels, bounds)
        except StandardError as e:
            errors.append(str(e))
    raise StandardError(errors[0] if len(errors) == 1 else " / ".join(errors))


def _collapse(std: pd.DataFrame, labels, bounds) -> pd.Series:
    starts = std["age_start"].to_numpy(dtype=float)
    ends = std["age_end"].to_numpy(dtype=float)
    w = std["weight"].to_numpy(dtype=float)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    # A data group matches when it is an exact union of consecutive standard groups.
    inside = (starts[None, :] >= lo[:, None]) & (ends[None, :] <= hi[:, None])
    first_ok = np.isin(lo, starts)
    last_ok = np.isin(hi, ends)
    bad = [lbl for lbl, a, b in zip(labels, first_ok, last_ok) if not (a and b)]
    if bad:
        sid = std.attrs.get("standard", "user")
        raise StandardError(
            f"age group(s) {bad} of the data cannot be matched to standard {sid!r} "
            f"(its groups: {', '.join(std['age_group'])}); regroup the data or choose another standard")
    overlap = inside.sum(axis=0)
    if np.any(overlap > 1):
        dup = list(std["age_group"][overlap > 1])
        raise StandardError(f"the data's age groups overlap (standard group(s) {dup} fall in two of them)")
    out = pd.Series(inside.astype(float) @ w, index=labels, name="weight")
    out.attrs.update(standard=std.attrs.get("standard", "user"), total=float(w.sum()))
    return out

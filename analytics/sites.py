"""Cancer site groups: the CI5 detailed list and the GLOBOCAN list.

Source: ``data/reference/site_groups.csv`` (IARC CI5-XI and GLOBOCAN groupings as published
in IARC's Rcan package, ``dev/ICD_CI5XI.csv`` and ``dev/ICD_globocan.csv``). Range syntax
is CI5's: ``C18-21`` = C18.0-C21.9, ``C82-86,C96`` = a union; the first matching group wins.

Chapter-D codes counted by default (see :func:`analytics.coding.is_counted`) are placed as
CI5 places them (Bray F et al., CI5 Vol. XI, IARC Sci Publ 166, chapter 4): D09.0 and D41.4
with bladder; D45, D47.1, D47.3-D47.5 as "Myeloproliferative disorders" and D46 as
"Myelodysplastic syndromes" (two groups the CSV does not list: appended after the
leukaemias in the CI5 list; "Other" in the GLOBOCAN list, which has no such groups); other
D47 codes in "Other". Aggregates "All sites" (C00-C97 and the registrable D codes) and
"All sites but C44" close each list.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from . import schema

SITE_GROUPS_CSV = schema.DATA_DIR / "reference" / "site_groups.csv"
SCHEMES = {"ci5_detailed": "ci5_detailed", "ci5": "ci5_detailed", "globocan": "globocan"}
ALL_SITES = "All sites"
ALL_BUT_C44 = "All sites but C44"
MPD = "Myeloproliferative disorders"
MDS = "Myelodysplastic syndromes"
# 4-character chapter-D codes and where they go (code -> site key used for grouping)
_D_KEYS = {"D090": "C67", "D414": "C67", "D45": MPD, "D471": MPD, "D473": MPD, "D474": MPD,
           "D475": MPD, "D46": MDS}


def _scheme(scheme: str) -> str:
    try:
        return SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"Unknown site-group scheme '{scheme}'; use one of "
                         f"{sorted(set(SCHEMES.values()))}.") from None


def expand(spec: str) -> list[str]:
    """CI5 range syntax -> 3-character ICD-10 categories: ``"C82-86,C96"`` -> C82..C86, C96."""
    out: list[str] = []
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-")
            letter = lo[0]
            start, stop = int(lo[1:3]), int(hi.lstrip(letter)[:2])
            out += [f"{letter}{i:02d}" for i in range(start, stop + 1)]
        else:
            out.append(part[:3])
    return out


@lru_cache(maxsize=4)
def _raw(scheme: str) -> pd.DataFrame:
    tab = pd.read_csv(SITE_GROUPS_CSV, dtype={"icd10": str, "label": str, "sex": str})
    return tab[tab["scheme"] == scheme].sort_values("order").reset_index(drop=True)


def site_table(scheme: str = "ci5_detailed") -> pd.DataFrame:
    """Ordered site groups of a scheme: columns order, label, icd10, sex, kind.

    ``kind`` is ``"site"`` for assignable groups and ``"total"`` for "All sites" and
    "All sites but C44". ``sex`` is both/male/female (sex-specific sites).
    """
    sc = _scheme(scheme)
    tab = _raw(sc)[["order", "label", "icd10", "sex"]].copy()
    tab["kind"] = "site"
    n = int(tab["order"].max())
    extra = []
    if sc == "ci5_detailed":
        # after "Leukaemia unspecified", before the "Other" rows
        extra += [(MPD, "D45,D47"), (MDS, "D46")]
    rows = pd.DataFrame(
        [{"order": n + i + 1, "label": lab, "icd10": codes, "sex": "both", "kind": "site"}
         for i, (lab, codes) in enumerate(extra)]
        + [{"order": n + len(extra) + 1, "label": ALL_SITES, "icd10": "C00-97,D09.0,D41.4,D45-47",
            "sex": "both", "kind": "total"},
           {"order": n + len(extra) + 2, "label": ALL_BUT_C44,
            "icd10": "C00-43,C45-97,D09.0,D41.4,D45-47", "sex": "both", "kind": "total"}])
    out = pd.concat([tab, rows], ignore_index=True)
    # keep the MPD/MDS rows next to the other haematological groups
    first_other = tab.loc[tab["label"] == "Other", "order"].min()
    if extra and pd.notna(first_other):
        pos = out["order"].astype(float)
        pos[out["label"].isin([MPD, MDS])] = first_other - 0.5 + np.arange(len(extra)) / 10
        out = out.assign(_p=pos).sort_values("_p").drop(columns="_p")
        out["order"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def labels(scheme: str = "ci5_detailed", *, totals: bool = False) -> list[str]:
    """Distinct group labels in display order ("Other" once, last among sites)."""
    return list(_labels(_scheme(scheme), totals))


@lru_cache(maxsize=8)
def _labels(scheme: str, totals: bool) -> tuple[str, ...]:
    tab = site_table(scheme)
    if not totals:
        tab = tab[tab["kind"] == "site"]
    labs = list(dict.fromkeys(tab["label"]))
    if "Other" in labs:
        labs.remove("Other")
        idx = len(labs) if not totals else labs.index(ALL_SITES)
        labs.insert(idx, "Other")
    return tuple(labs)


@lru_cache(maxsize=4)
def _lookup(scheme: str) -> dict[str, str]:
    """3-character category (or special key) -> label, first matching group wins."""
    sc = _scheme(scheme)
    table: dict[str, str] = {}
    for row in _raw(sc).itertuples(index=False):
        for code in expand(row.icd10):
            table.setdefault(code, row.label)
    table[MPD] = MPD if sc == "ci5_detailed" else "Other"
    table[MDS] = MDS if sc == "ci5_detailed" else "Other"
    return table


def site_key(code: str | None) -> str | None:
    """Grouping key of one ICD-10 code: its 3-character category, or the MPD/MDS key."""
    if code is None or (isinstance(code, float) and np.isnan(code)) or code is pd.NA:
        return None
    c = str(code).replace(".", "").strip().upper()
    if not c:
        return None
    if c.startswith("C"):
        return c[:3]
    if c in _D_KEYS:
        return _D_KEYS[c]
    if c[:3] in _D_KEYS:
        return _D_KEYS[c[:3]]
    if c[:3] == "D47":
        return "D47"
    return None


def assign(icd10, scheme: str = "ci5_detailed") -> pd.Series:
    """Site group label for each ICD-10 code (vectorised over the distinct codes).

    Returns an ordered categorical (categories = :func:`labels`); NA for codes outside the
    scheme (benign/in-situ codes not counted by default, missing codes).
    """
    s = pd.Series(icd10)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, cats = s.cat.codes.to_numpy(), s.cat.categories
    else:
        codes, cats = pd.factorize(s, use_na_sentinel=True)
    look = _lookup(scheme)
    look = {**look, "D47": "Other"}
    labs = labels(scheme)
    pos = {lab: i for i, lab in enumerate(labs)}
    mapped = np.array([pos.get(look.get(site_key(c)), -1) for c in cats] + [-1], dtype=np.int32)
    out = pd.Categorical.from_codes(mapped[codes], categories=pd.Index(labs, dtype=str),
                                    ordered=True)
    return pd.Series(out, index=s.index, name=f"site_{'ci5' if _scheme(scheme) == 'ci5_detailed' else 'globocan'}")


def in_group(icd10, label: str, scheme: str = "ci5_detailed") -> np.ndarray:
    """Boolean mask of the records in a group, including the "All sites" aggregates."""
    s = pd.Series(icd10)
    if label in (ALL_SITES, ALL_BUT_C44):
        grp = assign(s, scheme)
        mask = grp.notna().to_numpy().copy()
        if label == ALL_BUT_C44:
            mask &= ~s.astype(object).fillna("").astype(str).str.startswith("C44").to_numpy()
        return mask
    return (assign(s, scheme) == label).fillna(False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------------------------
# sex-specific sites: no rate for the other sex
OTHER_SEX_FLAG = "not_applicable_sex"
# Columns that stay when a measure is blanked: counts and denominators are facts (0 cases),
# not measures.
_KEEP = ("count", "observed", "expected", "population", "person_years", "unknown_age", "n_lost", "n_unknown",
         "all_ages", "cases", "year", "age_start")


_AGE_LABEL = re.compile(r"^\d+(-\d+|\+)$")      # age-group count columns of a CI5 table ("0-4", "85+")


@lru_cache(maxsize=1)
def _site_sexes() -> dict[str, int]:
    """Site label -> the only sex it occurs in (1 male, 2 female), over both schemes: prostate,
    testis, penis, other male genital organs; cervix, corpus, uterus unspecified, ovary, vulva,
    vagina, placenta, other female genital organs. Breast is not sex-specific (breast cancer in
    men is a value of its own)."""
    tab = pd.concat([_raw("ci5_detailed"), _raw("globocan")])
    tab = tab[tab["sex"].isin(["male", "female"])]
    return {lab: (1 if s == "male" else 2) for lab, s in zip(tab["label"], tab["sex"])}


def _site_column(frame: pd.DataFrame) -> str | None:
    return next((c for c in ("site", schema.SITE_CI5, schema.SITE_GLOBOCAN) if c in frame.columns), None)


def other_sex_rows(frame: pd.DataFrame, *, site: str | None = None, sex: str = schema.SEX) -> np.ndarray | None:
    """True for the rows of a sex-specific site in the other sex (prostate in women, cervix in
    men): the rows :func:`blank_other_sex` blanks. None when the frame has no site or sex column
    (or no rows)."""
    site = site or _site_column(frame)
    if site is None or sex not in frame.columns or frame.empty:
        return None
    from analytics.i18n import sex_code
    # each distinct site and sex looked up once (a table has a few dozen sites over many rows)
    sexes = _site_sexes()
    site_codes, site_values = pd.factorize(frame[site], use_na_sentinel=True)
    want = np.array([float(sexes.get(str(v), np.nan)) for v in site_values] + [np.nan])[site_codes]
    sex_codes, sex_values = pd.factorize(frame[sex], use_na_sentinel=True)
    have = np.array([sex_code(v) for v in sex_values] + [sex_code(None)])[sex_codes]
    return ~np.isnan(want) & np.isin(have, [1, 2]) & (have != want)


def blank_other_sex(frame: pd.DataFrame, *, site: str | None = None, sex: str = schema.SEX,
                    flag: str = "flag") -> pd.DataFrame:
    """A copy where the measures of a sex-specific site for the other sex (prostate in women,
    cervix in men) are NaN, not 0.0, with the flag code ``not_applicable_sex`` appended to
    ``flag`` (a sentence in every language through ``analytics.rates.flag_labels``). Counts and
    denominators are kept. Rows of both sexes together, unknown sex, or other sites are
    untouched; a frame without a site or sex column is returned as it is."""
    other = other_sex_rows(frame, site=site, sex=sex)
    if other is None or not other.any():
        return frame
    site = site or _site_column(frame)
    out = frame.copy()
    cols = [c for c in out.columns if c not in _KEEP and c not in (site, sex, flag)
            and not _AGE_LABEL.match(str(c)) and pd.api.types.is_float_dtype(out[c])]
    plain = [c for c in cols if isinstance(out[c].dtype, np.dtype)]      # numpy floats: blanked in place
    for c in plain:
        values = out[c].to_numpy(dtype=out[c].dtype, copy=True)
        values[other] = np.nan
        out[c] = values
    if len(plain) < len(cols):                                          # nullable floats keep their dtype
        out.loc[other, [c for c in cols if c not in plain]] = np.nan
    old = out[flag].astype(str).where(out[flag].notna(), "") if flag in out.columns else pd.Series("", index=out.index)
    out[flag] = np.where(other, np.where(old == "", OTHER_SEX_FLAG, old + ";" + OTHER_SEX_FLAG), old)
    return out

"""ICD-O-3 -> ICD-10 conversion, vectorised.

Method: the conversion logic of IARC's IARCcrgTools (Ferlay J, Burkhard C, Whelan S,
Parkin DM. *Check and conversion programs for cancer registries (IARC/IACR Tools for
Cancer Registries)*. IARC Technical Report No. 42, Lyon 2005), written here from

* the ICD-O-3 manual (Fritz A et al., WHO 2000; first revision ICD-O-3.1, WHO 2013):
  topography C00.0-C80.9 and morphology/behaviour codes;
* the ICD-10 tabular list (WHO ICD-10, 2016 edition, chapter II "Neoplasms"): C00-C97
  malignant, D00-D09 in situ, D10-D36 benign, D37-D48 uncertain or unknown behaviour.

Rules, in order of precedence:

1. haematopoietic and lymphoid morphology (9590-9992): from morphology whatever the site
   (C81-C96, D45-D47), table ``data/reference/icdo3_icd10_haematological.csv``;
2. Kaposi sarcoma 9140/3 -> C46.x and mesothelioma 9050-9055/3 -> C45.x, by site;
3. melanoma 8720-8790: /3 of skin (C44.x) -> C43.x; /2 -> D03.x; benign naevi of skin -> D22.x;
4. other malignant (/3): the topography code itself (ICD-O-3 C00-C80 mirrors ICD-10), with
   ICD-O-3 C42.2 spleen -> C26.1, other C42 (blood, bone marrow) and C77 (lymph nodes:
   secondary in ICD-10) -> C80.9 primary site unknown; 3-character ICD-10 categories lose
   the 4th character (C61, C73, ...);
5. in situ (/2) -> D00-D09, benign (/0) -> D10-D36, uncertain (/1) -> D37-D48 by site, with
   the morphology-defined benign categories D17 (lipoma), D18 (haemangioma/lymphangioma),
   D19 (mesothelial), D25 (leiomyoma of uterus) and breast in situ D05.0/D05.1 by morphology.

Output: ICD-10 without the dot (``"C509"``, ``"C61"``, ``"D090"``). Not convertible (missing
or invalid input) -> NA.

Counted by default (:func:`is_counted`): malignant (C codes) plus what registries count
although ICD-10 places it in chapter D: D09.0 (bladder in situ), D41.4 (bladder, uncertain)
and D45-D47 (polycythaemia vera, myelodysplastic syndromes, other myeloproliferative and
lymphoproliferative neoplasms; malignant /3 in ICD-O-3).
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from . import schema

HAEM_TABLE = schema.DATA_DIR / "reference" / "icdo3_icd10_haematological.csv"

# Valid ICD-O-3 topography codes (331), as in the ICD-O-3 manual; list taken from the
# Topography dictionary of IARC's CanReg5 training registry (data/canreg5_trn).
_VALID_TOPO = """
000 001 002 003 004 005 006 008 009 019 020 021 022 023 024 028 029 030 031 039 040 041 048
049 050 051 052 058 059 060 061 062 068 069 079 080 081 088 089 090 091 098 099 100 101 102
103 104 108 109 110 111 112 113 118 119 129 130 131 132 138 139 140 141 142 148 150 151 152
153 154 155 158 159 160 161 162 163 164 165 166 168 169 170 171 172 173 178 179 180 181 182
183 184 185 186 187 188 189 199 209 210 211 212 218 220 221 239 240 241 248 249 250 251 252
253 254 257 258 259 260 268 269 300 301 310 311 312 313 318 319 320 321 322 323 328 329 339
340 341 342 343 348 349 379 380 381 382 383 384 388 390 398 399 400 401 402 403 408 409 410
411 412 413 414 418 419 420 421 422 423 424 440 441 442 443 444 445 446 447 448 449 470 471
472 473 474 475 476 478 479 480 481 482 488 490 491 492 493 494 495 496 498 499 500 501 502
503 504 505 506 508 509 510 511 512 518 519 529 530 531 538 539 540 541 542 543 548 549 559
569 570 571 572 573 574 577 578 579 589 600 601 602 608 609 619 620 621 629 630 631 632 637
638 639 649 659 669 670 671 672 673 674 675 676 677 678 679 680 681 688 689 690 691 692 693
694 695 696 698 699 700 701 709 710 711 712 713 714 715 716 717 718 719 720 721 722 723 724
725 728 729 739 740 741 749 750 751 752 753 754 755 758 759 760 761 762 763 764 765 767 768
770 771 772 773 774 775 778 779 809
"""
VALID_TOPOGRAPHY = np.array(sorted(int(x) for x in _VALID_TOPO.split()), dtype=np.int16)

# ICD-10 categories without a 4th character (C00-C97, D00-D48).
THREE_CHAR = frozenset("C01 C07 C12 C19 C20 C23 C33 C37 C52 C55 C56 C58 C61 C64 C65 C66 C73 "
                       "D24 D27 D34 D45".split())

HAEM_FIRST, HAEM_LAST = 9590, 9992
MORPH_MIN, MORPH_MAX = 8000, 9993
MISSING, INVALID = -1, -2           # parsed-code sentinels
_N_TOPO = 1000
_N_MORPH = MORPH_MAX - MORPH_MIN + 1


def _icd(code: str) -> str:
    return code[:3] if code[:3] in THREE_CHAR else code


# --- per-topography rules (used once, to build dense lookup arrays) ----------------------
def _malignant(t: int) -> str:
    s, d = divmod(t, 10)
    if s == 42:
        return "C261" if d == 2 else "C809"
    if s == 77:
        return "C809"
    return _icd(f"C{t:03d}")


def _in_situ(t: int) -> str:
    s, d = divmod(t, 10)
    if s <= 14:
        return "D000"
    table = {15: "D001", 16: "D002", 17: "D014", 18: "D010", 19: "D011", 20: "D012", 21: "D013",
             22: "D015", 23: "D015", 24: "D015", 25: "D017", 30: "D023", 31: "D023", 32: "D020",
             33: "D021", 34: "D022", 39: "D024", 51: "D071", 52: "D072", 55: "D073", 56: "D073",
             57: "D073", 58: "D073", 60: "D074", 61: "D075", 62: "D076", 63: "D076", 64: "D091",
             65: "D091", 66: "D091", 67: "D090", 68: "D091", 69: "D092", 73: "D093", 74: "D093",
             75: "D093", 80: "D099"}
    if s in table:
        return table[s]
    if s == 26:
        return {0: "D014", 9: "D019"}.get(d, "D017")
    if s == 38:
        return "D023" if d == 4 else "D097"
    if s == 44:
        return f"D04{d}"
    if s == 50:
        return "D059"
    if s == 53:
        return {0: "D060", 1: "D061", 8: "D067"}.get(d, "D069")
    if s == 54:
        return "D070" if d == 1 else "D073"
    return "D097"


def _benign(t: int) -> str:
    s, d = divmod(t, 10)
    simple = {0: "D100", 1: "D101", 2: "D101", 3: "D103", 4: "D102", 5: "D103", 6: "D103",
              7: "D110", 9: "D104", 10: "D105", 11: "D106", 12: "D107", 13: "D107", 14: "D109",
              15: "D130", 16: "D131", 19: "D127", 20: "D128", 21: "D129", 22: "D134",
              23: "D135", 24: "D135", 26: "D139", 30: "D140", 31: "D140", 32: "D141",
              33: "D142", 34: "D143", 37: "D150", 39: "D144", 47: "D361", 50: "D24",
              51: "D280", 52: "D281", 53: "D260", 54: "D261", 55: "D269", 56: "D27",
              58: "D267", 60: "D290", 61: "D291", 62: "D292", 64: "D300", 65: "D301",
              66: "D302", 67: "D303", 73: "D34", 74: "D350", 76: "D367", 77: "D360", 80: "D369"}
    if s in simple:
        return _icd(simple[s])
    if s == 8:
        return "D119" if d == 9 else "D117"
    if s == 17:
        return "D132" if d == 0 else "D133"
    if s == 18:
        return {0: "D120", 1: "D121", 2: "D122", 3: "D123", 4: "D123", 5: "D123", 6: "D124",
                7: "D125"}.get(d, "D126")
    if s == 25:
        return "D137" if d == 4 else "D136"
    if s == 38:
        return {0: "D151", 1: "D152", 2: "D152", 3: "D152"}.get(d, "D157")
    if s == 40:
        return {0: "D160", 1: "D161", 2: "D162", 3: "D163"}.get(d, "D169")
    if s == 41:
        return {0: "D164", 1: "D165", 2: "D166", 3: "D167", 4: "D168"}.get(d, "D169")
    if s == 42:
        return "D139" if d == 2 else "D367"
    if s == 44:
        return "D239" if d == 8 else f"D23{d}"
    if s == 48:
        return "D200" if d == 0 else "D201"
    if s == 49:
        return "D219" if d >= 8 else f"D21{d}"
    if s == 57:
        return "D282" if d <= 4 else ("D289" if d == 9 else "D287")
    if s == 63:
        return {0: "D293", 2: "D294", 9: "D299"}.get(d, "D297")
    if s == 68:
        return {0: "D304", 9: "D309"}.get(d, "D307")
    if s == 69:
        return "D319" if d >= 8 else f"D31{d}"
    if s == 70:
        return {0: "D320", 1: "D321"}.get(d, "D329")
    if s == 71:
        return "D330" if d <= 5 else ("D331" if d <= 7 else "D332")
    if s == 72:
        return {0: "D334", 2: "D333", 3: "D333", 4: "D333", 5: "D333", 9: "D339"}.get(d, "D337")
    if s == 75:
        return {0: "D351", 1: "D352", 2: "D353", 3: "D354", 4: "D355", 5: "D356",
                8: "D358"}.get(d, "D359")
    return "D369"


def _uncertain(t: int) -> str:
    s, d = divmod(t, 10)
    if s <= 14:
        return "D370"
    simple = {15: "D377", 16: "D371", 17: "D372", 19: "D375", 20: "D375", 21: "D377",
              22: "D376", 23: "D376", 24: "D376", 25: "D377", 30: "D385", 31: "D385",
              32: "D380", 33: "D381", 34: "D381", 37: "D384", 40: "D480", 41: "D480",
              42: "D487", 44: "D485", 47: "D482", 49: "D481", 50: "D486", 51: "D397",
              52: "D397", 53: "D390", 54: "D390", 55: "D390", 56: "D391", 58: "D392",
              60: "D407", 61: "D400", 62: "D401", 64: "D410", 65: "D411", 66: "D412",
              67: "D414", 69: "D487", 73: "D440", 74: "D441", 76: "D487", 77: "D487",
              80: "D489"}
    if s in simple:
        return simple[s]
    if s == 18:
        return "D373" if d == 1 else "D374"
    if s == 26:
        return "D379" if d == 9 else "D377"
    if s == 38:
        return {0: "D487", 1: "D383", 2: "D383", 3: "D383", 4: "D382"}.get(d, "D385")
    if s == 39:
        return "D386" if d == 9 else "D385"
    if s == 48:
        return "D483" if d == 0 else "D484"
    if s == 57:
        return "D399" if d == 9 else "D397"
    if s == 63:
        return "D409" if d == 9 else "D407"
    if s == 68:
        return {0: "D413", 9: "D419"}.get(d, "D417")
    if s == 70:
        return {0: "D420", 1: "D421"}.get(d, "D429")
    if s == 71:
        return "D430" if d <= 5 else ("D431" if d <= 7 else "D432")
    if s == 72:
        return {0: "D434", 2: "D433", 3: "D433", 4: "D433", 5: "D433", 9: "D439"}.get(d, "D437")
    if s == 75:
        return {0: "D442", 1: "D443", 2: "D444", 3: "D445", 4: "D446", 5: "D447",
                8: "D448"}.get(d, "D449")
    return "D489"


def _lipoma(t: int) -> str:
    s, d = divmod(t, 10)
    if (s == 44 and d <= 4) or t == 490:
        return "D170"
    if (s == 44 and d == 5) or 493 <= t <= 496:
        return "D171"
    if (s == 44 and d in (6, 7)) or t in (491, 492):
        return "D172"
    if s in (44, 49):
        return "D173"
    if s in (34, 37, 38, 39):
        return "D174"
    if 15 <= s <= 26 or s == 48:
        return "D175"
    if t == 631:
        return "D176"
    return "D179" if s == 80 else "D177"


def _kaposi(t: int) -> str:
    s = t // 10
    return {44: "C460", 49: "C461", 5: "C462", 77: "C463", 34: "C465", 80: "C469"}.get(s, "C467")


def _mesothelioma(t: int) -> str:
    if t == 384:
        return "C450"
    if t // 10 == 48:
        return "C451"
    if t == 380:
        return "C452"
    return "C459" if t == 809 else "C457"


def _mesothelial_benign(t: int) -> str:
    if t == 384:
        return "D190"
    if t // 10 == 48:
        return "D191"
    return "D199" if t == 809 else "D197"


def _skin_sub(t: int, prefix: str, other: str, unknown: str) -> str:
    s, d = divmod(t, 10)
    if s == 44:
        return f"{prefix}{d}"
    return unknown if t == 809 else other


def _dense(rule) -> np.ndarray:
    out = np.full(_N_TOPO, None, dtype=object)
    for t in VALID_TOPOGRAPHY:
        out[t] = rule(int(t))
    return out


@lru_cache(maxsize=1)
def _lookups() -> dict[str, np.ndarray]:
    lk = {
        "mal": _dense(_malignant), "insitu": _dense(_in_situ), "benign": _dense(_benign),
        "uncertain": _dense(_uncertain), "lipoma": _dense(_lipoma), "kaposi": _dense(_kaposi),
        "meso": _dense(_mesothelioma), "meso0": _dense(_mesothelial_benign),
        "mel3": _dense(lambda t: f"C43{t % 10}" if t // 10 == 44 else _malignant(t)),
        "mel2": _dense(lambda t: _skin_sub(t, "D03", "D038", "D039")),
        "mel0": _dense(lambda t: ("D229" if t == 448 else f"D22{t % 10}") if t // 10 == 44
                       else _benign(t)),
    }
    haem = {b: np.full(_N_MORPH, None, dtype=object) for b in (1, 3)}
    tab = haem_table()
    for r in tab.itertuples(index=False):
        haem[int(r.behaviour)][r.morph_from - MORPH_MIN:r.morph_to - MORPH_MIN + 1] = r.icd10
    lk["haem3"], lk["haem1"] = haem[3], haem[1]
    return lk


def haem_table() -> pd.DataFrame:
    """The haematological morphology -> ICD-10 table (rows applied in order, later rows win)."""
    tab = pd.read_csv(HAEM_TABLE, comment="#", dtype={"icd10": str})
    return tab


# --- parsing --------------------------------------------------------------------------
_TOPO_RE = re.compile(r"^C?(\d{2})\.?(\d)$")
_MORPH_RE = re.compile(r"^(\d{4})(?:/?\d)?$")


def _parse_unique(values: pd.Series, parse_one) -> np.ndarray:
    """Parse a column through its distinct values: a registry has a few hundred codes, not
    millions, so the string work is done once per code and broadcast back."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = np.array([parse_one(u) for u in uniques] + [MISSING], dtype=np.int16)
    return parsed[codes]  # code -1 (NA) picks the trailing MISSING


def _parse_topo_one(v) -> int:
    s = str(v).strip().upper()
    if s in ("", "NAN", "NONE", "<NA>"):
        return MISSING
    m = _TOPO_RE.match(s)
    if not m:
        return INVALID
    t = int(m.group(1) + m.group(2))
    return t if t in _VALID_SET else INVALID


def _parse_morph_one(v) -> int:
    s = str(v).strip()
    if s in ("", "nan", "None", "<NA>"):
        return MISSING
    m = _MORPH_RE.match(s)
    if not m:
        return INVALID
    x = int(m.group(1))
    return x if MORPH_MIN <= x <= MORPH_MAX - 1 else INVALID


_VALID_SET = frozenset(int(t) for t in VALID_TOPOGRAPHY)


def parse_topography(values) -> np.ndarray:
    """ICD-O-3 topography ("C509", "C50.9", "509") -> int 509; -1 missing, -2 invalid."""
    return _parse_unique(pd.Series(values), _parse_topo_one)


def parse_morphology(values) -> np.ndarray:
    """ICD-O-3 histology ("8140", "8140/3") -> int 8140; -1 missing, -2 invalid."""
    return _parse_unique(pd.Series(values), _parse_morph_one)


def _int_codes(values, missing: int = MISSING) -> np.ndarray:
    s = pd.Series(values)
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
        s = s.astype(object)
    given = s.notna().to_numpy().copy()
    if s.dtype == object:
        given &= (s.astype(str).str.strip() != "").to_numpy()
    s = pd.to_numeric(s, errors="coerce")
    arr = s.to_numpy(dtype=float, na_value=np.nan)
    out = np.where(np.isnan(arr), np.where(given, INVALID, missing), arr)
    out = np.where((out != np.floor(out)) | (np.abs(out) > 30000), INVALID, out)
    return out.astype(np.int16)


# --- conversion -------------------------------------------------------------------------
def _convert(t: np.ndarray, m: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ICD-10 for arrays of parsed codes (one entry per distinct combination)."""
    lk = _lookups()
    ok = (t >= 0) & (m >= 0) & (b >= 0) & (b <= 3)
    ti = np.where(ok, t, 0)
    mi = np.where(ok, m - MORPH_MIN, 0).clip(0, _N_MORPH - 1)
    haem = (m >= HAEM_FIRST) & (m <= HAEM_LAST)
    melan = (m >= 8720) & (m <= 8790)
    lipoma = (m >= 8850) & (m <= 8881)
    meso = (m >= 9050) & (m <= 9055)
    uterus = (t // 10 == 54) | (t // 10 == 55)
    breast = t // 10 == 50
    breast_is = np.select([m == 8520, (m >= 8500) & (m <= 8507), m == 8522, m <= 8010],
                          ["D050", "D051", "D057", "D059"], "D057")
    conds = [
        ~ok,
        haem & (b == 3), haem & (b == 1), haem,
        (m == 9140) & (b == 3), meso & (b == 3), melan & (b == 3),
        b == 3,
        melan & (b == 2), breast & (b == 2), b == 2,
        melan & (b == 0), lipoma & (b == 0), (m >= 9120) & (m <= 9161) & (b == 0),
        (m >= 9170) & (m <= 9175) & (b == 0), meso & (b == 0),
        (m >= 8890) & (m <= 8898) & uterus & (b == 0), b == 0,
        b == 1,
    ]
    choices = [
        None,
        lk["haem3"][mi], lk["haem1"][mi], None,
        lk["kaposi"][ti], lk["meso"][ti], lk["mel3"][ti],
        lk["mal"][ti],
        lk["mel2"][ti], breast_is.astype(object), lk["insitu"][ti],
        lk["mel0"][ti], lk["lipoma"][ti], "D180", "D181", lk["meso0"][ti], "D259",
        lk["benign"][ti],
        lk["uncertain"][ti],
    ]
    choices = [np.broadcast_to(np.asarray(c, dtype=object), t.shape) for c in choices]
    return np.select(conds, choices, default=None)


def icdo3_to_icd10(topography, morphology, behaviour) -> pd.Series:
    """Convert ICD-O-3 (topography, morphology, behaviour) to ICD-10 (no dot), vectorised.

    Method: IARCcrgTools conversion (Ferlay et al. 2005, IARC Technical Report 42) from the
    ICD-O-3 (WHO 2000/2013) and ICD-10 (WHO 2016) manuals; see the module docstring.
    Accepts strings or already parsed integer codes; returns a categorical Series
    (index of ``topography`` when it is a Series), NA where the codes are missing or invalid.
    """
    index = topography.index if isinstance(topography, pd.Series) else None
    t = _as_topo(topography)
    m = _as_morph(morphology)
    b = _int_codes(behaviour)
    return _convert_many(t, m, b, index)


def _as_topo(x) -> np.ndarray:
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.integer):
        return x.astype(np.int16)
    return parse_topography(x)


def _as_morph(x) -> np.ndarray:
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.integer):
        return x.astype(np.int16)
    return parse_morphology(x)


def _convert_many(t: np.ndarray, m: np.ndarray, b: np.ndarray, index=None) -> pd.Series:
    # One conversion per distinct (topography, morphology, behaviour): a few thousand at most.
    b = np.where(b == MISSING, MISSING, np.where((b >= 0) & (b <= 9), b, INVALID)).astype(np.int16)
    key = (t.astype(np.int64) + 2) * 1_000_000 + (m.astype(np.int64) + 2) * 100 + (b.astype(np.int64) + 2)
    codes, uniq = pd.factorize(key)
    ut = (uniq // 1_000_000 - 2).astype(np.int16)
    um = (uniq // 100 % 10_000 - 2).astype(np.int16)
    ub = (uniq % 100 - 2).astype(np.int16)
    res = _convert(ut, um, ub)
    res_s = pd.Series(res, dtype=object)
    cat_codes, cats = pd.factorize(res_s, use_na_sentinel=True)
    full = cat_codes[codes] if len(codes) else np.array([], dtype=np.int64)
    cat = pd.Categorical.from_codes(full, categories=pd.Index(cats, dtype=str))
    return pd.Series(cat, index=index, name=schema.ICD10)


def is_counted(icd10) -> np.ndarray:
    """True for ICD-10 codes counted by default: C00-C97, D09.0, D41.4 and D45-D47.

    Registries (CI5, IARC) count in situ and uncertain bladder tumours with bladder cancer
    and the myeloproliferative/myelodysplastic neoplasms (malignant in ICD-O-3) although
    ICD-10 places them in chapter D.
    """
    s = pd.Series(icd10)
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        ok = np.append(_counted_codes(np.asarray(cats, dtype=object)), False)
        return ok[s.cat.codes.to_numpy()]
    return _counted_codes(s.to_numpy(dtype=object))


def _counted_codes(codes: np.ndarray) -> np.ndarray:
    c = pd.Series(codes, dtype=object).fillna("").astype(str)
    three = c.str[:3]
    return (c.str.startswith("C") | c.isin(["D090", "D414"])
            | three.isin(["D45", "D46", "D47"])).to_numpy()


def is_haematological(morphology: np.ndarray) -> np.ndarray:
    """ICD-O-3 haematopoietic and lymphoid morphology (9590-9992)."""
    return (morphology >= HAEM_FIRST) & (morphology <= HAEM_LAST)

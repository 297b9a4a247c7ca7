"""Record checks, reconciliation and data-quality indicators.

Record checks follow the IARC/IACR checks as implemented in IARCcrgTools (Ferlay J,
Burkhard C, Whelan S, Parkin DM. *Check and conversion programs for cancer registries*.
IARC Technical Report 42, Lyon 2005): validity of each item, dates, age, sex/site,
sex/histology, site/histology, behaviour/site, behaviour/histology, basis/histology,
age/site/histology and probable duplicates. Every check is vectorised; each flag carries a
stable check id, a severity (``error`` excludes the record from counts, ``warning`` keeps
it) and a plain-English message.

Decisions (documented here and in :data:`CHECKS`):

* Unknown sex, age or basis are valid codes: warnings (they feed the "% unknown"
  indicators), not errors. Only codes outside the code lists are errors.
* Last contact/death before incidence is a warning: the tumour is real and counted; the
  follow-up dates are wrong (survival and prevalence must treat the record).
* Site/histology, basis/histology and age/site/histology combinations are "unlikely"
  (IARCcrgTools lets the registrar confirm them as rare): warnings. Sex/site, sex/histology,
  behaviour/site, behaviour/histology and date conflicts are impossible: errors.
* Probable duplicate: same patient, same 3-character topography, same histology group of
  the IARC/IACR multiple-primary rules (IARC Internal Report 2004/02, table of histological
  groups) and incidence dates within ``duplicate_window_days`` (default 91 days, three
  months: a longer gap is more likely a recurrence, which the multiple-primary rules count
  once anyway). The later record is an error (the earliest is kept), because the rules
  allow a single primary per organ and histology group. Later records of the same organ
  and group beyond the window get the warning ``multiple_primary_rule``: they stay counted
  (a registry may follow other multiple-primary rules, e.g. SEER's) but are listed for review.
* Non-malignant records not counted by default (benign, uncertain, in situ except bladder)
  are not errors; :func:`reconcile` gives them their own reason, "not_counted_by_default",
  so that read = used + excluded always holds exactly.

Indicators: Bray F, Parkin DM. Evaluation of data quality in the cancer registry:
principles and methods. Part I: comparability, validity and timeliness. Eur J Cancer
2009;45:747-755; Parkin DM, Bray F. Part II: completeness. Eur J Cancer 2009;45:756-764.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import coding, schema, sites
from .ingest import arrowtext
from .derive import age_from_dates, count_over, factorize_ids, repeated

DEFAULT_DUPLICATE_WINDOW_DAYS = 91
MIN_INCIDENCE_YEAR = 1900
MAX_AGE = 120
NOT_COUNTED = "not_counted_by_default"
USED = "used"
REGION_UNKNOWN = "region_unknown"


@dataclass(frozen=True)
class Check:
    id: str
    severity: str
    column: str
    message: str


E, W = schema.ERROR, schema.WARNING
# Fixed order: the first error of a record in this order is its primary reason for exclusion.
CHECKS: tuple[Check, ...] = (
    Check("tumour_id_duplicate", E, schema.TUMOUR_ID,
          "The same tumour id appears on an earlier row; only the first record is counted."),
    Check("sex_invalid", E, schema.SEX, "Sex is not 1 (male), 2 (female) or 9 (unknown)."),
    Check("topography_missing", E, schema.TOPOGRAPHY, "Topography (primary site) is missing."),
    Check("topography_invalid", E, schema.TOPOGRAPHY,
          "Topography is not a valid ICD-O-3 site code (C00.0 to C80.9)."),
    Check("morphology_missing", E, schema.MORPHOLOGY, "Morphology (histology) is missing."),
    Check("morphology_invalid", E, schema.MORPHOLOGY,
          "Morphology is not a 4-digit ICD-O-3 histology code (8000 to 9992)."),
    Check("behaviour_missing", E, schema.BEHAVIOUR, "Behaviour is missing."),
    Check("behaviour_invalid", E, schema.BEHAVIOUR,
          "Behaviour is not 0 (benign), 1 (uncertain), 2 (in situ) or 3 (malignant)."),
    Check("basis_invalid", E, schema.BASIS, "Basis of diagnosis is not a code from 0 to 9."),
    Check("incidence_date_missing", E, schema.INCIDENCE_DATE,
          "Incidence date is missing or not a valid date."),
    Check("incidence_date_too_early", E, schema.INCIDENCE_DATE,
          f"Incidence date is before {MIN_INCIDENCE_YEAR}."),
    Check("incidence_date_future", E, schema.INCIDENCE_DATE, "Incidence date is in the future."),
    Check("birth_date_future", E, schema.BIRTH_DATE, "Birth date is in the future."),
    Check("birth_after_incidence", E, schema.BIRTH_DATE, "Incidence date is before the birth date."),
    Check("age_out_of_range", E, schema.AGE, f"Age is outside 0 to {MAX_AGE} years."),
    Check("age_date_mismatch", E, schema.AGE,
          "Age differs by more than one year from the age computed from the birth and incidence dates."),
    Check("sex_site", E, schema.TOPOGRAPHY,
          "Site is impossible for this sex (a male genital site in a woman or a female genital site in a man)."),
    Check("sex_morphology", E, schema.MORPHOLOGY,
          "Histology is impossible for this sex (e.g. seminoma in a woman, endometrial stromal sarcoma in a man)."),
    Check("behaviour_site", E, schema.BEHAVIOUR,
          "In situ behaviour is impossible at this site (unknown primary, blood and bone marrow, lymph nodes, bone, soft tissue or nervous system)."),
    Check("behaviour_morphology", E, schema.BEHAVIOUR,
          "Behaviour is impossible for this histology (haematological neoplasms are never benign or in situ; sarcomas and other non-epithelial tumours are never in situ)."),
    Check("icd10_unconvertible", E, schema.MORPHOLOGY,
          "These ICD-O-3 codes cannot be converted to ICD-10 (histology code not in ICD-O-3)."),
    Check("duplicate_tumour", E, schema.PATIENT_ID,
          "Probable duplicate: an earlier record of the same patient has the same site and histology group within the duplicate window."),
    # warnings: the record is still counted
    Check("sex_unknown", W, schema.SEX, "Sex is unknown."),
    Check("age_unknown", W, schema.AGE, "Age is unknown and cannot be computed from the dates."),
    Check("basis_unknown", W, schema.BASIS, "Basis of diagnosis is unknown."),
    Check("last_contact_before_incidence", W, schema.LAST_CONTACT,
          "Date of last contact or death is before the incidence date."),
    Check("last_contact_future", W, schema.LAST_CONTACT,
          "Date of last contact or death is in the future."),
    Check("site_morphology", W, schema.MORPHOLOGY, "Unlikely combination of site and histology."),
    Check("basis_morphology", W, schema.BASIS,
          "Death certificate only, yet a specific histology is coded (expected 8000 or 8001)."),
    Check("age_site_morphology", W, schema.AGE, "Unlikely combination of age and site or histology."),
    Check("region_missing", W, schema.REGION, "Region of residence is missing."),
    Check("region_unknown", W, schema.REGION,
          "Region code not in the regions table: the record is counted in the national figures, in no region."),
    Check("multiple_primary_rule", W, schema.PATIENT_ID,
          "An earlier tumour of the same patient has the same site and histology group: under the IARC/IACR rules for multiple primaries this is not a new primary (it is counted because it was registered as one; check it)."),
)
CHECK_BY_ID = {c.id: c for c in CHECKS}
CHECK_ORDER = {c.id: i for i, c in enumerate(CHECKS)}


def check_table(lang: str = "en") -> pd.DataFrame:
    """The checks as a table (id, severity, column, message), in priority order.

    ``message`` is in ``lang`` (en, az, ru; see :func:`check_message`).
    """
    tab = pd.DataFrame([c.__dict__ for c in CHECKS])
    if lang != "en":
        tab["message"] = [check_message(c.id, lang) for c in CHECKS]
    return tab


# --- translated texts (catalogues data/i18n/{en,az,ru}/quality.json) -----------------------
# Checks raised by the reader (analytics.readers) and file-level assumptions: not in CHECKS
# (they never run on records in memory) but shown with the same kind of message.
READER_CHECK_IDS = ("unparseable_date", "invalid_code", "age_99_unknown", "date_imputed", "identifier_value_removed",
                    "malformed_row", "empty_row", "canreg_deleted", "morphology_assumed", "behaviour_assumed")
_TEMPLATE_DEFAULTS = {"year": MIN_INCIDENCE_YEAR, "max_age": MAX_AGE, "days": DEFAULT_DUPLICATE_WINDOW_DAYS}


def check_message(check_id: str, lang: str = "en", **fmt) -> str:
    """The message of a check in ``lang`` ("en", "az", "ru"): catalogue key ``quality.check.<id>``.

    Covers every id of :data:`CHECKS` and the reader's checks (:data:`READER_CHECK_IDS`).
    ``fmt`` fills the template (``days`` for ``duplicate_tumour``; defaults are this module's
    constants). An unknown id gives the English message of :data:`CHECKS` or the id itself,
    never an error.
    """
    from . import i18n
    key = f"quality.check.{check_id}"
    if not i18n.has_key(key, "en") and i18n.has_key(f"quality.reason.{check_id}", "en"):
        key = f"quality.reason.{check_id}"           # not_counted_by_default in the report
    if not i18n.has_key(key, "en"):
        c = CHECK_BY_ID.get(check_id)
        return c.message if c is not None else str(check_id)
    return i18n.t(key, lang, **{**_TEMPLATE_DEFAULTS, **fmt})


def reason_description(reason: str, lang: str = "en") -> str:
    """Description of a reconciliation reason in ``lang``: ``used``, ``not_counted_by_default``
    (catalogue ``quality.reason.<id>``) or a check id (its :func:`check_message`)."""
    from . import i18n
    key = f"quality.reason.{reason}"
    if i18n.has_key(key, "en"):
        return i18n.t(key, lang)
    return check_message(reason, lang)


def severity_label(severity: str, lang: str = "en") -> str:
    """"error", "warning" or "not counted" in ``lang`` (catalogue ``quality.severity.<id>``)."""
    from . import i18n
    key = "quality.severity." + str(severity).replace(" ", "_")
    return i18n.t(key, lang) if i18n.has_key(key, "en") else str(severity)


def translate_flags(flags: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Flags (or the ingest report) with ``message`` and ``severity`` in ``lang``.

    English keeps the per-record messages as written (they may name the value read or the
    rule that fired); other languages get the check's message (:func:`check_message`).
    ``check`` keeps its id, so filters and downloads stay language-independent.
    """
    if lang == "en" or not len(flags):
        return flags
    out = flags.copy()
    chk = out["check"].astype(str)
    uniq = pd.unique(chk)
    out["message"] = chk.map({c: check_message(c, lang) for c in uniq}).astype("str")
    if "severity" in out.columns:
        sev = out["severity"].astype(str)
        out["severity"] = sev.map({v: severity_label(v, lang) for v in pd.unique(sev)}).astype("str")
    return out


def translate_reconciliation(reconciliation: pd.DataFrame, lang: str = "en",
                             assumptions=()) -> pd.DataFrame:
    """The reconciliation frame with ``description`` in ``lang`` (``reason`` keeps its id).

    Status and severity become labels in ``lang`` too (``quality.status.*``,
    ``quality.severity.*``); the ``records`` column is unchanged, so the sum still equals
    the records read. ``assumptions`` (``RegistryData.assumptions``, e.g.
    ``morphology_assumed``) are appended to the description of the records used, as the
    pipeline does in English.
    """
    if lang == "en" or not len(reconciliation):
        return reconciliation
    from . import i18n
    out = reconciliation.copy()
    notes = " ".join(check_message(a, lang) for a in assumptions)
    out["description"] = [reason_description(r, lang) + (" " + notes if notes and r == USED else "")
                          for r in out["reason"].astype(str)]
    if "status" in out.columns:
        out["status"] = [i18n.t(f"quality.status.{v}", lang) if i18n.has_key(f"quality.status.{v}") else v
                         for v in out["status"].astype(str)]
    if "severity" in out.columns:
        out["severity"] = [severity_label(v, lang) if v else v for v in out["severity"].astype(str)]
    return out


# --- site/histology families (IARCcrgTools site/histology table, main families) -----------
def _r(a, b=None):
    return (a, a if b is None else b)


# (morphology ranges, allowed topography ranges (int ICD-O-3 codes), message)
SITE_MORPHOLOGY_RULES: tuple[tuple[tuple, tuple, str], ...] = (
    ((_r(9732, 9733), _r(9800, 9929), _r(9931, 9964), _r(9975, 9992)), (_r(420, 424),),
     "Leukaemia, myeloma or another bone-marrow neoplasm should have topography C42.1 (bone marrow)."),
    ((_r(8170, 8175), _r(8970)), (_r(220, 221),),
     "Hepatocellular carcinoma and hepatoblastoma arise in the liver (C22)."),
    ((_r(8312), _r(8316, 8319), _r(8960)), (_r(649),),
     "Renal cell carcinoma and nephroblastoma arise in the kidney (C64)."),
    ((_r(9510, 9514),), (_r(690, 699),), "Retinoblastoma arises in the eye (C69)."),
    ((_r(8330, 8337), _r(8340, 8347)), (_r(739),),
     "Follicular, papillary-follicular and medullary carcinoma arise in the thyroid (C73)."),
    ((_r(9380, 9460),), (_r(700, 729), _r(751, 753)),
     "Gliomas arise in the brain and central nervous system (C70-C72, C75.1-C75.3)."),
    ((_r(9530, 9539),), (_r(700, 729),), "Meningiomas arise in the meninges (C70-C72)."),
    ((_r(9050, 9055),), (_r(380, 388), _r(480, 488), _r(637), _r(809)),
     "Mesothelioma arises in the pleura, pericardium, peritoneum or tunica vaginalis."),
    ((_r(8090, 8097),), (_r(440, 449), _r(510, 519), _r(600, 609), _r(632)),
     "Basal cell carcinoma arises in the skin (C44, or skin of vulva, penis, scrotum)."),
)

# (morphology ranges or None, topography ranges or None, test on age, message)
AGE_RULES: tuple[tuple, ...] = (
    ((_r(9510, 9514),), None, lambda a: a > 5, "Retinoblastoma after the age of 5 is very unusual."),
    ((_r(8970),), None, lambda a: a >= 15, "Hepatoblastoma in an adult (15 or older) is very unusual."),
    ((_r(8960),), None, lambda a: a >= 15, "Nephroblastoma (Wilms tumour) at 15 or older is very unusual."),
    ((_r(9490), _r(9500)), None, lambda a: a >= 15, "Neuroblastoma at 15 or older is very unusual."),
    ((_r(8010, 8589),), (_r(619),), lambda a: a < 15, "Carcinoma of the prostate before the age of 15 is very unusual."),
)

FEMALE_ONLY_MORPH = (8930, 8931, 9090, 9091, 9103, 9104)   # endometrial stromal, struma ovarii, hydatidiform/placental site
MALE_ONLY_MORPH = (9061, 9062, 9063)                         # seminomas

# IARC/IACR multiple-primary rules (2004), groups of malignant neoplasms considered histologically different
MP_GROUPS: tuple[tuple[int, tuple], ...] = (
    (1, (_r(8051, 8084), _r(8120, 8131))),                                   # squamous
    (2, (_r(8090, 8110),)),                                                  # basal cell
    (3, (_r(8140, 8149), _r(8160, 8162), _r(8190, 8221), _r(8260, 8337), _r(8350, 8551),
         _r(8570, 8576), _r(8940, 8941))),                                   # adenocarcinomas
    (4, (_r(8030, 8046), _r(8150, 8157), _r(8170, 8180), _r(8230, 8255), _r(8340, 8347),
         _r(8560, 8562), _r(8580, 8671))),                                   # other specified carcinomas
    (5, (_r(8010, 8015), _r(8020, 8022), _r(8050),)),                        # unspecified carcinomas
    (6, (_r(8680, 8713), _r(8800, 8921), _r(8990, 8991), _r(9040, 9044), _r(9120, 9125),
         _r(9130, 9136), _r(9141, 9252), _r(9370, 9373), _r(9540, 9582))),   # sarcomas
    (7, (_r(9050, 9055),)),                                                  # mesothelioma
    (8, (_r(9590, 9992),)),                                                  # haematopoietic and lymphoid
    (9, (_r(9140),)),                                                        # Kaposi sarcoma
    (10, (_r(8720, 8790), _r(8930, 8936), _r(8950, 8983), _r(9000, 9030), _r(9060, 9110),
          _r(9260, 9365), _r(9380, 9539))),                                  # other specified
    (11, (_r(8000, 8005),)),                                                 # unspecified
)


def _in_ranges(x: np.ndarray, ranges) -> np.ndarray:
    out = np.zeros(len(x), bool)
    for lo, hi in ranges:
        out |= (x >= lo) & (x <= hi)
    return out


def _mp_group_lookup() -> np.ndarray:
    look = np.full(coding.MORPH_MAX - coding.MORPH_MIN + 1, 12, dtype=np.int8)  # 12: not listed
    for g, ranges in MP_GROUPS:
        for lo, hi in ranges:
            look[lo - coding.MORPH_MIN:hi - coding.MORPH_MIN + 1] = g
    return look


def histology_group(morphology: np.ndarray) -> np.ndarray:
    """IARC/IACR multiple-primary histology group (1-11; 12 = not listed; 0 = invalid)."""
    m = np.asarray(morphology)
    ok = m >= coding.MORPH_MIN
    return np.where(ok, _mp_group_lookup()[np.where(ok, m - coding.MORPH_MIN, 0)], 0)


# --- helpers ------------------------------------------------------------------------------
def _col(records: pd.DataFrame, name: str) -> pd.Series:
    if name in records.columns:
        return records[name]
    return pd.Series(pd.NA, index=records.index, dtype=object)


def _num(records: pd.DataFrame, name: str) -> np.ndarray:
    """Numeric codes as float; NaN when missing, -999 when given but not a number."""
    s = _col(records, name)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan)
    given = s.notna().to_numpy().copy()
    given &= (s.astype(str).str.strip() != "").to_numpy()
    out = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(out) & given, -999.0, out)


def _date(records: pd.DataFrame, name: str) -> np.ndarray:
    s = _col(records, name)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce")
    return s.to_numpy(dtype="datetime64[ns]")


def _present(records: pd.DataFrame, name: str) -> np.ndarray:
    s = _col(records, name)
    ok = s.notna().to_numpy().copy()
    if isinstance(s.dtype, pd.CategoricalDtype):
        blank = np.append(pd.Series(s.cat.categories.astype(str)).str.strip().eq("").to_numpy(), False)
        ok &= ~blank[s.cat.codes.to_numpy()]
    elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        arr = getattr(s.array, "_pa_array", None)
        if arr is not None and arrowtext.plain_ascii(arr):     # nothing to strip: present = not empty
            ok &= arrowtext.byte_lengths(arr) > 0
        else:
            ok &= (s.astype(str).str.strip() != "").to_numpy()
    return ok


def _duplicates(pid: pd.Series, t: np.ndarray, m: np.ndarray, inc: np.ndarray,
                window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Later records of the same patient, 3-char site and histology group: (within the
    window, beyond it)."""
    n = len(pid)
    out = np.zeros(n, bool)
    beyond = np.zeros(n, bool)
    pc = factorize_ids(pid)
    idx = np.flatnonzero(pc >= 0)
    idx = idx[np.bincount(pc[idx])[pc[idx]] > 1] if len(idx) else idx   # a patient's only record: no duplicate
    grp = histology_group(m[idx]).astype(np.int64)
    ok = (t[idx] >= 0) & (grp > 0) & ~np.isnat(inc[idx])
    idx, grp = idx[ok], grp[ok]
    if not len(idx):
        return out, beyond
    key = pc[idx] * 1_000_000 + (t[idx] // 10).astype(np.int64) * 100 + grp
    many = count_over(key) > 1              # only keys seen more than once can be duplicates
    idx, kc = idx[many], key[many]
    if not len(idx):
        return out, beyond
    d = inc[idx].astype("datetime64[D]").astype(np.int64)
    order = np.lexsort((idx, d, kc))
    same = kc[order][1:] == kc[order][:-1]
    close = (d[order][1:] - d[order][:-1]) <= window_days
    later = idx[order][1:]
    out[later[same & close]] = True
    beyond[later[same & ~close]] = True
    return out, beyond


def _years(dates: np.ndarray) -> np.ndarray:
    return pd.Series(dates).dt.year.to_numpy(dtype=float, na_value=np.nan)


def _age_checks(age: np.ndarray, birth: np.ndarray, incidence: np.ndarray, comparable: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(age differs by more than a year from the age by the dates, where ``comparable``; age
    unknown and not computable; age recorded or else computed).

    The completed years from the dates are the difference of the years ``dy`` or ``dy - 1``, so
    the years alone decide the comparison for an age more than a year from both (a mismatch)
    or between them (none); month and day (:func:`~analytics.derive.age_from_dates`) are read
    only for the ages in between and for the records without an age."""
    known = ~np.isnan(age)
    dy = _years(incidence) - _years(birth)
    dated = ~np.isnan(dy)
    far = (age < dy - 2) | (age > dy + 1)
    edge = ~far & ((age < dy - 1) | (age > dy))
    exact = np.flatnonzero(dated & ((known & edge) | ~known))
    computed = np.full(len(age), np.nan)
    if len(exact):
        computed[exact] = age_from_dates(pd.Series(birth[exact]), pd.Series(incidence[exact]))
    mismatch = known & dated & comparable & (far | (edge & (np.abs(age - computed) > 1)))
    return mismatch, ~known & ~dated, np.where(known, age, computed)


def region_known(codes: pd.Series, regions) -> np.ndarray:
    """True where a region code is one of ``regions`` (compared as stripped text, once per
    distinct code)."""
    known = {str(r).strip() for r in regions}
    if isinstance(codes.dtype, pd.CategoricalDtype):
        cats = np.array([str(c).strip() in known for c in codes.cat.categories] + [False])
        return cats[codes.cat.codes.to_numpy()]
    fcodes, uniq = pd.factorize(codes, use_na_sentinel=True)
    hit = np.array([str(u).strip() in known for u in uniq] + [False])
    return hit[fcodes]


def unknown_regions(records: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Region codes flagged ``region_unknown`` with their number of records (most first):
    ``region_code, records``."""
    if not len(flags):
        return pd.DataFrame({schema.REGION: pd.Series(dtype="str"), "records": pd.Series(dtype="int64")})
    rows = flags.loc[flags["check"].astype(str) == "region_unknown", schema.ROW]
    sub = records.loc[records[schema.ROW].isin(rows), schema.REGION].astype("str")
    out = sub.value_counts().rename_axis(schema.REGION).reset_index(name="records")
    return out.sort_values(["records", schema.REGION], ascending=[False, True], kind="stable").reset_index(drop=True)


# --- record checks -------------------------------------------------------------------------
def check_records(records: pd.DataFrame, *, today=None,
                  duplicate_window_days: int = DEFAULT_DUPLICATE_WINDOW_DAYS,
                  regions=None) -> pd.DataFrame:
    """Run every record check (IARC/IACR checks, Ferlay et al. 2005, IARC Tech Rep 42).

    Parameters
    ----------
    records : canonical tumour records (schema.TUMOUR_COLUMNS + ``row``; missing or all-NA
        columns are tolerated: a required item that is absent is flagged as missing).
    today : reference date for "future" dates (default: today's date).
    duplicate_window_days : window of the probable-duplicate check (default 91 days).
    regions : the region codes of the regions table (boundaries or population), or None; a
        record whose region code is given but not among them gets the warning
        ``region_unknown`` (counted nationally, in no region; its own reconciliation line).

    Returns
    -------
    DataFrame with schema.FLAG_COLUMNS, one row per (record, check) that fired, in record
    order then check order. ``check``, ``severity``, ``column`` and ``message`` are categorical.
    """
    n = len(records)
    today64 = np.datetime64(pd.Timestamp(today if today is not None else pd.Timestamp.now()).normalize(), "ns")
    masks: dict[str, np.ndarray] = {}
    messages: dict[str, tuple[np.ndarray, list[str]]] = {}   # check -> (per-record text index, texts)

    # item validity
    tid = _col(records, schema.TUMOUR_ID)
    tcodes = factorize_ids(tid)                         # hashed once (derive encoded it already)
    masks["tumour_id_duplicate"] = repeated(tcodes) & (tcodes >= 0)
    sex = _num(records, schema.SEX)
    masks["sex_invalid"] = ~np.isnan(sex) & ~np.isin(sex, (1, 2, 9))
    masks["sex_unknown"] = np.isnan(sex) | (sex == 9)
    t = coding.parse_topography(_col(records, schema.TOPOGRAPHY))
    m = coding.parse_morphology(_col(records, schema.MORPHOLOGY))
    masks["topography_missing"] = t == coding.MISSING
    masks["topography_invalid"] = t == coding.INVALID
    masks["morphology_missing"] = m == coding.MISSING
    masks["morphology_invalid"] = m == coding.INVALID
    beh = _num(records, schema.BEHAVIOUR)
    masks["behaviour_missing"] = np.isnan(beh)
    masks["behaviour_invalid"] = ~np.isnan(beh) & ~np.isin(beh, (0, 1, 2, 3))
    basis = _num(records, schema.BASIS)
    masks["basis_invalid"] = ~np.isnan(basis) & ~np.isin(basis, np.arange(10))
    masks["basis_unknown"] = np.isnan(basis) | (basis == 9)

    # dates
    inc = _date(records, schema.INCIDENCE_DATE)
    birth = _date(records, schema.BIRTH_DATE)
    last = _date(records, schema.LAST_CONTACT)
    inc_ok = ~np.isnat(inc)
    masks["incidence_date_missing"] = ~inc_ok
    masks["incidence_date_too_early"] = inc_ok & (inc < np.datetime64(f"{MIN_INCIDENCE_YEAR}-01-01", "ns"))
    masks["incidence_date_future"] = inc_ok & (inc > today64)
    masks["birth_date_future"] = ~np.isnat(birth) & (birth > today64)
    masks["birth_after_incidence"] = inc_ok & ~np.isnat(birth) & (inc < birth)
    last_ok = ~np.isnat(last)
    masks["last_contact_before_incidence"] = last_ok & inc_ok & (last < inc)
    masks["last_contact_future"] = last_ok & (last > today64)

    # age
    age = _num(records, schema.AGE)
    age_known = ~np.isnan(age)
    masks["age_out_of_range"] = age_known & ((age < 0) | (age > MAX_AGE))
    masks["age_date_mismatch"], masks["age_unknown"], age_eff = _age_checks(
        age, birth, inc, ~masks["age_out_of_range"] & ~masks["birth_after_incidence"])

    # consistency between items
    s3 = np.where(t >= 0, t // 10, -1)
    male_site = (s3 >= 60) & (s3 <= 63)
    female_site = (s3 >= 51) & (s3 <= 58)
    masks["sex_site"] = ((sex == 1) & female_site) | ((sex == 2) & male_site)
    masks["sex_morphology"] = (((sex == 1) & np.isin(m, FEMALE_ONLY_MORPH))
                               | ((sex == 2) & np.isin(m, MALE_ONLY_MORPH)))
    haem = coding.is_haematological(m)
    no_in_situ_site = (s3 == 80) | (s3 == 42) | (s3 == 77) | (s3 == 40) | (s3 == 41) | (s3 == 47) \
        | (s3 == 49) | ((s3 >= 70) & (s3 <= 72))
    masks["behaviour_site"] = (beh == 2) & no_in_situ_site
    masks["behaviour_morphology"] = ((haem & np.isin(beh, (0, 2)))
                                     | ((beh == 2) & (m >= 8800) & (m < 9590) & (m != 9064)))
    if schema.ICD10 in records.columns:
        icd10 = records[schema.ICD10]
    else:
        icd10 = coding._convert_many(t, m, coding._int_codes(_col(records, schema.BEHAVIOUR)), records.index)
    codes_ok = (t >= 0) & (m >= 0) & np.isin(beh, (0, 1, 2, 3))
    masks["icd10_unconvertible"] = codes_ok & icd10.isna().to_numpy() & ~masks["behaviour_morphology"]

    # site/histology (warnings), one check id with the family's message
    sm = np.zeros(n, bool)
    sm_msg = np.zeros(n, np.int16)
    t_ok = t >= 0
    solid = (m >= 8000) & ~haem & ~((m >= 8000) & (m <= 8005)) & (m != 9140)
    hits = [t_ok & _in_ranges(m, mr) & ~_in_ranges(t, tr) for mr, tr, _ in SITE_MORPHOLOGY_RULES]
    sm_texts = [msg for _, _, msg in SITE_MORPHOLOGY_RULES]
    hits.append(t_ok & solid & np.isin(t, (420, 421, 423, 424)))
    sm_texts.append("A solid-tumour histology at a blood or bone-marrow site (C42) is unlikely; code the primary site or C80.9.")
    hits.append(t_ok & solid & (s3 == 77))
    sm_texts.append("A solid-tumour histology in a lymph node (C77) is usually a metastasis; code the primary site or C80.9.")
    for i, hit in enumerate(hits):
        hit = hit & ~sm
        sm_msg[hit] = i
        sm |= hit
    masks["site_morphology"] = sm
    messages["site_morphology"] = (sm_msg, sm_texts)

    masks["basis_morphology"] = (basis == schema.DCO_BASIS) & (m >= 0) & ~np.isin(m, (8000, 8001))

    asm = np.zeros(n, bool)
    asm_msg = np.zeros(n, np.int16)
    a_ok = ~np.isnan(age_eff)
    for i, (morph_ranges, topo_ranges, test, msg) in enumerate(AGE_RULES):
        hit = a_ok & test(np.where(a_ok, age_eff, 0)) & ~asm
        if morph_ranges is not None:
            hit &= _in_ranges(m, morph_ranges)
        if topo_ranges is not None:
            hit &= _in_ranges(t, topo_ranges)
        asm_msg[hit] = i
        asm |= hit
    masks["age_site_morphology"] = asm
    messages["age_site_morphology"] = (asm_msg, [r[3] for r in AGE_RULES])

    masks["region_missing"] = ~_present(records, schema.REGION)
    if regions is not None:
        masks["region_unknown"] = ~masks["region_missing"] & ~region_known(_col(records, schema.REGION), regions)
    masks["duplicate_tumour"], masks["multiple_primary_rule"] = _duplicates(
        _col(records, schema.PATIENT_ID), t, m, inc, duplicate_window_days)
    messages["duplicate_tumour"] = (np.zeros(n, np.int16), [CHECK_BY_ID["duplicate_tumour"].message.replace(
        "the duplicate window", f"{duplicate_window_days} days")])
    return _flags_frame(records, masks, messages)


def _flags_frame(records: pd.DataFrame, masks: dict, messages: dict) -> pd.DataFrame:
    rows = (records[schema.ROW].to_numpy() if schema.ROW in records.columns
            else np.arange(1, len(records) + 1))
    tid = _col(records, schema.TUMOUR_ID)
    pos_parts, chk_parts, msg_parts = [], [], []
    check_ids = [c.id for c in CHECKS]
    all_msgs: list[str] = []
    msg_index: dict[str, int] = {}
    for i, c in enumerate(CHECKS):
        mask = masks.get(c.id)
        if mask is None or not mask.any():
            continue
        pos = np.flatnonzero(mask)
        pos_parts.append(pos)
        chk_parts.append(np.full(len(pos), i, dtype=np.int16))
        if c.id in messages:
            codes, texts = messages[c.id]
            offs = []
            for u in texts:
                if u not in msg_index:
                    msg_index[u] = len(all_msgs)
                    all_msgs.append(u)
                offs.append(msg_index[u])
            msg_parts.append(np.asarray(offs, dtype=np.int32)[codes[pos]])
        else:
            if c.message not in msg_index:
                msg_index[c.message] = len(all_msgs)
                all_msgs.append(c.message)
            msg_parts.append(np.full(len(pos), msg_index[c.message], dtype=np.int32))
    if pos_parts:
        pos = np.concatenate(pos_parts)
        chk = np.concatenate(chk_parts)
        msg = np.concatenate(msg_parts)
        order = np.lexsort((chk, pos))
        pos, chk, msg = pos[order], chk[order], msg[order]
    else:
        pos = np.array([], dtype=np.int64)
        chk = np.array([], dtype=np.int16)
        msg = np.array([], dtype=np.int32)
    sev = np.array([0 if c.severity == schema.ERROR else 1 for c in CHECKS], dtype=np.int8)[chk]
    cols = [c.column for c in CHECKS]
    col_cats = list(dict.fromkeys(cols))
    col_codes = np.array([col_cats.index(c) for c in cols], dtype=np.int16)[chk]
    tid_vals = tid.iloc[pos].reset_index(drop=True)
    if not (pd.api.types.is_string_dtype(tid_vals.dtype) and not isinstance(tid_vals.dtype, pd.CategoricalDtype)):
        tid_vals = tid_vals.astype(object).where(tid_vals.notna(), None).astype("str")
    return pd.DataFrame({
        schema.ROW: rows[pos],
        schema.TUMOUR_ID: tid_vals,
        "check": pd.Categorical.from_codes(chk, categories=pd.Index(check_ids, dtype=str)),
        "severity": pd.Categorical.from_codes(sev, categories=pd.Index([schema.ERROR, schema.WARNING], dtype=str)),
        "column": pd.Categorical.from_codes(col_codes, categories=pd.Index(col_cats, dtype=str)),
        "message": pd.Categorical.from_codes(msg, categories=pd.Index(all_msgs, dtype=str)),
    })


# --- reconciliation ----------------------------------------------------------------------
def reconcile(records: pd.DataFrame, flags: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decide which records are counted and account for every record read.

    Each record with at least one error is excluded under one primary reason: its first
    error in :data:`CHECKS` order (errors raised by other stages, with check ids not in
    :data:`CHECKS`, come first: they are reading problems that explain the rest). All flags
    are kept in ``flags``. A record without errors whose ICD-10 code is not counted by default
    (benign, uncertain, in situ except bladder) is excluded under ``not_counted_by_default``.
    ``included`` is True for the records counted; ``first_primary`` is recomputed among them.

    Returns ``(records_with_included, reconciliation)``; ``reconciliation`` has one row per
    status/reason: status (used/excluded), reason, severity, description, records; its
    ``records`` sum to ``len(records)`` exactly.
    """
    out = records.copy(deep=False)
    n = len(out)
    rows = (out[schema.ROW].to_numpy() if schema.ROW in out.columns else np.arange(1, n + 1))
    err = flags[flags["severity"].astype(str) == schema.ERROR] if len(flags) else flags
    primary = np.full(n, -1, dtype=np.int64)
    reason_ids: list[str] = []
    descriptions: dict[str, str] = {}
    if len(err):
        chk = err["check"]
        if isinstance(chk.dtype, pd.CategoricalDtype):
            codes, cats = chk.cat.codes.to_numpy(), [str(c) for c in chk.cat.categories]
        else:
            codes, cats = pd.factorize(chk.astype(str))
            cats = [str(c) for c in cats]
        present = sorted(set(np.unique(codes).tolist()))
        foreign = sorted(cats[i] for i in present if cats[i] not in CHECK_ORDER)
        reason_ids = foreign + [c.id for c in CHECKS if c.severity == schema.ERROR]
        rank = {r: i for i, r in enumerate(reason_ids)}
        cat_rank = np.array([rank.get(c, len(reason_ids)) for c in cats], dtype=np.int64)
        r_of = cat_rank[codes]
        frow = err[schema.ROW].to_numpy()
        if np.array_equal(rows, np.arange(1, n + 1)):
            pos = frow.astype(np.int64) - 1
            pos[(pos < 0) | (pos >= n)] = -1
        else:
            pos = pd.Index(rows).get_indexer(frow)
        keep = pos >= 0
        # minimum rank per record, without a Python loop
        np.minimum.at(primary_rank := np.full(n, np.iinfo(np.int64).max), pos[keep], r_of[keep])
        hit = primary_rank != np.iinfo(np.int64).max
        primary[hit] = primary_rank[hit]
        first_msg = err.drop_duplicates("check")
        for cid, msg in zip(first_msg["check"].astype(str), first_msg["message"].astype(str)):
            descriptions.setdefault(cid, msg)
    excluded_err = primary >= 0
    icd10 = out[schema.ICD10] if schema.ICD10 in out.columns else pd.Series(pd.NA, index=out.index)
    counted = coding.is_counted(icd10)
    not_counted = ~excluded_err & ~counted
    included = ~excluded_err & counted
    out[schema.INCLUDED] = included
    if schema.SITE_CI5 in out.columns:
        _refresh_first_primary(out, included)

    # records counted whose region is not in the regions table: counted nationally, on their own line
    outside = np.zeros(n, bool)
    if len(flags):
        ru = flags.loc[flags["check"].astype(str) == "region_unknown", schema.ROW].to_numpy()
        if len(ru):
            outside = np.isin(rows, ru) & included
    recs = [{"status": "used", "reason": USED, "severity": "",
             "description": "Counted (malignant, or registrable in situ/uncertain bladder and myeloproliferative/myelodysplastic neoplasms).",
             "records": int((included & ~outside).sum())}]
    if outside.any():
        recs.append({"status": "used", "reason": REGION_UNKNOWN, "severity": schema.WARNING,
                     "description": "Counted in the national figures only: region not in the regions table.",
                     "records": int(outside.sum())})
    if reason_ids:
        counts = np.bincount(primary[excluded_err], minlength=len(reason_ids))
        for i, rid in enumerate(reason_ids):
            if counts[i]:
                recs.append({"status": "excluded", "reason": rid, "severity": schema.ERROR,
                             "description": descriptions.get(rid, rid), "records": int(counts[i])})
    if not_counted.any():
        recs.append({"status": "excluded", "reason": NOT_COUNTED, "severity": "not counted",
                     "description": "Benign, uncertain or in situ tumour: kept, but not counted by default (only malignant tumours and bladder in situ/uncertain and myeloproliferative/myelodysplastic neoplasms are).",
                     "records": int(not_counted.sum())})
    recon = pd.DataFrame(recs, columns=["status", "reason", "severity", "description", "records"])
    assert int(recon["records"].sum()) == n, "reconciliation must account for every record"
    return out, recon


def _refresh_first_primary(out: pd.DataFrame, included: np.ndarray) -> None:
    """First primaries among the included records. Only patients who lost a first primary
    to an exclusion need recomputing (derive already chose among the counted records)."""
    from .derive import first_primary
    fp = (out[schema.FIRST_PRIMARY].to_numpy(dtype=bool) if schema.FIRST_PRIMARY in out.columns
          else np.zeros(len(out), bool))
    new = fp & included
    lost = fp & ~included
    if lost.any() or schema.FIRST_PRIMARY not in out.columns:
        pid = _col(out, schema.PATIENT_ID)
        if schema.FIRST_PRIMARY not in out.columns:
            sub = np.ones(len(out), bool)
        else:
            pc = factorize_ids(pid)
            hit = np.zeros(pc.max(initial=-1) + 2, bool)
            hit[pc[lost] + 1] = True
            hit[0] = False                       # missing patient id: only the record itself
            sub = hit[pc + 1] | lost
        idx = np.flatnonzero(sub)
        part = out.iloc[idx]
        new[idx] = first_primary(factorize_ids(pid)[idx], part[schema.SITE_CI5],
                                 _col(part, schema.INCIDENCE_DATE), _col(part, schema.TUMOUR_ID),
                                 eligible=included[idx])
    out[schema.FIRST_PRIMARY] = new


def summary(reconciliation: pd.DataFrame) -> dict[str, int]:
    """n_read, n_used, n_excluded from a reconciliation frame."""
    used = int(reconciliation.loc[reconciliation["status"] == "used", "records"].sum())
    excl = int(reconciliation.loc[reconciliation["status"] == "excluded", "records"].sum())
    return {"n_read": used + excl, "n_used": used, "n_excluded": excl}


# --- data-quality indicators ------------------------------------------------------------------
INDICATORS = {
    "mv_pct": "% morphologically verified",
    "dco_pct": "% death certificate only",
    "clinical_pct": "% clinical diagnosis only",
    "unknown_basis_pct": "% basis of diagnosis unknown",
    "unknown_age_pct": "% age unknown",
    "unknown_sex_pct": "% sex unknown",
    "c80_pct": "% primary site unknown (C80)",
    "c76_c80_pct": "% other and ill-defined sites (C76-C80)",
    "mi_ratio": "Mortality:incidence ratio",
}


def targets() -> pd.DataFrame:
    """Usual targets of the indicators, for highlighting (Bray & Parkin 2009, Parkin & Bray 2009).

    ``direction`` says which side is better; ``good`` is the usual target and ``acceptable``
    the limit beyond which the value needs explanation. MV% close to 100% is also suspect
    (over-reliance on pathology sources, missed clinical cases), hence ``suspicious_above``.
    M:I ratios have no single target: compare each site with the ratio expected from its
    survival (M:I ~ 1 - 5-year survival), and with other registries.
    """
    src = ("Bray F, Parkin DM. Eur J Cancer 2009;45:747-755; "
           "Parkin DM, Bray F. Eur J Cancer 2009;45:756-764")
    rows = [
        ("mv_pct", "higher", 90.0, 80.0, 99.0),
        ("dco_pct", "lower", 5.0, 10.0, np.nan),
        ("clinical_pct", "lower", np.nan, np.nan, np.nan),
        ("unknown_basis_pct", "lower", np.nan, np.nan, np.nan),
        ("unknown_age_pct", "lower", np.nan, np.nan, np.nan),
        ("unknown_sex_pct", "lower", np.nan, np.nan, np.nan),
        ("c80_pct", "lower", np.nan, np.nan, np.nan),
        ("c76_c80_pct", "lower", np.nan, np.nan, np.nan),
        ("mi_ratio", "lower", np.nan, np.nan, np.nan),
    ]
    tab = pd.DataFrame(rows, columns=["indicator", "direction", "good", "acceptable", "suspicious_above"])
    tab.insert(1, "label", tab["indicator"].map(INDICATORS))
    tab["source"] = src
    return tab


def _site_of_deaths(deaths: pd.DataFrame, col: str) -> pd.Series:
    scheme = "ci5_detailed" if col == schema.SITE_CI5 else "globocan"
    return sites.assign(deaths[schema.ICD10], scheme)     # codes normalised once per distinct code


def indicators(records: pd.DataFrame, *, by=(schema.SITE_CI5,), deaths: pd.DataFrame | None = None,
               key: str | None = None) -> pd.DataFrame:
    """Data-quality indicators (Bray & Parkin 2009, Eur J Cancer 45:747-755 and 756-764).

    Percentages among the records counted (``included`` True when the column exists):
    % MV (basis in schema.MV_BASIS), % DCO (basis 0), % clinical only (schema.CLINICAL_BASIS),
    % basis unknown, % age unknown, % sex unknown (9 or missing), % primary site unknown
    (ICD-10 C80) and % other and ill-defined (C76-C80); and the mortality:incidence ratio
    (deaths / cases in the same strata) when ``deaths`` (schema.DEATH_COLUMNS) is given and
    has the ``by`` columns (site groups are derived from the deaths' ICD-10; when ``year``
    is not in ``by`` deaths are restricted to the incidence years present).

    Returns a tidy frame: by..., indicator, label, count, total, value (percentage, or
    ratio for ``mi_ratio``), unit. Strata with no cases are absent.

    ``key``: a column of record keys (``analytics.disclosure``; for ``mi_ratio`` a column of row
    keys of ``deaths``): the frame then also has ``count_key`` and ``total_key``, the sums of the
    keys of the records counted, so that public output can perturb each count.
    """
    by = [by] if isinstance(by, str) else list(by)
    recs = records
    if schema.INCLUDED in recs.columns:
        recs = recs[recs[schema.INCLUDED].to_numpy(dtype=bool)]
    missing = [c for c in by if c not in recs.columns]
    if missing:
        raise ValueError(f"indicators: column(s) {missing} are not in the records; use any of "
                         f"{[schema.SITE_CI5, schema.SITE_GLOBOCAN, schema.SEX, schema.REGION, schema.YEAR]}.")
    basis = _num(recs, schema.BASIS)
    sex = _num(recs, schema.SEX)
    age = _num(recs, schema.AGE)
    icd = _col(recs, schema.ICD10)
    if isinstance(icd.dtype, pd.CategoricalDtype):
        cats = pd.Series(icd.cat.categories.astype(str))
        c3 = np.append(cats.str[:3].to_numpy(dtype=object), "")[icd.cat.codes.to_numpy()]
    else:
        c3 = icd.astype(object).fillna("").astype(str).str[:3].to_numpy(dtype=object)
    flags = pd.DataFrame({
        "mv_pct": np.isin(basis, schema.MV_BASIS),
        "dco_pct": basis == schema.DCO_BASIS,
        "clinical_pct": np.isin(basis, schema.CLINICAL_BASIS),
        "unknown_basis_pct": np.isnan(basis) | (basis == 9),
        "unknown_age_pct": np.isnan(age),
        "unknown_sex_pct": np.isnan(sex) | (sex == 9),
        "c80_pct": c3 == "C80",
        "c76_c80_pct": np.isin(c3, ["C76", "C77", "C78", "C79", "C80"]),
    }, index=recs.index)
    flags["_n"] = 1
    if key is not None:
        kv = recs[key].to_numpy(dtype=np.int64)
        for col in list(flags.columns):
            flags[f"{col}__key"] = np.where(flags[col].to_numpy(dtype=bool), kv, 0)
    if by:
        keys = [recs[c] for c in by]
        agg = flags.groupby(keys, observed=True, dropna=False, sort=True).sum()
    else:
        agg = flags.sum().to_frame().T
        agg.index = pd.RangeIndex(1)
    agg = agg[agg["_n"] > 0]
    total = agg["_n"]
    parts = []
    for ind in [k for k in INDICATORS if k != "mi_ratio"]:
        p = pd.DataFrame({"indicator": ind, "count": agg[ind].astype("int64"), "total": total.astype("int64")})
        if key is not None:
            p["count_key"], p["total_key"] = agg[f"{ind}__key"].astype("int64"), agg["_n__key"].astype("int64")
        p["value"] = 100.0 * p["count"] / p["total"]
        p["unit"] = "%"
        parts.append(p)
    if deaths is not None and len(deaths):
        dth = deaths.copy()
        for col in by:
            if col in (schema.SITE_CI5, schema.SITE_GLOBOCAN) and col not in dth.columns:
                dth[col] = _site_of_deaths(dth, col).to_numpy()
        if schema.YEAR not in by and schema.YEAR in dth.columns and schema.YEAR in recs.columns:
            years = pd.unique(recs[schema.YEAR].dropna())
            dth = dth[dth[schema.YEAR].isin(years)]
        if all(c in dth.columns for c in by):
            cnt = pd.to_numeric(dth[schema.COUNT], errors="coerce").fillna(0)
            if by:
                dsum = cnt.groupby([dth[c] for c in by], observed=True, dropna=False).sum()
                dsum = dsum.reindex(agg.index)
            else:
                dsum = pd.Series([cnt.sum()], index=agg.index)
            dsum = dsum.fillna(0)
            if np.allclose(dsum, np.round(dsum)):
                dsum = dsum.round().astype("int64")
            p = pd.DataFrame({"indicator": "mi_ratio", "count": dsum,
                              "total": total.astype("int64")})
            if key is not None:
                dkey = dth[key].astype("int64") if key in dth.columns else pd.Series(0, index=dth.index)
                ksum = (dkey.groupby([dth[c] for c in by], observed=True, dropna=False).sum().reindex(agg.index)
                        if by else pd.Series([dkey.sum()], index=agg.index))
                p["count_key"], p["total_key"] = ksum.fillna(0).astype("int64"), agg["_n__key"].astype("int64")
            p["value"] = p["count"] / p["total"]
            p["unit"] = "ratio"
            parts.append(p)
    res = pd.concat(parts)
    if by:
        res = res.reset_index()
        res.columns = list(by) + list(res.columns[len(by):])
    else:
        res = res.reset_index(drop=True)
    res.insert(len(by) + 1, "label", res["indicator"].map(INDICATORS))
    order = {k: i for i, k in enumerate(INDICATORS)}
    res["_o"] = res["indicator"].map(order)
    res = res.sort_values(list(by) + ["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return res

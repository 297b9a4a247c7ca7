"""CanReg5 export conventions: header aliases, dictionary codes, unknown-value markers.

CanReg5's "Export data" (IARC-CSU/CanReg5, ``ExportReportInternalFrame.java``) can name the
columns four ways: short names upper-cased (``INCID``), English names (``Incid.Date``, with
placeholders such as ``-27-`` for variables that have none), full names (``Incidence date``)
or standard variable names (``IncidenceDate``; ``STAT*`` for variables without one). The
training registry's codebook (``data/canreg5_trn/trn_variables.csv``) lists all four for
every variable; the aliases below cover each form, compared after :func:`normalise_header`.

Codes (CanReg5 ``doc/standard_variables.md``, TRN dictionaries): sex 1/2/9, behaviour 0-3,
basis 0-9, record status 0 pending / 1 confirmed / 2 deleted, status (vital) 1 alive /
2 dead / 9 unknown; unknown age 999 (99 when the registry defines age with 2 digits);
dates ``yyyyMMdd`` with day or month ``99``/``00`` and year ``9999`` for unknown.
"""
from __future__ import annotations

import re

from analytics import schema as S

RECORD_STATUS = "_record_status"   # CanReg RECS; 2 = deleted (a reader-level exclusion)
DELETED_STATUS = 2
UNKNOWN_AGE = 999
UNKNOWN_AGE_2DIGIT = 99

_KEEP = re.compile(r"[^0-9a-zа-яё\u0259\u011f\u0131\u00f6\u00fc\u00e7\u015f]+")


def normalise_header(name: object) -> str:
    """Lower-case, ``*`` suffix and punctuation removed: ``'Incid.Date'`` -> ``'inciddate'``.

    CanReg's numeric placeholders (``-27-``) are kept as written, since ``27`` alone would
    collide with other numbered columns.
    """
    text = str(name).strip().lstrip("\ufeff")
    if re.fullmatch(r"-\d+-", text):
        return text
    return _KEEP.sub("", text.lower().rstrip("*"))


def _n(*names: str) -> tuple[str, ...]:
    return tuple(normalise_header(n) for n in names)


# Header aliases per schema column. The first group of each entry is CanReg5 (short,
# English, full, standard names of TRN), then NAACCR XML/flat item names, SEER*Stat
# export labels and plain English; the canonical name itself is always included.
ALIASES: dict[str, tuple[str, ...]] = {
    S.TUMOUR_ID: _n("TUMOURID", "TumourID", "tumour_id", "tumor_id", "tumour id", "tumor id",
                    "tumourno", "tumour number", "case id", "caseid", "record id"),
    S.PATIENT_ID: _n("REGNO", "Reg.No.", "Registry Number", "PatientID", "patient_id", "patient id",
                     "patientIdNumber", "Patient ID", "person id", "personid"),
    S.SEX: _n("SEX", "Sex", "gender", "sex code"),
    S.BIRTH_DATE: _n("BIRTHD", "Birth Date", "Birth date", "BirthDate", "birth_date",
                     "dateOfBirth", "date of birth", "dob"),
    S.INCIDENCE_DATE: _n("INCID", "Incid.Date", "Incidence date", "IncidenceDate", "incidence_date",
                         "dateOfDiagnosis", "date of diagnosis", "diagnosis date", "date of incidence",
                         "diagnosis_date", "incidence"),
    S.AGE: _n("AGE", "Age", "ageAtDiagnosis", "Age at diagnosis", "age at incidence", "age_years"),
    S.TOPOGRAPHY: _n("TOP", "Topog.", "Topography", "primarySite", "Primary Site",
                     "Primary Site - labeled", "ICD-O-3 topography", "icdo3 topography", "topography code",
                     "site code"),
    S.MORPHOLOGY: _n("MOR", "Morpg.", "Morphology", "histologicTypeIcdO3", "Histologic Type ICD-O-3",
                     "Histology", "ICD-O-3 morphology", "histology code", "morphology code"),
    S.BEHAVIOUR: _n("BEH", "Behav.", "Behaviour", "behaviorCodeIcdO3", "Behavior code ICD-O-3",
                    "Behavior", "behaviour code", "behavior code"),
    S.BASIS: _n("BAS", "Basis Diag.", "Basis diagnosis", "BasisDiagnosis", "basis", "basis of diagnosis",
                "diagnosticConfirmation", "Diagnostic Confirmation"),
    S.REGION: _n("ADDR", "Address", "AddressCode", "region_code", "region", "region code", "district",
                 "district code", "countyAtDx", "county", "area code", "area", "rayon"),
    S.VITAL_STATUS: _n("STAT", "-27-", "Status", "STAT*", "VitalStatus", "vital_status", "vital status",
                       "Vital status recode (study cutoff used)", "Vital status recode", "vital"),
    S.LAST_CONTACT: _n("DLC", "Last Con.", "Date last contact", "Lastcontact", "last_contact_date",
                       "dateOfLastContact", "date of last contact", "last contact date", "last contact",
                       "date of death or last contact"),
    S.CAUSE_OF_DEATH: _n("causeOfDeath", "cause_of_death", "cause of death", "COD", "underlying cause"),
    RECORD_STATUS: _n("RECS", "Rec.Stat.", "Record status", "TumourRecordStatus"),
}

# Used only when no column matched the aliases above (CanReg system columns, year-only data).
FALLBACK_ALIASES: dict[str, tuple[str, ...]] = {
    S.PATIENT_ID: _n("PATIENTRECORDID", "PatientRecordID", "PATIENTIDTUMOURTABLE", "PatientIDTumourTable",
                     "PATIENTRECORDIDTUMOURTABLE"),
    S.INCIDENCE_DATE: _n("year", "Year of diagnosis", "yearOfDiagnosis", "diagnosis year", "incidence year"),
}

# Columns whose header marks a file as a CanReg5 export (any naming option).
CANREG_MARKERS = frozenset(("RECS", "INCID", "Incid.Date", "IncidenceDate", "Incidence date", "REGNO",
                            "Reg.No.", "Registry Number", "TUMOURID", "TumourID", "PATIENTRECORDID",
                            "PatientRecordID", "BIRTHD", "DLC", "Basis Diag.", "BasisDiagnosis", "Topog.",
                            "Morpg.", "Rec.Stat.", "TumourRecordStatus", "PATIENTIDTUMOURTABLE", "STAT*",
                            "-27-", "Lastcontact"))

# Direct identifiers in CanReg5 exports (TRN: surname, first names, maiden and middle name;
# ``-6-`` is the TRN English placeholder for the maiden name).
CANREG_IDENTIFIERS = frozenset(_n("FAMN", "FIRSTN", "MAIDN", "MIDN", "Surname", "First Name", "First names",
                                  "FirstName", "-6-", "Maiden name", "MAIDN*", "MiddleName", "MIDN*"))


def is_canreg_header(columns) -> bool:
    """True when the header carries CanReg5 column names in any of the four naming options."""
    return any(str(c).strip().lstrip("\ufeff") in CANREG_MARKERS for c in columns)


# NAACCR v23 codes translated to the CanReg/IARC codes of the schema.
NAACCR_VITAL_STATUS = {"0": 2, "1": 1, "9": 9}
NAACCR_CONFIRMATION = {"1": 7, "2": 5, "3": 7, "4": 7, "5": 4, "6": 2, "7": 2, "8": 1, "9": 9}


# --- writing CanReg5-style exports (fixtures, the demo extract, benchmarks) ------------------
TRN_VARIABLES = S.DATA_DIR / "canreg5_trn" / "trn_variables.csv"
HEADER_OPTIONS = ("short", "english", "full", "standard")


def trn_headers(option: str = "short") -> dict[str, str]:
    """Short (database, upper-case) name -> export header under CanReg5's naming ``option``,
    from the TRN codebook."""
    import pandas as pd
    if option not in HEADER_OPTIONS:
        raise ValueError(f"option must be one of {HEADER_OPTIONS}")
    v = pd.read_csv(TRN_VARIABLES, dtype=str, keep_default_na=False)
    col = {"short": "db_column", "english": "english_name", "full": "full_name",
           "standard": "standard_export_header"}[option]
    return dict(zip(v["db_column"], v[col]))


def _quote(value: str, first: bool, delimiter: str) -> str:
    """Apache commons-csv 1.4 ``QuoteMode.MINIMAL`` as CanReg5's exporter applies it."""
    if value == "":
        return '""' if first else ""
    c0 = value[0]
    need = (first and not c0.isalnum()) or c0 <= "#" or value[-1] <= " " or any(
        ch in value for ch in (delimiter, '"', "\r", "\n"))
    return '"' + value.replace('"', '""') + '"' if need else value


def write_export(frame, target=None, *, names: str = "short", delimiter: str = "\t") -> bytes | None:
    """Write ``frame`` (columns = CanReg short names, values as CanReg stores them) exactly as
    CanReg5's *Export data* does: UTF-8 without BOM, CRLF, commons-csv minimal quoting,
    header in the chosen naming option (``short``/``english``/``full``/``standard``).

    Columns that are not TRN variables (``Hosp``, ``TOP (desc)``...) keep their name.
    Returns the bytes when ``target`` is None, else writes the file.
    """
    heads = trn_headers(names)
    cols = list(frame.columns)
    header = delimiter.join(_quote(heads.get(c, c), i == 0, delimiter) for i, c in enumerate(cols))
    values = frame.astype(object).where(frame.notna(), "").astype(str).to_numpy()
    lines = [header]
    quotable = set('"\r\n' + delimiter)
    for rowvals in values:
        parts = []
        for i, v in enumerate(rowvals):
            if v and v[0] > "#" and v[-1] > " " and i and not (quotable & set(v)):
                parts.append(v)   # fast path: the common unquoted value
            else:
                parts.append(_quote(v, i == 0, delimiter))
        lines.append(delimiter.join(parts))
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    if target is None:
        return data
    with open(target, "wb") as fh:
        fh.write(data)
    return None

"""The data model: canonical column names and codes shared by every module.

Every reader returns frames with these columns; every computation reads them.
Codes follow CanReg5's standard variables (IARC, CanReg5 ``doc/standard_variables.md``):
sex 1 male / 2 female / 9 unknown; behaviour 0-3 (ICD-O-3 fifth digit); basis of
diagnosis 0 death certificate only, 1 clinical, 2 clinical investigation, 3 surgery/autopsy
without histology, 4 specific tumour marker, 5 cytology, 6 histology of metastasis,
7 histology of primary, 8 autopsy with histology, 9 unknown (IARC/IACR basis codes as
CanReg5's TRN dictionary has them; microscopically verified = 5, 6, 7, 8);
vital status 1 alive / 2 dead / 9 unknown.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# --- tumour records ---------------------------------------------------------------
# As read (after mapping/renaming); dtype in brackets.
TUMOUR_ID = "tumour_id"            # str, unique per record
PATIENT_ID = "patient_id"          # str
SEX = "sex"                        # Int8: 1 male, 2 female, 9/NA unknown
BIRTH_DATE = "birth_date"          # datetime64[ns], NaT unknown (unknown day -> 15th, month -> 1 July)
INCIDENCE_DATE = "incidence_date"  # datetime64[ns]
AGE = "age"                        # Int16 completed years at diagnosis, NA unknown
TOPOGRAPHY = "topography"          # str ICD-O-3 topography "C509" (no dot)
MORPHOLOGY = "morphology"          # str 4-digit ICD-O-3 histology "8140"
BEHAVIOUR = "behaviour"            # Int8 0 benign, 1 uncertain, 2 in situ, 3 malignant (6, 9 read as 3)
BASIS = "basis"                    # Int8 basis of diagnosis code (see module docstring)
MV_BASIS = (5, 6, 7, 8)            # microscopically verified
DCO_BASIS = 0
CLINICAL_BASIS = (1, 2, 3)
REGION = "region_code"             # str, key of the regions table (district level)
VITAL_STATUS = "vital_status"      # Int8 1 alive, 2 dead, 9 unknown
LAST_CONTACT = "last_contact_date" # datetime64[ns]: date of last contact or death
CAUSE_OF_DEATH = "cause_of_death"  # str ICD-10, optional
ROW = "row"                        # int, 1-based data row number in the source file (header = row 0)

# derived
YEAR = "year"                      # Int16 incidence year
AGE_GROUP = "age_group"            # str label "0-4" ... "85+"
AGE_START = "age_start"            # Int16 lower bound of the age group
ICD10 = "icd10"                    # str ICD-10 "C509" (no dot), from ICD-O-3
SITE_CI5 = "site_ci5"              # str CI5-XI detailed site group label
SITE_GLOBOCAN = "site_globocan"    # str GLOBOCAN site group label
FIRST_PRIMARY = "first_primary"    # bool: first tumour of the patient in its CI5 site group
INCLUDED = "included"              # bool: no error flag, counted by default (malignant or registrable)

TUMOUR_COLUMNS = [
    TUMOUR_ID, PATIENT_ID, SEX, BIRTH_DATE, INCIDENCE_DATE, AGE, TOPOGRAPHY, MORPHOLOGY,
    BEHAVIOUR, BASIS, REGION, VITAL_STATUS, LAST_CONTACT, CAUSE_OF_DEATH,
]
DERIVED_COLUMNS = [YEAR, AGE_GROUP, AGE_START, ICD10, SITE_CI5, SITE_GLOBOCAN, FIRST_PRIMARY, INCLUDED]

# --- population -------------------------------------------------------------------
POPULATION = "population"          # float person-years
POPULATION_COLUMNS = [YEAR, REGION, SEX, AGE_GROUP, AGE_START, POPULATION]

# --- regions (GeoDataFrame, EPSG:4326) ----------------------------------------------
REGION_NAME = "region_name"
PARENT = "parent_code"             # economic region code
PARENT_NAME = "parent_name"
REGION_COLUMNS = [REGION, REGION_NAME, PARENT, PARENT_NAME, "geometry"]

# --- risk factors -------------------------------------------------------------------
INDICATOR = "indicator"
VALUE = "value"
UNIT = "unit"
LOWER = "lower"
UPPER = "upper"
SOURCE = "source"
RISK_FACTOR_COLUMNS = [REGION, INDICATOR, VALUE, UNIT, YEAR, LOWER, UPPER, SOURCE]

# --- deaths -------------------------------------------------------------------------
COUNT = "count"
DEATH_COLUMNS = [YEAR, SEX, AGE_GROUP, REGION, ICD10, COUNT]

# --- flags (validation) -------------------------------------------------------------
# One row per (record, check) that fired.
FLAG_COLUMNS = [ROW, TUMOUR_ID, "check", "severity", "column", "message"]
ERROR = "error"        # excludes the record from counts
WARNING = "warning"    # record still counted

SEX_LABELS = {1: "male", 2: "female", 9: "unknown"}
MALE, FEMALE, UNKNOWN_SEX = 1, 2, 9

# --- age groups -----------------------------------------------------------------------
def age_group_edges(top: int = 85, width: int = 5) -> np.ndarray:
    """Lower bounds of the standard age groups 0-4, 5-9, ..., top+ ."""
    return np.arange(0, top + 1, width)


def age_group_labels(top: int = 85, width: int = 5) -> list[str]:
    """Labels "0-4", "5-9", ..., "85+" (the CI5 / CanReg convention)."""
    starts = age_group_edges(top, width)
    return [f"{s}-{s + width - 1}" for s in starts[:-1]] + [f"{top}+"]


AGE_GROUPS = age_group_labels()

"""Direct identifiers: recognised by header name or by content, and never read.

A cancer registry extract may carry names, national identity numbers, street addresses,
phone numbers and e-mail addresses. The dashboard needs none of them, so the readers look
at the header and a small sample of the values, list the identifier columns, and then read
the file again with only the columns the data model needs (``usecols``/parquet column
selection). Identifier values therefore exist only in that sample, inside the reader; they
are never in ``RegistryData`` and never shown. The ingest report lists the dropped columns
and why.

Header names cover English, CanReg5 (``FAMN``, ``FIRSTN``, ``MAIDN``, ``MIDN`` and their
English/full/standard names), Russian and Azerbaijani forms. Content patterns catch e-mail
addresses and phone numbers under any header, and street addresses under a header such as
"Address" that a CanReg export would use for an address *code* (CanReg's ``ADDR`` is a
dictionary code and is kept as the region).
"""
from __future__ import annotations

import re

import pandas as pd

from analytics import canreg

NAME_HEADERS = frozenset(canreg.normalise_header(h) for h in (
    "name", "names", "surname", "last name", "lastname", "family name", "familyname", "first name",
    "firstname", "first names", "given name", "given names", "forename", "forenames", "middle name",
    "maiden name", "full name", "fullname", "patient name", "patientname", "patronymic", "fio",
    "фио", "фамилия", "имя", "отчество", "ad", "soyad", "soyadı", "ata adı", "atasının adı",
    "nameLast", "nameFirst", "nameMiddle", "nameMaiden", "nameAlias", "nameSpouseParent",
)) | canreg.CANREG_IDENTIFIERS
NATIONAL_ID_HEADERS = frozenset(canreg.normalise_header(h) for h in (
    "national id", "nationalid", "national id number", "national identity number", "ssn",
    "social security number", "socialSecurityNumber", "pin", "fin", "fin kod", "fin code",
    "passport", "passport number", "passport no", "id card", "identity card", "personal code",
    "personal id", "personal identification number", "nin", "nhs number", "medicare number",
    "medical record number", "medicalRecordNumber", "inn", "snils", "инн", "снилс", "паспорт",
    "şəxsiyyət vəsiqəsi", "medicareBeneficiaryIdentifier",
))
ADDRESS_HEADERS = frozenset(canreg.normalise_header(h) for h in (
    "street", "street address", "home address", "address line", "address line 1", "address line 2",
    "addressline1", "addressline2", "addrAtDxNoStreet", "addrCurrentNoStreet", "addrAtDxSupplementl",
    "house", "house number", "адрес", "улица", "ünvan", "küçə",
))
PHONE_HEADERS = frozenset(canreg.normalise_header(h) for h in (
    "phone", "telephone", "tel", "mobile", "mobile phone", "phone number", "telefon", "телефон",
    "cell", "cell phone", "contact number", "telephone number",
))
EMAIL_HEADERS = frozenset(canreg.normalise_header(h) for h in ("email", "e-mail", "email address", "mail",
                                                               "электронная почта", "e-poçt"))
# header fragments that name an identifier whatever surrounds them ("patient_surname", "Phone 2")
_SUBSTRINGS = {"surname": "name", "firstname": "name", "lastname": "name", "maidenname": "name",
               "patientname": "name", "phone": "phone number", "telephone": "phone number", "email": "e-mail",
               "passport": "national id", "nationalid": "national id", "socialsecurity": "national id",
               "streetaddress": "street address"}

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# +994 12 345 67 89, (012) 345-6789, 050-123-45-67: 9-15 digits with separators or a leading '+'
PHONE_RE = re.compile(r"^(?=(?:\D*\d){9,15}\D*$)(?:\+\d[\d\s().-]{7,}|\(?\d{2,4}\)?[\s.-]\d{2,4}[\s.-]\d{2,4}(?:[\s.-]\d{2,4})?)$")
# street-like text: letters and a space, and either a digit or a comma ("12 Nizami st", "Baku, Nizami")
STREET_RE = re.compile(r"(?=.*[^\W\d_])(?=.*\s)(?=.*[\d,])")

KIND_NAME, KIND_ID, KIND_ADDRESS, KIND_PHONE, KIND_EMAIL = (
    "name", "national id", "street address", "phone number", "e-mail")


def identifier_by_header(header: object) -> str | None:
    """The kind of direct identifier a header names, or None."""
    n = canreg.normalise_header(header)
    if n in NAME_HEADERS:
        return KIND_NAME
    if n in NATIONAL_ID_HEADERS:
        return KIND_ID
    if n in ADDRESS_HEADERS:
        return KIND_ADDRESS
    if n in PHONE_HEADERS:
        return KIND_PHONE
    if n in EMAIL_HEADERS:
        return KIND_EMAIL
    for sub, kind in _SUBSTRINGS.items():
        if sub in n:
            return kind
    return None


def identifier_by_content(values: pd.Series, *, address_header: bool = False,
                          threshold: float = 0.5) -> str | None:
    """The kind of identifier most non-empty sample values look like (e-mail, phone, street)."""
    v = values.dropna().astype(str).str.strip()
    v = v[v != ""]
    if v.empty:
        return None
    v = v.head(500)
    if v.str.match(EMAIL_RE).mean() >= threshold:
        return KIND_EMAIL
    if v.str.match(PHONE_RE).mean() >= threshold:
        return KIND_PHONE
    if address_header and v.str.contains(STREET_RE).mean() >= threshold:
        return KIND_ADDRESS
    return None


def find_identifiers(sample: pd.DataFrame) -> dict[str, str]:
    """Column -> identifier kind for every column of ``sample`` that holds direct identifiers."""
    found: dict[str, str] = {}
    for col in sample.columns:
        kind = identifier_by_header(col)
        if kind is None:
            addr = canreg.normalise_header(col) in {"address", "addr", "adres"}
            kind = identifier_by_content(sample[col], address_header=addr)
        if kind is not None:
            found[str(col)] = kind
    return found


def describe_dropped(dropped: dict[str, str]) -> str:
    """One line for the ingest report: ``Surname (name), Phone (phone number)``."""
    if not dropped:
        return "none"
    return ", ".join(f"{c} ({k})" for c, k in dropped.items())

"""Direct identifiers: recognised by header name or by content, and never kept or shown.

A cancer registry extract may carry names, national identity numbers, street addresses,
phone numbers and e-mail addresses. The dashboard needs none of them. Columns whose header
names an identifier are never read. Every other column is checked by its content, every
value of it (not a sample), in time linear in the text: a column whose values are mostly
e-mails, phone numbers or (under an address header) street addresses is an identifier
column and is dropped; in the text columns that are kept (ids, region codes, cause of
death) single values that look like an e-mail or a phone number are blanked. Values of
columns the data model does not use never leave the reader, and messages repeat a value
only when it has the shape of a code or a date (:func:`shown_value`). The ingest report
lists the dropped columns and why.

Header names cover English, CanReg5 (``FAMN``, ``FIRSTN``, ``MAIDN``, ``MIDN`` and their
English/full/standard names), Russian and Azerbaijani forms. Content patterns catch e-mail
addresses and phone numbers under any header, and street addresses under a header such as
"Address" that a CanReg export would use for an address *code* (CanReg's ``ADDR`` is a
dictionary code and is kept as the region).
"""
from __future__ import annotations

import re

import numpy as np
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
# headers under which street-like text is an address (CanReg's ADDR itself is a code)
ADDRESS_CONTENT_HEADERS = frozenset(("address", "addr", "adres"))
# header fragments that name an identifier whatever surrounds them ("patient_surname", "Phone 2")
_SUBSTRINGS = {"surname": "name", "firstname": "name", "lastname": "name", "maidenname": "name",
               "patientname": "name", "phone": "phone number", "telephone": "phone number", "email": "e-mail",
               "passport": "national id", "nationalid": "national id", "socialsecurity": "national id",
               "streetaddress": "street address"}

# Content patterns, run by RE2 (Arrow's regular-expression engine), whose time is linear in
# the length of the text whatever it holds: every value of a column is checked, not a sample.
# e-mail: something@domain.tld
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
# +994 12 345 67 89, (012) 345-6789, 050-123-45-67: a leading '+' or digit groups with separators,
# and 9-15 digits in all (counted separately: RE2 has no look-ahead)
PHONE_PATTERN = (r"^(?:\+\d[\d\s().-]{7,}|\(?\d{2,4}\)?[\s.-]\d{2,4}[\s.-]\d{2,4}(?:[\s.-]\d{2,4})?)$")
PHONE_DIGITS = (9, 15)
# street-like text: a letter, a space, and a digit or a comma ("12 Nizami st", "Baku, Nizami")
STREET_PARTS = (r"[^\W\d_]", r"\s", r"[\d,]")

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


def _strings(values) -> "pa.Array":
    """Non-empty stripped values as an Arrow string array (any pandas/Arrow/list input)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if isinstance(values, pa.ChunkedArray):
        arr = values.combine_chunks()
    elif isinstance(values, pa.Array):
        arr = values
    else:
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        if pd.api.types.is_float_dtype(s.dtype):
            s = s.astype("Int64")
        arr = pa.array(s.astype("str").array, type=pa.large_string()) if not isinstance(
            s.dtype, pd.StringDtype) else pa.array(s.array, type=pa.large_string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.large_string())
    arr = pc.utf8_trim_whitespace(arr)
    return pc.filter(arr, pc.fill_null(pc.greater(pc.utf8_length(arr), 0), False))


def _kind_masks(arr, address: bool) -> dict[str, np.ndarray]:
    """Per-value masks (e-mail, phone, street) over an Arrow string array; linear time.
    Missing values are False."""
    import pyarrow.compute as pc

    def match(pattern):
        return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)

    out = {KIND_EMAIL: match(EMAIL_PATTERN)}
    phone = match(PHONE_PATTERN)
    if phone.any():        # digits counted only where the shape matched (counting is the costly part)
        idx = np.flatnonzero(phone)
        digits = pc.count_substring_regex(arr.take(idx), r"\d").to_numpy(zero_copy_only=False)
        phone[idx] = (digits >= PHONE_DIGITS[0]) & (digits <= PHONE_DIGITS[1])
    out[KIND_PHONE] = phone
    if address:
        street = np.ones(len(arr), dtype=bool)
        for part in STREET_PARTS:
            street &= match(part)
        out[KIND_ADDRESS] = street
    return out


def identifier_by_content(values, *, address_header: bool = False, threshold: float = 0.5) -> str | None:
    """The kind of identifier most non-empty values look like (e-mail, phone, street), or None.

    Every value is checked (over the distinct values, weighted by how often each occurs),
    in time linear in the text: no sample, no backtracking regular expression.
    """
    import pyarrow.compute as pc
    arr = _strings(values)
    if len(arr) == 0:
        return None
    vc = pc.value_counts(arr)
    uniq = vc.field("values")
    counts = vc.field("counts").to_numpy(zero_copy_only=False).astype(np.float64)
    total = counts.sum()
    for kind, mask in _kind_masks(uniq, address_header).items():
        if counts[mask].sum() >= threshold * total:
            return kind
    return None


BATCH_VALUES = 1 << 21      # columns are checked together up to this many values (wide, short files)


def identifiers_by_content(columns: dict, *, address: frozenset | set = frozenset(),
                           threshold: float = 0.5) -> dict[str, str]:
    """:func:`identifier_by_content` for many columns at once (name -> values; ``address``:
    names under which street-like text counts). Narrow columns are checked together, so a file
    of 1,000 short columns costs a few kernel calls, not a few thousand."""
    import pyarrow as pa
    import pyarrow.compute as pc
    found: dict[str, str] = {}
    batch: list[tuple[str, "pa.Array"]] = []
    size = 0

    def flush():
        nonlocal batch, size
        if not batch:
            return
        arr = pa.chunked_array([a for _, a in batch], type=pa.large_string()).combine_chunks()
        col = np.repeat(np.arange(len(batch)), [len(a) for _, a in batch])
        enc = pc.dictionary_encode(arr)
        idx = enc.indices.to_numpy(zero_copy_only=False)
        totals = np.bincount(col, minlength=len(batch)).astype(np.float64)
        wants_street = any(name in address for name, _ in batch)
        for kind, mask in _kind_masks(enc.dictionary, wants_street).items():
            hits = np.bincount(col, weights=mask[idx].astype(np.float64), minlength=len(batch))
            for j, (name, _) in enumerate(batch):
                if name in found or totals[j] == 0 or (kind == KIND_ADDRESS and name not in address):
                    continue
                if hits[j] >= threshold * totals[j]:
                    found[name] = kind
        batch, size = [], 0

    for name, values in columns.items():
        arr = _strings(values)
        if pa.types.is_string(arr.type):
            arr = arr.cast(pa.large_string())
        batch.append((name, arr))
        size += len(arr)
        if size >= BATCH_VALUES:
            flush()
    flush()
    return {name: found[name] for name in columns if name in found}


def identifier_values(values) -> np.ndarray:
    """Per value (aligned with ``values``): True where it looks like an e-mail address or a
    phone number. Used to blank such values in the text columns that are kept (ids,
    region codes, cause of death): they would otherwise travel into flags and reports."""
    arr = _strings_aligned(values)
    found = np.zeros(len(arr), dtype=bool)
    for mask in _kind_masks(arr, address=False).values():
        found |= mask
    return found


def _strings_aligned(values) -> "pa.Array":
    """Stripped values as an Arrow string array, same length as ``values`` (nulls kept)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_float_dtype(s.dtype):
        s = s.astype("Int64")
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype("str")
    arr = pa.array(s.astype("str").array if not isinstance(s.dtype, pd.StringDtype) else s.array,
                   type=pa.large_string(), from_pandas=True)
    return pc.utf8_trim_whitespace(arr)


def find_identifiers(sample: pd.DataFrame) -> dict[str, str]:
    """Column -> identifier kind for every column of ``sample`` that holds direct identifiers
    (by header, else by the content of every value)."""
    found: dict[str, str] = {}
    for col in sample.columns:
        kind = identifier_by_header(col)
        if kind is None:
            addr = canreg.normalise_header(col) in ADDRESS_CONTENT_HEADERS
            kind = identifier_by_content(sample[col], address_header=addr)
        if kind is not None:
            found[str(col)] = kind
    return found


# --- what a message may repeat ----------------------------------------------------------------
# A value is repeated in a flag message, a report or the command line only when it has the
# shape of a code or a date: at most 8 digits (a yyyyMMdd date; phone and identity numbers
# are longer), separators, and an optional leading C/M (ICD-O-3 topography/morphology); or
# one or two ASCII letters or digits; or a code word the parsers know (male, alive...).
# Anything else (a name typed into the sex column, a phone number in a date column, a long
# free text) is described, not repeated: "a value of 11 characters".
_CODE_SHAPE = re.compile(r"[CcMm]?[-0-9./: ]{1,11}", re.ASCII)
MAX_SHOWN_DIGITS = 8
_VOCABULARY = None


def _vocabulary() -> frozenset[str]:
    """Code words of the parsers (male, female, alive, histology...): safe to repeat."""
    global _VOCABULARY
    if _VOCABULARY is None:
        from analytics import parsing
        words = set()
        for table in (parsing.SEX_CODES, parsing.VITAL_CODES, parsing.BASIS_CODES, parsing.BEHAVIOUR_CODES):
            words.update(k.lower() for k in table)
        _VOCABULARY = frozenset(words)
    return _VOCABULARY


def shown_value(value: object) -> str:
    """``'509'`` for a code- or date-shaped value, else ``a value of N characters``."""
    text = "" if value is None else str(value).strip()
    if not text:
        return "an empty value"
    if len(text) <= 2 and text.isascii() and text.isalnum():      # "X", "U", "NA": a code, not a person
        return f"'{text}'"
    if len(text) <= 12 and (text.lower() in _vocabulary() or (
            _CODE_SHAPE.fullmatch(text) and sum(ch.isdigit() for ch in text) <= MAX_SHOWN_DIGITS)):
        return f"'{text}'"
    n = f"{len(text):,} character{'s' if len(text) != 1 else ''}"
    if not text.isascii() and any(ch.isdigit() for ch in text):
        return f"a value of {n} with digits other than 0-9"
    return f"a value of {n}"


_REGION_CODE_SHAPE = re.compile(r"[\w./-]{1,20}")


def shown_region_code(value: object) -> str:
    """A region code as a list may show it: one word of at most 20 letters, digits and ``-_./``
    (``AZE-1676``, ``011``); anything else (``12 Nizami st``) described as :func:`shown_value` does."""
    text = "" if value is None else str(value).strip()
    if _REGION_CODE_SHAPE.fullmatch(text) and not identifier_values(pd.Series([text]))[0]:
        return text
    return shown_value(text)


def shown_header(header: object) -> str:
    """A column name as a message may repeat it: masked when it looks like an e-mail or a
    phone number (a file without a header line has a record as its first line)."""
    text = str(header)
    if len(text) > 60 or identifier_values(pd.Series([text]))[0]:
        return f"(a column name of {len(text):,} characters)"
    return text


def describe_dropped(dropped: dict[str, str]) -> str:
    """One line for the ingest report: ``Surname (name), Phone (phone number)``."""
    if not dropped:
        return "none"
    return ", ".join(f"{c} ({k})" for c, k in dropped.items())

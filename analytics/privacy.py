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


MIN_PHONE_CHARS = 10     # the shortest text PHONE_PATTERN can match with 9 digits: "+" and 9 digits


def _arrow_text(values):
    """Values as an Arrow (chunked) string array, stripped, nulls kept, without copying the
    column first (Arrow-backed pandas columns are taken as they are)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values
    else:
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        if pd.api.types.is_float_dtype(s.dtype):
            s = s.astype("Int64")
        if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_string_dtype(s.dtype):
            s = s.astype("str")
        arr = pa.array(s.array, from_pandas=True) if not hasattr(s.array, "__arrow_array__") else s.array.__arrow_array__()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        try:
            arr = pc.cast(arr, pa.large_string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):   # nested or binary values: their text
            text = pd.Series(arr.to_pandas(), dtype=object).map(lambda v: None if v is None else str(v))
            arr = pa.array(text, type=pa.large_string(), from_pandas=True)
    from analytics.ingest import arrowtext
    return arr if arrowtext.plain_ascii(arr) else pc.utf8_trim_whitespace(arr)   # trimming would change nothing


def _count(mask) -> int:
    import pyarrow.compute as pc
    return int(pc.sum(mask).as_py() or 0)


def _count_at(arr) -> int:
    """Values with an '@' (none without a pass over the values when the text has no '@' byte)."""
    import pyarrow.compute as pc

    from analytics.ingest import arrowtext
    return _count(pc.match_substring(arr, "@")) if arrowtext.has_byte(arr, ord("@")) else 0


def _phone_mask(arr) -> np.ndarray:
    """Per value: the phone shape and 9-15 digits; only values long enough are looked at."""
    import pyarrow.compute as pc
    found = np.zeros(len(arr), dtype=bool)
    # long enough, and not digits only (a phone number has a '+' or separators; ids are digits)
    long = pc.and_(pc.fill_null(pc.greater_equal(pc.utf8_length(arr), MIN_PHONE_CHARS), False),
                   pc.invert(pc.fill_null(pc.utf8_is_digit(arr), False)))
    idx = np.flatnonzero(np.asarray(long))
    if not len(idx):
        return found
    cand = arr.take(idx)
    shape = np.asarray(pc.fill_null(pc.match_substring_regex(cand, PHONE_PATTERN), False))
    if shape.any():
        sub = np.flatnonzero(shape)
        digits = np.asarray(pc.count_substring_regex(cand.take(sub), r"\d"))
        found[idx[sub[(digits >= PHONE_DIGITS[0]) & (digits <= PHONE_DIGITS[1])]]] = True
    return found


def _kind_counts(arr, address: bool, threshold: float) -> tuple[int, dict[str, int]]:
    """Non-empty values and, per kind (e-mail, phone, street), how many values are of that kind;
    a kind is counted exactly only when a cheap necessary condition (an '@'; at least
    MIN_PHONE_CHARS characters; for plain ASCII text, a letter) leaves it able to reach
    ``threshold`` (a kind that cannot reach it may be left out or undercounted: it is not that kind)."""
    import pyarrow.compute as pc

    from analytics.ingest import arrowtext
    plain = arrowtext.plain_ascii(arr)
    lengths = _lengths(arr) if plain else pc.utf8_length(arr)
    n = _count(pc.greater(lengths, 0))
    out: dict[str, int] = {}
    if n == 0:
        return 0, out
    need = threshold * n
    if _count_at(arr) >= need:
        out[KIND_EMAIL] = _count(pc.match_substring_regex(arr, EMAIL_PATTERN))
    long = pc.greater_equal(lengths, MIN_PHONE_CHARS)
    if _count(long) >= need and _count(pc.and_(long, pc.invert(pc.fill_null(pc.utf8_is_digit(arr), False)))) >= need:
        out[KIND_PHONE] = int(_phone_mask(arr).sum())
    if address:
        street = pc.greater(lengths, 0)
        if plain and not arrowtext.has_any_byte(arr, _ASCII_LETTERS):   # "[^\W\d_]" is an ASCII letter here
            street = pc.and_(street, False)
        for part in STREET_PARTS:
            if _count(street) < need:        # a conjunction only shrinks: it cannot reach the threshold
                break
            street = pc.and_kleene(street, pc.match_substring_regex(arr, part))
        out[KIND_ADDRESS] = _count(street)
    return n, out


_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))


def _lengths(arr):
    """Character lengths of plain ASCII text from its offsets (nulls kept), as an Arrow array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from analytics.ingest import arrowtext
    nbytes = arrowtext.byte_lengths(arr)
    mask = ~np.asarray(pc.is_valid(arr)) if arr.null_count else None
    return pa.array(nbytes, type=pa.int64(), mask=mask)


def _categories_and_counts(values):
    """For a categorical column: (its categories, how often each occurs), else None; a
    categorical is judged on its categories weighted by their counts (same result, less work)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories))
        return pd.Series(values.cat.categories.astype(str)), counts
    return None


def identifier_by_content(values, *, address_header: bool = False, threshold: float = 0.5) -> str | None:
    """The kind of identifier most non-empty values look like (e-mail, phone, street), or None.

    Every value is checked (no sample), in time linear in the text (RE2 patterns, no
    backtracking), and cheaply: a pattern runs only where a necessary condition leaves it the
    chance to reach ``threshold``; a categorical column is judged on its categories.
    """
    cat = _categories_and_counts(values)
    if cat is not None:
        cats, counts = cat
        arr = _arrow_text(cats)
        import pyarrow.compute as pc
        nonempty = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(arr), 0), False))
        n = int(counts[nonempty].sum())
        masks = {KIND_EMAIL: np.asarray(pc.fill_null(pc.match_substring_regex(arr, EMAIL_PATTERN), False)),
                 KIND_PHONE: _phone_mask(arr)}
        if address_header:
            street = nonempty.copy()
            for part in STREET_PARTS:
                street &= np.asarray(pc.fill_null(pc.match_substring_regex(arr, part), False))
            masks[KIND_ADDRESS] = street
        for kind, mask in masks.items():
            if n and counts[mask].sum() >= threshold * n:
                return kind
        return None
    n, counts = _kind_counts(_arrow_text(values), address_header, threshold)
    for kind in (KIND_EMAIL, KIND_PHONE, KIND_ADDRESS):
        if n and counts.get(kind, 0) >= threshold * n:
            return kind
    return None


def identifiers_by_content(columns: dict, *, address: frozenset | set = frozenset(),
                           threshold: float = 0.5) -> dict[str, str]:
    """:func:`identifier_by_content` for many columns (name -> values; ``address``: names under
    which street-like text counts)."""
    found = {}
    for name, values in columns.items():
        kind = identifier_by_content(values, address_header=name in address, threshold=threshold)
        if kind is not None:
            found[name] = kind
    return found


def identifier_values(values) -> np.ndarray:
    """Per value (aligned with ``values``): True where it looks like an e-mail address or a
    phone number. Used to blank such values in the text columns that are kept (ids,
    region codes, cause of death): they would otherwise travel into flags and reports."""
    import pyarrow.compute as pc
    cat = _categories_and_counts(values)
    if cat is not None:                       # judged once per category, spread by the codes
        codes = values.cat.codes.to_numpy()
        per_cat = np.append(identifier_values(cat[0]), False)
        return per_cat[codes]
    arr = _arrow_text(values)
    if isinstance(arr, __import__("pyarrow").ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    found = np.zeros(len(arr), dtype=bool)
    if not len(arr):
        return found
    if _count_at(arr):
        found |= np.asarray(pc.fill_null(pc.match_substring_regex(arr, EMAIL_PATTERN), False))
    return found | _phone_mask(arr)


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

"""Column and code mapping from a user's extract to the data model (``analytics.schema``).

A mapping file (YAML or JSON) says which of the user's columns is which schema column, how
their codes translate, and how their dates are written::

    columns:            # their column -> schema column
      Gender: sex
      DiagDate: incidence_date
      ICDO3_site: topography
    codes:              # per schema column: their value -> schema code
      sex: {M: 1, F: 2, U: 9}
      vital_status: {A: 1, D: 2}
    date_format: "%d.%m.%Y"   # optional; otherwise detected (yyyyMMdd, ISO, dd/mm/yyyy, ...)

Columns not named in the mapping are still matched from their header names
(:func:`suggest_mapping`), so a mapping only needs the columns the suggestion gets wrong.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping as TMapping

from analytics import canreg
from analytics import schema as S
from analytics.errors import IngestError

MAPPABLE = list(S.TUMOUR_COLUMNS) + [canreg.RECORD_STATUS]
REQUIRED = [S.SEX, S.INCIDENCE_DATE, S.TOPOGRAPHY]
# at least one of these gives the age at diagnosis
AGE_SOURCES = [S.AGE, S.BIRTH_DATE]


@dataclass
class ColumnMapping:
    """A validated mapping: ``columns`` their->schema, ``codes`` schema->{their value: code}."""
    columns: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    date_format: str | None = None
    suggest_rest: bool = True


def load_mapping(source: str | Path | TMapping | ColumnMapping | None) -> ColumnMapping:
    """Read a mapping from a YAML/JSON file, a dict, or pass a ``ColumnMapping`` through."""
    if source is None:
        return ColumnMapping()
    if isinstance(source, ColumnMapping):
        return source
    where = None
    if isinstance(source, (str, Path)):
        where = str(source)
        path = Path(source)
        if not path.exists():
            raise IngestError("the mapping file does not exist. Check the path given with --mapping.",
                              file=where)
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                import yaml
                data = yaml.safe_load(text)
        except Exception as exc:  # yaml/json syntax errors carry a line number in their text
            raise IngestError(f"the mapping is not valid YAML/JSON ({str(exc).splitlines()[0]}). "
                              "Fix the syntax; see the README for an example.", file=where) from None
    else:
        data = dict(source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise IngestError("the mapping must be a dictionary with 'columns' (and optional 'codes', "
                          "'date_format').", file=where)
    cols = data.get("columns") or {}
    codes = data.get("codes") or {}
    if not isinstance(cols, dict) or not isinstance(codes, dict):
        raise IngestError("'columns' and 'codes' must be dictionaries (their name: schema name).", file=where)
    allowed = set(MAPPABLE) | {None, "", "ignore"}
    bad = [f"{k} -> {v}" for k, v in cols.items() if v not in allowed]
    if bad:
        raise IngestError(f"unknown schema column(s) in the mapping: {', '.join(map(str, bad))}. "
                          f"Use one of: {', '.join(S.TUMOUR_COLUMNS)}.", file=where)
    bad_codes = [k for k in codes if k not in MAPPABLE or not isinstance(codes[k], dict)]
    if bad_codes:
        raise IngestError(f"'codes' must map schema columns to {{their value: code}}; check "
                          f"{', '.join(map(str, bad_codes))}.", file=where)
    return ColumnMapping(
        columns={str(k): v for k, v in cols.items() if v not in (None, "", "ignore")},
        codes={k: {str(a): b for a, b in v.items()} for k, v in codes.items()},
        date_format=data.get("date_format"),
        suggest_rest=bool(data.get("suggest_rest", True)),
    )


def _match(columns: Iterable[str], aliases: dict[str, tuple[str, ...]], taken: set[str],
           used_cols: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    norm = {c: canreg.normalise_header(c) for c in columns}
    for target, names in aliases.items():
        if target in taken:
            continue
        # earlier aliases win: CanReg names before NAACCR/SEER/plain English
        for alias in names:
            hit = next((c for c in norm if c not in used_cols and norm[c] == alias), None)
            if hit is not None:
                out[hit] = target
                taken.add(target)
                used_cols.add(hit)
                break
    return out


def suggest_mapping(columns: Iterable[object]) -> dict[str, Any]:
    """Mapping suggested from header names: ``{"columns": {theirs: schema}, "codes": {...}}``.

    Recognises CanReg5 headers in all four naming options, NAACCR item names
    (``primarySite``, ``histologicTypeIcdO3``, ``behaviorCodeIcdO3``, ``dateOfDiagnosis``,
    ``diagnosticConfirmation``, ``vitalStatus`` ...), SEER*Stat labels (``Age at diagnosis``,
    ``Primary Site - labeled``, ``Year of diagnosis`` ...), plain English and the canonical
    names themselves. NAACCR codes that differ from CanReg's (vital status 0 = dead,
    diagnostic confirmation 1-9) get a ``codes`` entry. The result is in the mapping-file
    format, so it can be saved as YAML and edited.
    """
    cols = [str(c) for c in columns]
    taken: set[str] = set()
    used: set[str] = set()
    found = _match(cols, canreg.ALIASES, taken, used)
    found.update(_match(cols, canreg.FALLBACK_ALIASES, taken, used))
    codes: dict[str, dict[str, Any]] = {}
    for col, target in found.items():
        if target == S.VITAL_STATUS and col == "vitalStatus":            # NAACCR item, 0 = dead
            codes[S.VITAL_STATUS] = dict(canreg.NAACCR_VITAL_STATUS)   # NAACCR item name vitalStatus
        if target == S.BASIS and col == "diagnosticConfirmation":   # NAACCR item, coded 1-9
            codes[S.BASIS] = dict(canreg.NAACCR_CONFIRMATION)
    ordered = {c: found[c] for c in cols if c in found}
    return {"columns": ordered, "codes": codes}


def resolve_columns(columns: Iterable[object], mapping: ColumnMapping) -> tuple[dict[str, str], dict]:
    """Their column -> schema column, the explicit mapping first, then suggestions.

    Returns ``(columns, codes)`` where codes merges suggested code tables under the user's.
    """
    cols = [str(c) for c in columns]
    missing = [c for c in mapping.columns if c not in cols]
    if missing:
        raise IngestError(f"the mapping names column(s) that are not in the file: {', '.join(missing)}. "
                          f"The file has: {', '.join(cols[:40])}. Correct the names in the mapping file.")
    out = dict(mapping.columns)
    codes: dict[str, dict] = {}
    if mapping.suggest_rest:
        rest = [c for c in cols if c not in out]
        suggested = suggest_mapping(rest)
        taken = set(out.values())
        for c, t in suggested["columns"].items():
            if t not in taken:
                out[c] = t
                taken.add(t)
        for t, table in suggested["codes"].items():
            if t in out.values() and any(out[c] == t for c in suggested["columns"] if c in out):
                codes[t] = dict(table)
    for t, table in mapping.codes.items():
        codes.setdefault(t, {}).update(table)
    dup = {}
    for c, t in out.items():
        dup.setdefault(t, []).append(c)
    clashes = {t: cs for t, cs in dup.items() if len(cs) > 1}
    if clashes:
        t, cs = next(iter(clashes.items()))
        raise IngestError(f"several columns are mapped to '{t}' ({', '.join(cs)}). Map only one of them.")
    return out, codes

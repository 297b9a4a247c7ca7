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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping as TMapping

from analytics import canreg
from analytics import schema as S
from analytics.errors import IngestError
from analytics.ingest.limits import Limits
from analytics.ingest.limits import current as current_limits

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


MAPPING_KEYS = ("columns", "codes", "date_format", "suggest_rest")
MAX_CODE = 999


def load_mapping(source: str | Path | bytes | TMapping | ColumnMapping | None, *,
                 limits: Limits | None = None, name: str | None = None) -> ColumnMapping:
    """A mapping from a YAML/JSON file (path, or its bytes as uploaded), a dict, or a
    ``ColumnMapping`` passed through.

    A file is checked before it is parsed: size and nesting within ``limits``, UTF-8 text,
    no YAML anchors/aliases (which can multiply a small file into a huge structure); then its
    structure: a dictionary with ``columns`` (their name -> schema column), ``codes`` (schema
    column -> {their value: code}), ``date_format``. Anything else raises
    :class:`IngestError` with a sentence; never a parser's traceback.
    """
    if source is None:
        return ColumnMapping()
    if isinstance(source, ColumnMapping):
        return source
    lim = current_limits(limits)
    where = name
    if isinstance(source, (str, Path)):
        where = name or str(source)
        path = Path(source)
        if not path.is_file():
            raise IngestError("the mapping file does not exist. Check the path given with --mapping.",
                              file=where)
        if path.stat().st_size > lim.max_mapping_kb * 1024:
            raise _mapping_too_large(path.stat().st_size, lim, where)
        data = parse_mapping_bytes(path.read_bytes(), name=where, limits=lim)
    elif isinstance(source, (bytes, bytearray)) or hasattr(source, "getvalue"):
        raw = bytes(source.getvalue() if hasattr(source, "getvalue") else source)
        where = name or getattr(source, "name", None)
        data = parse_mapping_bytes(raw, name=where, limits=lim)
    elif isinstance(source, TMapping):
        data = dict(source)
        if _depth(data) > lim.max_mapping_depth:
            raise _mapping_too_deep(lim, where)
    else:
        raise IngestError("the mapping must be a YAML or JSON file, or a dictionary.", file=where)
    return _validated(data, where)


def _mapping_too_large(n_bytes: int, lim: Limits, where: str | None) -> IngestError:
    return IngestError(f"the mapping file has {n_bytes / 1024:,.0f} KB; a mapping needs a few lines and the limit "
                       f"is {lim.max_mapping_kb:,} KB (REGISTRY_MAX_MAPPING_KB). Check that this is the mapping "
                       "file.", file=where)


def _mapping_too_deep(lim: Limits, where: str | None) -> IngestError:
    return IngestError(f"the mapping is nested more than {lim.max_mapping_depth} levels deep; a mapping has "
                       "'columns' and 'codes' with one level of entries each (see the README).", file=where)


def parse_mapping_bytes(data: bytes, *, name: str | None = None, limits: Limits | None = None) -> Any:
    """YAML/JSON bytes -> Python data, after the size, encoding, nesting and alias checks."""
    import yaml

    lim = current_limits(limits)
    if len(data) > lim.max_mapping_kb * 1024:
        raise _mapping_too_large(len(data), lim, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"the mapping file is not UTF-8 text (byte {exc.start + 1} cannot be read). Save it as "
                          "UTF-8 (YAML or JSON).", file=name) from None
    if "\x00" in text:
        raise IngestError("the mapping file is not text (it contains NUL bytes). Give a YAML or JSON file.",
                          file=name)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > lim.max_mapping_depth:
                    raise _mapping_too_deep(lim, name)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise IngestError("the mapping uses YAML anchors or aliases (& and *); write each entry out "
                                  "instead.", file=name)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or (first[0] if first else "syntax error")
        raise IngestError(f"the mapping is not valid YAML/JSON ({problem}{where}). Fix the syntax; see the "
                          "README for an example.", file=name) from None
    except RecursionError:
        raise _mapping_too_deep(lim, name) from None


def _depth(obj: Any) -> int:
    """Nesting depth of dicts/lists, without recursion (a hostile structure cannot overflow)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, (list, tuple)):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in o)
    return deepest


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _validated(data: Any, where: str | None) -> ColumnMapping:
    """A ColumnMapping from parsed data, or an IngestError naming what is wrong."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise IngestError("the mapping must be a dictionary with 'columns' (and optional 'codes', "
                          f"'date_format'); this file holds a {_kind(data)}. See the README for an example.",
                          file=where)
    unknown = [str(k) for k in data if k not in MAPPING_KEYS]
    if unknown:
        raise IngestError(f"the mapping has entries that mean nothing here: {', '.join(unknown[:10])}. Use "
                          f"{', '.join(MAPPING_KEYS)}.", file=where)
    cols = data.get("columns") or {}
    codes = data.get("codes") or {}
    if not isinstance(cols, dict) or not isinstance(codes, dict):
        raise IngestError("'columns' and 'codes' must be dictionaries (their name: schema name).", file=where)
    allowed = set(MAPPABLE) | {None, "", "ignore"}
    bad = [f"{k} -> {v}" for k, v in cols.items() if not _scalar(k) or not _scalar(v) or v not in allowed]
    if bad:
        raise IngestError(f"unknown schema column(s) in the mapping: {', '.join(map(str, bad[:10]))}. "
                          f"Use one of: {', '.join(S.TUMOUR_COLUMNS)}.", file=where)
    bad_codes = [str(k) for k in codes if k not in MAPPABLE or not isinstance(codes[k], dict)]
    if bad_codes:
        raise IngestError(f"'codes' must map schema columns to {{their value: code}}; check "
                          f"{', '.join(bad_codes[:10])}.", file=where)
    table: dict[str, dict[str, Any]] = {}
    for k, v in codes.items():
        entries = {}
        for a, b in v.items():
            code = _code(b)
            if not _scalar(a) or (b is not None and code is None):
                raise IngestError(f"in 'codes' of {k}, each value must map to a whole number code (0-{MAX_CODE}) "
                                  f"or null; check the entry for {str(a)[:30]!r}.", file=where)
            entries[str(a)] = code
        table[k] = entries
    fmt = data.get("date_format")
    if fmt is not None:
        fmt = _date_format(fmt, where)
    return ColumnMapping(
        columns={str(k): v for k, v in cols.items() if v not in (None, "", "ignore")},
        codes=table, date_format=fmt, suggest_rest=bool(data.get("suggest_rest", True)),
    )


def _kind(obj: Any) -> str:
    return {list: "list", str: "text", int: "number", float: "number", bool: "yes/no value"}.get(type(obj), "value")


def _code(v: Any) -> int | None:
    """A code as an int (1, "1", 1.0); None when it is not a whole number 0-999."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, float):
        return int(v) if v.is_integer() and 0 <= v <= MAX_CODE else None
    if isinstance(v, int):
        return v if 0 <= v <= MAX_CODE else None
    text = str(v).strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_CODE else None


def _date_format(fmt: Any, where: str | None) -> str:
    """A strftime pattern that parses: checked here so a typo is a sentence at load time."""
    import datetime as dt
    text = str(fmt)
    if len(text) > 40 or "%" not in text:
        raise IngestError(f"date_format must be a pattern such as \"%d.%m.%Y\"; {text[:40]!r} is not.", file=where)
    try:
        dt.date(2020, 12, 31).strftime(text)
        dt.datetime.strptime(dt.date(2020, 12, 31).strftime(text), text)
    except (ValueError, TypeError, OverflowError):
        raise IngestError(f"date_format {text!r} is not a date pattern that can be read back (use %d, %m, %Y "
                          "and separators).", file=where) from None
    return text


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

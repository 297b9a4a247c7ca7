"""Ingest pipeline: read -> derive -> validate -> reconcile, with every record accounted for.

``load_registry`` is the one call the dashboard, the command line and a researcher use::

    from analytics.pipeline import load_registry
    reg = load_registry("export.tsv", population="pop.csv")
    reg.n_read == reg.n_used + reg.n_excluded          # always
    reg.reconciliation                                 # reason, records, stage; sums to n_read

Stages: :func:`analytics.readers.read_records` (format, encoding, mapping, identifiers
dropped, values parsed; reader-level exclusions such as CanReg5 deleted records),
``analytics.derive.derive`` (year, age group, ICD-10, site groups, first primary),
``analytics.quality.check_records`` (IARC/IACR-style checks) and
``analytics.quality.reconcile`` (which records are counted). The reconciliation follows
the principle of the IARC/IACR check programs (Ferlay et al., IARC Technical Report 42,
2005): every record read is either used or excluded with a stated reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics import schema as S
from analytics.errors import IngestError
from analytics.readers import RawRecords, read_deaths, read_population, read_records

STAGE_USED, STAGE_READER, STAGE_VALIDATION = "used", "reader", "validation"
USED_REASON = "used (counted by default)"
NOT_MALIGNANT_REASON = "not counted by default (behaviour not malignant)"


@dataclass
class RegistryData:
    """A loaded registry: records, flags and the account of every record read."""
    records: pd.DataFrame
    flags: pd.DataFrame
    reconciliation: pd.DataFrame
    n_read: int
    n_used: int
    n_excluded: int
    dropped_columns: dict[str, str]
    source: str
    loaded_at: pd.Timestamp
    population: pd.DataFrame | None = None
    deaths: pd.DataFrame | None = None
    ignored_columns: list[str] = field(default_factory=list)
    column_map: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def report(self) -> pd.DataFrame:
        """Excluded and flagged records, one row per (record, check): the ingest report.

        Columns ``row, tumour_id, check, severity, column, message``; no identifier values.
        """
        f = self.flags.sort_values([S.ROW, "severity", "check"], kind="stable")
        return f[S.FLAG_COLUMNS].reset_index(drop=True)

    def summary_lines(self) -> list[str]:
        """Plain-text account of the load (used by the command line)."""
        lines = [f"Source: {self.source}",
                 f"Records read: {self.n_read:,}", f"Records used: {self.n_used:,}",
                 f"Records excluded: {self.n_excluded:,}"]
        for r in self.reconciliation.itertuples(index=False):
            if r.stage != STAGE_USED:
                lines.append(f"  - {r.reason}: {int(r.records):,}")
        warn = int((self.flags["severity"] == S.WARNING).sum()) if len(self.flags) else 0
        lines.append(f"Warnings (records kept): {warn:,}")
        dropped = ", ".join(f"{c} ({k})" for c, k in self.dropped_columns.items()) or "none"
        lines.append(f"Identifier columns dropped at read time: {dropped}")
        if self.ignored_columns:
            shown = ", ".join(self.ignored_columns[:15]) + (" ..." if len(self.ignored_columns) > 15 else "")
            lines.append(f"Columns not used: {shown}")
        return lines


def load_registry(path: Any, *, mapping: Any = None, population: Any = None, deaths: Any = None,
                  top_age: int = 85, name: str | None = None) -> RegistryData:
    """Read, derive, validate and reconcile a registry extract; see the module docstring.

    ``path`` is a file path, bytes, a file-like upload or a DataFrame; ``mapping`` a mapping
    file/dict (:mod:`analytics.mapping`); ``population``/``deaths`` optional tables for
    :func:`~analytics.readers.read_population`/:func:`~analytics.readers.read_deaths`.
    Raises :class:`~analytics.errors.IngestError` when the extract cannot be read at all.
    """
    label = name or (str(path) if not isinstance(path, (pd.DataFrame, bytes, bytearray)) else None)
    try:
        raw = read_records(path, mapping=mapping, name=name)
    except IngestError as exc:
        raise exc.with_file(label) from None
    except MemoryError:
        raise IngestError("the file is too large for the memory of this machine. Split it by year.",
                          file=label) from None
    except Exception as exc:   # a reader path we did not foresee: still a sentence, not a traceback
        raise IngestError(f"the file could not be read ({type(exc).__name__}: {str(exc)[:200]}). Check that it "
                          "is a CSV/TSV, Excel or Parquet extract with one header line.", file=label) from None
    return build_registry(raw, population=population, deaths=deaths, top_age=top_age)


def build_registry(raw: RawRecords, *, population: Any = None, deaths: Any = None,
                   top_age: int = 85) -> RegistryData:
    """Derive, validate and reconcile records already read (see :func:`load_registry`)."""
    records = _derive(raw.records, top_age)
    qflags = _check(records)
    records, qrecon = _reconcile(records, qflags)
    reader_excl_flags = pd.DataFrame({
        S.ROW: raw.exclusions[S.ROW].astype("int64"), S.TUMOUR_ID: raw.exclusions[S.TUMOUR_ID].astype("str"),
        "check": raw.exclusions["check"].astype("str"), "severity": S.ERROR, "column": pd.NA,
        "message": raw.exclusions["reason"].astype("str")})
    reader_excl_flags["column"] = reader_excl_flags["column"].astype("str")
    parts = [p for p in (raw.flags, qflags, reader_excl_flags) if len(p)]
    flags = (pd.concat([p[S.FLAG_COLUMNS] for p in parts], ignore_index=True) if parts
             else raw.flags[S.FLAG_COLUMNS].copy())
    flags = flags.sort_values([S.ROW], kind="stable").reset_index(drop=True)

    n_used = int(records[S.INCLUDED].sum())
    rows = [(USED_REASON, n_used, STAGE_USED)]
    rows += [(r, int(n), STAGE_VALIDATION) for r, n in qrecon]
    for reason, n in raw.exclusions.groupby("reason", sort=False).size().items():
        rows.append((str(reason), int(n), STAGE_READER))
    recon = pd.DataFrame(rows, columns=["reason", "records", "stage"])
    recon = recon[(recon["records"] > 0) | (recon["stage"] == STAGE_USED)].reset_index(drop=True)
    n_excluded = raw.n_read - n_used
    if int(recon["records"].sum()) != raw.n_read:   # an accounting bug, never acceptable
        raise AssertionError(f"reconciliation does not add up: {recon.to_dict('records')} vs {raw.n_read} read")

    pop = read_population(population, top_age=top_age) if population is not None else None
    dth = read_deaths(deaths, top_age=top_age) if deaths is not None else None
    return RegistryData(
        records=records, flags=flags, reconciliation=recon, n_read=raw.n_read, n_used=n_used,
        n_excluded=n_excluded, dropped_columns=dict(raw.dropped_columns), source=raw.source,
        loaded_at=pd.Timestamp.now(tz="UTC"), population=pop, deaths=dth,
        ignored_columns=list(raw.ignored_columns), column_map=dict(raw.column_map),
        info={"format": raw.kind, "encoding": raw.encoding, "delimiter": raw.delimiter, "canreg": raw.canreg,
              "top_age": top_age},
    )


# --- stages (the quality engineer's modules, imported lazily) ----------------------------------
def _derive(records: pd.DataFrame, top_age: int) -> pd.DataFrame:
    try:
        from analytics import derive
    except ImportError:
        return _fallback_derive(records, top_age)
    return derive.derive(records, top_age=top_age)


def _fallback_derive(records: pd.DataFrame, top_age: int) -> pd.DataFrame:
    """Year and age group only; used while ``analytics.derive`` is not available."""
    out = records.copy()
    out[S.YEAR] = out[S.INCIDENCE_DATE].dt.year.astype("Int16")
    edges = S.age_group_edges(top_age)
    age = out[S.AGE].astype("Float64")
    start = (np.minimum(np.floor(age.to_numpy(dtype=float, na_value=np.nan) / 5) * 5, top_age))
    out[S.AGE_START] = pd.array(np.where(np.isnan(start), 0, start).astype(int), dtype="Int16")
    out.loc[np.isnan(start), S.AGE_START] = pd.NA
    labels = dict(zip(edges, S.age_group_labels(top_age)))
    out[S.AGE_GROUP] = out[S.AGE_START].map(labels).astype("str")
    for c in (S.ICD10, S.SITE_CI5, S.SITE_GLOBOCAN):
        out[c] = pd.array([pd.NA] * len(out), dtype="str")
    out[S.FIRST_PRIMARY] = True
    return out


def _check(records: pd.DataFrame) -> pd.DataFrame:
    try:
        from analytics import quality
    except ImportError:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == S.ROW else "str") for c in S.FLAG_COLUMNS})
    return quality.check_records(records)


def _reconcile(records: pd.DataFrame, flags: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """Records with ``included`` and the validation-stage exclusions as (reason, count).

    ``quality.reconcile`` decides inclusion; the reasons are taken from its frame when it
    accounts for exactly the excluded records, otherwise attributed here from the first
    error flag of each excluded record.
    """
    qrecon = None
    try:
        from analytics import quality
        has_quality = hasattr(quality, "reconcile")
    except ImportError:
        has_quality = False
    if has_quality:
        records, qrecon = quality.reconcile(records, flags)
    else:
        err_rows = flags.loc[flags["severity"] == S.ERROR, S.ROW] if len(flags) else pd.Series(dtype="int64")
        records = records.copy()
        records[S.INCLUDED] = ~records[S.ROW].isin(err_rows) & (records[S.BEHAVIOUR] == 3).fillna(False)
    records[S.INCLUDED] = records[S.INCLUDED].astype(bool)
    n_excl = int((~records[S.INCLUDED]).sum())
    reasons = _reasons_from_frame(qrecon, n_excl)
    if reasons is None:
        reasons = _attribute(records, flags)
    return records, reasons


def _reasons_from_frame(frame: Any, n_excl: int) -> list[tuple[str, int]] | None:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        return [] if n_excl == 0 and isinstance(frame, pd.DataFrame) else None
    cols = {c.lower(): c for c in frame.columns}
    rc = cols.get("reason") or cols.get("check")
    nc = cols.get("records") or cols.get("count") or cols.get("n")
    if rc is None or nc is None:
        return None
    f = frame[[rc, nc]].copy()
    low = f[rc].astype(str).str.lower()
    f = f[~low.str.contains(r"^(?:records )?(?:read|used|included|total)|counted by default|^used", regex=True)]
    if "stage" in cols:
        keep = ~frame.loc[f.index, cols["stage"]].astype(str).str.lower().isin(["used", "read", "total"])
        f = f[keep]
    if int(f[nc].sum()) != n_excl:
        return None
    return [(str(r), int(n)) for r, n in zip(f[rc], f[nc]) if int(n) > 0]


def _attribute(records: pd.DataFrame, flags: pd.DataFrame) -> list[tuple[str, int]]:
    excl = records.loc[~records[S.INCLUDED], [S.ROW]]
    if excl.empty:
        return []
    errs = flags[flags["severity"] == S.ERROR] if len(flags) else flags
    first = errs.drop_duplicates(S.ROW)[[S.ROW, "check"]] if len(errs) else pd.DataFrame(columns=[S.ROW, "check"])
    m = excl.merge(first, on=S.ROW, how="left")
    reason = m["check"].astype(object).where(m["check"].notna(), NOT_MALIGNANT_REASON)
    counts = reason.value_counts(sort=True)
    return [(str(k), int(v)) for k, v in counts.items()]

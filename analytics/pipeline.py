"""Ingest pipeline: read -> derive -> validate -> reconcile, with every record accounted for.

``load_registry`` is the one call the dashboard, the command line and a researcher use::

    from analytics.pipeline import load_registry
    reg = load_registry("export.tsv", population="pop.csv")
    reg.n_read == reg.n_used + reg.n_excluded          # always
    reg.reconciliation      # status, reason, severity, description, records, stage; sums to n_read

Stages: :func:`analytics.readers.read_records` (format, encoding, mapping, identifiers
dropped, values parsed; reader-level exclusions such as CanReg5 deleted records),
:func:`analytics.derive.derive` (year, age group, ICD-10, site groups, first primary),
``analytics.quality.check_records`` (IARC/IACR-style checks) and
``analytics.quality.reconcile`` (which records are counted). The reconciliation follows
the principle of the IARC/IACR check programs (Ferlay et al., IARC Technical Report 42,
2005): every record read is either used or excluded with a stated reason.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from analytics import derive, parsing, quality
from analytics import schema as S
from analytics.errors import IngestError
from analytics.ingest.heap import reuse_freed_memory
from analytics.ingest.limits import Limits, memory_message
from analytics.readers import ASSUMPTIONS, RawRecords, read_deaths, read_population, read_records

log = logging.getLogger(__name__)

STAGE_USED, STAGE_READER, STAGE_VALIDATION = "used", "reader", "validation"
NOT_COUNTED = "not_counted_by_default"
ASSUMPTION_TEXT = ASSUMPTIONS


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
    # file-level assumptions (analytics.readers.ASSUMPTIONS id -> records concerned), e.g. an
    # extract without a morphology column read as 8000; shown with the reconciliation
    assumptions: dict[str, int] = field(default_factory=dict)

    def report(self) -> pd.DataFrame:
        """Excluded and flagged records, one row per (record, check): the ingest report.

        Columns ``row, tumour_id, check, severity, column, message``; no identifier values.
        Records excluded only because they are not counted by default (benign, uncertain,
        in situ) are listed too, with check ``not_counted_by_default`` and severity
        ``not counted``, so that every excluded record appears in the report.
        """
        parts = [self.flags[S.FLAG_COLUMNS]]
        if S.INCLUDED in self.records.columns and len(self.records):
            err_rows = self.flags.loc[self.flags["severity"].astype(str) == S.ERROR, S.ROW]
            nc = ~self.records[S.INCLUDED].to_numpy(dtype=bool) & ~self.records[S.ROW].isin(err_rows).to_numpy()
            if nc.any():
                sub = self.records.loc[nc, [S.ROW, S.TUMOUR_ID]]
                desc = self.reconciliation.loc[self.reconciliation["reason"] == NOT_COUNTED, "description"]
                parts.append(pd.DataFrame({
                    S.ROW: sub[S.ROW].astype("int64").to_numpy(),
                    S.TUMOUR_ID: sub[S.TUMOUR_ID].astype(object).astype("str").to_numpy(),
                    "check": NOT_COUNTED, "severity": "not counted", "column": S.BEHAVIOUR,
                    "message": desc.iloc[0] if len(desc) else NOT_MALIGNANT_REASON}))
        f = pd.concat([p.astype({"check": str, "severity": str, "column": str, "message": str})
                       for p in parts if len(p)] or [parts[0]], ignore_index=True)
        f = f.sort_values([S.ROW, "severity", "check"], kind="stable")
        return f[S.FLAG_COLUMNS].reset_index(drop=True)

    def summary_lines(self) -> list[str]:
        """Plain-text account of the load (used by the command line)."""
        lines = [f"Source: {self.source}",
                 f"Records read: {self.n_read:,}", f"Records used: {self.n_used:,}",
                 f"Records excluded: {self.n_excluded:,}"]
        for r in self.reconciliation.itertuples(index=False):
            if r.status != "used":
                lines.append(f"  - {r.description or r.reason} [{r.reason}]: {int(r.records):,}")
        for key, n in self.assumptions.items():
            lines.append(f"Assumed: {ASSUMPTION_TEXT.get(key, key)} [{key}]: {n:,} records")
        warn = self.flags[self.flags["severity"].astype(str) == S.WARNING] if len(self.flags) else self.flags
        lines.append(f"Warnings (records kept and counted): {len(warn):,}")
        if len(warn):
            by_check = warn.groupby(warn["check"].astype(str), sort=False).agg(
                n=(S.ROW, "size"), message=("message", "first"))
            for cid, r in by_check.sort_values("n", ascending=False, kind="stable").iterrows():
                text = quality.check_message(cid)      # the check's own sentence, not one record's
                lines.append(f"  - {text} [{cid}]: {int(r.n):,}")
        dropped = ", ".join(f"{c} ({k})" for c, k in self.dropped_columns.items()) or "none"
        lines.append(f"Identifier columns dropped at read time: {dropped}")
        if self.ignored_columns:
            shown = ", ".join(self.ignored_columns[:15]) + (" ..." if len(self.ignored_columns) > 15 else "")
            lines.append(f"Columns not used: {shown}")
        return lines


# Stages a long load goes through, in order, with the share of the work done when each
# starts (for a progress bar); ``progress(stage)`` callbacks receive these names.
STAGES = {"open": 0.0, "read": 0.05, "identifiers": 0.35, "parse": 0.45, "derive": 0.6, "check": 0.75,
          "reconcile": 0.9, "population": 0.95, "regions": 0.97, "done": 1.0}
Progress = Callable[[str], None]


def load_registry(path: Any, *, mapping: Any = None, population: Any = None, deaths: Any = None,
                  top_age: int = 85, name: str | None = None, regions: Iterable[str] | None = None,
                  limits: Limits | None = None, progress: Progress | None = None) -> RegistryData:
    """Read, derive, validate and reconcile a registry extract; see the module docstring.

    ``path`` is a file path, bytes, a file-like upload or a DataFrame; ``mapping`` a mapping
    file/dict (:mod:`analytics.mapping`); ``population``/``deaths`` optional tables for
    :func:`~analytics.readers.read_population`/:func:`~analytics.readers.read_deaths`;
    ``regions`` the region codes of the regions table (records with another code are
    flagged); ``limits`` what the file may cost (:mod:`analytics.ingest.limits`);
    ``progress(stage)`` is told each stage (:data:`STAGES`).
    Raises :class:`~analytics.errors.IngestError` when the extract cannot be read at all.
    """
    with reuse_freed_memory():         # temporaries reused, not faulted in again (analytics.ingest.heap)
        raw = read_extract(path, mapping=mapping, name=name, limits=limits, progress=progress)
        return build_registry(raw, population=population, deaths=deaths, top_age=top_age, regions=regions,
                              progress=progress, limits=limits)


def read_extract(path: Any, *, mapping: Any = None, name: str | None = None, limits: Limits | None = None,
                 progress: Progress | None = None) -> RawRecords:
    """:func:`~analytics.readers.read_records`, with every failure turned into an
    :class:`IngestError` sentence naming the file (a header-only file included)."""
    label = name or (str(path) if not isinstance(path, (pd.DataFrame, bytes, bytearray)) else None)
    try:
        raw = read_records(path, mapping=mapping, name=name, limits=limits, progress=progress)
    except IngestError as exc:
        raise exc.with_file(label) from None
    except MemoryError:
        raise IngestError(memory_message(limits), file=label) from None
    except RecursionError:
        raise IngestError("the file is nested too deeply to be read.", file=label) from None
    except Exception as exc:   # a reader path we did not foresee: still a sentence, not a traceback
        log.exception("unforeseen reader failure on %s", label)
        raise IngestError(f"the file could not be read ({type(exc).__name__}: {str(exc)[:200]}). Check that it "
                          "is a CSV/TSV, Excel or Parquet extract with one header line.", file=label) from exc
    if raw.n_read == 0:
        raise IngestError("the file has a header line but no records. Export the records too (CanReg5: "
                          "Analysis > Export data, with the Tumour and Patient tables).", file=raw.source or label)
    return raw


def build_registry(raw: RawRecords, *, population: Any = None, deaths: Any = None,
                   top_age: int = 85, regions: Iterable[str] | None = None, progress: Progress | None = None,
                   limits: Limits | None = None) -> RegistryData:
    """Derive, validate and reconcile records already read (see :func:`load_registry`)."""
    tell = progress or (lambda stage: None)
    tell("derive")
    records = _derive(raw.records, top_age)
    tell("check")
    qflags = _check(records, regions)
    parts = [p[S.FLAG_COLUMNS] for p in (raw.flags, qflags) if len(p)]
    flags = pd.concat(parts, ignore_index=True) if parts else raw.flags[S.FLAG_COLUMNS].copy()
    tell("reconcile")
    records, recon = _reconcile(records, flags)

    # Reader-level exclusions (never reached validation) join the flags and the account.
    ex = raw.exclusions
    if len(ex):
        ex_flags = pd.DataFrame({
            S.ROW: ex[S.ROW].astype("int64").to_numpy(), S.TUMOUR_ID: ex[S.TUMOUR_ID].astype("str").to_numpy(),
            "check": ex["check"].astype("str").to_numpy(), "severity": S.ERROR,
            "column": parsing.missing(len(ex), "str"), "message": ex["reason"].astype("str").to_numpy()})
        flags = pd.concat([flags, ex_flags], ignore_index=True)
        grouped = ex.groupby(["check", "reason"], sort=False).size().reset_index(name="records")
        reader_rows = pd.DataFrame({"status": "excluded", "reason": grouped["check"].astype(str),
                                    "severity": S.ERROR, "description": grouped["reason"].astype(str),
                                    "records": grouped["records"].astype(int), "stage": STAGE_READER})
        recon = pd.concat([recon, reader_rows], ignore_index=True)
    flags = flags.sort_values(S.ROW, kind="stable").reset_index(drop=True)
    recon["records"] = recon["records"].astype("int64")

    if raw.assumptions:   # the account says what was assumed for the records it counts
        used = recon["status"] == "used"
        note = " ".join(f"Assumed: {ASSUMPTIONS.get(k, k)}" for k in raw.assumptions)
        recon.loc[used, "description"] = recon.loc[used, "description"].astype(str) + " " + note
    n_used = int(records[S.INCLUDED].sum())
    n_excluded = raw.n_read - n_used
    if int(recon["records"].sum()) != raw.n_read or \
            int(recon.loc[recon["status"] == "used", "records"].sum()) != n_used:
        raise AssertionError(f"reconciliation does not add up: {recon.to_dict('records')} vs {raw.n_read} read")

    tell("population")
    pop = read_population(population, top_age=top_age, limits=limits) if population is not None else None
    dth = read_deaths(deaths, top_age=top_age, limits=limits) if deaths is not None else None
    tell("done")
    return RegistryData(
        records=records, flags=flags, reconciliation=recon.reset_index(drop=True), n_read=raw.n_read,
        n_used=n_used, n_excluded=n_excluded, dropped_columns=dict(raw.dropped_columns), source=raw.source,
        loaded_at=pd.Timestamp.now(tz="UTC"), population=pop, deaths=dth,
        ignored_columns=list(raw.ignored_columns), column_map=dict(raw.column_map),
        info={"format": raw.kind, "encoding": raw.encoding, "delimiter": raw.delimiter, "canreg": raw.canreg,
              "top_age": top_age, "assumptions": dict(raw.assumptions)},
        assumptions=dict(raw.assumptions),
    )


# --- stages ----------------------------------------------------------------------------------
def _derive(records: pd.DataFrame, top_age: int) -> pd.DataFrame:
    return derive.derive(records, top_age=top_age)


def _check(records: pd.DataFrame, regions: Iterable[str] | None = None) -> pd.DataFrame:
    return quality.check_records(records, regions=regions)


RECON_COLUMNS = ["status", "reason", "severity", "description", "records", "stage"]


def _reconcile(records: pd.DataFrame, flags: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records with ``included`` and the reconciliation frame (``RECON_COLUMNS``);
    :func:`analytics.quality.reconcile` decides inclusion and the reasons."""
    out, recon = quality.reconcile(records, flags)
    out[S.INCLUDED] = out[S.INCLUDED].astype(bool)
    recon = recon.copy()
    recon["stage"] = np.where(recon["status"] == "used", STAGE_USED, STAGE_VALIDATION)
    for c in RECON_COLUMNS:
        if c not in recon:
            recon[c] = ""
    return out, recon[RECON_COLUMNS]

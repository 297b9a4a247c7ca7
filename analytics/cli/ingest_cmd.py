"""``python -m analytics ingest PATH [--mapping FILE] [--population FILE] [--report FILE]``.

Reads any supported extract (format detected), prints the reconciliation (records read,
used, excluded by reason), the identifier columns dropped and the data-quality indicators,
and writes the excluded and flagged records (row, check, message; no identifier values:
messages repeat a value only when it has the shape of a code or a date) to the report CSV.
With ``--regions``, region codes not in the boundaries are flagged and counted on their own
line. Exit status 0 when the file was read, whatever it excluded; 2 with a
one-sentence message when it cannot be read at all.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_UNREADABLE = 0, 2


def add_parser(subparsers) -> "callable":
    p = subparsers.add_parser("ingest", help="read and validate a registry extract",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", help="extract: CanReg5 export (TSV/CSV), CSV/TSV, .xlsx or .parquet")
    p.add_argument("--mapping", help="column/code mapping (YAML or JSON)")
    p.add_argument("--population", help="population table (long or wide)")
    p.add_argument("--deaths", help="deaths table (for the mortality:incidence ratio)")
    p.add_argument("--regions", help="region boundaries (GeoJSON, GeoPackage, zipped Shapefile): region codes "
                                     "not among them are flagged")
    p.add_argument("--region-key", help="column of the boundaries holding the region code (default: detected)")
    p.add_argument("--report", help="write excluded and flagged records to this CSV")
    p.add_argument("--top-age", type=int, default=85, help="start of the open top age group (default 85)")
    p.add_argument("--by", default="site_ci5", help="comma-separated columns for the quality indicators")
    return run


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BrokenPipeError:      # output piped into `head`: not an error of the extract
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from analytics.errors import IngestError
    from analytics.export import table_to_csv
    from analytics.pipeline import load_registry
    try:
        regions = _region_codes(args)
        reg = load_registry(args.path, mapping=args.mapping, population=args.population,
                            deaths=getattr(args, "deaths", None), top_age=args.top_age, regions=regions)
    except IngestError as exc:
        hint = " (On the command line, give the mapping file with --mapping FILE.)" if "mapping" in str(exc) else ""
        print(f"Cannot read the extract. {exc}{hint}", file=sys.stderr)
        return EXIT_UNREADABLE
    except Exception as exc:  # never a traceback for the user
        print(f"Cannot read the extract '{args.path}': {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
        return EXIT_UNREADABLE
    out = sys.stdout
    print("\n".join(reg.summary_lines()), file=out)
    if reg.population is not None:
        print(f"Population: {len(reg.population):,} rows, {reg.population['population'].sum():,.0f} person-years",
              file=out)
    _print_indicators(reg, args, out)
    if args.report:
        rep = reg.report()
        try:
            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            Path(args.report).write_bytes(table_to_csv(rep, bom=False))
        except OSError as exc:
            print(f"The report could not be written to '{args.report}' ({exc.strerror}). Choose a writable path.",
                  file=sys.stderr)
            return EXIT_UNREADABLE
        print(f"Report: {len(rep):,} flagged/excluded record rows written to {args.report}", file=out)
    return EXIT_OK


def _region_codes(args: argparse.Namespace):
    """Region codes of ``--regions`` (boundaries file; its key column), or None."""
    if not getattr(args, "regions", None):
        return None
    from analytics.auxiliary import read_regions
    return read_regions(args.regions, key=getattr(args, "region_key", None))["region_code"].astype(str).tolist()


def _print_indicators(reg, args, out) -> None:
    from analytics import quality
    by = tuple(b.strip() for b in str(getattr(args, "by", "site_ci5")).split(",") if b.strip())
    used = reg.records[reg.records["included"]]
    import pandas as pd
    tables = []
    for label, cols in (("all records used", ()), (", ".join(by), by)):
        try:
            ind = quality.indicators(used, by=cols, deaths=reg.deaths)
        except Exception as exc:  # an indicator problem must not hide the account above
            print(f"Data-quality indicators ({label}) could not be computed: {type(exc).__name__}", file=out)
            continue
        if {"indicator", "value"} <= set(ind.columns):
            keys = [c for c in cols if c in ind.columns]
            name = "label" if "label" in ind.columns else "indicator"
            ratio_labels = set(ind.loc[ind["indicator"] == "mi_ratio", name])
            ind = (ind.pivot_table(index=keys, columns=name, values="value", sort=False, observed=True)
                   if keys else ind.set_index(name)[["value"]].T)
            for col in ratio_labels & set(ind.columns):   # a ratio, not a percentage: 2 decimals
                ind[col] = ind[col].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        tables.append((label, ind))
    with pd.option_context("display.max_rows", 200, "display.max_columns", 30, "display.width", 200,
                           "display.float_format", "{:.1f}".format):
        for label, ind in tables:
            print(f"\nData-quality indicators ({label}):", file=out)
            print(ind.to_string(), file=out)

"""``python -m analytics report`` and ``python -m analytics factsheet``: the annual report and the
fact sheets as PDF or Word, from the demo (default) or from your files.

  python -m analytics report --period 2020-2024 --lang az --format pdf --out report.pdf \\
      [--data EXTRACT --population FILE --regions FILE --deaths FILE] [--public]
  python -m analytics factsheet (--site C50 [--sex 2] | --region AZE-1676) --period 2020-2024 \\
      --lang ru --format pdf --out sheet.pdf

``--site`` takes an ICD-10 code or a site-group name and ``--region`` a district or economic-region
code or name; both may be repeated (one page each). Exit status 0 when the document was written, 2
with a one-sentence message when an input or an option cannot be used.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_BAD_INPUT = 0, 2
log = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    from analytics.i18n import LANGUAGES
    from analytics.rates import DSR_METHODS
    from analytics.report.options import FORMATS, SCHEMES

    p.add_argument("--period", required=True, help="first-last year, e.g. 2020-2024 (or one year)")
    p.add_argument("--lang", default="en", choices=LANGUAGES, help="language of the document (default en)")
    p.add_argument("--format", choices=FORMATS, help="pdf or docx (default: from the --out file name)")
    p.add_argument("--out", required=True, help="the file to write (.pdf or .docx)")
    p.add_argument("--public", action="store_true",
                   help="public output: the dashboard's disclosure rule (cell-key perturbation with the secret in "
                        "REGISTRY_DISCLOSURE_SECRET, counts below k shown as <k)")
    p.add_argument("--k", type=int, help="public output threshold (default 10, the dashboard's)")
    p.add_argument("--data", help="registry extract (any format `ingest` reads); default: the demo registry")
    p.add_argument("--population", help="population table (needed with --data)")
    p.add_argument("--regions", help="region boundaries (GeoJSON, GeoPackage, zipped Shapefile)")
    p.add_argument("--deaths", help="deaths table (year, sex, age_group, region_code, icd10, count)")
    p.add_argument("--risk-factors", help="risk factors (long table), for the region profiles")
    p.add_argument("--lifetable", help="population life table (year, sex, age, qx or mx), for net survival")
    p.add_argument("--mapping", help="column/code mapping of the extract (YAML or JSON)")
    p.add_argument("--sites", default="ci5", choices=tuple(SCHEMES), help="site list (default ci5)")
    p.add_argument("--standard", default="world_segi1960", help="standard population (default world_segi1960)")
    p.add_argument("--method", default="tiwari", choices=DSR_METHODS, help="CI method of the rates (default tiwari)")
    p.add_argument("--conf", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--no-figures", action="store_true", help="leave the charts out (faster; no browser needed)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def add_report_parser(subparsers):
    from analytics.report.options import SECTIONS

    p = subparsers.add_parser("report", help="the annual report (PDF or Word)", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated sections (default all): {', '.join(SECTIONS)}")
    return run_report


def add_factsheet_parser(subparsers):
    p = subparsers.add_parser("factsheet", help="fact sheets, one page per site or region (PDF or Word)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--site", action="append", default=[], help="ICD-10 code or site-group name (repeatable)")
    p.add_argument("--region", action="append", default=[], help="district or economic-region code (repeatable)")
    p.add_argument("--sex", type=int, choices=(1, 2), help="site sheets for one sex only (1 men, 2 women)")
    return run_factsheet


def _period(text: str) -> tuple[int, int]:
    parts = [p.strip() for p in str(text).replace("\u2013", "-").split("-")]
    try:
        years = [int(p) for p in parts if p]
    except ValueError:
        years = []
    if len(years) not in (1, 2) or len(parts) > 2:
        raise ValueError(f"--period '{text}': give the first and last year as 2020-2024, or one year")
    return (years[0], years[-1])


def _format(args) -> str:
    suffix = Path(args.out).suffix.lower().lstrip(".")
    fmt = args.format or suffix
    if fmt not in ("pdf", "docx"):
        raise ValueError(f"--out '{args.out}': name a .pdf or .docx file, or give --format")
    if suffix and suffix in ("pdf", "docx") and suffix != fmt:
        raise ValueError(f"--format {fmt} does not match the file name '{args.out}'")
    return fmt


def _options(args, sections=None):
    from analytics.report import ReportOptions

    kw = dict(period=_period(args.period), lang=args.lang, format=_format(args), public=args.public,
              scheme=args.sites, standard=args.standard, method=args.method, conf=args.conf,
              figures=not args.no_figures)
    if args.k is not None:
        kw["k"] = args.k
    if sections is not None:
        kw["sections"] = tuple(s.strip() for s in sections.split(",") if s.strip())
    return ReportOptions(**kw)


def _data(args):
    from analytics.report import data

    if args.data is None:
        if any((args.population, args.regions, args.deaths, args.risk_factors, args.mapping, args.lifetable)):
            raise ValueError("--population, --regions, --deaths, --risk-factors, --lifetable and --mapping go "
                             "with --data")
        return data.demo()
    if not args.population:
        raise ValueError("--data needs --population: rates need person-years")
    return data.load(args.data, population=args.population, regions=args.regions, deaths=args.deaths,
                     risk_factors=args.risk_factors, lifetable=args.lifetable, mapping=args.mapping)


def _progress(args, name: str):
    start = time.monotonic()
    last = [-1]

    def report(fraction: float, message: str) -> None:
        pct = int(100 * fraction)
        if args.quiet or pct == last[0] or not message:
            return
        last[0] = pct
        print(f"{name}: {pct:3d}% {message} ({time.monotonic() - start:.1f} s)", file=sys.stderr)
    return report


def _sentence(exc: Exception) -> str:
    from analytics.errors import IngestError
    from analytics.report import ReportError

    if isinstance(exc, KeyError):
        return str(exc.args[0] if exc.args else exc)
    if isinstance(exc, (IngestError, ReportError, ValueError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _run(args, name: str, make) -> int:
    from analytics import export

    try:
        options = _options(args, getattr(args, "sections", None))
        built = make(_data(args), options, _progress(args, name))
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(built.content)
    except Exception as exc:   # a user-facing sentence, never a traceback
        log.debug("%s failed", name, exc_info=True)
        print(f"{name}: {_sentence(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        export.stop_export_server()
    print(f"{name}: {args.out} written ({built.format.upper()}, {len(built.content) / 1024:,.0f} KB)")
    return EXIT_OK


def run_report(args: argparse.Namespace) -> int:
    from analytics.report import build_report

    return _run(args, "report", lambda data, options, progress: build_report(data, options, progress))


def run_factsheet(args: argparse.Namespace) -> int:
    from analytics.report import build_factsheet

    def make(data, options, progress):
        if not args.site and not args.region:
            raise ValueError("name a --site (ICD-10 code or site name) or a --region (district or economic region)")
        return build_factsheet(data, options, sites=args.site, regions=args.region, sex=args.sex, progress=progress)
    return _run(args, "factsheet", make)

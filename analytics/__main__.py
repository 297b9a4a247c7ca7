"""Command line: ``python -m analytics {ingest,rates,report,factsheet} ...``."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    # Each command module adds its own parser and returns the function that runs it.
    from analytics.cli import ingest_cmd, rates_cmd, report_cmd

    handlers = {
        "ingest": ingest_cmd.add_parser(sub),
        "rates": rates_cmd.add_parser(sub),
        "report": report_cmd.add_report_parser(sub),
        "factsheet": report_cmd.add_factsheet_parser(sub),
    }
    args = parser.parse_args(argv)
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

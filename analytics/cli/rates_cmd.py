"""``python -m analytics rates --population POP (--cases FILE | --registry EXTRACT) [options] --out FILE``.

Computes rates from files and writes CSV or Excel (.xlsx, with a sheet describing the method).

  --cases      aggregated table: the --by columns, an age-group column and a count column
  --registry   a registry extract (any format `ingest` reads); cases are counted per group
  --measure    dsr (default), crude, age_specific, cumulative_risk, isr (SIR against the
               whole input's age-specific rates, per --ref-by), rate_ratio (each level of
               --compare against --reference, within the --by groups)
  --preset     ci5 | seer | phe: method, standard, thresholds and rounding of that tool

Examples:
  python -m analytics rates --population pop.csv --registry extract.tsv \\
      --by region_code,year,sex --standard world_segi1960 --method tiwari --out rates.xlsx
  python -m analytics rates --population pop.csv --cases counts.csv --by sex --preset phe --out r.csv

Exit status 0 on success, 2 with a one-sentence message when an input cannot be used.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

EXIT_OK, EXIT_BAD_INPUT = 0, 2
MEASURES = ("dsr", "crude", "age_specific", "cumulative_risk", "isr", "rate_ratio")


def add_parser(subparsers):
    p = subparsers.add_parser("rates", help="crude, age-specific and age-standardised rates from files",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--cases", help="aggregated counts (CSV/TSV/XLSX/Parquet)")
    src.add_argument("--registry", help="registry extract (one row per tumour)")
    p.add_argument("--population", required=True, help="population table (long or wide)")
    p.add_argument("--mapping", help="column/code mapping for the registry extract")
    p.add_argument("--out", required=True, help="output file, .csv or .xlsx")
    p.add_argument("--by", default="sex", help="comma-separated grouping columns (default: sex)")
    p.add_argument("--measure", choices=MEASURES, default="dsr")
    p.add_argument("--preset", choices=("ci5", "seer", "phe"), help="settings of a reference tool")
    p.add_argument("--standard", help="standard population name (default world_segi1960)")
    p.add_argument("--method", help="CI method: tiwari, fay_feuer, dobson, dobson_exact, normal, lognormal")
    p.add_argument("--conf", help="confidence level(s), e.g. 0.95 or 0.95,0.998")
    p.add_argument("--multiplier", type=float, help="rate per this many (default 100000)")
    p.add_argument("--min-count", type=int, help="no DSR below this many cases")
    p.add_argument("--ages", help="truncated rate, e.g. 35-64")
    p.add_argument("--unknown-age", choices=("exclude", "redistribute"))
    p.add_argument("--suppress", type=int, help="suppress counts below this threshold (k)")
    p.add_argument("--ref-by", default="", help="isr: columns the reference rates are specific to (e.g. sex)")
    p.add_argument("--compare", help="rate_ratio: column whose levels are compared (e.g. sex)")
    p.add_argument("--reference", help="rate_ratio: the reference level of --compare")
    p.add_argument("--decimals", type=int, help="round rates and limits to this many decimals "
                   "(default: full precision, or the preset's rounding)")
    p.add_argument("--lang", default="en", choices=("en", "az", "ru"),
                   help="language of the flag_text column (the flag column keeps stable codes)")
    p.add_argument("--age-column", default="age_group", help="age-group column of --cases")
    p.add_argument("--count-column", default="count", help="count column of --cases")
    return run


def run(args: argparse.Namespace) -> int:
    try:
        table, meta = _compute(args)
        _write(table, meta, args.out)
    except Exception as exc:   # a user-facing sentence, never a traceback
        print(f"rates: {_sentence(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"rates: {len(table):,} rows written to {args.out} ({meta['measure']}, {meta.get('method', '')})")
    return EXIT_OK


def _sentence(exc: Exception) -> str:
    from analytics.errors import IngestError
    if isinstance(exc, (IngestError, ValueError, KeyError, OSError)):
        return str(exc).strip("'\"")
    return f"{type(exc).__name__}: {exc}"


def _read_table(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise OSError(f"file '{path}' not found")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(p)
    if suffix == ".parquet":
        return pd.read_parquet(p)
    sep = "\t" if suffix in (".tsv", ".txt") else None
    return pd.read_csv(p, sep=sep, engine="python" if sep is None else "c")


def _population(path: str) -> pd.DataFrame:
    from analytics.readers import read_population

    return read_population(path)


def _inputs(args) -> tuple[pd.DataFrame, list[str], str]:
    from analytics import rate_inputs
    from analytics.strata import as_list
    by = as_list(args.by)
    if args.measure == "isr":
        # The reference rates are specific to --ref-by: those columns must be in the input too.
        by = by + [c for c in as_list(args.ref_by) if c not in by]
    population = _population(args.population)
    if args.registry:
        from analytics.pipeline import load_registry
        reg = load_registry(args.registry, mapping=args.mapping)
        counts = rate_inputs.count_cases(reg.records, by)
        age = "age_group"
        data = rate_inputs.join_population(counts, population, by, age=age)
    else:
        age = args.age_column
        counts = _read_table(args.cases)
        if "population" in counts.columns and args.count_column in counts.columns:
            data = counts.rename(columns={args.count_column: "count"})   # already joined
        else:
            counts = counts.rename(columns={args.count_column: "count"})
            pop = population.rename(columns={"age_group": age}) if age != "age_group" else population
            data = rate_inputs.join_population(counts, pop, by, age=age)
    return data, by, age


def _compute(args):
    from analytics import presets, rates
    from analytics.strata import as_list
    data, by, age = _inputs(args)
    if args.measure == "isr":
        by = [c for c in by if c in as_list(args.by)]
    p = presets.get(args.preset) if args.preset else None
    kw = p.dsr_kwargs() if p else {"method": "tiwari", "standard": "world_segi1960", "conf": 0.95,
                                   "multiplier": 100000, "min_count": 0, "unknown_age": "exclude"}
    if args.standard:
        kw["standard"] = args.standard
    if args.method:
        kw["method"] = args.method
    if args.conf:
        levels = [float(x) for x in args.conf.split(",")]
        kw["conf"] = levels[0] if len(levels) == 1 else levels
    if args.multiplier:
        kw["multiplier"] = args.multiplier
    if args.min_count is not None:
        kw["min_count"] = args.min_count
    if args.unknown_age:
        kw["unknown_age"] = args.unknown_age
    if args.ages:
        lo, _, hi = args.ages.partition("-")
        kw["ages"] = (float(lo), float(hi))
    common = dict(count="count", population="population", by=by)
    if args.measure == "dsr":
        table = rates.dsr(data, age=age, **common, **kw)
    elif args.measure == "crude":
        agg = data.groupby(by, dropna=False, observed=True)[["count", "population"]].sum().reset_index() \
            if by else data[["count", "population"]].sum().to_frame().T
        cr = rates.crude_rate(agg["count"], agg["population"], conf=kw["conf"], multiplier=kw["multiplier"])
        table = pd.concat([agg.reset_index(drop=True), cr.reset_index(drop=True)], axis=1)
        kw["method"] = "auto (exact < 10, Byar >= 10)"
    elif args.measure == "age_specific":
        table = rates.age_specific(data, age=age, conf=kw["conf"], multiplier=kw["multiplier"], **common)
        kw["method"] = "exact Poisson"
    elif args.measure == "cumulative_risk":
        table = rates.cumulative_risk(data, age=age, conf=kw["conf"], **common)
        kw["method"] = "tiwari (cumulative rate), transformed to risk"
    elif args.measure == "isr":
        ref_by = as_list(args.ref_by)
        ref = data.groupby(ref_by + [age], observed=True)[["count", "population"]].sum()
        ref = ref.rename(columns={"count": "ref_count", "population": "ref_population"}).reset_index()
        merged = data.merge(ref, on=ref_by + [age], how="left")
        table = rates.isr(merged, by=by, conf=kw["conf"], method="auto" if p and p.name == "phe" else "exact")
        kw["method"] = table.attrs["method"] + " Poisson limits; reference: all input" + (
            f" by {','.join(ref_by)}" if ref_by else "")
    else:
        if not args.compare or args.reference is None:
            raise ValueError("rate_ratio needs --compare COLUMN and --reference LEVEL")
        level = args.reference
        col = data[args.compare]
        if pd.api.types.is_numeric_dtype(col):
            level = float(level) if "." in level else int(level)
        rr_by = [b for b in by if b != args.compare]
        table = rates.rate_ratio(data, compare=args.compare, reference=level, by=rr_by, age=age,
                                 standard=kw["standard"], method=kw["method"] if kw["method"] in
                                 ("tiwari", "fay_feuer") else "tiwari", conf=kw["conf"],
                                 multiplier=kw["multiplier"])
    # Complementary suppression over the last two --by columns (layers: the others), so that a
    # withheld cell cannot be recovered from row or column totals.
    dims = presets.table_dimensions(by) if args.measure in ("dsr", "crude", "cumulative_risk", "isr") else {}
    if p:
        table = presets.finish(table, p, count="observed" if args.measure == "isr" else "count", **dims)
    if args.suppress:
        from analytics import disclosure
        table = disclosure.suppress(table, args.suppress, count="observed" if args.measure == "isr" else "count",
                                    **dims)
    table = _presentable(table, args)
    meta = {"measure": args.measure, **{k: str(v) for k, v in kw.items()}, "by": ",".join(by),
            "preset": args.preset or "", "population": args.population,
            "cases": args.cases or args.registry, **{k: str(v) for k, v in table.attrs.items()
                                                       if isinstance(v, (str, int, float, list, tuple, dict))}}
    return table, meta


def _presentable(table: pd.DataFrame, args) -> pd.DataFrame:
    """Whole counts as integers, optional rounding, and the flag codes as sentences."""
    from analytics import rates
    attrs = dict(table.attrs)
    out = table.copy()
    for c in ("count", "unknown_age", "population", "observed"):
        if c in out.columns and pd.api.types.is_float_dtype(out[c]):
            v = out[c]
            if (v.dropna() % 1 == 0).all():
                out[c] = v.round().astype("Int64")
    if args.decimals is not None:
        num = [c for c in out.columns if pd.api.types.is_float_dtype(out[c]) and not c.endswith("_p")
               and c not in ("count", "unknown_age", "population", "observed")]
        out[num] = out[num].round(args.decimals)
    if "flag" in out.columns:
        pos = list(out.columns).index("flag") + 1
        out.insert(pos, "flag_text", rates.flag_labels(table, args.lang).to_numpy())
    out.attrs = attrs
    return out


def _write(table: pd.DataFrame, meta: dict, out: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            table.to_excel(xw, sheet_name="rates", index=False)
            pd.DataFrame({"item": list(meta), "value": list(meta.values())}).to_excel(
                xw, sheet_name="method", index=False)
    elif path.suffix.lower() in (".csv", ".txt", ""):
        table.to_csv(path, index=False)
        with open(path.with_suffix(path.suffix + ".meta.txt") if path.suffix else Path(str(path) + ".meta.txt"),
                  "w", encoding="utf-8") as fh:
            fh.writelines(f"{k}: {v}\n" for k, v in meta.items())
    else:
        raise ValueError(f"output '{out}': use a .csv or .xlsx file name")

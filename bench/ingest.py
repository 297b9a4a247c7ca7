"""Benchmark: ingest + validation + derivation of a 5,000,000-tumour extract, as a ratio to
DuckDB's full scan of the same file into Arrow, timed in the same run.

Builds, in a temporary directory (nothing is committed), the same synthetic registry twice:
a CanReg5 Tumour+Patient export with all 39 TRN columns (tab-separated, CRLF, short names,
``yyyyMMdd`` dates with some unknown days/months, names included so that the identifier
columns are dropped as in real use) and a Parquet file with the schema's column names.
Each is then loaded with ``analytics.pipeline.load_registry`` in a fresh process, which
reports the wall time, the time of each stage (from the pipeline's progress callback) and
its peak resident memory, with the modules the dashboard's ingest worker has loaded before an
upload arrives (``analytics.ingest.preload``: an upload is read in a process forked from that
fork server, so it never pays these imports); three such processes, and the best is the figure,
as for DuckDB, which reads the same file completely into an Arrow table (``read_csv(...,
all_varchar=true)`` / ``read_parquet``) three times in a fresh process of its own, the best of
three. Each of our three runs is a first load in its process (cold memory, as a worker's is):
on these virtual machines a process that follows a pause, or another's exit, can spend seconds
of system time faulting its memory in (2.8 s of system time against 0.9 s for the same load
seconds later, round 17), which one run alone reported as the ingest's speed. All three are
printed. The load average is printed before and after: on a shared machine the ratio is the
figure to compare, not the seconds. CPU time (all threads of each process: both use both cores)
is printed beside the wall time; on a loaded machine the CPU ratio is the steadier one, the
wall ratio is the target's.

Targets (issue 12): TSV <= 5x DuckDB's scan, Parquet <= 8x; peak memory <= 4 GB; 2 cores.

    python bench/ingest.py [--n 5000000] [--keep DIR | --reuse DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SITES = [  # (3-digit topography, morphology, sex restriction 0 = both)
    ("509", "8500", 2), ("341", "8070", 0), ("349", "8140", 0), ("619", "8140", 1), ("189", "8140", 0),
    ("209", "8140", 0), ("169", "8144", 0), ("220", "8170", 0), ("539", "8070", 2), ("549", "8380", 2),
    ("569", "8441", 2), ("679", "8120", 0), ("739", "8260", 0), ("649", "8312", 0), ("259", "8500", 0),
    ("421", "9680", 0), ("421", "9861", 0), ("421", "9732", 0), ("710", "9440", 0), ("809", "8000", 0),
    ("447", "8720", 0), ("150", "8070", 0), ("321", "8070", 0), ("119", "8070", 0), ("629", "9061", 1),
]


def build(n: int, out: Path, seed: int = 2024) -> tuple[Path, Path]:
    """Write the extract twice (CanReg5 TSV and canonical Parquet) with Arrow's writers."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    site = rng.integers(0, len(SITES), n)
    top = np.array([s[0] for s in SITES])[site]
    mor = np.array([s[1] for s in SITES])[site]
    restr = np.array([s[2] for s in SITES])[site]
    sex = np.where(restr > 0, restr, rng.integers(1, 3, n))
    inc = np.datetime64("2010-01-01") + rng.integers(0, 15 * 365, n).astype("timedelta64[D]")
    age = np.clip(rng.normal(63, 14, n).round(), 0, 99).astype(int)
    birth = inc - (age * 365.25 + rng.integers(0, 365, n)).astype("timedelta64[D]")
    age = ((inc - birth).astype(int) / 365.25).astype(int)
    dlc = np.minimum(inc + rng.integers(0, 3000, n).astype("timedelta64[D]"), np.datetime64("2025-06-30"))
    stat = rng.choice([1, 2, 9], n, p=[0.55, 0.43, 0.02])
    basis = rng.choice([0, 1, 2, 4, 5, 6, 7, 8, 9], n, p=[0.03, 0.05, 0.03, 0.01, 0.08, 0.02, 0.75, 0.01, 0.02])
    beh = rng.choice([3, 2], n, p=[0.98, 0.02])
    addr_codes = np.array([f"{d:02d}{s}" for d in range(1, 27) for s in range(1, 4)])
    addr = addr_codes[rng.integers(0, 78, n)]

    def ymd(d, unknown_day=None):
        idx = pd.DatetimeIndex(d)
        v = idx.year.to_numpy() * 10000 + idx.month.to_numpy() * 100 + idx.day.to_numpy()
        if unknown_day is not None:
            v = np.where(unknown_day, v // 100 * 100 + 99, v)   # CanReg unknown day: 99
        return pa.array(v).cast(pa.string())

    def text(a):
        return pa.array(np.asarray(a).astype(str))

    regno = pc.binary_join_element_wise("2", pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.string()), 7, "0"), "")
    tid = pc.binary_join_element_wise(regno, "01", "")
    const = {}

    def fill(v):
        if v not in const:
            const[v] = pa.array(np.full(n, v, dtype=object), type=pa.string())
        return const[v]

    cols = {
        "RECS": text(np.where(rng.random(n) < 0.001, "2", "1")), "CHEC": fill("1"), "AGE": text(age),
        "ADDR": text(addr), "INCID": ymd(inc, rng.random(n) < 0.01), "TOP": text(top), "MOR": text(mor),
        "BEH": text(beh), "BAS": text(basis), "I10": fill(""), "MPCODE": fill(""), "MPSEQ": fill("1"),
        "MPTOT": fill("1"), "UPDATE": fill("20250101"), "ICCC": fill(""), "OBSOLETEFLAGTUMOURTABLE": fill("0"),
        "TUMOURID": tid, "PATIENTIDTUMOURTABLE": regno, "PATIENTRECORDIDTUMOURTABLE": tid,
        "TUMOURUPDATEDBY": fill("bench"), "TUMOURUNDUPLICATIONSTATUS": fill(""), "REGNO": regno, "PERS": fill("1"),
        "FAMN": fill("Məmmədov"), "FIRSTN": fill("Əli"), "MAIDN": fill(""), "SEX": text(sex), "BIRTHD": ymd(birth),
        "TRIB": fill(""), "OCCU": fill("99"), "DLC": ymd(dlc), "STAT": text(stat), "MIDN": fill(""),
        "OBSOLETEFLAGPATIENTTABLE": fill("0"), "PATIENTRECORDID": tid, "PATIENTUPDATEDBY": fill("bench"),
        "PATIENTUPDATEDATE": fill("20250101"), "PATIENTRECORDSTATUS": fill("1"), "PATIENTCHECKSTATUS": fill("1"),
    }
    tsv = out / "canreg_export.tsv"
    # CanReg5's writer: tab, CRLF, header and values unquoted (no value here needs quotes)
    pacsv.write_csv(pa.table(cols), tsv, write_options=pacsv.WriteOptions(
        delimiter="\t", eol="\r\n", quoting_style="none", quoting_header="none"))
    from analytics import schema as S
    canon = pd.DataFrame({
        S.TUMOUR_ID: pd.array(tid, dtype="str"), S.PATIENT_ID: pd.array(regno, dtype="str"),
        S.SEX: sex.astype("int8"), S.BIRTH_DATE: birth.astype("datetime64[ns]"),
        S.INCIDENCE_DATE: inc.astype("datetime64[ns]"), S.AGE: age.astype("int16"),
        S.TOPOGRAPHY: pd.Categorical(np.char.add("C", top)), S.MORPHOLOGY: pd.Categorical(mor),
        S.BEHAVIOUR: beh.astype("int8"), S.BASIS: basis.astype("int8"), S.REGION: pd.Categorical(addr),
        S.VITAL_STATUS: stat.astype("int8"), S.LAST_CONTACT: dlc.astype("datetime64[ns]"),
    })
    pq = out / "tumours.parquet"
    canon.to_parquet(pq, index=False)
    return tsv, pq


def _peak_rss_gb() -> float:
    """Peak resident memory of this process. VmHWM belongs to the address space created by
    exec, unlike ru_maxrss, which Linux carries over from the parent that built the data."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def run_one(path: str) -> None:
    import analytics.ingest.preload  # noqa: F401 - what the ingest worker's fork server has loaded
    from analytics import pipeline
    marks: list[tuple[str, float]] = []

    def progress(stage: str) -> None:
        marks.append((stage, time.perf_counter()))

    t0, c0 = time.perf_counter(), time.process_time()
    reg = pipeline.load_registry(path, progress=progress)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = _peak_rss_gb()
    ends = [t for _, t in marks[1:]] + [t0 + dt]
    stages = {name: round(end - start, 2) for (name, start), end in zip(marks, ends) if end - start >= 0.005}
    print(json.dumps({"seconds": round(dt, 2), "cpu": round(cpu, 2), "peak_gb": round(rss, 2), "n_read": reg.n_read,
                      "n_used": reg.n_used, "n_excluded": reg.n_excluded, "stages": stages}))


def scan_one(path: str, repeats: int = 3) -> None:
    """DuckDB's full scan of the file into Arrow (every column, as text for the TSV), best of
    ``repeats``."""
    import duckdb
    con = duckdb.connect()
    quoted = "'" + path.replace("'", "''") + "'"
    src = (f"read_parquet({quoted})" if path.endswith(".parquet")
           else f"read_csv({quoted}, delim='\t', header=true, all_varchar=true)")
    best, best_cpu, rows = float("inf"), float("inf"), 0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        table = con.sql(f"SELECT * FROM {src}").to_arrow_table()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        rows = table.num_rows
        del table
    print(json.dumps({"seconds": round(best, 2), "cpu": round(best_cpu, 2), "rows": rows}))


RUNS = 3      # fresh processes per file for our load (the best is the figure); DuckDB: 3 scans, the best


def _sub(flag: str, path: Path) -> dict:
    r = subprocess.run([sys.executable, __file__, flag, str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5_000_000)
    ap.add_argument("--keep", help="build the files in this folder and keep them")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--scan", help=argparse.SUPPRESS)
    ap.add_argument("--reuse", help="time existing files in this folder (canreg_export.tsv, tumours.parquet)")
    a = ap.parse_args()
    if a.run:
        run_one(a.run)
        return 0
    if a.scan:
        scan_one(a.scan)
        return 0
    tmp = tempfile.TemporaryDirectory() if not (a.keep or a.reuse) else None
    out = Path(a.reuse or a.keep or tmp.name)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if a.reuse:
        tsv, pq = out / "canreg_export.tsv", out / "tumours.parquet"
    else:
        tsv, pq = build(a.n, out)
    load = os.getloadavg()
    print(f"{'reused' if a.reuse else 'built'} extract ({time.perf_counter() - t0:.0f} s): CanReg5 TSV "
          f"{tsv.stat().st_size / 1e6:,.0f} MB, Parquet {pq.stat().st_size / 1e6:,.0f} MB; cores: {os.cpu_count()}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    failed = False
    for label, path, target in (("CanReg5 TSV", tsv, 5), ("Parquet", pq, 8)):
        try:
            runs = [_sub("--run", path) for _ in range(RUNS)]
            scan = _sub("--scan", path)
        except RuntimeError as exc:
            print(f"{label}: FAILED\n{exc}")
            return 1
        res = min(runs, key=lambda r: r["seconds"])
        peak = max(r["peak_gb"] for r in runs)                 # the memory target holds for every run
        if len({(r["n_read"], r["n_used"], r["n_excluded"]) for r in runs}) != 1:
            print(f"{label}: FAILED: the runs counted different records: {runs}")
            return 1
        ratio = res["seconds"] / max(scan["seconds"], 1e-9)
        cpu_ratio = res["cpu"] / max(scan["cpu"], 1e-9)
        ok = ratio <= target and peak <= 4
        failed |= not ok
        print(f"{label}: ingest+validation+derivation {res['seconds']} s wall, {res['cpu']} s CPU; DuckDB "
              f"full scan into Arrow {scan['seconds']} s wall, {scan['cpu']} s CPU; ratio {ratio:.1f}x wall "
              f"(target <= {target}x), {cpu_ratio:.1f}x CPU (all threads of each process); peak RSS {peak} GB "
              f"(target 4 GB); read {res['n_read']:,}, used {res['n_used']:,}, excluded {res['n_excluded']:,} "
              f"[{'ok' if ok else 'OVER TARGET'}]; stages (s): {res['stages']}; the {RUNS} runs (s wall / CPU): "
              + ", ".join(f"{r['seconds']} / {r['cpu']}" for r in runs))
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if tmp is not None:
        tmp.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

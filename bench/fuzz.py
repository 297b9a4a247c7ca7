"""Fuzzing the upload: 10,000 generated hostile files, each loaded as the Data page loads it.

Each file (``tests/fixtures/hostile.py``: random bytes, broken tables, bad values, odd encodings,
compression and zip bombs, broken Parquet and workbooks, wide, empty and header-only files,
100,000-character fields, wrong mappings) is loaded by ``analytics.ingest.upload.load`` in the
ingest worker (``analytics.ingest.sandbox``) with a 1 GB memory cap and a 10 s time limit. The
script reports, per kind of file, how each ended and fails (exit 1) on any of:

* a traceback (an exception other than the reader's IngestError sentence);
* an unforeseen exception hidden behind a catch-all sentence (``... (TypeError: ...)``);
* counts that do not reconcile (read = used + excluded = sum of the reconciliation lines), or a
  record count other than the number written, where that is known;
* a file that took more than 10 s or more than 1 GB of memory (the worker's own peak RSS).
  The time judged is the worker's own CPU time (user + system), which the machine's load does not
  inflate; wall time is reported beside it, and the worker's wall-clock limit is set to
  ``--wall`` seconds (default 60) so that a busy machine does not stop files that cost little.

    python bench/fuzz.py [--n 10000] [--start 0] [--seed 2026] [--jobs 2] [--show 20]

``--start`` runs the cases ``start .. start + n - 1`` of the same sequence, so the 10,000 can be
run in parts on a busy machine (``--start 0 --n 5000`` then ``--start 5000 --n 5000``).

The regular test suite runs a few hundred of the same cases in-process
(``tests/test_ingest_fuzz.py``).
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

MAX_SECONDS = 10.0
MAX_MB = 1024
WALL_LIMIT_S = 60             # the worker's wall-clock limit in this script (``--wall``)


def fuzz_one(data: bytes, name: str, mapping, *, progress=None) -> dict:
    """Runs in the worker: the outcome of one upload (see ``hostile.outcome``)."""
    import hostile

    return hostile.outcome(data, name, mapping)


def run_case(seed: int, i: int) -> tuple:
    import hostile

    from analytics.ingest import sandbox
    from analytics.ingest.limits import Limits

    c = hostile.case(seed, i)
    limits = Limits(worker_memory_mb=MAX_MB, worker_timeout_s=WALL_LIMIT_S)
    out = sandbox.run(fuzz_one, c.data, c.name, c.mapping, limits=limits, label=c.name)
    if out.error is not None:          # the worker itself reported (memory, time, crash)
        res = {"status": "worker", "message": str(out.error)[:300]}
    else:
        res = out.value
    problems = []
    if res["status"] in ("traceback", "catch_all", "worker"):
        problems.append(f"{res['status']}: {res['message']}")
    if res["status"] == "read":
        if not (res["n_read"] == res["n_used"] + res["n_excluded"] == res["recon_sum"] and res["included"] == res["n_used"]):
            problems.append(f"counts do not reconcile: {res}")
        if c.expect_rows is not None and res["n_read"] != c.expect_rows:
            problems.append(f"read {res['n_read']} of {c.expect_rows} records")
    elif c.expect_rows is not None:
        problems.append(f"a readable file was refused: {res.get('message')}")
    if out.cpu_seconds > MAX_SECONDS:
        problems.append(f"took {out.cpu_seconds:.1f} s of CPU ({out.seconds:.1f} s wall)")
    if out.peak_mb > MAX_MB:
        problems.append(f"peak memory {out.peak_mb:.0f} MB")
    return i, str(c.kind), res["status"], (out.cpu_seconds, out.seconds), out.peak_mb, problems, len(c.data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--start", type=int, default=0, help="index of the first case (run the 10,000 in parts)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=2, help="workers at a time (default 2: the machine's cores)")
    ap.add_argument("--show", type=int, default=20, help="problems listed in full")
    ap.add_argument("--every", type=int, default=100, help="a progress line every this many files")
    ap.add_argument("--wall", type=int, default=60, help="the worker's wall-clock limit, s (default 60)")
    a = ap.parse_args()
    global WALL_LIMIT_S
    WALL_LIMIT_S = a.wall
    load = os.getloadavg()
    print(f"fuzzing {a.n:,} generated files (seed {a.seed}, cases {a.start:,}-{a.start + a.n - 1:,}), "
          f"{a.jobs} at a time; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; limits per file {MAX_SECONDS:g} s of CPU, {MAX_MB} MB (worker wall limit {WALL_LIMIT_S} s)")
    t0 = time.perf_counter()
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    worst_s, worst_wall, worst_mb, problems = (0.0, ""), (0.0, ""), (0.0, ""), []
    with cf.ThreadPoolExecutor(a.jobs) as pool:      # each case runs in its own worker process
        for done, (i, kind, status, secs, mb, probs, size) in enumerate(
                pool.map(lambda i: run_case(a.seed, i), range(a.start, a.start + a.n)), start=1):
            by_kind[kind][status] += 1
            cpu, wall = secs
            worst_s = max(worst_s, (cpu, f"case {i} ({kind}, {size:,} bytes)"))
            worst_wall = max(worst_wall, (wall, f"case {i} ({kind}, {size:,} bytes)"))
            worst_mb = max(worst_mb, (mb, f"case {i} ({kind}, {size:,} bytes)"))
            problems += [(i, kind, p) for p in probs]
            for p in probs:                      # as they happen: a long run stopped early keeps them
                print(f"  problem: case {i} ({kind}, {size:,} bytes, {cpu:.1f} s CPU): {p[:300]}", flush=True)
            if done % a.every == 0:
                print(f"  {done:,} files, {len(problems)} problems, {time.perf_counter() - t0:.0f} s; most CPU "
                      f"{worst_s[0]:.2f} s, slowest wall {worst_wall[0]:.2f} s, most memory {worst_mb[0]:.0f} MB",
                      flush=True)
    print(f"\n{a.n:,} files in {time.perf_counter() - t0:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    statuses = ["read", "sentence", "catch_all", "traceback", "worker"]
    print(f"{'kind':<12}" + "".join(f"{s:>11}" for s in statuses))
    for kind in sorted(by_kind):
        print(f"{kind:<12}" + "".join(f"{by_kind[kind][s]:>11,}" for s in statuses))
    print(f"most CPU: {worst_s[0]:.2f} s ({worst_s[1]}); slowest wall: {worst_wall[0]:.2f} s ({worst_wall[1]}); "
          f"most memory: {worst_mb[0]:.0f} MB ({worst_mb[1]})")
    if problems:
        print(f"\n{len(problems)} PROBLEMS (reproduce with tests/fixtures/hostile.case({a.seed}, i)):")
        for i, kind, p in problems[: a.show]:
            print(f"  case {i} ({kind}): {p}")
        return 1
    print("no traceback, no unforeseen error, every count reconciled, every file within 10 s of CPU and 1 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

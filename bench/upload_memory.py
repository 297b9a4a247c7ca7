"""Benchmark: the server's resident memory (RSS) around a large upload, and what is given back.

Runs, in one process that plays the server, what the Data page runs for an upload: the files'
bytes held (as Streamlit's uploader holds them), ``analytics.ingest.upload.load`` in the ingest
worker (``analytics.ingest.sandbox.run``: the records come back pickled), the session's
``Dataset``, then the pages' shared cubes of it (``app_support.cache.cube``: aggregates, kept by
the process). Then the session ends: its state (the records, the files' bytes) is dropped and the
app's release hook (``app_support.state.release_memory``) runs. RSS is read from /proc at each
step, with the ingest worker's own peak; "private" is the process's anonymous memory that is not
shared with another process (``Private_Dirty`` of ``/proc/self/smaps_rollup``).

    python bench/upload_memory.py --extract /tmp/x/tumours.parquet [--population data/demo/population.parquet]
           [--no-release]

``bench/ingest.py --keep DIR --n 5000000`` writes a 5-million-tumour extract (tumours.parquet:
95 MB, under the 200 MB upload limit; the TSV is 885 MB, over it). ``--no-release`` skips the
release hook (the figures before this change).
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> dict:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("Private_Dirty:"):
                out["private"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return {"rss_mb": round(out.get("VmRSS", 0)), "private_mb": round(out.get("private", 0)),
            "peak_mb": round(out.get("VmHWM", 0))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--extract", required=True)
    ap.add_argument("--population", default=str(ROOT / "data" / "demo" / "population.parquet"))
    ap.add_argument("--no-release", action="store_true", help="skip app_support.state.release_memory")
    args = ap.parse_args()

    import os
    os.environ.setdefault("REGISTRY_WARM_UP", "0")
    from analytics import schema as S
    from analytics.ingest import sandbox, upload
    from app_support import cache, state

    steps: list[tuple[str, dict]] = []

    def mark(name: str) -> None:
        gc.collect()
        steps.append((name, rss_mb()))
        print(f"{name:<42} {json.dumps(steps[-1][1])}", flush=True)

    demo = state.demo_dataset()
    for measure in ("incidence", "mortality"):
        cache.cube(demo, S.SITE_CI5, measure=measure)
    mark("server with the demo's cubes")
    session: dict = {"files": {"extract": (Path(args.extract).name, Path(args.extract).read_bytes())}}
    if args.population:
        session["files"]["population"] = (Path(args.population).name, Path(args.population).read_bytes())
    mark("the upload's bytes held (uploader)")
    t0 = time.perf_counter()
    outcome = sandbox.run(upload.load, session["files"], None, label=Path(args.extract).name)
    loaded = outcome.unwrap()
    reg = loaded.registry
    print(f"  ingest worker: {time.perf_counter() - t0:.1f} s, worker peak {outcome.peak_mb:.0f} MB, "
          f"{reg.n_read:,} records read", flush=True)
    import pandas as pd

    if loaded.geo is not None:          # as pages/data.py builds the session's region table
        regions = state._region_table(loaded.geo)
    else:
        codes = sorted(set(reg.records[S.REGION].dropna().astype(str)) | (
            set(reg.population[S.REGION].dropna().astype(str)) if reg.population is not None else set()))
        regions = pd.DataFrame({S.REGION: codes, S.REGION_NAME: codes, S.PARENT: "", S.PARENT_NAME: "",
                                "parent_name_en": ""})
    session["dataset"] = state.Dataset("upload:bench", reg, regions, Path(args.extract).name, loaded.geo, None)
    del loaded, outcome, reg
    mark("upload loaded (records in the session)")
    for measure in ("incidence", "mortality"):
        cache.cube(session["dataset"], S.SITE_CI5, measure=measure)
    mark("its cubes built (shared aggregates)")
    release, state.release_memory = state.release_memory, lambda: None   # the hook: measured as its own step
    session.clear()
    mark("session ended (state dropped)")
    if not args.no_release:
        release()
        mark("then app_support.state.release_memory()")
    print(json.dumps({"steps": steps}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

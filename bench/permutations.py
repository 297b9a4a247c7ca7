"""Benchmark: what the permutation tests cost, and what is left on the server's script thread
now that they run in worker processes (``app_support.jobs.ProcessPool``).

For each job: CPU seconds of the computation itself (``time.process_time`` around the direct
``analytics`` call, i.e. what used to hold the GIL on a session's script thread), then the same
job through the app's process pool: the calling process's CPU (pickling the input, waiting) and
the wall time. Jobs: the demo's Moran's I + LISA (78 districts, 10 economic regions; 999
permutations each), the demo's joinpoint fits (two 15-year series; eight sites), and synthetic
series of 25 and 35 years (a registry with a long history), automatic maximum of joinpoints and
at most 5. The load average is printed: on a shared machine compare CPU, not wall.

    python bench/permutations.py
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(label: str, direct, pooled) -> None:
    c0 = time.process_time()
    direct()
    cpu = time.process_time() - c0
    c0, t0 = time.process_time(), time.perf_counter()
    pooled()
    print(f"{label:<58} computation {cpu:7.3f} s CPU | through the pool: caller {time.process_time() - c0:6.3f} s "
          f"CPU, {time.perf_counter() - t0:6.2f} s wall", flush=True)


def main() -> int:
    os.environ.setdefault("REGISTRY_WARM_UP", "0")
    import numpy as np
    import pandas as pd

    from analytics import schema as S
    from analytics import spatial, tables
    from app_support import cache, state
    from app_support.filters import Filters

    print("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f} on {} cores".format(*os.getloadavg(), os.cpu_count()))
    pool = cache.process_pool()
    t0 = time.perf_counter()
    pool.warm().wait(300)
    print(f"pool start (fork server with its preload, one worker): {time.perf_counter() - t0:.2f} s wall")
    ds = state.demo_dataset()
    f = Filters(y0=2020, y1=2024, sex="both", scheme="ci5", site="all", er="all", district="all", a0=0, a1=85,
                std="world_segi1960", ci="tiwari", conf="95", public=False, lang="en", theme="light")
    for level in (S.REGION, S.PARENT):
        _, w, _ = cache.level_geometry(ds, level, "en")
        ok = cache.regional_measures(ds, f, level).set_index(level)
        args = (ok["cases"].fillna(0.0), ok["expected"], w)
        timed(f"Moran's I + LISA, demo, {len(ok)} areas", lambda: spatial.clusters(*args),
              lambda: pool.submit("clusters", spatial.clusters, *args).wait(600))
    jobs = []
    rates = cache.dsr(ds, dataclasses.replace(f, y0=2010), by=("year", "sex"), sexes=(S.MALE, S.FEMALE))
    jobs.append(("joinpoint, demo, 2 sexes x 15 years, permutation", tables.trend_input(rates, "sex", public=False),
                 "sex", "auto"))
    rates = cache.dsr(ds, dataclasses.replace(f, y0=2010), by=("year", "site"))
    top = rates.groupby("site")["count"].sum().sort_values().index[-8:]
    jobs.append(("joinpoint, demo, 8 sites x 15 years, permutation",
                 tables.trend_input(rates[rates["site"].isin(top)], "site", public=False), "site", "auto"))
    rng = np.random.default_rng(1)
    for n in (25, 35):
        x = np.arange(n)
        rate = 50 * np.exp(0.02 * x + np.where(x > n // 2, -0.03 * (x - n // 2), 0)) + rng.normal(0, 1, n)
        data = pd.DataFrame({"year": 1990 + x, "value": rate, "se": rate / 20})
        for max_jp in ("auto", "5"):
            jobs.append((f"joinpoint, one synthetic {n}-year series, max {max_jp}", data, None, max_jp))
    for label, data, series, max_jp in jobs:
        kw = dict(selection="permutation", max_jp=max_jp, weighted=False, conf=0.95)
        timed(label, lambda: tables.joinpoint_fit(data, series, **kw),
              lambda: pool.submit("joinpoint", tables.joinpoint_fit, data, series, **kw).wait(600))
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: joinpoint selection (permutation test, 4,499 permutations, up to 3 joinpoints,
30 yearly points). Target <= 5 s on 2 cores.  Run: python bench/trends.py"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics.trends import joinpoint  # noqa: E402


def series(seed: int = 3):
    yr = np.arange(1995, 2025)
    slope = np.where(yr <= 2004, 0.025, np.where(yr <= 2013, -0.01, 0.015))
    rng = np.random.default_rng(seed)
    ly = np.log(60.0) + np.concatenate([[0], np.cumsum(slope[1:])]) + rng.normal(0, 0.02, yr.size)
    return yr, np.exp(ly)


def main(repeats: int = 3) -> float:
    yr, rate = series()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = joinpoint(yr, rate, max_joinpoints=3, selection="permutation", n_permutations=4499)
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(f"joinpoint permutation selection, n=30, max 3 joinpoints, 4499 permutations: "
          f"best {best:.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
          f"(target <= 5 s); selected {res.joinpoints}")
    t0 = time.perf_counter()
    joinpoint(yr, rate, max_joinpoints=3, selection="wbic")
    print(f"joinpoint WBIC selection, same series: {time.perf_counter() - t0:.3f} s")
    return best


def demo_timings() -> None:
    """Prevalence and Nordpred on the demo registry (when it is there)."""
    try:
        from analytics import demo
        from analytics import projections as pj
        from analytics.prevalence import prevalence
    except ImportError as e:  # pragma: no cover - the demo is optional for the bench
        print(f"demo timings skipped: {e}")
        return
    reg = demo.load_demo()
    t0 = time.perf_counter()
    prevalence(reg.records, reg.population, index_date="2024-12-31", by=["site_ci5", "sex"])
    print(f"prevalence (1/3/5/10/all years, by site and sex, {len(reg.records):,} records): "
          f"{time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    prevalence(reg.records, reg.population, index_date="2024-12-31", by=["site_ci5", "sex"], adjust_lost=True)
    print(f"  with the lost-to-follow-up adjustment: {time.perf_counter() - t0:.2f} s")
    rec = reg.records[reg.records["included"]]
    cases = rec.groupby(["year", "sex", "age_group"]).size().rename("count").reset_index()
    pop = reg.population.groupby(["year", "sex", "age_group"])["population"].sum().reset_index()
    yearly = pop.merge(cases, how="left").fillna({"count": 0})
    fut = pj.rebase_population(pop[pop["year"] == 2024], demo.load_demo_projection(), base_year=2024,
                               by=["sex"], years=range(2025, 2051))
    obs = pj.five_year_periods(yearly, last_year=2024, value=["count", "population"], by=["sex", "age_group"])
    fp = pj.five_year_periods(fut, last_year=2049, value="population", by=["sex", "age_group"])
    t0 = time.perf_counter()
    for sex in (1, 2):
        pj.nordpred(obs[obs["sex"] == sex], fp[(fp["sex"] == sex) & (fp["period"] > 2024)])
    print(f"Nordpred, 2 sexes x 18 age groups x 3 periods, 5 future periods: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
    demo_timings()

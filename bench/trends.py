"""Benchmark: joinpoint selection (permutation test, 4,499 permutations, up to 3 joinpoints,
30 yearly points; target <= 5 s on 2 cores), the same with sequential early stopping and with
the default maximum for 30 points (5), prevalence and Nordpred on the demo.
Run: python bench/trends.py"""
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


def _time(repeats: int, **kw):
    yr, rate = series()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = joinpoint(yr, rate, **kw)
        times.append(time.perf_counter() - t0)
    return min(times), sorted(times)[len(times) // 2], res


def main(repeats: int = 3) -> float:
    best, med, res = _time(repeats, max_joinpoints=3, selection="permutation", n_permutations=4499,
                           early_stop=False)
    print(f"joinpoint permutation selection, n=30, max 3 joinpoints, all 4499 permutations per test: "
          f"best {best:.2f} s, median {med:.2f} s (target <= 5 s); selected {res.joinpoints}")
    b2, m2, res2 = _time(repeats, max_joinpoints=3)
    print(f"  same with sequential early stopping (default): best {b2:.2f} s, median {m2:.2f} s; "
          f"permutations used {res2.tests['permutations'].tolist()}")
    b3, m3, res3 = _time(repeats)
    print(f"  default maximum for 30 points ({res3.tests['alt_k'].max()} joinpoints), early stopping: "
          f"best {b3:.2f} s, median {m3:.2f} s; selected {res3.joinpoints}")
    b4, m4, _ = _time(1, early_stop=False)
    print(f"  default maximum, all 4499 permutations per test: {b4:.2f} s")
    t0 = time.perf_counter()
    yr, rate = series()
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

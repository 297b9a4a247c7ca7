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


if __name__ == "__main__":
    main()

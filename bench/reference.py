"""The machine's speed, for comparing bench runs: CPU seconds of a fixed piece of work of the kinds
the server does (pandas grouping and merging, numpy arithmetic, Python dictionaries and JSON).

On the demo's 2 shared vCPUs the same code has measured 0.121-0.127 s of server CPU per run in
``bench/load.py`` one morning and 0.135-0.186 s that afternoon (README, issue 12, round 14): the
host, not the code, had changed. The browser, load, rerun and Survival benches print this figure
beside the load average, so that two runs are compared on the same scale: a run whose reference took 30 % longer ran on a machine
30 % slower for this kind of work.

    .venv/bin/python bench/reference.py          # prints the reference (the least of 5 runs, about 0.4 s each)
"""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

ROWS = 1_000_000        # strata rows of the grouped part
GROUPS = (18, 40)       # two keys: age groups x sites, as a rates table
RECORDS = 100_000       # dictionaries built and written as JSON (figure specs, protobuf-like messages)
SEED = 12


def reference_data() -> pd.DataFrame:
    """The fixed input: ``ROWS`` rows of two keys, a count and a population (seeded)."""
    rng = np.random.default_rng(SEED)
    return pd.DataFrame({"age": rng.integers(0, GROUPS[0], ROWS), "site": rng.integers(0, GROUPS[1], ROWS),
                         "count": rng.poisson(3.0, ROWS).astype(float), "pop": rng.uniform(1e3, 1e5, ROWS)})


def reference_work(data: pd.DataFrame) -> dict[str, int]:
    """The fixed work on :func:`reference_data`; returns what it computed: the number of (site, age)
    groups, the total count (the last of the running sums) and the length of the JSON written."""
    g = data.groupby(["site", "age"], sort=True)[["count", "pop"]].sum().reset_index()
    g["rate"] = g["count"] / g["pop"] * 1e5
    wide = g.pivot_table(index="site", columns="age", values="rate")
    merged = g.merge(wide.mean(axis=1).rename("mean").reset_index(), on="site", how="left")
    x = np.cumsum(np.bincount(data["age"].to_numpy() * GROUPS[1] + data["site"].to_numpy(),
                              weights=data["count"].to_numpy()))
    records = [{"x": i, "y": float(v), "name": f"trace {i % 40}", "marker": {"size": i % 7}}
               for i, v in enumerate(np.resize(merged["mean"].to_numpy(), RECORDS))]
    text = json.dumps(records)
    return {"groups": len(g), "total": int(round(x[-1])), "json_chars": len(text)}


def reference_seconds(repeats: int = 5) -> float:
    """CPU seconds of :func:`reference_work`, the least of ``repeats`` runs (the input is made once,
    outside the timing)."""
    data = reference_data()
    best = float("inf")
    for _ in range(repeats):
        c0 = time.process_time()
        reference_work(data)
        best = min(best, time.process_time() - c0)
    return best


def reference_text(*seconds: float) -> str:
    """Reference figures as the benches print them: ``seconds`` (before and after a run), or a
    measurement made now."""
    seconds = seconds or (reference_seconds(),)
    when = " before and after" if len(seconds) > 1 else ""
    return (f"reference work{when} {', '.join(f'{x:.3f}' for x in seconds)} s of CPU "
            "(bench/reference.py: the machine's speed)")


if __name__ == "__main__":
    print(reference_text())

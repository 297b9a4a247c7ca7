"""Benchmark: a synthetic country of 3,000 areas (a 60 x 50 grid of square polygons, 18 age
groups, 2 sexes) -> queen weights, all regional measures (ASR, SIR, global and local EB smoothing,
P(RR > 1)), EB Moran's I with 999 permutations and LISA. Target (issue 6): <= 3 s for measures,
smoothing and Moran's I.

Second part: the Regional maps page on the demo's 78 districts, server side, through Streamlit's
AppTest (target <= 500 ms per re-render after the first run; AppTest's own polling adds up to
~0.1 s, so the figure is an upper bound). ``--no-page`` skips it.

Run: ``.venv/bin/python bench/maps.py [n_cols n_rows] [--no-page]``
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from shapely.geometry import box  # noqa: E402

from analytics import schema, spatial  # noqa: E402


def synthetic_country(nx: int = 60, ny: int = 50, seed: int = 1):
    rng = np.random.default_rng(seed)
    codes = [f"A{k:05d}" for k in range(nx * ny)]
    regions = gpd.GeoDataFrame({schema.REGION: codes},
                               geometry=[box(i, j, i + 1, j + 1) for j in range(ny) for i in range(nx)],
                               crs=3857)
    ages = schema.AGE_GROUPS
    base = 1e-5 * np.exp(0.09 * np.arange(len(ages)))            # age-specific rates
    size = rng.lognormal(8, 1.2, nx * ny)                        # persons per age group
    risk = np.exp(0.3 * np.sin(np.arange(nx * ny) / 150))        # smooth regional gradient
    grid = pd.MultiIndex.from_product([codes, ages, [1, 2]], names=[schema.REGION, schema.AGE_GROUP, schema.SEX])
    pop = pd.DataFrame(index=grid).reset_index()
    n_age = len(ages)
    pop[schema.POPULATION] = np.repeat(size, n_age * 2) * 5      # five years
    lam = pop[schema.POPULATION].to_numpy() * np.tile(np.repeat(base, 2), nx * ny) * np.repeat(risk, n_age * 2)
    counts = pop[[schema.REGION, schema.AGE_GROUP, schema.SEX]].copy()
    counts[schema.COUNT] = rng.poisson(lam)
    return regions, counts, pop


def main(nx: int = 60, ny: int = 50) -> dict[str, float]:
    regions, counts, pop = synthetic_country(nx, ny)
    t = {}
    t0 = time.perf_counter()
    w = spatial.contiguity_weights(regions)
    t["weights"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = spatial.regional_measures(counts, pop, w=w)
    t["regional_measures (incl. global+local EB)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = spatial.moran(m["cases"], w, population=m["person_years"], permutations=999)
    t["EB Moran's I, 999 permutations"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    spatial.lisa(m.set_index(schema.REGION)["smoothed"], w, permutations=999)
    t["LISA, 999 permutations"] = time.perf_counter() - t0
    core = t["regional_measures (incl. global+local EB)"] + t["EB Moran's I, 999 permutations"]
    print(f"areas: {w.n}, cases: {int(m['cases'].sum())}, EB Moran I = {res.I:.3f} (p = {res.p_value:.3f})")
    for k, v in t.items():
        print(f"{k:45s} {v:6.2f} s")
    print(f"{'measures + smoothing + Moran (target <= 3 s)':45s} {core:6.2f} s  "
          f"{'OK' if core <= 3 else 'TOO SLOW'}")
    return t


def page_rerender(repeats: int = 5) -> dict[str, float]:
    """Median seconds of a re-render of pages/maps.py: unchanged, new class scheme, new measure."""
    import warnings

    from streamlit.testing.v1 import AppTest
    warnings.simplefilter("ignore")
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=300).run()
    t0 = time.perf_counter()
    at.switch_page("pages/maps.py").run()
    first = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    out = {"first render (cold caches, incl. LISA)": first}
    steps = {
        "re-render, nothing changed": lambda i: at.run(),
        "re-render, class scheme changed": lambda i: at.selectbox(key="p_map_scheme").select(
            ["quantiles", "fisher_jenks", "equal_interval", "ratio"][i % 4]).run(),
        "re-render, measure changed": lambda i: at.selectbox(key="p_map_measure").select(
            ["sir", "smoothed", "asr", "prob_gt_1"][i % 4]).run(),
        "re-render, SIR reference changed": lambda i: at.radio(key="p_map_ref").set_value(
            ["economic", "national"][i % 2]).run(),
    }
    for name, step in steps.items():
        times = []
        for i in range(repeats):
            t0 = time.perf_counter()
            step(i)
            times.append(time.perf_counter() - t0)
        out[name] = float(np.median(times))
    for k, v in out.items():
        flag = "" if k.startswith("first") else ("OK" if v <= 0.5 else "TOO SLOW")
        print(f"{k:45s} {v:6.2f} s  {flag}")
    return out


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:] if a.isdigit()][:2]
    main(*args)
    if "--no-page" not in sys.argv:
        page_rerender()

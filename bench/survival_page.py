"""What a new selection costs the Survival page's server, call by call, without a browser: the
page's cached computations (``app_support.cache``: the by-site table's worker job started first,
then the curves, the age-standardised curve and the actuarial table on this thread, then the wait
for the by-site table) after each of ``bench/app.py``'s Survival steps that changes the selection,
in its order, on the demo, in one fresh process with an empty cache: a step whose fits an earlier
step made costs nothing, as in the dashboard (the default selection is made by its warm-up).

Per step: wall time, this process's CPU per call and the CPU of the worker processes (the by-site
table's four stratifications); at the end, the helper processes' resident memory. On 2 cores the
two run side by side; in the dashboard the browser shares the same cores (``bench/app.py``'s
browser column), so these are lower bounds of what a step costs there.

    .venv/bin/python bench/survival_page.py [--method pohar_perme] [--approach period]
"""
from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from proc_cpu import descendants_cpu, descendants_rss_mb  # noqa: E402
from reference import reference_text  # noqa: E402 - the machine's speed (bench/reference.py)


def selections(f0, options: dict) -> list[tuple[str, object]]:
    """(label, filters) after each of bench/app.py's filter steps that changes the selection (its
    language and standard steps change no fit), in its order: the site and region by the same
    positions in the lists as the bench picks them."""
    from dataclasses import replace

    site, region = options["ci5"][3], options["er"][2]
    out, f = [("default", f0)], f0
    for label, change in (("sex: women", dict(sex="female")), ("period: start -1 year", dict(y0=f0.y0 - 1)),
                          (f"site: {site}", dict(site=site)), ("sex: men", dict(sex="male")),
                          (f"region: {region}", dict(er=region)), ("site: all sites", dict(site=f0.site)),
                          ("region: all", dict(er="all")), ("sex: both", dict(sex="both")),
                          ("period: start +1 year", dict(y0=f0.y0))):
        f = replace(f, **change)
        out.append((label, f))
    return out


def step(ds, f, *, method: str, approach: str, group: str = "sex") -> dict[str, float]:
    """The page's calls for one selection; CPU seconds of this process per call, worker CPU, wall."""
    from app_support import cache

    out: dict[str, float] = {}
    calls = [("start by-site job", lambda: cache.start_survival_by_site(ds, f, method, approach, False)),
             ("curves", lambda: cache.survival_curves(ds, f, group, method, approach, method != "observed", False)),
             ("standardised", lambda: cache.survival_standardised(ds, f, group, method, approach, False)),
             ("actuarial", lambda: cache.survival_actuarial(ds, f, group, approach, False)),
             ("wait for by-site", lambda: cache.survival_by_site(ds, f, method, approach, False))]
    w0, k0 = time.perf_counter(), descendants_cpu()
    for name, call in calls:
        c0 = time.process_time()
        call()
        out[name] = time.process_time() - c0
    out["workers"] = descendants_cpu() - k0
    out["wall"] = time.perf_counter() - w0
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="pohar_perme", choices=["pohar_perme", "ederer2", "observed"])
    ap.add_argument("--approach", default="period", choices=["period", "cohort", "complete"])
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    from app_support import cache, filters, state
    from app_support.filters import Filters

    ds = state._demo_dataset()            # noqa: SLF001 - the demo as the app loads it, outside Streamlit
    options = cache.filter_options(ds)
    _, ymax = options["years"]
    f0 = Filters(y0=ymax - 4, y1=ymax, sex="both", scheme="ci5", site=filters.ALL_SITES, er="all", district="all",
                 a0=0, a1=85, std="world_segi1960", ci="tiwari", conf="95", public=False, lang="en", theme="light")
    print(f"Survival page, {args.method}, {args.approach} approach; CPU seconds of this process per call, "
          f"of the worker processes, and wall seconds; {reference_text()}")
    for label, f in selections(f0, options):
        r = step(ds, f, method=args.method, approach=args.approach)
        calls = ", ".join(f"{k} {v:.2f}" for k, v in r.items() if k not in ("workers", "wall"))
        print(f"  {label:<24} wall {r['wall']:.2f}  workers {r['workers']:.2f}  ({calls})", flush=True)
    print("resident memory afterwards (MB): this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} at most; its helper processes "
          + ", ".join(f"{m:.0f}" for m in descendants_rss_mb()))
    return 0


if __name__ == "__main__":       # the worker processes start from a fork server: guarded
    sys.exit(main())

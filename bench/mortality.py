"""Benchmark: mortality through the incidence engine, from the demo registry (Azerbaijan, 225,628
tumours, 72,992 rows of vital-statistics deaths, 78 districts x 2000-2024).

1. ``mortality.mortality_events`` from the deaths table (site groups, exclusions with reasons);
2. the same derived from the registry's records (no deaths table: cause of death matched to the
   patient's tumours);
3. the cube on the deaths (``cube.build_cube``) and the mortality ASR with Tiwari limits for every
   district x year x sex x site group (``rates.dsr``, world standard) — what the measure switch
   and the maps need; and the M:I ratio by site, district and year (``mortality.mi_ratio``).

CPU time (``time.process_time``, best of ``--repeat``) is the figure that holds on a shared machine;
the load average is printed beside it. Run: ``.venv/bin/python bench/mortality.py [--repeat 3]``.
Figure: README, section Mortality.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import cube, demo, mortality, rates  # noqa: E402
from analytics import schema as S  # noqa: E402

SITE_COLUMN = "site_ci5"


def best(fn, repeat: int):
    """(best CPU seconds, result) over ``repeat`` runs."""
    out, t_best = None, float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        t_best = min(t_best, time.process_time() - t0)
    return t_best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    reg = demo.load_demo()
    regions = reg.population[S.REGION].unique()
    years = reg.population[S.YEAR].unique()
    parents = {}      # districts only (no economic-region axis needed here)
    t1, me = best(lambda: mortality.mortality_events(reg.records, SITE_COLUMN, deaths=reg.deaths, regions=regions,
                                                     years=years), a.repeat)
    t2, mr = best(lambda: mortality.mortality_events(reg.records, SITE_COLUMN, regions=regions, years=years), a.repeat)

    def asr_everything():
        c = cube.build_cube(me.events, reg.population, parents)
        sel = cube.Selection(years=(int(min(years)), int(max(years))))
        data = c.select(sel, by=(S.YEAR, S.SEX, S.REGION, cube.SITE))
        return rates.dsr(data, by=[S.YEAR, S.SEX, S.REGION, cube.SITE])

    t3, asr = best(asr_everything, a.repeat)
    sel = cube.Selection(years=(int(min(years)), int(max(years))))
    t4, mi = best(lambda: [mortality.mi_ratio(reg.records, me, SITE_COLUMN, sel, by)
                           for by in (("site",), (S.REGION,), (S.YEAR,))], a.repeat)
    load = os.getloadavg()[0]
    deaths = int(reg.deaths[S.COUNT].sum())
    print(f"demo: {len(reg.records):,} tumours, {len(reg.deaths):,} deaths-table rows ({deaths:,} deaths)")
    print(f"1. mortality_events from the deaths table:      {t1:6.2f} s CPU")
    print(f"2. mortality_events from the registry records:  {t2:6.2f} s CPU ({int(mr.events['count'].sum()):,} deaths)")
    print(f"3. cube + mortality ASR (Tiwari), {len(asr):,} district x year x sex x site strata: {t3:6.2f} s CPU")
    print(f"4. M:I by site, district and year:              {t4:6.2f} s CPU ({sum(len(m) for m in mi):,} ratios)")
    print(f"best of {a.repeat}; load average {load:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

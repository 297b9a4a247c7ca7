"""Benchmark and audit: the attacker of tests/test_disclosure_attack.py on the whole demo registry.

Public output publishes, for every year x age group (or unknown age), the perturbed count of each
node of the three hierarchies the dashboard selects by: sex (men, women, both sexes), region
(78 districts, 10 economic regions, the country) and site (41 site groups, all sites, all but
C44); every public count is a sum of these base cells (tests/test_disclosure_attack.py checks
this view by view). Here the attacker is given every base cell of the demo — 15 years x 19 age
groups x 3 x 89 x 43 = 3.3 million published values — with the noise bound, and tries to pin
each small count (1 to k-1): every atom (year x age group x sex x district x site) and every
base cell. Slices (one year and one age group) are independent problems.

Also: the accuracy of public output (published minus true) for typical counts.

Run: ``.venv/bin/python bench/disclosure_attack.py [--years 2024] [--ages 60-64,65-69]``
"""
from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import sparse  # noqa: E402

from analytics import cube as C  # noqa: E402
from analytics import demo  # noqa: E402
from analytics import schema as S  # noqa: E402
from analytics.disclosure import DisclosureRule, PerturbedCube, audit  # noqa: E402

UNKNOWN = C.UNKNOWN_AGE


def published_nodes(pc: PerturbedCube, years: tuple[int, int], sites: list[str]) -> pd.DataFrame:
    """Every base cell of the period: year, age, sex node, region node, site node, published."""
    out = []
    sel = C.Selection(years=years)
    for sexnode, region_by, sitenode in itertools.product(("1", "2", "both"), (S.REGION, S.PARENT, None),
                                                           ("site", C.ALL_SITES, C.ALL_BUT_C44)):
        by = [S.YEAR] + ([S.SEX] if sexnode != "both" else []) + ([region_by] if region_by else []) \
            + (["site"] if sitenode == "site" else [])
        s = sel if sitenode == "site" else sel.replace(site=sitenode)
        d = pc.select(s, by)
        if sexnode != "both":
            d = d[d[S.SEX] == int(sexnode)]
        d = d.assign(sexnode=sexnode, region=d[region_by] if region_by else "country",
                     sitenode=d["site"] if sitenode == "site" else sitenode,
                     age=d[S.AGE_GROUP].fillna(UNKNOWN))
        out.append(d[[S.YEAR, "age", "sexnode", "region", "sitenode", S.COUNT]])
    return pd.concat(out, ignore_index=True)


def slice_release(atoms: pd.DataFrame, nodes: pd.DataFrame, parents: dict, sites: list[str], c44: set,
                  max_noise: int):
    """The attacker's problem of one year and age group (atoms: sex x district x site)."""
    districts = sorted(parents)
    grid = pd.MultiIndex.from_product([[1, 2, 9], districts, sites], names=[S.SEX, S.REGION, "site"])
    truth = atoms.reindex(grid, fill_value=0).to_numpy(float)
    g = grid.to_frame(index=False)
    er = g[S.REGION].map(parents).to_numpy()
    value = dict(zip(zip(nodes["sexnode"], nodes["region"], nodes["sitenode"]), nodes[S.COUNT]))
    rows, cols, names = [], [], {}
    atom = np.arange(len(g))
    for sexnode in ("1", "2", "both"):
        m_sex = np.ones(len(g), bool) if sexnode == "both" else g[S.SEX].to_numpy() == int(sexnode)
        for region in (g[S.REGION].to_numpy(), er, np.full(len(g), "country", dtype=object)):
            for sitenode in ("site", C.ALL_SITES, C.ALL_BUT_C44):
                m = m_sex & (~g["site"].isin(c44).to_numpy() if sitenode == C.ALL_BUT_C44 else True)
                site = g["site"].to_numpy() if sitenode == "site" else np.full(len(g), sitenode, dtype=object)
                for r, st, a in zip(region[m], site[m], atom[m]):
                    rows.append(names.setdefault((sexnode, r, st), len(names)))
                    cols.append(a)
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(g)))
    published = np.array([value.get(k, 0) for k in names], dtype=float)
    lo, hi = audit.perturbed_bounds(published, max_noise)
    return audit.Release(matrix, lo, hi, truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", default="", help="comma-separated years (default: all)")
    ap.add_argument("--ages", default="", help="comma-separated age groups (default: all and unknown)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    reg = demo.load_demo()
    geo = demo.load_demo_regions()
    parents = dict(zip(geo[S.REGION], geo[S.PARENT]))
    rule = DisclosureRule.from_env(k=10)
    rec = reg.records[reg.records[S.INCLUDED].fillna(False).astype(bool)]
    rec = rec.assign(key_sum=rule.keys_of(rec, reference=reg.records))
    events = C.events_from_records(rec, S.SITE_CI5, key="key_sum")
    pc = PerturbedCube(C.build_cube(events, reg.population, parents), rule)
    sites = [str(s) for s in pc.sites]
    c44 = {str(s) for s in pc.c44_sites}
    years = sorted(int(y) for y in rec[S.YEAR].dropna().unique())
    if args.years:
        years = [int(y) for y in args.years.split(",")]
    ages = args.ages.split(",") if args.ages else list(S.AGE_GROUPS) + [UNKNOWN]
    t_build = time.perf_counter() - t0
    nodes = published_nodes(pc, (min(years), max(years)), sites)
    t_nodes = time.perf_counter() - t0 - t_build
    atoms = pd.DataFrame({
        S.YEAR: rec[S.YEAR].astype(int).to_numpy(),
        "age": rec[S.AGE_GROUP].astype(object).fillna(UNKNOWN).astype(str).to_numpy(),
        S.SEX: rec[S.SEX].astype("Float64").fillna(9).astype(int).to_numpy(),
        S.REGION: rec[S.REGION].astype(str).to_numpy(),
        "site": rec[S.SITE_CI5].astype(str).to_numpy()}).groupby([S.YEAR, "age", S.SEX, S.REGION, "site"]).size()
    tested = pinned = slices = 0
    t1 = time.perf_counter()
    for year, age in itertools.product(years, ages):
        part = nodes[(nodes[S.YEAR] == year) & (nodes["age"] == age)]
        try:
            a = atoms.loc[(year, age)]
        except KeyError:
            continue
        rel = slice_release(a, part, parents, sites, c44, rule.max_noise)
        totals = rel.cells @ rel.truth
        small_cells = np.flatnonzero((totals > 0) & (totals < rule.k))
        small_atoms = np.flatnonzero((rel.truth > 0) & (rel.truth < rule.k))
        targets = sparse.vstack([rel.cells[small_cells], sparse.csr_matrix(
            (np.ones(len(small_atoms)), (np.arange(len(small_atoms)), small_atoms)),
            shape=(len(small_atoms), rel.cells.shape[1]))]).tocsr()
        found = audit.recovered(rel, targets)
        tested += targets.shape[0]
        pinned += int(found.sum())
        slices += 1
        if found.any():
            print(f"  {year} {age}: {int(found.sum())} pinned")
    t_attack = time.perf_counter() - t1
    # accuracy of public output for the counts the pages show
    true_cube = pc.cube
    sel = C.Selection(years=(2020, 2024))
    acc = []
    for by in [(), (S.SEX, "site"), (S.REGION,), (S.SEX, "site", S.AGE_GROUP)]:
        b = [c for c in by if c != S.AGE_GROUP]
        pub = pc.select(sel, b).fillna({S.AGE_GROUP: UNKNOWN})
        tru = true_cube.select(sel, b).drop(columns=["key_sum"]).fillna({S.AGE_GROUP: UNKNOWN})
        keys = b + [S.AGE_GROUP]
        if S.AGE_GROUP not in by:
            pub, tru = (d.groupby(b, observed=True)[S.COUNT].sum().reset_index() if b else
                        pd.DataFrame({S.COUNT: [d[S.COUNT].sum()]}) for d in (pub, tru))
            keys = b
        m = tru.merge(pub, on=keys, suffixes=("", "_pub")) if keys else tru.assign(count_pub=pub[S.COUNT].iloc[0])
        diff = (m["count_pub"] - m[S.COUNT]).abs()
        acc.append((", ".join(by) or "national total", len(m), float(m[S.COUNT].median()), float(diff.median()),
                    float(diff.quantile(0.95)), float((diff / m[S.COUNT].where(m[S.COUNT] > 0)).median())))
    print(f"rule: {rule.fingerprint} (k = {rule.k}, noise bound {rule.max_noise}, variance {rule.variance:g})")
    print(f"cube with record keys: {t_build:.1f} s; all published base cells ({len(nodes):,}): {t_nodes:.1f} s")
    print(f"attack: {slices} slices, {tested:,} small cells and atoms tested, {pinned} pinned, {t_attack:.1f} s")
    print("accuracy 2020-2024 (published - true): view, cells, median count, median |diff|, 95th pct |diff|,"
          " median relative |diff|")
    for row in acc:
        print(f"  {row[0]:<28} {row[1]:>7,} {row[2]:>10.0f} {row[3]:>8.1f} {row[4]:>8.1f} {row[5]:>8.3%}")


if __name__ == "__main__":
    main()

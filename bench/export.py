"""Figure exports timed directly, without a browser session: what ``analytics.export`` costs.

    .venv/bin/python bench/export.py [--repeats 6] [--gap 0.5] [--json out.json]

On bar charts of the demo's ten commonest sites (one per year, the size of the Overview's top 10):

* PNG of one chart at the dashboard's default export (1200 x 675 layout, 300 dpi at 170 mm),
  repeated with ``--gap`` seconds between clicks as a user would: wall time, the export
  browser's CPU (Chromium's processes, from /proc) and, inside kaleido, the time drawing the
  figure and the time reloading the tab afterwards (kaleido reloads every tab after a figure;
  the export server now returns the image before that reload);
* the same PNG from the process's image store (``app_support.cache.figure_image``);
* an 8-slide deck: every slide drawn at download (``build_presentation``), and assembled from
  slide images drawn beforehand (``slide_images``, what "Add to presentation" starts in the
  background).

Timings scale with the machine's load: the load average is printed; compare CPU seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def chromium_cpu() -> float:
    """CPU seconds (user + system) so far of the Chromium processes this process started (the
    export browser), not of other users' browsers on a shared machine."""
    stats, tick = {}, os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                name, rest = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)
            except (OSError, ValueError):
                continue
            fields = rest.split()
            stats[int(pid)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))

    def ours(pid: int) -> bool:
        while pid in stats and pid > 1:
            if pid == os.getpid():
                return True
            pid = stats[pid][1]
        return False
    return sum(ticks for pid, (name, _, ticks) in stats.items() if "chrom" in name and ours(pid)) / tick


def overview_figures(n: int):
    """``n`` bar charts of the demo's ten commonest sites, one per year (the size of the
    Overview's top-10 chart)."""
    import plotly.graph_objects as go

    from analytics import schema as S
    from app_support import state

    ds = state.demo_dataset()
    rec = ds.records
    years = sorted(rec[S.YEAR].unique())
    out = []
    for i in range(n):
        sub = rec[rec[S.YEAR] == years[i % len(years)]]
        counts = sub.groupby(S.SITE_CI5, observed=True).size().sort_values(ascending=False).head(10)
        fig = go.Figure(go.Bar(x=counts.to_numpy(), y=counts.index.astype(str), orientation="h"))
        fig.update_layout(title=f"Top sites, {years[i % len(years)]}")
        out.append(fig)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--gap", type=float, default=0.5, help="seconds between two PNG exports")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from kaleido._kaleido_tab import _tab

    from analytics import export
    from analytics.charts.base import Provenance
    from app_support import cache

    inner = {"draw": [], "reload": []}
    draw, reload = _tab._KaleidoTab._calc_fig, _tab._KaleidoTab.reload

    async def timed_draw(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return await draw(self, *a, **k)
        finally:
            inner["draw"].append(time.perf_counter() - t0)

    async def timed_reload(self):
        t0 = time.perf_counter()
        try:
            return await reload(self)
        finally:
            inner["reload"].append(time.perf_counter() - t0)
    _tab._KaleidoTab._calc_fig, _tab._KaleidoTab.reload = timed_draw, timed_reload

    load0 = os.getloadavg()
    print(f"load average {tuple(round(x, 1) for x in load0)} on {os.cpu_count()} cores", flush=True)
    figs = overview_figures(max(args.repeats, 8))
    prov = Provenance(source="Demo registry", period="2015-2024", standard="Segi 1960 world", method="Tiwari 95% CI")
    t0 = time.perf_counter()
    export.warm_up(wait=True)
    print(f"export browser started in {time.perf_counter() - t0:.1f} s", flush=True)
    out: dict = {"load_before": load0}
    try:
        inner["draw"].clear()
        inner["reload"].clear()
        walls, cpus = [], []
        for fig in figs[:args.repeats]:
            time.sleep(args.gap)
            c0, t0 = chromium_cpu(), time.perf_counter()
            export.figure_to_image(fig, "png", width=1200, height=675, provenance=prov)
            walls.append(time.perf_counter() - t0)
            cpus.append(chromium_cpu() - c0)
        out["png"] = {"wall_median": statistics.median(walls), "wall_max": max(walls),
                      "chromium_cpu_median": statistics.median(cpus),
                      "draw_median": statistics.median(inner["draw"]),
                      "reload_median": statistics.median(inner["reload"]) if inner["reload"] else None}
        print("PNG 1200x675 @300 dpi: wall median {wall_median:.3f} s (max {wall_max:.3f}), Chromium CPU "
              "{chromium_cpu_median:.2f} s; in kaleido: drawing {draw_median:.3f} s, tab reload "
              "{reload_median:.3f} s (after the image is returned)".format(**out["png"]), flush=True)

        cache.figure_image("bench", figs[0], "png", 1200, 675, None, prov, "en")
        t0 = time.perf_counter()
        cache.figure_image("bench", figs[0], "png", 1200, 675, None, prov, "en")
        out["png_stored"] = time.perf_counter() - t0
        print(f"same PNG again (process image store): {out['png_stored'] * 1000:.1f} ms", flush=True)

        slides = [export.Slide(f, title=f"Chart {i}", reading="One line.", provenance=prov) for i, f in enumerate(figs[:8])]
        c0, t0 = chromium_cpu(), time.perf_counter()
        export.build_presentation(slides)
        out["deck_drawn"] = {"wall": time.perf_counter() - t0, "chromium_cpu": chromium_cpu() - c0}
        c0, t0 = chromium_cpu(), time.perf_counter()
        images = export.slide_images([s.figure for s in slides])
        drawn = time.perf_counter() - t0
        for s, img in zip(slides, images):
            s.image = img
        t0 = time.perf_counter()
        export.build_presentation(slides)
        out["deck_assembled"] = {"wall": time.perf_counter() - t0, "images_drawn_before": drawn,
                                 "chromium_cpu": chromium_cpu() - c0}
        print("8-slide deck: drawn at download {wall:.2f} s (Chromium CPU {chromium_cpu:.2f} s)".format(**out["deck_drawn"]))
        print("8-slide deck from images drawn beforehand: {wall:.3f} s to assemble (the 8 images took "
              "{images_drawn_before:.2f} s, spread over the clicks on \"Add to presentation\")".format(**out["deck_assembled"]))
    finally:
        export.stop_export_server()
    out["load_after"] = os.getloadavg()
    print(f"load average after {tuple(round(x, 1) for x in out['load_after'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

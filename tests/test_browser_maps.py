"""The regional map draws in a real browser with the network cut off.

Every request that does not go to the local Streamlit server is aborted (and recorded), so a
map that needed a CDN base map, tiles or a style JSON would come out blank. The screenshot of
the map must show the diverging class colours over a large area, i.e. polygons were filled; the
base-map TopoJSON plotly.js asks for comes from the app's static folder."""
from __future__ import annotations

import io

import numpy as np
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


REGIONS = "path.choroplethlocation"      # the SVG regions of plotly's geo map
TOPOJSON = "/app/static/topojson/world_110m.json"


def _offline(page: Page, app_url: str, served: list[str] | None = None) -> list[str]:
    blocked: list[str] = []

    def handle(route):
        url = route.request.url
        if url.startswith(app_url) or url.startswith("ws://127.0.0.1") or url.startswith("data:") or url.startswith("blob:"):
            if served is not None:
                served.append(url)
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    page.context.route("**/*", handle)
    return blocked


def test_map_draws_polygons_offline(page: Page, app_url: str, screenshots):
    from PIL import Image

    served: list[str] = []
    blocked = _offline(page, app_url, served)
    page.goto(f"{app_url}/maps?map_measure=smoothed&map_scheme=ratio", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Regional maps")).to_be_visible(timeout=60_000)
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=60_000)
    expect(chart.locator(REGIONS).first).to_be_attached(timeout=30_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(1000)
    assert chart.locator(REGIONS).count() >= 78                             # every district (some in parts)
    assert not chart.locator("canvas").count()                              # no WebGL map
    assert [u for u in served if u.endswith(TOPOJSON)], served
    png = chart.screenshot(path=str(screenshots / "maps_offline.png"))
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    from analytics.charts.maps import DIVERGING
    colours = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in DIVERGING])
    dist = np.abs(img[:, :, None, :] - colours[None, None, :, :]).max(axis=-1)   # H x W x classes
    filled = (dist <= 4).any(axis=-1)
    tinted = (dist[..., [0, 1, 2, 4, 5, 6]] <= 4).any(axis=-1)                  # all classes but the near-white
    # the country covers a good part of the chart; white background alone would give 0
    assert filled.mean() > 0.10, filled.mean()
    assert tinted.sum() > 2000, tinted.sum()
    # nothing the page needed came from outside: only browser-internal noise may have been blocked
    assert not [u for u in blocked if "plot.ly" in u or "carto" in u or "mapbox" in u or "tile" in u], blocked


def test_risk_factor_maps_draw_side_by_side(page: Page, app_url: str, screenshots):
    """Both linked maps of the Risk factors page draw offline, the highlighted region outlined."""
    from PIL import Image

    blocked = _offline(page, app_url)
    page.goto(f"{app_url}/risk_factors?rf_region=AZE-1676", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Risk factors and cancer")).to_be_visible(timeout=60_000)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.nth(1)).to_be_visible(timeout=60_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    expect(charts.nth(1).locator(REGIONS).first).to_be_attached(timeout=30_000)
    page.wait_for_timeout(1000)
    for i, name in ((0, "rf_factor"), (1, "rf_sir")):
        png = charts.nth(i).screenshot(path=str(screenshots / f"risk_factors_{name}_offline.png"))
        img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
        coloured = (img.max(axis=-1) - img.min(axis=-1)) > 25              # any saturated fill
        dark = img.max(axis=-1) < 40                                         # the black outline
        assert coloured.mean() > 0.05, (name, coloured.mean())
        assert dark.sum() > 100, (name, dark.sum())
    assert not [u for u in blocked if "plot.ly" in u or "carto" in u or "mapbox" in u or "tile" in u], blocked


def test_click_on_either_map_selects_region_on_both(page: Page, app_url: str, screenshots):
    """Linked selection: a click on a region of the risk-factor map puts that region in the URL
    and the selectbox, and outlines it on the SIR map too (and the other way round)."""
    from PIL import Image

    _offline(page, app_url)
    page.goto(f"{app_url}/risk_factors", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Risk factors and cancer")).to_be_visible(timeout=60_000)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.nth(1).locator(REGIONS).first).to_be_attached(timeout=60_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(1000)
    assert "rf_region=none" in page.url or "rf_region" not in page.url
    picked = []
    for i in (0, 1):
        box = charts.nth(i).locator("g.geolayer").first.bounding_box()
        # the middle of the map is inside the country; shift a little per map to pick two regions
        page.mouse.click(box["x"] + box["width"] * (0.5 + 0.08 * i), box["y"] + box["height"] * 0.5)
        page.wait_for_url(lambda u: "rf_region=AZE" in u and all(p not in u for p in picked), timeout=30_000)
        code = page.url.split("rf_region=")[1].split("&")[0]
        picked.append(code)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        for j in (0, 1):   # the clicked region is outlined in black on both maps (drawn within 10 s)
            dark = 0
            for _ in range(20):
                png = charts.nth(j).screenshot(path=str(screenshots / f"risk_factors_click{i}_map{j}.png"))
                dark = (np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).max(axis=-1) < 40).sum()
                if dark > 100:
                    break
                page.wait_for_timeout(500)
            assert dark > 100, (i, j)
    assert len(set(picked)) == 2

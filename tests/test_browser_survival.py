"""The Survival page in a real browser (Debian chromium, Playwright): heading, the curves drawn as
SVG steps with their confidence bands, the age-standardised curves, the actuarial life table, the
reading, the page controls kept in the URL; a control changed by the user; the CSV download."""
from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from analytics import demo, survival
from analytics.i18n import t
from analytics.survival import registry

pytestmark = pytest.mark.browser


def _ready(page: Page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)


def test_survival_page_draws_curves_and_reading(page: Page, app_url: str, screenshots):
    page.goto(f"{app_url}/survival?sv_by=sex&sv_time=5&y0=2020&y1=2024", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Survival")).to_be_visible(timeout=180_000)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.nth(3)).to_be_visible(timeout=180_000)
    _ready(page)
    traces = charts.first.locator("g.scatterlayer .trace")
    expect(traces.first).to_be_attached()
    assert traces.count() >= 6             # men and women: band, net curve, observed curve
    # the age-standardised curves: men and women, each a CI band, the curve and the crude curve
    expect(charts.nth(1).locator("g.scatterlayer .trace").first).to_be_attached()
    assert charts.nth(1).locator("g.scatterlayer .trace").count() == 6
    assert charts.nth(2).locator("g.scatterlayer .trace .point").count() >= 20   # actuarial: 2 x 10 intervals
    assert charts.nth(3).locator("g.barlayer .point").count() >= 10          # survival by site
    expect(page.get_by_text("age-standardised (ICSS)", exact=False).first).to_be_visible()
    expect(page.get_by_text("5-year net survival for women", exact=False).first).to_be_visible()
    expect(page.get_by_text("Men: follow-up completeness (Clark's C)", exact=False).filter(visible=True).first).to_be_visible()
    charts.first.screenshot(path=str(screenshots / "survival_curves.png"))
    assert "sv_by=sex" in page.url and "sv_method=pohar_perme" in page.url and "sv_approach=period" in page.url
    # a page control changed by the user (the method: Ederer II) reruns the page, goes into the URL and
    # changes the reading; the CSV of the curves is analytics.survival on the same patients
    box = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text=t("survival.ctrl.method", "en"))
    box.click()
    page.get_by_role("option", name=t("survival.method.ederer2", "en"), exact=True).click()
    expect(page.get_by_text("5-year relative survival for women", exact=False).first).to_be_visible(timeout=180_000)
    _ready(page)
    page.wait_for_function("() => location.search.includes('sv_method=ederer2')", timeout=30_000)
    with page.expect_download(timeout=90_000) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="CSV").first.click()
    got = pd.read_csv(dl.value.path())
    r = demo.load_demo().records
    data, _ = registry.survival_data(r[(r["year"].astype(float) <= 2024).fillna(False)])
    want = survival.net_survival(data, demo.load_demo_lifetable(), times=(1, 3, 5, 10), method="ederer2", by=["sex"],
                                 approach="period", period=(2020, 2024))
    got["sex"] = got["sex"].replace({"Men": 1, "Women": 2}).astype(int)
    m = want.merge(got, on=["sex", "time"], suffixes=("", "_csv"))
    assert len(m) == len(want) == 8
    for col in ("estimate", "lower", "upper"):
        assert (m[col].round(4) - m[f"{col}_csv"]).abs().max() < 1e-9, col


"""The Survival page in a real browser (Debian chromium, Playwright): heading, the curves drawn as
SVG steps with their confidence bands, the reading, the page controls kept in the URL."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _ready(page: Page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)


def test_survival_page_draws_curves_and_reading(page: Page, app_url: str, screenshots):
    page.goto(f"{app_url}/survival?sv_by=sex&sv_time=5&y0=2020&y1=2024", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Survival")).to_be_visible(timeout=180_000)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.nth(1)).to_be_visible(timeout=180_000)
    _ready(page)
    traces = charts.first.locator("g.scatterlayer .trace")
    expect(traces.first).to_be_attached()
    assert traces.count() >= 6             # men and women: band, net curve, observed curve
    assert charts.nth(1).locator("g.barlayer .point").count() >= 10          # survival by site
    expect(page.get_by_text("5-year net survival for women", exact=False).first).to_be_visible()
    expect(page.get_by_text("Men: follow-up completeness (Clark's C)", exact=False).filter(visible=True).first).to_be_visible()
    charts.first.screenshot(path=str(screenshots / "survival_curves.png"))
    assert "sv_by=sex" in page.url and "sv_method=pohar_perme" in page.url and "sv_approach=period" in page.url

"""Trends, Prevalence and Projections render in a real browser (Debian chromium, Playwright):
headings, charts drawn as SVG with data, the URL carrying the page controls, readings shown."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _ready(page: Page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)


def test_trends_page_draws_fit_and_apc(page: Page, app_url: str, screenshots):
    page.goto(f"{app_url}/trends?tr_sel=wbic&tr_by=sex", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Trends", exact=True)).to_be_visible(timeout=90_000)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.nth(1)).to_be_visible(timeout=90_000)
    _ready(page)
    # observed points and the fitted line are drawn (plotly scatter traces in the SVG)
    expect(charts.first.locator("g.scatterlayer .trace").first).to_be_attached()
    assert charts.first.locator("g.scatterlayer .trace").count() >= 4     # men + women, points + fit
    expect(page.get_by_text("Among women,", exact=False).first).to_be_visible()
    charts.first.screenshot(path=str(screenshots / "trends_fit.png"))
    assert "tr_sel=wbic" in page.url and "tr_by=sex" in page.url


def test_prevalence_page_draws_bars(page: Page, app_url: str, screenshots):
    page.goto(f"{app_url}/prevalence?pv_dur=5", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Prevalence", exact=True)).to_be_visible(timeout=90_000)
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=90_000)
    _ready(page)
    assert chart.locator("g.barlayer .point").count() >= 10               # sites x sexes bars
    chart.screenshot(path=str(screenshots / "prevalence_bars.png"))


def test_projections_page_target_year_from_url(page: Page, app_url: str, screenshots):
    page.goto(f"{app_url}/projections?pj_year=2035", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Projections", exact=True)).to_be_visible(timeout=90_000)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.nth(1)).to_be_visible(timeout=90_000)
    _ready(page)
    expect(page.get_by_text("By 2035, about", exact=False).first).to_be_visible()
    charts.nth(1).screenshot(path=str(screenshots / "projections_decomposition.png"))

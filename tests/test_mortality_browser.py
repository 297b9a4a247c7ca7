"""Browser test of the mortality switch and the Incidence vs mortality page: Debian's chromium
through Playwright against ``streamlit run`` (marker ``browser``, conftest.app_url): the pages
render, the switch (a control) changes the numbers and the URL, a CSV download equals the mortality
rates computed by hand from the deaths table."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from analytics import rates
from analytics.i18n import format_number, t
from tests.test_browser_app import MARKS_JS, drawn_charts, open_page, settle

pytestmark = pytest.mark.browser


def metric_value(page: Page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label)
    return box.get_by_test_id("stMetricValue").inner_text()


def test_switch_shows_mortality_keeps_it_in_the_url_and_across_pages(page: Page, app_url: str, browser, screenshots):
    from analytics import demo
    from tests.test_mortality_app import deaths_input

    open_page(page, f"{app_url}/?y0=2020&y1=2024")
    incidence = metric_value(page, t("app.metric.asr", "en"))
    page.get_by_test_id("stMain").get_by_text(t("mortality.measure.mortality", "en"), exact=True).click()
    label = t("mortality.metric.asr", "en")
    expect(page.get_by_test_id("stMetric").filter(has_text=label)).to_have_count(1, timeout=60_000)
    settle(page)
    want = rates.dsr(deaths_input(demo.load_demo(), years=(2020, 2024))).iloc[0]
    shown = metric_value(page, label)
    assert shown == format_number(want["value"], "en", 1) != incidence
    assert parse_qs(urlparse(page.url).query)["measure"] == ["mortality"]
    assert page.get_by_text(t("mortality.overview.per_year", "en")).count() >= 1
    page.wait_for_function(f"(({MARKS_JS})()).filter(m => m > 0).length >= 4", timeout=60_000)
    page.screenshot(path=str(screenshots / "app_overview_mortality.png"))
    # the copied address opens the same view in a fresh browser
    ctx = browser.new_context(viewport={"width": 1500, "height": 2400})
    fresh = ctx.new_page()
    open_page(fresh, page.url)
    assert metric_value(fresh, label) == shown
    ctx.close()
    # the navigation keeps the measure: Trends shows mortality trends
    page.get_by_test_id("stSidebarNav").get_by_text(t("app.page.trends", "en"), exact=True).click()
    page.get_by_role("heading", level=1, name=t("mortality.page.trends", "en")).wait_for(timeout=90_000)
    settle(page)
    assert "measure=mortality" in page.url
    page.wait_for_function(f"(({MARKS_JS})()).filter(m => m > 0).length >= 2", timeout=60_000)
    # and back to incidence with the switch
    page.get_by_test_id("stMain").get_by_text(t("mortality.measure.incidence", "en"), exact=True).click()
    page.get_by_role("heading", level=1, name=t("app.page.trends", "en")).wait_for(timeout=90_000)
    page.wait_for_function("() => location.search.includes('measure=incidence')", timeout=30_000)


def test_incidence_vs_mortality_page_draws_its_charts(page: Page, app_url: str, screenshots):
    import pandas as pd

    from analytics import demo
    from analytics import schema as S
    from tests.test_mortality_app import _site_of

    open_page(page, f"{app_url}/incidence_mortality?y0=2020&y1=2024")
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", level=1).first.inner_text() == t("app.page.incidence_mortality", "en")
    page.wait_for_function(f"(({MARKS_JS})()).filter(m => m > 0).length >= 5", timeout=90_000)
    marks = drawn_charts(page)
    assert len(marks) == 5 and all(m > 0 for m in marks), marks
    page.screenshot(path=str(screenshots / "app_incidence_mortality.png"))
    # the CSV of the men's two-sided bars: the mortality ASR by site from the deaths table, by hand
    with page.expect_download(timeout=90_000) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="CSV").first.click()
    got = pd.read_csv(dl.value.path())
    reg = demo.load_demo()
    d = reg.deaths[reg.deaths[S.YEAR].between(2020, 2024) & (reg.deaths[S.SEX] == S.MALE)]
    deaths = d.assign(site=_site_of(d[S.ICD10])).groupby(["site", S.AGE_GROUP])[S.COUNT].sum()
    p = reg.population[reg.population[S.YEAR].between(2020, 2024) & (reg.population[S.SEX] == S.MALE)]
    pop = p.groupby(S.AGE_GROUP, observed=True)[S.POPULATION].sum().reset_index()
    grid = pop.merge(pd.DataFrame({"site": deaths.index.get_level_values("site").unique()}), how="cross")
    data = grid.merge(deaths.rename("count").reset_index(), on=["site", S.AGE_GROUP], how="left").fillna({"count": 0})
    want = rates.dsr(data, by=["site"])
    m = want.merge(got, on="site")
    assert len(m) >= 20
    assert (m["value"] - m["value_mortality"]).abs().max() < 1e-6
    assert (m["count"] - m["count_mortality"]).abs().max() == 0

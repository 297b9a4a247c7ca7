"""Browser tests: Debian's chromium through Playwright against ``streamlit run`` (marker
``browser``). Few and fast: one server per pytest process (conftest.app_url)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from analytics import rates
from analytics import schema as S
from analytics.i18n import t

pytestmark = pytest.mark.browser
PAGES = ["overview", "incidence", "quality", "data", "methods"]
PATHS = {"overview": ""}   # the default page lives at the root URL
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def settle(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=90_000)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=90_000)


def open_page(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_test_id("stSidebar").wait_for(timeout=90_000)
    page.get_by_test_id("stMain").get_by_role("heading", level=1).wait_for(timeout=90_000)
    # widgets are drawn after their code chunks load: wait for one, so screenshots show them
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.wait_for(timeout=60_000)
    settle(page)


MARKS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
        .map(c => c.querySelectorAll('g.trace .point, g.trace g.slice, g.trace path.js-line').length)"""


def drawn_charts(page: Page) -> list[int]:
    """Per plotly chart: number of drawn SVG marks (bars, lines, treemap tiles)."""
    return page.evaluate(MARKS_JS)


def asr_metric(page: Page) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=t("app.metric.asr", "en"))
    return box.get_by_test_id("stMetricValue").inner_text()


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_and_charts_draw(page: Page, app_url: str, screenshots, name):
    open_page(page, f"{app_url}/{PATHS.get(name, name)}")
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", level=1).first.inner_text() == t(f"app.page.{name}", "en")
    n_charts = {"overview": 4, "incidence": 3, "quality": 2, "data": 0, "methods": 0}[name]
    # each plotly chart has two .main-svg layers, so wait for the drawn marks of every chart
    page.wait_for_function(f"(({MARKS_JS})()).filter(m => m > 0).length >= {n_charts}", timeout=60_000)
    marks = drawn_charts(page)
    assert len(marks) == n_charts and all(m > 0 for m in marks), marks
    # each chart's table is in an expander under it, not in tabs: a tab panel searches its whole
    # subtree (every SVG node of the chart) for a focusable element on every render (README)
    tables = page.get_by_test_id("stExpander").filter(has=page.get_by_text(t("app.table.expander", "en"), exact=True))
    assert tables.count() == n_charts
    assert page.locator("[role=tabpanel]").count() == 0
    if n_charts:
        tables.first.get_by_text(t("app.table.expander", "en"), exact=True).click()
        expect(tables.first.get_by_test_id("stDataFrame")).to_be_visible(timeout=10_000)
    page.screenshot(path=str(screenshots / f"app_{name}.png"))


def test_filter_change_updates_chart_and_url_restores_view(page: Page, app_url: str, browser, screenshots):
    open_page(page, f"{app_url}/")
    before_value = asr_metric(page)
    before_svg = page.locator('[data-testid="stPlotlyChart"]').nth(1).inner_html()
    page.get_by_test_id("stSidebar").get_by_text(t("app.sex.female", "en"), exact=True).click()
    expect(page.get_by_test_id("stMetric").filter(has_text=t("app.metric.asr", "en"))
           .get_by_test_id("stMetricValue")).not_to_have_text(before_value, timeout=60_000)
    settle(page)
    after_svg = page.locator('[data-testid="stPlotlyChart"]').nth(1).inner_html()
    assert after_svg != before_svg
    assert parse_qs(urlparse(page.url).query)["sex"] == ["female"]
    shared, value = page.url, asr_metric(page)
    # a fresh browser context (no session, no cookies) opening the copied address
    ctx = browser.new_context(viewport={"width": 1500, "height": 2400})
    fresh = ctx.new_page()
    open_page(fresh, shared)
    assert asr_metric(fresh) == value
    assert parse_qs(urlparse(fresh.url).query) == parse_qs(urlparse(shared).query)
    fresh.screenshot(path=str(screenshots / "app_shared_url.png"))
    ctx.close()
    # switching page through the navigation keeps the filters (and puts them back in the URL)
    page.get_by_test_id("stSidebarNav").get_by_text(t("app.page.incidence", "en"), exact=True).click()
    page.get_by_role("heading", level=1, name=t("app.page.incidence", "en")).wait_for(timeout=60_000)
    settle(page)
    page.wait_for_function("() => location.search.includes('sex=female')", timeout=30_000)
    assert urlparse(page.url).path.endswith("/incidence")


def test_csv_download_equals_analytics(page: Page, app_url: str):
    from analytics import demo

    open_page(page, f"{app_url}/?y0=2016&y1=2020")
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="CSV").first.click()
    got = pd.read_csv(dl.value.path())
    reg = demo.load_demo()
    r = reg.records
    r = r[r[S.INCLUDED] & r[S.YEAR].between(2016, 2020) & r[S.SEX].isin([1, 2])]
    keys = [S.SEX, S.SITE_CI5]
    cases = r[r[S.AGE_GROUP].notna()].groupby(keys + [S.AGE_GROUP], observed=True).size().rename("count")
    p = reg.population[reg.population[S.YEAR].between(2016, 2020)]
    pop = p.groupby([S.SEX, S.AGE_GROUP])[S.POPULATION].sum().reset_index()
    sites = r[S.SITE_CI5].astype(str).unique()
    grid = pop.merge(pd.DataFrame({S.SITE_CI5: sites}), how="cross")
    data = grid.merge(cases.reset_index(), on=keys + [S.AGE_GROUP], how="left").fillna({"count": 0})
    # cases of unknown age: rows without an age group (counted, not in the ASR)
    unknown = r[r[S.AGE_GROUP].isna()].groupby(keys, observed=True).size().rename("count").reset_index()
    data = pd.concat([data, unknown.assign(**{S.AGE_GROUP: None, S.POPULATION: float("nan")})], ignore_index=True)
    exp = rates.dsr(data, by=keys).rename(columns={S.SITE_CI5: "site"})
    merged = got.merge(exp, on=["sex", "site"], suffixes=("", "_exp"))
    assert len(merged) == len(exp) == len(got)
    for col in ("count", "unknown_age", "population", "value", "lower", "upper"):
        assert (merged[col] - merged[f"{col}_exp"]).abs().max() < 1e-6, col


def test_png_export_has_requested_size(page: Page, app_url: str):
    from PIL import Image

    open_page(page, f"{app_url}/")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(t("app.export.title", "en")).click()
    for label, option in (("app.export.size", "1600x900"), ("app.export.scale", "× 2")):
        box = sidebar.get_by_test_id("stSelectbox").filter(has_text=t(label, "en"))
        box.wait_for(state="visible", timeout=30_000)
        opt = page.get_by_role("option", name=option, exact=True)
        settle(page)
        for _ in range(4):   # the expander may still be opening when the first click lands; under
            box.click()      # the suite's load the list itself once took longer than 4 s to open
            try:
                opt.wait_for(state="visible", timeout=10_000)
                break
            except Exception:  # noqa: BLE001 - retried, then the click below fails loudly
                page.keyboard.press("Escape")
        opt.click()
        settle(page)
    with page.expect_download(timeout=90_000) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="PNG").first.click()
    img = Image.open(dl.value.path())
    assert img.format == "PNG" and img.size == (3200, 1800)


def test_overview_path_is_an_alias_of_the_root(page: Page, app_url: str):
    open_page(page, f"{app_url}/?sex=female&y0=2018&y1=2022")
    value = asr_metric(page)
    open_page(page, f"{app_url}/overview?sex=female&y0=2018&y1=2022")
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_role("heading", level=1).first.inner_text() == t("app.page.overview", "en")
    q = parse_qs(urlparse(page.url).query)
    assert (q["sex"], q["y0"], q["y1"]) == (["female"], ["2018"], ["2022"])
    assert asr_metric(page) == value


def test_add_to_presentation_counts_in_the_sidebar_and_downloads_every_slide(page: Page, app_url: str):
    """"Add to presentation" reruns the button alone (a fragment) after the first slide: the
    sidebar's count follows every click, and the PowerPoint holds every slide added, pictures
    included (drawn in the background when added)."""
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    open_page(page, f"{app_url}/")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(t("app.export.title", "en")).click()
    names = ["overview_top10", "overview_per_year", "overview_pyramid"]
    for n, name in enumerate(names, start=1):
        page.locator(f".st-key-deck_{name} button").click()
        expect(sidebar.get_by_text(t("app.deck.count", "en", n=n), exact=True)).to_be_visible(timeout=60_000)
        settle(page)
    assert sidebar.get_by_text(t("app.deck.count", "en", n=len(names)), exact=True).count() == 1
    assert page.get_by_test_id("stException").count() == 0
    with page.expect_download(timeout=120_000) as dl:
        page.locator(".st-key-deck_download button").click()
    deck = Presentation(dl.value.path())
    titles = [s.shapes.title.text for s in deck.slides]
    assert len(titles) == len(names) and len(set(titles)) == len(names) and all(titles)
    for slide in deck.slides:
        pics = [sh for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pics) == 1 and pics[0].image.content_type == "image/png"

"""Browser tests of what the pages say (issue 9): the acceptance address, downloads that describe
their chart, no request to another host, the phone layout, the uploader's words in Russian.
Debian's chromium through Playwright against ``streamlit run`` (conftest.app_url)."""
from __future__ import annotations

import io
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page

from analytics import schema as S
from analytics.i18n import format_number, standard_label, t
from test_describe_pages import direct_dsr

pytestmark = pytest.mark.browser
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ACCEPTANCE = "/?sex=female&site=Stomach&er=ABS&y0=2015&std=europe_2013"
PAGES = ["overview", "incidence", "quality", "data", "methods", "trends", "prevalence", "projections", "maps",
         "risk_factors"]
PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2,
             user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def settle(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_timeout(400)
    page.wait_for_selector(IDLE, timeout=120_000)


def open_page(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_test_id("stMain").get_by_role("heading", level=1).wait_for(timeout=120_000)
    settle(page)


def download(page: Page, key: str) -> bytes:
    button = page.locator(f".st-key-{key} button")
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=120_000) as dl:
        button.click()
    return open(dl.value.path(), "rb").read()


def test_acceptance_address_caption_headline_and_downloads(page: Page, app_url: str, demo):
    from openpyxl import load_workbook
    from PIL import Image

    from analytics import demo as demo_mod

    open_page(page, app_url + ACCEPTANCE)
    caption = page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.inner_text()
    for word in ("women", "Absheron", "Stomach", "2015–2024", standard_label("europe_2013", "en")):
        assert word in caption, (word, caption)
    g = demo_mod.load_demo_regions()
    abs_districts = g.loc[g[S.PARENT] == "ABS", S.REGION].astype(str).tolist()
    exp = direct_dsr(demo, years=(2015, 2024), sexes=[2], regions=abs_districts, site="Stomach",
                     standard="europe_2013")
    asr = page.get_by_test_id("stMetric").filter(has_text=t("app.metric.asr", "en")).get_by_test_id("stMetricValue")
    assert asr.inner_text() == format_number(exp["value"], "en", 1)
    # the chart of new cases per year: its PNG footer and its Excel metadata say what it shows
    png = download(page, "dl_png_overview_per_year")
    footer = Image.open(io.BytesIO(png)).text["Description"]
    for word in ("Sex: women", "Site: Stomach", "Region: Absheron Economic Region", "Period: 2015–2024",
                 "Measure: New cases", "Ages: all ages"):
        assert word in footer, (word, footer)
    assert "Standard population" not in footer and "Tiwari" not in footer     # case counts use neither
    wb = load_workbook(io.BytesIO(download(page, "dl_xlsx_overview_per_year")))
    rows = {r[0].value: r[1].value for r in wb["metadata"].iter_rows(min_row=2)}
    filters = rows[t("common.meta_filters", "en")]
    for word in ("Sex: women", "Site: Stomach", "Region: Absheron Economic Region", "Measure: New cases"):
        assert word in filters, (word, filters)
    assert rows[t("common.meta_period", "en")] == "2015–2024"
    assert rows[t("common.meta_standard", "en")] == t("describe.not_applicable", "en")
    data = wb.worksheets[0]
    years = [c.value for c in data["A"][1:]]
    assert (min(years), max(years)) == (2015, 2024)
    # the men/women chart says the sex filter does not apply to it
    png = download(page, "dl_png_overview_top10")
    footer = Image.open(io.BytesIO(png)).text["Description"]
    assert "Sex: men and women, shown separately" in footer and "The sex filter (women) does not apply" in footer


def navigate(page: Page, name: str, lang: str) -> None:
    """Open page ``name`` from the sidebar's navigation (the session and its language kept), as
    a visitor does; unfolds the list when the link is behind its "View more"."""
    link = page.get_by_test_id("stSidebarNav").get_by_text(t(f"app.page.{name}", lang), exact=True)
    if not link.count():
        page.get_by_test_id("stSidebarNavViewButton").click()
    link.click()
    page.get_by_test_id("stMain").get_by_role("heading", level=1, name=t(f"app.page.{name}", lang)).wait_for(
        timeout=120_000)
    settle(page)
    assert urlparse(page.url).path.rstrip("/").endswith(name), page.url
    assert parse_qs(urlparse(page.url).query).get("lang") == [lang], page.url


def test_no_request_leaves_the_machine(page: Page, app_url: str):
    """Every page, fonts, favicon, maps and charts included: all requests go to the app's own host.
    (The walk begins at the default page: the tests' server is `streamlit run` without serve.py's
    guard, and a fresh process's first run of another page has Streamlit fetch that page's tab icon
    from Google — what the guard's policy stops, tested on serve.py by
    test_first_visit_of_a_fresh_server_on_another_page_loads_nothing_from_elsewhere.)
    The pages are walked as a visitor walks them, through the sidebar's navigation after one full
    load: what a full load asks for besides the page (Streamlit's scripts, styles, fonts) is the
    same at every address, and the walk ends with two full loads of the Maps page's panels."""
    own = urlparse(app_url).netloc
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    open_page(page, f"{app_url}/?lang=ru")
    page.wait_for_timeout(500)             # late requests (map fonts, favicon)
    for name in PAGES[1:]:
        navigate(page, name, "ru")
        page.wait_for_timeout(500)
    for extra in ("maps?map_panel=lisa", "maps?map_panel=profile&map_level=parent_code"):
        open_page(page, f"{app_url}/{extra}")
    page.wait_for_timeout(1500)            # the last page's late requests too
    outside = sorted({u for u in seen if urlparse(u).scheme in ("http", "https", "ws", "wss")
                      and urlparse(u).netloc != own})
    assert len(seen) > 50 and not outside, outside


def test_first_visit_of_a_fresh_server_on_another_page_loads_nothing_from_elsewhere(browser, tmp_path):
    """On a process's very first run of a page other than the default, Streamlit's front end takes
    that page's Material-symbol icon for the tab and fetches it from Google's font CDN. The server
    (serve.py, what `make run` starts; here without its warm-up, so this visitor's run is the
    process's first) sends the page's Content-Security-Policy in every mode: nothing is fetched
    from another host, and the page works under the policy."""
    import stclient
    from app_support import hardening
    from conftest import free_port, stop

    port = free_port()
    (tmp_path / "none.toml").write_text("")
    proc = stclient.serve(port, {"REGISTRY_MODE": "local", "REGISTRY_WARM_UP": "0",
                                 "REGISTRY_CONFIG": str(tmp_path / "none.toml")}, tmp_path / "server.log")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = ctx.new_page()
    outside, refused, order = [], [], []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in ("127.0.0.1", None)
            and urlparse(r.url).scheme in ("http", "https", "ws", "wss") else None)
    page.on("request", lambda r: order.append(urlparse(r.url).path.rsplit("/", 1)[-1]))
    page.on("websocket", lambda ws: order.append("websocket"))
    page.on("pageerror", lambda e: refused.append(str(e)))
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        response = page.goto(f"http://127.0.0.1:{port}/trends?lang=ru", wait_until="domcontentloaded")
        assert response.headers["content-security-policy"] == hardening.content_security_policy()
        page.get_by_test_id("stMain").get_by_role("heading", level=1).wait_for(timeout=120_000)
        page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=120_000)
        page.wait_for_selector(IDLE, timeout=120_000)
        page.wait_for_timeout(1000)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        ctx.close()
        stop(proc)
    assert not outside, outside
    # plotly's chunk of the front end (hardening.front_end_preloads): asked for by the page before
    # the session's websocket opens, and once (the charts use that module, not a second copy)
    plotly = [i for i, name in enumerate(order) if name.startswith("PlotlyChart.")]
    assert len(plotly) == 1 and plotly[0] < order.index("websocket"), order
    # the one thing the policy refuses is that tab icon (the tab keeps the server's own)
    assert all("fonts.gstatic.com" in m for m in refused), refused


def test_phone_width_charts_readable_titles_clear_maps_fitted(browser, app_url: str):
    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    open_page(page, f"{app_url}/?sex=female&er=ABS")
    # the page title is not under the header bar
    header = page.get_by_test_id("stHeader").bounding_box()
    h1 = page.get_by_test_id("stMain").get_by_role("heading", level=1).bounding_box()
    assert h1["y"] >= header["y"] + header["height"] - 1
    # no tool bar over chart titles on a phone
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
    assert page.locator(".modebar-container .modebar").count() == 0
    # the men/women chart keeps its width and scrolls sideways instead of being squeezed
    box = page.locator(".st-key-scroll_overview_top10")
    widths = box.evaluate("e => [e.scrollWidth, e.clientWidth, getComputedStyle(e).overflowX]")
    assert widths[0] >= 640 > widths[1] and widths[2] == "auto", widths
    # chart titles fit their chart: wrapped, not cut at the right edge
    for chart in page.locator('[data-testid="stPlotlyChart"]').all():
        chart.scroll_into_view_if_needed()
        title = chart.locator("g.g-gtitle text")
        if title.count():
            tb, cb = title.first.bounding_box(), chart.bounding_box()
            assert tb["x"] + tb["width"] <= cb["x"] + max(cb["width"], 640) + 1
    # the whole country fits the phone's map and fills most of its width
    open_page(page, f"{app_url}/maps")
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
    page.locator("path.choroplethlocation").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(500)
    country, chart = page.evaluate("""() => { const gd = document.querySelector('.js-plotly-plot');
        const r = gd.querySelector('g.choroplethlayer').getBoundingClientRect(), c = gd.getBoundingClientRect();
        return [[r.left, r.right, r.width], [c.left, c.right, c.width]]; }""")
    assert country[0] >= chart[0] - 1 and country[1] <= chart[1] + 1, (country, chart)
    assert country[2] > 0.6 * chart[2], (country, chart)
    ctx.close()


def test_uploader_words_in_russian(page: Page, app_url: str):
    open_page(page, f"{app_url}/data?lang=ru")
    zone = page.get_by_test_id("stFileUploaderDropzone").first
    words_js = """z => [...z.querySelectorAll('[data-testid="stFileUploaderDropzoneInstructions"] span,'
        + ' button [data-testid="stMarkdownContainer"] p')].map(e => [getComputedStyle(e).fontSize,
        getComputedStyle(e, '::after').content])"""
    # the style element that puts the words in may arrive after the uploader is drawn (a CI run saw 'none')
    zone.element_handle().wait_for_element_state("visible")
    page.wait_for_function(f"""() => {{ const z = document.querySelector('[data-testid="stFileUploaderDropzone"]');
        return z && ({words_js})(z).some(([, c]) => c !== 'none' && c !== 'normal'); }}""", timeout=30_000)
    after = zone.evaluate(words_js)
    contents = [c for _, c in after]
    assert f'"{t("describe.upload.browse", "ru")}"' in contents and f'"{t("describe.upload.limit", "ru")}"' in contents
    assert all(size == "0px" for size, c in after if c not in ("none", "normal", '""'))


def test_presentation_theme_enlarges_captions(page: Page, app_url: str):
    sizes = {}
    size_js = ("() => { const e = document.querySelector('.stMain [data-testid=\"stCaptionContainer\"]');"
               " return e ? parseFloat(getComputedStyle(e.querySelector('p') || e).fontSize) : 0; }")
    for theme in ("light", "presentation"):
        open_page(page, f"{app_url}/?theme={theme}")
        page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.wait_for()
        if theme == "presentation":      # the theme's style element may arrive after the first caption
            page.wait_for_function(f"({size_js})() >= 19", timeout=30_000)
        sizes[theme] = float(page.evaluate(size_js))
    assert sizes["presentation"] >= 19 > sizes["light"], sizes

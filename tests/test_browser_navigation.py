"""A page URL opened first on a fresh server (Streamlit's legacy pages-folder mode) still runs
through app.py: page config, the whole navigation in the page's language, the shared sidebar."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page

from analytics.i18n import t
from tests.conftest import free_port, start_streamlit, stop
from tests.test_browser_app import open_page

pytestmark = pytest.mark.browser


@pytest.fixture()
def fresh_server(tmp_path):
    port = free_port()
    proc = start_streamlit(port, tmp_path / "server.log")
    yield f"http://127.0.0.1:{port}"
    stop(proc)


def test_first_request_for_a_page_runs_through_the_app(page: Page, fresh_server):
    open_page(page, f"{fresh_server}/trends?lang=ru")
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stMain").get_by_role("heading", level=1).first.inner_text() == t("app.page.trends", "ru")
    assert page.title() == t("app.name", "ru")                       # set_page_config ran: app.py did
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    for stem in ("overview", "maps", "methods"):
        assert t(f"app.page.{stem}", "ru") in nav                      # navigation titled in Russian
    assert "trends" in page.url

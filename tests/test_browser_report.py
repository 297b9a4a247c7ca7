"""The Report page in a real browser (Debian chromium, Playwright): the build runs outside the
session's script run (the page finishes its run while the progress bar moves), the progress
bar follows it, and the finished document downloads as a PDF (a fact sheet: the page's annual
report goes the same way and is built in tests/test_report_app.py)."""
from __future__ import annotations

import io

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from analytics.i18n import t

pytestmark = pytest.mark.browser


def test_report_page_builds_in_the_background_and_downloads(page: Page, app_url: str, screenshots):
    page.goto(f"{app_url}/report?y0=2022&y1=2024&site=Stomach&rep_kind=factsheet", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Report")).to_be_visible(timeout=90_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
    page.get_by_role("button", name=t("report.page.build", "en")).click()
    bar = page.get_by_test_id("stProgress")
    expect(bar).to_be_visible(timeout=90_000)
    # the session's script run is over while the document is still being built
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
    assert bar.count() == 1 or page.get_by_role("button", name="Download (PDF)").count() == 1
    page.screenshot(path=str(screenshots / "report_building.png"))
    button = page.get_by_role("button", name=t("report.page.download", "en", format="PDF"))
    expect(button).to_be_visible(timeout=300_000)
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "factsheet_en_2022-2024.pdf"
    with open(download.path(), "rb") as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
    assert len(reader.pages) == 1
    assert t("report.fs.site_title", "en", site="Stomach", period="2022–2024") in reader.pages[0].extract_text()
    page.screenshot(path=str(screenshots / "report_ready.png"))

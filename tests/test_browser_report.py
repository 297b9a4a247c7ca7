"""The Report page in a real browser (Debian chromium, Playwright): the build runs outside the
session's script run (the page finishes its run while the progress bar moves), the progress
bar follows it, and the finished annual report downloads as a PDF with every section."""
from __future__ import annotations

import io

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from analytics.i18n import t
from analytics.report import SECTIONS

pytestmark = pytest.mark.browser


def test_report_page_builds_in_the_background_and_downloads(page: Page, app_url: str, screenshots):
    page.goto(f"{app_url}/report?y0=2024&y1=2024", wait_until="domcontentloaded")
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
    assert download.suggested_filename == "report_en_2024-2024.pdf"
    with open(download.path(), "rb") as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
    text = " ".join(p.extract_text() for p in reader.pages)
    for n, section in enumerate(SECTIONS, start=1):
        assert f"{n}. {t(f'report.section.{section}', 'en')}" in text
    page.screenshot(path=str(screenshots / "report_ready.png"))

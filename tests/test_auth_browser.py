"""The real sign-in flow in Chromium (issue 11): ``serve.py`` in internal mode against a local
OpenID Connect provider (oidc-provider-mock, started here on a free port). Unauthenticated
visitors see only the sign-in; each role sees exactly its pages and downloads; crafted
addresses (page paths, ``?public=0``) give nothing beyond the role; sign-ins, exports and
refusals land in the audit log."""
from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Browser, Page, expect

from analytics.i18n import t
from app_support import audit
from app_support.navigation import PAGES
from conftest import free_port, stop
from stclient import serve

pytestmark = pytest.mark.browser
ROOT_PAGES = Path(__file__).resolve().parents[1] / "pages"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# every page of the app (app_support/navigation.py), in navigation order
ALL_PAGES = [stem for stem, _ in PAGES if (ROOT_PAGES / f"{stem}.py").exists()]
ROLES = """
[registrar]
emails = ["rita@registry.example"]

[analyst]
groups = ["registry-analysts"]

[viewer]
domains = ["ministry.example"]
"""
# the provider's users: the subject is the button the test clicks on the provider's page
USERS = {
    "registrar": User(sub="rita", claims={"email": "rita@registry.example", "email_verified": True, "name": "Rita"}),
    "analyst": User(sub="alan", claims={"email": "alan@university.example", "groups": ["registry-analysts"]}),
    "viewer": User(sub="vera", claims={"email": "vera@ministry.example", "email_verified": True}),
    "none": User(sub="nina", claims={"email": "nina@elsewhere.example", "email_verified": True}),
}


@pytest.fixture(scope="module")
def internal(tmp_path_factory):
    """A local OIDC provider and serve.py in internal mode; yields (app url, audit log path)."""
    base = tmp_path_factory.mktemp("internal")
    with run_server_in_thread(port=free_port(), user_claims=list(USERS.values())) as provider:
        port = free_port()
        (base / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "registry-dashboard"\nclient_secret = "test-secret"\n'
            f'server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"\n')
        (base / "roles.toml").write_text(ROLES)
        (base / "registry.toml").write_text('mode = "internal"\n')
        env = {"REGISTRY_MODE": "", "REGISTRY_CONFIG": str(base / "registry.toml"),
               "REGISTRY_ROLES": str(base / "roles.toml"), "REGISTRY_AUDIT_LOG": str(base / "audit.jsonl"),
               # no warm-up: in internal mode it runs no page, and its cubes, page modules, export
               # Chromium and worker processes (~15 s of CPU) serve nothing checked here (test_background)
               "REGISTRY_WARM_UP": "0"}
        proc = serve(port, env, base / "server.log", "--secrets", str(base / "secrets.toml"))
        try:
            yield f"http://127.0.0.1:{port}", base / "audit.jsonl"
        finally:
            stop(proc)


def settle(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=90_000)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=90_000)


def heading(page: Page) -> str:
    h = page.get_by_test_id("stMain").get_by_role("heading", level=1).first
    h.wait_for(timeout=90_000)
    return h.inner_text()


def open_page(page: Page, url: str) -> str:
    page.goto(url, wait_until="domcontentloaded")
    heading(page)
    settle(page)
    return heading(page)


def sign_in(page: Page, url: str, role: str) -> None:
    page.goto(url + "/", wait_until="domcontentloaded")
    page.get_by_role("button", name=t("auth.signin", "en")).click()
    page.get_by_role("button", name=USERS[role].sub, exact=True).click()       # the provider's page
    page.wait_for_url(f"{url}/**", timeout=60_000)


def nav_pages(page: Page) -> list[str]:
    more = page.get_by_test_id("stSidebarNavViewButton")      # a long list is folded: "View N more"
    if more.count() and "more" in (more.inner_text() or "").lower():
        more.click()
    links = page.get_by_test_id("stSidebarNav").locator("a")
    return [urlparse(links.nth(i).get_attribute("href")).path.strip("/") or "overview" for i in range(links.count())]


def events(path) -> list[dict]:
    return audit.read(path)


def test_unauthenticated_visitor_sees_only_the_signin(browser: Browser, internal):
    url, log = internal
    ctx = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = ctx.new_page()
    for path in ("/", "/data", "/incidence?public=0&sex=female", "/quality?public=0", "/maps"):
        page.goto(url + path, wait_until="domcontentloaded")
        expect(page.get_by_role("button", name=t("auth.signin", "en"))).to_be_visible(timeout=90_000)
        settle(page)
        assert heading(page) == t("app.name", "en")
        assert page.get_by_test_id("stSidebarNav").count() == 0
        for testid in ("stPlotlyChart", "stMetric", "stDownloadButton", "stFileUploader", "stDataFrame", "stRadio"):
            assert page.get_by_test_id(testid).count() == 0, (path, testid)
    # the statistics endpoint is closed to clients
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url + "/_stcore/metrics", timeout=10)
    assert err.value.code == 404
    ctx.close()


def test_signed_in_user_without_role_gets_nothing(browser: Browser, internal):
    url, log = internal
    ctx = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = ctx.new_page()
    sign_in(page, url, "none")
    expect(page.get_by_test_id("stAlert")).to_contain_text("nina@elsewhere.example", timeout=90_000)
    settle(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0 and page.get_by_test_id("stMetric").count() == 0
    page.goto(url + "/incidence?public=0", wait_until="domcontentloaded")
    expect(page.get_by_test_id("stAlert")).to_contain_text("nina@elsewhere.example", timeout=90_000)
    assert page.get_by_test_id("stPlotlyChart").count() == 0
    denials = [e for e in events(log) if e["event"] == "denial" and e["user"] == "nina@elsewhere.example"]
    assert denials and all(e["capability"] == "view_aggregates" for e in denials)
    ctx.close()


# a viewer may not download, so no Report page (a document is a download); the Data page is the registrar's
EXPECTED_PAGES = {"viewer": [p for p in ALL_PAGES if p not in ("data", "report")],
                  "analyst": [p for p in ALL_PAGES if p != "data"],
                  "registrar": ALL_PAGES}


@pytest.mark.parametrize("role", ["viewer", "analyst", "registrar"])
def test_each_role_sees_exactly_its_pages_and_downloads(browser: Browser, internal, role):
    url, log = internal
    ctx = browser.new_context(viewport={"width": 1500, "height": 2400}, accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, url, role)
    # a crafted address asking for unsuppressed output (on the Quality page: aggregates for
    # everyone, its flagged-records list for the registrar only)
    assert open_page(page, f"{url}/quality?public=0&y0=2020&y1=2024") == t("app.page.quality", "en")
    assert "data" in ALL_PAGES and "quality" in ALL_PAGES
    assert nav_pages(page) == EXPECTED_PAGES[role]
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text(t("auth.mode.internal", "en"))
    expect(sidebar).to_contain_text(f"({t(f'auth.role.{role}', 'en')})")

    on = page.get_by_test_id("stSidebar").get_by_role("radio", name=t("app.public.on", "en"), exact=True)
    on.wait_for(state="attached", timeout=60_000)       # widgets draw once their code chunk is loaded
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=60_000)
    downloads = page.get_by_test_id("stDownloadButton").count()
    if role == "viewer":
        expect(on).to_be_checked()
        expect(on).to_be_disabled()
        assert downloads == 0
        assert page.get_by_role("button", name=t("app.deck.add", "en")).count() == 0
    else:
        expect(on).not_to_be_checked()
        assert downloads >= 5                    # CSV, Excel and the figure formats of each chart
    flagged = page.get_by_test_id("stMain").get_by_role(
        "heading", name=re.compile("^" + re.escape(t("app.data.flags", "en", n="").split("(")[0])))
    assert flagged.count() == (1 if role == "registrar" else 0)
    if role == "analyst":                        # an export is produced and audited
        with page.expect_download(timeout=90_000) as dl:
            page.get_by_test_id("stDownloadButton").filter(has_text="CSV").first.click()
        assert dl.value.suggested_filename.endswith("_2020-2024.csv")
        exports = [e for e in events(log) if e["event"] == "export" and e["user"] == "alan@university.example"]
        assert exports[-1]["format"] == "csv" and exports[-1]["selection"]["y0"] == 2020
        assert exports[-1]["selection"]["public"] is False and exports[-1]["role"] == "analyst"

    # crafted page paths: the Data page (uploads, record-level lists) is the registrar's only
    page.goto(f"{url}/data", wait_until="domcontentloaded")
    if role == "registrar":
        heading(page)
        settle(page)
        assert heading(page) == t("app.page.data", "en")
        page.get_by_test_id("stFileUploader").first.wait_for(timeout=60_000)   # drawn once its code loads
        assert page.get_by_test_id("stFileUploader").count() >= 4
    else:                                        # Streamlit runs the default page instead
        expect(page.get_by_test_id("stMain").get_by_role("heading", level=1).first).to_have_text(
            t("app.page.overview", "en"), timeout=90_000)
        assert page.get_by_test_id("stFileUploader").count() == 0
    logins = [e for e in events(log) if e["event"] == "login" and e["role"] == role]
    assert logins and logins[0]["user"] == USERS[role].claims["email"]
    ctx.close()


"""Shared fixtures. Browser tests (marker ``browser``) drive Debian's /usr/bin/chromium through
Playwright against a ``streamlit run`` server on a free 127.0.0.1 port: one server per pytest
process (so one per xdist worker), stopped by its own PID. Never a downloaded browser."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(port: int, log_path: Path | None = None) -> subprocess.Popen:
    """``streamlit run app.py`` on 127.0.0.1:port; returns the process once /_stcore/health is ok."""
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"streamlit did not start on port {port}" +
                               (f"; log: {log_path.read_text()[-2000:]}" if log_path else ""))
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session", autouse=True)
def _operator_settings(tmp_path_factory):
    """Tests run in local mode whatever the machine's REGISTRY_* settings or registry.toml say,
    and write their audit events to a temporary file, never to the repository's logs/."""
    base = tmp_path_factory.mktemp("registry")
    (base / "registry.toml").write_text("", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGISTRY_MODE", "local")
        mp.setenv("REGISTRY_CONFIG", str(base / "registry.toml"))
        mp.setenv("REGISTRY_ROLES", str(base / "roles.toml"))
        mp.setenv("REGISTRY_AUDIT_LOG", str(base / "audit.jsonl"))
        yield base


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: run `make test`, which installs Debian's chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROME_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1500, "height": 2400}, "accept_downloads": True}


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """One streamlit server per pytest process (xdist worker), on its own free port."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    port = free_port()
    proc = start_streamlit(port, log)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# --- Streamlit's AppTest: the app run in-process (no browser) ------------------------------
APP = str(ROOT / "app.py")


@pytest.fixture(scope="session", autouse=True)
def _component_scan_once():
    """Each new AppTest has Streamlit scan the metadata of every installed distribution for
    custom (v2) components (~0.1 s of CPU, and the suite makes several hundred AppTests), a scan
    ``streamlit run`` makes once at start. The installed packages do not change during a run:
    every AppTest of this process gets the first scan's result."""
    from streamlit.components.v2 import manifest_scanner

    scan, found = manifest_scanner.scan_component_manifests, []

    def scan_once(max_workers: int | None = None) -> list:
        if not found:
            found.append(scan(max_workers))
        return list(found[0])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest_scanner, "scan_component_manifests", scan_once)
        yield


def app(page: str = "overview", timeout: float = 240, state: dict | None = None, **params):
    """AppTest of app.py with ``params`` as the address's query parameters and ``state`` in the
    session state before the first run, switched to ``pages/<page>.py`` unless it is the
    Overview; fails on any exception the run showed."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in params.items():
        at.query_params[k] = str(v)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, key: str, lang: str = "en") -> str:
    """The value of the metric tile labelled ``t(key, lang)``."""
    from analytics.i18n import t

    label = t(key, lang)
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture(scope="module")
def demo():
    """The demo registry (analytics.demo.load_demo), once per test module."""
    from analytics import demo as demo_mod

    return demo_mod.load_demo()

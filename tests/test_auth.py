"""Modes, roles, capabilities, the audit log and the hardening options (issue 11), as functions
and through AppTest. The real sign-in flow in Chromium is tests/test_auth_browser.py; the
hardened server over HTTP and WebSocket is tests/test_auth_server.py."""
from __future__ import annotations

import ast
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import schema as S
from analytics.i18n import t
import stclient
from app_support import audit, auth, hardening

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
ROLES_TOML = """
default = ""
group_claim = ["groups", "roles"]

[registrar]
emails = ["Registrar@Registry.example"]

[analyst]
emails = ["analyst@registry.example"]
groups = ["registry-analysts"]

[viewer]
domains = ["ministry.example"]
groups = ["registry-viewers"]
"""
AUTH_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                "client_id": "dashboard", "client_secret": "s",
                "server_metadata_url": "http://localhost:9/.well-known/openid-configuration"}
USERS = {
    "registrar": {"email": "registrar@registry.example", "email_verified": True, "sub": "r1"},
    "analyst": {"email": "someone@elsewhere.example", "groups": ["registry-analysts"], "sub": "a1"},
    "viewer": {"email": "minister@ministry.example", "sub": "v1"},
    "nobody": {"email": "stranger@elsewhere.example", "sub": "n1"},
}


@pytest.fixture()
def operator(tmp_path, monkeypatch):
    """A fresh operator configuration: roles.toml and an audit log in tmp_path."""
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES_TOML, encoding="utf-8")
    config = tmp_path / "registry.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("REGISTRY_CONFIG", str(config))
    monkeypatch.setenv("REGISTRY_ROLES", str(roles))
    monkeypatch.setenv("REGISTRY_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("REGISTRY_MODE", "local")
    monkeypatch.setattr(hardening, "_GUARD_ACTIVE", True)   # as under serve.py
    return tmp_path


def events(tmp_path: Path) -> list[dict]:
    return audit.read(tmp_path / "audit.jsonl")


# --- settings ------------------------------------------------------------------------------
def test_mode_from_environment_then_config_file_then_local(operator, monkeypatch):
    config = operator / "registry.toml"
    monkeypatch.delenv("REGISTRY_MODE")
    assert auth.mode() == "local"
    config.write_text('mode = "public"\naudit_log = "logs/a.jsonl"\nroles_file = "etc/roles.toml"\n')
    monkeypatch.delenv("REGISTRY_AUDIT_LOG")
    monkeypatch.delenv("REGISTRY_ROLES")
    s = auth.settings()
    assert s.mode == "public"
    assert s.audit_log == (operator / "logs" / "a.jsonl").resolve()          # relative to registry.toml
    assert s.roles_file == (operator / "etc" / "roles.toml").resolve()
    monkeypatch.setenv("REGISTRY_MODE", "Internal")
    assert auth.mode() == "internal"                                          # the environment wins


@pytest.mark.parametrize("mode, content, message", [
    ("superuser", "", "not one of"),
    ("", 'mode = "open"', "not one of"),
    ("", 'mode = "public"\npublic_download = false', "unknown settings"),
    ("", "mode = [", "cannot be read"),
])
def test_invalid_operator_settings_fail_closed(operator, monkeypatch, mode, content, message):
    monkeypatch.setenv("REGISTRY_MODE", mode)
    (operator / "registry.toml").write_text(content)
    with pytest.raises(auth.ConfigError, match=message):
        auth.settings()


def test_missing_config_file_named_by_the_operator_is_an_error(operator, monkeypatch):
    monkeypatch.setenv("REGISTRY_CONFIG", str(operator / "nowhere.toml"))
    with pytest.raises(auth.ConfigError, match="not a file"):
        auth.settings()


# --- roles --------------------------------------------------------------------------------
def ident(email="", groups=(), verified=None):
    return auth.Identity(subject="s", email=email, name="", groups=tuple(groups), email_verified=verified)


def test_roles_by_email_domain_and_group_highest_wins():
    rules = auth.parse_roles(__import__("tomllib").loads(ROLES_TOML))
    assert rules.role_of(ident("REGISTRAR@registry.example")) == "registrar"       # e-mail, any case
    assert rules.role_of(ident("analyst@registry.example")) == "analyst"
    assert rules.role_of(ident("x@elsewhere.example", ["registry-analysts"])) == "analyst"
    assert rules.role_of(ident("minister@ministry.example")) == "viewer"           # domain
    assert rules.role_of(ident("x@sub.ministry.example")) is None                   # exact domain only
    assert rules.role_of(ident("x@elsewhere.example", ["registry-viewers"])) == "viewer"
    # the highest matching role wins
    assert rules.role_of(ident("minister@ministry.example", ["registry-analysts"])) == "analyst"
    assert rules.role_of(ident("stranger@elsewhere.example")) is None               # default "" = no access
    # an e-mail the provider says is not verified gives no role by e-mail (groups still count)
    assert rules.role_of(ident("registrar@registry.example", verified=False)) is None
    assert rules.role_of(ident("registrar@registry.example", ["registry-viewers"], verified=False)) == "viewer"
    assert rules.group_claims == ("groups", "roles")
    with_default = auth.parse_roles({"default": "viewer"})
    assert with_default.role_of(ident("anyone@anywhere.example")) == "viewer"


@pytest.mark.parametrize("data, message", [
    ({"analysts": {"emails": ["a@b.c"]}}, "unknown entries"),        # a typo in a role's name
    ({"analyst": {"email": ["a@b.c"]}}, "unknown keys"),             # a typo in a rule's name
    ({"analyst": {"emails": "a@b.c"}}, "list of strings"),
    ({"default": "admin"}, "not one of"),
])
def test_roles_file_mistakes_are_refused(data, message):
    with pytest.raises(auth.ConfigError, match=message):
        auth.parse_roles(data)


def test_capabilities_of_each_role_are_the_issues():
    caps = auth.ROLE_CAPABILITIES
    assert caps["viewer"] == {"view_aggregates"}
    assert caps["analyst"] == {"view_aggregates", "view_unsuppressed", "download", "switch_public_mode"}
    assert caps["registrar"] == set(auth.CAPABILITIES) == {
        "view_aggregates", "view_unsuppressed", "download", "upload", "view_records", "keep_uploads",
        "switch_public_mode"}
    assert caps["public"] == {"view_aggregates", "download"}
    for role in ("viewer", "analyst", "public"):            # record-level and uploads: registrar only
        assert not caps[role] & {"upload", "view_records", "keep_uploads"}


def test_can_refuses_an_unknown_capability(operator):
    with pytest.raises(ValueError, match="unknown capability"):
        auth.can("view_everything")


def test_local_and_public_modes_roles(operator, monkeypatch):
    assert (auth.role(), auth.public_forced(), auth.can("upload")) == ("registrar", False, True)
    monkeypatch.setenv("REGISTRY_MODE", "public")
    assert (auth.role(), auth.public_forced(), auth.can("upload"), auth.can("download")) == \
        ("public", True, False, True)
    assert not auth.page_allowed("data") and auth.page_allowed("overview")
    (operator / "registry.toml").write_text("public_downloads = false\n")
    assert not auth.can("download")
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    assert auth.role() is None and auth.capabilities() == frozenset()       # nobody signed in


# --- audit log ----------------------------------------------------------------------------
def test_audit_log_appends_json_lines_and_never_rewrites(tmp_path):
    log = tmp_path / "logs" / "audit.jsonl"
    who = dict(mode="internal", user="a@b.c", role="analyst", session="s1", ip="10.0.0.1")
    audit.log_event("login", to=log, provider="default", outcome="ok", **who)
    first = log.read_bytes()
    audit.log_event("export", to=log, what="Incidence [inc_asr]", selection={"y0": 2020, "sex": "female"},
                    format="csv", file_name="inc_asr_2020-2024.csv", **who)
    assert log.read_bytes().startswith(first)                  # the earlier line is untouched
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    a, b = (json.loads(x) for x in lines)
    assert a["event"] == "login" and a["user"] == "a@b.c" and a["ts"].endswith("+00:00")
    assert b == {**b, "event": "export", "format": "csv", "selection": {"y0": 2020, "sex": "female"}, "role": "analyst"}
    assert stat.S_IMODE(log.stat().st_mode) == audit.FILE_MODE


def test_audit_refuses_unknown_events_and_fields_so_record_content_cannot_be_logged(tmp_path):
    log = tmp_path / "a.jsonl"
    with pytest.raises(ValueError, match="does not take"):
        audit.log_event("export", to=log, what="x", patient_name="Anna Example")
    with pytest.raises(ValueError, match="does not take"):
        audit.log_event("upload", to=log, records=[{"name": "Anna"}])
    with pytest.raises(ValueError, match="unknown audit event"):
        audit.log_event("view", to=log)
    assert not log.exists()
    line = audit.log_event("denial", to=log, capability="upload", what="x" * 10_000)
    assert len(line["what"]) == audit.MAX_TEXT


def test_upload_facts_are_name_size_and_sha256_only():
    data = b"tumour_id,sex\n1,2\n"
    facts = audit.file_facts({"extract": ("extract.csv", data)})
    assert facts == [{"role": "extract", "name": "extract.csv", "size": 18,
                      "sha256": hashlib.sha256(data).hexdigest()}]


def test_audit_that_cannot_be_written_raises(tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(audit.AuditError):
        audit.log_event("logout", to=tmp_path / "dir.jsonl")


# --- hardening options ------------------------------------------------------------------
def test_server_options_per_mode():
    local = hardening.server_options("local", port=8501)
    assert local["server.address"] == "127.0.0.1" and "client.showErrorDetails" not in local
    # no watcher of source files in any mode: setting up its inotify watches cost 1.1-1.4 s of CPU
    # before the first visitor's chart (bench/app.py cold start: 4.4-4.7 s of server CPU, 3.2-3.7 without)
    assert all(hardening.server_options(m, port=1, address="127.0.0.1")["server.fileWatcherType"] == "none"
               for m in ("local", "internal", "public"))
    with pytest.raises(ValueError, match="local mode serves this computer only"):
        hardening.server_options("local", port=8501, address="0.0.0.0")
    for mode in ("internal", "public"):
        opts = hardening.server_options(mode, port=8502, address="0.0.0.0")
        assert opts["client.showErrorDetails"] == "none"
        assert opts["server.enableXsrfProtection"] is True and opts["server.enableCORS"] is True
        assert opts["server.corsAllowedOrigins"] == [] and opts["server.enableAgentApi"] is False
        assert opts["client.disableDataExport"] is True


def test_the_page_policy_is_the_one_nginx_sends():
    """serve.py's guard and deploy/nginx send one Content-Security-Policy; its script hash is that
    of the inline script of the installed Streamlit's index.html."""
    import re

    conf = (ROOT / "deploy" / "nginx" / "cancer-registry.conf").read_text()
    (nginx,) = re.findall(r'add_header Content-Security-Policy "([^"]+)" always;', conf)
    policy = hardening.content_security_policy()
    assert policy == nginx
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in \
        policy.split("script-src")[1].split(";")[0]


def test_serving_others_with_the_demo_disclosure_secret_is_said_at_start():
    """A public or internal server without REGISTRY_DISCLOSURE_SECRET publishes counts perturbed
    with the demo's published secret: serve.py says so; the deployment example names the variable."""
    assert hardening.startup_warnings("local", {}) == []
    for mode in ("internal", "public"):
        (warning,) = hardening.startup_warnings(mode, {"REGISTRY_DISCLOSURE_SECRET": "  "})
        assert "REGISTRY_DISCLOSURE_SECRET" in warning and mode in warning
        assert hardening.startup_warnings(mode, {"REGISTRY_DISCLOSURE_SECRET": "k8Jx-long-random"}) == []
    assert "REGISTRY_DISCLOSURE_SECRET=" in (ROOT / "deploy" / "registry.env.example").read_text()


def test_max_upload_size_is_explicit_and_is_the_ingest_limit(monkeypatch):
    """Streamlit's maxUploadSize was left to config.toml while the Data page states and checks
    REGISTRY_MAX_UPLOAD_MB: an operator who changed one got two different limits."""
    from analytics.ingest.limits import Limits

    monkeypatch.delenv("REGISTRY_MAX_UPLOAD_MB", raising=False)
    assert hardening.server_options("local", port=8501)["server.maxUploadSize"] == 200
    monkeypatch.setenv("REGISTRY_MAX_UPLOAD_MB", "35")
    for mode in ("local", "internal", "public"):
        assert hardening.server_options(mode, port=8501)["server.maxUploadSize"] == 35
    assert hardening.server_options("public", port=1, limits=Limits(max_upload_mb=7))["server.maxUploadSize"] == 7
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == Limits().max_upload_mb   # `streamlit run app.py`: the same default


@pytest.mark.parametrize("path, blocked", [
    ("/_stcore/metrics", True), ("/_stcore/metrics/", True), ("/registry/_stcore/metrics", True),
    ("/_stcore/agent/interact", True), ("/_stcore/health", False), ("/_stcore/stream", False), ("/", False),
    ("/incidence", False)])
def test_blocked_paths(path, blocked):
    assert hardening.blocked_path(path) is blocked


def _backmsg(kind: str) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    if kind == "clear_cache":
        msg.clear_cache = True
    elif kind == "rerun":
        msg.rerun_script.query_string = "sex=female"
    elif kind == "load_git_info":
        msg.load_git_info = True
    return msg.SerializeToString()


def test_guard_drops_cache_clearing_and_answers_404_for_metrics():
    seen: list = []

    async def inner(scope, receive, send):
        if scope["type"] == "websocket":
            for _ in range(2):
                seen.append(await receive())
        else:
            seen.append("reached the app")

    guard = hardening.Guard(inner)
    frames = [{"type": "websocket.receive", "bytes": _backmsg(k)} for k in ("clear_cache", "load_git_info", "rerun")]
    frames.append({"type": "websocket.disconnect"})

    async def receive():
        return frames.pop(0)

    sent: list = []

    async def send(message):
        sent.append(message)

    stclient.run(guard({"type": "websocket", "path": "/_stcore/stream"}, receive, send))
    assert [m.get("bytes") for m in seen] == [_backmsg("rerun"), None]        # only the rerun got through
    stclient.run(guard({"type": "http", "path": "/_stcore/metrics"}, receive, send))
    assert sent[0]["status"] == 404 and "reached the app" not in seen
    stclient.run(guard({"type": "http", "path": "/_stcore/health"}, receive, send))
    assert seen[-1] == "reached the app"


def _guarded(status: int, headers: list, chunks: list[bytes], method: str = "GET") -> tuple[dict, bytes]:
    """What the guard sends for an HTTP answer of the app made of ``chunks``."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    sent: list = []

    async def send(message):
        sent.append(message)

    stclient.run(hardening.Guard(app)({"type": "http", "path": "/", "method": method}, None, send))
    assert sent[0]["type"] == "http.response.start"
    return {k.decode(): v.decode() for k, v in sent[0]["headers"]}, b"".join(m.get("body", b"") for m in sent[1:])


def test_the_page_loads_plotly_s_chunk_of_the_front_end_at_once():
    """Cold start: the guard adds an async module script for plotly's chunk of the installed
    Streamlit's front end (the chunk its charts import) before </head>, and fixes the length."""
    import gzip
    import re

    import streamlit

    tag = hardening.front_end_preloads().decode()
    (name,) = re.findall(r'src="\./static/js/(PlotlyChart\.[\w-]+\.js)"', tag)
    js = Path(streamlit.__file__).parent / "static" / "static" / "js"
    assert (js / name).is_file()
    assert any(f"./{name}" in p.read_text(encoding="utf-8") for p in js.glob("index.*.js"))   # what the charts import
    page = (Path(streamlit.__file__).parent / "static" / "index.html").read_bytes()
    html = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(page)).encode())]
    headers, body = _guarded(200, html, [page[:1000], page[1000:]])
    assert body == page.replace(b"</head>", tag.encode() + b"</head>", 1)
    assert headers["content-length"] == str(len(body)) and "content-security-policy" in headers
    packed = gzip.compress(page)              # what Streamlit sends a browser that accepts gzip
    headers, body = _guarded(200, [(b"content-type", b"text/html"), (b"content-encoding", b"gzip"),
                                   (b"content-length", str(len(packed)).encode())], [packed])
    assert gzip.decompress(body) == page.replace(b"</head>", tag.encode() + b"</head>", 1)
    assert headers["content-length"] == str(len(body)) and headers["content-encoding"] == "gzip"
    for status, method, extra in ((304, "GET", []), (200, "HEAD", []), (200, "GET", [(b"content-encoding", b"br")])):
        headers, body = _guarded(status, html + extra, [page], method)       # passed as they are
        assert body == page and headers["content-length"] == str(len(page))
    js_headers = [(b"content-type", b"application/javascript")]
    assert _guarded(200, js_headers, [b"</head>"])[1] == b"</head>"


def test_pages_use_the_central_download_button():
    """Every download passes the role check and the audit log: the only raw download_button call
    is the one inside widgets.download_button; pages call widgets.download_button."""
    raw = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py")), *sorted((ROOT / "app_support").rglob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "download_button" and path.name == "widgets.py":
                inside |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "download_button" and id(node) not in inside \
                    and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "widgets"):
                raw.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not raw, f"use widgets.download_button: {raw}"


# --- AppTest: the gate, the pages, the switch ----------------------------------------------
def run_app(page: str | None = None, *, user: dict | None = None, secrets: bool = True, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if user is not None:
        at.user = {"is_logged_in": True, **user}
    if secrets:
        at.secrets["auth"] = dict(AUTH_SECRETS)
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def titles(at: AppTest) -> list[str]:
    return [x.value for x in at.title]


def test_internal_mode_shows_only_the_signin_screen(operator, monkeypatch):
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = run_app(public=0, sex="female")
    assert titles(at) == [t("app.name", "en")]
    assert [b.label for b in at.button] == [t("auth.signin", "en")]
    assert not at.get("plotly_chart") and not at.metric and not at.get("file_uploader")
    assert not at.sidebar.radio and not at.sidebar.selectbox              # no filters, no data
    for page in ("data", "incidence", "overview"):                          # the only page is the sign-in
        with pytest.raises(ValueError, match=r"Known pages: \['Sign in'\]"):
            at.switch_page(f"pages/{page}.py")


def test_internal_mode_without_login_configuration_refuses(operator, monkeypatch):
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = run_app(secrets=False)
    assert [e.value for e in at.error] == [t("auth.login_not_configured", "en")]
    assert not at.button and not at.metric


def test_non_local_mode_needs_the_hardened_launcher(operator, monkeypatch):
    monkeypatch.setattr(hardening, "_GUARD_ACTIVE", False)               # `streamlit run app.py`
    monkeypatch.setenv("REGISTRY_MODE", "public")
    at = run_app()
    assert [e.value for e in at.error] == [t("auth.launcher", "en")] and not at.metric


def test_signed_in_user_without_role_is_refused_and_audited(operator, monkeypatch):
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = run_app(user=USERS["nobody"])
    assert [w.value for w in at.warning] == [t("auth.no_role", "en", user=r"stranger@elsewhere\.example")]
    assert not at.metric and not at.sidebar.radio
    ev = events(operator)
    assert [(e["event"], e["user"], e["capability"]) for e in ev] == \
        [("denial", "stranger@elsewhere.example", "view_aggregates")]


def downloads(at: AppTest) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


@pytest.mark.parametrize("role", ["viewer", "analyst", "registrar"])
def test_each_role_gets_its_pages_downloads_and_switch(operator, monkeypatch, role):
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = run_app(user=USERS[role], public=0)
    assert titles(at) == [t("app.page.overview", "en")]
    sw = at.sidebar.radio(key="f_public")
    if role == "viewer":                      # ?public=0 does not switch disclosure control off
        assert (sw.value, sw.disabled) == ("1", True)
        assert downloads(at) == [] and not [b for b in at.button if b.key.startswith("deck_")]
    else:
        assert (sw.value, sw.disabled) == ("0", False)
        assert t("app.dl.csv", "en") in downloads(at) and any(b.key.startswith("deck_") for b in at.button)
    assert t("auth.mode.internal", "en") in [c.value for c in at.sidebar.caption]
    assert [x.value for x in at.sidebar.text] == [t("auth.signed_in", "en", user=USERS[role]["email"],
                                                    role=t(f"auth.role.{role}", "en"))]
    # the Data page (uploads, previews, flagged records): registrar only, not even in the navigation
    if role == "registrar":
        at.switch_page("pages/data.py").run()
        assert not at.exception and t("app.page.data", "en") in titles(at) and at.get("file_uploader")
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("pages/data.py")
    # the Quality page: indicators for everyone, its flagged-records list for the registrar only
    at.switch_page("pages/quality.py").run()
    assert not at.exception and t("app.page.quality", "en") in titles(at)
    prefix = t("app.data.flags", "en", n="").split("(")[0]          # "Flagged records "
    flag_lists = [h.value for h in at.subheader if h.value.startswith(prefix)]
    assert len(flag_lists) == (1 if role == "registrar" else 0), flag_lists
    # the reconciliation (exact record counts) is record-level: not for a viewer's public output
    shown = t("app.data.reconciliation", "en") in [h.value for h in at.subheader]
    assert shown == (role != "viewer")
    logins = [e for e in events(operator) if e["event"] == "login"]
    assert [(e["user"], e["role"]) for e in logins] == [(USERS[role]["email"], role)]   # once per session


def test_viewer_cannot_switch_public_output_off_by_a_widget_change(operator, monkeypatch):
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = run_app(user=USERS["viewer"])
    radio = at.sidebar.radio(key="f_public")
    radio.proto.disabled = False              # a crafted client sends a value for the disabled widget
    radio.set_value("0").run()
    assert not at.exception
    assert at.sidebar.radio(key="f_public").value == "1"
    assert at.query_params["public"] in ("1", ["1"])


def test_page_file_run_directly_still_checks_the_role(operator, monkeypatch):
    """A page run without app.py's navigation (Streamlit's legacy mode runs a page file alone)
    stops at its own check, and the denial is audited."""
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=180)
    at.user = {"is_logged_in": True, **USERS["analyst"]}
    at.secrets["auth"] = dict(AUTH_SECRETS)
    at.run()
    assert [e.value for e in at.error] == [t("auth.denied", "en")]
    assert not at.get("file_uploader") and not at.get("download_button")
    assert [(e["event"], e["capability"], e["role"]) for e in events(operator)] == [("denial", "upload", "analyst")]


def _page_direct(page: str, user: dict | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=180)
    if user is not None:
        at.user = {"is_logged_in": True, **user}
    at.secrets["auth"] = dict(AUTH_SECRETS)
    at.query_params["public"] = "0"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", sorted(p.stem for p in (ROOT / "pages").glob("*.py")))
def test_every_page_file_run_directly_refuses_a_visitor_who_has_not_signed_in(operator, monkeypatch, page):
    """Streamlit's legacy mode runs a page file alone, before app.py's gate: every page stops at
    its own check (no chart, number, table, upload or download) and the refusal is audited."""
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = _page_direct(page, None)
    assert [e.value for e in at.error] == [t("auth.denied", "en")]
    assert not at.metric and not at.dataframe and not at.get("plotly_chart") and not at.get("file_uploader")
    assert not at.get("download_button") and not at.sidebar.radio
    assert [(e["event"], e["capability"], e["role"]) for e in events(operator)] == [("denial", "view_aggregates", None)]


@pytest.mark.parametrize("page, capability", [("data", "upload"), ("report", "download")])
def test_page_files_beyond_the_viewers_role_refuse_the_viewer(operator, monkeypatch, page, capability):
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    at = _page_direct(page, USERS["viewer"])
    assert t("auth.denied", "en") in [e.value for e in at.error]
    assert not at.get("file_uploader") and not at.get("download_button") and not at.button
    assert [(e["event"], e["capability"]) for e in events(operator) if e["event"] == "denial"] == [("denial", capability)]


def test_public_mode_forces_disclosure_control_and_hides_the_data_page(operator, monkeypatch):
    monkeypatch.setenv("REGISTRY_MODE", "public")
    at = run_app(public=0)
    assert titles(at) == [t("app.page.overview", "en")]
    sw = at.sidebar.radio(key="f_public")
    assert (sw.value, sw.disabled) == ("1", True)
    assert t("auth.mode.public", "en") in " ".join(c.value for c in at.sidebar.caption)
    assert t("app.dl.csv", "en") in downloads(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/data.py")
    (operator / "registry.toml").write_text("public_downloads = false\n")
    assert downloads(run_app()) == []


def test_local_mode_is_the_registrar(operator):
    at = run_app(public=0)
    sw = at.sidebar.radio(key="f_public")
    assert (sw.value, sw.disabled) == ("0", False)
    at.switch_page("pages/data.py").run()
    assert t("app.page.data", "en") in titles(at) and at.get("file_uploader")


def test_upload_is_audited_with_name_size_hash_and_counts(operator):
    from analytics import demo
    from analytics.auxiliary import read_population
    from analytics.pipeline import load_registry

    reg0 = demo.load_demo()
    r = reg0.records
    r = r[r[S.YEAR].between(2020, 2024)].head(120)
    cols = [S.TUMOUR_ID, S.PATIENT_ID, S.SEX, S.BIRTH_DATE, S.INCIDENCE_DATE, S.AGE, S.TOPOGRAPHY, S.MORPHOLOGY,
            S.BEHAVIOUR, S.BASIS, S.REGION, S.VITAL_STATUS]
    extract = r[cols].assign(name="Anna Example").to_csv(index=False, date_format="%Y-%m-%d").encode()
    p = reg0.population
    pop = p[p[S.YEAR].between(2020, 2024)][[S.YEAR, S.REGION, S.SEX, S.AGE_GROUP, S.POPULATION]].to_csv(index=False).encode()
    at = run_app("data")
    at.file_uploader(key="up_extract").set_value(("extract.csv", extract, "text/csv"))
    at.file_uploader(key="up_pop").set_value(("population.csv", pop, "text/csv")).run()
    at.button(key="data_load").click().run()
    assert not at.exception
    reg = load_registry(extract, population=read_population(pop, name="population.csv"), name="extract.csv")
    (ev,) = [e for e in events(operator) if e["event"] == "upload"]
    assert ev["files"] == [
        {"role": "extract", "name": "extract.csv", "size": len(extract), "sha256": hashlib.sha256(extract).hexdigest()},
        {"role": "population", "name": "population.csv", "size": len(pop), "sha256": hashlib.sha256(pop).hexdigest()}]
    assert (ev["records_read"], ev["records_used"], ev["records_excluded"]) == (120, reg.n_used, reg.n_excluded)
    assert ev["outcome"] == "loaded" and ev["role"] == "registrar" and ev["mode"] == "local"
    assert "Anna" not in json.dumps(ev)                      # names and hashes, never the content


def test_identity_text_is_escaped_for_markdown():
    assert auth.markdown_escape("![x](http://evil.example/a.png)") == r"\!\[x\]\(http://evil\.example/a\.png\)"


def test_download_is_checked_again_when_the_file_is_produced(operator, monkeypatch):
    """A deferred download runs later, outside the session: the capability is checked again then
    (same mode, and the role roles.toml gives the same identity now), and audited."""
    from app_support import widgets

    captured = {}

    class Container:
        def download_button(self, label, *, data, file_name, mime, key, **kw):
            captured["produce"] = data
            return False

    widgets.download_button("CSV", lambda: b"a,b\n1,2\n", file_name="t_2020-2024.csv", key="k", what="table",
                            container=Container())
    assert captured["produce"]() == b"a,b\n1,2\n"
    (export,) = events(operator)
    assert (export["event"], export["format"], export["what"], export["role"]) == ("export", "csv", "table", "registrar")
    monkeypatch.setenv("REGISTRY_MODE", "public")             # the operator changed the mode meanwhile
    with pytest.raises(PermissionError):
        captured["produce"]()
    assert [e["event"] for e in events(operator)] == ["export", "denial"]
    # internal mode: the role is looked up again for the identity captured with the button
    monkeypatch.setenv("REGISTRY_MODE", "internal")
    alan = auth.Identity(subject="a1", email="x@elsewhere.example", name="", groups=("registry-analysts",))
    assert auth.still_can("download", alan, "internal")
    (operator / "roles.toml").write_text(ROLES_TOML.replace('groups = ["registry-analysts"]\n', ""))
    os.utime(operator / "roles.toml", ns=(1, 1))                 # a new modification time: re-read
    assert not auth.still_can("download", alan, "internal")
    assert not auth.still_can("download", None, "internal")


def test_settings_are_read_again_when_the_environment_or_the_config_file_changes(operator, monkeypatch):
    """settings() is remembered between calls (it is read on every capability check) but never
    stale: a new environment value, another config file or an edit of the file is seen at once."""
    config = operator / "registry.toml"
    monkeypatch.delenv("REGISTRY_MODE")
    first = auth.settings()
    assert first.mode == "local" and auth.settings() is first                 # remembered
    config.write_text('mode = "public"\n')
    os.utime(config, ns=(1, 10**9))                                           # another modification time
    assert auth.mode() == "public"
    config.write_text('mode = "internal"\n')                                  # same time, other size
    os.utime(config, ns=(1, 10**9))
    assert auth.mode() == "internal"
    other = operator / "other.toml"
    other.write_text('mode = "public"\n')
    monkeypatch.setenv("REGISTRY_CONFIG", str(other))
    assert auth.mode() == "public"
    monkeypatch.setenv("REGISTRY_MODE", "local")
    assert auth.mode() == "local"


def test_settings_are_read_once_per_script_run(operator, monkeypatch):
    """Within one script run (``auth.begin_run``, app.py's first line) the config file and the
    working directory are looked at once, however many capability checks the run makes (each
    look is a system call, a wait for the GIL with many sessions at once); the next run, a new
    environment value, or RUN_MEMO_SECONDS later, they are read again. Outside a run (this
    thread: no begin_run) every call still looks (the test above)."""
    import threading

    monkeypatch.delenv("REGISTRY_MODE")
    config = operator / "registry.toml"
    reads = []
    real = auth._settings_now
    monkeypatch.setattr(auth, "_settings_now", lambda env: reads.append(env) or real(env))
    monkeypatch.setattr(auth, "RUN_MEMO_SECONDS", 3600.0)     # no run of this test outlives it
    seen = {}

    def run() -> None:            # a script thread: two runs of a hundred checks each
        auth.begin_run()
        seen["first"] = [auth.mode() for _ in range(100)]
        config.write_text('mode = "public"\n')
        os.utime(config, ns=(1, 10**9))
        seen["same_run"] = auth.mode()                     # the run keeps what it read
        seen["reads_first_run"] = len(reads)
        auth.begin_run()                                    # the next run reads the edit
        seen["next_run"] = auth.mode()
        monkeypatch.setenv("REGISTRY_MODE", "internal")     # a new environment: at once
        seen["env"] = auth.mode()
        monkeypatch.delenv("REGISTRY_MODE")
        config.write_text('mode = "local"\n')
        os.utime(config, ns=(2, 2 * 10**9))
        monkeypatch.setattr(auth, "RUN_MEMO_SECONDS", 0.0)    # a fragment's run on this thread, later
        seen["later"] = auth.mode()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen["first"] == ["local"] * 100 and seen["reads_first_run"] == 1
    assert seen["same_run"] == "local"
    assert (seen["next_run"], seen["env"], seen["later"]) == ("public", "internal", "local")
    assert len(reads) == 4
    assert auth.mode() == "local" and auth.mode() == "local" and len(reads) == 6    # outside a run: every call

"""The server's hardening (issue 11): Streamlit options per mode and a guard in front of Streamlit.

``serve.py`` builds the app as ``st.App("app.py", middleware=hardening.middleware())`` and starts
it with :func:`server_options`. The guard is plain ASGI middleware, so it sees every HTTP request
and every WebSocket frame before Streamlit does:

- ``/_stcore/metrics`` (per-process statistics, cache sizes) and the agent API answer 404;
- a client's ``clear_cache`` BackMsg (which would clear every user's caches), ``set_run_on_save``,
  ``load_git_info`` (the server's git remote) and the development ``debug_*`` messages are
  dropped and logged; every other message passes unchanged;
- the page itself (``text/html``) carries the Content-Security-Policy of :func:`content_security_policy`,
  in every mode, so a browser loads nothing from another host even without the nginx proxy of
  ``deploy/`` (which sends the same policy): Streamlit's front end would otherwise fetch the tab
  icon of a page with a Material-symbol icon from Google's font CDN when that page is the first a
  fresh server serves (the visitor's address to a third party);
- the page also loads the chunk of Streamlit's front end that draws plotly charts (4.7 MB, found
  by name in the installed Streamlit: :func:`front_end_preloads`) as an ``async`` module script,
  so the browser parses and runs it while the first run is computed instead of after its first
  chart has arrived (cold start 0.4 s sooner, measured with ``bench/app.py``).

Streamlit 1.67 has no option to switch these off, hence the guard. XSRF protection and CORS
protection stay on (Streamlit's ``server.enableCORS = true`` means *no* cross-origin access),
tracebacks never reach a browser outside ``local`` (``client.showErrorDetails = "none"``),
local mode binds 127.0.0.1 only, and ``server.maxUploadSize`` is set explicitly to the ingest's
``REGISTRY_MAX_UPLOAD_MB`` (analytics.ingest.limits), so the size Streamlit accepts and the size the
Data page states and checks are one number whatever the operator sets.
"""
from __future__ import annotations

import ipaddress
import logging
from typing import Any

log = logging.getLogger(__name__)

BLOCKED_PATH_SUFFIXES = ("/_stcore/metrics", "/_stcore/agent")
BLOCKED_BACKMSGS = frozenset({"clear_cache", "set_run_on_save", "load_git_info",
                              "debug_disconnect_websocket", "debug_shutdown_runtime"})
LOOPBACK = "127.0.0.1"

_GUARD_ACTIVE = False


def guard_active() -> bool:
    """True once the guard wraps this process's server (the app refuses non-local modes without)."""
    return _GUARD_ACTIVE


def blocked_path(path: str) -> bool:
    p = "/" + path.strip("/")
    return any(p.endswith(s) or (s + "/") in p for s in BLOCKED_PATH_SUFFIXES)


def backmsg_type(data: bytes) -> str | None:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    try:
        msg.ParseFromString(data)
    except Exception:  # noqa: BLE001 - Streamlit itself closes the socket on a bad frame
        return None
    return msg.WhichOneof("type")


def _inline_script_hashes() -> list[str]:
    """CSP sources of the inline scripts of Streamlit's ``index.html`` (``'sha256-…'``), so that the
    policy allows exactly them, whatever Streamlit version is installed."""
    import base64
    import hashlib
    import re
    from pathlib import Path

    import streamlit

    html = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    bodies = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in bodies]


PRELOADED_CHUNKS = ("PlotlyChart",)   # front-end chunks nearly every page needs at once


def front_end_preloads() -> bytes:
    """``<script type="module" async>`` tags for :data:`PRELOADED_CHUNKS` of the installed
    Streamlit's front end (the chunk file names carry a content hash; a chunk not found is left
    out), relative like the page's own scripts, so they resolve under any base URL path."""
    from pathlib import Path

    import streamlit

    js = Path(streamlit.__file__).parent / "static" / "static" / "js"
    tags = []
    for chunk in PRELOADED_CHUNKS:
        found = sorted(js.glob(f"{chunk}.*.js"))
        if len(found) == 1:
            tags.append(f'<script type="module" async crossorigin src="./static/js/{found[0].name}"></script>')
    return "".join(tags).encode()


def content_security_policy() -> str:
    """The policy of the dashboard's page: everything from this server (scripts: its own files and
    ``index.html``'s inline script by hash; plotly's inline styles; images, fonts and workers also
    as ``data:``/``blob:``), nothing from elsewhere, no framing. ``deploy/nginx`` sends the same."""
    parts = [("default-src", "'self'"), ("script-src", " ".join(["'self'", *_inline_script_hashes()])),
             ("style-src", "'self' 'unsafe-inline'"), ("img-src", "'self' data: blob:"),
             ("font-src", "'self' data:"), ("connect-src", "'self'"), ("worker-src", "'self' blob:"),
             ("frame-src", "'self'"), ("object-src", "'none'"), ("base-uri", "'self'"),
             ("form-action", "'self'"), ("frame-ancestors", "'none'")]
    return "; ".join(f"{k} {v}" for k, v in parts)


class Guard:
    """ASGI middleware: 404 for the blocked paths, blocked BackMsgs dropped, the page's CSP."""

    def __init__(self, app: Any) -> None:
        global _GUARD_ACTIVE
        self.app = app
        self.policy = content_security_policy().encode()
        self.preloads = front_end_preloads()
        _GUARD_ACTIVE = True

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind in ("http", "websocket") and blocked_path(scope.get("path", "")):
            log.warning("refused %s %s from %s", kind, scope.get("path"), (scope.get("client") or ("?",))[0])
            if kind == "http":
                await _not_found(send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if kind == "websocket":
            receive = _filtered(receive, scope)
        elif kind == "http":
            send = _with_policy(send, self.policy, self.preloads if scope.get("method") == "GET" else b"")
        await self.app(scope, receive, send)


def _with_policy(send: Any, policy: bytes, preloads: bytes = b"") -> Any:
    """``send`` that adds the Content-Security-Policy header to an HTML response and
    ``preloads`` before its ``</head>`` (a 200 answer to a GET: the body is held until complete,
    then sent with its new length; Streamlit gzips it for browsers that accept it; another
    encoding is passed as it is)."""
    held: dict = {}

    async def inner(message: dict) -> None:
        kind = message.get("type")
        if kind == "http.response.start":
            headers = list(message.get("headers") or [])
            named = {k.lower(): v.lower() for k, v in headers}
            html = named.get(b"content-type", b"").startswith(b"text/html")
            if html and b"content-security-policy" not in named:
                message = {**message, "headers": headers + [(b"content-security-policy", policy)]}
                encoding = named.get(b"content-encoding", b"identity")
                if preloads and message.get("status") == 200 and encoding in (b"identity", b"gzip"):
                    held.update(start=message, body=[], gzipped=encoding == b"gzip")
                    return
        elif kind == "http.response.body" and "start" in held:
            held["body"].append(message.get("body", b""))
            if message.get("more_body"):
                return
            await _send_with_preloads(send, held.pop("start"), b"".join(held.pop("body")), preloads,
                                      held.pop("gzipped"))
            return
        await send(message)
    return inner


async def _send_with_preloads(send: Any, start: dict, body: bytes, preloads: bytes, gzipped: bool) -> None:
    import gzip

    page = gzip.decompress(body) if gzipped else body
    if b"</head>" in page:
        page = page.replace(b"</head>", preloads + b"</head>", 1)
        body = gzip.compress(page) if gzipped else page
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    await send({**start, "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _filtered(receive: Any, scope: dict) -> Any:
    async def inner() -> dict:
        while True:
            message = await receive()
            data = message.get("bytes") if message.get("type") == "websocket.receive" else None
            if data:
                kind = backmsg_type(data)
                if kind in BLOCKED_BACKMSGS:
                    log.warning("dropped a %s message from %s", kind, (scope.get("client") or ("?",))[0])
                    continue
            return message
    return inner


async def _not_found(send: Any) -> None:
    body = b"Not found"
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def middleware() -> list:
    from starlette.middleware import Middleware

    return [Middleware(Guard)]


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def server_options(mode: str, *, port: int, address: str | None = None,
                   secrets: list[str] | None = None, limits=None) -> dict[str, Any]:
    """Streamlit options for ``mode``; ``address`` None binds 127.0.0.1. Local mode refuses any
    address but the loopback one. ``limits`` (default: the ingest limits in force) gives
    ``server.maxUploadSize``. No mode watches the source files (``make run`` serves users, not a
    developer editing the code: ``streamlit run app.py`` does that); the watcher's inotify set-up
    cost about 1.2 s of CPU before the first visitor's chart."""
    from analytics.ingest.limits import current as current_limits
    from app_support.auth import LOCAL, MODES

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    address = address or LOOPBACK
    if mode == LOCAL and not _loopback(address):
        raise ValueError(f"local mode serves this computer only: bind {LOOPBACK}, not {address} "
                         "(set REGISTRY_MODE=internal or public to serve others)")
    opts: dict[str, Any] = {
        "server.port": int(port), "server.address": address, "server.headless": True,
        "server.enableXsrfProtection": True, "server.enableCORS": True, "server.corsAllowedOrigins": [],
        "server.enableAgentApi": False, "server.scriptHealthCheckEnabled": False,
        "server.trustedUserHeaders": "{}", "global.developmentMode": False,
        "browser.gatherUsageStats": False, "server.runOnSave": False, "server.fileWatcherType": "none",
        "server.maxUploadSize": current_limits(limits).max_upload_mb,
    }
    if mode != LOCAL:
        opts.update({"client.showErrorDetails": "none",
                     # every table export goes through the audited download buttons
                     "client.disableDataExport": True})
    if secrets:
        opts["secrets.files"] = list(secrets)
    return opts


def startup_warnings(mode: str, environ: dict | None = None) -> list[str]:
    """What ``serve.py`` says at start about settings that are unsafe for real data outside
    ``local``: the demo's published disclosure secret (anyone could compute the record keys
    and so the noise of public counts)."""
    import os

    from app_support.auth import LOCAL

    if mode == LOCAL:    # no import of analytics before the server answers (cold start)
        return []
    from analytics import disclosure

    env = os.environ if environ is None else environ
    out = []
    if not (env.get(disclosure.SECRET_ENV) or "").strip():
        out.append(f"{mode} mode with the demo's published disclosure secret: set {disclosure.SECRET_ENV} "
                   "(a long random string, the same on every replica) before serving real data")
    return out

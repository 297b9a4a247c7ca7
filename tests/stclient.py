"""A minimal client of Streamlit's WebSocket protocol for the server tests (what a browser tab
sends and receives, without a browser): open a session, ask for a run with a query string,
read the ForwardMsgs until the run finishes. Used by tests/test_auth_server.py and
tests/test_deploy.py (bench/load.py was not on main when they were written)."""
from __future__ import annotations

import asyncio
import ssl as ssl_mod
import urllib.parse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STREAM_PATH = "/_stcore/stream"
EARLY = (ForwardMsg.FINISHED_EARLY_FOR_RERUN,)


class Session:
    """One browser-tab-like session on ``base_url`` (http(s)://host:port)."""

    def __init__(self, base_url: str, *, cookie: str = "", insecure_tls: bool = False,
                 headers: dict[str, str] | None = None, session_id: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookie = cookie
        self.headers = dict(headers or {})
        self.resume = session_id             # reconnect to this session, as a browser does
        self.insecure_tls = insecure_tls
        self.ws = None
        self.messages: list[ForwardMsg] = []
        self.session_id: str | None = None

    async def __aenter__(self) -> "Session":
        u = urllib.parse.urlsplit(self.base_url)
        scheme = "wss" if u.scheme == "https" else "ws"
        ctx = None
        if scheme == "wss":
            ctx = ssl_mod.create_default_context()
            if self.insecure_tls:
                ctx.check_hostname = False
                ctx.verify_mode = ssl_mod.CERT_NONE
        headers = {**self.headers, **({"Cookie": self.cookie} if self.cookie else {})}
        # Streamlit reads the protocol list as: "streamlit", the XSRF token, the session to resume
        protocols = ["streamlit"] + (["no-xsrf", self.resume] if self.resume else [])
        self.ws = await websockets.connect(f"{scheme}://{u.netloc}{u.path}{STREAM_PATH}", subprotocols=protocols,
                                           origin=f"{u.scheme}://{u.netloc}", additional_headers=headers, ssl=ctx,
                                           max_size=None, open_timeout=30)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def send(self, msg: BackMsg) -> None:
        await self.ws.send(msg.SerializeToString())

    async def run(self, query_string: str = "", *, page_script_hash: str = "", page_name: str = "",
                  timeout: float = 120) -> list[ForwardMsg]:
        """Ask for a run and return every ForwardMsg up to its end (reruns it triggers included)."""
        msg = BackMsg()
        msg.rerun_script.query_string = query_string
        msg.rerun_script.page_script_hash = page_script_hash
        msg.rerun_script.page_name = page_name
        await self.send(msg)
        return await self.read_run(timeout=timeout)

    async def read_run(self, *, timeout: float = 120) -> list[ForwardMsg]:
        out: list[ForwardMsg] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - loop.time()))
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            out.append(fm)
            kind = fm.WhichOneof("type")
            if kind == "new_session":
                self.session_id = fm.new_session.initialize.session_id or self.session_id
            if kind == "script_finished" and fm.script_finished not in EARLY:
                self.messages.extend(out)
                return out


def run(coro):
    """``asyncio.run`` in a thread of its own: Playwright's sync API keeps an event loop running
    in the test's thread once a browser test has run in the same worker."""
    import threading

    box: dict = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def elements(msgs: list[ForwardMsg]) -> list:
    return [m.delta.new_element for m in msgs if m.WhichOneof("type") == "delta" and m.delta.HasField("new_element")]


def element_types(msgs: list[ForwardMsg]) -> list[str]:
    return [e.WhichOneof("type") for e in elements(msgs)]


def exceptions(msgs: list[ForwardMsg]) -> list:
    return [e.exception for e in elements(msgs) if e.WhichOneof("type") == "exception"]


def alerts(msgs: list[ForwardMsg]) -> list[str]:
    return [e.alert.body for e in elements(msgs) if e.WhichOneof("type") == "alert"]


def texts(msgs: list[ForwardMsg]) -> str:
    """Everything the run sent, as protobuf text (to search for a string)."""
    return "\n".join(str(m) for m in msgs)


def query_strings(msgs: list[ForwardMsg]) -> list[str]:
    return [m.page_info_changed.query_string for m in msgs if m.WhichOneof("type") == "page_info_changed"]


def headings(msgs: list[ForwardMsg]) -> list[str]:
    return [e.heading.body for e in elements(msgs) if e.WhichOneof("type") == "heading"]


# --- starting the hardened server (serve.py) -------------------------------------------------
def serve(port: int, env: dict, log_path, *args: str, root=None, timeout: float = 90, poll: float = 0.2):
    """``python serve.py --port port *args`` with ``env`` added; returns the process once its
    health check answers, asked every ``poll`` seconds for at most ``timeout`` (stop it with
    conftest.stop, by its own PID)."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    root = Path(root or Path(__file__).resolve().parents[1])
    out = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "serve.py", "--port", str(port), *args], cwd=root,
                            env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(5)
            raise RuntimeError(f"serve.py did not start on port {port}: {Path(log_path).read_text()[-3000:]}")
        time.sleep(poll)

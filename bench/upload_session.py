"""Benchmark: a live server's resident memory (RSS) around one user's large upload, through the
browser's protocol: ``streamlit run app.py`` on a free port, one session (``bench/load.py``'s
WebSocket client) opens the Data page, uploads an extract and the demo's population the way the
browser does (file URLs asked over the WebSocket, the bytes PUT to ``/_stcore/upload_file``), waits
for the preview, presses "Load" (the ingest worker reads the files), then closes its tab. Streamlit
keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds (set short here) and
drops it at the next disconnection after that: a second, short session is opened and closed to
trigger it. RSS of the server process is printed at each step; the server is stopped by its PID.

    python bench/upload_session.py --extract /tmp/x/tumours.parquet [--ttl 5]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from proc_cpu import rss_mb  # noqa: E402 - bench/proc_cpu.py


def xsrf_cookie(base_url: str) -> str:
    """The XSRF cookie the health check sets for the page (its value holds '|': read as written)."""
    with urllib.request.urlopen(base_url + "/_stcore/health", timeout=60) as resp:
        resp.read()
        for raw in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            if name.strip() == "_streamlit_xsrf":
                return rest.split(";")[0]
    return ""


async def upload(s, key: str, path: Path) -> None:
    """Upload ``path`` into the file uploader ``key`` as the browser does."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    msg = BackMsg()
    msg.file_urls_request.request_id = str(uuid.uuid4())
    msg.file_urls_request.file_names.append(path.name)
    msg.file_urls_request.session_id = s.session_id
    await s.ws.send(msg.SerializeToString())
    while True:
        fm = ForwardMsg()
        fm.ParseFromString(await s.ws.recv())
        if fm.WhichOneof("type") == "file_urls_response":
            urls = fm.file_urls_response.file_urls[0]
            break
    boundary = uuid.uuid4().hex
    data = path.read_bytes()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    xsrf = await asyncio.get_running_loop().run_in_executor(None, xsrf_cookie, s.base_url)
    req = urllib.request.Request(s.base_url + urls.upload_url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": xsrf,
    "Cookie": f"_streamlit_xsrf={xsrf}"})
    await asyncio.get_running_loop().run_in_executor(None, lambda: urllib.request.urlopen(req, timeout=600).read())
    el = next(e.file_uploader for r in [s.last] for e in r.elements() if e.WhichOneof("type") == "file_uploader"
              and e.file_uploader.id.endswith(key))
    ws = WidgetState(id=el.id)
    info = ws.file_uploader_state_value.uploaded_file_info.add()
    info.file_id, info.name, info.size = urls.file_id, path.name, len(data)
    info.file_urls.CopyFrom(urls)
    s.states[ws.id] = ws
    s.last = await s._rerun()


async def main_async(args, pid: int, url: str) -> None:
    import load

    def mark(name: str) -> None:
        print(f"{name:<60} server RSS {rss_mb(pid):7.0f} MB", flush=True)

    mark("server started (no session yet)")
    s = load.Session(url, timeout=900)
    s.last = await s.open("data")
    mark("one session on the Data page (warm-up: demo, cubes, Chromium)")
    await upload(s, "up_extract", Path(args.extract))
    await upload(s, "up_pop", Path(args.population))
    mark("extract and population uploaded, preview shown")
    s.ids.setdefault("data_load", next(e.button.id for e in s.last.elements() if e.WhichOneof("type") == "button"
                                       and e.button.id.endswith("data_load")))
    run = await s.click("data_load")
    text = " ".join(e.alert.body for e in run.elements() if e.WhichOneof("type") == "alert")[:300]
    mark(f"upload loaded ({len(run.exceptions)} exceptions)")
    if text:
        print("  alerts:", text)
    await s.close()
    time.sleep(1)
    mark("tab closed (session kept for reconnection)")
    time.sleep(args.ttl + 2)
    other = load.Session(url, timeout=300)
    await other.open()
    await other.close()
    time.sleep(3)
    mark(f"after the TTL ({args.ttl} s) and another tab's visit")
    time.sleep(5)
    mark("5 s later")



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--extract", required=True)
    ap.add_argument("--population", default=str(ROOT / "data" / "demo" / "population.parquet"))
    ap.add_argument("--ttl", type=int, default=5, help="server.disconnectedSessionTTL in seconds")
    args = ap.parse_args()
    from conftest import free_port

    port = free_port()
    env = {**os.environ, "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(args.ttl),
           "STREAMLIT_SERVER_MAX_UPLOAD_SIZE": "200"}
    import subprocess

    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / "upload_session_server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        time.sleep(20)     # let the warm-up (demo, cubes, export browser, worker) finish
        asyncio.run(main_async(args, proc.pid, url))
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

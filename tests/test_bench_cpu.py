"""bench/app.py's CPU columns (issue 12): the server's CPU counts the server process and its
descendants (workers, the export browser), the browser's counts the processes the bench itself
started (Playwright's driver and chromium) but not the server's tree when the bench started the
server. Checked on real processes: a "server" child with a busy grandchild, and a busy "browser"
child, each burning a known amount of CPU time (not wall time)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BURN = 0.6          # CPU seconds each burner uses
# a process that burns BURN seconds of its own CPU time, then waits for its stdin to close
BURNER = ("import sys, time\n"
          "t = time.process_time()\n"
          "while time.process_time() - t < {burn}: pass\n"
          "print('burnt', flush=True)\n"
          "sys.stdin.read()\n")
# a "server": starts a burning child (its worker), then waits for its stdin to close
SERVER = ("import subprocess, sys\n"
          "child = subprocess.Popen([sys.executable, '-c', {burner!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
          "print(child.pid, flush=True)\n"
          "child.stdout.readline()\n"
          "print('burnt', flush=True)\n"
          "sys.stdin.read()\n"
          "child.stdin.close(); child.wait()\n")


@pytest.fixture(scope="module")
def bench_app():
    spec = importlib.util.spec_from_file_location("bench_app_for_test", ROOT / "bench" / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def start(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def finish(*procs: subprocess.Popen) -> None:
    for p in procs:
        p.stdin.close()
        p.wait(timeout=30)


def test_server_cpu_counts_its_workers_and_browser_cpu_leaves_the_server_out(bench_app):
    server = start(SERVER.format(burner=BURNER.format(burn=BURN)))
    try:
        worker = int(server.stdout.readline())
        server_cpu, browser_cpu = bench_app.ServerCPU(server.pid), bench_app.BrowserCPU(server.pid)
        assert worker in bench_app._tree(bench_app._processes(), server.pid)
        s0, b0 = server_cpu(), browser_cpu()
        assert server.stdout.readline().strip() == "burnt"          # the worker has burnt BURN seconds
        s1, b1 = server_cpu(), browser_cpu()
        assert s1 - s0 >= 0.8 * BURN                                  # the server's worker is the server's
        assert b1 - b0 < 0.5 * BURN                                   # and not the browser's
        browser = start(BURNER.format(burn=BURN))
        assert browser.stdout.readline().strip() == "burnt"
        b2, s2 = browser_cpu(), server_cpu()
        assert b2 - b1 >= 0.8 * BURN                                  # a process the bench started
        assert s2 - s1 < 0.5 * BURN
        finish(browser)
    finally:
        finish(server)


def test_no_server_pid_means_no_server_cpu(bench_app):
    assert bench_app.ServerCPU(None)() != bench_app.ServerCPU(None)()      # NaN: not measured
    assert bench_app.BrowserCPU(None)() >= 0.0

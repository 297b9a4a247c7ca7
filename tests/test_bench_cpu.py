"""The benches' CPU columns (issue 12; bench/proc_cpu.py, read by bench/app.py and
bench/survival_page.py): the server's CPU counts the server process and its descendants (workers,
the export browser); the browser's counts the processes the bench itself started but not the
server's tree when the bench started the server; a computation's workers are the running
descendants of the process. Checked on real processes: a "server" child with a busy grandchild,
and a busy "browser" child, each burning a known amount of CPU time (not wall time)."""
from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BURN = 0.6          # CPU seconds each burner uses
# a process that, told "go" on its stdin, burns BURN seconds of its own CPU time, then waits for
# its stdin to close (the test reads the CPU before the go)
BURNER = ("import sys, time\n"
          "sys.stdin.readline()\n"
          "t = time.process_time()\n"
          "while time.process_time() - t < {burn}: pass\n"
          "print('burnt', flush=True)\n"
          "sys.stdin.read()\n")
# a "server": starts a burner child (its worker), passes the go on, then waits for its stdin to close
SERVER = ("import subprocess, sys\n"
          "child = subprocess.Popen([sys.executable, '-c', {burner!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
          "print(child.pid, flush=True)\n"
          "child.stdin.write(sys.stdin.readline()); child.stdin.flush()\n"
          "child.stdout.readline()\n"
          "print('burnt', flush=True)\n"
          "sys.stdin.read()\n"
          "child.stdin.close(); child.wait()\n")


def bench_module(name: str):
    """``bench/<name>.py`` (the bench folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}_for_test", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def proc_cpu():
    return bench_module("proc_cpu")


def start(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def go(proc: subprocess.Popen) -> str:
    """Tell a burner (or the server's) to burn; its answer once it has."""
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def finish(*procs: subprocess.Popen) -> None:
    for p in procs:
        p.stdin.close()
        p.wait(timeout=30)


def test_server_cpu_counts_its_workers_and_browser_cpu_leaves_the_server_out(proc_cpu):
    server = start(SERVER.format(burner=BURNER.format(burn=BURN)))
    try:
        worker = int(server.stdout.readline())
        server_cpu, browser_cpu = proc_cpu.ServerCPU(server.pid), proc_cpu.BrowserCPU(server.pid)
        assert worker in proc_cpu._tree(proc_cpu._processes(), server.pid)
        s0, b0, d0 = server_cpu(), browser_cpu(), proc_cpu.descendants_cpu()
        assert go(server) == "burnt"                                 # the worker has burnt BURN seconds
        s1, b1 = server_cpu(), browser_cpu()
        assert s1 - s0 >= 0.8 * BURN                                  # the server's worker is the server's
        assert b1 - b0 < 0.5 * BURN                                   # and not the browser's
        browser = start(BURNER.format(burn=BURN))
        assert go(browser) == "burnt"
        b2, s2 = browser_cpu(), server_cpu()
        assert b2 - b1 >= 0.8 * BURN                                  # a process the bench started
        assert s2 - s1 < 0.5 * BURN
        assert proc_cpu.descendants_cpu() - d0 >= 1.6 * BURN                 # both trees are this process's
        finish(browser)
    finally:
        finish(server)


def test_no_server_pid_means_no_server_cpu(proc_cpu):
    assert math.isnan(proc_cpu.ServerCPU(None)())      # not measured
    assert proc_cpu.BrowserCPU(None)() >= 0.0


@pytest.fixture(scope="module")
def reference():
    return bench_module("reference")


def test_reference_work_is_the_same_work_every_time(reference):
    """bench/reference.py, the machine's speed: the same input and the same results on every run
    (its groups, the total of its counts as pandas sums them, its JSON), so that only the machine
    can change its time."""
    data = reference.reference_data()
    assert data.equals(reference.reference_data())
    done = reference.reference_work(data)
    assert done["groups"] == data.groupby(["site", "age"]).ngroups == reference.GROUPS[0] * reference.GROUPS[1]
    assert done["total"] == round(data["count"].sum())
    # every record written: at least the 60 characters of {"x": 0, "y": 0.0, "name": "trace 0", "marker": {"size": 0}}
    assert done["json_chars"] >= 60 * reference.RECORDS
    assert reference.reference_work(reference.reference_data()) == done
    seconds = reference.reference_seconds(repeats=1)
    assert 0.0 < seconds < 60.0 and math.isfinite(seconds)


def test_one_process_cpu_and_memory(proc_cpu):
    """``process_cpu`` and ``rss_mb`` (bench/load.py's server columns): a burner's own CPU time, its
    resident memory, and NaN for both once it has gone."""
    burner = start(BURNER.format(burn=BURN))
    c0 = proc_cpu.process_cpu(burner.pid)
    assert go(burner) == "burnt"
    assert proc_cpu.process_cpu(burner.pid) - c0 >= 0.8 * BURN
    assert 1.0 < proc_cpu.rss_mb(burner.pid) < 1000.0
    finish(burner)
    assert math.isnan(proc_cpu.process_cpu(burner.pid)) and math.isnan(proc_cpu.rss_mb(burner.pid))

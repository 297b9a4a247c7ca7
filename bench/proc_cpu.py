"""CPU seconds of process trees from /proc, for the benches: a server with its workers and export
browser (:class:`ServerCPU`), the browser a bench drives (:class:`BrowserCPU`), the worker
processes of a computation (:func:`descendants_cpu`), one process (:func:`process_cpu`), and resident
memory (:func:`rss_mb`, :func:`descendants_rss_mb`)."""
from __future__ import annotations

import os
import time
from pathlib import Path


def _stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (so field i is the man page's i + 3)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _processes() -> dict[int, list[str]]:
    return {int(e): f for e in os.listdir("/proc") if e.isdigit() and (f := _stat(e)) is not None}


def _tree(procs: dict[int, list[str]], root: int) -> set[int]:
    """``root`` and its running descendants."""
    tree, grew = {root}, True
    while grew:
        new = {p for p, f in procs.items() if int(f[1]) in tree and p not in tree}
        tree |= new
        grew = bool(new)
    return tree


USER_SYS, REAPED = (11, 12), (13, 14)     # utime, stime; cutime, cstime (children waited for)


def _seconds(procs: dict[int, list[str]], pids, fields: tuple[int, ...] = USER_SYS + REAPED) -> float:
    """CPU seconds of ``pids`` (those still running) from their stat ``fields``."""
    return sum(int(procs[p][i]) for p in pids if p in procs for i in fields) / os.sysconf("SC_CLK_TCK")


class ServerCPU:
    """CPU seconds (user + system) of the server process and its children, from /proc: the
    running descendants (the export server's Chromium) as well as the children already reaped."""

    def __init__(self, pid: int | None):
        self.pid = pid

    def __call__(self) -> float:
        if self.pid is None:
            return float("nan")
        procs = _processes()
        if self.pid not in procs:
            return float("nan")
        return _seconds(procs, [self.pid]) + _seconds(procs, _tree(procs, self.pid) - {self.pid}, USER_SYS)

    def wait_idle(self, share: float = 0.05, timeout: float = 180.0) -> float:
        """Wait until the server uses less than ``share`` of a core over a second (its warm-up,
        which runs every page once after start, is over); returns the seconds waited."""
        t0 = time.monotonic()
        if self.pid is None:
            return 0.0
        last = self()
        while time.monotonic() - t0 < timeout:
            time.sleep(1.0)
            now = self()
            if now - last < share:
                break
            last = now
        return time.monotonic() - t0


class BrowserCPU:
    """CPU seconds of the browser the bench drives: every running process this bench started
    (Playwright's driver, chromium and its renderer, GPU and utility processes, with the children
    they reaped) but the server's tree when the bench started the server; servers it has stopped
    (reaped by the bench itself) are not counted. On the demo's 2 cores the browser shares the
    machine with the server, so its work is part of what a step costs. It includes the bench's
    own polling for the drawn view (a hash of the charts' SVG per animation frame once the run
    has ended)."""

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid

    def __call__(self) -> float:
        procs = _processes()
        mine = _tree(procs, os.getpid()) - {os.getpid()}
        if self.server_pid is not None and self.server_pid in procs:
            mine -= _tree(procs, self.server_pid)
        return _seconds(procs, mine)


def descendants_cpu(root: int | None = None) -> float:
    """CPU seconds of the running descendants of ``root`` (this process by default), with the
    children they reaped; not ``root``'s own."""
    root = os.getpid() if root is None else root
    procs = _processes()
    return _seconds(procs, _tree(procs, root) - {root})


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` itself; NaN once it has gone."""
    procs = {pid: f} if (f := _stat(pid)) is not None else {}
    return _seconds(procs, [pid], USER_SYS) if procs else float("nan")


def rss_mb(pid: int) -> float:
    """Resident memory (MB) of process ``pid``; NaN once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def descendants_rss_mb(root: int | None = None) -> list[float]:
    """Resident memory (MB) of each running descendant of ``root`` (this process by default)."""
    root = os.getpid() if root is None else root
    sizes = (rss_mb(p) for p in sorted(_tree(_processes(), root) - {root}))
    return [mb for mb in sizes if mb == mb]

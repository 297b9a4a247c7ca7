"""A worker process for untrusted files: memory cap, time limit, progress, no traceback.

Reading an upload can take much memory and time (a 5-million-record extract, a hostile file
built to be slow or large). Done in the server's own process it could stall or kill every
other session. :func:`run` executes one function in a separate process:

* its address space is capped with ``resource.RLIMIT_AS`` at the memory it had after start-up
  plus :attr:`~analytics.ingest.limits.Limits.worker_memory_mb`, so an allocation past the cap
  fails inside the worker (a ``MemoryError``, reported as a sentence) instead of the machine
  swapping or the kernel killing the server;
* it is stopped (``SIGKILL`` to that one process) after
  :attr:`~analytics.ingest.limits.Limits.worker_timeout_s`;
* it reports its progress (stage names) through a pipe while it works, and the caller's
  ``progress`` callback sees them (the Data page draws a progress bar);
* whatever happens, the caller gets the function's result, an :class:`IngestError` with the
  sentence the reader wrote, or an :class:`IngestError` saying the worker ran out of memory,
  time, or stopped (a crash): never a traceback.

Workers are forked from a *forkserver* (``multiprocessing``), a small process started once that
has imported the ingest modules: a fork of it is ready in milliseconds and shares nothing with
the server's threads. The worker's peak memory and time come back with the result
(:class:`Outcome`), for the fuzzing benchmark.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import resource
import sys
import threading
import time
import types
from typing import Any, Callable

from analytics.errors import IngestError
from analytics.ingest.limits import MB, Limits
from analytics.ingest.limits import current as current_limits

log = logging.getLogger(__name__)

# the readers (ingest workers), the permutation tests and the survival by-site tables
# (app_support.jobs.ProcessPool workers): a worker forked from the fork server starts with them
# imported (milliseconds, not seconds)
PRELOAD = ["analytics.ingest.preload", "analytics.spatial", "analytics.trends", "analytics.survival",
           "analytics.tables"]
POLL_SECONDS = 0.1
_CONTEXT = None


@dataclasses.dataclass
class Outcome:
    """What a worker gave back: ``value`` (the function's result) or ``error`` (a sentence),
    with its wall time and peak resident memory."""
    value: Any = None
    error: IngestError | None = None
    seconds: float = 0.0
    peak_mb: float = 0.0
    stages: list[str] = dataclasses.field(default_factory=list)
    cpu_seconds: float = 0.0          # the worker's own CPU time (user + system): what the file cost

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def plain_main():
    """Start worker processes inside this block: they do not run the app's script again.

    A process started by ``multiprocessing`` (fork server or spawn) first runs the parent's
    ``__main__`` file again as ``__mp_main__``. Under ``streamlit run`` that module is the app's
    script (Streamlit installs its page module as ``__main__``, with ``__file__`` and no
    loader), so every worker would execute ``app.py`` before its task: ~1 s of CPU, ~180 MB,
    and the app's start-up warm-up (the demo, Chromium) inside an ingest worker. Here a stand-in
    ``__main__`` without a file is installed while the process starts; it is put back unless a
    new script run installed its own meanwhile. A real ``__main__`` (a script run with
    ``python``, pytest) is left alone: its functions may be the task."""
    with _MAIN_LOCK:
        current = sys.modules.get("__main__")
        script = getattr(current, "__file__", None) and getattr(current, "__loader__", None) is None
        if not script:
            yield
            return
        stand_in = types.ModuleType("__main__")
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            if sys.modules.get("__main__") is stand_in:
                sys.modules["__main__"] = current


def worker_context():
    """The multiprocessing context of every worker of the server (this module's and the app's
    process pool, ``app_support.jobs.ProcessPool``): one fork server, started with the ingest
    modules preloaded whichever asks for a worker first."""
    return _context()


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _CONTEXT = ctx
    return _CONTEXT


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(conn, fn: Callable, args: tuple, kwargs: dict, memory_mb: int, label: str | None) -> None:
    """Body of the worker: cap memory, run ``fn`` with a progress callback, send the outcome."""
    import pyarrow as pa

    from analytics.ingest.geo import disable_network

    t0, c0 = time.perf_counter(), time.process_time()
    pa.set_memory_pool(pa.system_memory_pool())    # plain malloc: honours RLIMIT_AS, returns memory
    disable_network()
    cap = _vm_size_bytes() + memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    def progress(stage: str) -> None:
        try:
            conn.send(("progress", stage))
        except (BrokenPipeError, OSError):
            os._exit(0)       # nobody is listening any more: stop quietly

    try:
        value = fn(*args, progress=progress, **kwargs)
        msg = ("ok", value)
    except IngestError as exc:
        msg = ("error", exc)
    except MemoryError:
        msg = ("error", _memory_error(memory_mb, label))
    except RecursionError:
        msg = ("error", IngestError("the file is nested too deeply to be read.", file=label))
    except Exception as exc:  # noqa: BLE001 - a reader path we did not foresee: a sentence, logged
        log.exception("worker failed on %s", label)
        msg = ("error", IngestError(f"the file could not be read ({type(exc).__name__}: {str(exc)[:200]}). Check "
                                    "that it is the right kind of file.", file=label))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    try:
        conn.send(msg + (elapsed, _peak_rss_mb(), cpu))
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)           # the caller stopped waiting (time limit, page closed): nothing to report
    except MemoryError:
        conn.send(("error", _memory_error(memory_mb, label), elapsed, _peak_rss_mb(), cpu))
    except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
        conn.send(("error", IngestError(f"the result could not be returned ({type(exc).__name__}).", file=label),
                   elapsed, _peak_rss_mb(), cpu))
    finally:
        conn.close()


def _memory_error(memory_mb: int, label: str | None) -> IngestError:
    return IngestError(f"reading the file needs more memory than is allowed for one file ({memory_mb:,} MB). "
                       "Split the file (e.g. by year), or ask the operator to raise REGISTRY_WORKER_MEMORY_MB.",
                       file=label)


def run(fn: Callable, *args, limits: Limits | None = None, progress: Callable[[str], None] | None = None,
        label: str | None = None, **kwargs) -> Outcome:
    """Run ``fn(*args, progress=..., **kwargs)`` in a worker process; see the module docstring.

    ``fn`` must be importable (a module-level function) and accept a ``progress`` keyword;
    its result must be picklable. Returns an :class:`Outcome`; ``outcome.unwrap()`` gives
    the value or raises the :class:`IngestError`.
    """
    lim = current_limits(limits)
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs, lim.worker_memory_mb, label), daemon=True)
    t0 = time.perf_counter()
    with plain_main():
        proc.start()
    child.close()
    stages: list[str] = []
    deadline = t0 + lim.worker_timeout_s
    try:
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return Outcome(error=IngestError(
                    f"reading the file took longer than {lim.worker_timeout_s:,} s and was stopped. Split the file "
                    "(e.g. by year), or ask the operator to raise REGISTRY_WORKER_TIMEOUT_S.", file=label),
                    seconds=time.perf_counter() - t0, stages=stages)
            if parent.poll(min(POLL_SECONDS, remaining)):
                try:
                    msg = parent.recv()
                except (EOFError, OSError):
                    return _crashed(proc, label, t0, stages)
                if msg[0] == "progress":
                    stages.append(msg[1])
                    if progress is not None:
                        progress(msg[1])
                    continue
                kind, payload, seconds, peak, cpu = msg
                out = Outcome(seconds=seconds, peak_mb=peak, stages=stages, cpu_seconds=cpu)
                if kind == "ok":
                    out.value = payload
                else:
                    out.error = payload
                return out
            if not proc.is_alive() and not parent.poll():
                return _crashed(proc, label, t0, stages)
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)


def _crashed(proc, label: str | None, t0: float, stages: list[str]) -> Outcome:
    proc.join(5)
    code = proc.exitcode
    log.warning("ingest worker for %s stopped with exit code %s", label, code)
    return Outcome(error=IngestError(
        f"reading the file stopped unexpectedly (the worker ended with code {code}), probably for lack of memory. "
        "Check the file; split it if it is very large.", file=label), seconds=time.perf_counter() - t0, stages=stages)

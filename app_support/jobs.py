"""Long work runs beside the sessions' script runs, never inside them.

Streamlit runs every session's script in one process: a computation that holds the GIL for
seconds on one session's script thread stalls every other session's rerun. Two pools:

* documents (reports, fact sheets): ``cache.worker_pool()``, threads; the page polls the
  :class:`Job` from a fragment with a progress bar (``pages/report.py``);
* computations (permutation tests: Moran's I and LISA, joinpoint): ``cache.process_pool()``,
  a :class:`ProcessPool` of worker *processes* forked from the ingest fork server
  (``analytics.ingest.sandbox.worker_context``). The session's script thread only waits on the
  job's future — a wait that releases the GIL — while a progress bar follows the worker
  (``app_support.progress.wait_for``); the result is cached per data set and selection in
  ``app_support.cache``, so the same job is never run twice and sessions asking for the same
  result wait on the same job.

A :class:`Job` is its progress (0-1 and a message), its result or its failure, and for a
process job the id of the worker process that ran it (``pid``).

This module never imports streamlit: the worker processes import it to run their task.
"""
from __future__ import annotations

import itertools
import logging
import os
import queue as queue_mod
import threading
import time
import weakref
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable

from analytics.ingest import sandbox

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Job:
    """One build: its progress (0-1 and a message), its result or the sentence of its failure."""

    label: str
    fraction: float = 0.0
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    future: Future | None = None
    pid: int | None = None            # the worker process that ran it (process jobs)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, fraction: float, message: str) -> None:
        """The build's progress callback (called from the worker thread)."""
        with self._lock:
            self.fraction = min(max(float(fraction), self.fraction), 1.0)
            if message:
                self.message = message

    def done(self) -> bool:
        return self.future is not None and self.future.done()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait (without holding the GIL) until the job is done or ``timeout`` s passed; done?"""
        if self.future is None:
            return False
        try:
            self.future.exception(timeout=timeout)
        except TimeoutError:
            return False
        return True

    def result(self) -> Any:
        return self.future.result() if self.done() and self.future.exception() is None else None

    def error(self) -> BaseException | None:
        return self.future.exception() if self.done() else None

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


def submit(pool, label: str, build: Callable[..., Any], *args, **kwargs) -> Job:
    """Run ``build(*args, progress=job.update, **kwargs)`` in ``pool``; returns the job at once."""
    job = Job(label)

    def run():
        try:
            return build(*args, progress=job.update, **kwargs)
        except Exception:
            log.exception("background build %r failed", label)
            raise
        finally:
            job.finished = time.monotonic()
            job.update(1.0, "")
    job.future = pool.submit(run)
    return job


def value(job: Job) -> Any:
    """The job's result, waiting for it (GIL released); its exception re-raised."""
    return job.future.result()


# --- worker processes ----------------------------------------------------------------------------
_PROGRESS = None            # in a worker process: the queue its progress goes to


SERVER_WATCH_SECONDS = 1.0    # how often a worker checks that the process that started it is alive


def _start_worker(progress_queue, server_pid: int) -> None:
    global _PROGRESS
    _PROGRESS = progress_queue
    threading.Thread(target=_exit_with, args=(server_pid, _started(server_pid)), name="server-watch",
                     daemon=True).start()


def _started(pid: int) -> str | None:
    """The process's start time (``/proc/PID/stat``, field 22), to tell it from a later process
    given the same id; None where there is no ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def _exit_with(server_pid: int, started: str | None) -> None:
    """A worker's watch thread: the worker ends when the server that started the pool is gone.

    A worker blocks on its task queue, whose pipe it holds both ends of, and it holds the fork
    server's "alive" pipe too: a server stopped without shutting its pool down (SIGTERM from
    systemd, SIGKILL, a crash) left its workers and the fork server running for good, about
    430 MB each restart (seen: seven such sets after a day of test servers). With the workers
    gone, the fork server sees its pipe close and ends too."""
    while True:
        time.sleep(SERVER_WATCH_SECONDS)
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:      # alive, another user's: not ours any more
            break
        if started is not None and _started(server_pid) != started:
            break
    os._exit(0)


def _run_task(job_id: int, fn: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[int, Any]:
    """Body of a process job: ``fn(*args, progress=..., **kwargs)``; returns (worker pid, result)."""
    def progress(fraction: float, message: str = "") -> None:
        if _PROGRESS is not None:
            _PROGRESS.put((job_id, float(fraction), str(message)))

    return os.getpid(), fn(*args, progress=progress, **kwargs)


def _ready(progress: Callable[[float, str], None] | None = None) -> None:
    """The no-op job of :meth:`ProcessPool.warm`."""


class ProcessPool:
    """Worker processes for computations (see the module doc), started on demand.

    ``submit(label, fn, *args, **kwargs)`` runs ``fn(*args, progress=..., **kwargs)`` in a worker
    and returns a :class:`Job` at once; ``fn`` must be importable (a module-level function) and
    its arguments and result picklable. The workers' ``progress(fraction, message)`` calls reach
    the job through one queue read by a thread of this process. A worker that dies (killed for
    memory) breaks the executor: the jobs it held fail with ``BrokenProcessPool`` and the next
    submission starts a new executor."""

    def __init__(self, max_workers: int, context) -> None:
        self._max_workers, self._context = max_workers, context
        self._progress = context.SimpleQueue()
        self._jobs: weakref.WeakValueDictionary[int, Job] = weakref.WeakValueDictionary()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._executors: list[ProcessPoolExecutor] = []      # the current one last
        threading.Thread(target=_listen, args=(self._progress, self._jobs), name="job-progress", daemon=True).start()
        # a pool dropped (the app's caches cleared) stops its workers and its listener
        weakref.finalize(self, _close, self._progress, self._executors)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if not self._executors or getattr(self._executors[-1], "_broken", False):
                self._executors[:] = [ProcessPoolExecutor(self._max_workers, mp_context=self._context,
                                                          initializer=_start_worker,
                                                          initargs=(self._progress, os.getpid()))]
            return self._executors[-1]

    def submit(self, label: str, fn: Callable[..., Any], *args, **kwargs) -> Job:
        job, job_id = Job(label), next(self._ids)
        self._jobs[job_id] = job
        job.future = Future()
        with sandbox.plain_main():          # a worker it starts does not run app.py again
            try:
                inner = self._pool().submit(_run_task, job_id, fn, args, kwargs)
            except BrokenProcessPool:        # broke between the check and the submission: once more
                inner = self._pool().submit(_run_task, job_id, fn, args, kwargs)

        def finish(done: Future) -> None:
            job.finished = time.monotonic()
            exc = CancelledError() if done.cancelled() else done.exception()
            if exc is not None:
                log.error("background computation %r failed: %s", label, exc)
                job.future.set_exception(exc)
                return
            job.pid, out = done.result()
            job.update(1.0, "")
            job.future.set_result(out)
        inner.add_done_callback(finish)
        return job

    def warm(self) -> Job:
        """Start the fork server and one worker now (a no-op job), so the first permutation test
        of the process does not wait for them (``app_support.background``)."""
        return self.submit("warm-up", _ready)

    def shutdown(self) -> None:
        """Stop the workers (jobs not started are cancelled; running ones finish first)."""
        with self._lock:
            for executor in self._executors:
                executor.shutdown(wait=True, cancel_futures=True)
            self._executors.clear()


def _listen(progress, jobs_by_id: weakref.WeakValueDictionary) -> None:
    """The pool's listener thread: the workers' progress messages to their jobs, until ``None``."""
    while True:
        try:
            item = progress.get()
        except (EOFError, OSError, queue_mod.Empty):      # the process is ending
            return
        if item is None:
            return
        job_id, fraction, message = item
        job = jobs_by_id.get(job_id)
        if job is not None:
            job.update(fraction, message)


def _close(progress, executors: list) -> None:
    """Finaliser of a dropped :class:`ProcessPool`: its workers stop, its listener ends."""
    for executor in executors:
        executor.shutdown(wait=False, cancel_futures=True)
    progress.put(None)


def lost(job: Job) -> bool:
    """Did the job fail because its worker process died or the pool shut down (worth running
    again), rather than by an error of the computation itself (the same again)?"""
    return job.done() and isinstance(job.error(), (BrokenProcessPool, CancelledError))

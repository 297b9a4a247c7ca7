"""Long builds (documents) run in the process's worker pool (``cache.worker_pool``), not in the
session's script run: the page shows their progress and the other sessions stay responsive.

A :class:`Job` is kept in the session's state; the worker writes its progress, the page reads it.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One build: its progress (0-1 and a message), its result or the sentence of its failure."""

    label: str
    fraction: float = 0.0
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    future: Future | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, fraction: float, message: str) -> None:
        """The build's progress callback (called from the worker thread)."""
        with self._lock:
            self.fraction = min(max(float(fraction), self.fraction), 1.0)
            if message:
                self.message = message

    def done(self) -> bool:
        return self.future is not None and self.future.done()

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

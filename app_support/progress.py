"""A progress bar while a session waits for a job of the process pool (``app_support.jobs``).

The session's script thread waits on the job's future, which releases the GIL: other sessions'
reruns go on meanwhile. A finished job (the usual case: results are cached per data set and
selection) draws nothing. A rerun of the session (the user changed a control) interrupts the wait
at the next update of the bar; the job goes on in its worker and its result stays cached.
"""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from app_support import jobs

POLL_SECONDS = 0.25      # how often the bar follows the worker


def waiting(text: Callable[[int], str]) -> Callable[[jobs.Job], Any]:
    """A ``wait`` for ``cache.clusters`` / ``cache.joinpoint_fit``: draws a progress bar labelled
    ``text(percent)`` until the job is done, removes it, returns the job's result (or raises its
    error)."""
    def wait(job: jobs.Job) -> Any:
        if not job.wait(0):
            bar = st.progress(job.fraction, text=text(round(100 * job.fraction)))
            while not job.wait(POLL_SECONDS):
                bar.progress(job.fraction, text=text(round(100 * job.fraction)))
            bar.empty()
        return jobs.value(job)
    return wait

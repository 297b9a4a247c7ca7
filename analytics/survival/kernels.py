"""Compiled loops (numba) of the population day sums (:mod:`.population`): a stratification's sums
over the pieces of follow-up its patients share with the others.

Why compiled: the sums are a scatter of each piece's moments ``w lambda^p`` (p = 0..N) to the
first and past-the-last day it covers, a running sum over days and a short series per day
(:mod:`.population`'s docstring). As numpy operations they take one ``np.bincount`` per moment
and end, each a pass over all pieces and all days (about 0.2 s per stratification of the demo's
1.2 million pieces, most of a new Survival selection); here one pass over the pieces writes each
piece's N + 1 moments side by side (day-major: one cache line per end) and one pass over the days
sums and evaluates them. The arithmetic is the numpy version's (the same products, quotients and
series by Horner's rule); only the order in which the pieces' moments are added on a day is the
pieces' own (by record, block and piece), so sums agree with it to rounding. The result of a
stratification depends on its own pieces only, in their order: computing it beside others, or
over a longer follow-up, gives the same bits.

The machine code is cached on disk where numba finds a writable place: ``NUMBA_CACHE_DIR``
(the systemd unit sets it: the installation is read-only to the service), else beside this file
(``make install`` compiles it there), else the user's cache. Then a process loads it (about
0.3 s, once) instead of compiling it (about 3 s); with no writable place it compiles once per
process, and says so in the log.
"""
from __future__ import annotations

import logging
from typing import Callable

import numba
import numpy as np

log = logging.getLogger(__name__)

_JIT = dict(nopython=True, nogil=True)


def _compiled(func: Callable) -> Callable:
    """``func`` compiled by numba (no Python objects, the GIL released), its machine code cached."""
    try:
        return numba.jit(cache=True, **_JIT)(func)
    except RuntimeError as exc:         # numba: "cannot cache function ...: no locator available"
        log.warning("survival kernels compiled in each process (%s): set NUMBA_CACHE_DIR to a writable folder",
                    exc)
        return numba.jit(**_JIT)(func)


@_compiled
def piece_days(p_rec, p_start, p_end, time, begin, off):
    """Per piece (``p_*``: record, first day, day past the last), the first and past-the-last
    position it counts on the stratification's flattened (stratum, day) axis: from the record's
    first counted day (``begin``) to its last day here (``time``), ``off`` its stratum's first
    position; ``i1 <= i0`` where it counts on no day (a record not in the stratification has
    ``time`` 0)."""
    n = p_rec.size
    i0 = np.empty(n, np.int64)
    i1 = np.empty(n, np.int64)
    for j in range(n):
        r = p_rec[j]
        cut = min(p_end[j], time[r])
        first = max(p_start[j], begin[r])
        if cut > first:
            i0[j] = off[r] + first
            i1[j] = off[r] + cut
        else:
            i0[j] = 0
            i1[j] = 0
    return i0, i1


@_compiled
def add_hazard(i0, i1, lam, h):
    """Ederer II's expected hazard: each piece's daily hazard on the days it covers (difference
    array ``h``, of the axis's length + 1)."""
    for j in range(i0.size):
        if i1[j] > i0[j]:
            h[i0[j]] += lam[j]
            h[i1[j]] -= lam[j]


@_compiled
def _covered(i0, i1, total):
    """Days (positions) covered by at least one piece, and for each position 0..total the number of
    covered days before it."""
    cover = np.zeros(total + 1, np.int64)
    for j in range(i0.size):
        if i1[j] > i0[j]:
            cover[i0[j]] += 1
            cover[i1[j]] -= 1
    before = np.empty(total + 1, np.int64)
    running = 0
    count = 0
    for d in range(total + 1):
        before[d] = count
        running += cover[d]
        if d < total and running > 0:
            count += 1
    days = np.empty(count, np.int64)
    k = 0
    running = 0
    for d in range(total):
        running += cover[d]
        if running > 0:
            days[k] = d
            k += 1
    return days, before


@_compiled
def _scatter(mom, a, b, w, lam):
    """A piece's moments w, w lambda, ..., w lambda^N added at row ``a`` and taken off at row ``b``."""
    t = w
    for p in range(mom.shape[1]):
        mom[a, p] += t
        mom[b, p] -= t
        t = t * lam


@_compiled
def _series_at(run, d, x, g0, g1, g0e, g1e):
    """On day ``d``, from the running moments ``run`` (M_0..M_N), the four series of population.py's
    docstring by Horner's rule: ``g0 = sum_p M_p x^p / p!`` over p < N, ``g1`` the same of M_(p+1);
    primed (``g0e``, ``g1e``) at x + 1, the end of the day."""
    n1 = run.size
    for i in range(4):
        at = x[d] + 1.0 if i >= 2 else x[d]
        lo = i % 2                       # g1 sums M_(p+1): the series of the moments from 1
        out = run[lo + n1 - 2]
        for q in range(n1 - 3, -1, -1):
            out = out * at
            out = out / (q + 1)
            out = run[lo + q] + out
        if i == 0:
            g0[d] += out
        elif i == 1:
            g1[d] += out
        elif i == 2:
            g0e[d] += out
        else:
            g1e[d] += out


@_compiled
def class_sums(i0, i1, w, lam, n_terms, x, g0, g1, g0e, g1e):
    """The four sums of one class of hazards (its pieces' positions ``i0``/``i1``, weights ``w`` and
    daily hazards ``lam``, summed to ``n_terms`` terms) on the days its pieces cover, added to
    ``g0``, ``g1``, ``g0e``, ``g1e`` (of the axis's length ``x.size``)."""
    days, before = _covered(i0, i1, x.size)
    mom = np.zeros((days.size + 1, n_terms + 1))
    for j in range(i0.size):
        if i1[j] > i0[j]:
            _scatter(mom, before[i0[j]], before[i1[j]], w[j], lam[j])
    run = np.zeros(n_terms + 1)
    for k in range(days.size):
        for p in range(n_terms + 1):
            run[p] += mom[k, p]
        _series_at(run, days[k], x, g0, g1, g0e, g1e)


@_compiled
def accumulate_class(i0, i1, w, lam, mom, cover):
    """A chunk's pieces of one class added to the class's moments on every position (``mom``,
    day-major, rows = the axis's length + 1) and to its coverage (difference array): over several
    chunks the moments are summed once at the end (:func:`evaluate_class`)."""
    for j in range(i0.size):
        if i1[j] > i0[j]:
            cover[i0[j]] += 1
            cover[i1[j]] -= 1
            _scatter(mom, i0[j], i1[j], w[j], lam[j])


@_compiled
def evaluate_class(mom, cover, x, g0, g1, g0e, g1e):
    """The four sums of a class accumulated over chunks (:func:`accumulate_class`), on the days its
    pieces cover."""
    n1 = mom.shape[1]
    run = np.zeros(n1)
    running = 0
    for d in range(x.size):
        running += cover[d]
        for p in range(n1):
            run[p] += mom[d, p]
        if running > 0:
            _series_at(run, d, x, g0, g1, g0e, g1e)


def warm() -> None:
    """Load (or, on a new installation, compile) every kernel now: the worker processes' fork
    server calls this once, so each worker forked from it starts with them loaded, and
    ``make install`` once, so the first fit of a new process does not compile."""
    i = np.zeros(1, np.int64)
    f = np.zeros(1)
    i0, i1 = piece_days(i, i, i, i, i, i)
    add_hazard(i0, i1, f, np.zeros(2))
    class_sums(i0, i1, f, f, 1, f, f, f, f, f)
    accumulate_class(i0, i1, f, f, np.zeros((2, 2)), np.zeros(2, np.int64))
    evaluate_class(np.zeros((2, 2)), np.zeros(2, np.int64), f, f, f, f, f)

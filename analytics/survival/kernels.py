"""Compiled loops (numba) of the population day sums (:mod:`.population`): the pieces of constant
life-table cell of each follow-up (:func:`pieces`) and a stratification's sums over them
(:func:`piece_days`, :func:`class_sums`, :func:`add_hazard`, :func:`cum_hazard`).

Why compiled: the sums are a scatter of each piece's moments ``w lambda^p`` (p = 0..N) to the
first and past-the-last day it covers, a running sum over days and a short series per day
(:mod:`.population`'s docstring). As numpy operations (until round 16) they took one
``np.bincount`` per moment and end, each a pass over all pieces and all days (about 0.2 s per
stratification of the demo's 1.2 million pieces, most of a new Survival selection), and the
pieces a dozen passes over every block; here one pass over a class's pieces writes each piece's
N + 1 moments side by side (day-major: one cache line per end), one pass over the days sums and
evaluates them, and one pass over the blocks makes the pieces. The arithmetic is the numpy
version's (the same products, quotients and series by Horner's rule, the cumulative hazards
added in the same order); the pieces' moments are added on a day in the pieces' own order (by
record, block and piece), so a stratification's result depends on its own pieces only: computing
it beside others, or over a longer follow-up, gives the same bits.

The machine code is cached on disk where numba finds a writable place: ``NUMBA_CACHE_DIR``
(the systemd unit sets it: the installation is read-only to the service), else beside this file
(``make install`` compiles it there), else the user's cache. Then a process loads it (about
0.3 s, once, after numba's own import of about 0.4 s) instead of compiling it (about 8 s of CPU
on these 2 cores); with no writable place it compiles once per process, and says so in the log.
"""
from __future__ import annotations

import logging
from typing import Callable

import numba
import numpy as np

log = logging.getLogger(__name__)

_JIT = dict(nopython=True, nogil=True)
_UNCACHED: list[str] = []       # the kernels numba found no place to cache (said once in the log)


def _compiled(func: Callable) -> Callable:
    """``func`` compiled by numba (no Python objects, the GIL released), its machine code cached."""
    try:
        return numba.jit(cache=True, **_JIT)(func)
    except RuntimeError as exc:         # numba: "cannot cache function ...: no locator available"
        if not _UNCACHED:
            log.warning("survival kernels compiled in each process (%s): set NUMBA_CACHE_DIR to a writable "
                        "folder", exc)
        _UNCACHED.append(func.__name__)
        return numba.jit(**_JIT)(func)


@_compiled
def _row_at(cuts, value, row):
    """``clip(searchsorted(cuts, value, "right") - 1, 0, cuts.size - 1)``; for ``row >= 0`` (the row
    of an earlier value of the same follow-up: its blocks go forward in age and time) found by
    moving on from it, by one cut at most per block."""
    if row < 0:
        return min(max(np.searchsorted(cuts, value, side="right") - 1, 0), cuts.size - 1)
    while row + 1 < cuts.size and cuts[row + 1] <= value:
        row += 1
    return row


@_compiled
def _cell_bounds(ad, diag, b0, b1, age_cuts, year_cuts, k0, m0):
    """The cells of one block of follow-up (days ``b0``..``b1`` of a patient aged ``ad`` days at
    diagnosis on day number ``diag``; ``k0``, ``m0`` the previous block's, or -1): the life
    table's age row ``k0`` and year column ``m0`` at its start, the first day ``a`` whose start is
    at or past the next birthday cut and the first day ``c`` in the next calendar year (``b1``
    when there is none). The float additions are relsurv's, in its order."""
    n_age = age_cuts.size
    n_year = year_cuts.size
    k0 = _row_at(age_cuts, ad + b0, k0)
    cut = age_cuts[min(k0 + 1, n_age - 1)]
    a = np.int64(np.ceil(cut - ad))
    if ad + (a - 1) >= cut:
        a -= 1
    if ad + a < cut:
        a += 1
    a = min(max(a, b0), b1) if k0 < n_age - 1 else b1
    m0 = _row_at(year_cuts, diag + b0, m0)
    c = year_cuts[min(m0 + 1, n_year - 1)] - diag
    c = min(max(c, b0), b1) if m0 < n_year - 1 else b1
    return k0, a, m0, c


@_compiled
def _blocks(time, age_days, diag, group, rates, age_cuts, year_cuts, block):
    """Each follow-up cut into blocks of ``block`` days and each block into its (at most) three
    pieces of constant cell, in order: per block its pieces' first days, past-the-last days and
    daily hazards, and the cumulative hazard at its start (each record's blocks added in order);
    per record its first block."""
    n = time.size
    first = np.empty(n, np.int64)
    n_blocks = 0
    for r in range(n):
        first[r] = n_blocks
        n_blocks += (time[r] + block - 1) // block
    starts = np.empty((n_blocks, 3), np.int64)
    ends = np.empty((n_blocks, 3), np.int64)
    lam = np.empty((n_blocks, 3))
    before = np.empty(n_blocks)
    for r in range(n):
        running = 0.0
        g = group[r]
        k0 = -1                         # found by binary search for the first block, then moved on
        m0 = -1
        for j in range((time[r] + block - 1) // block):
            i = first[r] + j
            b0 = j * block
            b1 = min(b0 + block, time[r])
            k0, a, m0, c = _cell_bounds(age_days[r], diag[r], b0, b1, age_cuts, year_cuts, k0, m0)
            lo = min(a, c)
            hi = max(a, c)
            starts[i, 0], starts[i, 1], starts[i, 2] = b0, lo, hi
            ends[i, 0], ends[i, 1], ends[i, 2] = lo, hi, b1
            lam[i, 0] = rates[g, k0, m0]
            lam[i, 1] = rates[g, k0 + (1 if a < c else 0), m0 + (1 if c < a else 0)]
            lam[i, 2] = rates[g, k0 + (1 if a < b1 else 0), m0 + (1 if c < b1 else 0)]
            before[i] = running
            running += (lam[i, 0] * (lo - b0) + lam[i, 1] * (hi - lo)) + lam[i, 2] * (b1 - hi)
    return first, starts, ends, lam, before


@_compiled
def _read(time, first, starts, ends, lam, before, block, bounds, read_from, read_to, weighted):
    """The non-empty pieces of the blocks any stratification reads (``read_from``..``read_to``,
    block numbers within each record), flat and grouped by class of hazard (a stable counting
    sort: within a class by record, block and piece; the class of ``lam`` is the first of
    ``bounds`` at or above ``lam * (block + 1)``), with their weights ``w = 1/S`` at the piece's
    start shifted back to the block start, ``exp(Lambda - lam (start - b0))`` (when
    ``weighted``), and the class boundaries ``edges``."""
    n = time.size
    cls = np.empty(starts.shape, np.int8)
    counts = np.zeros(bounds.size + 1, np.int64)
    for r in range(n):
        for j in range(read_from[r], min(read_to[r] + 1, (time[r] + block - 1) // block)):
            i = first[r] + j
            for q in range(3):
                if ends[i, q] > starts[i, q]:
                    cls[i, q] = np.searchsorted(bounds, lam[i, q] * (block + 1), side="left")
                    counts[cls[i, q] + 1] += 1
    edges = np.cumsum(counts)
    fill = edges[:-1].copy()
    total = edges[-1]
    f_rec = np.empty(total, np.int64)
    f_start = np.empty(total, np.int64)
    f_end = np.empty(total, np.int64)
    f_lam = np.empty(total)
    f_w = np.empty(total if weighted else 0)
    for r in range(n):
        for j in range(read_from[r], min(read_to[r] + 1, (time[r] + block - 1) // block)):
            i = first[r] + j
            b0 = j * block
            at = before[i]              # Lambda at the piece's start: the block's, then its pieces added
            for q in range(3):
                if ends[i, q] > starts[i, q]:
                    k = fill[cls[i, q]]
                    fill[cls[i, q]] += 1
                    f_rec[k], f_start[k], f_end[k], f_lam[k] = r, starts[i, q], ends[i, q], lam[i, q]
                    if weighted:
                        f_w[k] = np.exp(at - lam[i, q] * (starts[i, q] - b0))
                at = at + lam[i, q] * (ends[i, q] - starts[i, q])
    return f_rec, f_start, f_end, f_lam, f_w, edges


@_compiled
def pieces(time, age_days, diag, group, rates, age_cuts, year_cuts, block, bounds, read_from, read_to, weighted):
    """The pieces of constant cell of each follow-up (population.py's docstring; :func:`_blocks`:
    per block ``starts``, ``ends``, ``lam``, the cumulative hazard at its start, per record its
    first block) and those any stratification reads, by class of hazard (:func:`_read`)."""
    first, starts, ends, lam, before = _blocks(time, age_days, diag, group, rates, age_cuts, year_cuts, block)
    f_rec, f_start, f_end, f_lam, f_w, edges = _read(time, first, starts, ends, lam, before, block, bounds,
                                                     read_from, read_to, weighted)
    return first, starts, ends, lam, before, f_rec, f_start, f_end, f_lam, f_w, edges


@_compiled
def cum_hazard(records, time, first, starts, ends, lam, before, block):
    """Lambda_i(time_i) of each record (``records``: positions among the blocks' records, ``time``
    its follow-up here): the cumulative hazard at the start of the block holding its last day
    plus that block's pieces up to it (the pieces summed first, in order)."""
    out = np.empty(records.size)
    for k in range(records.size):
        t = time[k]
        b = first[records[k]] + (t - 1) // block
        part = 0.0
        for q in range(3):
            part += lam[b, q] * max(min(ends[b, q], t) - starts[b, q], 0)
        out[k] = before[b] + part
    return out


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
    cum_hazard(i, i + 1, i, np.zeros((1, 3), np.int64), np.ones((1, 3), np.int64), np.zeros((1, 3)), f, 365)
    pieces(i + 1, f, i, i, np.zeros((1, 1, 1)), f, i, 365, f + 1, i, i, True)
    evaluate_class(np.zeros((2, 2)), np.zeros(2, np.int64), f, f, f, f, f)

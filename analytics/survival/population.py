"""Expected (population) mortality of each patient, followed as age and calendar time pass.

The model is relsurv's (``rs.surv``, C routine ``netfastpinter2``; Pohar Perme, Stare & Estève
2012, Biometrics 68:113-120) and ``survival::ratetable``'s: time in days, the population hazard
constant within each single year of age x calendar year cell of the life table; on follow-up day
``d`` (covering the time (d, d+1]) a patient is in the cell of the start of that day: age
``age * 365.241 + d`` days against cut points ``k * 365.241``, date ``diagnosis + d`` against the
1 January dates of the table's years (leap years count). Ages above the top row use the top row,
years outside the table the nearest year. Population survival ``S_i(d) = exp(-Lambda_i(d))``.

What the estimators need are sums over the patients at risk on each day ``d`` of a stratum:

* ``g0[d] = sum 1/S_i(d)`` and ``g1[d] = sum lambda_i(d)/S_i(d)`` (S at the start of the day),
  ``g0e``/``g1e`` the same with S at its end (``S_i(d+1)``): Pohar Perme's weights;
* ``h[d] = sum lambda_i(d)``: Ederer II's expected hazard.

No loop over patients or days: each follow-up is cut into pieces of constant cell, also at every
multiple of ``BLOCK`` days of follow-up (a block of 365 days holds at most one birthday and one
1 January, so a block has at most three pieces and they come out in order). Within a piece
``1/S`` grows geometrically, ``w * exp(lambda (d - b))`` with ``b`` the block start, so per day
``g0[d] = sum_n M_n[d] (d - b)^n / n!`` with moments ``M_n[d] = sum_(pieces covering d) w lambda^n``
accumulated by difference arrays and a running sum (compiled loops: :mod:`.kernels`); the series
is cut where its remainder is below 1e-12 of the sum. Pieces are grouped into classes of hazard
(``RATE_CLASSES``, ``lambda * (BLOCK + 1)`` up to 0.02, 0.1, 0.4, 1.5 and above), each summed with
as many terms as its largest hazard needs: most patient-days (ages under 80) need 7 to 10 terms,
only the oldest more.
"""
from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from analytics.lifetable import RateTable
from analytics.survival import kernels
from analytics.survival.base import DAYS_PER_YEAR, EventTable, SurvivalInput

log = logging.getLogger(__name__)

BLOCK = 365                 # days; <= 365 keeps at most one age and one year boundary per block
TAYLOR_TOLERANCE = 1e-12
RATE_CLASSES = (0.02, 0.1, 0.4, 1.5)   # class upper bounds of lambda * (BLOCK + 1)
CHUNK = 200_000             # records per pass (bounds memory: about 3 pieces per patient-year)


@dataclasses.dataclass
class DaySums:
    """Sums over the patients at risk on each day, flattened over (stratum, day)."""
    g0: np.ndarray
    g1: np.ndarray
    g0e: np.ndarray
    g1e: np.ndarray
    h: np.ndarray
    cum_hazard: np.ndarray      # per record: Lambda_i(time_i)


def n_terms(max_rate: float, block: int = BLOCK) -> int:
    """Degree N of the exponential series so that x^(N+1)/(N+1)! < tolerance for x = rate x (block+1)."""
    x = max(max_rate * (block + 1), 1e-12)
    n, term = 0, 1.0
    while term * x / (n + 1) >= TAYLOR_TOLERANCE and n < 60:
        term *= x / (n + 1)
        n += 1
    return n + 1


@dataclasses.dataclass
class Target:
    """One stratification of (some of) the records whose day sums :func:`shared_day_sums` computes:
    ``records`` are positions in the shared input, ``time`` their follow-up here (at most the shared
    input's), ``stratum`` their stratum, ``contrib_start`` the first day each counts
    (:func:`interval_starts`) and ``ev`` the event table of these records and strata."""
    records: np.ndarray
    time: np.ndarray
    stratum: np.ndarray
    contrib_start: np.ndarray
    ev: EventTable


def distinct_targets(targets: list[Target]) -> tuple[list[Target], list[int]]:
    """The targets whose day sums differ, and for each target the position of its twin among them:
    two targets with the same records, follow-up, strata and first counted days have the same sums
    (their event tables follow from these). A few stratifications are compared, array by array."""
    distinct: list[Target] = []
    which = []
    for t in targets:
        same = [i for i, u in enumerate(distinct)
                if all(np.array_equal(a, b) for a, b in ((u.records, t.records), (u.time, t.time),
                                                         (u.stratum, t.stratum), (u.contrib_start, t.contrib_start)))]
        if not same:
            distinct.append(t)
        which.append(same[0] if same else len(distinct) - 1)
    return distinct, which


def day_sums(inp: SurvivalInput, rt: RateTable, ev: EventTable, contrib_start: np.ndarray, *,
             weighted: bool = True) -> DaySums:
    """Per-day sums (module docstring) for every stratum; ``contrib_start`` is the first day at which
    each record counts (the start of the interval of its entry: 0 but in the period approach)."""
    target = Target(np.arange(inp.time.size), inp.time, inp.stratum, contrib_start, ev)
    return shared_day_sums(inp, rt, [target], weighted=weighted)[0]


def shared_day_sums(inp: SurvivalInput, rt: RateTable, targets: list[Target], *,
                    weighted: bool = True) -> list[DaySums]:
    """:func:`day_sums` of several stratifications of the same patients at once: the pieces of each
    follow-up (cells, hazards, population survival at their starts) are computed once over ``inp``
    (its ``time`` the longest follow-up any target needs) and summed into each target's own
    strata, days and intervals. Each result equals :func:`day_sums` of that target alone up to
    rounding (the running hazard sums differ in their last bits)."""
    group = rt.group_index(inp.sex, inp.region)
    bounds = np.array([b for b in RATE_CLASSES if b < rt.max_rate * (BLOCK + 1)] + [rt.max_rate * (BLOCK + 1)])
    terms = [n_terms(b / (BLOCK + 1)) for b in bounds]
    chunked = inp.time.size > CHUNK
    acc = [_Sums(t, bounds, terms, weighted, chunked) for t in targets]
    where = []
    for t in targets:
        pos = np.full(inp.time.size, -1, np.int64)
        pos[t.records] = np.arange(t.records.size)
        where.append(pos)
    read_from, read_to = _blocks_read(inp.time.size, targets)
    age_days = inp.age * DAYS_PER_YEAR
    for lo_i in range(0, inp.time.size, CHUNK):          # memory bound only: chunks are independent
        sl = slice(lo_i, lo_i + CHUNK)
        # the pieces of each follow-up and those any target reads (compiled: kernels.pieces)
        out = kernels.pieces(inp.time[sl], age_days[sl], inp.diag_day[sl], group[sl], rt.rates, rt.age_cuts,
                             rt.year_cuts, BLOCK, bounds, read_from[sl], read_to[sl], weighted)
        first, starts, ends, lam, block_before, f_rec, f_start, f_end, f_lam, f_w, edges = out
        pieces = _Pieces(starts, ends, lam, first, block_before)
        flat = _Read(f_rec, f_start, f_end, f_lam, f_w if weighted else None, edges)
        for a, pos in zip(acc, where):
            a.add(pieces, flat, pos[sl])
    return [a.result() for a in acc]


def _blocks_read(n: int, targets: list[Target]) -> tuple[np.ndarray, np.ndarray]:
    """Per record of the shared input: the first and last block of its follow-up that any target
    reads (from the block of its first counted day to the block of its last day; an empty range
    for a record no target holds)."""
    read_from = np.full(n, np.iinfo(np.int64).max)
    read_to = np.full(n, -1, np.int64)
    for t in targets:                   # a few stratifications; records are unique within each
        read_from[t.records] = np.minimum(read_from[t.records], t.contrib_start // BLOCK)
        read_to[t.records] = np.maximum(read_to[t.records], (t.time - 1) // BLOCK)
    return read_from, read_to


@dataclasses.dataclass
class _Read:
    """The non-empty pieces of the blocks any target reads, flat and sorted by class of hazard
    (stably: within a class by record, block and piece, the order every target sums them in)."""
    rec: np.ndarray             # record (in the chunk)
    starts: np.ndarray
    ends: np.ndarray
    lam: np.ndarray
    w: np.ndarray | None
    edges: np.ndarray           # class c holds positions edges[c]:edges[c + 1]


@dataclasses.dataclass
class _Pieces:
    """A chunk's blocks of follow-up (three pieces each, some empty): the pieces' first and
    past-the-last days and daily hazards, the cumulative hazard at each block's start, and each
    record's first block."""
    starts: np.ndarray
    ends: np.ndarray
    lam: np.ndarray
    first: np.ndarray
    block_before: np.ndarray


class _Sums:
    """The running day sums of one :class:`Target` (compiled loops: :mod:`.kernels`). With one chunk
    each class of hazards is summed on the days its pieces cover; over several chunks its moments
    are accumulated on every day and summed once at the end, on the days covered."""

    def __init__(self, target: Target, bounds: np.ndarray, terms: list[int], weighted: bool, chunked: bool = False):
        self.t, self.bounds, self.terms, self.weighted = target, bounds, terms, weighted
        self.total = int(target.ev.n_days.sum())
        self.chunked = chunked and weighted
        if self.chunked:
            self.mom = [np.zeros((self.total + 1, n + 1)) for n in terms]      # day-major
            self.cover = [np.zeros(self.total + 1, np.int64) for _ in terms]
        self.h = np.zeros(self.total + 1)
        self.cum = np.zeros(target.records.size)
        self.sums = [np.zeros(self.total) for _ in range(4)] if weighted else []
        day = np.arange(self.total) - np.repeat(target.ev.day_offset, target.ev.n_days)
        self.x = (day % BLOCK).astype(float)

    def add(self, p: _Pieces, flat: _Read, pos: np.ndarray) -> None:
        """Add a chunk's pieces (``pos``: each chunk record's position in the target, -1 if not in it;
        ``flat``: the pieces any target reads, by class). A piece counts on the days from the
        record's first counted day to its last day here (in the period approach most of a long
        follow-up lies before the window)."""
        t = self.t
        inside = np.flatnonzero(pos >= 0)
        trec = pos[inside]
        self.cum[trec] = self._cum_hazard(p, inside, trec)
        if not inside.size:
            return
        # per chunk record, with values that exclude every piece of a record not in the target
        time = np.zeros(pos.size, np.int64)
        begin = np.zeros(pos.size, np.int64)
        off = np.zeros(pos.size, np.int64)
        time[inside], begin[inside] = t.time[trec], t.contrib_start[trec]
        off[inside] = t.ev.day_offset[t.stratum[trec]]
        i0, i1 = kernels.piece_days(flat.rec, flat.starts, flat.ends, time, begin, off)
        kernels.add_hazard(i0, i1, flat.lam, self.h)
        if not self.weighted:
            return
        for c, n in enumerate(self.terms):
            s = slice(flat.edges[c], flat.edges[c + 1])
            if s.stop == s.start:
                continue
            if self.chunked:
                kernels.accumulate_class(i0[s], i1[s], flat.w[s], flat.lam[s], self.mom[c], self.cover[c])
            else:
                kernels.class_sums(i0[s], i1[s], flat.w[s], flat.lam[s], n, self.x, *self.sums)

    def _cum_hazard(self, p: _Pieces, inside: np.ndarray, trec: np.ndarray) -> np.ndarray:
        """Lambda_i(time_i) of the chunk's records ``inside`` the target (``trec`` their positions
        there), ``time_i`` the target's: Lambda at the start of the block holding its last day plus
        that block's pieces."""
        return kernels.cum_hazard(inside, self.t.time[trec], p.first, p.starts, p.ends, p.lam, p.block_before, BLOCK)

    def result(self) -> DaySums:
        if self.chunked:
            for mom, cover in zip(self.mom, self.cover):
                kernels.evaluate_class(mom, cover, self.x, *self.sums)
        h = np.cumsum(self.h)[:-1]
        if not self.weighted:
            z = np.zeros(0)
            return DaySums(z, z, z, z, h, self.cum)
        return DaySums(g0=self.sums[0], g1=self.sums[1], g0e=self.sums[2], g1e=self.sums[3], h=h,
                       cum_hazard=self.cum)


def interval_sums(ds: DaySums, ev: EventTable) -> dict[str, np.ndarray]:
    """Per event-table row j (interval (t_{j-1}, t_j] of its stratum): Pohar Perme's population term
    sum_days 1/2 (A_k/B_k + A'_k/B'_k) with running sums A, B of g1, g0 from the interval start
    (primed: end-of-day), sum 1/S_i(t_j) over those at risk, and Ederer II's sum of hazards."""
    prev = np.where(np.r_[True, ev.stratum[1:] != ev.stratum[:-1]], 0, np.r_[0, ev.time[:-1]])
    starts = ev.day_offset[ev.stratum] + prev
    ends = ev.day_offset[ev.stratum] + ev.time
    if not starts.size:                 # nobody at risk: no interval (either estimator)
        return {"h": np.zeros(0), "integral": np.zeros(0), "yisi": np.zeros(0)}
    out = {"h": np.add.reduceat(ds.h, starts)}
    if ds.g0.size:
        lengths = ends - starts
        interval = np.repeat(np.arange(starts.size), lengths)

        def running(v):
            cs = np.cumsum(v)
            before = np.where(starts > 0, cs[np.maximum(starts - 1, 0)], 0.0)
            return cs - before[interval]

        with np.errstate(invalid="ignore", divide="ignore"):
            r = 0.5 * (running(ds.g1) / running(ds.g0) + running(ds.g1e) / running(ds.g0e))
        out["integral"] = np.add.reduceat(r, starts)
        out["yisi"] = ds.g0e[ends - 1]
    return out


def interval_starts(inp: SurvivalInput, ev: EventTable) -> np.ndarray:
    """First day each record counts: the start of the interval (t_{j-1}, t_j] holding its entry
    (relsurv counts a patient who enters during an interval for the whole interval)."""
    if not np.any(inp.entry > 0):
        return np.zeros(inp.time.size, np.int64)
    key = ev.stratum * (1 << 32) + ev.time
    pos = np.searchsorted(key, inp.stratum * (1 << 32) + inp.entry, side="right") - 1
    same = (pos >= 0) & (ev.stratum[np.maximum(pos, 0)] == inp.stratum)
    return np.where(same, ev.time[np.maximum(pos, 0)], 0).astype(np.int64)


def check_terms(rt: RateTable) -> None:
    n = n_terms(rt.max_rate)
    if n > 40:
        log.warning("life table hazards up to %.3g per day: %d series terms", rt.max_rate, n)
    if not math.isfinite(rt.max_rate):
        raise ValueError("the life table has an infinite hazard")

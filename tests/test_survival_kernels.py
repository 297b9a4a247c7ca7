"""The survival fits' compiled loops (``analytics.survival.kernels``) against the sums they stand
for, written out day by day: each piece of follow-up (first day ``a``, past-the-last day ``b``,
weight ``w`` = 1/S at its block start, daily hazard ``lam``) adds ``w exp(lam x)`` to ``g0`` and
``w lam exp(lam x)`` to ``g1`` on each day it covers (``x`` the day's place in its block), the
same at ``x + 1`` to ``g0e``/``g1e``, and ``lam`` to Ederer II's ``h``. Also: one pass equals
several chunks' accumulation, records outside the stratification add nothing, one patient's
pieces at a birthday and a new year written out by hand, ``warm()`` covers the types the fits
pass, and without a writable cache the kernels still load (compiled in the process, with a
warning)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import demo as demo_mod
from analytics import survival
from analytics.survival import kernels, population

ROOT = Path(__file__).resolve().parents[1]


def random_pieces(rng, n_pieces: int, total: int, max_lam: float):
    a = rng.integers(0, total - 1, n_pieces)
    length = rng.integers(1, 60, n_pieces)
    b = np.minimum(a + length, total)
    w = rng.uniform(1.0, 3.0, n_pieces)
    lam = rng.uniform(0, max_lam, n_pieces)
    return a.astype(np.int64), b.astype(np.int64), w, lam


def direct_sums(a, b, w, lam, x):
    total = x.size
    out = {k: np.zeros(total) for k in ("g0", "g1", "g0e", "g1e", "h")}
    for j in range(a.size):                      # the definition, piece by piece and day by day
        days = np.arange(a[j], b[j])
        out["g0"][days] += w[j] * np.exp(lam[j] * x[days])
        out["g1"][days] += w[j] * lam[j] * np.exp(lam[j] * x[days])
        out["g0e"][days] += w[j] * np.exp(lam[j] * (x[days] + 1))
        out["g1e"][days] += w[j] * lam[j] * np.exp(lam[j] * (x[days] + 1))
        out["h"][days] += lam[j]
    return out


@pytest.mark.parametrize("max_lam", [1e-5, 4e-4, 3e-3])
def test_class_sums_are_the_day_by_day_sums(max_lam):
    rng = np.random.default_rng(int(max_lam * 1e6))
    total = 3000
    x = (np.arange(total) % population.BLOCK).astype(float)
    a, b, w, lam = random_pieces(rng, 400, total, max_lam)
    want = direct_sums(a, b, w, lam, x)
    got = [np.zeros(total) for _ in range(4)]
    kernels.class_sums(a, b, w, lam, population.n_terms(max_lam), x, *got)
    for name, g in zip(("g0", "g1", "g0e", "g1e"), got):
        np.testing.assert_allclose(g, want[name], rtol=1e-12, atol=0, err_msg=name)
    assert (got[0] == 0).sum() == (want["g0"] == 0).sum() > 0          # uncovered days stay 0
    h = np.zeros(total + 1)
    kernels.add_hazard(a, b, lam, h)
    np.testing.assert_allclose(np.cumsum(h)[:-1], want["h"], rtol=1e-9, atol=1e-15)


def test_chunks_accumulated_equal_one_pass():
    rng = np.random.default_rng(5)
    total = 2000
    x = (np.arange(total) % population.BLOCK).astype(float)
    a, b, w, lam = random_pieces(rng, 600, total, 1e-3)
    n = population.n_terms(1e-3)
    one = [np.zeros(total) for _ in range(4)]
    kernels.class_sums(a, b, w, lam, n, x, *one)
    mom, cover = np.zeros((total + 1, n + 1)), np.zeros(total + 1, np.int64)
    for part in np.array_split(np.arange(a.size), 3):
        kernels.accumulate_class(a[part], b[part], w[part], lam[part], mom, cover)
    chunked = [np.zeros(total) for _ in range(4)]
    kernels.evaluate_class(mom, cover, x, *chunked)
    for g, c in zip(one, chunked):
        np.testing.assert_allclose(c, g, rtol=1e-13, atol=0)


def test_piece_days_count_from_first_day_to_last_day_of_the_stratification():
    # records 0 and 1 in the stratification (offsets 0 and 100), record 2 not in it (time 0)
    p_rec = np.array([0, 0, 1, 1, 2], np.int64)
    p_start = np.array([0, 10, 0, 30, 0], np.int64)
    p_end = np.array([10, 40, 30, 50, 20], np.int64)
    time = np.array([25, 45, 0], np.int64)
    begin = np.array([5, 35, 0], np.int64)
    off = np.array([0, 100, 0], np.int64)
    i0, i1 = kernels.piece_days(p_rec, p_start, p_end, time, begin, off)
    counted = i1 > i0
    assert counted.tolist() == [True, True, False, True, False]
    assert list(zip(i0[counted], i1[counted])) == [(5, 10), (10, 25), (135, 145)]


def test_kernels_load_without_a_writable_cache():
    """A read-only installation without NUMBA_CACHE_DIR: numba finds no place for its cache; the
    kernels are compiled in the process instead, and the log says how to keep them."""
    script = textwrap.dedent("""
        import logging, os
        os.environ.pop("NUMBA_CACHE_DIR", None)
        from numba.core import caching
        caching.CacheImpl._locator_classes = []               # no writable place anywhere
        logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
        from analytics.survival import kernels
        kernels.warm()
        print("loaded")
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "loaded"
    assert out.stderr.count("survival kernels compiled in each process") == 1 and "NUMBA_CACHE_DIR" in out.stderr


KERNELS = ("pieces", "cum_hazard", "piece_days", "add_hazard", "class_sums", "accumulate_class", "evaluate_class")


@pytest.mark.parametrize("method, chunk", [("pohar_perme", None), ("pohar_perme", 400), ("ederer2", None)])
def test_warm_loads_what_the_fits_use(monkeypatch, method, chunk):
    """``kernels.warm`` (the fork server's and ``make install``'s) compiles each kernel for the types
    the fits pass: a fit after it makes no new machine code (else each worker would compile again)."""
    kernels.warm()
    before = {k: len(getattr(kernels, k).signatures) for k in KERNELS}
    if chunk:
        monkeypatch.setattr(population, "CHUNK", chunk)
    rng = np.random.default_rng(2)
    n = 1200
    data = {"time": rng.integers(1, 9 * 365, n), "status": rng.integers(0, 2, n), "age": rng.uniform(20, 95, n),
            "sex": rng.integers(1, 3, n), "year": rng.uniform(2010, 2020, n), "site": rng.choice(["a", "b"], n)}
    out = survival.net_survival(pd.DataFrame(data), demo_mod.load_demo_lifetable(), times=(1, 5), by=["site"],
                                method=method, approach="period", period=(2016, 2019))
    assert len(out) == 4 and out["estimate"].between(0, 1.2).all()
    assert {k: len(getattr(kernels, k).signatures) for k in KERNELS} == before


def test_pieces_cut_follow_up_at_birthdays_and_new_years():
    """One patient aged 69.5 years, diagnosed on 1 July 2015, followed 500 days, against a life table
    of two ages (69, 70) x two years (2015, 2016): block 1 (days 0-365) crosses 1 January 2016 at
    day 184 and the 70th birthday at day ceil(0.5 x 365.241) = 183; block 2 (days 365-500) none.
    Hazards are read from the cell of each piece; the cumulative hazard and 1/S follow them."""
    from analytics.survival.base import DAYS_PER_YEAR, jan1

    diag = int(jan1(np.array([2015]))[0]) + 181                 # 1 July 2015 (day 181 of the year)
    age_days = np.array([69.5 * DAYS_PER_YEAR])
    age_cuts = np.array([69.0, 70.0]) * DAYS_PER_YEAR
    year_cuts = jan1(np.array([2015, 2016]))
    rates = np.array([[[1e-4, 2e-4], [3e-4, 4e-4]]])             # [group, age, year]
    bounds = np.array([1.0])
    out = kernels.pieces(np.array([500]), age_days, np.array([diag]), np.array([0]), rates, age_cuts, year_cuts,
                         365, bounds, np.array([0]), np.array([1]), True)
    first, starts, ends, lam, before, f_rec, f_start, f_end, f_lam, f_w, edges = out
    birthday = int(np.ceil(age_cuts[1] - age_days[0]))
    new_year = int(year_cuts[1] - diag)
    assert (birthday, new_year) == (183, 184)
    assert starts[0].tolist() == [0, birthday, new_year] and ends[0].tolist() == [birthday, new_year, 365]
    assert lam[0].tolist() == [1e-4, 3e-4, 4e-4]                # 69 in 2015, 70 in 2015, 70 in 2016
    assert starts[1].tolist() == [365, 500, 500] and lam[1, 0] == 4e-4
    hz0 = (1e-4 * 183 + 3e-4 * 1) + 4e-4 * 181
    assert before.tolist() == [0.0, hz0]
    assert f_start.tolist() == [0, 183, 184, 365] and f_end.tolist() == [183, 184, 365, 500]
    np.testing.assert_allclose(f_w, [1.0, np.exp(1e-4 * 183 - 3e-4 * 183), np.exp(1e-4 * 183 + 3e-4 - 4e-4 * 184),
                                     np.exp(hz0)], rtol=1e-15)
    assert edges.tolist() == [0, 4]
    cum = kernels.cum_hazard(np.array([0]), np.array([400]), first, starts, ends, lam, before, 365)
    assert cum[0] == pytest.approx(hz0 + 4e-4 * 35, rel=1e-15)

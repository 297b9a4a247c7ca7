"""Helpers of the differential tests against R (tests/test_reference_r_*.py).

The R scripts ``tests/reference/<family>/make_<family>.R`` drew random inputs, ran R on them and
froze both as CSV (15 significant digits) beside themselves; these helpers only read those files.
R is never called at test time.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE = Path(__file__).parent / "reference"
RTOL = 1e-9          # R stores 15 significant digits; agreement to 1e-9 relative is asked


def read(family: str, name: str) -> pd.DataFrame:
    """A frozen CSV of ``tests/reference/<family>/``."""
    return pd.read_csv(REFERENCE / family / name, keep_default_na=True)


def assert_close(actual, expected, *, rtol: float = RTOL, atol: float = 0.0, what: str = "") -> None:
    """Equal to ``rtol`` (and ``atol``), NaN exactly where R has NA/NaN."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    na, ne = np.isnan(a), np.isnan(e)
    bad = np.flatnonzero(na != ne)
    assert bad.size == 0, f"{what}: NaN where R has a value or vice versa at rows {bad[:10].tolist()}"
    np.testing.assert_allclose(a[~na], e[~ne], rtol=rtol, atol=atol, err_msg=what)

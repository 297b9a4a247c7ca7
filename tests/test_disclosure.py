"""Disclosure control: primary + complementary suppression (Hundepool et al. 2012, ch. 4),
reliability flags, NHS-style rounding."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import disclosure, rates


def _long(matrix, layer=None):
    m = np.asarray(matrix)
    r, c = np.indices(m.shape)
    df = pd.DataFrame({"region": r.ravel(), "age": c.ravel(), "count": m.ravel()})
    if layer is not None:
        df["sex"] = layer
    return df


def _suppressed_matrix(out, shape):
    s = np.zeros(shape, dtype=bool)
    s[out["region"], out["age"]] = out["suppressed"]
    return s


def test_primary_only_without_dimensions():
    df = pd.DataFrame({"count": [0, 2, 5, 12], "value": [0.0, 1.0, 2.0, 3.0]})
    out = disclosure.suppress(df, k=5)
    assert list(out["suppression"]) == ["", "primary", "", ""]
    assert out["count"].isna().tolist() == [False, True, False, False]
    assert np.isnan(out["value"].iloc[1])               # derived value inherits suppression
    assert "0 < count < 5" in out.attrs["disclosure"]["rule"]


def test_complementary_hand_example():
    """Row 0 has one small cell (3): its row and column need a second suppression; the smallest
    other cells are chosen (row 0: 20; then column of 3 and of 20 need partners in row 1)."""
    m = [[3, 20, 50], [40, 30, 60], [45, 35, 70]]
    out = disclosure.suppress(_long(m), k=5, rows="region", cols="age")
    s = _suppressed_matrix(out, (3, 3))
    assert s[0, 0] and s[0, 1]
    assert s.sum(axis=0).tolist() == [2, 2, 0] and s.sum(axis=1).tolist() == [2, 2, 0]
    assert s[1, 0] and s[1, 1]          # row 1 has the smaller entries (40, 30) vs row 2 (45, 35)
    assert out.attrs["disclosure"]["complementary"] == 3


def _recoverable(m, s):
    """True if some suppressed cell is determined by the published row/column totals: it is when
    the cell is not part of any cycle of suppressed cells, checked by linear algebra (the cell's
    unit vector lies in the row space of the constraint matrix restricted to suppressed cells)."""
    idx = np.argwhere(s)
    if len(idx) == 0:
        return False
    R, C = s.shape
    A = []
    for i in range(R):
        A.append([1.0 if r == i else 0.0 for r, _ in idx])
    for j in range(C):
        A.append([1.0 if c == j else 0.0 for _, c in idx])
    A = np.array(A)
    rank = np.linalg.matrix_rank(A)
    for t in range(len(idx)):
        e = np.zeros(len(idx))
        e[t] = 1.0
        if np.linalg.matrix_rank(np.vstack([A, e])) == rank:
            return True
    return False


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(0, 10_000))
def test_no_suppressed_cell_recoverable_from_margins(R, C, seed):
    rng = np.random.default_rng(seed)
    m = rng.integers(1, 40, size=(R, C))
    out = disclosure.suppress(_long(m), k=8, rows="region", cols="age")
    s = _suppressed_matrix(out, (R, C))
    assert (s | (m >= 8)).all()                       # every primary cell suppressed
    if not out.attrs["disclosure"]["unprotected"]:
        assert not _recoverable(m, s)
        for line in list(s.sum(axis=0)) + list(s.sum(axis=1)):
            assert line != 1


def test_layers_are_protected_separately():
    a = _long([[2, 30], [40, 50]], layer=1)
    b = _long([[20, 30], [40, 50]], layer=2)
    out = disclosure.suppress(pd.concat([a, b]), k=5, rows="region", cols="age", layers="sex")
    assert out[out["sex"] == 1]["suppressed"].all()     # 2x2 with one small cell: all four go
    assert not out[out["sex"] == 2]["suppressed"].any()


def test_duplicate_cells_need_layers():
    df = pd.concat([_long([[2, 30], [40, 50]], 1), _long([[2, 30], [40, 50]], 2)])
    with pytest.raises(ValueError, match="layers"):
        disclosure.suppress(df, rows="region", cols="age")


def test_unprotectable_line_is_reported():
    out = disclosure.suppress(_long([[3], [50]]), k=5, rows="region", cols="age")
    assert out.attrs["disclosure"]["unprotected"]


def test_flag_unreliable_and_blank():
    df = pd.DataFrame({"count": [3, 15, 16, 100], "value": [1.0, 2.0, 3.0, 4.0], "flag": ["", "x", "", ""]})
    out = disclosure.flag_unreliable(df, n=16, blank=("value",))
    assert out["flag"].tolist() == ["unreliable", "x;unreliable", "", ""]
    assert rates.flag_labels(out).tolist() == ["unreliable: fewer than 16 cases",
                                               "x; unreliable: fewer than 16 cases", "", ""]
    assert out["value"].isna().tolist() == [True, True, False, False]
    assert "16" in out.attrs["disclosure"]["reliability"]


def test_round_counts_nhs():
    out = disclosure.round_counts(pd.DataFrame({"count": [0, 1, 7, 8, 12, 13]}))
    assert out["count"].tolist()[:1] == [0]
    assert out["count"].isna().tolist() == [False, True, True, False, False, False]
    assert out["count"].tolist()[3:] == [10, 10, 15]


def test_age_specific_output_keeps_its_axis():
    from analytics import rates
    df = pd.DataFrame({"age_group": ["0-4", "5-9", "10-14"], "count": [2, 30, 40],
                       "population": [1000.0, 1000.0, 1000.0]})
    out = disclosure.suppress(rates.age_specific(df), k=5)
    assert out["age_start"].notna().all() and out["population"].notna().all()
    assert out["value"].isna().tolist() == [True, False, False]
    assert out["upper"].isna().tolist() == [True, False, False]

"""The DSR engine's short paths give the numbers of its general path and of the formula.

``analytics.rates.dsr`` takes shortcuts when it can: one weight vector for every stratum when all
cells are used, rows that already are the (stratum × age group) grid, integer keys offset instead
of hashed. Each is checked here on random inputs (zero counts, one age group, tiny populations)
against the direct formula written out on the grid, and against the general path forced by
giving every stratum its own (proportional) weights.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics import rates

M = 100000


def _grid_frame(rng: np.random.Generator, G: int, A: int, tiny: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """A long frame of G strata × A age groups in cell order, and the standard's raw weights."""
    labels = [f"{5 * i}-{5 * i + 4}" for i in range(A)]
    pop = rng.integers(1, 4, (G, A)) if tiny else rng.integers(50, 5000, (G, A))
    count = rng.poisson(rng.uniform(0, 3), (G, A))
    count[rng.random((G, A)) < 0.3] = 0
    frame = pd.DataFrame({
        "stratum": np.repeat(np.arange(G), A),
        "age_group": pd.Categorical(np.tile(labels, G), categories=labels, ordered=True),
        "count": count.ravel().astype(float), "population": pop.ravel().astype(float),
    })
    return frame, rng.uniform(0.1, 2.0, A)


def _by_hand(frame: pd.DataFrame, weights: np.ndarray, G: int, A: int) -> dict[str, np.ndarray]:
    """DSR, SE and Dobson limits with exact (chi-square) limits for the total, on the grid."""
    d = frame["count"].to_numpy().reshape(G, A)
    P = frame["population"].to_numpy().reshape(G, A)
    w = weights / weights.sum()
    y = (d / P) @ w
    v = (d / P ** 2) @ w ** 2
    X = d.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.sqrt(v / X)
        lo = y + f * (stats.chi2.ppf(0.025, 2 * X) / 2 - X)
        up = y + f * (stats.chi2.ppf(0.975, 2 * (X + 1)) / 2 - X)
    undefined = X == 0
    return {"value": y * M, "se": np.sqrt(v) * M, "lower": np.where(undefined, np.nan, lo * M),
            "upper": np.where(undefined, np.nan, up * M)}


@pytest.mark.parametrize("seed, G, A, tiny", [(1, 40, 19, False), (2, 25, 1, False), (3, 30, 5, True),
                                              (4, 1, 3, True), (5, 60, 18, True)])
def test_one_standard_path_equals_the_formula_and_the_general_path(seed, G, A, tiny):
    rng = np.random.default_rng(seed)
    frame, raw = _grid_frame(rng, G, A, tiny)
    std = pd.Series(raw, index=list(frame["age_group"].cat.categories))
    fast = rates.dsr(frame, by="stratum", method="dobson_exact", standard=std)
    for col, expected in _by_hand(frame, raw, G, A).items():
        np.testing.assert_allclose(fast[col].to_numpy(), expected, rtol=1e-12, atol=0, equal_nan=True)
    # Each stratum's own weights, proportional to the standard: the general path (one weight row
    # per stratum, normalised per row) must give the same rates.
    scaled = frame.assign(w=np.repeat(rng.uniform(0.5, 3.0, G), A) * np.tile(raw, G))
    general = rates.dsr(scaled, by="stratum", method="dobson_exact", standard="w")
    for col in ("value", "se", "lower", "upper"):
        np.testing.assert_allclose(general[col].to_numpy(), fast[col].to_numpy(), rtol=1e-12, atol=0,
                                   equal_nan=True)
    assert general["flag"].tolist() == fast["flag"].tolist()
    assert (fast["count"].to_numpy() == frame.groupby("stratum")["count"].sum().to_numpy()).all()


@pytest.mark.parametrize("method", ["dobson", "tiwari", "fay_feuer"])
def test_row_order_and_integer_key_range_do_not_change_a_number(method):
    """Rows in cell order (the grid as it is), shuffled rows (scattered into the grid) and an
    integer key spread over a wide range (offset, not hashed) give identical frames."""
    rng = np.random.default_rng(7)
    G, A = 50, 6
    frame, raw = _grid_frame(rng, G, A, tiny=False)
    std = pd.Series(raw, index=list(frame["age_group"].cat.categories))
    in_order = rates.dsr(frame, by="stratum", method=method, standard=std)
    shuffled = rates.dsr(frame.sample(frac=1.0, random_state=3), by="stratum", method=method, standard=std)
    pd.testing.assert_frame_equal(in_order, shuffled, check_exact=True)
    wide = frame.assign(stratum=frame["stratum"] * 997 + 20_000)      # range far above 4096
    spread = rates.dsr(wide, by="stratum", method=method, standard=std)
    assert spread["stratum"].tolist() == list(np.arange(G) * 997 + 20_000)
    pd.testing.assert_frame_equal(spread.drop(columns="stratum"), in_order.drop(columns="stratum"),
                                  check_exact=True)


def test_a_cell_without_person_years_or_cases_takes_the_general_path():
    """A present cell with neither person-years nor cases adds no rate but keeps its weight (the
    age group is there, with no case); no other stratum changes."""
    rng = np.random.default_rng(11)
    G, A = 8, 4
    frame, raw = _grid_frame(rng, G, A, tiny=False)
    frame.loc[A + 2, ["count", "population"]] = 0.0          # stratum 1, third age group
    std = pd.Series(raw, index=list(frame["age_group"].cat.categories))
    out = rates.dsr(frame, by="stratum", method="dobson_exact", standard=std)
    d = frame["count"].to_numpy().reshape(G, A)
    P = frame["population"].to_numpy().reshape(G, A)
    used = P > 0
    w = raw / raw.sum()
    expected = np.where(used, w * d / np.where(used, P, 1.0), 0.0).sum(axis=1) * M
    np.testing.assert_allclose(out["value"].to_numpy(), expected, rtol=1e-12, atol=0)
    rest = frame[frame["stratum"] != 1]
    others = rates.dsr(rest, by="stratum", method="dobson_exact", standard=std)
    pd.testing.assert_frame_equal(out[out["stratum"] != 1].reset_index(drop=True), others, check_exact=True)
    assert out.loc[1, "flag"] == ""

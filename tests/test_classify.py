"""analytics.classify: class limits and counts checked by hand, Fisher-Jenks on separated clusters."""
from __future__ import annotations

import numpy as np
import pytest

from analytics import classify


def test_quantiles_equal_counts_and_legend():
    y = np.arange(1, 11, dtype=float)
    c = classify.classify(y, "quantiles", k=5)
    assert c.counts == [2, 2, 2, 2, 2]
    np.testing.assert_allclose(c.upper, [2.8, 4.6, 6.4, 8.2, 10.0])   # numpy linear quantiles
    assert c.lower[0] == 1.0
    leg = c.legend()
    assert leg["legend"].iloc[0] == "1 – 2.8 (2)"
    assert list(c.classes) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_equal_interval_and_missing():
    y = np.array([0.0, 1.0, 2.5, 4.0, np.nan, 10.0])
    c = classify.classify(y, "equal_interval", k=4)
    np.testing.assert_allclose(c.upper, [2.5, 5.0, 7.5, 10.0])
    assert c.counts == [3, 1, 0, 1] and c.n_missing == 1
    assert c.classes[4] == -1 and c.label_of()[4] == classify.NO_DATA
    assert c.legend()["label"].iloc[-1] == classify.NO_DATA


def test_fisher_jenks_finds_gaps():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.uniform(0, 1, 30), rng.uniform(10, 11, 30), rng.uniform(20, 21, 30)])
    c = classify.classify(y, "fisher_jenks", k=3)
    assert c.counts == [30, 30, 30]
    assert 1 > c.upper[0] - 1e-9 and c.upper[0] < 10 and 11 > c.upper[1] - 1e-9 and c.upper[1] < 20
    big = np.concatenate([rng.uniform(0, 1, 1500), rng.uniform(10, 11, 1500)])
    cb = classify.classify(big, "fisher_jenks", k=2)               # sampled above 500 values
    assert cb.counts == [1500, 1500]


def test_user_defined_and_ratio():
    y = np.array([0.5, 0.85, 0.95, 1.0, 1.2, 1.3, 2.0])
    u = classify.classify(y, "user_defined", bins=[0.9, 1.1])
    assert u.counts == [2, 2, 3] and u.upper[-1] == 2.0
    r = classify.classify(y, "ratio")
    # classes: <0.67, 0.67-0.8, 0.8-0.9, 0.9-1.1, 1.1-1.25, 1.25-1.5, >1.5
    assert r.counts == [1, 0, 1, 2, 1, 1, 1]
    assert r.labels[0] == "< 0.67" and r.labels[-1] == "> 1.5" and r.labels[3] == "0.9 – 1.1"
    with pytest.raises(ValueError, match="bins"):
        classify.classify(y, "user_defined")


def test_significance():
    lo = np.array([1.1, 0.5, 0.2, np.nan])
    hi = np.array([1.9, 0.9, 1.4, np.nan])
    c = classify.classify([1.5, 0.7, 0.8, np.nan], "significance", lower=lo, upper=hi)
    assert list(c.label_of()) == ["higher", "lower", "not significant", classify.NO_DATA]
    assert c.counts == [1, 1, 1]
    assert list(classify.significance_category(lo, hi)) == list(c.label_of())
    with pytest.raises(ValueError, match="Unknown classification scheme"):
        classify.classify([1.0], "jenks")

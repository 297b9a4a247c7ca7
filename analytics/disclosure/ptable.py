"""Perturbation tables for the cell-key method on frequency counts.

A perturbation table gives, for every true cell count ``i``, the probability of each noise
value ``j`` (the published count is ``i + j``). The table here is the maximum-entropy design of
Giessing (2016, "Computational issues in the design of transition probabilities and disclosure
risk estimation for additive noise", PSD 2016, LNCS 9867:237-251; the ``ptable`` R package of
Destatis): for each ``i`` the distribution over ``j`` maximises entropy subject to

* ``-D <= j <= D`` (the noise bound, known to everybody),
* ``i + j >= 0`` (no negative counts) and ``j = 0`` for ``i = 0`` (zeros stay zeros),
* ``E[j] = 0`` (unbiased: sums of published cells are unbiased for the true sums),
* ``E[j^2] = V`` (the noise variance), or the largest variance the support allows.

The solution has the form ``p_j ~ exp(a j + b j^2)`` on the support. Rows for ``i >= D`` have
the full symmetric support, so they are identical: the table has ``D + 1`` rows.

A cell key ``u`` in ``[0, 1)`` selects the noise of a cell through the cumulative
probabilities of its row (Thompson, Broadfoot & Elazar 2013): the same (count, cell key) always
gives the same noise.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

MOMENT_TOLERANCE = 1e-10


@dataclasses.dataclass(frozen=True)
class PerturbationTable:
    """Noise probabilities ``probs[i, j + D]`` for true counts ``i = 0..D`` (row ``D`` serves every
    count ``>= D``) and noise ``j = -D..D``."""

    max_noise: int
    variance: float
    probs: np.ndarray = dataclasses.field(repr=False, compare=False)

    @property
    def noise_values(self) -> np.ndarray:
        return np.arange(-self.max_noise, self.max_noise + 1)

    @functools.cached_property
    def cumulative(self) -> np.ndarray:
        cum = np.cumsum(self.probs, axis=1)
        cum[:, -1] = 1.0
        return cum

    def row(self, count: int) -> np.ndarray:
        return self.probs[min(int(count), self.max_noise)]

    def noise(self, counts, cell_keys) -> np.ndarray:
        """The noise of each cell from its true count and its cell key in ``[0, 1)``
        (vectorised; the noise value ``j`` whose cumulative interval holds the key)."""
        c = np.asarray(counts, dtype=np.int64)
        u = np.asarray(cell_keys, dtype=float)
        if c.shape != u.shape:
            raise ValueError(f"counts and cell keys differ in shape: {c.shape} vs {u.shape}")
        if (c < 0).any():
            raise ValueError("counts must be >= 0")
        if ((u < 0) | (u >= 1)).any():
            raise ValueError("cell keys must lie in [0, 1)")
        row = np.minimum(c, self.max_noise)
        idx = np.empty(c.shape, dtype=np.int64)
        for i in range(self.max_noise + 1):          # a few rows: one binary search per row class
            m = row == i
            idx[m] = np.searchsorted(self.cumulative[i], u[m], side="right")
        return self.noise_values[np.minimum(idx, 2 * self.max_noise)]

    def mean(self) -> np.ndarray:
        return self.probs @ self.noise_values

    def var(self) -> np.ndarray:
        return self.probs @ self.noise_values.astype(float) ** 2

    def as_frame(self):
        """The table as a frame: one row per true count (``>= D`` for the last), one column per noise."""
        import pandas as pd

        index = [str(i) for i in range(self.max_noise)] + [f">={self.max_noise}"]
        return pd.DataFrame(self.probs, index=pd.Index(index, name="count"),
                            columns=[f"{j:+d}" if j else "0" for j in self.noise_values])


def _max_entropy_row(support: np.ndarray, variance: float) -> np.ndarray:
    """Maximum-entropy distribution on ``support`` with mean 0 and variance ``variance``: the
    exponential family ``p_j ~ exp(a j + b j^2)`` whose moments match, found by Newton's method on
    the convex dual ``log Z(a, b) - b V`` (gradient: the moment errors; Hessian: their covariance)."""
    j = support.astype(float)
    feats = np.stack([j, j * j])
    target = np.array([0.0, variance])

    def probs(theta):
        z = theta @ feats
        w = np.exp(z - z.max())
        return w / w.sum()

    def dual(theta):
        z = theta @ feats
        m = z.max()
        return m + np.log(np.exp(z - m).sum()) - theta @ target

    theta = np.array([0.0, -0.5 / variance])
    for _ in range(200):
        p = probs(theta)
        mean = feats @ p
        grad = mean - target
        if np.abs(grad).max() < MOMENT_TOLERANCE:
            break
        cov = (feats * p) @ feats.T - np.outer(mean, mean)
        step = np.linalg.solve(cov + 1e-15 * np.eye(2), grad)
        f0, t = dual(theta), 1.0
        while dual(theta - t * step) > f0 - 1e-4 * t * (grad @ step) and t > 1e-12:
            t /= 2
        theta = theta - t * step
    p = probs(theta)
    if abs(p @ j) > MOMENT_TOLERANCE or abs(p @ (j * j) - variance) > MOMENT_TOLERANCE:
        raise RuntimeError(f"perturbation table: the maximum-entropy fit did not converge on support "
                           f"{support.min()}..{support.max()} (mean {p @ j:.3g}, variance {p @ (j * j):.6g})")
    return p


def max_entropy_table(max_noise: int = 4, variance: float = 1.0) -> PerturbationTable:
    """The perturbation table for noise bound ``max_noise`` (D) and variance ``variance`` (V).

    Rows with too narrow a support for ``V`` (small counts: the largest variance with mean 0 on
    ``[-i, D]`` is ``i * D``) get that maximum shrunk by 10 %; ``i = 0`` gets no noise."""
    if int(max_noise) != max_noise or max_noise < 1:
        raise ValueError(f"max_noise must be an integer >= 1, got {max_noise!r}")
    if not variance > 0:
        raise ValueError(f"variance must be > 0, got {variance!r}")
    d = int(max_noise)
    probs = np.zeros((d + 1, 2 * d + 1))
    probs[0, d] = 1.0
    for i in range(1, d + 1):
        support = np.arange(-i, d + 1)
        v = min(float(variance), 0.9 * i * d)
        probs[i, support + d] = _max_entropy_row(support, v)
    return PerturbationTable(max_noise=d, variance=float(variance), probs=probs)

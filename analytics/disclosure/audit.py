"""Play the attacker: can published figures pin down a protected count?

A release is a set of published cells, each the sum of some *atoms* (the finest
cross-classification the release distinguishes: year x age group x sex x district x site x ...).
What the attacker learns about a cell's true total ``n_c`` is an interval ``lo_c <= n_c <= hi_c``:

* a count published exactly: ``lo = hi = value``;
* a count withheld as "<k": ``1 <= n <= k - 1`` (zeros are published);
* a perturbed count ``p`` with known noise bound ``D`` (cell-key method): ``max(0, p - D) <= n <= p + D``,
  and ``n >= 1`` when ``p >= 1`` (a true zero is always published as zero).

A cell is *recovered* when every non-negative integer solution of all these constraints gives it
the same value. :func:`recovered` decides this exactly for each target cell: a cell is not
recovered as soon as one atom inside it can move by one unit without leaving any published
interval (an explicit second solution); otherwise the linear-programming bounds are checked and,
where they leave room, an integer program (HiGHS through :func:`scipy.optimize.milp`) searches for
a solution with a different value.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
from scipy import optimize, sparse

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Release:
    """Published cells over atoms: ``cells[c, a] = 1`` when atom ``a`` belongs to cell ``c``;
    ``lo``/``hi`` bound each cell's true total as the attacker sees it; ``truth`` holds the true
    atom counts (known to the registry auditing its own release)."""

    cells: sparse.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    truth: np.ndarray

    def __post_init__(self) -> None:
        self.cells = sparse.csr_matrix(self.cells, dtype=np.float64)
        self.lo = np.asarray(self.lo, dtype=float)
        self.hi = np.asarray(self.hi, dtype=float)
        self.truth = np.asarray(self.truth, dtype=float)
        n_cells, n_atoms = self.cells.shape
        if self.lo.shape != (n_cells,) or self.hi.shape != (n_cells,) or self.truth.shape != (n_atoms,):
            raise ValueError("Release: lo and hi need one value per cell, truth one per atom")
        totals = self.cells @ self.truth
        if ((totals < self.lo - 1e-9) | (totals > self.hi + 1e-9)).any():
            bad = int(np.flatnonzero((totals < self.lo - 1e-9) | (totals > self.hi + 1e-9))[0])
            raise ValueError(f"Release: cell {bad} has true total {totals[bad]:g} outside its published "
                             f"interval [{self.lo[bad]:g}, {self.hi[bad]:g}]")


def perturbed_bounds(published, max_noise: int) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's interval for cells published with bounded noise (cell-key method)."""
    p = np.asarray(published, dtype=float)
    lo = np.maximum(p - max_noise, 0.0)
    lo = np.where(p >= 1, np.maximum(lo, 1.0), lo)
    return lo, p + max_noise


def suppressed_bounds(true_totals, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's interval for cells published exactly with primary suppression (0 < n < k
    withheld): exact where shown, ``[1, k - 1]`` where withheld."""
    n = np.asarray(true_totals, dtype=float)
    small = (n > 0) & (n < k)
    return np.where(small, 1.0, n), np.where(small, k - 1.0, n)


def _movable(rel: Release, totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Atoms that can move +1 / -1 alone without leaving any published interval."""
    at = rel.cells.T.tocsr()
    blocked_up = (rel.hi - totals < 1 - 1e-9).astype(float)
    blocked_down = (totals - rel.lo < 1 - 1e-9).astype(float)
    up = (at @ blocked_up) == 0
    down = ((at @ blocked_down) == 0) & (rel.truth >= 1)
    return up, down


def _integer_range(rel: Release, target: np.ndarray, true_value: float) -> tuple[bool, bool]:
    """Whether some non-negative integer solution gives ``target @ x`` a value above / below the
    true one: the linear relaxation first (no room there, no room at all), then an integer
    feasibility problem with ``target @ x >= true + 1`` (or ``<= true - 1``)."""
    n = rel.cells.shape[1]
    a_ub = sparse.vstack([rel.cells, -rel.cells]).tocsr()
    b_ub = np.r_[rel.hi, -rel.lo]
    cons = optimize.LinearConstraint(rel.cells, rel.lo, rel.hi)
    found = []
    for sign, limit in ((-1.0, (true_value + 1, np.inf)), (1.0, (-np.inf, true_value - 1))):
        lp = optimize.linprog(sign * target, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        if lp.status != 0:
            raise RuntimeError(f"audit: linear program failed ({lp.message})")
        extreme = sign * lp.fun
        room = extreme >= limit[0] - 1e-7 if sign < 0 else extreme <= limit[1] + 1e-7
        if not room:
            found.append(False)
            continue
        extra = optimize.LinearConstraint(sparse.csr_matrix(target.reshape(1, -1)), *limit)
        res = optimize.milp(np.zeros(n), constraints=[cons, extra], integrality=np.ones(n),
                            bounds=optimize.Bounds(0, np.inf), options={"time_limit": 300})
        if res.status not in (0, 2):     # 0: a solution was found; 2: proven infeasible
            raise RuntimeError(f"audit: integer program did not finish ({res.message})")
        found.append(res.status == 0)
    return found[0], found[1]


def recovered(rel: Release, targets: sparse.spmatrix | np.ndarray) -> np.ndarray:
    """For each target cell (a row of atom indicators), True when the release pins its true total.

    Exact: a cell is reported not recovered only with a second integer solution in hand (a
    single-atom move, or one found by the integer program); it is reported recovered only when
    the linear or integer program proves that no solution gives it another value."""
    t = sparse.csr_matrix(targets, dtype=np.float64)
    totals = rel.cells @ rel.truth
    up, down = _movable(rel, totals)
    free = (t @ (up | down).astype(float)) > 0
    out = np.zeros(t.shape[0], dtype=bool)
    hard = np.flatnonzero(~free)
    if len(hard):
        log.info("audit: %d of %d target cells need the integer program", len(hard), t.shape[0])
    truth_t = t @ rel.truth
    for i in hard:
        row = t.getrow(i).toarray().ravel()
        above, below = _integer_range(rel, row, float(truth_t[i]))
        out[i] = not (above or below)
    return out

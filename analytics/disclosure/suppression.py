"""Statistical disclosure control for released tables: primary and complementary cell suppression,
rounding, and reliability flags for rates on few cases.

Rules follow Hundepool et al. (2012), *Statistical Disclosure Control*, Wiley, ch. 4 (threshold
rule, secondary suppression so that no suppressed cell can be recovered by subtraction from row
or column totals) and docs/methods.md §8 (k configurable; derived statistics inherit suppression;
reliability flags separate from confidentiality: USCS/NCI < 16, ONS < 20 "unreliable",
PHE no DSR < 10). Every function records what it did in ``attrs["disclosure"]`` and per-cell columns.

``scipy.sparse`` (its graph routines: about 0.15 s to import) is imported by the complementary
suppression that walks the row-column graph, not with the module (a cold start's first page
never needs it).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.strata import FLAG_SEP, RatesInputError, as_list, group_codes, require_columns

# Float columns that describe the cell rather than derive from its count: never blanked by default.
NOT_DERIVED = ("population", "age_start", "age_end", "year", "expected", "x")
PRIMARY = "primary"
COMPLEMENTARY = "complementary"
HUNDEPOOL = ("Hundepool A, Domingo-Ferrer J, Franconi L, et al. Statistical Disclosure Control. "
             "Wiley, 2012, ch. 4")


def suppress(table: pd.DataFrame, k: int = 5, *, count: str = "count", rows=None, cols=None,
             layers=None, derived: Sequence[str] | None = None, suppress_zeros: bool = False
             ) -> pd.DataFrame:
    """Suppress cells with a count below ``k`` and, when the table has ``rows`` and ``cols``
    dimensions, add complementary suppressions until no row or column (within each combination of
    ``layers``) holds exactly one suppressed cell, so that no suppressed value can be recovered from
    published row or column totals (Hundepool et al. 2012, §4.2). Complementary cells are the
    smallest non-zero unsuppressed cells of the row/column (a zero only if nothing else is left);
    the procedure repeats to a fixed point, all layers at once.

    Primary rule: ``0 < count < k`` (zeros stay shown unless ``suppress_zeros``).
    ``derived``: columns computed from the count (rates, limits, percentages) that are blanked
    wherever the count is (methods.md §8: derived statistics inherit suppression); by default every
    float column except the count and population. Returns a copy with the count set to missing in
    suppressed cells and two columns: ``suppressed`` (bool) and ``suppression``
    ("primary"/"complementary"/""); an existing ``flag`` column gets the code "suppressed". A row or column whose only other cells are missing cannot be
    protected by suppression: such cells are reported in ``attrs["disclosure"]["unprotected"]``
    (suppress or do not publish that total).
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    require_columns(table, [count] + as_list(rows) + as_list(cols) + as_list(layers), "table")
    out = table.copy()
    c = pd.to_numeric(out[count], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    primary = (c < k) & ((c > 0) | suppress_zeros)
    status = np.where(primary, PRIMARY, "").astype(object)
    unprotected: list[dict] = []
    rows, cols, layers = as_list(rows), as_list(cols), as_list(layers)
    if rows and cols:
        status, unprotected = _complementary(out, c, status, rows, cols, layers)
    supp = status != ""
    out["suppressed"] = supp
    out["suppression"] = status
    if derived is None:
        derived = [col for col in out.columns
                   if col not in (count, "suppressed") + NOT_DERIVED and col not in rows + cols + layers
                   and pd.api.types.is_float_dtype(out[col])]
    if "flag" in out.columns and supp.any():
        old = out["flag"].fillna("").astype(str).to_numpy(dtype=object)
        out["flag"] = np.where(supp, old + np.where(old == "", "", FLAG_SEP) + "suppressed", old)
    out[count] = pd.array(np.where(supp, np.nan, c), dtype="Float64")
    for col in derived:
        out[col] = out[col].where(~supp)
    out.attrs["disclosure"] = {
        **dict(table.attrs.get("disclosure", {})),
        "rule": f"cells with {'' if suppress_zeros else '0 < '}count < {k} suppressed"
                + ("; complementary suppression over rows and columns" if rows and cols else ""),
        "k": k, "source": HUNDEPOOL, "primary": int((status == PRIMARY).sum()),
        "complementary": int((status == COMPLEMENTARY).sum()), "derived": list(derived),
        "unprotected": unprotected,
    }
    return out


def _complementary(frame, c, status, rows, cols, layers):
    lay = group_codes(frame, layers)
    r = group_codes(frame, rows)
    q = group_codes(frame, cols)
    L, R, C = lay.n, r.n, q.n
    flat = (lay.codes * R + r.codes) * C + q.codes
    if len(np.unique(flat)) != len(flat):
        raise RatesInputError(
            f"table has several rows per cell of {layers + rows + cols}; "
            "name the other dimensions in `layers` or aggregate first")
    val = np.full(L * R * C, np.nan)
    val[flat] = c
    sup = np.zeros(L * R * C, dtype=bool)
    sup[flat] = status != ""
    exists = np.zeros(L * R * C, dtype=bool)
    exists[flat] = ~np.isnan(c)
    val, sup, exists = (a.reshape(L, R, C) for a in (val, sup, exists))
    comp = np.zeros_like(sup)
    # Candidate cost: smallest positive count first, zeros last, absent cells never.
    cost = np.where(exists, np.where(val > 0, val, np.nanmax(np.r_[val[exists], 0]) + 1.0), np.inf)
    for _ in range(R * C + 2):
        changed = False
        for axis in (2, 1):          # rows (sum over columns), then columns
            single = (sup.sum(axis=axis) == 1)
            if not single.any():
                continue
            masked = np.where(sup | ~exists, np.inf, cost)
            pick = masked.argmin(axis=axis)
            ok = single & np.isfinite(np.take_along_axis(masked, np.expand_dims(pick, axis), axis).squeeze(axis))
            if ok.any():
                li, xi = np.nonzero(ok)
                pi = pick[li, xi]
                if axis == 2:
                    sup[li, xi, pi] = True
                    comp[li, xi, pi] = True
                else:
                    sup[li, pi, xi] = True
                    comp[li, pi, xi] = True
                changed = True
        if not changed:
            break
    unprotected = []
    # The line rule above is not sufficient (a suppressed cell can still be derived through a chain
    # of rows and columns). Exact condition for a two-way table with published margins: a
    # suppressed cell is safe iff it lies on a cycle of suppressed cells in the row-column
    # bipartite graph, i.e. it is not a bridge. Close every remaining bridge with the cheapest path.
    for li in np.flatnonzero(sup.any(axis=(1, 2))):
        s_l, bad = _close_bridges(val[li], sup[li], exists[li])
        comp[li] |= s_l & ~sup[li]
        sup[li] = s_l
        for ri, ci in bad:
            entry = {"row": r.keys.iloc[ri].to_dict(), "column": q.keys.iloc[ci].to_dict()}
            if layers:
                entry["layer"] = lay.keys.iloc[li].to_dict()
            unprotected.append(entry)
    status = status.copy()
    newly = comp.reshape(-1)[flat] & (status == "")
    status[newly] = COMPLEMENTARY
    return status, unprotected


def flag_unreliable(table: pd.DataFrame, n: int = 16, *, count: str = "count", flag: str = "flag",
                    blank: Sequence[str] = ()) -> pd.DataFrame:
    """Flag rates resting on fewer than ``n`` cases as unreliable (USCS/NCI: 16; ONS: 20; PHE: 10).

    Appends the code "unreliable" to the ``flag`` column (label "unreliable: fewer than n cases"
    via :func:`analytics.rates.flag_labels`, n kept in ``attrs["disclosure"]["unreliable_below"]``)
    and blanks the ``blank`` columns there (e.g. ``("value", "lower", "upper")`` to withhold the
    rate, as USCS does).
    """
    require_columns(table, [count], "table")
    out = table.copy()
    c = pd.to_numeric(out[count], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    low = c < n
    msg = "unreliable"
    old = out[flag].fillna("").astype(str).to_numpy(dtype=object) if flag in out else np.full(len(out), "", dtype=object)
    sep = np.where(old == "", "", FLAG_SEP)
    out[flag] = np.where(low, old + sep + msg, old)
    for col in blank:
        out[col] = out[col].where(~low)
    info = dict(out.attrs.get("disclosure", {}))
    info["reliability"] = f"rates on fewer than {n} cases flagged unreliable" + (
        f" and {list(blank)} withheld" if blank else "")
    info["unreliable_below"] = n
    out.attrs["disclosure"] = info
    return out


def round_counts(table: pd.DataFrame, base: int = 5, *, count: str = "count",
                 small: int | None = 7) -> pd.DataFrame:
    """NHS Digital style: counts 1..``small`` shown as missing ("*"), others rounded to the nearest
    ``base``; 0 stays 0 (NHS Digital HES disclosure control, 2018)."""
    out = table.copy()
    c = pd.to_numeric(out[count], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    rounded = np.floor(c / base + 0.5) * base
    if small:
        rounded = np.where((c >= 1) & (c <= small), np.nan, rounded)
    out[count] = pd.array(rounded, dtype="Float64")
    info = dict(out.attrs.get("disclosure", {}))
    info["rounding"] = f"counts 1-{small} suppressed, others rounded to the nearest {base}" if small \
        else f"counts rounded to the nearest {base}"
    out.attrs["disclosure"] = info
    return out


def _bridges(sup: np.ndarray) -> list[tuple[int, int]]:
    """Suppressed cells whose edge is a bridge of the row-column graph (recoverable from margins)."""
    from scipy import sparse   # on first use (module docstring)
    from scipy.sparse import csgraph

    R, C = sup.shape
    cells = np.argwhere(sup)
    out = []
    for ri, ci in cells:
        g = sup.copy()
        g[ri, ci] = False
        adj = np.zeros((R + C, R + C), dtype=bool)
        adj[:R, R:] = g
        adj[R:, :R] = g.T
        _, lab = csgraph.connected_components(sparse.csr_matrix(adj), directed=False)
        if lab[ri] != lab[R + ci]:
            out.append((int(ri), int(ci)))
    return out


def _close_bridges(val, sup, exists):
    """Add the cheapest suppressions (Dijkstra over rows/columns; cost = count + 1, already
    suppressed cells almost free) that put every suppressed cell on a cycle."""
    from scipy import sparse   # on first use (module docstring)
    from scipy.sparse import csgraph

    sup = sup.copy()
    R, C = sup.shape
    unfixable = []
    for _ in range(R * C):
        todo = [b for b in _bridges(sup) if b not in unfixable]
        if not todo:
            break
        ri, ci = todo[0]
        cost = np.where(sup, 1e-6, np.where(exists, np.nan_to_num(val) + 1.0, 0.0))
        cost[ri, ci] = 0.0                       # the bridge itself may not be used
        w = np.zeros((R + C, R + C))
        w[:R, R:] = cost
        w[R:, :R] = cost.T
        dist, pred = csgraph.dijkstra(sparse.csr_matrix(w), directed=False, indices=ri,
                                      return_predecessors=True)
        if not np.isfinite(dist[R + ci]):
            unfixable.append((ri, ci))
            continue
        node = R + ci
        while node != ri:
            prev = pred[node]
            a, b = (prev, node - R) if prev < R else (node, prev - R)
            sup[a, b] = True
            node = prev
    return sup, unfixable

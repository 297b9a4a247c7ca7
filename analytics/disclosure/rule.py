"""The disclosure rule of public output: cell-key perturbation, then counts below k shown as "<k".

:class:`DisclosureRule` holds the parameters (threshold ``k``, noise bound ``D``, noise variance
``V``, the operator's secret) and does the three steps every public number goes through:

1. :meth:`DisclosureRule.noisy` / :func:`perturb` — a cell's published count is its true count
   plus the noise the perturbation table gives for (count, cell key); the cell key is the sum of
   the cell's record keys (:mod:`analytics.disclosure.keys`), so the same cell gets the same
   noise in every view;
2. everything else (rates, ASRs, CIs, SIRs, percentages, projections) is computed from the
   perturbed counts;
3. :func:`protect` — counts whose *published* value is ``0 < n < k`` are withheld (shown as
   "<k") with every statistic derived from them.

The secret comes from the environment variable ``REGISTRY_DISCLOSURE_SECRET`` (set by the
operator; the fixed demo secret otherwise, which must not be used for real data).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analytics.disclosure import keys as K
from analytics.disclosure.ptable import PerturbationTable, max_entropy_table
from analytics.disclosure.suppression import suppress

log = logging.getLogger(__name__)

SECRET_ENV = "REGISTRY_DISCLOSURE_SECRET"
DEMO_SECRET = b"cancer-registry-dashboard: demo disclosure secret (set REGISTRY_DISCLOSURE_SECRET for real data)"
DEFAULT_K = 10
DEFAULT_MAX_NOISE = 4
DEFAULT_VARIANCE = 1.0
KEY_SUM = "key_sum"
CELL_KEY_METHOD = "cell-key perturbation"
REFERENCES = (
    "Thompson G, Broadfoot S, Elazar D. Methodology for the automatic confidentialisation of statistical "
    "outputs from remote servers at the Australian Bureau of Statistics. UNECE/Eurostat Work Session on "
    "Statistical Data Confidentiality, Ottawa, 2013",
    "Office for National Statistics. Protecting personal data in Census 2021 results (cell key "
    "perturbation), 2021",
    "Giessing S. Computational issues in the design of transition probabilities and disclosure risk "
    "estimation for additive noise. PSD 2016, LNCS 9867:237-251",
    "Hundepool A, Domingo-Ferrer J, Franconi L, et al. Statistical Disclosure Control. Wiley, 2012",
)
# Columns that describe a cell rather than derive from its count: never withheld with it.
NOT_DERIVED = ("population", "person_years", "py", "expected", "age_start", "age_end", "year")
# Columns holding counts of people or tumours in the app's tables (shown as "<k" when withheld).
COUNT_COLUMNS = ("count", "cases", "all_ages", "unknown_age", "total", "records", "n_lost", "n_unknown",
                 "deaths", "observed", "cases_start", "cases_end")


@dataclasses.dataclass(frozen=True)
class DisclosureRule:
    """Cell-key perturbation with noise bound ``max_noise`` and variance ``variance``, then
    published counts ``0 < n < k`` withheld.

    ``secret`` keys the record keys (never shown; only :attr:`fingerprint` identifies it).
    """

    k: int = DEFAULT_K
    max_noise: int = DEFAULT_MAX_NOISE
    variance: float = DEFAULT_VARIANCE
    secret: bytes = dataclasses.field(default=DEMO_SECRET, repr=False)
    key_bits: int = K.KEY_BITS

    def __post_init__(self) -> None:
        if int(self.k) != self.k or self.k < 1:
            raise ValueError(f"k must be an integer >= 1, got {self.k!r}")
        if int(self.max_noise) != self.max_noise or self.max_noise < 1:
            raise ValueError(f"max_noise must be an integer >= 1, got {self.max_noise!r}")
        if not self.variance > 0:
            raise ValueError(f"variance must be > 0, got {self.variance!r}")
        if not isinstance(self.secret, (bytes, bytearray)) or not self.secret:
            raise ValueError("secret must be non-empty bytes")
        if not 8 <= self.key_bits <= 30:
            raise ValueError(f"key_bits must lie in 8..30, got {self.key_bits!r}")

    # --- configuration --------------------------------------------------------------------
    @classmethod
    def from_env(cls, k: int = DEFAULT_K, environ: Mapping[str, str] | None = None, **kw) -> "DisclosureRule":
        """The rule with the operator's secret (``REGISTRY_DISCLOSURE_SECRET``), else the demo secret."""
        env = os.environ if environ is None else environ
        value = (env.get(SECRET_ENV) or "").strip()
        if not value:
            return cls(k=k, **kw)
        return cls(k=k, secret=value.encode("utf-8"), **kw)

    @property
    def uses_demo_secret(self) -> bool:
        return hmac.compare_digest(bytes(self.secret), DEMO_SECRET)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies the rule and its secret (for cache keys and metadata) without revealing it."""
        tag = hmac.new(bytes(self.secret), b"fingerprint", hashlib.sha256).hexdigest()[:12]
        return f"k{self.k}-D{self.max_noise}-V{self.variance:g}-b{self.key_bits}-{tag}"

    @functools.cached_property
    def ptable(self) -> PerturbationTable:
        return max_entropy_table(self.max_noise, self.variance)

    # --- keys and noise --------------------------------------------------------------------
    def record_keys(self, ids) -> np.ndarray:
        """Record keys of identifiers (``tumour_id``), in ``[0, 2**key_bits)``."""
        return K.record_keys(ids, bytes(self.secret), self.key_bits)

    def keys_of(self, records: pd.DataFrame, reference: pd.DataFrame | None = None) -> np.ndarray:
        """Record keys of a records frame: from ``tumour_id`` when every record of ``reference``
        (default: ``records``; pass the whole data set when ``records`` is a part of it, so that
        a record keeps its key) has a distinct one, else from the source row number (``row``),
        else from the index label."""
        from analytics import schema as S

        ref = records if reference is None else reference
        for col in (S.TUMOUR_ID, S.ROW):
            if col in ref.columns and col in records.columns and ref[col].notna().all() and ref[col].is_unique:
                return self.record_keys(f"{col}:" + records[col].astype(str))
        return self.record_keys("index:" + pd.Series(records.index, index=records.index).astype(str))

    def row_keys(self, frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
        """Keys of the rows of an aggregated input (e.g. deaths) from their coordinates."""
        return K.row_keys(frame, columns, bytes(self.secret), self.key_bits)

    def noise(self, counts, key_sums) -> np.ndarray:
        c = np.asarray(counts)
        if c.size and (np.asarray(c, float) != np.round(np.asarray(c, float))).any():
            raise ValueError("cell-key perturbation needs whole counts")
        return self.ptable.noise(np.asarray(c, dtype=np.int64), K.cell_key(key_sums, self.key_bits))

    def noisy(self, counts, key_sums) -> np.ndarray:
        """Published counts: true count + noise(count, cell key); never negative; zeros stay zeros."""
        c = np.asarray(counts, dtype=np.int64)
        return c + self.noise(c, key_sums)

    # --- words ----------------------------------------------------------------------------
    def describe(self) -> dict:
        return {"method": CELL_KEY_METHOD, "k": int(self.k), "max_noise": int(self.max_noise),
                "variance": float(self.variance), "key_bits": int(self.key_bits),
                "rule": self.text("en"), "fingerprint": self.fingerprint, "references": list(REFERENCES)}

    def text(self, lang: str = "en") -> str:
        """The rule in words (catalogue ``disclosure.rule``), for metadata sheets and footers."""
        from analytics.i18n import t

        return t("disclosure.rule", lang, k=self.k, k_minus_1=self.k - 1, d=self.max_noise)


# --- tables -----------------------------------------------------------------------------------
def perturb(table: pd.DataFrame, rule: DisclosureRule, counts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy with each count column replaced by its published (perturbed) value.

    ``counts`` maps each count column to the column holding the sum of its records' keys
    (default ``{"count": "key_sum"}``); the key columns are dropped."""
    counts = dict(counts or {"count": KEY_SUM})
    missing = [c for pair in counts.items() for c in pair if c not in table.columns]
    if missing:
        raise ValueError(f"perturb: the table has no column(s) {missing}")
    out = table.copy()
    for col, key in counts.items():
        out[col] = rule.noisy(out[col].to_numpy(dtype=float), out[key].to_numpy(dtype=np.int64))
    out = out.drop(columns=list(dict.fromkeys(counts.values())))
    out.attrs["disclosure"] = {**dict(table.attrs.get("disclosure", {})), **rule.describe(), "perturbed": list(counts)}
    return out


def protect(table: pd.DataFrame, rule: DisclosureRule, *, count: str | None = "count",
            cells: Sequence[str] = (), derived: Sequence[str] | None = None) -> pd.DataFrame:
    """Withhold published counts ``0 < n < k`` (the table's counts must already be perturbed).

    ``count``: the count of each row; a small one withholds the row's count and every statistic
    derived from it (``derived``: by default every float column and every other count column,
    but not population, expected counts or ``cells``), with ``suppressed`` True, ``suppression``
    "primary" and the flag "suppressed" (read by the charts and sentences). ``cells``: further
    count columns withheld cell by cell (wide tables such as the CI5 table's age groups). A
    withheld count is missing; :func:`show_small` writes it as "<k" for display and downloads.
    ``attrs["disclosure"]`` records the rule."""
    info = {**dict(table.attrs.get("disclosure", {})), **rule.describe()}
    # every other count column (unknown age, lost to follow-up...) is withheld cell by cell too
    other = list(dict.fromkeys(list(cells) + [c for c in table.columns if c in COUNT_COLUMNS and c != count
                                              and pd.api.types.is_numeric_dtype(table[c])]))
    if count is not None:
        if derived is None:
            derived = [c for c in table.columns if c not in other and c != count and c not in NOT_DERIVED
                       and (pd.api.types.is_float_dtype(table[c])
                            or (c in COUNT_COLUMNS and pd.api.types.is_numeric_dtype(table[c])))]
        out = suppress(table, k=rule.k, count=count, derived=list(derived))
        info.update(primary=out.attrs["disclosure"]["primary"], derived=list(derived))
    else:
        out = table.copy()
        out["suppressed"] = False
        out["suppression"] = ""
    for col in other:
        v = pd.to_numeric(out[col], errors="coerce")
        out[col] = v.where(~((v > 0) & (v < rule.k)))
    out.attrs["disclosure"] = {**info, "count": count, "cells": other}
    return out


def show_small(table: pd.DataFrame, k: int, columns: Sequence[str] | None = None, *,
               as_text: bool = False) -> pd.DataFrame:
    """For display and downloads of public output: every missing count (a withheld one) written
    as the text "<k". ``columns``: the count columns (default: those named in
    :data:`COUNT_COLUMNS` and the age-group columns). Other values are untouched; with
    ``as_text`` the whole column becomes text (whole numbers without decimals), as a screen
    table needs one type per column."""
    from analytics import schema as S

    if columns is None:
        columns = [c for c in table.columns if c in COUNT_COLUMNS or c in S.AGE_GROUPS]
    out = None
    for col in columns:
        v = table[col]
        hide = v.isna().to_numpy()
        if hide.any():
            out = table.copy() if out is None else out
            if as_text:
                num = pd.to_numeric(v, errors="coerce")
                text = num.map(lambda x: "" if pd.isna(x) else f"{x:.0f}" if float(x).is_integer() else f"{x:g}")
                out[col] = text.where(~hide, f"<{k}").astype(str)
            else:       # whole numbers as integers (a CSV prints 12, not 12.0)
                num = pd.to_numeric(v, errors="coerce")
                whole = num.notna() & (num == num.round())
                obj = v.astype(object).where(~whole.to_numpy(), num.round().astype("Int64").astype(object))
                out[col] = obj.where(~hide, f"<{k}")
    return table if out is None else out

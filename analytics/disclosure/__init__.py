"""Statistical disclosure control for published tables.

Public output of the dashboard goes through one rule, :class:`DisclosureRule` (docs/methods.md,
"Disclosure control in public output"): cell-key perturbation of every count (Thompson,
Broadfoot & Elazar 2013; ONS 2021) with a maximum-entropy perturbation table (Giessing 2016),
rates and every other statistic computed from the perturbed counts, then published counts
``0 < n < k`` withheld ("<k") with the statistics derived from them.

The small API::

    rule = DisclosureRule.from_env(k=10)           # secret from REGISTRY_DISCLOSURE_SECRET
    public = PerturbedCube.from_records(records, population, parents, "site_ci5", rule)
    # (= record keys rule.keys_of(records) summed per cell by analytics.cube with key=...)
    counts = public.select(selection, by=("sex", "site"))        # published counts
    table = protect(rates.dsr(counts, by=["sex", "site"]), rule)  # "<k" and derived blanks
    perturb(deaths_cells, rule, {"count": "key_sum"})           # any table of keyed counts
    rule.row_keys(deaths, ["year", "sex", "age_group", "region_code", "icd10"])  # rows without records

The classical tools stay available for single tables: :func:`suppress` (primary and
complementary suppression, Hundepool et al. 2012, ch. 4), :func:`flag_unreliable`,
:func:`round_counts`.
"""
from analytics.disclosure.cube import PerturbedCube
from analytics.disclosure.keys import KEY_BITS, cell_key, record_keys, row_keys
from analytics.disclosure.ptable import PerturbationTable, max_entropy_table
from analytics.disclosure.rule import (COUNT_COLUMNS, DEMO_SECRET, KEY_SUM, REFERENCES, SECRET_ENV,
                                       DisclosureRule, perturb, protect, show_small)
from analytics.disclosure.suppression import (COMPLEMENTARY, HUNDEPOOL, NOT_DERIVED, PRIMARY, flag_unreliable,
                                              round_counts, suppress)

__all__ = [
    "DisclosureRule", "PerturbedCube", "PerturbationTable", "max_entropy_table", "perturb", "protect",
    "show_small", "record_keys", "row_keys", "cell_key", "KEY_BITS", "KEY_SUM", "COUNT_COLUMNS", "SECRET_ENV",
    "DEMO_SECRET", "REFERENCES", "suppress", "flag_unreliable", "round_counts", "PRIMARY", "COMPLEMENTARY",
    "HUNDEPOOL", "NOT_DERIVED",
]

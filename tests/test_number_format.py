"""One decimal policy per preset (analytics.presets.NumberFormat) behind every printed number;
p-values as "p < 0.001" below 0.001; negative numbers with their sign."""
from __future__ import annotations

import pytest

from analytics import presets


def test_policy_per_preset_and_the_table_rounding_use_it():
    for name, p in presets.PRESETS.items():
        nf = p.number_format
        assert nf.rate == p.decimals and nf.percent == p.decimals and nf.ratio == p.decimals + 1
    assert presets.number_format().d3("rate") == ",.1f"
    with pytest.raises(ValueError, match="'rate'"):
        presets.number_format().decimals("speed")


def test_same_kind_same_decimals():
    """Issue 9: "0.19 %" next to "0.8 %" - percentages printed with different decimals."""
    assert presets.fmt(0.19, "percent") == "0.2" and presets.fmt(0.8, "percent") == "0.8"
    assert presets.fmt(12.345, "rate", "ru") == "12,3" and presets.fmt(1.2345, "ratio", "az") == "1,23"


def test_signs():
    assert presets.fmt(-2.34, "apc") == "\u22122.3"
    assert presets.fmt(2.34, "apc", signed=True) == "+2.3"
    assert presets.fmt(-0.04, "apc") == "0.0"               # never "-0.0"
    assert presets.fmt(-1234.5, "rate", "en") == "\u22121,234.5"


@pytest.mark.parametrize("p,en,ru", [(0.0, "p < 0.001", "p < 0,001"), (0.00049, "p < 0.001", "p < 0,001"),
                                     (0.0123, "p = 0.012", "p = 0,012"), (0.001, "p = 0.001", "p = 0,001"),
                                     (1.0, "p = 1.000", "p = 1,000")])
def test_p_values_never_print_as_zero(p, en, ru):
    assert presets.fmt_p(p, "en") == en and presets.fmt_p(p, "ru") == ru
    assert presets.fmt_p(p, prefix=False) == en[2:].removeprefix("= ")


def test_tables_on_screen_print_small_p_values_as_below_0001():
    import pandas as pd

    from app_support import tables
    shown = tables.localise(pd.DataFrame({"term": ["x", "y"], "p_value": [1e-12, 0.0456], "ratio_p": [0.0, 1.0]}), "ru")
    assert shown["p_value"].tolist() == ["< 0,001", "0,046"] and shown["ratio_p"].tolist() == ["< 0,001", "1,000"]

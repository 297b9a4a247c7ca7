"""Issue 12: derivation and record checks rewritten as columnar expressions must give exactly what
the row-wise pandas implementation gave — every derived value, every flag with its message, the
reconciliation — on the demo and on the benchmark extract. The old output was frozen as digests
(tests/reference/ingest/freeze.py, frozen_outputs.json) before the rewrite."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "reference" / "ingest"
sys.path.insert(0, str(HERE))
import freeze  # noqa: E402

FROZEN = json.loads(freeze.FROZEN.read_text())


@pytest.fixture(scope="module")
def inputs():
    with tempfile.TemporaryDirectory() as d:
        yield freeze.cases(Path(d))


@pytest.mark.parametrize("case", sorted(FROZEN))
def test_ingest_output_equals_the_frozen_output(inputs, case):
    path, regions = inputs[case]
    got = freeze.outputs(freeze.load(path, regions))
    want = FROZEN[case]
    assert got["n"] == want["n"]
    for part in ("records", "flags", "reconciliation"):
        assert got[part]["rows"] == want[part]["rows"], (case, part)
        differing = [c for c in want[part]["columns"] if got[part]["columns"].get(c) != want[part]["columns"][c]]
        assert set(got[part]["columns"]) == set(want[part]["columns"]), (case, part)
        assert not differing, (case, part, differing)


def test_the_digests_text_is_the_same_computed_once_per_distinct_value():
    """freeze.canonical (the text of each value, computed once per distinct value) is
    freeze.canonical_by_value (the definition the digests were written with) on columns of every
    kind, including those where equal values print differently (1, 1.0, True; Decimals)."""
    import decimal

    import numpy as np
    import pandas as pd

    columns = [
        pd.Series([1, 1.0, True, "1", None, np.nan, pd.NA, pd.NaT, -0.0, 0.0, np.float32("nan"),
                   decimal.Decimal("1.0"), decimal.Decimal("1.00"), np.int8(3), 2.5, float("inf")], dtype=object),
        pd.Series(["a", None, "b", np.nan, "a", np.str_("a"), pd.NA], dtype=object),
        pd.Series(["a", None, "b", "a"], dtype="str"), pd.Series(["a", None, "b"], dtype="string[python]"),
        pd.Series([1, -2, 3, 1, 2**62]), pd.Series([1, 2**63 + 5], dtype="uint64"),
        pd.Series([1, None, -3, 1], dtype="Int8"), pd.Series([None, None], dtype="Int16"),
        pd.Series([1.0, -0.0, 0.0, 2.5, np.nan, float("inf"), -float("inf"), 1e20, 1e-300, 0.1 + 0.2]),
        pd.Series([1.0, np.nan, 2.5, -0.0], dtype="float32"), pd.Series([1.0, None, 2.5], dtype="Float64"),
        pd.Series([True, False, True]), pd.Series([True, None, False], dtype="boolean"),
        pd.Series(["a", "b", None, "a"], dtype="category"), pd.Series([1.0, 2.5, None, -0.0], dtype="category"),
        pd.Series(pd.to_datetime(["2020-01-01", None, "2020-01-01 00:00:00.000001"], format="mixed")),
        pd.Series(pd.to_datetime(["2020-01-01 01:00", None]).tz_localize("Asia/Baku")),
        pd.Series(pd.to_timedelta(["1D", None])), pd.Series([0j, complex(-0.0, -0.0)]),
        pd.Series([], dtype=object), pd.Series([], dtype="datetime64[ns]"), pd.Series([np.nan]),
    ]
    for s in columns:
        assert "\n".join(freeze.canonical(s)) == "\n".join(freeze.canonical_by_value(s)), s

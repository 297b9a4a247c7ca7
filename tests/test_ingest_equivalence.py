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

"""What a cold start imports (issue 12: cold start -> first chart <= 4 s).

Each check runs in a fresh interpreter (``sys.modules`` of this one is shared by every test):
- before the server answers its health check, serve.py imports nothing heavy of ``analytics``
  (pandas, scipy): the warm-up thread imports those while the browser loads the front end;
- the first page's modules and rates (DSRs, cumulative risk) never import ``scipy.stats``
  (about 0.4 s) nor ``numba`` (the survival fits' compiler, 0.4 s); the functions that need
  them import them themselves.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analytics import intervals, rates

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "pandas", "analytics.disclosure", "analytics.rates")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code`` in the checkout."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_serve_imports_nothing_heavy_before_the_server_answers():
    loaded = _modules_after("import serve\nfrom app_support import hardening\n"
                            "hardening.startup_warnings('local')\nhardening.server_options('local', port=8501)")
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_other_modes_still_warn_about_the_demo_secret():
    from app_support import hardening

    (warning,) = hardening.startup_warnings("public", {})
    assert "REGISTRY_DISCLOSURE_SECRET" in warning


def test_the_first_page_s_modules_and_rates_do_not_import_scipy_stats():
    loaded = _modules_after(
        "from app_support import background\nbackground._import(background.FIRST_MODULES)\n"
        "import pandas as pd\nfrom analytics import rates, schema as S\n"
        "ages = list(S.AGE_GROUPS)\n"
        "d = pd.DataFrame({'age_group': ages, 'count': range(len(ages)), 'population': [1000.0] * len(ages)})\n"
        "for conf in (0.95, [0.95, 0.998]):\n"
        "    assert len(rates.dsr(d, conf=conf)) == 1\n"
        "    assert len(rates.cumulative_risk(d, conf=conf, age='age_group')) == 1\n")
    assert {"analytics.rates", "analytics.tables", "scipy.special"} <= loaded
    assert not {"scipy.stats", "scipy.sparse", "numba"} & loaded     # numba: the survival fits' (0.4 s)


def test_the_functions_that_need_scipy_stats_import_it_themselves():
    """Clopper-Pearson limits (R's binom.test(3, 10)$conf.int: 0.06673951, 0.65245285)."""
    out = rates.proportion(3, 10, method="exact")
    assert out["lower"].iloc[0] == pytest.approx(0.06673951, abs=5e-9)
    assert out["upper"].iloc[0] == pytest.approx(0.65245285, abs=5e-9)


def test_z_value_is_scipy_s_normal_quantile_to_the_bit():
    for conf in np.concatenate([np.linspace(0.001, 0.999, 999), [0.8, 0.9, 0.95, 0.99, 0.998, 0.999]]):
        assert intervals.z_value(conf) == float(stats.norm.ppf(1 - (1 - conf) / 2))

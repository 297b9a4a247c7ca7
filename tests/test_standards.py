"""Standard population catalogue and matching to the data's age groups, against the published
tables in data/reference/standard_populations.md (and docs/methods.md §1.1)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import rates, schema, standards

SEGI = [12000, 10000, 9000, 9000, 8000, 8000, 6000, 6000, 6000, 6000, 5000, 4000, 4000, 3000,
        2000, 1000, 500, 500]
NORDIC = [5900, 6600, 6200, 5800, 6100, 6800, 7300, 7300, 7000, 6900, 7400, 6100, 4800, 4100,
          3900, 3500, 2400, 1900]


def test_catalogue_has_every_required_name():
    cat = standards.catalogue()
    required = {"world_segi1960", "world_who2000", "europe_1976", "europe_2013", "us_2000",
                "nordic_2000", "canada_2011"}
    assert required <= set(cat["name"])
    assert "esp_2013_19grp_per100k" in set(cat["name"])        # csv ids exposed too
    totals = cat.set_index("name")["total"]
    assert totals["world_segi1960"] == 100000
    assert totals["world_who2000"] == 100035                   # published WHO table (W1)
    assert totals["us_2000"] == 274633642
    assert totals["canada_2011"] == 34342780


def test_segi_and_nordic_values():
    assert standards.get_standard("world_segi1960")["weight"].tolist() == SEGI
    assert standards.get_standard("nordic_2000")["weight"].tolist() == NORDIC
    assert standards.get_standard()["age_group"].tolist() == schema.AGE_GROUPS


def test_collapse_to_85_plus():
    w = standards.align_standard("europe_2013", schema.AGE_GROUPS)
    assert w["0-4"] == 5000 and w["85+"] == 2500              # 0 + 1-4; 85-89 + 90-94 + 95+
    assert w.sum() == 100000
    who = standards.align_standard("world_who2000", schema.AGE_GROUPS)
    assert who["85+"] == 635                                    # 440 + 150 + 40 + 5 (W2)


def test_us_2000_grouping_variants():
    labels = ["00", "01-04"] + schema.AGE_GROUPS[1:]
    w = standards.align_standard("us_2000", labels)
    assert w["00"] == 3794901 and w["01-04"] == 15191619 and w["85+"] == 4259173
    w18 = standards.align_standard("us_2000", schema.AGE_GROUPS)
    assert w18["0-4"] == 3794901 + 15191619
    w90 = standards.align_standard("us_2000", schema.AGE_GROUPS[:-1] + ["85-89", "90+"])
    assert w90["85-89"] + w90["90+"] == 4259173


def test_refuses_groups_that_do_not_match():
    with pytest.raises(standards.StandardError, match=r"'0-2'"):
        standards.align_standard("world_segi1960", ["0-2", "3-4"])
    with pytest.raises(standards.StandardError, match="cannot be matched"):
        standards.align_standard("world_segi1960", schema.AGE_GROUPS[:-1] + ["85-89", "90+"])
    with pytest.raises(standards.StandardError, match="unknown standard"):
        standards.get_standard("martian_2050")
    with pytest.raises(standards.StandardError, match="cannot be read"):
        standards.align_standard("world_segi1960", ["infants"])


def test_weights_normalised_over_groups_used():
    """A constant rate gives that rate whatever the standard's unit or the groups present."""
    df = pd.DataFrame({"age_group": schema.AGE_GROUPS, "count": [5.0] * 18, "population": [1000.0] * 18})
    for name in ("world_segi1960", "world_who2000", "europe_2013", "us_2000", "nordic_2000",
                 "canada_2011", "europe_1976"):
        assert rates.dsr(df, standard=name)["value"].iloc[0] == pytest.approx(500.0, rel=1e-12)
    child = df.iloc[:3]
    assert rates.dsr(child)["value"].iloc[0] == pytest.approx(500.0)


def test_user_standard_and_parsing():
    u = standards.user_standard({"0-14": 30, "15-64": 60, "65+": 10}, name="mine")
    assert u["age_start"].tolist() == [0, 15, 65] and np.isinf(u["age_end"].iloc[-1])
    w = standards.align_standard(u, ["0-14", "15-64", "65+"])
    assert w.tolist() == [30, 60, 10]
    assert standards.parse_age_group("<1") == (0, 0)
    assert standards.parse_age_group("85+") == (85, np.inf)
    assert standards.parse_age_group("05-09") == (5, 9)
    assert standards.parse_age_group("unknown") is None

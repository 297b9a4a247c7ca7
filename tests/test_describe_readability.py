"""Readability of the charts (issue 9, "Words and readability"): the presentation theme enlarges
treemap labels, legends and the bivariate key as it does titles; map legends keep the theme's
size; internal codes are shown as words on screen while downloads keep them."""
from __future__ import annotations

import pandas as pd
import plotly.io as pio
import pytest

from analytics import schema as S
from analytics.charts import base, maps
from analytics.i18n import t


def test_presentation_theme_enlarges_treemap_labels_and_legends():
    light, big = pio.templates[base.LIGHT], pio.templates[base.PRESENTATION]
    assert big.data.treemap[0].textfont.size >= 20 and big.layout.uniformtext.minsize >= 16
    assert big.layout.legend.font.size >= 20 > light.layout.legend.font.size


@pytest.fixture(scope="module")
def regions():
    from analytics import demo

    return demo.load_demo_regions()


def test_map_legends_and_bivariate_key_follow_the_theme(regions):
    frame = pd.DataFrame({S.REGION: regions[S.REGION], "rf": range(len(regions)), "sir": [1.0] * len(regions)})
    frame["sir"] = frame["rf"] % 7 / 5 + 0.6
    for theme, size in (("light", 12), ("presentation", 20)):
        fig = maps.bivariate_choropleth(regions, frame, "rf", x_label="Smoking", theme=theme)
        assert {a.font.size for a in fig.layout.annotations} == {size}
        choro = maps.choropleth(regions, frame, "sir", scheme="ratio", theme=theme)
        assert choro.layout.legend.font.size is None          # the template's size (22 in presentation)
        assert choro.layout.legend.y < 0                       # under the map


def test_tables_show_codes_as_words_and_downloads_keep_them():
    from app_support import tables

    flags = pd.DataFrame({"row": [3], "check": ["topography_invalid"], "severity": ["error"], "column": ["topography"],
                          "message": ["C999 is not a topography code"]})
    shown = tables.localise(flags, "ru")
    assert shown["column"].iloc[0] == t("describe.field.topography", "ru")
    cfg = tables.column_config(flags, "ru")
    assert cfg["check"] is None                              # the id is hidden, its sentence shown
    assert flags["check"].iloc[0] == "topography_invalid"    # the frame downloaded is untouched
    recon = pd.DataFrame({"reason": ["sex_site"], "records": [4], "stage": ["validation"]})
    shown = tables.localise(recon, "az")
    assert shown["reason"].iloc[0] != "sex_site" and shown["stage"].iloc[0] == t("describe.stage.validation", "az")
    assert tables.header("n_lost", "ru") == t("describe.col.n_lost", "ru")
    assert tables.header("smoking_men", "az") == "Gündəlik siqaret çəkmə, 15+ yaşlı kişilər (%)"

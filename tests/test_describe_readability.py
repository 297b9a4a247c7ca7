"""Readability of the charts (issue 9, "Words and readability"): the presentation theme enlarges
treemap labels, legends and the bivariate key as it does titles; map legends keep the theme's
size; internal codes are shown as words on screen while downloads keep them."""
from __future__ import annotations

import pandas as pd
import plotly.io as pio
import pytest

from analytics import schema as S
from analytics.charts import base, maps
from analytics.i18n import sex_label, t


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


@pytest.mark.parametrize("k", [None, 5])
def test_a_table_made_ready_once_sends_the_bytes_streamlit_makes_of_the_frame(k):
    """tables.show hands st.dataframe the Arrow table it keeps per process (cache.view); the
    browser must receive exactly what Streamlit would have made of the localised frame."""
    from streamlit import dataframe_util

    from app_support import tables

    frame = pd.DataFrame({"site": ["C16", "C18-C21", "C50"], "sex": [1, 2, 2], "count": [None, 40.0, 12.0],
                          "value": [1.25, 17.5, 8.0], "flag": ["suppressed", "", "unreliable"]})
    shown = tables.ready(frame, "ru", None, k)
    if k is not None:
        assert shown["count"].iloc[0] == "<5"                       # withheld counts written
    assert shown["sex"].iloc[0] == sex_label(1, "ru")              # codes as words
    arrow = tables.ready(frame, "ru", None, k, arrow=True)
    assert dataframe_util.convert_arrow_table_to_arrow_bytes(arrow) == \
        dataframe_util.convert_pandas_df_to_arrow_bytes(shown)

"""Figures reach the browser as JSON written by orjson (plotly's "auto" engine picks it when it is
installed): about 10x faster than plotly's json engine, which encodes, decodes and encodes again.
The JSON must say exactly what the json engine says, for every kind of value our figures hold."""
from __future__ import annotations

import base64
import importlib.util
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analytics import schema


def _figure() -> go.Figure:
    regions = gpd.read_file(schema.DATA_DIR / "sources" / "azerbaijan_admin1_naturalearth.geojson")
    gj = json.loads(regions.to_json())
    codes = regions["adm1_code"].to_numpy()
    values = np.linspace(0.1, 3.3, len(codes))
    values[[0, 5]] = np.nan                                    # suppressed areas
    fig = go.Figure(go.Choroplethmap(geojson=gj, locations=codes, z=values, featureidkey="properties.adm1_code",
                                     customdata=np.c_[values, np.arange(len(codes), dtype=np.int64)]))
    years = pd.date_range("2015-01-01", periods=6, freq="YS")
    fig.add_trace(go.Scatter(x=years, y=np.array([1.5, np.nan, np.inf, 2.25, 1 / 3, 7e-9], dtype=np.float32),
                             text=["ə", "Я", "<b>x</b>", "", "ü", "1,085"], xaxis="x", yaxis="y"))
    fig.add_trace(go.Bar(x=pd.Series(["C50", "C16"]), y=pd.Series([np.int64(12), np.int64(0)]), error_y={"array": [0.5, None]}))
    fig.update_layout(meta={"description": {"sex": "Women", "n": np.int64(1085), "asr": 8.6}}, title="Ş ş Ğ ğ")
    return fig


def _array(value) -> np.ndarray:
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def test_orjson_is_the_engine_plotly_and_streamlit_use():
    assert importlib.util.find_spec("orjson") is not None    # a requirement: the fast path is the one served
    assert pio.json.config.default_engine == "auto"
    spec = _figure().to_dict()
    fast, slow = pio.to_json(spec, validate=False, engine="orjson"), pio.to_json(spec, validate=False, engine="json")
    assert fast != slow or len(fast) > 1000
    assert json.loads(fast) == json.loads(slow)
    assert pio.to_json(spec, validate=False) == fast          # what st.plotly_chart calls


def test_values_survive_as_the_json_engine_writes_them():
    out = json.loads(pio.to_json(_figure().to_dict(), validate=False))
    z = _array(out["data"][0]["z"])                              # plotly 7: numpy arrays as typed arrays
    assert np.isnan(z[[0, 5]]).all() and z[1] == np.linspace(0.1, 3.3, z.size)[1]
    scatter = out["data"][1]
    assert scatter["x"][0].startswith("2015-01-01") and scatter["text"][:2] == ["ə", "Я"]
    y = _array(scatter["y"])
    assert y.dtype == np.float32 and np.isnan(y[1]) and np.isinf(y[2]) and y[3] == 2.25
    assert out["data"][2]["error_y"]["array"] == [0.5, None] and list(_array(out["data"][2]["y"])) == [12, 0]
    assert out["layout"]["meta"]["description"]["n"] == 1085 and out["layout"]["title"]["text"] == "Ş ş Ğ ğ"

"""analytics.charts.maps: what each figure draws, checked against the inputs and the analytics."""
from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from analytics import classify, rates, schema, spatial
from analytics.charts import base, maps
from analytics.ecological import ecological_regression


@pytest.fixture(scope="module")
def regions():
    g = gpd.read_file(schema.DATA_DIR / "sources" / "azerbaijan_admin1_naturalearth.geojson")
    return g.rename(columns={"adm1_code": schema.REGION, "name": schema.REGION_NAME})


@pytest.fixture(scope="module")
def frame(regions):
    rng = np.random.default_rng(0)
    e = rng.uniform(2, 80, len(regions))
    o = rng.poisson(e * rng.gamma(10, 0.1, len(regions))).astype(float)
    o[0], e[0] = 30.0, 10.0          # clearly high
    o[1] = 2.0                       # suppressed
    fr = pd.DataFrame({schema.REGION: regions[schema.REGION], "cases": o, "expected": e, "sir": o / e})
    fr["sir_lower"], fr["sir_upper"] = spatial.sir_limits(o, e)
    fr["flag"] = np.where((o > 0) & (o < 5), "suppressed", "")
    fr["reason"] = np.where(fr["flag"] == "suppressed", "fewer than 5 cases", "")
    fr["rf"] = 20 + 5 * np.log(fr["sir"].clip(0.2)) + rng.normal(0, 1, len(fr))
    return fr


def _codes(fig):
    return [c for tr in fig.data if tr.type == "choropleth" and tr.hoverinfo != "skip" for c in tr.locations]


def test_choropleth_classes_legend_and_offline(regions, frame):
    fig = maps.choropleth(regions, frame, "sir", scheme="quantiles", k=5)
    codes = _codes(fig)
    assert sorted(codes) == sorted(regions[schema.REGION])          # every region exactly once
    # SVG regions on an invisible base map fitted to them (no WebGL: a map is drawn anew at every
    # filter change); every trace places its regions by the GeoJSON feature id
    assert (fig.layout.geo.visible, fig.layout.geo.projection.type) == (False, "mercator")
    assert {tr.locationmode for tr in fig.data} == {"geojson-id"}
    x0, y0, x1, y1 = regions.to_crs(4326).total_bounds              # framed on the regions, 1 % around
    assert fig.layout.geo.lonaxis.range == pytest.approx((x0 - 0.01 * (x1 - x0), x1 + 0.01 * (x1 - x0)))
    assert fig.layout.geo.lataxis.range == pytest.approx((y0 - 0.01 * (y1 - y0), y1 + 0.01 * (y1 - y0)))
    assert "http" not in fig.to_json()                              # nothing fetched from anywhere
    supp = [tr for tr in fig.data if tr.name.startswith("Suppressed")]
    assert len(supp) == 1
    assert sorted(supp[0].locations) == sorted(frame.loc[frame["flag"] == "suppressed", schema.REGION])
    assert "fewer than 5 cases" in supp[0].text[0] and "Value" not in supp[0].text[0]
    y = np.where(frame["flag"] == "suppressed", np.nan, frame["sir"])
    c = classify.classify(y, "quantiles", k=5)
    names = [tr.name for tr in fig.data if not tr.name.startswith("Suppressed")]
    assert names == [f"{lab} ({n})" for lab, n in zip(c.labels, c.counts) if n]
    # features are split between traces, never duplicated
    n_features = sum(len(tr.geojson["features"]) for tr in fig.data)
    assert n_features == len(regions)


def test_ratio_scheme_is_centred_on_one(regions, frame):
    fig = maps.choropleth(regions, frame, "sir", scheme="ratio")
    neutral = [tr for tr in fig.data if tr.name.startswith("0.9 – 1.1")]
    assert neutral and neutral[0].colorscale[0][1] == maps.DIVERGING[3]
    high = [tr for tr in fig.data if tr.name.startswith("> 1.5")][0]
    assert frame[schema.REGION].iloc[0] in high.locations and high.colorscale[0][1] == maps.DIVERGING[-1]


def test_significance_map_and_highlight(regions, frame):
    fig = maps.choropleth(regions, frame, "sir", scheme="significance", highlight=frame[schema.REGION].iloc[0])
    higher = [tr for tr in fig.data if (tr.name or "").startswith("Significantly higher")][0]
    expect = frame.loc[(frame["sir_lower"] > 1) & (frame["flag"] != "suppressed"), schema.REGION]
    assert sorted(higher.locations) == sorted(expect)
    outline = fig.data[-1]
    assert list(outline.locations) == [frame[schema.REGION].iloc[0]] and outline.marker.line.width == 3


def test_bivariate_and_lisa_maps(regions, frame):
    fig = maps.bivariate_choropleth(regions, frame, "rf", x_label="Smoking")
    assert sorted(_codes(fig)) == sorted(regions[schema.REGION])
    colours = {tr.colorscale[0][1] for tr in fig.data}
    assert colours <= {c for row in maps.BIVARIATE for c in row}
    xs = classify.classify(frame["rf"], "quantiles", k=3)
    ys = classify.classify(frame["sir"], "quantiles", k=3)
    hh = [tr for tr in fig.data if tr.name.startswith("Smoking high · sir high")][0]
    assert len(hh.locations) == int(((xs.classes == 2) & (ys.classes == 2)).sum())
    w = spatial.contiguity_weights(regions)
    lisa = spatial.lisa(frame.set_index(schema.REGION)["sir"], w, permutations=99)
    lf = maps.lisa_map(regions, lisa)
    for tr in lf.data:
        cluster = next(k for k, v in maps.LISA_COLOURS.items() if v == tr.colorscale[0][1])
        assert set(tr.locations) == set(lisa.index[lisa["cluster"] == cluster])


def test_funnel_plot_uses_rates_limits(frame):
    fig = maps.funnel_plot(frame)
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    grid = lines[0].x
    lim = rates.funnel_limits(grid, kind="ratio", conf=(0.95, 0.998))
    np.testing.assert_allclose(lines[0].y, lim["upper_95"])
    np.testing.assert_allclose(lines[3].y, lim["lower_99_8"])
    pts = [tr for tr in fig.data if tr.mode == "markers"]
    assert sum(len(tr.x) for tr in pts) == int((frame["flag"] != "suppressed").sum())
    top = [tr for tr in pts if tr.name == "Above 99.8% limit"][0]
    assert 10.0 in list(top.x)                                      # O = 30, E = 10
    od = maps.funnel_plot(frame, overdispersion=True)
    assert od.layout.meta["phi"] is not None


def test_scatter_fit_is_the_poisson_regression(frame):
    fig = maps.sir_scatter(frame, "rf", x_label="Smoking")
    fit = fig.data[1]
    tb = ecological_regression(frame, ["rf"], observed="cases", expected="expected").table.set_index("term")
    np.testing.assert_allclose(fit.y, np.exp(tb.loc["intercept", "estimate"] + tb.loc["rf", "estimate"] * np.asarray(fit.x)))
    assert len(fig.data[0].x) == len(frame)


def test_scatter_draws_the_callers_fit_of_its_rows_only(frame):
    """The Risk factors page fits the scatter's regression for its reading and hands it over
    (sir_scatter's ``fit``): the figure is the one it would fit itself; a fit of other rows, or
    per SD, is refused rather than drawn over points it was not fitted to."""
    rows = frame[np.isfinite(frame["rf"]) & np.isfinite(frame["sir"]) & (frame["expected"] > 0)]
    own = ecological_regression(rows.rename(columns={"cases": "_o", "expected": "_e"}), ["rf"], observed="_o",
                                expected="_e")
    assert maps.sir_scatter(frame, "rf", fit=own).to_plotly_json() == maps.sir_scatter(frame, "rf").to_plotly_json()
    fewer = ecological_regression(rows.iloc[1:].rename(columns={"cases": "_o", "expected": "_e"}), ["rf"],
                                  observed="_o", expected="_e")
    per_sd = ecological_regression(rows.rename(columns={"cases": "_o", "expected": "_e"}), ["rf"], observed="_o",
                                   expected="_e", per="sd")
    for other in (fewer, per_sd):
        with pytest.raises(ValueError, match="not the regression"):
            maps.sir_scatter(frame, "rf", fit=other)


def test_spine_chart_scaling():
    prof = pd.DataFrame({"indicator": ["SIR", "ASR"], "value": [1.5, 150.0], "national": [1.0, 200.0],
                         "min": [0.5, 100.0], "q25": [0.8, 170.0], "q75": [1.2, 230.0], "max": [2.0, 260.0],
                         "significance": ["higher", "lower"]})
    fig = maps.spine_chart(prof)
    dots = fig.data[2]
    # SIR: span max(|2-1|, |1-0.5|) = 1 -> 0.5; ASR: span max(60, 100) = 100 -> -0.5
    np.testing.assert_allclose(dots.x, [0.5, -0.5])
    assert list(dots.marker.color) == ["#b2182b", "#2166ac"]


def test_coefficient_plot(frame):
    tb = ecological_regression(frame, ["rf"], observed="cases", expected="expected", per="sd").table
    fig = maps.coefficient_plot(tb)
    tr = fig.data[0]
    # the unit of the ratio in words ("per 1 standard deviation"), in the chart's language
    assert list(tr.y) == ["rf (per 1 standard deviation)"] and fig.layout.xaxis.type == "log"
    assert list(maps.coefficient_plot(tb, lang="ru").data[0].y) == ["rf (на 1 стандартное отклонение)"]
    np.testing.assert_allclose(tr.x[0] + tr.error_x.array[0], tb["rr_upper"].iloc[1])


def test_geojson_ids_and_topojson_helper(regions):
    gj = maps.geojson_of(regions)
    assert [f["id"] for f in gj["features"]] == list(regions[schema.REGION])
    json.dumps(gj)
    uri = maps.configure_geo_topojson()
    assert uri.startswith("file://") and uri.endswith("/static/topojson/")
    assert (base.TOPOJSON_DIR / "world_110m.json").exists()
    # plotly.js would draw a region given anticlockwise (GeoJSON's order) as everything but it
    from shapely.geometry import Polygon
    ccw = gpd.GeoDataFrame({schema.REGION: ["a"]}, geometry=[Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])], crs=4326)
    ring = maps.geojson_of(ccw)["features"][0]["geometry"]["coordinates"][0]
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
    assert area2 < 0                                                    # clockwise


@pytest.mark.slow
def test_exports_draw_polygons_offline(regions, frame):
    """kaleido renders the map with no network (the base map from static/topojson): the PNG has
    many pixels of the class colours; the SVG draws the regions as vector paths; PDF comes out too."""
    import warnings

    import kaleido
    from PIL import Image
    warnings.filterwarnings("ignore", message="The kopts argument is ignored if using a server")
    fig = maps.choropleth(regions, frame, "sir", scheme="ratio")
    maps.configure_geo_topojson()
    kaleido.start_sync_server(silence_warnings=True)
    try:
        png = fig.to_image(format="png", width=600, height=450)
        svg = fig.to_image(format="svg", width=600, height=450)
        pdf = fig.to_image(format="pdf", width=600, height=450)
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red = (img[..., 0] > 150) & (img[..., 1] < 90) & (img[..., 2] < 90)         # "> 1.5" class
    blue = (img[..., 2] > 130) & (img[..., 0] < 80)                             # "< 0.67" class
    assert red.sum() > 500 and blue.sum() > 500
    assert svg.startswith(b"<svg") and svg.count(b'class="choroplethlocation"') >= len(regions)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_bivariate_key_counts_and_legend_corner(regions, frame):
    """The 3x3 key counts the regions in each tertile pair, from mapclassify's quantiles."""
    fig = maps.bivariate_choropleth(regions, frame, "rf", x_label="Smoking")
    xs = classify.classify(frame["rf"], "quantiles", k=3)
    ys = classify.classify(frame["sir"], "quantiles", k=3)
    counts = fig.layout.meta["bivariate_counts"]
    for i in range(3):
        for j in range(3):
            assert counts[i][j] == int(((xs.classes == i) & (ys.classes == j)).sum())
    assert sum(map(sum, counts)) == len(frame)
    assert len(fig.layout.shapes) == 9 and not any(tr.showlegend for tr in fig.data)
    # the key is beside the map, not on it, and names both axes in full
    assert fig.layout.geo.domain.x[1] == maps.KEY_SPLIT
    assert all(sh.xanchor > maps.KEY_SPLIT for sh in fig.layout.shapes)
    long = maps.bivariate_choropleth(regions, frame, "rf", x_label="Daily smoking among men aged 15 and over")
    texts = " ".join(a.text.replace("<br>", " ") for a in long.layout.annotations)
    assert "Daily smoking among men aged 15 and over" in texts and "…" not in texts


def test_legend_is_under_the_map_never_on_it():
    """Whatever the country's shape, the class legend is drawn under the map area."""
    from shapely.geometry import box
    import geopandas as gpd
    g = gpd.GeoDataFrame({schema.REGION: list("abc")}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2)],
                         crs=4326)
    assert maps.emptiest_corner(g) == ("right", "top")
    fr = pd.DataFrame({schema.REGION: list("abc"), "v": [1.0, 2.0, 3.0]})
    leg = maps.choropleth(g, fr, "v", k=2).layout.legend
    assert (leg.orientation, leg.yanchor) == ("h", "top") and leg.y < 0


def test_funnel_labels_do_not_overlap():
    """Crowded outliers: every label gets its own place (boxes at 11 px type do not intersect)."""
    x = np.log10([100.0, 101.0, 102.0, 103.0])
    y = [2.0, 2.01, 2.02, 1.99]
    texts = ["Lankaran city", "Lankaran", "Masally", "Astara"]
    shifts = maps.label_offsets(x, y, texts, x_range=(1.0, 3.0), y_range=(0.0, 3.0), size=11)
    px = (x - 1.0) / 2.0 * 900
    py = 420 - np.asarray(y) / 3.0 * 420
    boxes = [(cx + dx - (len(tx) * 6.6 + 6) / 2, cy + dy - 7.15, cx + dx + (len(tx) * 6.6 + 6) / 2, cy + dy + 7.15)
             for cx, cy, tx, (dx, dy) in zip(px, py, texts, shifts)]
    for i in range(len(boxes)):
        for j in range(i):
            a, b = boxes[i], boxes[j]
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (texts[i], texts[j])


def test_a_map_shares_its_geojson_instead_of_copying_it(regions, frame):
    """plotly deep-copies a trace's properties when a figure is built and in to_dict (what
    Streamlit draws): the boundaries are shared, never copied, and written as plain GeoJSON."""
    import copy

    gj = maps.geojson_of(regions)
    fig = maps.choropleth(regions, frame, "sir", geojson=gj)
    shapes = [tr.geojson for tr in fig.data]
    assert all(isinstance(s, maps.SharedGeoJSON) for s in shapes)
    spec = fig.to_dict()
    assert all(tr["geojson"] is s for tr, s in zip(spec["data"], shapes))
    assert copy.deepcopy(fig).data[0].geojson is shapes[0]
    ids = {f["id"] for f in gj["features"]}
    for tr in json.loads(fig.to_json())["data"]:                  # the JSON holds the features themselves
        assert tr["geojson"]["type"] == "FeatureCollection"
        assert {f["id"] for f in tr["geojson"]["features"]} == set(tr["locations"]) <= ids
    assert all(f is g for f, g in zip(shapes[0]["features"], [f for f in gj["features"]
                                                              if f["id"] in set(fig.data[0].locations)]))

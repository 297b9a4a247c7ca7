"""Map charts: choropleth, bivariate 3x3 choropleth, LISA cluster map, funnel plot of SIRs,
SIR-vs-risk-factor scatter with a Poisson fit, region profile (spine chart), coefficient plot.

Maps (decision, measured in round 8): every map is plotly's SVG ``go.Choropleth`` with the
regions' own GeoJSON (``locationmode="geojson-id"``) on an invisible geo subplot (``visible=False``,
Mercator, longitude and latitude ranges from the regions' bounds, so they fill the chart's height).
Streamlit draws a chart anew whenever its figure changes (the element's identity includes its
spec), so every filter change creates every map again: a MapLibre ``go.Choroplethmap`` then opens
a new WebGL context and compiles its shaders, about 470 ms of the browser's main thread per map in
headless Chromium without a GPU (as on a virtual desktop), against about 45 ms for the same map
in SVG; the SVG map also exports with kaleido without WebGL. plotly.js fetches the base-map
TopoJSON for any geo trace even when the base map is hidden: it comes from ``static/topojson/``
(:data:`base.TOPOJSON_URL` in the browser's config, :func:`configure_geo_topojson` and
:mod:`analytics.export` for kaleido), never from plotly's CDN. d3-geo reads an outer ring
anticlockwise as "everything but the region": :func:`geojson_of` orients the rings.

Class colours: sequential ColorBrewer YlOrRd for rates and risk factors; for ratios (SIR, RR) the
diverging ColorBrewer RdBu (reversed) centred on 1 with symmetric log-scale breaks (methods sheet
6.6); bivariate: Joshua Stevens' 3x3 blue-red scheme. Suppressed and no-data regions are grey with
the reason in the hover.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyproj
from plotly.colors import sample_colorscale

from analytics import classify as cls
from analytics import schema
from analytics.charts.base import GREY, empty_figure, figure_of, finite, local_topojson_uri, set_template, trace
from analytics.presets import fmt, fmt_p
from analytics.i18n import format_number, t

# the geo subplot of every map: no base map (only the regions' own shapes), Mercator; its longitude
# and latitude ranges come from the regions (:func:`map_view`)
MAP_GEO = dict(visible=False, projection=dict(type="mercator"), bgcolor="rgba(0,0,0,0)")
MAP_PAD = 0.01     # share of the regions' extent left around them (the outline is not cut)
DIVERGING = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"]  # RdBu 7, reversed
BIVARIATE = [["#e8e8e8", "#e4acac", "#c85a5a"],     # rows: risk factor low -> high
             ["#b0d5df", "#ad9ea5", "#985356"],     # cols: SIR low -> high
             ["#64acbe", "#627f8c", "#574249"]]
LISA_COLOURS = {"high-high": "#d7191c", "low-low": "#2c7bb6", "high-low": "#fdae61",
                "low-high": "#abd9e9", "not significant": "#eeeeee"}
SIGNIFICANCE_COLOURS = {"lower": "#2166ac", "not significant": "#f7f7f7", "higher": "#b2182b"}
NO_DATA_COLOUR = GREY
SUPPRESSED_COLOUR = "#8c8c8c"
FUNNEL_LABELS = 8


# --------------------------------------------------------------------------- offline helpers
def configure_geo_topojson() -> str:
    """Point plotly.io (and kaleido exports) at the local base-map TopoJSON; returns the URI."""
    import plotly.io as pio
    uri = local_topojson_uri()
    pio.defaults.topojson = uri
    return uri


def geojson_of(regions: gpd.GeoDataFrame, key: str = schema.REGION, simplify: float | None = None) -> dict:
    """GeoJSON FeatureCollection (EPSG:4326) with each feature's ``id`` = region code. Outer rings
    clockwise, holes anticlockwise, as plotly's geo maps (d3-geo) need them: an outer ring the
    other way round (RFC 7946's order, e.g. a file from geojson.io) would fill the whole map but
    the region."""
    import shapely
    g = _in_lonlat(regions[[key, "geometry"]].copy())
    if simplify:
        g["geometry"] = g.geometry.simplify(simplify, preserve_topology=True)
    g["geometry"] = shapely.orient_polygons(g.geometry.to_numpy(), exterior_cw=True)
    gj = json.loads(g.to_json(drop_id=True))
    for f in gj["features"]:
        f["id"] = str(f["properties"][key])
        f["properties"] = {key: f["id"]}
    return gj


class SharedGeoJSON(dict):
    """A trace's GeoJSON, shared and never modified: ``copy.deepcopy`` gives it back as it is.

    plotly deep-copies every property of a trace when a figure is built (``Figure.__init__``)
    and again in ``Figure.to_dict`` (what Streamlit draws); for a map that meant copying every
    boundary vertex twice, more work than the rest of the figure. The features are those of the
    data set's :func:`geojson_of`, which nothing modifies either. It is still a ``dict``, so
    validators, JSON writers and pickling see a plain GeoJSON object."""

    def __deepcopy__(self, memo: dict) -> "SharedGeoJSON":
        return self


def _subset(gj: dict, codes) -> SharedGeoJSON:
    want = set(map(str, codes))
    return SharedGeoJSON(type="FeatureCollection", features=[f for f in gj["features"] if f["id"] in want])


@functools.lru_cache(maxsize=32)
def _is_lonlat(srs: str) -> bool:
    """Is the coordinate system written ``srs`` WGS 84 longitude/latitude (EPSG:4326)? A pure
    function of the text, remembered: pyproj parses a CRS again in every thread that uses it
    (its ``_crs`` is thread-local) and every Streamlit rerun runs in a new thread."""
    return pyproj.CRS.from_user_input(srs).equals("EPSG:4326")


def _in_lonlat(regions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    crs = regions.crs
    return regions if crs is None or _is_lonlat(crs.srs) else regions.to_crs(4326)


def emptiest_corner(regions: gpd.GeoDataFrame, share: tuple[float, float] = (0.3, 0.4)) -> tuple[str, str]:
    """(x side, y side) of the bounding-box corner least covered by the regions, e.g. ("right",
    "bottom"): the legend sits there so it hides as little of the country as possible (a fixed
    bottom-left legend covered Azerbaijan's Nakhchivan exclave)."""
    import shapely
    g = regions.geometry
    x0, y0, x1, y1 = g.total_bounds
    dx, dy = (x1 - x0) * share[0], (y1 - y0) * share[1]
    u = (np.arange(12) + 0.5) / 12       # a 12 x 12 grid of probe points per corner (vectorised)
    best, cover = ("left", "bottom"), np.inf
    for xs, ys in (("left", "bottom"), ("right", "bottom"), ("right", "top"), ("left", "top")):
        px = (x0 if xs == "left" else x1 - dx) + dx * u
        py = (y0 if ys == "bottom" else y1 - dy) + dy * u
        pts = shapely.points(np.repeat(px, 12), np.tile(py, 12))
        hit = np.unique(g.sindex.query(pts, predicate="intersects")[0]).size
        if hit < cover:
            best, cover = (xs, ys), hit
    return best


# The legend sits under the map, never on it: no region is hidden behind it at any width.
MAP_LEGEND = dict(title=None, itemsizing="constant", orientation="h", x=0, xanchor="left", y=-0.01, yanchor="top",
                  bgcolor="rgba(0,0,0,0)")


def map_view(regions: gpd.GeoDataFrame) -> dict:
    """The geo subplot's longitude and latitude ranges: the regions' bounds, padded by
    :data:`MAP_PAD`. plotly then sizes the map's frame to their projected shape, so a country wider
    than tall fills the chart's width (``fitbounds`` keeps a square frame: a third smaller)."""
    x0, y0, x1, y1 = _in_lonlat(regions).total_bounds
    dx, dy = (x1 - x0) * MAP_PAD, (y1 - y0) * MAP_PAD
    return {"lonaxis": {"range": [float(x0 - dx), float(x1 + dx)]}, "lataxis": {"range": [float(y0 - dy), float(y1 + dy)]}}


def _map_figure(traces: list, regions: gpd.GeoDataFrame, title: str, theme: str, height: int, width: int | None,
                **layout) -> go.Figure:
    lay = dict(height=height, geo={**MAP_GEO, **map_view(regions)}, margin=dict(l=10, r=10, t=60, b=10),
               legend=MAP_LEGEND, **layout)
    if width:
        lay["width"] = width
    return figure_of(traces, title, theme, title_at={}, **lay)


def localise_reasons(frame: pd.DataFrame, lang: str, *, k: int = 5, unreliable: int = 10) -> pd.DataFrame:
    """Copy of regional measures with ``reason`` rewritten in ``lang`` from ``flag`` and
    ``suppression`` (the analytics write English sentences)."""
    out = frame.copy()
    flag = out["flag"].astype(str)
    comp = out["suppression"].astype(str).eq("complementary") if "suppression" in out.columns else flag.eq("~")
    out["reason"] = np.select(
        [comp.to_numpy(), flag.eq("suppressed").to_numpy(), flag.eq("unreliable").to_numpy()],
        [t("maps.reason_complementary", lang), t("maps.reason_suppressed", lang, k=k),
         t("maps.reason_unreliable", lang, n=unreliable)], "")
    return out


def _fmt(x, lang: str, decimals: int = 2) -> str:
    return format_number(x, lang, decimals) if x is not None and np.isfinite(x) else "–"


def _hover_lines(frame: pd.DataFrame, value: str, lang: str, decimals: int) -> list[str]:
    """One hover text per row: name, value with CI, cases, flag reason."""
    name_col = schema.REGION_NAME if schema.REGION_NAME in frame.columns else schema.REGION
    lower = next((c for c in (f"{value}_lower", "sir_lower" if value == "sir" else "", "lower")
                  if c and c in frame.columns), None)
    upper = next((c for c in (f"{value}_upper", "sir_upper" if value == "sir" else "", "upper")
                  if c and c in frame.columns), None)
    n = len(frame)
    nan = np.full(n, np.nan)
    v = finite(frame[value])
    lo = finite(frame[lower]) if lower and upper else nan
    hi = finite(frame[upper]) if lower and upper else nan
    cases = finite(frame["cases"]) if "cases" in frame.columns else nan
    flag = frame["flag"].astype(str).to_numpy() if "flag" in frame.columns else np.full(n, "")
    reason = frame["reason"].fillna("").astype(str).to_numpy() if "reason" in frame.columns else np.full(n, "")
    lab_v, lab_c, lab_s = t("maps.value", lang), t("maps.cases", lang), t("maps.suppressed", lang)
    out = []
    for name, vi, li, hi_, ci, fl, rs in zip(frame[name_col].astype(str), v, lo, hi, cases, flag, reason):
        if fl == "suppressed":
            body = lab_s
        else:
            body = f"{lab_v}: {_fmt(vi, lang, decimals)}"
            if np.isfinite(li):
                body += f" ({_fmt(li, lang, decimals)}–{_fmt(hi_, lang, decimals)})"
            if np.isfinite(ci):
                body += f"<br>{lab_c}: {format_number(ci, lang, 0)}"
        out.append(f"<b>{name}</b><br>{body}" + (f"<br><i>{rs}</i>" if rs else ""))
    return out


def _class_colours(scheme: str, k: int) -> list[str]:
    if scheme == "ratio":
        return DIVERGING if k == len(DIVERGING) else sample_colorscale("RdBu_r", list(np.linspace(0, 1, k)))
    if scheme == "significance":
        return [SIGNIFICANCE_COLOURS[c] for c in cls.SIGNIFICANCE_LEVELS]
    return sample_colorscale("YlOrRd", list(np.linspace(0.08, 0.95, k))) if k > 1 else ["#fd8d3c"]


def choropleth(regions: gpd.GeoDataFrame, frame: pd.DataFrame, value: str, *, key: str = schema.REGION,
               scheme: str = "quantiles", k: int = 5, bins: Sequence[float] | None = None,
               lang: str = "en", theme: str = "light", title: str | None = None, decimals: int = 2,
               highlight: str | None = None, height: int = 520, width: int | None = None,
               simplify: float | None = None, geojson: dict | None = None) -> go.Figure:
    """Choropleth of ``frame[value]`` by region, classed with :func:`analytics.classify.classify`.

    One trace per class (legend = class limits and count), grey traces for suppressed regions
    (``flag == "suppressed"``) and regions without data; hover: name, value with CI, cases and the
    reason for any flag. ``scheme="ratio"`` uses the diverging palette centred on 1;
    ``"significance"`` colours by ``sir_lower``/``sir_upper`` against 1. ``highlight`` outlines one
    region (linked selection between side-by-side maps). ``geojson``: a precomputed
    :func:`geojson_of` of ``regions`` (saves ~0.1 s per map on a re-render).
    """
    title = title if title is not None else value
    if frame.empty or value not in frame.columns:
        return empty_figure(t("maps.no_data", lang), theme, title)
    gj = geojson if geojson is not None else geojson_of(regions, key, simplify)
    names = regions[[key] + ([schema.REGION_NAME] if schema.REGION_NAME in regions.columns else [])]
    df = regions[[key]].astype({key: str}).merge(
        frame.assign(**{key: frame[key].astype(str)}).drop(columns=[schema.REGION_NAME], errors="ignore"),
        on=key, how="left")
    if schema.REGION_NAME in names.columns:
        df = df.merge(names.astype({key: str}), on=key, how="left")
    y = finite(df[value])
    suppressed = (df["flag"] == "suppressed").to_numpy() if "flag" in df.columns else np.zeros(len(df), bool)
    y_cls = np.where(suppressed, np.nan, y)
    if scheme == "significance":
        c = cls.classify(y_cls, scheme, lower=np.where(suppressed, np.nan, finite(df.get("sir_lower", y))),
                         upper=np.where(suppressed, np.nan, finite(df.get("sir_upper", y))))
    else:
        c = cls.classify(y_cls, scheme, k=k, bins=bins)
    colours = _class_colours(scheme, c.k)
    hover = np.array(_hover_lines(df, value, lang, decimals), dtype=object)
    traces: list = []
    labels = c.labels if scheme != "significance" else [t(f"maps.sig_{lab.replace(' ', '_')}", lang) for lab in c.labels]
    for i in range(c.k):
        sel = c.classes == i
        if not sel.any():
            continue
        _add_fill(traces, gj, df.loc[sel, key], colours[i], f"{labels[i]} ({c.counts[i]})", hover[sel])
    for mask, colour, label in ((suppressed, SUPPRESSED_COLOUR, t("maps.legend_suppressed", lang)),
                                ((c.classes < 0) & ~suppressed, NO_DATA_COLOUR, t("maps.legend_no_data", lang))):
        if mask.any():
            _add_fill(traces, gj, df.loc[mask, key], colour, f"{label} ({int(mask.sum())})", hover[mask])
    if highlight is not None and str(highlight) in set(df[key]):
        _add_outline(traces, gj, str(highlight))
    return _map_figure(traces, regions, title, theme, height, width,
                       meta={"classes": c.legend().to_dict("list"), "scheme": scheme})


def _add_fill(traces: list, gj: dict, codes, colour: str, name: str, hover) -> None:
    """Append one filled class trace holding only its own features (the GeoJSON is never
    duplicated across traces). Traces are collected in a list and given to ``go.Figure`` at once:
    ``Figure.add_trace`` deep-copies each trace (0.1 s per map for 78 districts)."""
    codes = [str(x) for x in codes]
    traces.append(go.Choropleth(
        geojson=_subset(gj, codes), locationmode="geojson-id", locations=codes, z=np.ones(len(codes)),
        colorscale=[[0, colour], [1, colour]], showscale=False, name=name, showlegend=True,
        marker=dict(line=dict(color="#7f7f7f", width=0.5), opacity=0.95),
        # a click selects a region (linked maps); plotly would dim every other region
        selected=dict(marker=dict(opacity=0.95)), unselected=dict(marker=dict(opacity=0.95)),
        text=list(hover), hovertemplate="%{text}<extra></extra>"))


def _add_outline(traces: list, gj: dict, code: str) -> None:
    traces.append(go.Choropleth(
        geojson=_subset(gj, [code]), locationmode="geojson-id", locations=[code], z=[1], colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
        showscale=False, showlegend=False, hoverinfo="skip", marker=dict(line=dict(color="black", width=3))))


def categorical_map(regions: gpd.GeoDataFrame, frame: pd.DataFrame, column: str, colours: dict[str, str], *,
                    key: str = schema.REGION, labels: dict[str, str] | None = None, lang: str = "en",
                    theme: str = "light", title: str = "", height: int = 520, width: int | None = None,
                    geojson: dict | None = None) -> go.Figure:
    """Regions coloured by a category (e.g. LISA cluster), legend in the order of ``colours``."""
    gj = geojson if geojson is not None else geojson_of(regions, key)
    df = regions[[key] + ([schema.REGION_NAME] if schema.REGION_NAME in regions.columns else [])].astype({key: str})
    df = df.merge(frame.assign(**{key: frame[key].astype(str)})[[key, column]], on=key, how="left")
    name_col = schema.REGION_NAME if schema.REGION_NAME in df.columns else key
    traces: list = []
    for cat, colour in colours.items():
        sel = (df[column] == cat).to_numpy()
        if sel.any():
            lab = (labels or {}).get(cat, cat)
            hover = [f"<b>{n}</b><br>{lab}" for n in df.loc[sel, name_col]]
            _add_fill(traces, gj, df.loc[sel, key], colour, f"{lab} ({int(sel.sum())})", hover)
    rest = ~df[column].isin(list(colours)).to_numpy()
    if rest.any():
        hover = [f"<b>{n}</b><br>{t('maps.legend_no_data', lang)}" for n in df.loc[rest, name_col]]
        _add_fill(traces, gj, df.loc[rest, key], NO_DATA_COLOUR, f"{t('maps.legend_no_data', lang)} ({int(rest.sum())})", hover)
    return _map_figure(traces, regions, title, theme, height, width)


def lisa_map(regions: gpd.GeoDataFrame, lisa: pd.DataFrame, *, key: str = schema.REGION, lang: str = "en",
             theme: str = "light", title: str | None = None, **kw) -> go.Figure:
    """LISA cluster map (Anselin 1995): high-high, low-low, high-low, low-high, not significant."""
    frame = lisa.reset_index() if key not in lisa.columns else lisa
    labels = {c: t(f"maps.lisa_{c.replace('-', '_').replace(' ', '_')}", lang) for c in LISA_COLOURS}
    return categorical_map(regions, frame, "cluster", LISA_COLOURS, key=key, labels=labels, lang=lang,
                           theme=theme, title=title if title is not None else t("maps.lisa_title", lang), **kw)


def bivariate_choropleth(regions: gpd.GeoDataFrame, frame: pd.DataFrame, x: str, y: str = "sir", *,
                         key: str = schema.REGION, x_label: str | None = None, y_label: str | None = None,
                         lang: str = "en", theme: str = "light", title: str | None = None,
                         height: int = 520, width: int | None = None, geojson: dict | None = None) -> go.Figure:
    """Bivariate 3x3 choropleth: tertiles of the risk factor ``x`` against tertiles of ``y`` (SIR).

    The key is a 3x3 colour grid with the number of regions per cell (trace names still name both
    classes, "risk factor high · SIR low"); regions missing either value are grey."""
    x_label, y_label = x_label or x, y_label or y
    df = frame.assign(**{key: frame[key].astype(str)})
    gj = geojson if geojson is not None else geojson_of(regions, key)
    base = regions[[key] + ([schema.REGION_NAME] if schema.REGION_NAME in regions.columns else [])].astype({key: str})
    df = base.merge(df.drop(columns=[schema.REGION_NAME], errors="ignore"), on=key, how="left")
    name_col = schema.REGION_NAME if schema.REGION_NAME in df.columns else key
    xs = cls.classify(finite(df[x]), "quantiles", k=3)
    ys = cls.classify(finite(df[y]), "quantiles", k=3)
    level = [t("maps.low", lang), t("maps.medium", lang), t("maps.high", lang)]
    traces: list = []
    for i in range(3):          # risk factor class
        for j in range(3):      # SIR class
            sel = (xs.classes == i) & (ys.classes == j)
            if not sel.any():
                continue
            name = f"{x_label} {level[i]} · {y_label} {level[j]}"
            hover = [f"<b>{n}</b><br>{x_label}: {_fmt(a, lang)}<br>{y_label}: {_fmt(b, lang)}"
                     for n, a, b in zip(df.loc[sel, name_col], df.loc[sel, x], df.loc[sel, y])]
            _add_fill(traces, gj, df.loc[sel, key], BIVARIATE[i][j], f"{name} ({int(sel.sum())})", hover)
    miss = (xs.classes < 0) | (ys.classes < 0)
    if miss.any():
        hover = [f"<b>{n}</b><br>{t('maps.legend_no_data', lang)}" for n in df.loc[miss, name_col]]
        _add_fill(traces, gj, df.loc[miss, key], NO_DATA_COLOUR, f"{t('maps.legend_no_data', lang)} ({int(miss.sum())})", hover)
    for tr in traces:            # the 3x3 key below replaces nine long legend entries
        tr.showlegend = tr.name.startswith(t("maps.legend_no_data", lang))
    fig = _map_figure(traces, regions, title if title is not None else t("maps.bivariate_title", lang, x=x_label, y=y_label),
                      theme, height, width)
    fig.update_layout(geo_domain=dict(x=[0, KEY_SPLIT], y=[0, 1]))
    counts = [[int(((xs.classes == i) & (ys.classes == j)).sum()) for j in range(3)] for i in range(3)]
    _bivariate_key(fig, counts, x_label, y_label, theme=theme)
    fig.update_layout(meta={"bivariate_counts": counts})
    return fig


KEY_SPLIT = 0.7   # the map takes the left 70 %, the bivariate key the right 30 %


def _wrap_label(text: str, width: int = 16) -> str:
    words, lines, cur = str(text).split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return "<br>".join(lines + ([cur] if cur else []))


def _bivariate_key(fig: go.Figure, counts: list[list[int]], x_label: str, y_label: str, *, theme: str = "light",
                   cell: int | None = None) -> None:
    """The usual bivariate legend beside the map (never on it): a 3x3 grid of the class colours
    (risk factor to the right, SIR upwards) with the number of regions in each cell, and both
    axis names written in full (wrapped, at the theme's legend size). Shapes are sized in
    pixels so the squares stay square at any figure width."""
    big = theme == "presentation"
    cell = cell or (40 if big else 30)
    size = 20 if big else 12
    xa, ya = (1 + KEY_SPLIT) / 2, 0.5          # centre of the key's column
    gx0, gy0 = -1.5 * cell, -1.5 * cell
    base = dict(xref="paper", yref="paper", xsizemode="pixel", ysizemode="pixel", xanchor=xa, yanchor=ya)
    shapes, notes = [], []      # set in one layout update: each add_shape/add_annotation re-validates every one before it
    for i in range(3):
        for j in range(3):
            x0, y0 = gx0 + i * cell, gy0 + j * cell
            shapes.append(dict(type="rect", x0=x0, x1=x0 + cell, y0=y0, y1=y0 + cell, fillcolor=BIVARIATE[i][j],
                               line=dict(color="white", width=1), **base))
            notes.append(dict(x=xa, y=ya, xref="paper", yref="paper", xshift=x0 + cell / 2, yshift=y0 + cell / 2,
                              text=str(counts[i][j]), showarrow=False,
                              font=dict(size=size, color="white" if i + j >= 3 else "#222222")))
    notes.append(dict(x=xa, y=ya, xref="paper", yref="paper", xshift=0, yshift=gy0 - 8, yanchor="top",
                      text=f"{_wrap_label(x_label)} →", showarrow=False, font=dict(size=size)))
    notes.append(dict(x=xa, y=ya, xref="paper", yref="paper", xshift=0, yshift=-gy0 + 8, yanchor="bottom",
                      text=f"↑ {_wrap_label(y_label)}", showarrow=False, font=dict(size=size)))
    fig.update_layout(shapes=list(fig.layout.shapes or ()) + shapes,
                      annotations=list(fig.layout.annotations or ()) + notes)


# --------------------------------------------------------------------------- statistical charts
def label_offsets(x, y, texts, *, x_range, y_range, size: float = 11, width: float = 900,
                  height: float = 420) -> list[tuple[float, float]]:
    """Pixel offsets (dx, dy; dy < 0 is up) that keep point labels from overlapping: each label
    (most extreme first, in the order given) takes the first of a ring of positions around its
    point whose box meets no label placed before it. ``x``/``y`` in axis units over
    ``x_range``/``y_range``, drawn on a ``width`` x ``height`` plot."""
    px = (np.asarray(x, float) - x_range[0]) / max(x_range[1] - x_range[0], 1e-12) * width
    py = height - (np.asarray(y, float) - y_range[0]) / max(y_range[1] - y_range[0], 1e-12) * height
    h = size * 1.3
    rings = [(0, -h), (0, h), (0, -2.2 * h), (0, 2.2 * h), (0, -3.4 * h), (0, 3.4 * h)]
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for cx, cy, text in zip(px, py, texts):
        w = len(str(text)) * size * 0.6 + 6
        cands = rings + [(w / 2 + 10, 0), (-w / 2 - 10, 0), (w / 2 + 10, -1.6 * h), (-w / 2 - 10, 1.6 * h)]
        choice = cands[0]
        for dx, dy in cands:
            box = (cx + dx - w / 2, cy + dy - h / 2, cx + dx + w / 2, cy + dy + h / 2)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                choice = (dx, dy)
                break
        dx, dy = choice
        placed.append((cx + dx - w / 2, cy + dy - h / 2, cx + dx + w / 2, cy + dy + h / 2))
        out.append((float(dx), float(dy)))
    return out


def funnel_plot(frame: pd.DataFrame, *, observed: str = "cases", expected: str = "expected",
                label: str = schema.REGION, overdispersion: bool = False, lang: str = "en",
                theme: str = "light", title: str | None = None) -> go.Figure:
    """Funnel plot of SIRs against expected counts with 95 % and 99.8 % limits around 1 from the
    rates engine (``rates.funnel_limits``, Spiegelhalter 2005), optionally adjusted for
    overdispersion (additive tau^2 on the square-root scale); points outside the 99.8 % limits are
    labelled (the ``FUNNEL_LABELS`` most extreme by (O - E)/sqrt(E); every point has its hover). Suppressed regions (``flag == "suppressed"``) get no point: O = SIR x E."""
    from analytics import rates
    title = title if title is not None else t("maps.funnel_title", lang)
    d = frame[np.isfinite(finite(frame[expected])) & (finite(frame[expected]) > 0)]
    if "flag" in d.columns:   # a point would reveal a suppressed count (O = SIR x E)
        d = d[d["flag"] != "suppressed"]
    if d.empty:
        return empty_figure(t("maps.no_data", lang), theme, title)
    e = finite(d[expected])
    o = finite(d[observed])
    sir = o / e
    grid = np.geomspace(max(e.min() * 0.7, 0.5), e.max() * 1.3, 200)
    lim = rates.funnel_limits(grid, kind="ratio", conf=(0.95, 0.998), observed=o if overdispersion else None,
                              expected=e if overdispersion else None, overdispersion=overdispersion)
    pts = rates.funnel_limits(e, kind="ratio", conf=(0.95, 0.998), observed=o if overdispersion else None,
                              expected=e if overdispersion else None, overdispersion=overdispersion)
    from analytics.intervals import conf_suffix
    lo95, hi95 = f"lower_{conf_suffix(0.95)}", f"upper_{conf_suffix(0.95)}"
    lo998, hi998 = f"lower_{conf_suffix(0.998)}", f"upper_{conf_suffix(0.998)}"
    # the traces, the line at SIR 1, the labels and the layout are given to one constructor: plotly
    # re-validates every trace (annotation) already there on each add_trace (add_annotation), and
    # each update_layout walks and copies the figure's layout
    traces = []
    for lo, hi, dash, name in ((lo95, hi95, "dash", t("maps.limits_95", lang)),
                               (lo998, hi998, "dot", t("maps.limits_998", lang))):
        traces.append(trace("scatter", x=grid, y=lim[hi], mode="lines", line=dict(color="#555555", dash=dash, width=1.2),
                            name=name, legendgroup=name, hoverinfo="skip"))
        traces.append(trace("scatter", x=grid, y=lim[lo], mode="lines", line=dict(color="#555555", dash=dash, width=1.2),
                            name=name, legendgroup=name, showlegend=False, hoverinfo="skip"))
    one = dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=1, y1=1,   # what add_hline(y=1) writes
               line=dict(color="#222222", width=1))
    status = np.where(sir > pts[hi998].to_numpy(), "high_998", np.where(sir > pts[hi95].to_numpy(), "high_95",
                      np.where(sir < pts[lo998].to_numpy(), "low_998", np.where(sir < pts[lo95].to_numpy(), "low_95", "ns"))))
    colours = {"high_998": "#b2182b", "high_95": "#ef8a62", "ns": "#999999", "low_95": "#67a9cf", "low_998": "#2166ac"}
    names = d[schema.REGION_NAME] if schema.REGION_NAME in d.columns else d[label]
    for st_, col in colours.items():
        sel = status == st_
        if not sel.any():
            continue
        txt = [f"<b>{n}</b><br>SIR {_fmt(s, lang)}<br>O = {format_number(a, lang, 0)}, E = {_fmt(b, lang, 1)}"
               for n, s, a, b in zip(names[sel], sir[sel], o[sel], e[sel])]
        traces.append(trace("scatter", x=e[sel], y=sir[sel], mode="markers", name=t(f"maps.funnel_{st_}", lang),
                            marker=dict(color=col, size=8, line=dict(color="white", width=0.5)),
                            text=txt, hovertemplate="%{text}<extra></extra>"))
    layout = dict(shapes=[one],
                  xaxis=dict(title=t("maps.expected_axis", lang), type="log", dtick="D2"),
                  yaxis=dict(title="SIR", rangemode="tozero"),
                  meta={"phi": lim.attrs.get("phi"), "tau2": lim.attrs.get("tau2")})
    out = (status == "high_998") | (status == "low_998")
    if out.sum() > FUNNEL_LABELS:   # a crowded funnel: name the most extreme only
        z = np.abs(o - e) / np.sqrt(e)
        out &= z >= np.sort(z[out])[-FUNNEL_LABELS]
    if out.any():
        ymax = float(np.nanmax(np.concatenate([sir, lim[hi998].to_numpy()]))) * 1.05
        size = 18 if theme == "presentation" else 11
        shifts = label_offsets(np.log10(e[out]), sir[out], list(names[out]), x_range=np.log10([grid[0], grid[-1]]),
                               y_range=(0.0, ymax), size=size)
        layout["annotations"] = [
            dict(x=np.log10(xv), y=yv, text=str(text), showarrow=False, xshift=dx, yshift=-dy,
                 font=dict(size=size), bgcolor="rgba(255,255,255,0.7)", name="funnel_label")
            for xv, yv, text, (dx, dy) in zip(e[out], sir[out], names[out], shifts)]
        layout["yaxis"]["range"] = [0, ymax]
    return figure_of(traces, title, theme, title_at={}, **layout)


def sir_scatter(frame: pd.DataFrame, x: str, *, y: str = "sir", observed: str = "cases", expected: str = "expected",
                x_label: str | None = None, lang: str = "en", theme: str = "light", title: str | None = None,
                fit=None) -> go.Figure:
    """SIR against a risk factor, marker area proportional to E, with the log-linear fit
    ``SIR = exp(a + b x)`` (offset log E) of :func:`analytics.ecological.ecological_regression`'s
    default model (negative binomial when the Poisson fit is overdispersed, else Poisson).
    ``fit``: that regression of the rows drawn (those with ``x``, ``y`` and a positive expected
    count), already made by the caller (the Risk factors page fits it for its reading), drawn
    instead of fitting it again; a fit of other rows, of another factor or per SD raises."""
    from analytics.ecological import ecological_regression
    x_label = x_label or x
    title = title if title is not None else t("maps.scatter_title", lang, x=x_label)
    d = frame[[c for c in dict.fromkeys([x, y, observed, expected, schema.REGION, schema.REGION_NAME]) if c in frame.columns]]
    d = d[np.isfinite(finite(d[x])) & np.isfinite(finite(d[y])) & (finite(d[expected]) > 0)]
    if len(d) < 3:
        return empty_figure(t("maps.no_data", lang), theme, title)
    names = d[schema.REGION_NAME] if schema.REGION_NAME in d.columns else d[schema.REGION]
    e = finite(d[expected])
    size = 6 + 24 * np.sqrt(e / e.max())
    fig = go.Figure(go.Scatter(
        x=d[x], y=d[y], mode="markers", name=t("maps.regions", lang),
        marker=dict(size=size, color="#0072B2", opacity=0.6, line=dict(color="white", width=0.5)),
        text=[f"<b>{n}</b><br>{x_label}: {_fmt(a, lang)}<br>SIR: {_fmt(b, lang)}<br>E = {_fmt(c, lang, 1)}"
              for n, a, b, c in zip(names, d[x], d[y], e)], hovertemplate="%{text}<extra></extra>"))
    if fit is None:
        fit = ecological_regression(d.rename(columns={observed: "_o", expected: "_e"}), [x], observed="_o", expected="_e")
    elif (not fit.residuals.index.equals(d.index) or list(fit.table["term"]) != ["intercept", x]
          or fit.table["scale"].iloc[1] != 1.0):            # per SD: the factor was rescaled
        raise ValueError(f"sir_scatter: the fit given is not the regression of the {len(d)} regions drawn on {x!r} "
                         "per unit")
    tb = fit.table.set_index("term")
    xs = np.linspace(finite(d[x]).min(), finite(d[x]).max(), 100)
    fig.add_trace(go.Scatter(x=xs, y=np.exp(tb.loc["intercept", "estimate"] + tb.loc[x, "estimate"] * xs),
                             mode="lines", line=dict(color="#D55E00", width=2),
                             name=t("maps.fit", lang, rr=_fmt(tb.loc[x, "rate_ratio"], lang, 3))))
    fig.add_hline(y=1, line=dict(color="#999999", width=1, dash="dot"))
    set_template(fig, theme).update_layout(title=dict(text=title), xaxis=dict(title=x_label),
                      yaxis=dict(title="SIR"))
    return fig


def spine_chart(profile: pd.DataFrame, *, indicator: str = "indicator", value: str = "value",
                national: str = "national", low: str = "min", q1: str = "q25", q3: str = "q75",
                high: str = "max", significance: str | None = "significance", lang: str = "en",
                theme: str = "light", title: str | None = None) -> go.Figure:
    """Region profile as a spine chart (the Fingertips / Public Health Profiles layout): for each
    indicator, the range of all regions (light bar), the interquartile range (darker bar), the
    national value at the centre line and the region's value as a dot coloured by significance.
    Each row is scaled so the national value sits at 0 and the farther extreme at +-1."""
    title = title if title is not None else t("maps.profile_title", lang)
    if profile.empty:
        return empty_figure(t("maps.no_data", lang), theme, title)
    p = profile.reset_index(drop=True)
    nat = finite(p[national])
    span = np.maximum(np.abs(finite(p[high]) - nat), np.abs(nat - finite(p[low])))
    span = np.where(span > 0, span, 1.0)

    def sc(col):
        return (finite(p[col]) - nat) / span

    rows = list(p[indicator].astype(str))
    fig = go.Figure()
    fig.add_trace(go.Bar(y=rows, x=sc(high) - sc(low), base=sc(low), orientation="h", marker_color="#dddddd",
                         name=t("maps.range", lang), hoverinfo="skip"))
    fig.add_trace(go.Bar(y=rows, x=sc(q3) - sc(q1), base=sc(q1), orientation="h", marker_color="#a6a6a6",
                         name=t("maps.iqr", lang), hoverinfo="skip"))
    sig = p[significance].astype(str) if significance and significance in p.columns else pd.Series("not significant", index=p.index)
    colour = sig.map({"higher": "#b2182b", "lower": "#2166ac"}).fillna("#f0e442").tolist()
    fig.add_trace(go.Scatter(
        y=rows, x=sc(value), mode="markers", name=t("maps.region_value", lang),
        marker=dict(size=13, color=colour, line=dict(color="black", width=1), symbol="circle"),
        text=[f"{r}: {_fmt(v, lang)} ({t('maps.national', lang)} {_fmt(n, lang)})"
              for r, v, n in zip(rows, finite(p[value]), nat)], hovertemplate="%{text}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="black", width=1.5))
    set_template(fig, theme).update_layout(title=dict(text=title), barmode="overlay",
                      xaxis=dict(range=[-1.05, 1.05], showticklabels=False, zeroline=False,
                                 title=t("maps.profile_axis", lang)),
                      yaxis=dict(autorange="reversed"), height=max(260, 60 + 38 * len(rows)))
    return fig


def coefficient_plot(table: pd.DataFrame, *, lang: str = "en", theme: str = "light",
                     title: str | None = None, term_label=None) -> go.Figure:
    """Rate ratios with confidence intervals (log axis, reference line at 1), intercept left out.
    ``term_label(term)`` names a term (default: the term itself); the unit of each ratio ("per
    1 SD", "per 1 unit") is written in ``lang``."""
    title = title if title is not None else t("maps.coef_title", lang)
    d = table[table["term"] != "intercept"]
    if d.empty:
        return empty_figure(t("maps.no_data", lang), theme, title)
    name = term_label or str

    def per(b) -> str:
        unit = t("charts.narrative_per_sd" if str(b) == "1 SD" else "charts.narrative_per_unit", lang)
        return t("describe.per", lang, per=unit)

    labels = [f"{name(a)} ({per(b)})" for a, b in zip(d["term"], d["per"])]
    fig = go.Figure(go.Scatter(
        x=d["rate_ratio"], y=labels, mode="markers",
        error_x=dict(type="data", symmetric=False, array=d["rr_upper"] - d["rate_ratio"],
                     arrayminus=d["rate_ratio"] - d["rr_lower"], color="#0072B2"),
        marker=dict(size=10, color="#0072B2"),
        text=[f"{t('describe.rr', lang)} {fmt(r, 'ratio', lang)} ({fmt(lo, 'ratio', lang)}–{fmt(hi, 'ratio', lang)}), {fmt_p(pv, lang)}"
              for r, lo, hi, pv in zip(d["rate_ratio"], d["rr_lower"], d["rr_upper"], d["p_value"])],
        hovertemplate="%{y}<br>%{text}<extra></extra>", name=t("describe.rr", lang)))
    fig.add_vline(x=1, line=dict(color="#555555", dash="dot"))
    set_template(fig, theme).update_layout(title=dict(text=title),
                      xaxis=dict(type="log", title=t("maps.rate_ratio_axis", lang)),
                      yaxis=dict(autorange="reversed"), height=max(240, 80 + 45 * len(d)), showlegend=False)
    return fig

"""Shared look of every chart: site and sex colours, themes, provenance footer, small-number marks.

Colours
-------
Every site group has one colour, the same on every chart and in both site lists
(CI5-XI detailed and GLOBOCAN, ``data/reference/site_groups.csv``): a site that exists in
both lists under different names ("Lung" / "Lung (incl. trachea and bronchus)",
"Gallbladder" / "Gallbladder etc.", "Colorectum" / "Colon") shares its colour.

The colours come only from palettes designed to stay distinguishable with colour-vision
deficiencies: Okabe & Ito (2008, "Color Universal Design", https://jfly.uni-koeln.de/color/)
and Paul Tol's qualitative schemes bright, muted, vibrant and light (Tol 2021, "Colour
Schemes", SRON/EPS/TN/09-002, https://personal.sron.nl/~pault/).  No palette keeps more than
about ten colours apart for every viewer, so the ~35 sites that reach a top-ten list in
registries (GLOBOCAN 2022 top sites by sex and region, plus their CI5 subdivisions) get
pairwise different colours, the rare sites reuse colours from the same palettes, and every
chart also names its sites in text (axis labels, legends, hover) - colour never carries the
meaning alone.  "Other" and residual groups are grey.

Sex colours: men Okabe-Ito blue, women Okabe-Ito vermillion (the blue/red pairing of the
IARC CI5 and Rcan sex charts, in its colour-blind-safe version), both sexes dark grey.

Themes
------
Two plotly templates, registered on import: ``registry_light`` (screen and papers) and
``registry_presentation`` (large type, black on white, thick lines, for projectors and
slides).  Builders never set fonts themselves, so switching the template re-styles a figure.

Provenance and small numbers
----------------------------
:func:`add_footer` writes the provenance line (source, period, standard population, method,
date) under a figure; :mod:`analytics.export` adds it to every exported figure.
:func:`value_text` renders suppressed values as "<k" and marks unreliable rates with "*".
"""
from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analytics.i18n import format_number, sex_code, t

# --- palettes ------------------------------------------------------------------------
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}
TOL_BRIGHT = ["#4477AA", "#66CCEE", "#228833", "#CCBB44", "#EE6677", "#AA3377", "#BBBBBB"]
TOL_MUTED = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
             "#882255", "#AA4499", "#DDDDDD"]
TOL_VIBRANT = ["#0077BB", "#33BBEE", "#009988", "#EE7733", "#CC3311", "#EE3377", "#BBBBBB"]
TOL_LIGHT = ["#77AADD", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00", "#EEDD88", "#EE8866",
             "#FFAABB", "#DDDDDD"]
# Base map of plotly's geo subplot (the region maps): plotly.js fetches it for every geo trace, even
# on an invisible base map, so it is served locally, never from plotly's CDN: by Streamlit's static
# folder to the browser (``config.topojsonURL``), from the file system to kaleido.
TOPOJSON_DIR = Path(__file__).resolve().parents[2] / "static" / "topojson"
TOPOJSON_URL = "/app/static/topojson/"


def local_topojson_uri() -> str:
    """The base-map folder as a ``file://`` URI (kaleido's ``topojson``)."""
    return TOPOJSON_DIR.resolve().as_uri() + "/"


GREY = "#BBBBBB"
DARK_GREY = "#4D4D4D"

# The sites that reach a top ten somewhere: pairwise different colours.
_COMMON_SITE_COLOURS = {
    "Lung": "#332288",
    "Breast": OKABE_ITO["reddish_purple"],
    "Colorectum": OKABE_ITO["orange"],
    "Colon": OKABE_ITO["orange"],
    "Rectum": "#DDCC77",
    "Prostate": OKABE_ITO["sky_blue"],
    "Stomach": OKABE_ITO["bluish_green"],
    "Liver": "#882255",
    "Cervix uteri": "#AA4499",
    "Corpus uteri": "#EE6677",
    "Ovary": "#44AA99",
    "Bladder": "#CCBB44",
    "Thyroid": "#88CCEE",
    "Oesophagus": "#117733",
    "Kidney": "#999933",
    "Pancreas": OKABE_ITO["vermillion"],
    "Non-Hodgkin lymphoma": "#EE3377",
    "Leukaemia": "#0077BB",
    "Myeloid leukaemia": "#0077BB",
    "Lymphoid leukaemia": "#33BBEE",
    "Brain, nervous system": "#4477AA",
    "Lip, oral cavity": "#CC3311",
    "Mouth": "#CC3311",
    "Tongue": "#EE7733",
    "Larynx": "#228833",
    "Melanoma of skin": OKABE_ITO["black"],
    "Other skin": "#77AADD",
    "Multiple myeloma": "#AAAA00",
    "Nasopharynx": "#009988",
    "Gallbladder": "#BBCC33",
    "Gallbladder etc.": "#BBCC33",
    "Hodgkin disease": "#AA3377",
    "Testis": "#66CCEE",
    "Other pharynx": "#44BB99",
    "Uterus unspecified": "#FFAABB",
    "Lip": "#EE8866",
    "Leukaemia unspecified": "#99DDFF",
    "Anus": "#EEDD88",
    "Lung (incl. trachea and bronchus)": "#332288",
    "Other": GREY,
    "Other and unspecified": GREY,
    "All sites": DARK_GREY,
    "All sites but C44": DARK_GREY,
}
# Rare sites, in site_groups.csv order: colours reused from the same palettes.
_RARE_SITES = [
    "Salivary glands", "Tonsil", "Other oropharynx", "Hypopharynx", "Pharynx unspecified",
    "Small intestine", "Nose, sinuses etc.", "Other thoracic organs", "Bone", "Mesothelioma",
    "Kaposi sarcoma", "Connective and soft tissue", "Vulva", "Vagina",
    "Other female genital organs", "Placenta", "Penis", "Other male genital organs",
    "Renal pelvis", "Ureter", "Other urinary organs", "Eye", "Adrenal gland",
    "Other endocrine", "Immunoproliferative diseases", "Myeloproliferative disorders",
    "Myelodysplastic syndromes",
]
_RARE_PALETTE = [c for c in (TOL_MUTED + TOL_LIGHT + TOL_BRIGHT + list(OKABE_ITO.values()))
                 if c not in ("#DDDDDD", "#BBBBBB", "#000000")]
SITE_COLOURS: dict[str, str] = dict(_COMMON_SITE_COLOURS)
SITE_COLOURS.update({s: _RARE_PALETTE[i % len(_RARE_PALETTE)] for i, s in enumerate(_RARE_SITES)})
COMMON_SITES: tuple[str, ...] = tuple(_COMMON_SITE_COLOURS)

SEX_COLOURS = {1: OKABE_ITO["blue"], 2: OKABE_ITO["vermillion"], 0: DARK_GREY, 9: GREY}


def site_colour(label: str) -> str:
    """The colour of a site group (English label as in site_groups.csv).

    A label outside both lists (a user's own grouping) gets a palette colour chosen from
    a hash of its name, so it is stable between runs and charts.
    """
    if label in SITE_COLOURS:
        return SITE_COLOURS[label]
    pool = _RARE_PALETTE
    return pool[zlib.crc32(str(label).encode("utf-8")) % len(pool)]


def site_colour_map(labels: Iterable[str]) -> dict[str, str]:
    """``{label: colour}`` for the labels of a chart."""
    return {lab: site_colour(lab) for lab in labels}


def sex_colour(sex: Any) -> str:
    """Colour of a sex given as schema code (1, 2, 9), 0 for both, or word ("male")."""
    return SEX_COLOURS.get(sex_code(sex), GREY)


# --- themes ----------------------------------------------------------------------------
FONT_FAMILY = "Liberation Sans, Arial, Helvetica, sans-serif"
LIGHT = "registry_light"
PRESENTATION = "registry_presentation"
THEMES = {"light": LIGHT, "presentation": PRESENTATION}


def _axis(grid: str, line: str, **kw: Any) -> dict:
    return {**dict(showgrid=True, gridcolor=grid, linecolor=line, zerolinecolor=line, automargin=True,
                   ticks="", title=dict(standoff=12)), **kw}


# Templates are built from a small layout rather than a copy of "plotly_white": plotly
# validates and copies the whole template on every figure, and plotly_white's colour scales
# for thirty trace types made each figure ~50 ms slower (measured) for nothing drawn here.
def _light_template() -> go.layout.Template:
    return go.layout.Template(layout=dict(
        font=dict(family=FONT_FAMILY, size=13, color="#222222"),
        title=dict(font=dict(size=17), x=0.0, xanchor="left", yref="container", y=1.0, yanchor="top",
                   pad=dict(t=14)),
        colorway=list(OKABE_ITO.values())[1:] + [OKABE_ITO["black"]],
        paper_bgcolor="white", plot_bgcolor="white",
        legend=dict(font=dict(size=12)),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=13)),
        margin=dict(l=10, r=20, t=90, b=50),
        xaxis=_axis("#E5E5E5", "#444444"), yaxis=_axis("#E5E5E5", "#444444"),
    ))


def _presentation_template() -> go.layout.Template:
    # Projector rule of thumb: body text >= 20 pt at 1280 px wide, black on white, no light greys.
    ax = dict(gridwidth=1.5, linewidth=2, zerolinewidth=2, tickfont=dict(size=22), showline=True,
              ticks="outside", tickwidth=2)
    tpl = go.layout.Template(layout=dict(
        font=dict(family=FONT_FAMILY, size=22, color="#000000"),
        title=dict(font=dict(size=32, color="#000000"), x=0.0, xanchor="left", yref="container", y=1.0,
                   yanchor="top", pad=dict(t=18)),
        colorway=list(OKABE_ITO.values())[1:] + [OKABE_ITO["black"]],
        paper_bgcolor="white", plot_bgcolor="white",
        legend=dict(font=dict(size=22)),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=20)),
        margin=dict(l=20, r=30, t=130, b=70),
        xaxis=_axis("#B0B0B0", "#000000", **ax), yaxis=_axis("#B0B0B0", "#000000", **ax),
    ))
    for axis in (tpl.layout.xaxis, tpl.layout.yaxis):
        axis.title.font.size = 24
    tpl.data.scatter = [go.Scatter(line=dict(width=4), marker=dict(size=12))]
    tpl.data.bar = [go.Bar(marker=dict(line=dict(color="#000000", width=1)))]
    # treemap tiles and their labels at projector size too (too small a tile hides its label)
    tpl.data.treemap = [go.Treemap(textfont=dict(size=24))]
    tpl.layout.uniformtext = dict(minsize=18, mode="hide")
    return tpl


pio.templates[LIGHT] = _light_template()
pio.templates[PRESENTATION] = _presentation_template()


# Legends go between the title and the plot, left-aligned, so a long title never runs into
# them and they read in the same order as the bars (the templates leave room in the top margin).
TOP_LEGEND = dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom")


def template_name(theme: str = "light") -> str:
    """Plotly template name of a theme ("light" or "presentation")."""
    if theme in THEMES.values():
        return theme
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}: use one of {', '.join(THEMES)}")
    return THEMES[theme]


def set_template(fig: go.Figure, theme: str = "light") -> go.Figure:
    """Give ``fig`` the theme's registered template, in place. The templates are built and
    validated once, on import; plotly would validate and copy every property of one again on each
    assignment (about 2 ms a figure, a few figures a page), so it is assigned as it is."""
    tpl = pio.templates[template_name(theme)]
    layout = fig.layout
    checked = layout._validate   # noqa: SLF001 - plotly's own switch (its _initialize_layout_template does the same)
    layout._validate = False     # noqa: SLF001
    try:
        layout.template = tpl
    finally:
        layout._validate = checked   # noqa: SLF001
    return fig


def apply_theme(fig: go.Figure, theme: str = "light") -> go.Figure:
    """Set the figure's template in place and return it (chainable)."""
    set_template(fig, theme)
    return layout_bottom(fig)


def legend_line(fig: go.Figure, name: str, line: dict) -> go.Figure:
    """A legend entry for a reference line drawn as a shape (shapes have no legend)."""
    fig.add_traces([legend_entry(name, line)])
    return fig


def legend_entry(name: str, line: dict) -> dict:
    """The trace of :func:`legend_line`, for :func:`figure_of`."""
    return trace("scatter", x=[None], y=[None], mode="lines", line=line, name=name, hoverinfo="skip")


def vline(x: float, line: dict) -> dict:
    """The shape ``fig.add_vline(x=x, line=line)`` adds (a line across the plot's height at ``x``),
    for :func:`figure_of`."""
    return dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line=line)


def trace(kind: str, **props: Any) -> dict:
    """A trace of type ``kind`` ("bar", "scatter") for ``fig.add_traces``, as the dict plotly
    validates once there. A ``go.Bar(...)`` handed to ``add_traces`` is validated twice: when it
    is made, and again when ``add_traces`` makes the figure's own trace from its properties
    (the same properties either way). ``marker_color=`` and the like are nested into ``marker``
    here: plotly sets such keywords after the named properties, so the figure's JSON keeps its
    order (byte for byte the JSON of the twice-validated trace)."""
    marker = props.pop("marker", None) or {}
    for key in [k for k in props if k.startswith("marker_")]:
        *path, last = key.split("_")[1:]
        node = marker
        for part in path:
            node = node.setdefault(part, {})
        node[last] = props.pop(key)
    return {"type": kind, **props, **({"marker": marker} if marker else {})}


TITLE_SPANNING = {"xref": "container", "x": 0.01}   # a title at the left, over the whole figure


def new_figure(title: str = "", theme: str = "light", **layout: Any) -> go.Figure:
    """An empty figure with the theme and a left-aligned title."""
    fig = set_template(go.Figure(), theme)
    # the title spans the whole figure (not just the plot area behind long axis labels), so
    # that with the large type of the presentation theme it wraps instead of being cut
    fig.update_layout(title=dict(text=title, **TITLE_SPANNING), **layout)
    return fig


def figure_of(traces: Iterable[dict], title: str = "", theme: str = "light", *,
              title_at: Mapping[str, Any] = TITLE_SPANNING, **layout: Any) -> go.Figure:
    """The figure :func:`new_figure` ``(title, theme)`` then ``add_traces(traces)`` and
    ``update_layout(**layout)`` make (the same JSON but for the order of the layout's keys), made by
    one constructor: every ``update_layout`` of a figure validates its arguments, walks the figure's
    layout to dispatch the change and copies it (1-3 ms a call, most of a small chart's build), and
    a builder whose layout does not depend on the figure gives it here at once. ``traces``:
    :func:`trace` dicts; ``layout`` as ``update_layout`` takes it (nested dicts or ``a_b`` paths);
    ``title_at``: where the title sits (plotly's title ``xref``, ``x``...; ``{}``: plotly's default,
    centred over the plot area)."""
    fig = go.Figure(data=list(traces), layout={"title": {"text": title, **title_at}, **layout})
    return set_template(fig, theme)


def empty_figure(message: str, theme: str = "light", title: str = "") -> go.Figure:
    """A figure that says why there is nothing to draw (no data for the selection)."""
    fig = new_figure(title, theme)
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=16))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig)


# --- provenance footer ---------------------------------------------------------------------
@dataclass
class Provenance:
    """Where a figure's numbers come from; shown under every exported figure.

    ``date`` is the date of the export (default: today, UTC); ``extra`` holds further
    labelled items (e.g. {"Filters": "men, 2015-2019"}) appended to the footer.
    """

    source: str = ""
    period: str = ""
    standard: str = ""
    method: str = ""
    date: str | date | datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self, lang: str = "en") -> dict[str, str]:
        """Ordered {translated label: value}, empty items left out."""
        d = self.date or datetime.now(timezone.utc).date()
        if isinstance(d, datetime):
            d = d.date()
        items = [
            (t("common.meta_source", lang), self.source),
            (t("common.meta_period", lang), self.period),
            (t("common.meta_standard", lang), self.standard),
            (t("common.meta_method", lang), self.method),
        ]
        items += list(self.extra.items())
        items.append((t("common.meta_date", lang), d.isoformat() if isinstance(d, date) else str(d)))
        return {k: str(v) for k, v in items if v not in (None, "")}

    def text(self, lang: str = "en") -> str:
        """One line: "Source: ... · Period: ... · Standard population: ... · Method: ... · Date: ..."."""
        return " · ".join(f"{k}: {v}" for k, v in self.as_dict(lang).items())


FOOTER_NAME = "provenance_footer"
NOTE_NAME = "marks_note"


def _raw(tree: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a layout's plain dict, or None where any step is unset."""
    for p in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(p)
    return tree


def _font_size(fig: go.Figure, *path: str, default: float = 13.0) -> float:
    """A font size from the figure's layout, else its template, else the base font.

    Read from the layout's plain dict, which plotly keeps and ``fig.layout`` reads (the same
    values): walking the template's graph objects made each look-up cost ~0.4 ms, a few per
    figure."""
    return _size_in(fig._layout, path, default)   # noqa: SLF001 - plotly's own dict of the layout


@functools.cache
def _template_layout(name: str) -> dict:
    """The plain dict of a registered template's layout (the templates are built once, on import)."""
    return pio.templates[name].layout.to_plotly_json()


def theme_font_size(theme: str, *path: str, default: float = 13.0) -> float:
    """:func:`_font_size` of a figure that sets nothing but ``theme``'s template: what a builder
    needs to know of the theme before its figure exists (:func:`figure_of`)."""
    return _size_in({"template": {"layout": _template_layout(template_name(theme))}}, path, default)


def _size_in(layout: dict, path: tuple[str, ...], default: float) -> float:
    template = _raw(layout, ("template", "layout"))
    for tree in (layout, template):
        value = _raw(tree, path)
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                pass
    base = _raw(layout, ("font", "size")) or _raw(template, ("font", "size"))
    return float(base or default)


def _below_axis_offset(fig: go.Figure) -> float:
    """Pixels from the bottom of the plot area to below the x-axis tick labels and title.

    Annotations can only be placed relative to the plot area, so the footer is put this far
    below it and the bottom margin is set to hold axis and footer (automargin then has
    nothing to add, which keeps the footer where it was put)."""
    xaxes = [fig.layout[k] for k in fig.layout if k.startswith("xaxis")]
    if not xaxes or all(ax.visible is False for ax in xaxes):
        return 8.0
    tick = _font_size(fig, "xaxis", "tickfont", "size")
    title = _font_size(fig, "xaxis", "title", "font", "size")
    angle = max(abs(ax.tickangle or 0) for ax in xaxes)
    tick_h = tick * 1.4
    if angle:
        longest = max((len(str(v)) for ax in xaxes for v in (ax.categoryarray or ax.ticktext or ())), default=4)
        tick_h = max(tick_h, longest * tick * 0.55 * np.sin(np.radians(angle)) + tick)
    has_title = any(ax.title.text for ax in xaxes)
    return tick_h + 12 + (title * 1.5 if has_title else 0) + 6


def _left_margin_estimate(fig: go.Figure) -> float:
    # Annotations start at the plot area's left edge, which automargin moves right by the
    # width of the y tick labels; estimate it from the longest category label.
    yaxes = [fig.layout[k] for k in fig.layout if k.startswith("yaxis")]
    labels = [str(v) for ax in yaxes for v in (ax.categoryarray or ax.ticktext or ())]
    tick = _font_size(fig, "yaxis", "tickfont", "size")
    longest = max((len(x) for x in labels), default=6)
    return longest * tick * 0.6 + 30


def _wrap(text: str, width_px: float, size: float) -> list[str]:
    per_line = max(30, int(width_px / (size * 0.6)))
    words, lines, cur = text.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > per_line:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return lines


def _fit_top(fig: go.Figure, width: int | None) -> None:
    # plotly neither grows the top margin for a legend placed above the plot nor shrinks it
    # when there is none, so size it here: title, the rows the horizontal legend wraps to,
    # and one row for labels placed just above the plot (e.g. "Men" / "Women", subplot titles).
    size = _font_size(fig, "legend", "font", "size")
    base = _font_size(fig, "font", "size")
    title = _font_size(fig, "title", "font", "size") if fig.layout.title.text else 0
    title_lines = 0
    if title:
        # wrap a long title to the figure's width (plotly never wraps; re-wrapped from scratch
        # when an export lays the figure out at another width)
        text = str(fig.layout.title.text).replace("<br>", " ")
        lines = _wrap(text, (width or fig.layout.width or 1000) - 40, title)
        title_lines = len(lines)
        if title_lines > 1:
            # plotly anchors a multi-line title by its middle lines: pad it down so the first
            # line is not cut at the top of the figure
            fig.layout.title.text = "<br>".join(lines)
            fig.layout.title.pad.t = int(0.65 * title * (title_lines - 1) + 4)
    legend = fig.layout.legend
    rows = 0
    above = legend.orientation == "h" and (legend.y or 0) >= 1 and fig.layout.showlegend is not False
    if above:
        names = [tr.name for tr in fig.data if tr.name and tr.showlegend is not False and tr.type != "pie"]
        if len(names) >= 2 or (names and fig.layout.showlegend):
            usable = (width or fig.layout.width or 1000) - 40
            rows, used = 1, 0.0
            for n in names:
                w = len(str(n)) * size * 0.6 + 45
                if used and used + w > usable:
                    rows, used = rows + 1, w
                else:
                    used += w
    labels = any((a.yref in ("paper", None)) and (a.y or 0) >= 1 and a.name not in (NOTE_NAME, FOOTER_NAME)
                 for a in (fig.layout.annotations or ()))
    need = title * (1.6 + 1.25 * max(title_lines - 1, 0)) + 16 + rows * size * 1.7 + (base * 1.7 if labels else 0) + 10
    fig.update_layout(margin=dict(t=int(max(need, 30))))


def row_height(fig: go.Figure | str, minimum: float) -> float:
    """Pixels per category row of a horizontal chart: at least ``minimum``, and tall enough for
    one label at the theme's tick size (else plotly silently drops every other label). ``fig``:
    the figure, or the name of its theme before it is made (:func:`theme_font_size`)."""
    path = ("yaxis", "tickfont", "size")
    size = theme_font_size(fig, *path) if isinstance(fig, str) else _font_size(fig, *path)
    return max(float(minimum), 1.9 * size)


def finish(fig: go.Figure) -> go.Figure:
    """Last step of every builder: margins fitted to title, legend and notes (in place)."""
    return layout_bottom(fig)


def layout_bottom(fig: go.Figure, width: int | None = None) -> go.Figure:
    """Fit the margins to the figure's current theme and width, in place: room above the
    plot for a wrapped legend, and the marks note and provenance footer (re)placed under
    the x axis with the bottom margin sized to hold them."""
    _fit_top(fig, width)
    anns = list(fig.layout.annotations or ())
    note = next((a for a in anns if a.name == NOTE_NAME), None)
    foot = next((a for a in anns if a.name == FOOTER_NAME), None)
    if note is None and foot is None:
        return fig
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    base = _font_size(fig, "font", "size")
    size = max(9.0, round(base * 0.75))
    width = width or fig.layout.width or 1000
    usable = width - _left_margin_estimate(fig) - 40
    y = _below_axis_offset(fig)
    for ann, key in ((note, "marks_note_text"), (foot, "footer_text")):
        if ann is None:
            continue
        lines = _wrap(meta.get(key) or ann.text.replace("<br>", " "), usable, size)
        ann.update(text="<br>".join(lines), x=0, y=0, xref="paper", yref="paper", xanchor="left",
                   yanchor="top", yshift=-y, showarrow=False, align="left",
                   font=dict(size=size, color="#333333"))
        y += len(lines) * size * 1.3 + 6
    fig.layout.annotations = anns
    fig.update_layout(margin=dict(b=int(y + 8)))
    return fig


def _set_meta(fig: go.Figure, **items: str) -> None:
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    meta.update(items)
    fig.update_layout(meta=meta)


def add_footer(fig: go.Figure, provenance: Provenance | str | None, lang: str = "en",
               *, width: int | None = None) -> go.Figure:
    """A copy of ``fig`` with the provenance line under the x axis (wrapped to the width).

    The input is untouched, so the figure on screen keeps no footer; ``None`` removes it.
    """
    out = go.Figure(fig)
    out.layout.annotations = [a for a in (out.layout.annotations or ()) if a.name != FOOTER_NAME]
    text = provenance.text(lang) if isinstance(provenance, Provenance) else (provenance or "")
    if text:
        _set_meta(out, footer_text=str(text))
        out.add_annotation(name=FOOTER_NAME, text=str(text), x=0, y=0, xref="paper", yref="paper",
                           showarrow=False)
    return layout_bottom(out, width)


# --- suppressed and unreliable values --------------------------------------------------------
def _flag_has(frame: pd.DataFrame, word: str) -> np.ndarray:
    """Rows whose ``flag`` text mentions ``word`` (lower case; no flag: False), each distinct
    flag read once (a table holds a few distinct flags over many rows)."""
    if "flag" not in frame.columns or not len(frame):
        return np.zeros(len(frame), dtype=bool)
    codes, uniques = pd.factorize(frame["flag"], use_na_sentinel=True)
    hits = np.array([word in str(u).lower() for u in uniques] + [False], dtype=bool)
    return hits[codes]            # code -1 (no flag) reads the final False


def _bool_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].fillna(False).astype(bool).to_numpy()


def suppressed_mask(frame: pd.DataFrame) -> pd.Series:
    """True where a value is withheld by disclosure control.

    Read from a boolean ``suppressed`` column (analytics.disclosure) or a ``flag`` text that
    mentions suppression.
    """
    mask = _flag_has(frame, "suppress")
    if "suppressed" in frame.columns:
        mask = mask | _bool_column(frame, "suppressed")
    return pd.Series(mask, index=frame.index)


def unreliable_mask(frame: pd.DataFrame, *, min_count: int | None = None,
                    count: str = "count") -> pd.Series:
    """True where a rate is shown but unreliable: a boolean ``unreliable`` column, a ``flag``
    mentioning it, or (when ``min_count`` is given) fewer than ``min_count`` cases - e.g. 10,
    below which PHE does not publish a DSR and ONS flags rates "u" (docs/methods.md section 8)."""
    mask = _flag_has(frame, "unreliab")
    if "unreliable" in frame.columns:
        mask = mask | _bool_column(frame, "unreliable")
    if min_count is not None and count in frame.columns:
        mask = mask | pd.to_numeric(frame[count], errors="coerce").fillna(0).lt(min_count).to_numpy()
    return pd.Series(mask & ~suppressed_mask(frame).to_numpy(), index=frame.index)


def resolve_k(frame: pd.DataFrame, k: int | None = None) -> int | None:
    """The disclosure threshold: ``k`` if given, else the one analytics.disclosure.suppress
    recorded in ``frame.attrs["disclosure"]["k"]``, else None."""
    if k is not None:
        return int(k)
    info = frame.attrs.get("disclosure") if hasattr(frame, "attrs") else None
    if isinstance(info, dict) and info.get("k") is not None:
        return int(info["k"])
    return None


def without_other_sex(frame: pd.DataFrame, *, site: str | None = None, sex: str = "sex") -> pd.DataFrame:
    """The rows a chart draws: a sex-specific site is not drawn for the other sex (no bar, no
    "0.0"; :func:`analytics.sites.blank_other_sex` blanks them with a reason in tables)."""
    from analytics import sites

    other = sites.other_sex_rows(frame, site=site, sex=sex)
    if other is None or not other.any():
        return frame
    # the other sex's rows, and any a table blanked before (flagged; their values are NaN)
    return frame[~(other | _flag_has(frame, sites.OTHER_SEX_FLAG))]


def tick_decimals(step: float) -> int:
    """Decimals that write every multiple of an axis step exactly (0.25 -> 2, 0.5 -> 1, 5 -> 0),
    so ticks below 1 never all read "0"."""
    text = f"{float(step):.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


UNRELIABLE_MARK = "*"
UNRELIABLE_PATTERN = "/"   # bar hatching for unreliable rates


def value_text(frame: pd.DataFrame, value: str = "value", *, lang: str = "en", decimals: int = 1,
               k: int | None = None, min_count: int | None = None) -> pd.Series:
    """Display strings for a value column: "45.2", "<5" when suppressed (``k`` is the
    disclosure threshold; plain "<k" text is used when it is not known), "3.1*" when unreliable."""
    k = resolve_k(frame, k)
    vals = pd.to_numeric(frame[value], errors="coerce")
    text = pd.Series([format_number(v, lang, decimals) for v in vals], index=frame.index, dtype="str")
    unrel = unreliable_mask(frame, min_count=min_count)
    text = text.where(~unrel, text + UNRELIABLE_MARK)
    sup = suppressed_mask(frame)
    text = text.where(~sup, f"<{k}" if k is not None else "<k")
    return text


def marks_note(frame: pd.DataFrame, *, lang: str = "en", k: int | None = None,
               min_count: int | None = None) -> str:
    """The legend line explaining "<k" and "*" when the frame has such values, else ""."""
    parts = []
    k = resolve_k(frame, k)
    if suppressed_mask(frame).any():
        parts.append(t("charts.note_suppressed", lang, k=k if k is not None else "k"))
    if unreliable_mask(frame, min_count=min_count).any():
        parts.append(t("charts.note_unreliable", lang))
    return "  ".join(parts)


def add_note(fig: go.Figure, note: str) -> go.Figure:
    """Put the marks legend ("<k: ...", "* ...") under the x axis (in place; no-op when empty)."""
    if note:
        fig.layout.annotations = [a for a in (fig.layout.annotations or ()) if a.name != NOTE_NAME]
        _set_meta(fig, marks_note_text=note)
        fig.add_annotation(name=NOTE_NAME, text=note, x=0, y=0, xref="paper", yref="paper",
                           showarrow=False)
        layout_bottom(fig)
    return fig


def finite(x: Any) -> np.ndarray:
    """Float array with non-numbers as NaN."""
    return pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype=float)

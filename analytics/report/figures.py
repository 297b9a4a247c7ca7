"""The charts of a document as vector graphics.

Each chart (built by :mod:`analytics.charts`, exactly as on the dashboard) is rendered to SVG by
kaleido with the system Chromium through :func:`analytics.export.figure_to_image` (one long-lived
export server). Maps are ``Choropleth`` traces on a hidden base map, as on the dashboard: vector
paths (for print opaque, without hover). Word gets a PNG (made from the SVG by Typst) with the
SVG inside, which Word 2016 and later show. When no Chromium is available the document says so
where each chart would be, instead of failing.
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

from analytics import export
from analytics.i18n import t
from analytics.report.model import Figure

log = logging.getLogger(__name__)
FONT_DIR = Path(__file__).resolve().parents[2] / "data" / "fonts"
PNG_PPI = 200


def printable(fig: go.Figure) -> go.Figure:
    """The figure for print: no title (the document's caption carries it), maps' regions opaque."""
    out = go.Figure(fig)
    out.update_layout(title_text="")
    out.update_traces(marker_opacity=1.0, hoverinfo="skip", selector=dict(type="choropleth"))
    return out


def render(figures: Sequence[Figure], *, lang: str, png: bool = False, progress=None) -> str:
    """Fill ``svg`` (and ``png`` when asked) of every figure; returns "" or, when the charts
    cannot be drawn here, the sentence that was put in their place."""
    status = export.export_available(lang)
    if not status:
        _mark_missing(figures, t("report.figures_unavailable", lang, reason=status.message))
        return status.message
    for i, f in enumerate(figures):
        if progress is not None:
            progress(i / max(len(figures), 1), f.caption)
        w, h = f.size_px
        try:
            f.svg = export.figure_to_image(printable(f.figure), "svg", width=w, height=h, provenance=False,
                                           lang=lang, theme="light")
        except export.ExportUnavailable as exc:
            log.warning("figure export failed: %s", exc)
            _mark_missing(figures[i:], t("report.figures_unavailable", lang, reason=str(exc)))
            return str(exc)
        if png:
            f.png = svg_to_png(f.svg, width_px=w)
    return ""


def _mark_missing(figures: Sequence[Figure], message: str) -> None:
    for f in figures:
        f.svg = f.png = None
        f.missing = message


def svg_to_png(svg: bytes, *, width_px: int, ppi: int = PNG_PPI) -> bytes:
    """A PNG of an SVG, drawn by Typst with the bundled fonts (no browser needed)."""
    import typst

    width_mm = 170.0 * width_px / 860
    with tempfile.TemporaryDirectory(prefix="report_png_") as tmp:
        (Path(tmp) / "figure.svg").write_bytes(svg)
        (Path(tmp) / "main.typ").write_text(
            f'#set page(width: auto, height: auto, margin: 0pt)\n#image("figure.svg", width: {width_mm:.2f}mm)\n',
            encoding="utf-8")
        return typst.compile(str(Path(tmp) / "main.typ"), root=tmp, format="png", ppi=ppi,
                             font_paths=[str(FONT_DIR)], ignore_system_fonts=True)

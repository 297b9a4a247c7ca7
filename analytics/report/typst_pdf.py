"""PDF through Typst (the ``typst`` Python package: the compiler runs in this process; no LaTeX,
no browser). The document model is written as JSON beside the figures' SVG files and the layout
template ``templates/document.typ``; Typst is given the bundled fonts only (``data/fonts``), so the
PDF embeds them and looks the same on every machine."""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
from pathlib import Path

from analytics.report import model as m
from analytics.report.figures import FONT_DIR

log = logging.getLogger(__name__)
TEMPLATE = Path(__file__).resolve().parent / "templates" / "document.typ"
STYLE = {"report": dict(font="Liberation Sans", size=9.5, tiny=6.0, h1=17, h2=12, margin=18, accent="#1F4E79"),
         "factsheet": dict(font="Liberation Sans", size=8.5, tiny=6.0, h1=14, h2=10, margin=12, accent="#1F4E79")}


class TypstFailed(RuntimeError):
    """Typst could not typeset the document (a bug of ours, not of the data): the message holds
    Typst's diagnostic."""


def _block(b: m.Block, figures: dict[int, str]) -> dict:
    if isinstance(b, m.Figure):
        return {"type": "figure", "file": figures.get(id(b)), "caption": b.caption, "note": b.note,
                "width": b.width, "height": b.height_mm, "missing": b.missing or ""}
    if isinstance(b, m.Table):
        return {"type": "table", "header": b.header, "rows": b.rows, "caption": b.caption, "align": b.align,
                "widths": b.widths, "note": b.note, "size": b.size, "bold_rows": b.bold_rows}
    if isinstance(b, m.Columns):
        n = len(b.columns)
        return {"type": "columns", "widths": b.widths or [1] * n,
                "columns": [[_block(c, figures) for c in col] for col in b.columns]}
    if isinstance(b, m.KeyFigures):
        return {"type": "keyfigures", "per_row": b.per_row,
                "items": [{"label": a, "value": v, "note": n} for a, v, n in b.items]}
    kind = {m.Heading: "heading", m.Text: "text", m.BulletList: "list", m.PageBreak: "pagebreak"}[type(b)]
    return {"type": kind, **dataclasses.asdict(b)}


def document_json(doc: m.Document, figures: dict[int, str]) -> dict:
    """The JSON the template reads."""
    props = doc.properties
    return {
        "lang": doc.lang, "header": doc.header, "footer": doc.footer, "style": STYLE[doc.kind],
        "properties": {"title": props["title"], "author": props.get("author", ""),
                       "description": props.get("description", ""), "keywords": list(props.get("keywords", []))},
        "title_page": None if doc.title_page is None else {
            **dataclasses.asdict(doc.title_page), "stamp": [list(p) for p in doc.title_page.stamp]},
        "sections": [{"id": s.id, "title": s.title, "landscape": s.landscape,
                      "blocks": [_block(b, figures) for b in s.blocks]} for s in doc.sections],
    }


def write_pdf(doc: m.Document) -> bytes:
    """The PDF bytes of ``doc`` (figures already rendered, see :mod:`analytics.report.figures`)."""
    import typst

    with tempfile.TemporaryDirectory(prefix="report_typst_") as tmp:
        root = Path(tmp)
        figures = {}
        for i, f in enumerate(doc.figures()):
            if f.svg:
                name = f"figure_{i + 1:03d}.svg"
                (root / name).write_bytes(f.svg)
                figures[id(f)] = name
        (root / "document.json").write_text(json.dumps(document_json(doc, figures), ensure_ascii=False),
                                            encoding="utf-8")
        shutil.copyfile(TEMPLATE, root / "main.typ")
        try:
            return typst.compile(str(root / "main.typ"), root=str(root), font_paths=[str(FONT_DIR)],
                                 ignore_system_fonts=True)
        except typst.TypstError as exc:
            raise TypstFailed(f"Typst could not typeset the document: {exc}") from exc

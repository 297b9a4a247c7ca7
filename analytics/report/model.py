"""The document model: what a report or fact sheet says, independent of its file format.

Section builders (:mod:`analytics.report.annual`, :mod:`analytics.report.factsheet`) produce a
:class:`Document` of blocks (headings, paragraphs, tables, figures, key-figure tiles, columns);
the PDF (:mod:`analytics.report.typst_pdf`) and Word (:mod:`analytics.report.word`) writers render
the same blocks, so both formats print the same numbers, captions and numbering. Every string in
a block is final text (numbers already formatted in the document's language).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import plotly.graph_objects as go


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Text:
    """A paragraph; ``style``: body, reading (a plain-language reading of a table or chart),
    note (small print under a table) or small."""

    text: str
    style: str = "body"


@dataclass
class BulletList:
    items: list[str]


@dataclass
class Table:
    """A table of formatted cells. ``align``: "l"/"r"/"c" per column; ``widths``: relative column
    widths (None: automatic); ``bold_rows``: indices of total rows; ``size``: normal, small or tiny
    (wide tables); ``key`` names the table for tests and downloads; ``frame`` keeps the numbers
    the cells were formatted from (not written to the files)."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    align: list[str] | None = None
    widths: list[float] | None = None
    note: str = ""
    size: str = "normal"
    bold_rows: list[int] = field(default_factory=list)
    key: str = ""
    frame: Any = None

    def __post_init__(self) -> None:
        n = len(self.header)
        if self.align is None:
            self.align = ["l"] + ["r"] * (n - 1)
        bad = [i for i, r in enumerate(self.rows) if len(r) != n]
        if bad:
            raise ValueError(f"table {self.key or self.caption!r}: row {bad[0]} has {len(self.rows[bad[0]])} cells, "
                             f"the header {n}")


@dataclass
class Figure:
    """A chart of :mod:`analytics.charts`, rendered as SVG (vector) for the PDF and PNG (with the
    SVG inside) for Word. ``width``: share of the text width; ``height_mm`` fixes the printed
    height instead (fact sheets); ``missing``: the sentence printed when it cannot be drawn."""

    figure: go.Figure
    caption: str = ""
    note: str = ""
    width: float = 1.0
    height_mm: float | None = None
    size_px: tuple[int, int] = (1000, 600)
    key: str = ""
    svg: bytes | None = None
    png: bytes | None = None
    missing: str = ""


@dataclass
class KeyFigures:
    """Tiles of headline numbers: (label, value, note)."""

    items: list[tuple[str, str, str]]
    per_row: int = 4


@dataclass
class Columns:
    """Blocks side by side (fact sheets)."""

    columns: list[list["Block"]]
    widths: list[float] | None = None


@dataclass
class PageBreak:
    pass


Block = Union[Heading, Text, BulletList, Table, Figure, KeyFigures, Columns, PageBreak]


@dataclass
class Section:
    """A numbered part of the document (or one fact sheet); ``landscape`` for wide tables."""

    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    landscape: bool = False


@dataclass
class TitlePage:
    registry: str
    title: str
    subtitle: str
    stamp_title: str
    stamp: list[tuple[str, str]]
    notice: str = ""
    contents: str = ""     # the heading of the table of contents ("" for none)


@dataclass
class Document:
    """A whole document. ``properties``: title, author, subject/description and keywords written
    to the file's metadata (the reproducibility stamp among them)."""

    lang: str
    title: str
    sections: list[Section]
    properties: dict[str, Any]
    header: str = ""
    footer: str = ""
    title_page: TitlePage | None = None
    kind: str = "report"

    def blocks(self):
        """Every block, depth first (columns opened)."""
        def walk(blocks):
            for b in blocks:
                yield b
                if isinstance(b, Columns):
                    for col in b.columns:
                        yield from walk(col)
        for s in self.sections:
            yield from walk(s.blocks)

    def tables(self) -> dict[str, Table]:
        return {b.key: b for b in self.blocks() if isinstance(b, Table) and b.key}

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks() if isinstance(b, Figure)]

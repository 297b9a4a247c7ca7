"""Word (.docx) through python-docx: the same document model as the PDF, as an editable file with
real Word tables (header row repeated on every page), the built-in styles (Title, Heading 1-3,
Caption, List Bullet) so the registry can restyle and add its own text, a table of contents
field, landscape sections for the wide tables, and the charts as PNG with the SVG inside (Word 2016
and later show the vector version). The reproducibility stamp goes in the document properties."""
from __future__ import annotations

import io
import logging

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from analytics.report import model as m

log = logging.getLogger(__name__)
FONT = "Arial"          # metric twin of the PDF's Liberation Sans; Word and LibreOffice both have it
MAX_CORE = 255          # characters a core document property may hold
CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
SVG_EXT = "{96DAC541-7B7A-43D3-8B79-37D633B846F1}"
SVG_NS = "http://schemas.microsoft.com/office/drawing/2016/SVG/main"
SIZES = {"normal": 9, "small": 8, "tiny": 6}
PORTRAIT_TEXT_MM = 174
LANDSCAPE_TEXT_MM = 261
ALIGN = {"l": WD_ALIGN_PARAGRAPH.LEFT, "r": WD_ALIGN_PARAGRAPH.RIGHT, "c": WD_ALIGN_PARAGRAPH.CENTER}


def write_docx(doc: m.Document) -> bytes:
    """The .docx bytes of ``doc`` (figures already rendered)."""
    d = new_docx()
    _styles(d, doc.kind)
    _properties(d, doc)
    _page(d.sections[0], landscape=False, kind=doc.kind)
    _header_footer(d.sections[0], doc)
    first = True
    if doc.title_page is not None:
        _title_page(d, doc.title_page)
        first = False
    landscape = False
    for sec in doc.sections:
        if sec.landscape != landscape or (not first and sec.landscape):
            new = d.add_section(WD_SECTION.NEW_PAGE)
            _page(new, landscape=sec.landscape, kind=doc.kind)
            landscape = sec.landscape
        elif not first:
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        first = False
        if sec.title:
            d.add_heading(sec.title, level=1)
        width = LANDSCAPE_TEXT_MM if sec.landscape else (PORTRAIT_TEXT_MM if doc.kind == "report" else 186)
        for b in sec.blocks:
            _block(d, b, width)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _styles(d, kind: str) -> None:
    base = 9.5 if kind == "report" else 8.5
    normal = d.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(base)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    for name, size in (("Title", 24), ("Heading 1", 16), ("Heading 2", 12), ("Heading 3", 10), ("Caption", 9)):
        st = d.styles[name]
        st.font.name = FONT
        st.font.size = Pt(size)
        if name == "Caption":
            st.font.bold = True
            st.font.italic = False
            st.font.color.rgb = RGBColor(0, 0, 0)


def _properties(d, doc: m.Document) -> None:
    p = doc.properties
    cp = d.core_properties
    cp.title = p["title"]
    cp.author = p.get("author", "")
    cp.subject = p.get("subject", "")
    cp.comments = p.get("comments", p.get("description", ""))[:MAX_CORE]
    cp.keywords = "; ".join(p.get("keywords", []))[:MAX_CORE]
    cp.identifier = p.get("identifier", "")
    cp.version = p.get("version", "")
    cp.language = doc.lang
    cp.category = p.get("category", "")
    if p.get("stamp"):
        _custom_properties(d, p["stamp"])


def _custom_properties(d, items) -> None:
    """The whole stamp as custom document properties (File > Properties > Custom in Word): the
    core properties hold 255 characters at most."""
    from xml.sax.saxutils import escape

    fmtid = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
    props = "".join(
        f'<property fmtid="{fmtid}" pid="{i}" name="{escape(str(k)[:MAX_CORE], {chr(34): "&quot;"})}">'
        f"<vt:lpwstr>{escape(str(v))}</vt:lpwstr></property>" for i, (k, v) in enumerate(items, start=2))
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">' + props + "</Properties>")
    package = d.part.package
    part = Part(PackURI("/docProps/custom.xml"), CUSTOM_CT, xml.encode("utf-8"), package)
    package.relate_to(part, RT.CUSTOM_PROPERTIES)


def _page(section, *, landscape: bool, kind: str) -> None:
    margin = Mm(18 if kind == "report" else 12)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    w, h = Mm(210), Mm(297)
    section.page_width, section.page_height = (h, w) if landscape else (w, h)
    section.left_margin = section.right_margin = section.top_margin = margin
    section.bottom_margin = margin


def _header_footer(section, doc: m.Document) -> None:
    if doc.header:
        p = section.header.paragraphs[0]
        p.text = doc.header
        p.runs[0].font.size = Pt(7)
    if doc.footer:
        p = section.footer.paragraphs[0]
        p.text = doc.footer
        p.runs[0].font.size = Pt(6.5)


def _title_page(d, tp: m.TitlePage) -> None:
    d.add_paragraph(tp.registry)
    d.add_paragraph(tp.title, style="Title")
    d.add_paragraph(tp.subtitle, style="Subtitle")
    if tp.notice:
        run = d.add_paragraph().add_run(tp.notice)
        run.bold = True
    d.add_heading(tp.stamp_title, level=2)
    table = d.add_table(rows=0, cols=2, style="Table Grid")
    for k, v in tp.stamp:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = k, v
        cells[0].paragraphs[0].runs[0].bold = True
        for c in cells:
            c.paragraphs[0].runs[0].font.size = Pt(8)
    _widths(table, [50, PORTRAIT_TEXT_MM - 50])
    if tp.contents:
        d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        d.add_heading(tp.contents, level=1)
        _toc(d.add_paragraph())


def _toc(paragraph) -> None:
    """A table-of-contents field (Word fills it in when the document is opened and updated)."""
    run = paragraph.add_run()
    for tag, attrs, text in (("w:fldChar", {"w:fldCharType": "begin"}, None),
                             ("w:instrText", {"xml:space": "preserve"}, 'TOC \\o "1-1" \\h \\z \\u'),
                             ("w:fldChar", {"w:fldCharType": "separate"}, None),
                             ("w:t", {}, "…"),
                             ("w:fldChar", {"w:fldCharType": "end"}, None)):
        el = OxmlElement(tag)
        for k, v in attrs.items():
            el.set(qn(k), v)
        if text is not None:
            el.text = text
        run._r.append(el)


def _block(container, b: m.Block, width_mm: float) -> None:
    if isinstance(b, m.Heading):
        container.add_heading(b.text, level=min(b.level, 3)) if hasattr(container, "add_heading") else \
            _styled(container.add_paragraph(b.text), bold=True)
    elif isinstance(b, m.Text):
        p = container.add_paragraph(b.text)
        if b.style in ("note", "small"):
            _styled(p, size=7.5 if b.style == "note" else 8)
        elif b.style == "reading":
            _styled(p, italic=True)
    elif isinstance(b, m.BulletList):
        for item in b.items:
            container.add_paragraph(item, style="List Bullet")
    elif isinstance(b, m.Table):
        _table(container, b, width_mm)
    elif isinstance(b, m.Figure):
        _figure(container, b, width_mm)
    elif isinstance(b, m.KeyFigures):
        _key_figures(container, b, width_mm)
    elif isinstance(b, m.Columns):
        _columns(container, b, width_mm)
    elif isinstance(b, m.PageBreak):
        container.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _styled(p, *, size: float | None = None, bold: bool = False, italic: bool = False):
    for r in p.runs:
        if size:
            r.font.size = Pt(size)
        r.bold = bold or None
        r.italic = italic or None
    return p


def _caption(container, text: str) -> None:
    p = container.add_paragraph(text, style="Caption")
    p.paragraph_format.keep_with_next = True


def _table(container, b: m.Table, width_mm: float) -> None:
    if b.caption:
        _caption(container, b.caption)
    size = Pt(SIZES[b.size])
    table = _new_table(container, 1, len(b.header))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _repeat_header(table.rows[0])
    for cell, text, al in zip(table.rows[0].cells, b.header, b.align):
        _cell(cell, text, size, ALIGN[al], bold=True, shade="E8E8E8")
    for i, row in enumerate(b.rows):
        bold = i in b.bold_rows
        for cell, text, al in zip(table.add_row().cells, row, b.align):
            _cell(cell, text, size, ALIGN[al], bold=bold)
    if b.widths:
        total = sum(b.widths)
        _widths(table, [width_mm * w / total for w in b.widths])
    _cell_margins(table, Mm(0.6 if b.size == "tiny" else 1.2))
    if b.note:
        _styled(container.add_paragraph(b.note), size=7.5)


def _cell(cell, text: str, size, align, *, bold: bool = False, shade: str | None = None) -> None:
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    run = p.add_run(text)
    run.font.size = size
    run.bold = bold or None
    if shade:
        tc_pr = cell._tc.get_or_add_tcPr()
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:fill"), shade)
        tc_pr.append(shd)


def _new_table(container, rows: int, cols: int, style: str | None = "Table Grid"):
    """A table in the document body or in a table cell (whose ``add_table`` takes no style)."""
    table = container.add_table(rows=rows, cols=cols)
    if style:
        table.style = style
    return table


def _cell_margins(table, side) -> None:
    """Narrow left and right cell margins (Word's default, 1.9 mm, wraps the numbers of wide tables)."""
    mar = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(int(side.twips)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    table._tbl.tblPr.append(mar)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _widths(table, widths_mm) -> None:
    """Fixed column widths, written where Word and LibreOffice each read them (grid, cells, table)."""
    table.autofit = False
    tbl = table._tbl
    for col, w in zip(tbl.tblGrid.findall(qn("w:gridCol")), widths_mm):
        col.set(qn("w:w"), str(int(Mm(w).twips)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm):
            cell.width = Mm(w)
    tbl_pr = tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl_pr.append(tbl_w)
    tbl_w.set(qn("w:w"), str(int(Mm(sum(widths_mm)).twips)))
    tbl_w.set(qn("w:type"), "dxa")
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)


def _figure(container, b: m.Figure, width_mm: float) -> None:
    if b.caption:
        _caption(container, b.caption)
    if b.png:
        p = container.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run()
        w, h = b.size_px
        width = width_mm * b.width
        if b.height_mm is not None:
            width = min(width, b.height_mm * w / h)
        shape = run.add_picture(io.BytesIO(b.png), width=Mm(width))
        if b.svg:
            _attach_svg(run.part, shape, b.svg)
    else:
        _styled(container.add_paragraph(b.missing or ""), italic=True)
    if b.note:
        _styled(container.add_paragraph(b.note), size=7.5)


def _attach_svg(part, shape, svg: bytes) -> None:
    """Put the SVG beside the PNG (``asvg:svgBlip``, Office 2016): Word shows the vector version,
    older readers the PNG."""
    package = part.package
    svg_part = Part(package.next_partname("/word/media/image%d.svg"), "image/svg+xml", svg, package)
    rid = part.relate_to(svg_part, RT.IMAGE)
    blip = shape._inline.graphic.graphicData.pic.blipFill.blip
    ext_lst = OxmlElement("a:extLst")
    ext = OxmlElement("a:ext")
    ext.set("uri", SVG_EXT)
    svg_blip = ext.makeelement(f"{{{SVG_NS}}}svgBlip", nsmap={"asvg": SVG_NS})
    svg_blip.set(qn("r:embed"), rid)
    ext.append(svg_blip)
    ext_lst.append(ext)
    blip.append(ext_lst)


def _key_figures(container, b: m.KeyFigures, width_mm: float) -> None:
    n = min(len(b.items), b.per_row)
    rows = [b.items[i:i + n] for i in range(0, len(b.items), n)]
    table = _new_table(container, 0, n)
    for chunk in rows:
        cells = table.add_row().cells
        for cell, (label, value, note) in zip(cells, chunk):
            p = cell.paragraphs[0]
            p.add_run(label).font.size = Pt(7.5)
            r = cell.add_paragraph().add_run(value)
            r.bold, r.font.size = True, Pt(14)
            if note:
                cell.add_paragraph().add_run(note).font.size = Pt(7)
    _widths(table, [width_mm / n] * n)
    container.add_paragraph()


def _columns(container, b: m.Columns, width_mm: float) -> None:
    n = len(b.columns)
    weights = b.widths or [1] * n
    widths = [width_mm * w / sum(weights) for w in weights]
    table = _new_table(container, 1, n, style=None)
    for cell, col, w in zip(table.rows[0].cells, b.columns, widths):
        first = cell.paragraphs[0]
        for block in col:
            _block(cell, block, w - 4)
        if not first.text and len(cell.paragraphs) > 1:
            first._p.getparent().remove(first._p)
    _widths(table, widths)
